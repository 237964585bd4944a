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

/*
 * How a change to a shadow entry that a vCPU may have cached reaches it
 * (docs/architecture.md, "Flushes"). Filling an empty entry or widening
 * one never needs anything: the vCPU re-walks on its own fault.
 */
enum shadow_flush_mode {
	/*
	 * Changes in place, and any change to any address space asks for a
	 * whole-VM flush (the fallback, and the first version's behaviour).
	 */
	SHADOW_FLUSH_GLOBAL,
	/*
	 * The CPU walks the shadow itself (KVM with EPT/NPT): changes are made
	 * in place, and the vCPU that has the changed address space loaded
	 * flushes its own TLB before it runs again (the VAs of narrowed
	 * leaves, or everything after an upper-level change). No other vCPU
	 * can have cached it, and a freed page is reusable at once.
	 */
	SHADOW_FLUSH_TLB,
	/*
	 * KVM shadows our shadow (kvm_pvm, npt=0, ept=0) and caches its pages
	 * by guest frame for every vCPU: an upper-level page is never changed
	 * in place once a vCPU may have walked it; the path from the root to
	 * it is copied to fresh pages instead and the root moves. A narrowed
	 * leaf is listed by the frame it mapped (the VMM drops what KVM
	 * cached for that frame). Freed pages wait for a whole-VM flush
	 * (set defer_free).
	 */
	SHADOW_FLUSH_COPY,
};

