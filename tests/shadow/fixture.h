/*
 * A fake guest for the shadow tests and benchmark: a malloc'd region of
 * guest-physical memory with the shadow pool at its top, a tiny guest
 * frame allocator, and helpers that build guest tables the way the guest
 * kernel does: PML4 slot 0 (FX_KSLOT) identity-maps RAM with 2 MiB pages
 * (supervisor only), user mappings live in slot 1 and up.
 *
 * Layout: [0, 2 MiB) unused, [2 MiB, 2 MiB + data) data frames for user
 * mappings, then table frames up to ram_end, then the pool.
 */
#ifndef UMBRA_TESTS_SHADOW_FIXTURE_H
#define UMBRA_TESTS_SHADOW_FIXTURE_H

#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "shadow.h"
#include "pte.h"

#define FX_KSLOT 0u
#define FX_UVA 0x0000008000000000ull /* PML4 slot 1 */
#define FX_USER (PTE_P | PTE_W | PTE_U | PTE_A | PTE_D)
#define FX_USER_RO (PTE_P | PTE_U | PTE_A)

struct fx_opts {
	unsigned mem_mib;  /* guest memory, pool included; default 32 */
	unsigned pool_mib; /* default 4 */
	unsigned data_mib; /* data frames; default 2 */
	uint64_t mem_gpa;  /* default 0; 2 MiB aligned */
	unsigned max_as;   /* default 64 */
	unsigned max_cpus; /* default 4 */
	bool poison;
	bool defer_free;
	bool kernel_4k;                    /* the first 2 MiB of the kernel map with 4 KiB pages */
	bool no_flush_cb;                  /* with defer_free: no flush callback */
	enum shadow_flush_mode flush_mode; /* default SHADOW_FLUSH_GLOBAL (0) */
};

struct fx {
	struct shadow *sh;
	struct shadow_config cfg;
	uint8_t *mem;
	uint64_t ram_end;     /* RAM is [cfg.mem_gpa, ram_end), the pool above */
	uint64_t data;        /* first data frame */
	uint64_t ndata;       /* data frames */
	uint64_t kpdpt;       /* the kernel slot's guest PDPT */
	pthread_mutex_t lock; /* the frame allocator: next, free_frames, nfree;
			       * taken alone, never with a library lock held */
	uint64_t next;
	uint64_t *free_frames;
	size_t nfree;
	/* Per frame: the trees that hold it as a table beyond its first (the
	 * guest's table sharing); atomic, so that fx_free_tables() frees a
	 * shared table once, with its last tree. */
	_Atomic unsigned *shares;
	void *held; /* fx_limit()'s reservation */
	unsigned flush_calls;
};

struct fx *fx_new(const struct fx_opts *o);
void fx_free(struct fx *fx);
int fx_run(Suite *s);

void *fx_host(struct fx *fx, uint64_t gpa);
uint64_t fx_frame(struct fx *fx);
void fx_frame_free(struct fx *fx, uint64_t gpa);
uint64_t fx_data(struct fx *fx, uint64_t i);
uint64_t fx_root(struct fx *fx);
pte_t *fx_entry(struct fx *fx, uint64_t root, uint64_t va, unsigned level);
void fx_map(struct fx *fx, uint64_t root, uint64_t va, uint64_t frame, uint64_t flags);
void fx_map_2m(struct fx *fx, uint64_t root, uint64_t va, uint64_t frame, uint64_t flags);
uint64_t fx_copy(struct fx *fx, uint64_t root, bool clear_w);
/* The guest side of a fork that shares tables (two-level sharing): the
 * child's tables are private copies above `level` (1: PTs, 2: PDs are
 * shared), and its links to the parent's tables at `level` read-only. */
uint64_t fx_copy_sharing(struct fx *fx, uint64_t root, unsigned level);
void fx_free_tables(struct fx *fx, uint64_t root);

uint32_t fx_create(struct fx *fx, uint64_t root);
uint32_t fx_fork(struct fx *fx, uint32_t parent, uint64_t proot, enum shadow_policy p,
		 uint64_t *child_root);
/* fx_copy_sharing() and shadow_as_fork(); *child_root the child's root. */
uint32_t fx_fork_sharing(struct fx *fx, uint32_t parent, uint64_t proot, enum shadow_policy p,
			 unsigned level, uint64_t *child_root);
/* The guest's unshare of the table at `level` (1: PT, 2: PD) on va's walk
 * in h (root), from vCPU cpu: copies it to a fresh frame (its leaves, or links, made
 * read-only) and re-points the link to it, writable, with one update.
 * Returns shadow_update's error (0 on success). */
int fx_unshare(struct fx *fx, unsigned cpu, uint32_t h, uint64_t root, uint64_t va, unsigned level);
void fx_touch(struct fx *fx, uint32_t h, uint64_t va, unsigned access);
/* White-box: the shadow leaf for va in h (0 if none), and its PD entry. */
uint64_t fx_sleaf(struct fx *fx, uint32_t h, uint64_t va, uint64_t *pde);
unsigned fx_frame_maps(struct fx *fx, uint64_t gpa);
/* What cpu 0's calls changed that a vCPU may have cached (taken and
 * cleared), and whether that is anything. */
struct shadow_flush fx_flush_take(struct fx *fx);
bool fx_flush_needed(struct fx *fx);
void fx_check(struct fx *fx);
void fx_check_as(struct fx *fx, uint32_t h);
struct shadow_stats fx_stats(struct fx *fx);

/* Leaves only k pool pages available (held in a reservation) until
 * fx_unlimit(). */
void fx_limit(struct fx *fx, unsigned k);
void fx_unlimit(struct fx *fx);

/* A copy of guest memory (pool included) and of the counters, to prove
 * that a failed call changed nothing. */
struct fx_snap {
	uint8_t *mem;
	struct shadow_stats st;
};
void fx_snap(struct fx *fx, struct fx_snap *s);
void fx_snap_same(struct fx *fx, struct fx_snap *s);

#endif /* UMBRA_TESTS_SHADOW_FIXTURE_H */
