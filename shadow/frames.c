/*
 * Guest-physical memory as the library sees it: one range [mem_gpa,
 * mem_end) with the shadow pool inside it. "RAM" is that range minus the
 * pool; a guest entry may point only into RAM. Every translation of a
 * guest-supplied address comes through here and is overflow-safe.
 *
 * And the state of each 4 KiB guest frame, one atomic word (the page
 * types of Xen PV, kept beside the seed's "increment page"):
 *   maps   present leaves of user address spaces' pmd pages that map it;
 *   links  shadow links to it as a page table (and registered roots);
 *   level  the table level while links > 0 (0: data);
 *   kernel a table of the kernel slot (the mirror's source).
 * A frame is a page table or mapped by user leaves, never both: a user
 * leaf that could write a table would change the guest's tables behind
 * the shadow. Both checks and the change are one compare-and-swap, so two
 * vCPUs cannot each pass the other's test.
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

#define FS_MAPS 0xffffffffull
#define FS_LINK (1ull << 32)
#define FS_LINKS (0xffffull << 32)
#define FS_LEVEL_SHIFT 48
#define FS_LEVEL (7ull << FS_LEVEL_SHIFT)
#define FS_KERNEL (1ull << 51)

int frames_init(struct shadow *sh)
{
	uint64_t n = sh->cfg.mem_size >> PAGE_SHIFT;

	sh->frames = calloc(n, sizeof(*sh->frames));
	return sh->frames ? 0 : -ENOMEM;
}

void frames_fini(struct shadow *sh)
{
	free(sh->frames);
}

/* [gpa, gpa + len) lies inside mem; len > 0. */
bool gmem_in_mem(const struct shadow *sh, uint64_t gpa, uint64_t len)
{
	return len > 0 && gpa >= sh->cfg.mem_gpa && gpa < sh->mem_end && len <= sh->mem_end - gpa;
}

/* [gpa, gpa + len) lies inside mem and does not touch the pool. */
bool gmem_is_ram(const struct shadow *sh, uint64_t gpa, uint64_t len)
{
	if (!gmem_in_mem(sh, gpa, len))
		return false;
	/* gpa + len cannot overflow: it is at most mem_end */
	return gpa + len <= sh->cfg.pool_gpa || gpa >= sh->pool_end;
}

/* The host address of the guest table page at gpa, or NULL if gpa is not a
 * 4 KiB aligned page of RAM. */
pte_t *gmem_table(const struct shadow *sh, uint64_t gpa)
{
	if ((gpa & (PAGE_SIZE - 1)) || !gmem_is_ram(sh, gpa, PAGE_SIZE))
		return NULL;
	return (pte_t *)(sh->mem + (gpa - sh->cfg.mem_gpa));
}

/*
 * The state word of frame gpa. Frames come from guest entries (checked to
 * be RAM when they were read) or from shadow entries read back from the
 * pool, which only a guest that can write the pool could have changed: a
 * frame outside RAM is a corrupted shadow, reported, never indexed.
 */
static _Atomic uint64_t *fslot(const struct shadow *sh, uint64_t gpa)
{
	return &sh->frames[(gpa - sh->cfg.mem_gpa) >> PAGE_SHIFT];
}

static _Atomic uint64_t *fstate(struct shadow *sh, uint64_t gpa)
{
	if (!gmem_is_ram(sh, gpa, PAGE_SIZE)) {
		shadow_corrupt(sh, "a shadow entry names frame %#llx, outside guest RAM",
			       (unsigned long long)gpa);
		return NULL;
	}
	return fslot(sh, gpa);
}

/* The state of frame gpa for a query: a frame outside RAM has none. */
static uint64_t fload(const struct shadow *sh, uint64_t gpa)
{
	gpa &= PTE_FRAME;
	if (!gmem_is_ram(sh, gpa, PAGE_SIZE))
		return 0;
	return atomic_load_explicit(fslot(sh, gpa), memory_order_relaxed);
}

/* A new user leaf maps gpa: -EACCES if it is a page table. The counts need
 * no ordering of their own: a reference is taken before the entry that
 * holds it is published, and dropped after that entry is gone. */
int frame_map(struct shadow *sh, uint64_t gpa)
{
	_Atomic uint64_t *f = fstate(sh, gpa);
	uint64_t old;

	if (!f)
		return -EUCLEAN;
	old = atomic_load_explicit(f, memory_order_relaxed);
	do {
		if (old & (FS_LINKS | FS_KERNEL)) {
			STAT_INC(sh, ownership_refusals);
			return -EACCES;
		}
	} while (!atomic_compare_exchange_weak_explicit(f, &old, old + 1, memory_order_relaxed,
							memory_order_relaxed));
	return 0;
}

