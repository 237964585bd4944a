/*
 * The dummy-memslot flush.
 */
#include <config.h>

#include "flush.h"

#include <errno.h>
#include <sys/mman.h>

int flush_slot__init(struct flush_slot *f, struct kvm *kvm, uint32_t slot, uint64_t gpa)
{
	void *p = mmap(NULL, FLUSH_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	if (p == MAP_FAILED)
		return -errno;
	*f = (struct flush_slot){.kvm = kvm, .slot = slot, .gpa = gpa, .page = p};
	return 0;
}

void flush_slot__release(struct flush_slot *f)
{
	if (f->page)
		munmap(f->page, FLUSH_PAGE_SIZE);
	f->page = NULL;
}

int flush_slot__flush(struct flush_slot *f)
{
	int err = kvm__set_slot(f->kvm, f->slot, f->gpa, FLUSH_PAGE_SIZE, f->page);

	if (err < 0)
		return err;
	/* Deleting a slot is what makes KVM zap its shadow pages
	 * (kvm_arch_flush_shadow_memslot); adding one gives it a slot to delete. */
	return kvm__set_slot(f->kvm, f->slot, f->gpa, 0, f->page);
}