struct shadow_config {
	void *mem;            /* host address of guest-physical mem_gpa */
	uint64_t mem_gpa;     /* guest-physical base of mem, 4 KiB aligned */
	uint64_t mem_size;    /* bytes of guest memory at mem, 4 KiB multiple */
	uint64_t pool_gpa;    /* shadow pool: 2 MiB aligned, inside mem */
	uint64_t pool_size;   /* bytes, 2 MiB multiple */
	unsigned kernel_slot; /* PML4 index of the kernel mapping shared by all */
	/*
	 * A PML4 slot that the VMM fills itself (its flush stub): every
	 * shadow root gets fixed_entry there; the guest cannot update the
	 * slot. fixed_entry 0: none.
	 */
	unsigned fixed_slot;
	uint64_t fixed_entry;
	unsigned max_as;   /* address spaces alive at once, 1..65535 */
	unsigned max_cpus; /* callers identify as cpu 0..max_cpus-1 */
	bool poison;       /* fill freed shadow pages with SHADOW_POISON */
	enum shadow_flush_mode flush_mode;
	/*
	 * Deferred reuse: a freed page waits in limbo until shadow_flush_done()
	 * for a flush that began after the free says that every cached
	 * translation through it is gone. Needed where KVM caches our pages by
	 * frame (SHADOW_FLUSH_COPY, SHADOW_FLUSH_GLOBAL).
	 */
	bool defer_free;
	/*
	 * Called when an allocation finds the free list short but pages in
	 * limbo, with the caller's address-space lock held (in
	 * shadow_as_create, no lock at all) and no other lock of the library: it must flush (shadow_flush_begin, flush, _done)
	 * and return 0, or return a negative errno. May be NULL.
	 */
	int (*flush)(void *flush_arg);
	void *flush_arg;
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
 * Create: -EINVAL/-EFAULT for a bad root; -EEXIST if the root is a page
 * table already (another address space's, or one linked below one);
 * -EACCES if a user leaf maps it. The first address space builds the
 * kernel-slot mirror from its root; later ones must carry the same
 * kernel-slot entry (modulo A and D), else -EINVAL. -ENOSPC if max_as are
 * alive; -ENOMEM with nothing changed.
 *
 * Table ownership (docs/architecture.md, "Page-table ownership"): a guest
 * frame is a page table at one level, linked once, or linked several times
 * only as a table the guest shares (every extra link read-only); or it is
 * data. A user leaf never maps a page table, and a page that a user leaf
 * maps never becomes one. Linking a frame that is a table elsewhere is
 * -EEXIST, crossing tables and leaves -EACCES; changing an entry of a
 * table that is shared is -ETXTBSY (unshare it first).
 */
int shadow_as_create(struct shadow *sh, unsigned cpu, uint64_t guest_root, uint32_t *handle);
/* Fails with -EBUSY while the address space is loaded on any vCPU. */
int shadow_as_destroy(struct shadow *sh, unsigned cpu, uint32_t handle);

/*
 * Fork (docs/architecture.md, "The fork contract"): the guest has made
 * child_root's user tables mirror the parent's: every entry present in a
 * parent table is present in the child's with the same flags modulo A, D
 * and W, and either points at the same table page (the guest shares that
 * table: a PD entry pointing at a PT, or a PDPT entry pointing at a PD),
 * or at a fresh child-private copy to which the same rule applies, or is
 * a leaf equal to the parent's (W possibly already cleared in the child);
 * the kernel slot entry is identical. Under the parent's lock this checks
 * that claim (-EINVAL, nothing changed, if false), clears W in both trees
 * on the links to shared tables and on every user-writable leaf of the
 * private copies (copy-on-write), and gives the child a shadow by
 * `policy`. The work is O(entries of the private copies).
 * All pages needed are reserved first: on -ENOMEM nothing has changed.
 * The check is of shape, not of every frame (a leaf's frame is checked
 * when it is filled): equal entries, tables in RAM, private copies that
 * are no page table yet (-EEXIST) and appear once in the two trees, no
 * child leaf that maps one of the child's own tables (-ELOOP), no shared
 * table under a table that is itself shared, no private table of the
 * parent's that copy-on-write would write while another address space's
 * shadow is built from it (-ETXTBSY). -ENOSPC if max_as
 * are alive.
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
	unsigned level; /* 1 = PT, 2 = PD, 3 = PDPT, 4 = PML4 */
	uint32_t flags; /* SHADOW_UPDATE_* (umbra_pt_update.flags) */
};
/* Level 2 or 3, a present table entry: after setting it, clear W in every
 * present entry of the table it points at (the in-place unshare's
 * write-protect of what copies share now, in one update). */
#define SHADOW_UPDATE_WP_BELOW 0x1u
#define SHADOW_UPDATE_MAX 512u

/*
 * Applies updates in order, each one whole or not at all (validated and
 * its pages reserved before anything changes). Returns how many were
 * applied; if fewer than n, *first_error (if not NULL) is the negative
 * errno of update [return value]. -E2BIG if n > SHADOW_UPDATE_MAX,
 * -EBADF/-EBUSY for the handle (then nothing is applied).
 * Per update: -EINVAL a bad level, flag or non-canonical va, or a new
 * value with a reserved PS bit, a 1 GiB page or a misaligned 2 MiB frame;
 * -EPERM the kernel or fixed slot; -ENOENT a table above the entry missing
 * (-EINVAL if a 2 MiB page stands there); -EFAULT/-ELOOP a new value that
 * points outside RAM or into the pool, or at a table of its own walk;
 * -ETXTBSY the entry's table is shared, or another address space's shadow
 * is built from it (this one's walk reaches it without a link of its own),
 * or the new value widens a link to a shared table; -EEXIST a new link to a frame that is a page table
 * already; -EACCES a leaf that maps a page table, or a link to a page that
 * a leaf maps; -ENOMEM no page for the unshare. Level 1 unshares a
 * write-protected pmd page first; a new link at levels 2-4 takes the
 * shadow it can keep from the old one (the guest's unshare: entries that
 * map the same frames), the flags of a link follow the guest's.
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
 * TLBs and freed pages (docs/architecture.md, "Flushes"). After each call
 * from `cpu`, and before that vCPU re-enters the guest, the VMM takes what
 * its calls changed that a vCPU may have cached, and acts on it by the
 * mode (enum shadow_flush_mode). The record accumulates until taken.
 */
#define SHADOW_FLUSH_MAX 64u
struct shadow_flush {
	/*
	 * TLB: an upper-level entry of the address space loaded on this vCPU
	 * changed, or more leaves than fit below: flush its whole TLB.
	 * GLOBAL: something changed: flush every cached translation, VM-wide.
	 * COPY: more narrowed leaves than fit below: flush VM-wide.
	 */
	bool all;
	/* COPY: the address space loaded on this vCPU has a new root (its
	 * path was copied): load root_gpa into CR3 before re-entry. */
	bool root_moved;
	uint64_t root_gpa;
	unsigned n;                       /* narrowed leaves listed */
	uint64_t va[SHADOW_FLUSH_MAX];    /* TLB: their virtual addresses */
	uint64_t frame[SHADOW_FLUSH_MAX]; /* COPY: the frames they mapped */
};
/* Moves cpu's record to *out (zeroed if cpu is out of range) and clears it. */
void shadow_flush_take(struct shadow *sh, unsigned cpu, struct shadow_flush *out);

/*
 * A whole-VM flush, for the limbo: ticket = shadow_flush_begin(), the
 * flush, shadow_flush_done(ticket), which returns to the free list the
 * pages freed before the flush began.
 */
struct shadow_flush_ticket {
	uint64_t seq; /* its number among the flushes begun */
};
struct shadow_flush_ticket shadow_flush_begin(struct shadow *sh);
void shadow_flush_done(struct shadow *sh, struct shadow_flush_ticket ticket);

/*
 * The shadow is corrupt: a value read back from the pool that the library
 * never wrote (which only a guest that can write the pool could cause),
 * or counts that cannot be. Every call that changes the shadow (create,
 * destroy, fork, fault, update, switch) fails with -EUCLEAN from then on;
 * unload, the flush calls and the inspection calls (translate, pmd_count,
 * the checkers) still run, bounds-checked, so that the VMM can stop and
 * tear down cleanly. This says why (NULL while all is well).
 */
const char *shadow_broken(struct shadow *sh);

/* Counters: monotonic except the *_now fields. */
struct shadow_stats {
	uint64_t share_exclusive; /* fork shared a copy's page whose count was 1: write-protect */
	uint64_t share_shared;   /* fork shared a copy's page whose count was > 1: increment only */
	uint64_t share_identity; /* fork shared the page of a table the guest shares */
	uint64_t unshare_copy;   /* count > 1: copied the page */
	uint64_t unshare_exclusive; /* count == 1: writable again in place */
	uint64_t unshare_copy_last; /* copied, then found its decrement was the last */
	uint64_t unshare_follow;    /* the guest's unshare: a new page derived for its copy */
	uint64_t relink_widened;    /* the guest's in-place unshare: its link gained W over the
				     * same table, and so did ours, over the same page */
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
	uint64_t path_copies; /* upper pages copied instead of changed (SHADOW_FLUSH_COPY) */
	uint64_t pages_now, pages_peak; /* pool pages in use (limbo counts as in use) */
	uint64_t flushes;               /* shadow_flush_done calls */
	uint64_t alloc_failures;
	uint64_t ownership_refusals; /* calls refused for page-table ownership */
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
 * `sh` (the VMM pauses its vCPUs first). Checks: every live PD and pmd
 * page's count equals the number of shadow links pointing at it; every
 * guest frame's map count equals the number of present user leaves that
 * map it, and its link count the links to it as a table; no frame is both;
 * no page is both free and referenced, none is lost; a page shared by
 * copies (equality) is read-only in every link to it; every address
 * space's shadow maps nothing its own guest tables do not allow (`sound`:
 * costs a guest walk per present entry). Returns 0, or -EUCLEAN with the
 * first violation described in why (also when the shadow is broken).
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
