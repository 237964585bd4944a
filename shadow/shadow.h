/*
 * shadow: umbra's shadow MMU as a library.
 *
 * It keeps, for each guest address space (a guest page-table root), the
 * page tables that the vCPU really walks, built from the guest's own tables,
 * and shares shadow leaf tables ("pmd pages", 512 entries, 2 MiB of virtual
 * space each) between address spaces with the refcount and unshare-on-write
 * protocol of the 2002 page-table-sharing thread. docs/shadow.md has the
 * protocol, its races and the invariants.
 *
 * No KVM, no threads of its own. Every function may be called from several
 * threads at once; each takes only the lock of the address space it works
 * on (and the pool's own lock to get or return pages). Functions return 0
 * or a non-negative result, or a negative errno value; none aborts on bad
 * input. Everything read from guest memory is untrusted.
 */
#ifndef UMBRA_SHADOW_H
#define UMBRA_SHADOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct shadow;

enum shadow_policy {
	SHADOW_SHARE, /* fork shares the parent's pmd pages (the protocol) */
	SHADOW_COPY,  /* fork copies every pmd page of the parent */
	SHADOW_LAZY,  /* fork gives the child an empty shadow, filled on faults */
};

struct shadow_config {
	void *mem;            /* host address of guest-physical mem_gpa */
	uint64_t mem_gpa;     /* guest-physical base of mem, 4 KiB aligned */
	uint64_t mem_size;    /* bytes of guest memory at mem, 4 KiB multiple */
	uint64_t pool_gpa;    /* shadow pool: 2 MiB aligned, inside mem */
	uint64_t pool_size;   /* bytes, 2 MiB multiple */
	unsigned kernel_slot; /* PML4 index of the kernel mapping shared by all */
	unsigned max_as;      /* address spaces alive at once, 1..65535 */
	unsigned max_cpus;    /* callers identify as cpu 0..max_cpus-1 */
	bool poison;          /* fill freed shadow pages with SHADOW_POISON */
	/*
	 * Deferred reuse: a freed page waits in limbo until shadow_flush_done()
	 * for a flush that began after the free says that every cached
	 * translation through it is gone. A freed page then needs no flush of
	 * its own. A VMM whose KVM caches guest page tables (shadow-paging KVM)
	 * must set this.
	 */
	bool defer_free;
	/*
	 * Called when an allocation finds the free list short but pages in
	 * limbo, with the caller's address-space lock held (in
	 * shadow_as_create, the kernel-mirror lock instead) and no other lock
	 * of the library: it must flush (shadow_flush_begin, flush, _done)
	 * and return 0, or return a negative errno. May be NULL.
	 */
	int (*flush)(void *flush_arg);
	void *flush_arg;
	/*
	 * The VMM can drop the translations cached for one guest frame
	 * (shadow_flush_frames): a leaf entry narrowed in the address space
	 * loaded on the calling vCPU is then handed to it by frame instead of
	 * advancing the flush generation.
	 */
	bool frame_flush;
};

/* Poison pattern of freed pages: present, with reserved bits 51:48 set, so a
 * stale walk through a freed page takes a reserved-bit #PF. */
#define SHADOW_POISON 0x000f0000dead0001ull

/* Creates the library state; *out on success. Zeroes the pool. */
int shadow_create(const struct shadow_config *cfg, struct shadow **out);
/* Destroys every remaining address space and frees the state. */
void shadow_destroy(struct shadow *sh);

/*
 * Address spaces. A handle is an opaque non-zero value; a destroyed handle
 * is refused (-EBADF), not mistaken for a later address space.
 *
 * `cpu` is the caller's vCPU. An address space is "loaded" on at most one
 * vCPU (shadow_switch); every operation on it from another vCPU fails with
 * -EBUSY. This is the rule that lets a changed entry be flushed by the one
 * vCPU that may have cached it (docs/shadow.md, "TLBs and freed pages").
 * A cpu out of range is -EINVAL.
 *
 * Create: -EINVAL/-EFAULT for a bad root. The first address space builds
 * the kernel-slot mirror from its root; later ones must carry the same
 * kernel-slot entry (modulo A and D), else -EINVAL. -ENOSPC if max_as are
 * alive; -ENOMEM with nothing changed.
 */
int shadow_as_create(struct shadow *sh, unsigned cpu, uint64_t guest_root, uint32_t *handle);
/* Fails with -EBUSY while the address space is loaded on any vCPU. */
int shadow_as_destroy(struct shadow *sh, unsigned cpu, uint32_t handle);

/*
 * Fork: the guest has made child_root's tables an exact copy of the
 * parent's (user slots; the kernel slot entry identical), except that a
 * user-writable leaf may already be read-only in the child. Under the
 * parent's lock this checks that claim (-EINVAL, nothing changed, if
 * false), clears W on every user-writable leaf entry in both guest tables
 * (copy-on-write), and gives the child a shadow by `policy`.
 * All pages needed are reserved first: on -ENOMEM nothing has changed.
 * The check is of shape, not of every frame (a leaf's frame is checked
 * when it is filled): equal entries, tables in RAM, no user table page
 * twice in the two trees, no child leaf that maps one of the child's own
 * tables (-ELOOP). -ENOSPC if max_as are alive.
 */
