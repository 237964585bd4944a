/*
 * A vCPU: its KVM fd and kvm_run, its thread and run loop (the one exit
 * dispatcher), its accounting.
 */
#ifndef UMBRA_VMM_VCPU_H
#define UMBRA_VMM_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "exits.h"
#include "flush.h"
#include "stats.h"
#include "trace.h"

struct vm;

enum vcpu_state {
	VCPU_PARKED,  /* created, waiting for UMBRA_HC_CPU_START */
	VCPU_RUNNING, /* in the guest or handling an exit */
	VCPU_IDLE,    /* parked in UMBRA_HC_IDLE or HLT until kicked */
	VCPU_DONE,    /* its thread left the run loop */
};

/* UMBRA_HC_CPU_START's arguments, and the caller's descriptor tables. */
struct vcpu_start {
	uint64_t rip, rsp, cr3, arg;
	struct kvm_dtable gdt, idt;
};

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_created;
	struct flush_slot flush; /* this thread's dummy memslot */

	/* Touched only by the vCPU's own thread while it runs; by the main
	 * thread before it starts and after it is joined. */
	struct vcpu_stats stats;
	struct exit_log log;
	struct trace_vcpu *trace; /* its --trace buffer; NULL: not tracing */

	/* vm->lock protects these; cond (with vm->lock) wakes a parked vCPU. */
	enum vcpu_state state;
	bool kick_pending;    /* UMBRA_HC_KICK arrived; the next idle returns at once */
	bool start_requested; /* set once: vCPU 0 from the start, others by CPU_START */
	struct vcpu_start start;
	pthread_cond_t cond;
};

/* Signal that interrupts KVM_RUN in a vCPU thread. */
#define VCPU_KICK_SIGNAL SIGUSR1

/* Creates vCPU id of vm in KVM with its CPUID table and flush slot. 0 or -errno. */
int vcpu__init(struct vcpu *v, struct vm *vm, unsigned id);
void vcpu__release(struct vcpu *v);

/* Puts the boot vCPU in the PVH entry state. 0 or -errno. */
int vcpu__set_boot_state(struct vcpu *v, uint32_t entry, uint32_t start_info);

/* Starts the thread that runs v (parked until started unless it is vCPU 0). */
int vcpu__start_thread(struct vcpu *v);

/*
 * Makes v leave KVM_RUN soon: sets immediate_exit and signals its thread.
 * Call with vm->lock held.
 */
void vcpu__kick_out(struct vcpu *v);

/* The sync-regs copy of the registers, valid while handling an exit. */
static inline struct kvm_regs *vcpu__regs(struct vcpu *v)
{
	return &v->run->s.regs.regs;
}

static inline struct kvm_sregs *vcpu__sregs(struct vcpu *v)
{
	return &v->run->s.regs.sregs;
}

/* Marks the registers (or sregs) changed, for KVM to load at the next entry. */
static inline void vcpu__regs_dirty(struct vcpu *v)
{
	v->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
}

static inline void vcpu__sregs_dirty(struct vcpu *v)
{
	v->run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
}

#endif
