/*
 * The run's timeline (`umbra run --trace FILE`): each vCPU thread records
 * its phases, hypercalls, flushes and other user-space exits into a buffer
 * of its own, mapped and touched before the guest starts, so that nothing
 * on the exit path takes a lock, allocates or faults. A full buffer drops
 * what comes next and counts it; the guest never waits for the trace.
 * After the vCPU threads are joined, trace__write() turns the buffers into
 * Chrome trace-event JSON. docs/stats.md describes the file.
 *
 * The hooks below cost one test of a NULL pointer when tracing is off.
 */
#ifndef UMBRA_VMM_TRACE_H
#define UMBRA_VMM_TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct kvm_run;
struct mmu;
struct vcpu;
struct vcpu_stats;
struct vm;

#define TRACE_EVENTS_DEFAULT 65536u  /* records per vCPU buffer */
#define TRACE_EVENTS_MAX (16u << 20) /* ... at most: 1 GiB a vCPU */
#define TRACE_MMU_COUNTERS_MAX 64u   /* the shadow library's counters a snapshot holds */

enum trace_kind {
	TRACE_PHASE,        /* a phase of the vCPU, from its marker to the next */
	TRACE_HYPERCALL,    /* a hypercall, from the VMM's first look to its result */
	TRACE_FLUSH_VM,     /* the dummy-memslot flush of every cached translation */
	TRACE_FLUSH_FRAMES, /* single guest frames flushed (one record per batch) */
	TRACE_FLUSH_TLB,    /* the flush stub set up to run (its pages, or 0: all) */
	TRACE_EXIT,         /* a user-space exit that is not a hypercall (an instant) */
	TRACE_KINDS,
};

/* What a hypercall changed in the shadow library's counters of its vCPU. */
enum trace_shadow {
	TRACE_SHARES,   /* share_exclusive + share_shared + share_identity */
	TRACE_UNSHARES, /* unshare_copy + unshare_exclusive + unshare_follow */
	TRACE_FILLS,    /* fill_private + fill_shared */
	TRACE_ENTRIES,  /* shadow_entries_written */
	TRACE_SHADOW_DELTAS,
};
#define TRACE_DELTA_TERMS 3 /* counters summed into a delta, at most */

/* KVM's statistics of a vCPU, sampled at the end of each of its phases. */
enum trace_kvm {
	TRACE_KVM_EXITS, /* "exits": in-kernel ones included */
	TRACE_KVM_PF,    /* "pf_taken": page faults KVM took */
	TRACE_KVM_TLB,   /* "tlb_flush" */
	TRACE_KVM_SAMPLES,
};

#define TRACE_F_SHADOW 0x1u /* hypercall: the shadow deltas and pool use were read */
#define TRACE_F_WRITE 0x2u  /* exit: an out or an MMIO write */

struct trace_rec {
	uint64_t t0, t1; /* start and end, stats__now_ns() (an instant: t0 == t1) */
	uint16_t kind;   /* enum trace_kind */
	uint16_t flags;  /* TRACE_F_* */
	uint32_t what;   /* phase; hypercall number; frames flushed; KVM exit reason */
	int64_t value;   /* hypercall: its result; io exit: the port; mmio exit: the address */
	union {
		struct {
			uint32_t delta[TRACE_SHADOW_DELTAS];
			uint32_t pool_pages;     /* shadow pool pages in use after the call */
			uint32_t address_spaces; /* live address spaces after the call */
		} hc;
		uint64_t kvm[TRACE_KVM_SAMPLES]; /* phase: the counts since the vCPU started */
	} u;
};

