/*
 * x86-64 4-level page-table entries, as the guest writes them and as the
 * shadow holds them, and the only way this library touches an entry.
 *
 * Every entry lives in guest-physical memory that something else may read
 * or write at the same time: a vCPU walks shadow tables while we change
 * them, other threads fill shared pmd pages, and a misbehaving guest may
 * write its own tables under our feet. So every entry is read and written
 * with one relaxed atomic access (no tearing, no data race); the ordering
 * that the sharing protocol needs comes from the pmd page counts
 * (share.c), not from the entries.
 */
#ifndef UMBRA_SHADOW_PTE_H
#define UMBRA_SHADOW_PTE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define PTE_P (1ull << 0)
#define PTE_W (1ull << 1)
#define PTE_U (1ull << 2)
#define PTE_PWT (1ull << 3)
#define PTE_PCD (1ull << 4)
#define PTE_A (1ull << 5)
#define PTE_D (1ull << 6)
#define PTE_PS (1ull << 7)    /* levels 2 and 3: the entry is a leaf */
#define PTE_PAT4K (1ull << 7) /* level 1: PAT */
#define PTE_G (1ull << 8)
#define PTE_PAT2M (1ull << 12) /* level 2 leaf: PAT */
#define PTE_NX (1ull << 63)

/* Physical address bits 51:12; bits 62:52 are ignored by the CPU (or are
 * protection keys), so the library never copies them into the shadow. */
#define PTE_FRAME 0x000ffffffffff000ull
/* A 2 MiB leaf: bits 51:21 are the frame, 20:13 must be zero. */
#define PTE_FRAME_2M 0x000fffffffe00000ull
#define PTE_RSVD_2M 0x00000000001fe000ull

#define PAGE_SHIFT 12
#define PAGE_SIZE 4096ull
#define HUGE_SIZE (2ull << 20)
#define PT_ENTRIES 512u

/* Upper-level shadow entries of the kernel mirror and the fixed slot grant
 * everything; their leaves decide. */
#define SPTE_TABLE (PTE_P | PTE_W | PTE_U | PTE_A)
/* The bits of a guest link (an upper-level entry that points at a table)
 * that its shadow link copies, so that the CPU combines them over the
 * levels as the guest's walk does; a shadow link also has P and A. */
#define SPTE_LINK_BITS (PTE_W | PTE_U | PTE_NX)
/* The bits a shadow leaf may carry besides the frame. */
#define SPTE_LEAF_BITS (PTE_P | PTE_W | PTE_U | PTE_A | PTE_D | PTE_NX)

typedef _Atomic uint64_t pte_t;

static inline unsigned pt_index(uint64_t va, unsigned level)
{
	return (unsigned)(va >> (PAGE_SHIFT + 9 * (level - 1))) & (PT_ENTRIES - 1);
}

/* 48-bit canonical: bits 63:47 all equal. */
static inline bool va_canonical(uint64_t va)
{
	uint64_t top = va >> 47;
	return top == 0 || top == 0x1ffff;
}

/* The canonical virtual address with these table indices. */
static inline uint64_t va_make(unsigned i4, unsigned i3, unsigned i2, unsigned i1)
{
	uint64_t va =
		(uint64_t)i4 << 39 | (uint64_t)i3 << 30 | (uint64_t)i2 << 21 | (uint64_t)i1 << 12;
	return (va & (1ull << 47)) ? (va | 0xffff000000000000ull) : va;
}

static inline uint64_t pte_load(const pte_t *p)
{
	return atomic_load_explicit(p, memory_order_relaxed);
}

static inline void pte_store(pte_t *p, uint64_t v)
{
	atomic_store_explicit(p, v, memory_order_relaxed);
}

/* A link read on the way down (spath_walk): it may have been published by
 * another sharer's fill (pte_cas_release), whose page must then be seen
 * as that fill left it. A plain load on x86. */
static inline uint64_t pte_load_acquire(const pte_t *p)
{
	return atomic_load_explicit(p, memory_order_acquire);
}

/* Fills race on empty entries of shared pmd pages; the loser sees the
 * winner's value in *expected. */
static inline bool pte_cas(pte_t *p, uint64_t *expected, uint64_t v)
{
	return atomic_compare_exchange_strong_explicit(p, expected, v, memory_order_relaxed,
						       memory_order_relaxed);
}

/* pte_cas, publishing a new page's link: what was written to the page
 * before happens before a pte_load_acquire that reads the link. */
static inline bool pte_cas_release(pte_t *p, uint64_t *expected, uint64_t v)
{
	return atomic_compare_exchange_strong_explicit(p, expected, v, memory_order_release,
						       memory_order_acquire);
}

static inline uint64_t pte_xchg(pte_t *p, uint64_t v)
{
	return atomic_exchange_explicit(p, v, memory_order_relaxed);
}

static inline uint64_t pte_fetch_or(pte_t *p, uint64_t bits)
{
	return atomic_fetch_or_explicit(p, bits, memory_order_relaxed);
}

#endif /* UMBRA_SHADOW_PTE_H */