/* One more leaf maps a frame that a leaf maps already (a copy of it). */
void frame_ref(struct shadow *sh, uint64_t gpa)
{
	_Atomic uint64_t *f = fstate(sh, gpa);

	if (f && (atomic_fetch_add_explicit(f, 1, memory_order_relaxed) & FS_MAPS) == 0)
		shadow_corrupt(sh, "frame %#llx copied from a leaf but mapped by none",
			       (unsigned long long)gpa);
}

void frame_unmap(struct shadow *sh, uint64_t gpa)
{
	_Atomic uint64_t *f = fstate(sh, gpa);

	if (f && (atomic_fetch_sub_explicit(f, 1, memory_order_relaxed) & FS_MAPS) == 0)
		shadow_corrupt(sh, "frame %#llx unmapped more often than mapped",
			       (unsigned long long)gpa);
}

/*
 * A shadow link (or a registered root) makes gpa a page table at `level`.
 * -EACCES if a user leaf maps it; -EEXIST if it is a table at another
 * level or of the kernel slot, or if it is linked already and this link is
 * not `shared`: a second link is the guest sharing the table (its links
 * read-only, or reached through a read-only link) or it is aliasing.
 */
int table_link(struct shadow *sh, uint64_t gpa, unsigned level, bool shared)
{
	_Atomic uint64_t *f = fstate(sh, gpa);
	uint64_t old, lvl = (uint64_t)level << FS_LEVEL_SHIFT;
	int rc;

	if (!f)
		return -EUCLEAN;
	old = atomic_load_explicit(f, memory_order_relaxed);
	do {
		rc = 0;
		if (old & FS_MAPS)
			rc = -EACCES;
		else if ((old & FS_KERNEL) || ((old & FS_LINKS) && (old & FS_LEVEL) != lvl))
			rc = -EEXIST;
		else if ((old & FS_LINKS) && !shared)
			rc = -EEXIST;
		else if ((old & FS_LINKS) == FS_LINKS)
			rc = -EEXIST; /* 65535 links: more than max_as can make */
		if (rc) {
			STAT_INC(sh, ownership_refusals);
			return rc;
		}
	} while (
		!atomic_compare_exchange_weak_explicit(f, &old, ((old + FS_LINK) & ~FS_LEVEL) | lvl,
						       memory_order_relaxed, memory_order_relaxed));
	return 0;
}

void table_unlink(struct shadow *sh, uint64_t gpa)
{
	_Atomic uint64_t *f = fstate(sh, gpa);
	uint64_t old, new;

	if (!f)
		return;
	old = atomic_load_explicit(f, memory_order_relaxed);
	do {
		if (!(old & FS_LINKS)) {
			shadow_corrupt(sh, "page table %#llx unlinked more often than linked",
				       (unsigned long long)gpa);
			return;
		}
		new = old - FS_LINK;
		if (!(new &FS_LINKS))
			new &= ~FS_LEVEL;
	} while (!atomic_compare_exchange_weak_explicit(f, &old, new, memory_order_relaxed,
							memory_order_relaxed));
}

/* The kernel slot's tables, while the mirror built from them lives. */
int table_mark_kernel(struct shadow *sh, uint64_t gpa)
{
	_Atomic uint64_t *f = fstate(sh, gpa);
	uint64_t old;

	if (!f)
		return -EUCLEAN;
	old = atomic_load_explicit(f, memory_order_relaxed);
	do {
		if (old & (FS_MAPS | FS_LINKS))
			return old & FS_MAPS ? -EACCES : -EEXIST;
	} while (!atomic_compare_exchange_weak_explicit(
		f, &old, old | FS_KERNEL, memory_order_relaxed, memory_order_relaxed));
	return 0;
}

void table_unmark_kernel(struct shadow *sh, uint64_t gpa)
{
	_Atomic uint64_t *f = fstate(sh, gpa);

	if (f)
		atomic_fetch_and_explicit(f, ~FS_KERNEL, memory_order_relaxed);
}

unsigned frame_maps(const struct shadow *sh, uint64_t gpa)
{
	return (unsigned)(fload(sh, gpa) & FS_MAPS);
}

unsigned frame_links(const struct shadow *sh, uint64_t gpa)
{
	return (unsigned)((fload(sh, gpa) & FS_LINKS) >> 32);
}

/* 1..4 for a table, 5 for a table of the kernel slot, 0 for data. */
unsigned frame_level(const struct shadow *sh, uint64_t gpa)
{
	uint64_t s = fload(sh, gpa);

	if (s & FS_KERNEL)
		return 5;
	return (unsigned)((s & FS_LEVEL) >> FS_LEVEL_SHIFT);
}
