/*
 * shadow/ internals: the state behind struct shadow and the functions the
 * files of the library share. Tests include it to look inside (white-box
 * checks, pool limits, the race hooks); the VMM never does.
 *
 * Lock order (docs/architecture.md, "Locks"):
 *   1. struct as.lock         one address space; never two at once (a fork
 *                             publishes its child after dropping the parent's)
 *   2. struct kmirror.lock    the kernel-slot mirror (create and destroy only)
 *   3. struct pool.lock       pool lists and page kinds (innermost)
 *   4. struct shadow.broken_lock   the first corruption report (a leaf)
 * Shadow page counts and the per-frame state words are atomics and take no
 * lock.
 */
#ifndef UMBRA_SHADOW_INTERNAL_H
#define UMBRA_SHADOW_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shadow.h"
#include "pte.h"

#define NIL UINT32_MAX

/* ThreadSanitizer build (GCC says so with a macro, clang with a feature). */
#if defined(__SANITIZE_THREAD__)
#define SHADOW_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SHADOW_TSAN 1
#endif
#endif

enum spage_kind {
	SPAGE_FREE,
	SPAGE_LIMBO, /* freed, waiting for a flush (cfg.defer_free) */
	/* an address space's own pages */
	SPAGE_ROOT,
	SPAGE_PDPT,
	SPAGE_PD,  /* may be shared, like a pmd page, when the guest shares its PD */
	SPAGE_PMD, /* a leaf table: the protocol's pmd page, maybe shared */
	/* the kernel-slot mirror's pages, shared by every root */
	SPAGE_KROOT, /* the root that maps only the kernel slot */
	SPAGE_KPDPT,
	SPAGE_KPD,
	SPAGE_KPMD,
};

/*
 * What a PD or pmd page stands for (spage.src): the guest table that every
 * link to it stands for, so that a fill from that table is right for every
 * sharer ("identity"); or SRC_MIXED: shared between address spaces whose
 * guest tables are different pages that were equal at fork ("equality",
 * the seed's sharing of copies), where a fill from one of them may not be
 * right for the others; or SRC_HUGE: a pmd page built from a guest 2 MiB
 * page, which has no guest table of its own.
 */
#define SRC_MIXED 1ull
#define SRC_HUGE 2ull

/*
 * "No guest table" where a guest table frame is expected: an empty link
 * in spage_links, a pmd page built from a guest 2 MiB page (it stands for
 * no table). Not 0: guest-physical frame 0 can be a page table like any
 * other. Not page-aligned, so it is never a frame.
 */
#define GFRAME_NONE UINT64_MAX

/* Metadata of one pool page, in VMM memory the guest cannot reach. */
struct spage {
	/*
	 * SPAGE_PD, SPAGE_PMD, SPAGE_KPMD: the number of shadow links (upper
	 * entries) that point at this page, i.e. the sharers. Changed only by
	 * someone who holds one of those references under its own
	 * address-space lock (share.c). Other kinds: 0.
	 */
	_Atomic int count;
	/* enum spage_kind; changes under pool.lock; read without it by
	 * callers that hold a reference to the page (it cannot change then) */
	_Atomic uint8_t kind;
	/* PD and pmd pages: the guest table frame it shadows, or SRC_MIXED /
	 * SRC_HUGE. Written by a holder under its lock; read by fillers. */
	_Atomic uint64_t src;
	/* The call that took the page from the pool (stats_actor.call): while
	 * that call runs no vCPU has walked it, so it may change in place. (A
	 * fill that links it into a PD page the guest shares publishes it at
	 * once, but then only fills it, which needs no flush anyway.) */
	uint64_t born;
	uint32_t next; /* free or limbo list link; pool.lock */
	uint64_t tag;  /* limbo: flushes begun before the free (flush_seq); pool.lock */
};

