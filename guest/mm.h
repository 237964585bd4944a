/*
 * Physical memory: the memory map from the boot loader, which 2 MiB pages
 * the kernel maps, and the frame allocator with per-frame reference counts.
 *
 * A frame is free (count 0) or referenced. A data frame's count is the
 * number of page-table pages that map it (plus any other owner); a
 * page-table page's count is the number of upper entries, in any address
 * space, that point at it: more than 1 while address spaces share it
 * (ptshare.c). The counts are atomics, not locked.
 *
 * Free pages are on one of two lists. Clean pages are zero-filled (but for
 * the list link in the first qword): page tables, emptied entry by entry
 * as a tree is torn down (page_free_clean), and never-used RAM. Dirty
 * pages hold what they held when their last reference went (page_put).
 * page_alloc zero-fills a dirty page only when no clean one is left, and
 * page_alloc_dirty serves callers that overwrite the whole page. So a page
 * is filled at most once per reuse, and a table copy can be sparse.
 *
 * This replaces the usual junk fill of freed pages, which would add a
 * fill per page where CPL 0 string instructions are emulated element by
 * element (docs/guest.md, "Costs"). A stale walk through a freed table
 * still faults (its entries are not present), and page_alloc checks the
 * last qword of clean pages, so a late write into a freed table shows.
 */
#ifndef GUEST_MM_H
#define GUEST_MM_H

#include <stdbool.h>
#include <stdint.h>

#define MEMMAP_MAX 64
#define KERNEL_MAP_GIB 64 /* the kernel maps (and so uses) RAM below this many GiB */
#define MEM_RAM 1         /* memory-map type of usable RAM */

struct memrange {
	uint64_t start, end; /* [start, end), bytes */
	uint32_t type;
};

/* Records the memory map (copied). */
void mm_set_map(const struct memrange *map, unsigned n);
/* True if the kernel maps the 2 MiB page at `base`: it lies below
 * KERNEL_MAP_GIB and overlaps RAM and no reserved range at or above 1 MiB
 * (the shadow pool is one). Below 1 MiB the firmware's holes share the
 * first 2 MiB page with the image. */
bool mm_granule_mapped(uint64_t base);
/* End of the highest RAM range. */
uint64_t mm_ram_end(void);
/* True if [pa, pa + len) is RAM that the kernel maps. */
bool mm_is_ram(uint64_t pa, uint64_t len);

/* Starts the allocator over mapped RAM above kernel_end. */
void mm_init(uint64_t kernel_end);

/* A zero-filled page with count 1; NULL if memory is exhausted. */
void *page_alloc(void);
/* A page with count 1 and any contents, for a caller that overwrites it all. */
void *page_alloc_dirty(void);
/* Takes one more reference on the frame at pa. */
void page_get(uint64_t pa);
/* Drops a reference; the last one frees the frame (dirty). */
void page_put(uint64_t pa);
/* Frees a page (count 1) that the caller has emptied: all zero, no fill. */
void page_free_clean(void *page);
/* Page-table pages, whose count the sharing protocol reads and changes
 * itself: one more (fewer) reference, returning the count before. A
 * page_ref_dec that returns 1 leaves the page at count 0 for the caller
 * to empty and free with page_free_table. */
uint32_t page_ref_inc(uint64_t pa);
uint32_t page_ref_dec(uint64_t pa);
void page_free_table(void *page);
/* The frame's reference count (racy unless the caller holds all but one). */
uint32_t page_refs(uint64_t pa);

/* Frames in use, and free (including never-used RAM). */
uint64_t mm_pages_used(void);
uint64_t mm_pages_free(void);

/* A set of reserved pages, so that an operation can take all it needs up
 * front and then not fail half-way. */
struct page_list {
	uint64_t head; /* first page; each page's first qword links to the next */
	unsigned n;
};
#define PAGE_LIST_MAX 8
/* Reserves n <= PAGE_LIST_MAX zero-filled pages under one lock: 0, or
 * -ENOMEM with nothing reserved. */
int page_list_alloc(struct page_list *l, unsigned n);
/* One of the reserved pages (zero-filled); the list must not be empty. */
void *page_list_take(struct page_list *l);
/* Frees what is left (the pages must still be zero), under one lock. */
void page_list_free(struct page_list *l);

#endif /* GUEST_MM_H */
