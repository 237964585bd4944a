/*
 * The local APIC, on QEMU only (umbra has no irqchip: the guest must not
 * touch it there). Used to start secondary CPUs (INIT-SIPI-SIPI) and to
 * wake an idle CPU with an IPI.
 */
#ifndef GUEST_LAPIC_H
#define GUEST_LAPIC_H

#include <stdint.h>

struct cpu;

/* Boot CPU: maps the LAPIC and masks the legacy PIC. */
void lapic_init(void);
/* Every CPU: enables its LAPIC with everything but IPIs masked. */
void lapic_init_cpu(struct cpu *c);
/* Sends INIT-SIPI-SIPI to all other CPUs: they start in real mode at
 * trampoline (page aligned, below 1 MiB). */
void lapic_start_aps(uint64_t trampoline);
void lapic_send_ipi(uint32_t apic_id, unsigned vector);
void lapic_eoi(void);

#endif /* GUEST_LAPIC_H */