/* The shadow pool: pages of guest-physical memory the vCPU walks. */
struct pool {
	/* Protects the lists, nfree, nlimbo, reserved and every spage's kind,
	 * next and tag. Innermost but for broken_lock: nothing else is taken
	 * while it is held, and no callback runs under it. */
	pthread_mutex_t lock;
	struct spage *pages;
	uint32_t npages;
	uint32_t free_head;
	uint32_t nfree;
	uint32_t reserved; /* free pages promised to callers (pool_reserve) */
	uint32_t limbo_head, limbo_tail;
	uint32_t nlimbo;
	/*
	 * For each upper-level page (root, PDPT, PD), the guest frame each of
	 * its links stands for: the guest table the child page shadows for
	 * this link. Kept here, not read back from guest memory, so that
	 * unlinking counts the frame that was linked whatever the guest wrote
	 * since. npages * 512 entries, touched only for upper pages.
	 */
	_Atomic uint64_t *links;
};

/* Pages promised by pool_reserve() and not yet taken. */
struct resv {
	unsigned n;
};

/* The kernel-slot mirror (kernel.c), shared by every shadow root. */
struct kmirror {
	/* Serialises building the mirror (first user) and tearing it down
	 * (last user), and protects the fields below while users is zero.
	 * Taken after an address-space lock, before the pool lock. */
	pthread_mutex_t lock;
	/* Live address spaces plus vCPUs that have the kernel-only root
	 * loaded. Goes 0 -> 1 and 1 -> 0 only under lock; other changes are
	 * atomic increments by a holder of a reference. */
	_Atomic unsigned users;
	uint64_t guest_entry; /* the guest PML4 entry of the slot, A and D cleared */
	uint32_t kroot;       /* pool page: the root with only the kernel slot */
	uint32_t kpdpt;       /* pool page: the mirror's PDPT, linked from every root */
};

/* One slot of the handle table. Slots are type-stable: never freed before
 * shadow_destroy(), so a stale handle can always lock its slot and see
 * that the generation moved on. */
struct as {
	/*
	 * mm->page_table_lock. Protects every field below except claimed, the
	 * guest tables of this address space (the library's writes to them),
	 * its shadow root, PDPT and private PD pages, and its references to
	 * shared pages. First in the lock order, and held one at a time.
	 */
	pthread_mutex_t lock;
	atomic_bool claimed; /* a create or fork owns the slot; lock-free claim */
	bool live;
	/* Bumped at destroy: the handle's high half. A slot whose generation
	 * comes round to 0 again stays claimed for good, so no handle is ever
	 * reused. */
	uint16_t gen;
	uint64_t guest_root;
	uint32_t root; /* pool page of the shadow root */
	int loaded_on; /* the vCPU it is loaded on, or -1 */
};

/* Counters behind struct shadow_stats, one atomic each. */
struct counters {
	_Atomic uint64_t share_exclusive, share_shared, share_identity, unshare_copy,
		unshare_exclusive, unshare_copy_last, unshare_follow, relink_widened, pmd_freed,
		pmd_copied, fill_private, fill_shared, fill_raced, fault_guest, fault_spurious,
		updates, forks_share, forks_copy, forks_lazy, shadow_entries_written,
		guest_entries_written, pages_allocated, pages_freed, path_copies, pages_now,
		pages_peak, flushes, alloc_failures, ownership_refusals, address_spaces_now;
};

/*
 * The vCPU on whose behalf this thread works in `sh`: set by every entry
 * point that takes a cpu (stats_act), so that the counting and the flush
 * records deep inside a call are charged to that vCPU without passing it
 * down every path. `call` numbers that vCPU's calls: pages taken during the
 * current one are fresh (spage.born).
 */
struct stats_actor {
	struct shadow *sh;
	uint64_t instance; /* sh->instance: a later instance at the same address is not sh */
	struct counters *cpu;
	unsigned cpu_index;
	uint64_t call;
};
extern _Thread_local struct stats_actor stats_actor;

#define STAT_ADD(sh, field, n)                                                                     \
	do {                                                                                       \
		atomic_fetch_add_explicit(&(sh)->stats.field, (n), memory_order_relaxed);          \
		if (stats_actor.sh == (sh) && stats_actor.instance == (sh)->instance)              \
			atomic_fetch_add_explicit(&stats_actor.cpu->field, (n),                    \
						  memory_order_relaxed);                           \
	} while (0)
