/*
 * The hypercall dispatcher (vmm/hypercall.c, hypercall__dispatch) with the
 * real shadow library (vmm/mmu.c, shadow/) over real guest memory, called
 * from a fake vCPU: no KVM, the registers come from the input. Between
 * calls the input also stores into guest memory, page tables included,
 * and into the shadow pool, as a hostile guest on a TDP KVM (whose pool is
 * writable) can. docs/testing.md, "Fuzzing", says more.
 *
 * The input (values are tagged, fuzz/input.h): a header byte, bits 0-1 the
 * paging policy (share, copy, lazy, share), 2-3 the flush mode (copy,
 * drop, tlb, off), 4 --check; then operations, the low two bits of the
 * operation byte saying which and bit 7 the vCPU:
 *   0  a hypercall: its number (a byte: 0..23 as is, 255 is 0xffffffff),
 *      then %rdi, %rsi, %rdx, %rcx, %r8 as values
 *   1  a store into RAM: page (u16), index (u16), value
 *   2  a struct umbra_pt_update into RAM: page (u16), slot (u8), va,
 *      value (values), level (u8), flags (u8)
 *   3  a store into the pool: page (u16), index (u16), value
 *
 * A crash, a sanitizer report, a leak or a hang is a bug. So is a broken
 * promise that the guest did not void (fuzz/oracle.h): after every call
 * the invariant checker runs, soundness included, and every address space
 * is compared with a reference walk of its guest tables at the VAs the
 * input used, until the guest changes a table behind the VMM's back or
 * writes the pool; from then on only memory safety counts, and the
 * library's "the shadow is corrupt" (the VM stops, 125) is an answer.
 */
#include <config.h>

#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include <umbra/abi.h>

#include "flush.h"
#include "guest_mem.h"
#include "hypercall.h"
#include "mmu.h"
#include "park.h"
#include "run_config.h"
#include "stats.h"
#include "vcpu.h"
#include "vm.h"

#include "fuzz/input.h"
#include "fuzz/oracle.h"

/* Small, so that clearing it for every input stays cheap; the pool above
 * RAM as umbra lays it out. */
#define FUZZ_RAM (2ull << 20)
#define FUZZ_POOL (2ull << 20)
#define RAM_FRAMES (FUZZ_RAM / 4096)
#define POOL_PAGES (FUZZ_POOL / 4096)
#define FUZZ_VCPUS 2u
#define MAX_AS 8u /* address spaces the reference follows */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * vmm/flush.c's whole-VM flush adds and deletes a KVM memslot. There is no
 * KVM here, so nothing is cached and the flush has nothing to do; the
 * harness links these instead of vmm/flush.c, so that the library's limbo
 * and the VMM's fallbacks run as on a real VM instead of stopping it.
 */
int flush_slot__init(struct flush_slot *f, struct kvm *kvm, uint32_t slot, uint64_t gpa)
{
	*f = (struct flush_slot){.kvm = kvm, .slot = slot, .gpa = gpa};
	return 0;
}

void flush_slot__release(struct flush_slot *f)
{
	(void)f;
}

int flush_slot__flush(struct flush_slot *f)
{
	(void)f;
	return 0;
}

/* Mapped once: per input it is only cleared. */
static struct guest_mem mem;
/* vm__stop() signals it; nobody waits on it here. */
static int stop_fd = -1;

struct fuzz_vm {
	struct run_config cfg;
	struct vm vm;
	struct vcpu vcpu[FUZZ_VCPUS];
	struct oracle o;
	struct oracle_as as[MAX_AS];
	size_t nas;
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (guest_mem__init(&mem, FUZZ_RAM, FUZZ_POOL) < 0)
		abort();
	stop_fd = eventfd(0, EFD_CLOEXEC);
	if (stop_fd < 0)
		abort();
	/* UMBRA_HC_CONSOLE writes there; libFuzzer reports on stderr. */
	if (!freopen("/dev/null", "w", stdout))
		abort();
	return 0;
}

/*
 * The VM as vm__init() builds it, minus KVM: the real MMU (vmm/mmu.c and
 * the library) and statistics, vCPUs with a zeroed kvm_run for registers.
 * Both vCPUs count as running guest code; only the caller is active, so
 * that a --check pause has no one to wait for. The segment registers stay
 * zero: the flush stub, which needs KVM_RUN, never runs, and TLB mode takes
 * its whole-VM fallback. 0, or -1 if the host is out of memory.
 */