/* One vCPU's buffer and recording state; touched only by its thread while it runs. */
struct trace_vcpu {
	struct trace_rec *rec; /* cap records */
	uint32_t cap, n;
	uint64_t dropped[TRACE_KINDS]; /* records that found the buffer full */
	uint64_t first_drop_ns;        /* when the first was dropped, or 0 */
	const struct trace *trace;
	const struct vcpu_stats *stats; /* the vCPU's accounting: its phase and KVM snapshot */
	unsigned cpu;
	bool ran;
	uint64_t start_ns; /* when it began running guest code */
	uint64_t phase_start_ns;
	int kvm_index[TRACE_KVM_SAMPLES]; /* of each sample in stats->kvm, or -1 */
	uint64_t kvm_base[TRACE_KVM_SAMPLES];
	bool snapped; /* shadow_before holds this hypercall's starting values */
	uint64_t shadow_before[TRACE_SHADOW_DELTAS];
};

struct trace {
	struct mmu *mmu; /* NULL with --paging native */
	uint32_t cap;    /* records per vCPU */
	/* Which of the shadow library's counters add up to each delta. */
	int shadow_index[TRACE_SHADOW_DELTAS][TRACE_DELTA_TERMS]; /* -1: none */
	int pool_index, as_index;                                 /* in mmu_gauges */
	uint32_t pool_pages0, address_spaces0;                    /* before the guest ran */
	unsigned nr_vcpus;
	struct trace_vcpu vcpu[];
};

/*
 * Sets up tracing for vm's vCPUs (created, with their accounting) and
 * points each vcpu->trace at its buffer. 0 or a negative errno; holds
 * nothing then.
 */
int trace__init(struct vm *vm, uint32_t events_per_vcpu);
void trace__release(struct trace *t);

/*
 * Writes the trace of vm's run to f, as Chrome trace-event JSON (after
 * vm__run(): every vCPU thread joined). Sorts each buffer by time on the
 * way. 0 or a negative errno.
 */
int trace__write(struct trace *t, const struct vm *vm, FILE *f);
/* Records dropped over all vCPUs. */
uint64_t trace__dropped(const struct trace *t);

/* The recording; called through the hooks below. */
void trace_vcpu__begin(struct trace_vcpu *t);
void trace_vcpu__end(struct trace_vcpu *t);
void trace_vcpu__hypercall_begin(struct trace_vcpu *t, uint32_t nr);
void trace_vcpu__hypercall_end(struct trace_vcpu *t, uint32_t nr, uint64_t t0, uint64_t t1,
			       int64_t ret);
void trace_vcpu__flush(struct trace_vcpu *t, enum trace_kind kind, uint64_t t0, unsigned n);
void trace_vcpu__exit(struct trace_vcpu *t, uint32_t reason, const struct kvm_run *run);

/* The vCPU starts running guest code (after vcpu_stats__begin), and stops (after _end). */
static inline void trace__vcpu_begin(struct trace_vcpu *t)
{
	if (t)
		trace_vcpu__begin(t);
}

static inline void trace__vcpu_end(struct trace_vcpu *t)
{
	if (t)
		trace_vcpu__end(t);
}

/* Before a hypercall is handled: the shadow counters it may change. */
static inline void trace__hypercall_begin(struct trace_vcpu *t, uint32_t nr)
{
	if (t)
		trace_vcpu__hypercall_begin(t, nr);
}

/* Hypercall nr took [t0, t1] and returned ret; a PHASE marker also ends a phase at t1. */
static inline void trace__hypercall_end(struct trace_vcpu *t, uint32_t nr, uint64_t t0, uint64_t t1,
					int64_t ret)
{
	if (t)
		trace_vcpu__hypercall_end(t, nr, t0, t1, ret);
}

/* A flush of `kind` (TRACE_FLUSH_VM, or TRACE_FLUSH_FRAMES of n frames) began at t0 and ends now. */
static inline void trace__flush(struct trace_vcpu *t, enum trace_kind kind, uint64_t t0, unsigned n)
{
	if (t)
		trace_vcpu__flush(t, kind, t0, n);
}

/* KVM_RUN returned for `reason`; hypercalls are left to the hypercall hooks. */
static inline void trace__exit(struct trace_vcpu *t, uint32_t reason, const struct kvm_run *run)
{
	if (t)
		trace_vcpu__exit(t, reason, run);
}

#endif
