/*
 * vCPU threads and the run loop.
 */
#include <config.h>

#include "vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <umbra/abi.h>

#include "cpuid.h"
#include "mmu.h"
#include "park.h"
#include "pvh.h"
#include "vm.h"

/* Guest-physical address of a vCPU's dummy flush page (vm.h's layout). */
static uint64_t flush_gpa(const struct vm *vm, unsigned id)
{
	return ((vm->mem.size + SZ_2M - 1) & ~(SZ_2M - 1)) + VM_FLUSH_OFFSET +
	       (uint64_t)id * FLUSH_PAGE_SIZE;
}

int vcpu__init(struct vcpu *v, struct vm *vm, unsigned id)
{
	struct kvm_cpuid2 *cpuid;
	int err, stats_fd;

	*v = (struct vcpu){
		.vm = vm,
		.id = id,
		.fd = -1,
		.stats =
			{.kvm = {.fd = -1}}, /* vcpu__release() may run before vcpu_stats__init() */
		.start_requested = id == 0,
	};
	park__init_cond(&v->cond);
	err = kvm__create_vcpu(&vm->kvm, id, &v->fd, &v->run);
	if (err < 0)
		return err;
	cpuid = cpuid__build(vm->kvm.cpuid, id, vm->nr_vcpus, vm->cfg->paging != PAGING_NATIVE);
	if (!cpuid)
		return -ENOMEM;
	err = ioctl(v->fd, KVM_SET_CPUID2, cpuid) < 0 ? -errno : 0;
	free(cpuid);
	if (err < 0)
		return err;
	err = flush_slot__init(&v->flush, &vm->kvm, SLOT_FLUSH0 + id, flush_gpa(vm, id));
	if (err < 0)
		return err;
	stats_fd = kvm__stats_fd(&vm->kvm, v->fd);
	struct counter_source shadow = {
		.group = &mmu_counters,
		.read = mmu__read_counters,
		.arg = vm->mmu,
	};
	return vcpu_stats__init(&v->stats, (int)id, stats_fd >= 0 ? stats_fd : -1,
				vm->mmu ? &shadow : NULL);
}

void vcpu__release(struct vcpu *v)
{
	vcpu_stats__release(&v->stats);
	flush_slot__release(&v->flush);
	kvm__destroy_vcpu(&v->vm->kvm, v->fd, v->run);
	pthread_cond_destroy(&v->cond);
	v->fd = -1;
	v->run = NULL;
}

int vcpu__set_boot_state(struct vcpu *v, uint32_t entry, uint32_t start_info)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	pvh__boot_state(&regs, &sregs, entry, start_info);
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0 || ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

static struct kvm_segment flat64(uint16_t selector, bool code)
{
	return (struct kvm_segment){
		.limit = 0xffffffff,
		.selector = selector,
		.type = code ? 0xb : 0x3, /* execute/read or read/write, accessed */
		.present = 1,
		.s = 1,
		.l = code,
		.db = !code,
		.g = 1,
	};
}

/* abi.h: a secondary vCPU starts in 64-bit mode at CPL 0. */
static int set_start_state(struct vcpu *v, const struct vcpu_start *s)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = {
		.rip = s->rip,
		.rsp = s->rsp,
		.rdi = v->id,
		.rsi = s->arg,
		.rflags = 0x2,
	};

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	sregs.cs = flat64(UMBRA_BOOT_CS, true);
	sregs.ds = sregs.es = sregs.ss = sregs.fs = sregs.gs = flat64(UMBRA_BOOT_DS, false);
	sregs.tr = (struct kvm_segment){.limit = 0x67, .type = 0xb, .present = 1};
	sregs.gdt = s->gdt;
	sregs.idt = s->idt;
	sregs.cr0 = 0x80010033; /* PE | MP | ET | NE | WP | PG */
	sregs.cr3 = s->cr3;
	sregs.cr4 = 0x6a0;  /* PAE | PGE | OSFXSR | OSXMMEXCPT */
	sregs.efer = 0xd00; /* LME | LMA | NXE */
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0 || ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

void vcpu__kick_out(struct vcpu *v)
{
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELEASE);
	if (v->thread_created)
		pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

/* The loop: one KVM_RUN, one switch on why it returned, until the guest stops. */
static void run_loop(struct vcpu *v)
{
	struct vm *vm = v->vm;

	while (!park__checkpoint(v)) {
		struct phase_counters *pc;
		uint32_t reason;
		int r;

		v->run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
		r = ioctl(v->fd, KVM_RUN, 0);
		if (r < 0 && errno != EINTR && errno != EAGAIN) {
			vm__stop(vm, (int)v->id, STOP_VMM_ERROR, 0, "vCPU %u: KVM_RUN: %s", v->id,
				 strerror(errno));
			break;
		}
		/* An interrupted KVM_RUN (a kick) may leave a stale exit_reason. */
		reason = r < 0 ? KVM_EXIT_INTR : v->run->exit_reason;
		pc = vcpu_stats__cur(&v->stats);
		pc->exits[reason < EXIT_SLOT_OTHER ? reason : EXIT_SLOT_OTHER]++;
		exit_log__add(&v->log, reason, v->run);
		trace__exit(v->trace, reason, v->run);

		switch (reason) {
		case KVM_EXIT_IO:
			exits__io(v);
			break;
		case KVM_EXIT_MMIO:
			exits__mmio(v);
			break;
		case KVM_EXIT_HLT:
			park__halt(v);
			break;
		case KVM_EXIT_INTR:
			/* A kick: the checkpoint says why. */
			break;
		case KVM_EXIT_SHUTDOWN:
			exits__shutdown(v);
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			exits__internal_error(v);
			break;
		case KVM_EXIT_FAIL_ENTRY:
			exits__fail_entry(v);
			break;
		default:
			exits__unexpected(v, reason);
			break;
		}
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vcpu_start start;
	sigset_t kick;
	int err;

	sigemptyset(&kick);
	sigaddset(&kick, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	if (v->id != 0) {
		if (park__wait_start(v, &start) < 0)
			goto out;
		err = set_start_state(v, &start);
		if (err < 0) {
			vm__stop(v->vm, (int)v->id, STOP_VMM_ERROR, 0,
				 "vCPU %u: cannot set its start state: %s", v->id, strerror(-err));
			goto out;
		}
	}
	park__enter_run(v);
	vcpu_stats__begin(&v->stats);
	trace__vcpu_begin(v->trace);
	run_loop(v);
	vcpu_stats__end(&v->stats);
	trace__vcpu_end(v->trace);
out:
	park__leave_run(v);
	return NULL;
}

int vcpu__start_thread(struct vcpu *v)
{
	int err = pthread_create(&v->thread, NULL, vcpu_thread, v);

	if (err)
		return -err;
	v->thread_created = true;
	return 0;
}
