/*
 * The flush primitive for a shadow-paging KVM (docs/architecture.md, "What
 * this machine's KVM does with our shadow tables"): adding and deleting a
 * memslot makes KVM drop every shadow page it built from the tables our
 * vCPUs walk, so that a VMM change to a present entry is seen. Each vCPU
 * thread owns one dummy slot (its own slot id and guest-physical page), so
 * no VMM lock is needed; KVM serialises memslot changes itself.
 */
#ifndef UMBRA_VMM_FLUSH_H
#define UMBRA_VMM_FLUSH_H

#include <stdint.h>

#include "kvm.h"

struct flush_slot {
	struct kvm *kvm;
	uint32_t slot; /* KVM memslot id, owned by one thread */
	uint64_t gpa;  /* guest-physical address of the dummy page, outside RAM and pool */
	void *page;    /* the 4 KiB host page behind it */
};

#define FLUSH_PAGE_SIZE 4096u

/* 0 or a negative errno. */
int flush_slot__init(struct flush_slot *f, struct kvm *kvm, uint32_t slot, uint64_t gpa);
void flush_slot__release(struct flush_slot *f);

/* Adds then deletes the dummy slot. Call only from the owning thread. */
int flush_slot__flush(struct flush_slot *f);

#endif
