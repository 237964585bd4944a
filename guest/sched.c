/* The scheduler (see sched.h). */
#include <stdatomic.h>

#include "sched.h"
#include "console.h"
#include "cpu.h"
#include "paging.h"
#include "platform.h"
#include "proc.h"
#include "spinlock.h"
#include "trap.h"
#include "x86.h"

/* runq_lock protects the queue and every proc's next_run. Innermost lock. */
static struct spinlock runq_lock = SPINLOCK_INIT("runq");
static struct proc *runq_head, *runq_tail;

static struct proc *dequeue(void)
{
	spin_lock(&runq_lock);
	struct proc *p = runq_head;
	if (p) {
		runq_head = p->next_run;
		if (!runq_head)
			runq_tail = 0;
		p->next_run = 0;
	}
	spin_unlock(&runq_lock);
	return p;
}

void sched_enqueue(struct proc *p)
{
	spin_lock(&runq_lock);
	p->next_run = 0;
	if (runq_tail)
		runq_tail->next_run = p;
	else
		runq_head = p;
	runq_tail = p;
	spin_unlock(&runq_lock);
	struct cpu *me = mycpu();
	for (unsigned i = 0; i < ncpu; i++) {
		struct cpu *o = cpu_get(i);
		if (o != me && atomic_load(&o->idle) && atomic_exchange(&o->idle, 0)) {
			platform_kick(o);
			break;
		}
	}
}

/* Stops using prev on this CPU (its address space is no longer loaded). */
static void release(struct proc *prev)
{
	if (prev)
		atomic_store_explicit(&prev->on_cpu, 0, memory_order_release);
}

/*
 * Runs next on c in frame tf; prev (or NULL) is the process c leaves, its
 * registers saved. If next's last CPU is still leaving it, c first drops
 * prev (through the kernel root), so that two CPUs never wait for each
 * other.
 */
static void switch_to(struct cpu *c, struct proc *prev, struct proc *next, struct trapframe *tf)
{
	if (atomic_load_explicit(&next->on_cpu, memory_order_acquire)) {
		as_load(c, 0);
		release(prev);
		prev = 0;
		while (atomic_load_explicit(&next->on_cpu, memory_order_acquire))
			pause();
	}
	atomic_store_explicit(&next->on_cpu, 1, memory_order_relaxed);
	as_load(c, &next->as);
	release(prev);
	copy_qwords(tf, &next->tf, TRAPFRAME_QWORDS);
	c->cur = next;
	c->switches++;
	if (next->last_cpu >= 0 && next->last_cpu != (int)c->id)
		atomic_fetch_add(&kstats.migrations, 1);
	next->last_cpu = (int)c->id;
	platform_phase(c, next->phase);
}

/* Waits for a runnable process; c runs none and has the kernel root loaded. */
static void idle(struct cpu *c, struct trapframe *tf)
{
	platform_phase(c, UMBRA_PHASE_IDLE);
	struct proc *next;
	for (;;) {
		next = dequeue();
		if (next)
			break;
		atomic_store(&c->idle, 1);
		next = dequeue(); /* an enqueue before the store saw no idle CPU */
		if (next) {
			atomic_store(&c->idle, 0);
			break;
		}
		platform_idle(c);
		atomic_store(&c->idle, 0);
	}
	switch_to(c, 0, next, tf);
}

void sched_yield(struct cpu *c, struct trapframe *tf)
{
	struct proc *p = c->cur;
	struct proc *next = dequeue();
	if (!next)
		return;
	copy_qwords(&p->tf, tf, TRAPFRAME_QWORDS);
	sched_enqueue(p);
	switch_to(c, p, next, tf);
}

void sched_leave(struct cpu *c, struct trapframe *tf, struct proc *prev)
{
	struct proc *next = dequeue();
	if (next) {
		switch_to(c, prev, next, tf);
		return;
	}
	c->cur = 0;
	as_load(c, 0);
	release(prev);
	idle(c, tf);
}

void sched_idle(struct trapframe *tf)
{
	struct cpu *c = mycpu();
	c->cur = 0;
	idle(c, tf);
}
