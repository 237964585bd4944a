/*
 * Exit accounting. Each vCPU charges its user-space exits, hypercalls,
 * flushes, time, KVM vCPU statistics and the shadow library's counters of
 * its own calls to its current phase (UMBRA_HC_PHASE); VM-wide values
 * (KVM's VM statistics, the shadow pool's gauges) are charged, at every
 * phase change of any vCPU, to the phase that vCPU leaves. docs/stats.md
 * describes the report.
 */
#ifndef UMBRA_VMM_STATS_H
#define UMBRA_VMM_STATS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <umbra/abi.h>

#include "counters.h"
#include "kvm_stats.h"

/* KVM_EXIT_* reasons counted by number; the last slot takes the others. */
#define EXIT_SLOTS 41u
#define EXIT_SLOT_OTHER (EXIT_SLOTS - 1)

/* Port I/O exits by what they were for. */
enum io_class {
	IO_HYPERCALL, /* UMBRA_HC_PORT */
	IO_COM1_DATA, /* 16550 data register writes */
	IO_COM1_LSR,  /* 16550 line status reads */
	IO_UNHANDLED, /* any other access; stops the guest */
	IO_CLASSES,
};

/* Hypercalls by number; the last slot takes numbers the ABI does not define. */
#define HC_SLOTS (UMBRA_HC_COUNT + 1u)
#define HC_SLOT_UNKNOWN UMBRA_HC_COUNT

/* What one vCPU did in one phase. */
struct phase_counters {
	uint64_t exits[EXIT_SLOTS];   /* user-space exits by KVM exit reason */
	uint64_t io[IO_CLASSES];      /* KVM_EXIT_IO by port */
	uint64_t hc_calls[HC_SLOTS];  /* hypercalls made */
	uint64_t hc_errors[HC_SLOTS]; /* ... that returned an error or were refused */
	uint64_t hc_ns[HC_SLOTS];     /* VMM time handling them (idle: parked), in ns */
	uint64_t hc_max_ns[HC_SLOTS]; /* ... the longest one call took: a cold first call shows */
	uint64_t flushes;             /* whole-VM flushes (dummy memslot): everything KVM cached */
	uint64_t flush_ns;            /* time spent in them, in nanoseconds */
	uint64_t frame_flushes;       /* single guest frames flushed (guest_mem__drop_cached) */
	uint64_t frame_flush_ns;      /* time spent in them, in nanoseconds */
	uint64_t tlb_flushes;         /* runs of the flush stub (whole TLB, or its pages) */
	uint64_t tlb_pages;           /* pages the stub invalidated one by one */
	uint64_t root_moves;          /* new roots loaded after a path copy (--flush copy) */
	uint64_t time_ns;             /* wall time spent in the phase, in nanoseconds */
	uint64_t longest_ns;          /* the longest single stay in the phase, in nanoseconds */
	uint64_t cpu_ns;              /* CPU time of the vCPU thread (guest and VMM), in ns */
	bool used;                    /* the vCPU entered this phase */
};

/* One vCPU's accounting; touched only by its own thread while it runs. */
struct vcpu_stats {
	unsigned phase;          /* current phase, 0..UMBRA_PHASE_COUNT-1 */
	uint64_t phase_start_ns; /* when it began, CLOCK_MONOTONIC */
	uint64_t phase_cpu_ns;   /* thread CPU time when it began */
	struct phase_counters phases[UMBRA_PHASE_COUNT];
	bool have_kvm; /* KVM's vCPU statistics are available */
	struct kvm_stats kvm;
	struct counter_track kvm_track;
	uint64_t *kvm_now; /* scratch for a snapshot */
	int cpu;           /* this vCPU's index, for the shadow source */
	/* The shadow library's counters of this vCPU's calls; group NULL in native mode. */
	struct counter_source shadow;
	struct counter_track shadow_track;
	uint64_t *shadow_now; /* scratch for a snapshot */
};

/* VM-wide accounting. */
struct vm_stats {
	/* Protects the tracks and scratch below. Taken with no other VMM lock
	 * held; the shadow library's read takes only its own. */
	pthread_mutex_t lock;
	bool have_kvm;
	struct kvm_stats kvm; /* KVM's VM statistics */
	struct counter_track kvm_track;
	struct counter_source shadow; /* the shadow pool's gauges; group NULL in native mode */
	struct counter_track shadow_track;
	uint64_t *scratch;         /* for a snapshot of either */
	uint64_t start_ns, end_ns; /* the guest's run, CLOCK_MONOTONIC */
	uint64_t user_ns, sys_ns;  /* the VMM process's CPU time at the end */
};

uint64_t stats__now_ns(void);

/*
 * vCPU accounting for vCPU cpu. kvm_fd is its KVM stats fd (taken over) or
 * negative; shadow is NULL or a source to read for cpu. Returns 0 or a
 * negative errno; on failure holds nothing.
 */
int vcpu_stats__init(struct vcpu_stats *s, int cpu, int kvm_fd,
		     const struct counter_source *shadow);
void vcpu_stats__release(struct vcpu_stats *s);
/* The vCPU starts running guest code: take the first snapshot, phase 0. */
void vcpu_stats__begin(struct vcpu_stats *s);
/* Charges time and counters to the current phase and moves to `phase`. */
void vcpu_stats__set_phase(struct vcpu_stats *s, unsigned phase);
/* The vCPU stopped: charges the current phase. */
void vcpu_stats__end(struct vcpu_stats *s);

/* Time spent flushing, of either kind, in nanoseconds. */
static inline uint64_t phase_counters__flush_ns(const struct phase_counters *pc)
{
	return pc->flush_ns + pc->frame_flush_ns;
}

static inline struct phase_counters *vcpu_stats__cur(struct vcpu_stats *s)
{
	return &s->phases[s->phase];
}

/* VM accounting. kvm_fd as above; shadow NULL or a source to read for the VM. */
int vm_stats__init(struct vm_stats *s, int kvm_fd, const struct counter_source *shadow);
void vm_stats__release(struct vm_stats *s);
/* Snapshots the VM-wide counters and charges the change to `phase`. Takes s->lock. */
void vm_stats__charge(struct vm_stats *s, unsigned phase);
/* Records the start and (with the process's CPU times) the end of the run. */
void vm_stats__begin(struct vm_stats *s);
void vm_stats__end(struct vm_stats *s);

#endif
