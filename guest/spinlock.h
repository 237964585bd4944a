/*
 * Spin locks. The kernel runs with interrupts off (the only interrupt is
 * QEMU's wake-up IPI, taken in the idle loop with no lock held), so a lock
 * never needs to disable anything; it is a test-and-set with `pause`.
 */
#ifndef GUEST_SPINLOCK_H
#define GUEST_SPINLOCK_H

#include <stdatomic.h>
#include <stdbool.h>

struct spinlock {
	atomic_uint locked;
	const char *name; /* for panics */
	int cpu;          /* holder's CPU index, -1 when free (for spin_holding) */
};

#define SPINLOCK_INIT(n)                                                                           \
	{                                                                                          \
		0, n, -1                                                                           \
	}

void spin_lock(struct spinlock *l);
void spin_unlock(struct spinlock *l);
/* True if this CPU holds l. */
bool spin_holding(struct spinlock *l);

#endif /* GUEST_SPINLOCK_H */
