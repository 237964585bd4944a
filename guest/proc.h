/*
 * Processes. A process is its saved user registers and its address space:
 * it has no kernel stack, because the kernel runs every system call and
 * fault to completion on the CPU's own stack (sched.c).
 */
#ifndef GUEST_PROC_H
#define GUEST_PROC_H

#include <stdatomic.h>
#include <stdint.h>

#include "paging.h"
#include "trap.h"

#define NPROC 1024

enum proc_state {
	P_UNUSED,
	P_RUNNABLE, /* running, or in the run queue, or being switched to */
	P_WAITING,  /* in wait(), for `wait_for` */
	P_ZOMBIE,   /* exited; its parent has not reaped it */
};

struct proc {
	/* proc_lock protects these: */
	enum proc_state state;
	int pid;
	struct proc *parent;   /* NULL: nobody will reap it */
	struct proc *children; /* first child, then ->sibling */
	struct proc *sibling;
	int wait_for;   /* P_WAITING: the pid awaited, -1 for any child */
	int64_t status; /* P_ZOMBIE: exit status */
	struct proc *next_free;

	/* runq_lock (sched.c) protects: */
	struct proc *next_run;

	/* 1 from the moment a CPU switches to the process until the CPU has
	 * stopped using its frame and address space (sched.c) */
	atomic_int on_cpu;

	/* The CPU running the process owns these (fork: the parent's CPU,
	 * until the child is runnable): */
	struct trapframe tf; /* user registers while not running */
	struct as as;
	uint64_t image_end; /* end of the program image (page aligned) */
	uint64_t brk;       /* heap end (sbrk) */
	uint64_t stack_lo;  /* lowest stack page ever mapped */
	int phase;          /* umbra phase while it runs */
	int last_cpu;       /* where it last ran, -1 if nowhere yet */
	uint64_t fault_va;  /* last hidden fault, and how often in a row */
	unsigned fault_repeat;
};

/* Builds the free list of the process table. Boot CPU, once. */
void proc_init(void);
/* Creates pid 1 running the user program with `cmdline` and makes it runnable. */
void proc_start_init(const char *cmdline);
/* fork() of c->cur, whose registers are *tf: the child's pid or -errno. */
int64_t proc_fork(struct cpu *c, struct trapframe *tf);
/* wait(pid): sets the results in *tf, or blocks (*tf then holds another process). */
void proc_wait(struct cpu *c, struct trapframe *tf, int pid);
/* Ends c->cur with `status`; *tf then holds another process. */
void proc_exit(struct cpu *c, struct trapframe *tf, int64_t status);
/* Prints why and ends c->cur with STATUS_KILLED. */
void proc_kill(struct cpu *c, struct trapframe *tf, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Kernel counters, printed when the guest ends (not deterministic:
 * copy-on-write reuse depends on which process writes first). */
struct kstats {
	atomic_ulong forks, exits, kills;
	atomic_ulong zero_fills, cow_copies, cow_reuses, hidden_faults;
	atomic_ulong migrations; /* a process ran on another CPU than last time */
};
extern struct kstats kstats;

#endif /* GUEST_PROC_H */
