/* The local APIC, QEMU only (see lapic.h). */
#include "lapic.h"
#include "cpu.h"
#include "paging.h"
#include "platform.h"
#include "console.h"
#include "x86.h"

#define LAPIC_ID 0x20
#define LAPIC_EOI 0xb0
#define LAPIC_SVR 0xf0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370

#define SVR_ENABLE 0x100
#define LVT_MASKED 0x10000
#define ICR_PENDING 0x1000
#define ICR_ASSERT 0x4000
#define ICR_INIT 0x500
#define ICR_STARTUP 0x600
#define ICR_ALL_BUT_SELF 0xc0000

static volatile uint32_t *lapic;

static uint32_t lapic_read(unsigned reg)
{
	return lapic[reg / 4];
}

static void lapic_write(unsigned reg, uint32_t v)
{
	lapic[reg / 4] = v;
}

void lapic_init(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE) & ~0xfffull & 0x000ffffffffff000ull;
	paging_map_mmio(base);
	lapic = (volatile uint32_t *)base;
	outb(0x21, 0xff); /* mask both 8259s: no legacy interrupts */
	outb(0xa1, 0xff);
}

void lapic_init_cpu(struct cpu *c)
{
	/* The spurious vector is the wake-up vector: its handler only EOIs. */
	lapic_write(LAPIC_SVR, SVR_ENABLE | T_IPI);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT1, LVT_MASKED);
	lapic_write(LAPIC_LVT_ERROR, LVT_MASKED);
	c->apic_id = lapic_read(LAPIC_ID) >> 24;
}

static void icr_send(uint32_t hi, uint32_t lo)
{
	lapic_write(LAPIC_ICR_HI, hi);
	lapic_write(LAPIC_ICR_LO, lo);
	while (lapic_read(LAPIC_ICR_LO) & ICR_PENDING)
		pause();
}

void lapic_start_aps(uint64_t trampoline)
{
	icr_send(0, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_INIT);
	for (int i = 0; i < 2; i++)
		icr_send(0, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_STARTUP |
				    (uint32_t)(trampoline >> 12));
}

void lapic_send_ipi(uint32_t apic_id, unsigned vector)
{
	icr_send(apic_id << 24, ICR_ASSERT | vector);
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}
