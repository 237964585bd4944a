/*
 * The sharing protocol of the 2002 page-table-sharing thread
 * (docs/guest.md, "Shared page tables"), on the kernel's own tables: the
 * counts of table pages, the races between address spaces that share
 * them, and the release of a table whose last reference goes.
 *
 * A table page's count (mm.h) is the number of upper entries, in any
 * address space, that point at it. A table with count > 1 is reachable
 * only through read-only upper entries and is never written; only the
 * address space that finds the count at 1 may change it (in place). The
 * counts are atomics; the only lock on this path is the per-process one
 * that the kernel has implicitly (an address space is changed only by the
 * CPU that runs its process, paging.h).
 */
#ifndef GUEST_PTSHARE_H
#define GUEST_PTSHARE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "paging.h"

struct ptshare_stats {
	atomic_ulong shared;          /* upper entries added to a table by fork */
	atomic_ulong shared_first;    /* ... of them to a table that had count 1 */
	atomic_ulong fork_copied;     /* tables that fork copied instead (sparse, or ptshare=0) */
	atomic_ulong unshare_copy;    /* unshares that copied (count > 1) */
	atomic_ulong unshare_inplace; /* unshares by the last sharer (count 1) */
	atomic_ulong freed;           /* tables whose last reference went */
	/* Races seen from the counts themselves (the value an atomic returned
	 * is not the one read before it, in a direction that proves it): */
	atomic_ulong share_share;     /* a share saw another share meanwhile */
	atomic_ulong share_unshare;   /* a share saw a reference dropped, or an unshare one added */
	atomic_ulong unshare_unshare; /* an unshare saw another reference dropped meanwhile */
	atomic_ulong unshare_last;    /* an unsharer that copied and then found itself last */
};
extern struct ptshare_stats ptstats;

/*
 * Share table page pa with one more upper entry. Returns the count before:
 * 1 means the caller must write-protect the entry that already points at
 * it (and flush before either sharer runs again); above 1 every entry is
 * read-only already.
 */
uint32_t ptshare_share(uint64_t pa);
/* The count that decides an unshare: 1, in place; above 1, copy and then
 * ptshare_unshare_put with this count. */
uint32_t ptshare_unshare_count(uint64_t pa);
void ptshare_unshare_inplace(void);
/* After the copy is linked: drops the unsharer's reference on the old
 * table, `seen` being the count it read. True if it was the last one: the
 * caller must then release the table. */
bool ptshare_unshare_put(uint64_t pa, uint32_t seen);

/*
 * Drops the reference that entry e (at `level`, mapping from base) holds:
 * a data frame's (level 1) or a table's, releasing a table whose count
 * reaches 0. Every mapping of a table that a process holds lies in its
 * ranges r, so a release visits only those.
 */
void ptshare_drop(uint64_t e, unsigned level, uint64_t base, const struct vrange *r, unsigned nr);
/* Table t (entries at `level`, mapping from base) has count 0: drops all
 * its entries' references, zeroes them and frees the page. */
void ptshare_release(uint64_t *t, unsigned level, uint64_t base, const struct vrange *r,
		     unsigned nr);

/* Prints the counters (kernel: line). */
void ptshare_print(void);

#endif /* GUEST_PTSHARE_H */
