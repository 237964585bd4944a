/* umbra or a plain PVH machine (see platform.h). */
#include "platform.h"
#include "console.h"
#include "cpu.h"
#include "lapic.h"
#include "x86.h"

/* QEMU's fw_cfg (I/O ports on microvm and pc): the number of CPUs. */
#define FW_CFG_SELECTOR 0x510
#define FW_CFG_DATA 0x511
#define FW_CFG_SIGNATURE 0x00
#define FW_CFG_NB_CPUS 0x05

/* The i8254 PIT, channel 0, to calibrate the TSC on QEMU. */
#define PIT_CH0 0x40
#define PIT_CMD 0x43
#define PIT_HZ 1193182ull

/* umbra: how long an idle vCPU parks before it looks at the run queue
 * again, in case a kick raced with the park. */
#define IDLE_TIMEOUT_NS 100000000ull

struct platform platform;

static void fw_cfg_select(uint16_t key)
{
	outw(FW_CFG_SELECTOR, key);
}

/* The CPU count from fw_cfg, or 1 if there is no fw_cfg. */
static unsigned qemu_cpus(void)
{
	fw_cfg_select(FW_CFG_SIGNATURE);
	char sig[4];
	for (int i = 0; i < 4; i++)
		sig[i] = (char)inb(FW_CFG_DATA);
	if (sig[0] != 'Q' || sig[1] != 'E' || sig[2] != 'M' || sig[3] != 'U')
		return 1;
	fw_cfg_select(FW_CFG_NB_CPUS);
	unsigned lo = inb(FW_CFG_DATA), hi = inb(FW_CFG_DATA);
	unsigned n = lo | hi << 8;
	return n ? n : 1;
}

static uint16_t pit_read(void)
{
	outb(PIT_CMD, 0x00); /* latch channel 0 */
	uint16_t lo = inb(PIT_CH0), hi = inb(PIT_CH0);
	return (uint16_t)(lo | hi << 8);
}

/* Counts TSC ticks over 10 ms of PIT time (channel 0 in rate-generator
 * mode, counting down from 65536; nothing listens to its interrupt). */
static uint64_t tsc_calibrate_khz(void)
{
	outb(PIT_CMD, 0x34);
	outb(PIT_CH0, 0);
	outb(PIT_CH0, 0);
	uint16_t prev = pit_read();
	uint64_t ticks = 0, t0 = rdtsc();
	while (ticks < PIT_HZ / 100) {
		uint16_t now = pit_read();
		ticks += (uint16_t)(prev - now);
		prev = now;
	}
	uint64_t khz = (rdtsc() - t0) * PIT_HZ / ticks / 1000;
	return khz ? khz : 1;
}

void platform_detect(void)
{
	uint32_t a, b, c, d;
	cpuid(UMBRA_CPUID_BASE, &a, &b, &c, &d);
	platform.umbra = a >= UMBRA_CPUID_INFO && b == UMBRA_CPUID_SIG_EBX &&
			 c == UMBRA_CPUID_SIG_ECX && d == UMBRA_CPUID_SIG_EDX;
	if (platform.umbra) {
		cpuid(UMBRA_CPUID_INFO, &a, &b, &c, &d);
		platform.shadow = b & UMBRA_CPUID_F_SHADOW;
		platform.cpus = c ? c : 1;
		return;
	}
	platform.cpus = qemu_cpus();
	platform.tsc_khz = tsc_calibrate_khz();
	platform.tsc_boot = rdtsc();
}

static void __attribute__((noreturn)) halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

void platform_exit(int status)
{
	if (platform.umbra)
		hypercall(UMBRA_HC_EXIT, (uint64_t)status, 0, 0, 0, 0, 0);
	else
		outl(0xf4, (uint32_t)status); /* isa-debug-exit: QEMU exits with 2 * status + 1 */
	halt_forever();
}

void platform_panic(const char *msg, uint64_t len)
{
	if (platform.umbra)
		hypercall(UMBRA_HC_PANIC, (uint64_t)msg, len, 0, 0, 0, 0);
	else
		outl(0xf4, GUEST_EXIT_PANIC);
	halt_forever();
}

uint64_t platform_clock_ns(void)
{
	if (platform.umbra)
		return (uint64_t)hypercall(UMBRA_HC_CLOCK, 0, 0, 0, 0, 0, 0);
	uint64_t t = rdtsc() - platform.tsc_boot;
	return t / platform.tsc_khz * 1000000 + t % platform.tsc_khz * 1000000 / platform.tsc_khz;
}

void platform_phase(struct cpu *c, int phase)
{
	if (!platform.umbra || c->phase == phase)
		return;
	hypercall(UMBRA_HC_PHASE, (uint64_t)phase, 0, 0, 0, 0, 0);
	c->phase = phase;
}

void platform_idle(struct cpu *c)
{
	if (platform.umbra) {
		hypercall(UMBRA_HC_IDLE, IDLE_TIMEOUT_NS, 0, 0, 0, 0, 0);
		return;
	}
	(void)c;
	/* sti's one-instruction shadow: an IPI that is already pending wakes the hlt */
	__asm__ volatile("sti; hlt; cli" ::: "memory");
}

void platform_kick(struct cpu *c)
{
	if (platform.umbra)
		hypercall(UMBRA_HC_KICK, c->id, 0, 0, 0, 0, 0);
	else
		lapic_send_ipi(c->apic_id, T_IPI);
}