#define STAT_INC(sh, field) STAT_ADD(sh, field, 1)

/* Points where the race tests hold one thread (shadow_set_hook). */
enum shadow_hook_point {
	HOOK_SHARE_COUNTED,  /* share: the old count was read, not yet incremented */
	HOOK_UNSHARE_COPIED, /* unshare: the copy is made, the old page not yet put */
	HOOK_FILL_CAS,       /* shared fill: frame referenced, entry not yet swapped */
	HOOK_FILL_LINKED,    /* fill: a new pmd page linked into a shared PD page, no leaf yet */
};
typedef void shadow_hook_fn(void *arg, enum shadow_hook_point where);

/* What one vCPU's calls changed that it may have cached (flush.c):
 * written only by the thread acting for that vCPU, taken by it in
 * shadow_flush_take(). */
struct flush_rec {
	struct shadow_flush out;
};

struct shadow {
	struct shadow_config cfg;
	uint64_t instance; /* numbers the instances a process creates (stats_actor) */
	uint8_t *mem;      /* cfg.mem */
	uint64_t mem_end;  /* cfg.mem_gpa + cfg.mem_size */
	uint64_t pool_end; /* cfg.pool_gpa + cfg.pool_size */
	struct pool pool;
	/* Per 4 KiB guest frame: its state word (frames.c): present user
	 * leaves that map it, links to it as a page table, its table level. */
	_Atomic uint64_t *frames;
	/* flush_seq: flushes begun, the clock of the limbo (flush.c). */
	_Atomic uint64_t flush_seq;
	/* Calls made so far (stats_actor.call): tells fresh pages apart. */
	_Atomic uint64_t calls;
	struct kmirror kmirror;
	struct as *as; /* cfg.max_as slots */
	atomic_uint as_hint;
	_Atomic uint64_t *loaded; /* per vCPU: LOADED_NONE, LOADED_KERNEL or a handle */
	struct counters stats;
	struct counters *cpu_stats; /* per vCPU, cfg.max_cpus of them */
	struct flush_rec *flush;    /* per vCPU, cfg.max_cpus of them */
	/* The first sign of a corrupted shadow (a value read back from the
	 * pool that the library never wrote): every call fails with -EUCLEAN
	 * from then on. broken_lock protects broken_why. */
	atomic_bool broken;
	pthread_mutex_t broken_lock;
	char broken_why[160];
	/* Set only by tests, before any thread starts. */
	shadow_hook_fn *hook;
	void *hook_arg;
};

#define LOADED_NONE 0ull
#define LOADED_KERNEL (1ull << 32) /* the kernel-only root (handle 0) */

static inline void shadow_hook(struct shadow *sh, enum shadow_hook_point where)
{
	if (sh->hook)
		sh->hook(sh->hook_arg, where);
}

