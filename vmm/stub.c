/*
 * The flush stub's pages and how a vCPU is sent through it.
 */
#include <config.h>

#include "stub.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "kvm.h"
#include "vcpu.h"

extern const uint8_t umbra_stub_code[], umbra_stub_code_end[];

#define PAGE 4096u
#define PTE_P 0x1ull
#define PTE_W 0x2ull
#define PTE_A 0x20ull
#define PTE_D 0x40ull
#define PTE_NX (1ull << 63)
#define EFER_LMA 0x400ull
#define CR0_PG 0x80000000ull

/* The read-only part: PDPT, PD, PT, then one code page per vCPU (each at
 * STUB_BASE_VA + i pages, its data page STUB_DATA_OFFSET above). */
enum {
	STUB_PDPT,
	STUB_PD,
	STUB_PT,
	STUB_CODE0
};

static uint64_t *stub_table(struct stub *s, unsigned page)
{
	return (uint64_t *)(s->code + (size_t)page * PAGE);
}

int stub__init(struct stub *s, unsigned nr_vcpus, uint64_t code_gpa, uint64_t data_gpa)
{
	size_t code_size = (size_t)(STUB_CODE0 + nr_vcpus) * PAGE, data_size = nr_vcpus * PAGE;
	uint64_t *pt;
	int err;

	_Static_assert(STUB_DATA_OFFSET / PAGE >= STUB_MAX_VCPUS, "data pages above the code");
	*s = (struct stub){.code_gpa = code_gpa, .data_gpa = data_gpa, .nr_vcpus = nr_vcpus};
	if (nr_vcpus == 0 || nr_vcpus > STUB_MAX_VCPUS)
		return -EINVAL;
	s->code = mmap(NULL, code_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	s->data = mmap(NULL, data_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s->code == MAP_FAILED || s->data == MAP_FAILED) {
		err = -errno;
		stub__release(s);
		return err;
	}
	/* Supervisor only (no U anywhere); A and D set so that no walker
	 * ever writes these read-only tables. */
	stub_table(s, STUB_PDPT)[0] = (code_gpa + STUB_PD * PAGE) | PTE_P | PTE_W | PTE_A;
	stub_table(s, STUB_PD)[0] = (code_gpa + STUB_PT * PAGE) | PTE_P | PTE_W | PTE_A;
	pt = stub_table(s, STUB_PT);
	for (unsigned i = 0; i < nr_vcpus; i++) {
		memcpy(s->code + (size_t)(STUB_CODE0 + i) * PAGE, umbra_stub_code,
		       (size_t)(umbra_stub_code_end - umbra_stub_code));
		pt[i] = (code_gpa + (STUB_CODE0 + i) * PAGE) | PTE_P | PTE_A | PTE_D;
		pt[STUB_DATA_OFFSET / PAGE + i] =
			(data_gpa + i * PAGE) | PTE_P | PTE_W | PTE_A | PTE_D | PTE_NX;
	}
	s->pml4e = (code_gpa + STUB_PDPT * PAGE) | PTE_P | PTE_W | PTE_A;
	return 0;
}

int stub__map(struct stub *s, struct kvm *kvm, uint32_t code_slot, uint32_t data_slot)
{
	int err = kvm__set_slot_flags(kvm, code_slot, s->code_gpa,
				      (uint64_t)(STUB_CODE0 + s->nr_vcpus) * PAGE, s->code,
				      kvm->readonly_mem ? KVM_MEM_READONLY : 0);

	if (!err)
		err = kvm__set_slot(kvm, data_slot, s->data_gpa, (uint64_t)s->nr_vcpus * PAGE,
				    s->data);
	return err;
}

void stub__release(struct stub *s)
{
	if (s->code && s->code != MAP_FAILED)
		munmap(s->code, (size_t)(STUB_CODE0 + s->nr_vcpus) * PAGE);
	if (s->data && s->data != MAP_FAILED)
		munmap(s->data, (size_t)s->nr_vcpus * PAGE);
	s->code = s->data = NULL;
}

bool stub__can_run(struct vcpu *v)
{
	const struct kvm_sregs *sr = vcpu__sregs(v);

	return sr->cs.dpl == 0 && (sr->efer & EFER_LMA) && (sr->cr0 & CR0_PG) &&
	       v->id < STUB_MAX_VCPUS;
}

static void stub_put(uint8_t *data, unsigned off, uint64_t v)
{
	memcpy(data + off, &v, sizeof(v));
}

/*
 * The port write that made the hypercall completes only when KVM_RUN is
 * entered again; with immediate_exit set it completes it (the return value
 * in %rax, %rip past the instruction) and comes back without running the
 * guest. Then %rip can be pointed at the stub, which returns there.
 */
int stub__run(struct stub *s, struct vcpu *v, const struct stub_job *job)
{
	uint8_t *data = s->data + (size_t)v->id * PAGE;
	struct kvm_regs *regs;
	unsigned n = job->n < STUB_VA_MAX ? job->n : STUB_VA_MAX;
	int rc;

	/* What the call set in the registers (AS_UPDATE's %rdx) must reach
	 * KVM on this entry: its exit stores the registers back over ours. */
	vcpu__regs_dirty(v);
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELAXED);
	v->run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
	rc = ioctl(v->fd, KVM_RUN, 0);
	__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_RELAXED);
	if (rc == 0)
		return -EPROTO; /* it ran the guest: the pio was not pending */
	if (errno != EINTR)
		return -errno;
	regs = vcpu__regs(v);
	stub_put(data, STUB_RETURN, regs->rip);
	stub_put(data, STUB_NEW_CR3, job->new_cr3);
	stub_put(data, STUB_COUNT,
		 job->reload || job->n > STUB_VA_MAX ? (uint64_t)STUB_RELOAD : (uint64_t)n);
	for (unsigned i = 0; i < n; i++)
		stub_put(data, STUB_VA_LIST + 8 * i, job->va[i]);
	regs->rip = STUB_BASE_VA + (uint64_t)v->id * PAGE;
	vcpu__regs_dirty(v);
	return 0;
}