int shadow_as_fork(struct shadow *sh, unsigned cpu, uint32_t parent, uint64_t child_root,
		   enum shadow_policy policy, uint32_t *child);

/*
 * Loads `handle` (or 0: the root that maps only the kernel slot) on `cpu`
 * and unloads what was loaded there; *root_gpa is the shadow root to put in
 * CR3. -EBUSY if the address space is loaded on another vCPU; -ENOENT for
 * handle 0 before any address space exists (there is no mirror yet).
 */
int shadow_switch(struct shadow *sh, unsigned cpu, uint32_t handle, uint64_t *root_gpa);
/*
 * Loads nothing on `cpu` (a vCPU that stops). The kernel-only root keeps
 * the kernel mirror alive while it is loaded somewhere, so a VMM that
 * wants shadow_pool_full() after destroying everything unloads first.
 */
int shadow_unload(struct shadow *sh, unsigned cpu);

/* Access bits of a fault (the x86 #PF error code's W, U, I/D bits). */
#define SHADOW_ACCESS_WRITE 0x2u
#define SHADOW_ACCESS_USER 0x4u
#define SHADOW_ACCESS_FETCH 0x10u

enum shadow_fault_result {
	SHADOW_FAULT_FILLED,   /* hidden fault: the shadow now allows it */
	SHADOW_FAULT_GUEST,    /* the guest's tables refuse it: the guest's own fault */
	SHADOW_FAULT_SPURIOUS, /* the shadow already allowed it */
};

/*
 * A fault at `va` with `access`: walks the guest tables itself (it never
 * takes the guest's word), and fills the shadow if they allow the access.
 * Sets A (and D on a write) in the guest entry it fills from. Returns an
 * enum shadow_fault_result or a negative errno: a malformed guest entry on
 * the walk (as shadow_walk_guest), -ENOMEM (nothing changed). Faults in
 * the kernel slot are never filled (the mirror is whole): SPURIOUS or
 * GUEST.
 */
int shadow_fault(struct shadow *sh, unsigned cpu, uint32_t handle, uint64_t va, unsigned access);

/* One guest table update; the same meaning as struct umbra_pt_update. */
struct shadow_update {
	uint64_t va;
	uint64_t value;
	unsigned level;    /* 1 = PT, 2 = PD, 3 = PDPT, 4 = PML4 */
	uint32_t reserved; /* must be 0 (umbra_pt_update.reserved) */
};
#define SHADOW_UPDATE_MAX 512u

/*
 * Applies updates in order, each one whole or not at all (validated and
 * its pages reserved before anything changes). Returns how many were
 * applied; if fewer than n, *first_error (if not NULL) is the negative
 * errno of update [return value]. -E2BIG if n > SHADOW_UPDATE_MAX,
 * -EBADF/-EBUSY for the handle (then nothing is applied).
 * Per update: -EINVAL a bad level, reserved field or non-canonical va, or
 * a new value with a reserved PS bit, a 1 GiB page or a misaligned 2 MiB
 * frame; -EPERM the kernel slot; -ENOENT a table above the entry missing
 * (-EINVAL if a 2 MiB page stands there); -EFAULT/-ELOOP a new value that
 * points outside RAM or into the pool, or at a table of its own walk;
 * -ENOMEM no page for the unshare. Level 1 unshares a write-protected pmd
 * page first; levels 2-4 drop the shadow under the entry.
 */
int shadow_update(struct shadow *sh, unsigned cpu, uint32_t handle,
		  const struct shadow_update *updates, size_t n, int *first_error);

/* What the shadow of `handle` maps `va` to now (the vCPU's view). */
struct shadow_translation {
	uint64_t gpa;  /* of the byte at va */
	bool writable; /* the effective W of the whole walk */
	bool user;
	bool exec;
};
/* 0 and *t, or -ENOENT if the shadow does not map va. */
int shadow_translate(struct shadow *sh, uint32_t handle, uint64_t va, struct shadow_translation *t);

/* The guest's own view: a walk of the tables under guest_root. */
struct shadow_walk {
	uint64_t gpa;   /* of the byte at va, when present */
	unsigned level; /* 1: 4 KiB leaf, 2: 2 MiB leaf; when not present, the level that was not */
	bool present;
	bool writable, user, exec; /* effective over all levels */
	bool accessed, dirty;      /* of the leaf entry */
};
/* 0 and *w (present or not), or a negative errno for a malformed table:
 * -EFAULT an entry points outside RAM or into the pool, -ELOOP at a table
 * of its own walk (a user leaf too: it would let the guest write its
 * tables), -EINVAL a misaligned root, a PS bit in a PML4 entry, a 1 GiB
 * page, a misaligned 2 MiB frame, a non-canonical va. */
int shadow_walk_guest(struct shadow *sh, uint64_t guest_root, uint64_t va, struct shadow_walk *w);

/* The reference count of the pmd page that maps va in `handle`'s shadow, or
 * -ENOENT if there is none (for tests and reports). */
