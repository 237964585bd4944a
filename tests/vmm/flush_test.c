/*
 * flush_test: proves the VMM's flush primitive (vmm/flush.c) on this KVM.
 *
 * The flushprobe guest reads virtual 1 GiB at CPL 3 in a loop and reports
 * each value through port 0xe6. Between two reads this test changes a
 * present entry of the guest's tables behind the vCPU's back, through its
 * own mapping of guest memory (as the shadow MMU does), flushes, and checks
 * that the next read sees the change: first a re-pointed PT entry, then a
 * re-pointed PD entry, then the PD entry back again, each with the dummy
 * memslot flush; then a re-pointed PT entry with only the old frame's
 * cached mappings dropped (guest_mem__drop_cached, the single-frame flush).
 *
 * On a shadow-paging KVM (kvm_pvm) the read would see the old frame without
 * the flush (docs/architecture.md). `flush_test --no-flush` shows that: it
 * skips the flushes and reports what each read saw, without failing.
 * Then it times the flush and a bare exit. Exit 77 without /dev/kvm unless
 * UMBRA_REQUIRE_KVM=1.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cpuid.h"
#include "elf_load.h"
#include "flush.h"
#include "guest_mem.h"
#include "kvm.h"
#include "pvh.h"
#include "stats.h"

#define PROBE_PORT 0xe6
#define MEM_SIZE (64ull << 20)
#define USER_RW 0x7ull
#define VALUE_A 0xaaaaaaaaaaaaaaaaull
#define VALUE_B 0xbbbbbbbbbbbbbbbbull
#define VALUE_C 0xccccccccccccccccull
#define TIMED_FLUSHES 51
#define TIMED_EXITS 2001

struct probe {
	struct guest_mem mem;
	struct kvm kvm;
	int fd;
	struct kvm_run *run;
	struct flush_slot flush;
};

static int skip(const char *why)
{
	const char *req = getenv("UMBRA_REQUIRE_KVM");

	if (req && strcmp(req, "1") == 0) {
		printf("FAIL: %s (UMBRA_REQUIRE_KVM=1)\n", why);
		return 1;
	}
	printf("SKIP: %s\n", why);
	return 77;
}

/* Runs the vCPU until the guest reports a read; its registers in *regs. */
static int run_to_probe(struct probe *p, struct kvm_regs *regs)
{
	for (;;) {
		if (ioctl(p->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p->run->exit_reason == KVM_EXIT_IO && p->run->io.port == PROBE_PORT)
			return ioctl(p->fd, KVM_GET_REGS, regs) < 0 ? -errno : 0;
		fprintf(stderr, "flush_test: unexpected exit %u\n", p->run->exit_reason);
		return -EPROTO;
	}
}

static int setup(struct probe *p, const char *path)
{
	struct elf_image img;
	struct kvm_cpuid2 *cpuid;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	char why[256];
	int err;

	err = guest_mem__init(&p->mem, MEM_SIZE, 0);
	if (err < 0)
		return err;
	err = elf_load__open(&img, path, &p->mem, why, sizeof(why));
	if (err < 0) {
		fprintf(stderr, "flush_test: %s: %s\n", path, why);
		return err;
	}
	elf_load__copy(&img, &p->mem);
	pvh__write_start_info(&p->mem, NULL);
	err = kvm__init(&p->kvm, why, sizeof(why));
	if (err < 0) {
		fprintf(stderr, "flush_test: %s\n", why);
		elf_load__close(&img);
		return err;
	}
	err = kvm__set_slot(&p->kvm, 0, 0, p->mem.size, p->mem.host);
	if (err == 0)
		err = kvm__create_vcpu(&p->kvm, 0, &p->fd, &p->run);
	if (err < 0) {
		elf_load__close(&img);
		return err;
	}
	cpuid = cpuid__build(p->kvm.cpuid, 0, 1, false);
	if (!cpuid || ioctl(p->fd, KVM_SET_CPUID2, cpuid) < 0 ||
	    ioctl(p->fd, KVM_GET_SREGS, &sregs) < 0)
		err = -EIO;
	free(cpuid);
	if (err == 0) {
		pvh__boot_state(&regs, &sregs, img.entry, PVH_INFO_GPA);
		if (ioctl(p->fd, KVM_SET_SREGS, &sregs) < 0 ||
		    ioctl(p->fd, KVM_SET_REGS, &regs) < 0)
			err = -errno;
	}
	elf_load__close(&img);
	if (err == 0)
		err = flush_slot__init(&p->flush, &p->kvm, 1, MEM_SIZE + (2ull << 20));
	return err;
}

static void teardown(struct probe *p)
{
	flush_slot__release(&p->flush);
	if (p->run)
		kvm__destroy_vcpu(&p->kvm, p->fd, p->run);
	kvm__release(&p->kvm);
	guest_mem__release(&p->mem);
}

/* How a step flushes: not at all, KVM-wide, or the old frame only. */
enum how {
	NO_FLUSH,
	SLOT_FLUSH,
	FRAME_FLUSH
};

/* Changes *entry to value, flushes as told, reads again. */
static int step(struct probe *p, const char *what, uint64_t *entry, uint64_t value, uint64_t expect,
		enum how how, int *failures)
{
	uint64_t old_frame = *entry & ~0xfffull;
	struct kvm_regs regs;
	int err = 0;

	*entry = value;
	if (how == SLOT_FLUSH)
		err = flush_slot__flush(&p->flush);
	else if (how == FRAME_FLUSH)
		err = guest_mem__drop_cached(&p->mem, old_frame);
	if (err < 0)
		return err;
	err = run_to_probe(p, &regs);
	if (err < 0)
		return err;
	printf("%-38s read %#018llx: %s\n", what, (unsigned long long)regs.rax,
	       regs.rax == expect ? "fresh" : "STALE");
	if (regs.rax != expect)
		(*failures)++;
	return 0;
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Times flushes while the guest has shadow pages to drop (it reads between). */
static int time_flushes(struct probe *p)
{
	uint64_t ns[TIMED_FLUSHES];
	struct kvm_regs regs;
	int err;

	for (int i = 0; i < TIMED_FLUSHES; i++) {
		uint64_t t0 = stats__now_ns();

		err = flush_slot__flush(&p->flush);
		ns[i] = stats__now_ns() - t0;
		if (err == 0)
			err = run_to_probe(p, &regs);
		if (err < 0)
			return err;
	}
	qsort(ns, TIMED_FLUSHES, sizeof(ns[0]), compare_u64);
	printf("flush (add + delete of a 4 KiB memslot): median %" PRIu64 " us, min %" PRIu64
	       " us, max %" PRIu64 " us over %d\n",
	       ns[TIMED_FLUSHES / 2] / 1000, ns[0] / 1000, ns[TIMED_FLUSHES - 1] / 1000,
	       TIMED_FLUSHES);
	return 0;
}

/* Times the bare exit: the guest's CPL 3 read and `out`, KVM_RUN's return
 * to user space and the re-entry, with nothing handled in between. */
static int time_exits(struct probe *p)
{
	uint64_t ns[TIMED_EXITS];

	for (int i = 0; i < TIMED_EXITS; i++) {
		uint64_t t0 = stats__now_ns();

		if (ioctl(p->fd, KVM_RUN, 0) < 0)
			return -errno;
		ns[i] = stats__now_ns() - t0;
		if (p->run->exit_reason != KVM_EXIT_IO)
			return -EPROTO;
	}
	qsort(ns, TIMED_EXITS, sizeof(ns[0]), compare_u64);
	printf("port I/O exit from CPL 3, round trip: median %.1f us, min %.1f us over %d\n",
	       (double)ns[TIMED_EXITS / 2] / 1000, (double)ns[0] / 1000, TIMED_EXITS);
	return 0;
}

int main(int argc, char **argv)
{
	bool flush = !(argc > 1 && strcmp(argv[1], "--no-flush") == 0);
	enum how slot = flush ? SLOT_FLUSH : NO_FLUSH, frame = flush ? FRAME_FLUSH : NO_FLUSH;
	const char *top = getenv("top_builddir");
	struct probe p = {.fd = -1, .kvm = {.sys_fd = -1, .vm_fd = -1}};
	struct kvm_regs regs;
	uint64_t *pt, *pd, *pt2;
	char path[4096];
	int failures = 0, err;

	if (access(KVM_DEVICE, R_OK | W_OK) != 0)
		return skip(KVM_DEVICE " is not usable");
	snprintf(path, sizeof(path), "%s/tests/guests/flushprobe.elf", top ? top : ".");
	err = setup(&p, path);
	if (err == 0)
		err = run_to_probe(&p, &regs);
	if (err < 0) {
		printf("FAIL: setting up the probe guest: %s\n", strerror(-err));
		teardown(&p);
		return 1;
	}
	printf("%-38s read %#018llx: %s\n", "first read", (unsigned long long)regs.rax,
	       regs.rax == VALUE_A ? "as expected" : "WRONG");
	pt = guest_mem__translate(&p.mem, regs.rbx, 4096);
	pd = guest_mem__translate(&p.mem, regs.rcx, 4096);
	pt2 = guest_mem__translate(&p.mem, regs.rdx, 4096);
	if (regs.rax != VALUE_A || !pt || !pd || !pt2) {
		printf("FAIL: the probe guest did not start as expected\n");
		teardown(&p);
		return 1;
	}
	err = step(&p, "PT entry re-pointed to frame B", &pt[0], regs.rsi | USER_RW, VALUE_B, slot,
		   &failures);
	if (err == 0)
		err = step(&p, "PD entry re-pointed to PT 2 (frame C)", &pd[0], regs.rdx | USER_RW,
			   VALUE_C, slot, &failures);
	if (err == 0)
		err = step(&p, "PD entry back to PT 1 (frame B)", &pd[0], regs.rbx | USER_RW,
			   VALUE_B, slot, &failures);
	if (err == 0)
		err = step(&p, "PT entry to frame C, frame B dropped", &pt[0],
			   (pt2[0] & ~0xfffull) | USER_RW, VALUE_C, frame, &failures);
	if (err == 0 && flush)
		err = time_flushes(&p);
	if (err == 0 && flush)
		err = time_exits(&p);
	teardown(&p);
	if (err < 0) {
		printf("FAIL: %s\n", strerror(-err));
		return 1;
	}
	if (!flush) {
		printf("(--no-flush: %d of 4 reads were stale; nothing is checked)\n", failures);
		return 0;
	}
	if (failures) {
		printf("FAIL: %d read(s) stale after the flush\n", failures);
		return 1;
	}
	return 0;
}
