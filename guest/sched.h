/*
 * The scheduler: one run queue (FIFO, runq_lock) shared by all CPUs, so a
 * process runs wherever a CPU is free. Scheduling is cooperative: a
 * process runs until it yields, waits or exits (there is no timer
 * interrupt); see docs/guest.md.
 *
 * Switching: the running process's registers sit in the trap frame at the
 * top of the CPU's stack. To switch, the CPU saves them into proc->tf,
 * loads the next process's address space and copies its proc->tf into the
 * frame; returning from the trap resumes it. proc->on_cpu keeps a process
 * from running on a second CPU before the first has saved its registers
 * and loaded another address space (so that an address space is loaded on
 * one CPU at a time, as umbra's UMBRA_HC_AS_SWITCH requires).
 */
#ifndef GUEST_SCHED_H
#define GUEST_SCHED_H

struct cpu;
struct proc;
struct trapframe;

/* Makes p (P_RUNNABLE) run soon, waking an idle CPU. Takes runq_lock, the
 * innermost lock. */
void sched_enqueue(struct proc *p);
/* c->cur gives way to the next runnable process, if any (*tf: its frame). */
void sched_yield(struct cpu *c, struct trapframe *tf);
/*
 * c->cur stops running: prev is c->cur if it is blocked (its registers
 * already in prev->tf), NULL if it is gone (its address space destroyed).
 * Runs the next process in *tf, idling until there is one.
 */
void sched_leave(struct cpu *c, struct trapframe *tf, struct proc *prev);
/* The idle loop (entered from cpu_run): returns with a process in *tf. */
void sched_idle(struct trapframe *tf);

#endif /* GUEST_SCHED_H */
