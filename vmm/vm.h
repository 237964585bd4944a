/*
 * The virtual machine: guest memory, KVM, the vCPUs, how the run ended.
 */
#ifndef UMBRA_VMM_VM_H
#define UMBRA_VMM_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "run_config.h"
#include "elf_load.h"
#include "guest_mem.h"
#include "kvm.h"
#include "kvm_kind.h"
#include "stats.h"

struct mmu;
struct trace;
struct vcpu;

/*
 * KVM memslots. RAM; the shadow pool above it, read-only to the guest
 * where KVM can (the guest must not write the tables its vCPUs walk); the
 * flush stub's code (read-only) and data (vmm/stub.h); then one dummy slot
 * per vCPU for the whole-VM flush (vmm/flush.h). Above RAM and pool:
 * the stub's code at +0, its data at +2 MiB, the dummy pages at +4 MiB.
 */
enum {
	SLOT_RAM,
	SLOT_POOL,
	SLOT_STUB_CODE,
	SLOT_STUB_DATA,
	SLOT_FLUSH0,
};
#define VM_STUB_CODE_OFFSET 0
#define VM_STUB_DATA_OFFSET SZ_2M
#define VM_FLUSH_OFFSET (2 * SZ_2M)

/* How a run ended; the first reason recorded wins. */
enum stop_reason {
	STOP_NONE,
	STOP_EXIT,         /* UMBRA_HC_EXIT; status is the guest's */
	STOP_PANIC,        /* UMBRA_HC_PANIC */
	STOP_GUEST_ERROR,  /* the guest did what umbra does not emulate (a port, MMIO, ...) */
	STOP_TRIPLE_FAULT, /* KVM_EXIT_SHUTDOWN */
	STOP_TIMEOUT,      /* --timeout expired */
	STOP_SIGNAL,       /* SIGINT or SIGTERM; status is the signal number */
	STOP_VMM_ERROR,    /* a KVM call failed, or --check found a broken invariant */
};

/* umbra's exit codes besides the guest's own status (docs/umbra.1). */
#define EXIT_GUEST_STATUS_MAX 123 /* a guest status above this exits with it */
#define EXIT_TIMEOUT 124
#define EXIT_VMM_ERROR 125
#define EXIT_GUEST_ERROR 126 /* panic, unemulated port or MMIO, KVM internal error, all halted */
#define EXIT_TRIPLE_FAULT 127
#define EXIT_SIGNAL_BASE 128 /* + the signal number */

struct vm_result {
	enum stop_reason reason;
	uint64_t status;    /* STOP_EXIT: the guest's status; STOP_SIGNAL: the signal */
	int vcpu;           /* the vCPU that stopped the guest, or -1 */
	char message[1024]; /* what happened, for the report */
};

struct vm {
	const struct run_config *cfg;
	struct guest_mem mem;
	struct kvm kvm;
	unsigned nr_vcpus;
	struct vcpu *vcpus;        /* nr_vcpus of them */
	struct mmu *mmu;           /* the shadow MMU; NULL with --paging native */
	struct kvm_kind_info kind; /* the KVM umbra runs on */
	enum flush_mode flush;     /* --flush, with auto resolved for the kind */
	struct trace *trace;       /* the --trace buffers; NULL: not tracing */
	uint64_t start_ns;         /* when the boot vCPU first ran (UMBRA_HC_CLOCK's zero) */
	int stop_fd;               /* eventfd, signalled once when the guest stops */
	struct vm_stats stats;
	/* After the run, in the shadow modes: */
	bool pool_full; /* every pool page free again: the guest destroyed all it made */

	/*
	 * lock protects the run state below and each vCPU's run state
	 * (struct vcpu, "vm->lock protects"). It is a leaf lock: nothing is
	 * taken while holding it, and no KVM call or guest-memory access is
	 * made under it. cond is broadcast when stopping, pause_owner or
	 * active change.
	 */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping;
	struct vm_result result;
	struct vcpu *pause_owner; /* the vCPU that has the others paused, or NULL */
	unsigned active;          /* vCPU threads running or handling an exit (not parked) */
	unsigned started;         /* vCPUs started and not done */
	unsigned halted;          /* vCPUs parked in HLT (no timeout) */
};

/*
 * Builds the VM for cfg around the checked image: memory (image and boot
 * information loaded), KVM, vCPUs in their boot state, statistics.
 * Returns 0, or a negative errno after printing why; holds nothing then.
 */
int vm__init(struct vm *vm, const struct run_config *cfg, const struct elf_image *img,
	     struct guest_mem *mem);
void vm__release(struct vm *vm);

/*
 * Runs the guest until it stops: from the boot vCPU's first instruction to
 * UMBRA_HC_EXIT, an error, the timeout or SIGINT/SIGTERM, which the caller
 * has blocked and hands over as the signalfd sig_fd. 0 or a negative errno
 * if the vCPU threads could not be started.
 */
int vm__run(struct vm *vm, int sig_fd);

/*
 * A VMM error found after the stop (the end-of-run invariant check): the run
 * becomes a VMM error whatever the guest did, and the finding is added to
 * the message after "; ". The first stop's message and vCPU are kept, so
 * that an invariant first broken at a phase marker is reported there.
 */
void vm_result__add_error(struct vm_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The process exit code for a result. */
int vm__exit_code(const struct vm_result *r);
/* A short name for a stop reason: "exit", "panic", ... */
const char *vm__stop_name(enum stop_reason reason);

/* Records why the guest stops (if it is the first reason) and makes every
 * vCPU leave the guest and its thread. Any thread may call it. */
void vm__stop(struct vm *vm, int vcpu, enum stop_reason reason, uint64_t status, const char *fmt,
	      ...) __attribute__((format(printf, 5, 6)));

#endif
