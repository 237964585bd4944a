/*
 * The flush stub (docs/architecture.md, "Flushes"): on a KVM that lets the
 * CPU walk our shadow tables (EPT/NPT), a vCPU's TLB keeps old
 * translations until that vCPU flushes, and only guest code can do that
 * without KVM dropping its whole MMU. So the VMM keeps a few pages of its
 * own: code, read-only to the guest, that reloads CR3 (or loads a new
 * one) or invalidates a list of pages, and per-vCPU data; they are mapped
 * supervisor-only in every shadow address space (the shadow library's
 * fixed slot). After a hypercall that needs it, the vCPU resumes in the
 * stub, which jumps back to the hypercall's return with nothing changed.
 */
#ifndef UMBRA_VMM_STUB_H
#define UMBRA_VMM_STUB_H

#include <stdbool.h>
#include <stdint.h>

#include <umbra/abi.h>

#include "stub_abi.h"

struct kvm;
struct vcpu;

/* The top of the address space, which the ABI reserves for umbra. */
#define STUB_PML4_SLOT UMBRA_STUB_PML4_SLOT
#define STUB_BASE_VA 0xffffff8000000000ull
#define STUB_MAX_VCPUS 256u

struct stub {
	uint8_t *code;     /* host: the tables and code pages (a read-only memslot) */
	uint8_t *data;     /* host: the data pages, one per vCPU (read-write) */
	uint64_t code_gpa; /* guest-physical base of each part */
	uint64_t data_gpa;
	unsigned nr_vcpus;
	uint64_t pml4e; /* the entry for STUB_PML4_SLOT of every shadow root */
};

/* What the stub does on one run. */
struct stub_job {
	uint64_t new_cr3; /* a root to load (it flushes everything), or 0 */
	bool reload;      /* reload CR3: flush every translation of this vCPU */
	unsigned n;       /* else: pages to invalidate */
	const uint64_t *va;
};

/* Builds the pages for code_gpa and data_gpa (2 MiB aligned, above RAM and
 * pool). 0 or -errno. */
int stub__init(struct stub *s, unsigned nr_vcpus, uint64_t code_gpa, uint64_t data_gpa);
/* Maps them as memslots code_slot (read-only if KVM can) and data_slot. */
int stub__map(struct stub *s, struct kvm *kvm, uint32_t code_slot, uint32_t data_slot);
void stub__release(struct stub *s);

/* Whether v, stopped at a hypercall, can run the stub: at CPL 0, in long
 * mode with paging. */
bool stub__can_run(struct vcpu *v);
/* Completes v's hypercall and makes it resume in the stub with `job`.
 * Call from v's thread while handling the hypercall's exit. 0 or -errno. */
int stub__run(struct stub *s, struct vcpu *v, const struct stub_job *job);

#endif
