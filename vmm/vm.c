/*
 * The VM: building it, running it until the guest stops, tearing it down.
 */
#include <config.h>

#include "vm.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "console.h"
#include "diag.h"
#include "mmu.h"
#include "park.h"
#include "pvh.h"
#include "trace.h"
#include "vcpu.h"

static void kick_handler(int sig)
{
	(void)sig; /* only there to make KVM_RUN (or any blocking call) return -EINTR */
}

static int init_vcpus(struct vm *vm)
{
	int err;

	vm->vcpus = calloc(vm->nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		err = vcpu__init(&vm->vcpus[i], vm, i);
		if (err < 0) {
			fprintf(stderr, "umbra: cannot create vCPU %u: %s\n", i, strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Checks what this KVM allows against the configuration. */
static int check_limits(const struct vm *vm)
{
	if (vm->nr_vcpus > vm->kvm.max_vcpus) {
		fprintf(stderr, "umbra: --vcpus %u: this KVM supports at most %u\n", vm->nr_vcpus,
			vm->kvm.max_vcpus);
		return -EINVAL;
	}
	if (vm->nr_vcpus + SLOT_FLUSH0 > vm->kvm.nr_slots) {
		fprintf(stderr, "umbra: --vcpus %u: this KVM has only %u memory slots\n",
			vm->nr_vcpus, vm->kvm.nr_slots);
		return -EINVAL;
	}
	return 0;
}

int vm__init(struct vm *vm, const struct run_config *cfg, const struct elf_image *img,
	     struct guest_mem *mem)
{
	char why[256];
	uint64_t start_info;
	int err, stats_fd;

	*vm = (struct vm){
		.cfg = cfg,
		.mem = *mem,
		.nr_vcpus = cfg->vcpus,
		.stop_fd = -1,
		.stats = {.kvm = {.fd = -1}}, /* vm__release() may run before vm_stats__init() */
	};
	*mem = (struct guest_mem){0};
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	vm->result.vcpu = -1;
	elf_load__copy(img, &vm->mem);
	start_info = pvh__write_start_info(&vm->mem, cfg->cmdline);

	err = kvm__init(&vm->kvm, why, sizeof(why));
	if (err < 0) {
		fprintf(stderr, "umbra: %s\n", why);
		goto fail;
	}
	err = check_limits(vm);
	if (err < 0)
		goto fail;
	kvm_kind__detect(&vm->kind);
	/* A TDP walk of the guest's tables is a write at the second stage (AMD
	 * NPT always, Intel EPT with A/D flags): a read-only pool would stop the
	 * vCPU at its first walk. There the pool stays writable, and what the
	 * guest writes into it is found by the shadow's own checks (-EUCLEAN). */
	if (vm->kind.kind == KVM_KIND_TDP)
		vm->kvm.readonly_mem = false;
	vm->flush = cfg->flush;
	if (vm->flush == FLUSH_AUTO)
		vm->flush = vm->kind.kind == KVM_KIND_TDP ? FLUSH_TLB : FLUSH_COPY;
	err = kvm__set_slot(&vm->kvm, SLOT_RAM, 0, vm->mem.ram_size, vm->mem.host);
	if (err == 0 && vm->mem.pool_size)
		err = kvm__set_slot_flags(&vm->kvm, SLOT_POOL, vm->mem.pool_gpa, vm->mem.pool_size,
					  vm->mem.host + vm->mem.pool_gpa,
					  vm->kvm.readonly_mem ? KVM_MEM_READONLY : 0);
	if (err < 0) {
		fprintf(stderr, "umbra: cannot map %llu bytes of guest memory: %s\n",
			(unsigned long long)vm->mem.size, strerror(-err));
		goto fail;
	}
	if (cfg->paging != PAGING_NATIVE) {
		err = mmu__init(vm, &vm->mmu);
		if (err < 0) {
			fprintf(stderr, "umbra: cannot set up the shadow MMU: %s\n",
				strerror(-err));
			goto fail;
		}
	}
	err = init_vcpus(vm);
	if (err < 0)
		goto fail;
	if (cfg->trace_file) {
		err = trace__init(vm, cfg->trace_events);
		if (err < 0) {
			fprintf(stderr, "umbra: cannot set up --trace: %s\n", strerror(-err));
			goto fail;
		}
	}
	err = vcpu__set_boot_state(&vm->vcpus[0], img->entry, (uint32_t)start_info);
	if (err < 0) {
		fprintf(stderr, "umbra: cannot set the boot vCPU's state: %s\n", strerror(-err));
		goto fail;
	}
	struct counter_source gauges = {
		.group = vm->mmu ? &mmu_gauges : NULL,
		.read = mmu__read_gauges,
		.arg = vm->mmu,
	};
	stats_fd = kvm__stats_fd(&vm->kvm, -1);
	err = vm_stats__init(&vm->stats, stats_fd >= 0 ? stats_fd : -1, &gauges);
	if (err < 0) {
		fprintf(stderr, "umbra: cannot read KVM's statistics: %s\n", strerror(-err));
		goto fail;
	}
	vm->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (vm->stop_fd < 0) {
		err = -errno;
		fprintf(stderr, "umbra: eventfd: %s\n", strerror(errno));
		goto fail;
	}
	return 0;
fail:
	vm__release(vm);
	return err;
}

void vm__release(struct vm *vm)
{
	if (vm->stop_fd >= 0)
		close(vm->stop_fd);
	vm_stats__release(&vm->stats);
	trace__release(vm->trace);
	vm->trace = NULL;
	mmu__release(vm->mmu);
	vm->mmu = NULL;
	if (vm->vcpus) {
		for (unsigned i = 0; i < vm->nr_vcpus; i++) {
			if (vm->vcpus[i].run)
				vcpu__release(&vm->vcpus[i]);
		}
	}
	free(vm->vcpus);
	vm->vcpus = NULL;
	kvm__release(&vm->kvm);
	guest_mem__release(&vm->mem);
	pthread_cond_destroy(&vm->cond);
	pthread_mutex_destroy(&vm->lock);
}

void vm__stop(struct vm *vm, int vcpu, enum stop_reason reason, uint64_t status, const char *fmt,
	      ...)
{
	uint64_t one = 1;
	va_list ap;

	pthread_mutex_lock(&vm->lock);
	if (vm->stopping) {
		pthread_mutex_unlock(&vm->lock);
		return;
	}
	vm->stopping = true;
	vm->result.reason = reason;
	vm->result.status = status;
	vm->result.vcpu = vcpu;
	va_start(ap, fmt);
	vsnprintf(vm->result.message, sizeof(vm->result.message), fmt, ap);
	va_end(ap);
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (v->state == VCPU_RUNNING)
			vcpu__kick_out(v);
		pthread_cond_broadcast(&v->cond);
	}
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	/* A vCPU waiting for the console's reader is not in KVM_RUN: no kick
	 * reaches it. (After vm->lock: that lock is a leaf.) */
	console__stop_waiting();
	/* Cannot fail short of a full counter, and it is written once. */
	if (write(vm->stop_fd, &one, sizeof(one)) < 0)
		diag__printf("umbra: eventfd: %s\n", strerror(errno));
}

int vm__exit_code(const struct vm_result *r)
{
	switch (r->reason) {
	case STOP_EXIT:
		return r->status > EXIT_GUEST_STATUS_MAX ? EXIT_GUEST_STATUS_MAX : (int)r->status;
	case STOP_PANIC:
	case STOP_GUEST_ERROR:
		return EXIT_GUEST_ERROR;
	case STOP_TRIPLE_FAULT:
		return EXIT_TRIPLE_FAULT;
	case STOP_TIMEOUT:
		return EXIT_TIMEOUT;
	case STOP_SIGNAL:
		return EXIT_SIGNAL_BASE + (int)r->status;
	case STOP_NONE:
	case STOP_VMM_ERROR:
		break;
	}
	return EXIT_VMM_ERROR;
}

const char *vm__stop_name(enum stop_reason reason)
{
	static const char *const names[] = {
		[STOP_NONE] = "none",
		[STOP_EXIT] = "exit",
		[STOP_PANIC] = "panic",
		[STOP_GUEST_ERROR] = "guest_error",
		[STOP_TRIPLE_FAULT] = "triple_fault",
		[STOP_TIMEOUT] = "timeout",
		[STOP_SIGNAL] = "signal",
		[STOP_VMM_ERROR] = "vmm_error",
	};

	return names[reason];
}

/*
 * The main thread's part: waits for the guest to stop, for SIGINT/SIGTERM
 * (from sig_fd) or for the timeout.
 */
static void wait_for_stop(struct vm *vm, int sig_fd)
{
	uint64_t deadline = vm->cfg->timeout_ns ? vm->start_ns + vm->cfg->timeout_ns : 0;

	for (;;) {
		struct pollfd fds[2] = {
			{.fd = vm->stop_fd, .events = POLLIN},
			{.fd = sig_fd, .events = POLLIN},
		};
		int timeout_ms = -1;

		if (deadline) {
			uint64_t now = stats__now_ns();

			if (now >= deadline) {
				vm__stop(vm, -1, STOP_TIMEOUT, 0, "timed out after %.3f s",
					 (double)vm->cfg->timeout_ns / 1e9);
				deadline = 0; /* now wait for the vCPUs to leave */
				continue;
			}
			timeout_ms = (int)((deadline - now + 999999) / 1000000);
		}
		if (poll(fds, 2, timeout_ms) < 0 && errno != EINTR) {
			/* Cannot wait any more: stop the guest and wait for its threads. */
			vm__stop(vm, -1, STOP_VMM_ERROR, 0, "poll: %s", strerror(errno));
			return;
		}
		if (fds[0].revents & POLLIN)
			return;
		if (fds[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sig_fd, &si, sizeof(si)) == sizeof(si))
				vm__stop(vm, -1, STOP_SIGNAL, si.ssi_signo,
					 "stopped by signal %u (%s)", si.ssi_signo,
					 strsignal((int)si.ssi_signo));
		}
	}
}

void vm_result__add_error(struct vm_result *r, const char *fmt, ...)
{
	size_t n = strnlen(r->message, sizeof(r->message));
	va_list ap;

	r->reason = STOP_VMM_ERROR;
	if (n > 0 && n < sizeof(r->message) - 2) {
		memcpy(r->message + n, "; ", 3);
		n += 2;
	}
	va_start(ap, fmt);
	if (n < sizeof(r->message) - 1)
		vsnprintf(r->message + n, sizeof(r->message) - n, fmt, ap);
	va_end(ap);
}

/*
 * The vCPU threads are gone: with --check, the invariants once more; and
 * whether the guest left shadow pages behind.
 */
static void check_at_end(struct vm *vm)
{
	char why[256];

	vm->pool_full = mmu__pool_full_at_end(vm->mmu);
	if (!vm->cfg->check || mmu__check(vm->mmu, why, sizeof(why)) == 0)
		return;
	vm_result__add_error(&vm->result, "shadow invariant broken at the end of the run: %s", why);
}

int vm__run(struct vm *vm, int sig_fd)
{
	/* No SA_RESTART: a kicked vCPU thread must not go back into a blocking
	 * call it was in. */
	struct sigaction sa = {.sa_handler = kick_handler};
	sigset_t kick, old;
	int err = 0;

	/* The kick signal only to vCPU threads, which unblock it. Threads
	 * inherit this mask. */
	sigemptyset(&kick);
	sigaddset(&kick, VCPU_KICK_SIGNAL);
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
	pthread_sigmask(SIG_BLOCK, &kick, &old);

	vm->start_ns = stats__now_ns();
	vm_stats__begin(&vm->stats);
	pthread_mutex_lock(&vm->lock);
	for (unsigned i = 0; i < vm->nr_vcpus && err == 0; i++)
		err = vcpu__start_thread(&vm->vcpus[i]);
	pthread_mutex_unlock(&vm->lock);
	if (err < 0) {
		diag__printf("umbra: cannot start a vCPU thread: %s\n", strerror(-err));
		vm__stop(vm, -1, STOP_VMM_ERROR, 0, "cannot start a vCPU thread: %s",
			 strerror(-err));
	} else {
		wait_for_stop(vm, sig_fd);
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i].thread_created)
			pthread_join(vm->vcpus[i].thread, NULL);
	}
	vm_stats__charge(&vm->stats, vm->vcpus[0].stats.phase);
	vm_stats__end(&vm->stats);
	if (vm->mmu)
		check_at_end(vm);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}
