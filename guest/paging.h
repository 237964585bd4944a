/*
 * Page tables: the one interface through which the kernel changes them.
 *
 * Two back-ends sit behind it (paging_native.c, paging_shadow.c); the
 * choice is made once at boot. Native: the kernel writes its own tables,
 * loads CR3 and flushes with invlpg/CR3 reloads. Shadow (umbra with
 * UMBRA_CPUID_F_SHADOW): a registered address space's tables are written
 * only by the VMM, at the kernel's request (UMBRA_HC_AS_UPDATE, batched);
 * the kernel reads them freely.
 *
 * Every address space maps the kernel in PML4 slot UMBRA_KERNEL_PML4_SLOT
 * (the same kernel PDPT everywhere: 2 MiB pages over RAM, supervisor only)
 * and user memory with 4 KiB pages in slots 1..255.
 *
 * An address space is used by one CPU at a time: the CPU running its
 * process (sched.c keeps it so). Only that CPU changes it, except at
 * creation and destruction, when no CPU has it loaded.
 */
#ifndef GUEST_PAGING_H
#define GUEST_PAGING_H

#include <stdbool.h>
#include <stdint.h>

#include <umbra/abi.h>

struct cpu;

struct as {
	uint64_t *root;  /* PML4 page */
	uint32_t handle; /* shadow: the VMM's handle for root; 0 for native */
	unsigned tables; /* table pages in the tree, the root included */
};

/* A page-aligned range [start, end) of user addresses that may hold
 * mappings. Fork and destroy visit only the given ranges, so that their
 * cost follows what is mapped, not the size of the tables. */
struct vrange {
	uint64_t start, end;
};

/* Updates collected by pg_map and made visible by pg_commit. */
#define PG_BATCH 32
struct pg_batch {
	struct as *as;
	unsigned n;                         /* shadow: updates waiting */
	struct umbra_pt_update u[PG_BATCH]; /* shadow: the guest-physical array the VMM reads */
};

/* Maps the kernel over RAM (mm_granule_mapped) and picks the back-end.
 * Boot CPU, after mm_set_map. */
void paging_init(void);
/* QEMU only: maps the 2 MiB page holding device registers at pa, uncached. */
void paging_map_mmio(uint64_t pa);
/* The root that maps only the kernel (idle CPUs and boot). */
uint64_t paging_kernel_root(void);
const char *paging_backend_name(void);

/* An empty user address space. 0, or -ENOMEM (nothing allocated). */
int as_create(struct as *as);
/*
 * Makes child a copy-on-write copy of parent (which must be loaded on this
 * CPU) over the ranges: copies the tables, takes a reference on every
 * mapped frame, and leaves every writable user page read-only in both.
 * 0, or a negative errno with nothing changed. This is the only place
 * where a fork copies tables.
 */
int as_fork(struct as *parent, struct as *child, const struct vrange *r, unsigned nr);
/* Frees the address space: its tables and its frame references in the
 * ranges. It must not be loaded on any CPU. */
void as_destroy(struct as *as, const struct vrange *r, unsigned nr);
/* Loads `as` (NULL: the kernel root) on this CPU. */
void as_load(struct cpu *c, struct as *as);
/* The 4 KiB leaf entry for user address va in the kernel's own tables
 * (read it, never write it), or NULL if a table above it is missing. */
uint64_t *as_leaf(const struct as *as, uint64_t va);
/*
 * A #PF at va (x86 error code err) that the kernel's tables allow: the MMU
 * has a stale or missing view (a stale TLB entry natively; a missing
 * shadow entry on umbra). Returns true if retrying the access is right,
 * false if the fault turns out to be the process's own.
 */
bool as_hidden_fault(struct as *as, uint64_t va, uint64_t err);

void pg_begin(struct pg_batch *b, struct as *as);
/* Maps user page va to the leaf entry pte (replacing what was there),
 * creating missing tables. 0, or -ENOMEM (nothing changed). */
int pg_map(struct pg_batch *b, uint64_t va, uint64_t pte);
/* Sets the leaf entry *slot (from as_leaf(b->as, va)) to pte. */
void pg_set_leaf(struct pg_batch *b, uint64_t *slot, uint64_t va, uint64_t pte);
/* Makes all changes in b visible to this CPU's MMU. */
void pg_commit(struct pg_batch *b);

#endif /* GUEST_PAGING_H */
