/* Processes: creation, fork, exit, wait, kill (see proc.h). */
#include <stdarg.h>

#include "proc.h"
#include "console.h"
#include "cpu.h"
#include "lib.h"
#include "mm.h"
#include "platform.h"
#include "ptshare.h"
#include "sched.h"
#include "spinlock.h"
#include "uapi.h"
#include "vm.h"
#include "x86.h"

/*
 * proc_lock protects the process table (the fields proc.h lists under it),
 * next_pid and live. Order: proc_lock, then runq_lock.
 */
static struct spinlock proc_lock = SPINLOCK_INIT("proc");
static struct proc procs[NPROC];
static struct proc *free_procs;
static int next_pid = 1;
static unsigned live; /* processes not P_UNUSED */

struct kstats kstats;

void proc_init(void)
{
	for (int i = NPROC - 1; i >= 0; i--) {
		procs[i].next_free = free_procs;
		free_procs = &procs[i];
	}
}

/* A P_UNUSED proc with a pid, or NULL if the table is full. */
static struct proc *proc_alloc(void)
{
	spin_lock(&proc_lock);
	struct proc *p = free_procs;
	if (p) {
		free_procs = p->next_free;
		p->pid = next_pid++;
		live++;
	}
	spin_unlock(&proc_lock);
	if (p) {
		p->parent = p->children = p->sibling = 0;
		p->state = P_UNUSED;
		p->fault_va = 0;
		p->fault_repeat = 0;
		p->last_cpu = -1;
		atomic_store(&p->on_cpu, 0);
	}
	return p;
}

/* Returns p to the free list. Caller holds proc_lock. */
static void proc_free(struct proc *p)
{
	if (!spin_holding(&proc_lock))
		panic("proc_free without proc_lock");
	p->state = P_UNUSED;
	p->next_free = free_procs;
	free_procs = p;
	live--;
}

void proc_start_init(const char *cmdline)
{
	struct proc *p = proc_alloc();
	if (!p || as_create(&p->as) < 0)
		panic("cannot create the first process");
	uint64_t entry, sp, arg;
	vm_load_user(p, cmdline, &entry, &sp, &arg);
	memset(&p->tf, 0, sizeof(p->tf));
	p->tf.rip = entry;
	p->tf.rsp = sp;
	p->tf.rdi = arg;
	p->tf.rsi = ncpu;
	p->tf.cs = SEL_UCODE;
	p->tf.ss = SEL_UDATA;
	p->tf.rflags = RFLAGS_RESERVED; /* interrupts stay off in user mode too */
	p->phase = UMBRA_PHASE_SETUP;
	p->state = P_RUNNABLE;
	sched_enqueue(p);
}

int64_t proc_fork(struct cpu *c, struct trapframe *tf)
{
	struct proc *p = c->cur;
	platform_phase(c, UMBRA_PHASE_FORK);
	struct proc *child = proc_alloc();
	int64_t ret = -EAGAIN;
	if (child) {
		struct vrange r[VM_RANGES];
		vm_ranges(p, r);
		int err = as_fork(&p->as, &child->as, r, VM_RANGES);
		if (err < 0) {
			spin_lock(&proc_lock);
			proc_free(child);
			spin_unlock(&proc_lock);
			ret = err;
		} else {
			copy_qwords(&child->tf, tf, TRAPFRAME_QWORDS);
			child->tf.rax = 0;
			child->image_end = p->image_end;
			child->brk = p->brk;
			child->stack_lo = p->stack_lo;
			child->phase = UMBRA_PHASE_CHILD;
			spin_lock(&proc_lock);
			child->parent = p;
			child->sibling = p->children;
			p->children = child;
			child->state = P_RUNNABLE;
			ret = child->pid;
			spin_unlock(&proc_lock);
			atomic_fetch_add(&kstats.forks, 1);
			sched_enqueue(child);
		}
	}
	platform_phase(c, p->phase);
	return ret;
}

/* Unlinks the zombie z from its parent's children and frees it; its pid
 * and status go to the caller. Caller holds proc_lock. */
static void reap(struct proc *parent, struct proc *z)
{
	struct proc **pp = &parent->children;
	while (*pp != z)
		pp = &(*pp)->sibling;
	*pp = z->sibling;
	proc_free(z);
}

static int wants(const struct proc *waiter, const struct proc *child)
{
	return waiter->wait_for == -1 || waiter->wait_for == child->pid;
}