/* shadow.c: a corrupted shadow. Records the first reason; never aborts. */
void shadow_corrupt(struct shadow *sh, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline bool shadow_is_broken(struct shadow *sh)
{
	return atomic_load_explicit(&sh->broken, memory_order_acquire);
}

/* stats.c: charge this thread's work to `cpu` (already range-checked) and
 * start a new call of it */
void stats_act(struct shadow *sh, unsigned cpu);

/* pool.c */
int pool_init(struct shadow *sh);
void pool_fini(struct shadow *sh);
int pool_reserve(struct shadow *sh, struct resv *r, unsigned n);
uint32_t pool_take(struct shadow *sh, struct resv *r, enum spage_kind kind);
void pool_unreserve(struct shadow *sh, struct resv *r);
void pool_free(struct shadow *sh, uint32_t idx);
void pool_limbo_release(struct shadow *sh, uint64_t seq);
uint32_t pool_available(struct shadow *sh);
pte_t *spage_table(const struct shadow *sh, uint32_t idx);
uint64_t spage_gpa(const struct shadow *sh, uint32_t idx);
bool spage_of(const struct shadow *sh, uint64_t entry, uint32_t *idx);
bool spage_of_kind(struct shadow *sh, uint64_t entry, enum spage_kind kind, uint32_t *idx);
bool spage_fresh(const struct shadow *sh, uint32_t idx);
_Atomic uint64_t *spage_links(const struct shadow *sh, uint32_t idx);
uint8_t spage_kind(struct shadow *sh, uint32_t idx);

/* flush.c */
void flush_leaf(struct shadow *sh, struct as *as, uint64_t va, uint64_t frame);
void flush_upper(struct shadow *sh, struct as *as);
void flush_root_moved(struct shadow *sh, struct as *as);
bool flush_copies(const struct shadow *sh);
uint64_t flush_tag(struct shadow *sh);

/* frames.c: guest frames */
int frames_init(struct shadow *sh);
void frames_fini(struct shadow *sh);
bool gmem_in_mem(const struct shadow *sh, uint64_t gpa, uint64_t len);
bool gmem_is_ram(const struct shadow *sh, uint64_t gpa, uint64_t len);
pte_t *gmem_table(const struct shadow *sh, uint64_t gpa);
int frame_map(struct shadow *sh, uint64_t gpa);
void frame_ref(struct shadow *sh, uint64_t gpa);
void frame_unmap(struct shadow *sh, uint64_t gpa);
int table_link(struct shadow *sh, uint64_t gpa, unsigned level, bool shared);
void table_unlink(struct shadow *sh, uint64_t gpa);
int table_mark_kernel(struct shadow *sh, uint64_t gpa);
void table_unmark_kernel(struct shadow *sh, uint64_t gpa);
unsigned frame_maps(const struct shadow *sh, uint64_t gpa);
unsigned frame_links(const struct shadow *sh, uint64_t gpa);
unsigned frame_level(const struct shadow *sh, uint64_t gpa);

/* walk.c: the guest's tables */
struct gwalk {
	uint64_t table[5]; /* table[l]: gpa of the level-l table on the walk; [4] = root */
	pte_t *slot[5];    /* slot[l]: host address of the level-l entry for va */
	uint64_t entry[5]; /* entry[l]: its value, read once */
	unsigned level;    /* last level read */
	bool w, u, x;      /* effective over the entries read */
	bool kernel;       /* va is in the kernel slot */
};
struct gleaf {
	bool present;
	unsigned level; /* 1 or 2: the leaf; not present: the level that was not */
	uint64_t frame; /* the 4 KiB frame of va */
	bool w, u, x;   /* effective over every level */
	uint64_t entry; /* the leaf entry */
	pte_t *slot;    /* where it lives */
};
int gentry_check(const struct shadow *sh, unsigned level, uint64_t e, const uint64_t *path,
		 bool kernel);

/* Leaf e at `level` (1, or 2 with PS) maps one of the tables path[level..4].
 * Inline: fork runs it on every leaf. */
static inline bool gleaf_maps_path(unsigned level, uint64_t e, const uint64_t *path)
{
	uint64_t frame = level == 2 ? e & PTE_FRAME_2M : e & PTE_FRAME;
	uint64_t size = level == 2 ? HUGE_SIZE : PAGE_SIZE;
	unsigned l;

	for (l = level; l <= 4; l++) {
		if (path[l] - frame < size) /* unsigned: path[l] in [frame, frame + size) */
			return true;
	}
	return false;
}
int groot_check(const struct shadow *sh, uint64_t root);
int gwalk_region(const struct shadow *sh, uint64_t root, uint64_t va, unsigned stop,
		 struct gwalk *w);
int gwalk_leaf(const struct shadow *sh, const struct gwalk *w, uint64_t va, struct gleaf *l);
int gwalk_va(const struct shadow *sh, uint64_t root, uint64_t va, struct gleaf *l);
bool va_kernel(const struct shadow *sh, uint64_t va);
bool va_fixed(const struct shadow *sh, uint64_t va);

/* tree.c: one address space's shadow tables */
struct spath {
	uint32_t pg[5]; /* pg[4]: root; pg[3]: PDPT; pg[2]: PD; pg[1]: pmd page; NIL if absent */
};
uint64_t sleaf_derive(const struct gleaf *l);
uint64_t slink_value(const struct shadow *sh, uint32_t child, uint64_t guest_entry, bool wp);
bool sleaf_allows(uint64_t pde, uint64_t pte, uint64_t frame, unsigned access);
void sleaf_set(struct shadow *sh, struct as *as, uint64_t va, uint64_t pde, uint32_t page,
	       unsigned i, uint64_t e);
void sentry_set(struct shadow *sh, pte_t *slot, uint64_t e);
void spath_walk(struct shadow *sh, struct as *as, uint64_t va, struct spath *p);
unsigned spath_own_pages(struct shadow *sh, const struct spath *p, unsigned level);
void spath_own(struct shadow *sh, struct as *as, uint64_t va, struct spath *p, unsigned level,
	       struct resv *r);
void slink_change(struct shadow *sh, struct as *as, uint32_t page, unsigned i, uint64_t e);
void slink_release(struct shadow *sh, uint32_t parent, unsigned i, unsigned level, uint64_t e);
void slink_drop(struct shadow *sh, struct as *as, uint32_t page, unsigned i, unsigned level);
int slink_claim(struct shadow *sh, uint64_t gframe, unsigned level, bool shared);
void slink_install(struct shadow *sh, uint32_t page, unsigned i, uint64_t e, uint64_t gframe);
void stree_free(struct shadow *sh, struct as *as);
unsigned stree_missing(struct shadow *sh, struct as *as, uint64_t va);
int stree_translate(struct shadow *sh, uint32_t root, uint64_t va, struct shadow_translation *t);

/* share.c: the protocol */
uint32_t pmd_new(struct shadow *sh, struct resv *r, uint64_t src);
void pmd_share(struct shadow *sh, struct as *parent, uint32_t parent_page, unsigned pi,
	       uint32_t child_page, unsigned ci, uint64_t child_entry, uint64_t child_gframe);
void spage_share_identity(struct shadow *sh, uint32_t idx, uint32_t child_page, unsigned ci,
			  uint64_t child_entry, uint64_t gframe);
bool pmd_write_protected(struct shadow *sh, uint64_t lnk, uint32_t idx);
void pmd_unshare(struct shadow *sh, struct as *as, uint64_t va, struct spath *p, struct resv *r);
unsigned pmd_unshare_pages(struct shadow *sh, uint32_t pmd);
bool spage_identity(struct shadow *sh, uint32_t idx, uint64_t gframe);
void spage_put(struct shadow *sh, uint32_t idx);
void spage_ref(struct shadow *sh, uint32_t idx);

/* derive.c: a new shadow page from an old one for a new guest table */
uint32_t rederive(struct shadow *sh, uint32_t old, unsigned level, uint64_t gtable, struct resv *r);

/* as.c */
int as_get(struct shadow *sh, unsigned cpu, uint32_t handle, struct as **out);
int as_lookup(struct shadow *sh, uint32_t handle, struct as **out);
void as_unlock(struct as *as);
int as_claim(struct shadow *sh, struct as **out);
void as_unclaim(struct as *as);
uint32_t as_publish(struct shadow *sh, struct as *as, uint64_t guest_root, uint32_t root);
uint32_t as_new_root(struct shadow *sh, struct resv *r);
void as_teardown_all(struct shadow *sh);
bool as_loaded_here(const struct as *as);

/* kernel.c */
int kmirror_get(struct shadow *sh, uint64_t guest_root);
void kmirror_ref(struct shadow *sh);
bool kmirror_tryref(struct shadow *sh);
void kmirror_put(struct shadow *sh);
uint64_t kmirror_link(const struct shadow *sh);
uint64_t kmirror_root(const struct shadow *sh);

/* shadow.c: the race tests' seam (shadow_hook) */
void shadow_set_hook(struct shadow *sh, shadow_hook_fn *fn, void *arg);

#endif /* UMBRA_SHADOW_INTERNAL_H */