int shadow_pmd_count(struct shadow *sh, uint32_t handle, uint64_t va);

/*
 * TLBs and freed pages. Every change that removes, re-points or narrows a
 * shadow entry a vCPU may have cached advances the flush generation. A
 * vCPU must not re-enter the guest after a call that advanced it, or after
 * a shadow_switch() to an address space with shadow_as_flush_needed(),
 * until it has flushed:
 * ticket = shadow_flush_begin(), flush (KVM-wide where KVM caches guest
 * tables), shadow_flush_done(ticket). Another vCPU's change concerns only
 * the address space loaded there, which that vCPU flushes. Done also
 * releases the limbo pages freed before the flush began.
 */
struct shadow_flush_ticket {
	uint64_t gen; /* the generation the flush covers */
	uint64_t seq; /* its number among the flushes begun */
};
uint64_t shadow_flush_generation(struct shadow *sh);
bool shadow_flush_needed(struct shadow *sh);
/* Whether `handle` (0: the kernel-only root) has a change that no finished
 * flush covers: what a vCPU that loads it must know. */
bool shadow_as_flush_needed(struct shadow *sh, uint32_t handle);
struct shadow_flush_ticket shadow_flush_begin(struct shadow *sh);
void shadow_flush_done(struct shadow *sh, struct shadow_flush_ticket ticket);

/*
 * With cfg.frame_flush: the guest frames whose cached translations `cpu`
 * must drop before it re-enters the guest, because its calls narrowed a
 * leaf that mapped them in the address space loaded on it. Moves up to
 * SHADOW_FRAME_FLUSH_MAX of them (guest-physical addresses) to frames and
 * returns how many; the list is then empty. A call that would have listed
 * more advances the flush generation instead, so a full flush covers them.
 */
#define SHADOW_FRAME_FLUSH_MAX 64u
unsigned shadow_flush_frames(struct shadow *sh, unsigned cpu, uint64_t *frames);

/* Counters: monotonic except the *_now fields. */
struct shadow_stats {
	uint64_t share_exclusive;   /* fork shared a page whose count was 1: write-protect, flush */
	uint64_t share_shared;      /* fork shared a page whose count was > 1: increment only */
	uint64_t unshare_copy;      /* count > 1: copied the page */
	uint64_t unshare_exclusive; /* count == 1: writable again in place */
	uint64_t unshare_copy_last; /* copied, then found its decrement was the last */
	uint64_t pmd_freed;         /* pmd pages freed at count zero */
	uint64_t pmd_copied;        /* pmd pages a copy-policy fork copied */
	uint64_t fill_private;      /* hidden faults filled in an unshared page */
	uint64_t fill_shared;       /* ... in a shared page, by compare-and-swap */
	uint64_t fill_raced;        /* compare-and-swap lost to another filler */
	uint64_t fault_guest;       /* faults that were the guest's own */
	uint64_t fault_spurious;
	uint64_t updates; /* guest table updates applied */
	uint64_t forks_share, forks_copy, forks_lazy;
	uint64_t shadow_entries_written; /* stores into shadow tables */
	uint64_t guest_entries_written;  /* stores into guest tables (updates, fork, A/D) */
	uint64_t pages_allocated, pages_freed;
	uint64_t pages_now, pages_peak; /* pool pages in use (limbo counts as in use) */
	uint64_t flushes;               /* shadow_flush_done calls */
	uint64_t alloc_failures;
	uint64_t address_spaces_now;
};
void shadow_stats_read(struct shadow *sh, struct shadow_stats *out);
/*
 * The same counters, charged to the vCPU whose call did the work (the
 * `cpu` argument; the flush counter to the vCPU that last made a call on
 * the flushing thread). The gauges pages_now, pages_peak and
 * address_spaces_now are global only and read 0 here. -EINVAL for a cpu
 * out of range.
 */
int shadow_stats_read_cpu(struct shadow *sh, unsigned cpu, struct shadow_stats *out);

/*
 * The invariant checker. Call it only while no other call is running on
 * `sh` (the VMM pauses its vCPUs first). Checks: every live pmd page's
 * count equals the number of shadow pmd entries pointing at it; every guest
 * frame's map count equals the number of present entries in live pmd pages
 * that map it; no page is both free and referenced, none is lost; a page
 * with count > 1 is read-only in every entry that points at it; every
 * address space's shadow maps nothing its own guest tables do not allow
 * (`sound`: costs a guest walk per present entry). Returns 0, or -EUCLEAN
 * with the first violation described in why.
 */
int shadow_check(struct shadow *sh, bool sound, char *why, size_t why_len);

/*
 * shadow_check()'s soundness check for one address space, safe while other
 * calls run (it takes that address space's lock), plus: a writable PD
 * entry points at a pmd page of count 1. 0, -EBADF, or -EUCLEAN and why.
 */
int shadow_check_as(struct shadow *sh, uint32_t handle, char *why, size_t why_len);

/* True when every pool page is free or in limbo (all address spaces gone). */
bool shadow_pool_full(struct shadow *sh);

#endif /* UMBRA_SHADOW_H */
