/* Starting the secondary CPUs (see docs/guest.md, "SMP"). */
#ifndef GUEST_SMP_H
#define GUEST_SMP_H

/* Starts every CPU the platform reports (up to MAXCPU) and waits until
 * each runs its idle loop; sets ncpu. Boot CPU, once. */
void smp_start(void);

#endif /* GUEST_SMP_H */