void proc_wait(struct cpu *c, struct trapframe *tf, int pid)
{
	struct proc *p = c->cur;
	platform_phase(c, UMBRA_PHASE_EXIT_WAIT);
	spin_lock(&proc_lock);
	p->wait_for = pid;
	int found = 0;
	for (struct proc *ch = p->children; ch; ch = ch->sibling) {
		if (!wants(p, ch))
			continue;
		found = 1;
		if (ch->state == P_ZOMBIE) {
			tf->rax = (uint64_t)ch->pid;
			tf->rdx = (uint64_t)ch->status;
			reap(p, ch);
			spin_unlock(&proc_lock);
			platform_phase(c, p->phase);
			return;
		}
	}
	if (!found) {
		spin_unlock(&proc_lock);
		tf->rax = (uint64_t)-ECHILD;
		platform_phase(c, p->phase);
		return;
	}
	/* Block: the child that exits fills in rax/rdx of the saved frame. */
	copy_qwords(&p->tf, tf, TRAPFRAME_QWORDS);
	p->state = P_WAITING;
	spin_unlock(&proc_lock);
	sched_leave(c, tf, p);
}

/* The first process has exited: the guest ends. Everything else must be
 * gone by now, every frame free. */
static void __attribute__((noreturn)) finish(int64_t status)
{
	spin_lock(&proc_lock);
	unsigned left = live - 1;
	spin_unlock(&proc_lock);
	uint64_t used = mm_pages_used();
	kprintf("kernel: forks %lu exits %lu kills %lu zero-fills %lu cow-copies %lu cow-reuses "
		"%lu hidden-faults %lu\n",
		kstats.forks, kstats.exits, kstats.kills, kstats.zero_fills, kstats.cow_copies,
		kstats.cow_reuses, kstats.hidden_faults);
	ptshare_print();
	if (left || used) {
		kprintf("kernel: leak: %u processes and %lu pages left after the first process "
			"exited\n",
			left, used);
		platform_exit(GUEST_EXIT_LEAK);
	}
	char line[200];
	int n = fmt(line, sizeof(line), "kernel: switches per CPU:");
	for (unsigned i = 0; i < ncpu && n < (int)sizeof(line); i++)
		n += fmt(line + n, sizeof(line) - n, " %lu", cpu_get(i)->switches);
	kprintf("%s; migrations %lu\n", line, kstats.migrations);
	platform_exit(status >= 0 && status < GUEST_EXIT_PANIC ? (int)status : 1);
}

void proc_exit(struct cpu *c, struct trapframe *tf, int64_t status)
{
	struct proc *p = c->cur;
	platform_phase(c, UMBRA_PHASE_EXIT_WAIT);
	as_load(c, 0);
	struct vrange r[VM_RANGES];
	vm_ranges(p, r);
	as_destroy(&p->as, r, VM_RANGES);
	atomic_fetch_add(&kstats.exits, 1);
	if (p->pid == 1)
		finish(status);

	spin_lock(&proc_lock);
	/* Orphans: nobody will reap them; a zombie goes now, the rest when they exit. */
	for (struct proc *ch = p->children, *next; ch; ch = next) {
		next = ch->sibling;
		ch->parent = 0;
		if (ch->state == P_ZOMBIE)
			proc_free(ch);
	}
	p->children = 0;
	struct proc *parent = p->parent;
	atomic_store_explicit(&p->on_cpu, 0, memory_order_release);
	if (!parent) {
		proc_free(p);
	} else {
		p->state = P_ZOMBIE;
		p->status = status;
		if (parent->state == P_WAITING && wants(parent, p)) {
			parent->tf.rax = (uint64_t)p->pid;
			parent->tf.rdx = (uint64_t)status;
			reap(parent, p);
			parent->state = P_RUNNABLE;
			sched_enqueue(parent);
		}
	}
	spin_unlock(&proc_lock);
	c->cur = 0;
	sched_leave(c, tf, 0);
}

void proc_kill(struct cpu *c, struct trapframe *tf, const char *f, ...)
{
	char why[160];
	va_list ap;
	va_start(ap, f);
	vfmt(why, sizeof(why), f, ap);
	va_end(ap);
	kprintf("kernel: killed pid %d: %s\n", c->cur->pid, why);
	atomic_fetch_add(&kstats.kills, 1);
	proc_exit(c, tf, STATUS_KILLED);
}
