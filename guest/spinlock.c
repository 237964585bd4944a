/* Spin locks (see spinlock.h). */
#include "spinlock.h"
#include "console.h"
#include "cpu.h"
#include "x86.h"

void spin_lock(struct spinlock *l)
{
	int me = (int)mycpu()->id;
	if (l->cpu == me)
		panic("spin_lock: %s already held by this CPU", l->name);
	while (atomic_exchange_explicit(&l->locked, 1, memory_order_acquire))
		while (atomic_load_explicit(&l->locked, memory_order_relaxed))
			pause();
	l->cpu = me;
}

void spin_unlock(struct spinlock *l)
{
	if (l->cpu != (int)mycpu()->id)
		panic("spin_unlock: %s not held by this CPU", l->name);
	l->cpu = -1;
	atomic_store_explicit(&l->locked, 0, memory_order_release);
}

bool spin_holding(struct spinlock *l)
{
	return atomic_load_explicit(&l->locked, memory_order_relaxed) && l->cpu == (int)mycpu()->id;
}
