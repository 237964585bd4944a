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
 * creation and destruction, when no CPU has it loaded. That is the
 * per-process lock of the sharing protocol (ptshare.h): page-table pages
 * below the PDPT (PD and PT pages) may be shared between address spaces,
 * read-only, and are unshared (copied, or made writable in place by the
 * last sharer) before anything in them changes.
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
};

/* A page-aligned range [start, end) of user addresses that may hold
 * mappings. Fork and destroy visit only the given ranges, so that their
 * cost follows what is mapped, not the size of the tables. */
struct vrange {
	uint64_t start, end;
};

/* A reference to drop after the batch's commit (pg_commit). */
struct pg_put {
	uint64_t entry; /* the entry that held it (a frame: its address) */
	uint64_t base;  /* the first address the entry maps */
	uint32_t level; /* of the entry: 1 a frame, above a table */
	uint32_t seen;  /* 0: drop it; else an unsharer's put, having read this count */
};

/*
 * Changes to one address space, collected and made visible by pg_commit.
 * References that the changes drop are dropped after the commit, when no
 * MMU and no VMM walk can reach them through this address space any more.
 */
#define PG_BATCH 32
struct pg_batch {
	struct as *as;
	const struct vrange *r; /* the process's ranges (every mapping lies in them) */
	unsigned nr;
	unsigned n;                         /* shadow: updates waiting */
	struct umbra_pt_update u[PG_BATCH]; /* shadow: the guest-physical array the VMM reads */
	unsigned nput;
	struct pg_put put[PG_BATCH];
	bool linked; /* a new table was linked since the last commit */
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
 * CPU) over the ranges: with kparams.ptshare the child shares the
 * parent's PD pages (and PT pages under a sparse PD that it copies), else
 * gets copies of every table; copied leaves reference their frames; every
 * writable user page ends up read-only in both, at some level. 0, or a
 * negative errno with the child's tables freed. This is the only place
 * where a fork copies or shares tables.
 */
int as_fork(struct as *parent, struct as *child, const struct vrange *r, unsigned nr);
/* Frees the address space: drops its references in the ranges (tables
 * whose last reference goes are freed). It must not be loaded on any CPU. */
void as_destroy(struct as *as, const struct vrange *r, unsigned nr);
/* Loads `as` (NULL: the kernel root) on this CPU. */
void as_load(struct cpu *c, struct as *as);
/* The 4 KiB leaf entry for user address va as the MMU sees it (W clear
 * if an upper entry is read-only), or 0 if a table above it is missing.
 * Reads the kernel's own tables. */
uint64_t as_pte(const struct as *as, uint64_t va);
/*
 * A #PF at va (x86 error code err) that the kernel's tables allow: the MMU
 * has a stale or missing view (a stale TLB entry natively; a missing
 * shadow entry on umbra). Returns true if retrying the access is right,
 * false if the fault turns out to be the process's own.
 */
bool as_hidden_fault(struct as *as, uint64_t va, uint64_t err);

/* Starts a batch of changes to `as`, whose process has the ranges r
 * (which must stay as they are until pg_commit). */
void pg_begin(struct pg_batch *b, struct as *as, const struct vrange *r, unsigned nr);
/*
 * Makes every table on the walk of va private to b->as (unsharing, or
 * creating missing ones) and returns the leaf's slot and its value as the
 * MMU will see it after the commit. 0, or -ENOMEM (what was done so far
 * stands, and is consistent).
 */
int pg_prepare(struct pg_batch *b, uint64_t va, uint64_t **slot, uint64_t *pte);
/* Sets the leaf *slot (from pg_prepare) to pte. */
void pg_set_leaf(struct pg_batch *b, uint64_t *slot, uint64_t va, uint64_t pte);
/* Drops a reference on frame pa after the commit. */
void pg_put_frame(struct pg_batch *b, uint64_t pa);
/* pg_prepare and pg_set_leaf, committed at once if a table was linked
 * (so that the next walk finds it). 0, or -ENOMEM. */
int pg_map(struct pg_batch *b, uint64_t va, uint64_t pte);
/* Unmaps the page-aligned [start, end): drops the pages, and the tables
 * that lie wholly inside (what b's ranges reach of them), unsharing the
 * tables it cuts through. Commits. 0, or -ENOMEM (partly done). */
int pg_unmap(struct pg_batch *b, uint64_t start, uint64_t end);
/* Makes all changes in b visible to this CPU's MMU, then drops the
 * references they released. */
void pg_commit(struct pg_batch *b);

#endif /* GUEST_PAGING_H */