static int fuzz_vm__init(struct fuzz_vm *f, uint8_t config)
{
	static const enum paging_mode paging[] = {PAGING_SHARE, PAGING_COPY, PAGING_LAZY,
						  PAGING_SHARE};
	static const enum flush_mode flush[] = {FLUSH_COPY, FLUSH_DROP, FLUSH_TLB, FLUSH_OFF};
	struct vm *vm = &f->vm;

	memset(mem.host, 0, FUZZ_RAM); /* the pool: shadow_create() zeroes it */
	run_config__init(&f->cfg);
	f->cfg.vcpus = FUZZ_VCPUS;
	f->cfg.mem_size = FUZZ_RAM;
	f->cfg.pool_size = FUZZ_POOL;
	f->cfg.paging = paging[config & 3];
	f->cfg.flush = flush[(config >> 2) & 3];
	f->cfg.check = config & 0x10;
	*vm = (struct vm){
		.cfg = &f->cfg,
		.mem = mem,
		.kvm = {.sys_fd = -1, .vm_fd = -1},
		.nr_vcpus = FUZZ_VCPUS,
		.vcpus = f->vcpu,
		.flush = f->cfg.flush,
		.stop_fd = stop_fd,
		.active = 1,
		.started = FUZZ_VCPUS,
		.result = {.vcpu = -1},
	};
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	if (mmu__init(vm, &vm->mmu) < 0)
		return -1;
	struct counter_source shadow = {
		.group = &mmu_counters, .read = mmu__read_counters, .arg = vm->mmu};
	struct counter_source gauges = {
		.group = &mmu_gauges, .read = mmu__read_gauges, .arg = vm->mmu};
	for (unsigned i = 0; i < FUZZ_VCPUS; i++) {
		struct vcpu *v = &f->vcpu[i];

		*v = (struct vcpu){
			.vm = vm,
			.id = i,
			.fd = -1,
			.run = calloc(1, sizeof(struct kvm_run)),
			.state = VCPU_RUNNING,
			.start_requested = i == 0,
		};
		park__init_cond(&v->cond);
		if (!v->run || vcpu_stats__init(&v->stats, (int)i, -1, &shadow) < 0)
			return -1;
		flush_slot__init(&v->flush, &vm->kvm, SLOT_FLUSH0 + i, 0);
	}
	if (vm_stats__init(&vm->stats, -1, &gauges) < 0)
		return -1;
	f->o = (struct oracle){
		.sh = vm->mmu->sh, .host = mem.host, .ram_size = FUZZ_RAM, .pool_size = FUZZ_POOL};
	return 0;
}

/* Safe on a VM that fuzz_vm__init() left half-built (its zeroed parts). */
static void fuzz_vm__release(struct fuzz_vm *f)
{
	struct vm *vm = &f->vm;

	vm_stats__release(&vm->stats);
	for (unsigned i = 0; i < FUZZ_VCPUS; i++) {
		vcpu_stats__release(&f->vcpu[i].stats);
		free(f->vcpu[i].run);
		pthread_cond_destroy(&f->vcpu[i].cond);
	}
	mmu__release(vm->mmu);
	pthread_cond_destroy(&vm->cond);
	pthread_mutex_destroy(&vm->lock);
}

static void as_add(struct fuzz_vm *f, struct fuzz_input *in, uint64_t handle, uint64_t root)
{
	fuzz_input__handle(in, handle);
	if (f->nas < MAX_AS)
		f->as[f->nas++] = (struct oracle_as){.handle = (uint32_t)handle, .root = root};
}

static void as_remove(struct fuzz_vm *f, uint64_t handle)
{
	for (size_t i = 0; i < f->nas; i++) {
		if (f->as[i].handle == handle) {
			f->as[i] = f->as[--f->nas];
			return;
		}
	}
}

/* A store of 8 bytes at a RAM page and index the input picks. */
static void op_store(struct fuzz_vm *f, struct fuzz_input *in, uint64_t base, uint64_t pages)
{
	uint64_t page = fuzz_input__u16(in) % pages;
	uint64_t idx = fuzz_input__u16(in) % 512;

	oracle__guest_store(&f->o, base + page * 4096 + idx * 8, fuzz_input__value(in));
}

/* A struct umbra_pt_update in RAM, for AS_UPDATE to point at. */
static void op_update_record(struct fuzz_vm *f, struct fuzz_input *in)
{
	uint64_t page = fuzz_input__u16(in) % RAM_FRAMES;
	uint64_t slot = fuzz_input__u8(in) % (4096 / sizeof(struct umbra_pt_update));
	uint64_t gpa = page * 4096 + slot * sizeof(struct umbra_pt_update);
	uint64_t va = fuzz_input__value(in), value = fuzz_input__value(in);
	uint32_t level = fuzz_input__u8(in), flags = fuzz_input__u8(in);

	oracle__guest_store(&f->o, gpa, va);
	oracle__guest_store(&f->o, gpa + 8, value);
	oracle__guest_store(&f->o, gpa + 16, (uint64_t)flags << 32 | level);
}

/* One hypercall from vCPU cpu. Returns false once the VM has stopped. */
static bool op_hypercall(struct fuzz_vm *f, struct fuzz_input *in, unsigned cpu)
{
	struct vcpu *v = &f->vcpu[cpu];
	struct kvm_regs *r = vcpu__regs(v);
	uint8_t b = fuzz_input__u8(in);
	uint32_t nr = b < UMBRA_HC_COUNT + 2 ? b : b == 255 ? UINT32_MAX : b;
	int64_t ret;

	r->rdi = fuzz_input__value(in);
	r->rsi = fuzz_input__value(in);
	r->rdx = fuzz_input__value(in);
	r->rcx = fuzz_input__value(in);
	r->r8 = fuzz_input__value(in);
	if (nr == UMBRA_HC_IDLE)
		r->rdi = 0; /* one thread, no one to kick it: a timeout would only sleep */
	if ((nr == UMBRA_HC_PAGE_CLEAR || nr == UMBRA_HC_PAGE_COPY) &&
	    guest_mem__translate(&mem, r->rdi, 4096) && r->rdi % 4096 == 0 &&
	    (nr == UMBRA_HC_PAGE_CLEAR || r->rdi != r->rsi))
		oracle__guest_page(&f->o, r->rdi);
	ret = hypercall__dispatch(v, nr);
	in->last[0] = r->rax;
	in->last[1] = r->rdx;
	if (ret != (int64_t)r->rax)
		abort();
	if ((nr == UMBRA_HC_AS_CREATE && ret > 0) || (nr == UMBRA_HC_AS_FORK && ret > 0))
		as_add(f, in, (uint64_t)ret, nr == UMBRA_HC_AS_CREATE ? r->rdi : r->rsi);
	else if (nr == UMBRA_HC_AS_DESTROY && ret == 0)
		as_remove(f, r->rdi);
	if (f->vm.stopping) {
		/* A VMM error (a broken invariant at a --check marker, a corrupt
		 * shadow) is the right stop only once the guest voided the rule. */
		if (f->vm.result.reason == STOP_VMM_ERROR && !f->o.behind && !f->o.pool_written) {
			fprintf(stderr, "hypercall %u stopped the VM: %s\n", nr,
				f->vm.result.message);
			abort();
		}
		return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_vm f;
	struct fuzz_input in;
	char why[512];
	bool running = true;

	fuzz_input__init(&in, data, size);
	in.ram_size = FUZZ_RAM;
	in.pool_size = FUZZ_POOL;
	in.kernel_slot = UMBRA_KERNEL_PML4_SLOT;
	in.fixed_slot = UMBRA_STUB_PML4_SLOT;
	memset(&f, 0, sizeof(f));
	if (fuzz_vm__init(&f, fuzz_input__u8(&in)) < 0) {
		fuzz_vm__release(&f);
		return 0; /* out of host memory: nothing to test */
	}
	while (running && !fuzz_input__done(&in)) {
		uint8_t op = fuzz_input__u8(&in);
		unsigned cpu = op >> 7;

		switch (op & 3) {
		case 0:
			running = op_hypercall(&f, &in, cpu);
			/* Stores change nothing in the VMM: check after calls only. */
			if (running &&
			    !oracle__check(&f.o, f.as, f.nas, in.va, in.nva, why, sizeof(why))) {
				fprintf(stderr, "broken after hypercall: %s\n", why);
				abort();
			}
			break;
		case 1:
			op_store(&f, &in, 0, RAM_FRAMES);
			break;
		case 2:
			op_update_record(&f, &in);
			break;
		default:
			op_store(&f, &in, FUZZ_RAM, POOL_PAGES);
			break;
		}
	}
	fuzz_vm__release(&f);
	return 0;
}
