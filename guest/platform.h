/*
 * What the guest runs on: umbra (found by its CPUID signature) or a plain
 * PVH machine (QEMU microvm). Everything that differs between the two
 * goes through here: hypercalls vs. ports, exit status, the clock, how a
 * vCPU idles and is woken, phase markers.
 */
#ifndef GUEST_PLATFORM_H
#define GUEST_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>

#include <umbra/abi.h>

struct cpu;

struct platform {
	bool umbra;        /* CPUID 0x40000000 says "UmbraUmbraUm" */
	bool shadow;       /* umbra shadows paging (UMBRA_CPUID_F_SHADOW) */
	unsigned cpus;     /* vCPUs the machine has (umbra: CPUID, QEMU: fw_cfg) */
	uint64_t tsc_khz;  /* QEMU: TSC frequency calibrated against the PIT */
	uint64_t tsc_boot; /* QEMU: TSC at boot */
};
extern struct platform platform;

/* Exit statuses of the whole guest (QEMU exits with 2 * status + 1) */
#define GUEST_EXIT_LEAK 3    /* the kernel found leaked frames or processes at the end */
#define GUEST_EXIT_PANIC 100 /* QEMU only; on umbra a panic is UMBRA_HC_PANIC */

/* A hypercall (abi.h): one `outl` to UMBRA_HC_PORT. Returns %rax; *rdx_out
 * (if not NULL) gets %rdx. Only meaningful when platform.umbra. */
static inline int64_t hypercall(uint32_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
				uint64_t a4, uint64_t *rdx_out)
{
	uint64_t rax = nr;
	register uint64_t r8 __asm__("r8") = a4;
	__asm__ volatile("outl %%eax, %[port]"
			 : "+a"(rax), "+d"(a2)
			 : [port] "i"(UMBRA_HC_PORT), "D"(a0), "S"(a1), "c"(a3), "r"(r8)
			 : "memory");
	if (rdx_out)
		*rdx_out = a2;
	return (int64_t)rax;
}

/* Fills `platform` from CPUID (and, on QEMU, fw_cfg and the PIT). */
void platform_detect(void);
/* Ends the guest with `status`. */
void platform_exit(int status) __attribute__((noreturn));
/* Ends the guest after a kernel panic; msg is the panic message. */
void platform_panic(const char *msg, uint64_t len) __attribute__((noreturn));
/* Nanoseconds since boot. */
uint64_t platform_clock_ns(void);
/* Sets this vCPU's umbra phase (no-op on QEMU or if unchanged). */
void platform_phase(struct cpu *c, int phase);
/* Parks this CPU until platform_kick(it) (or a short timeout on umbra).
 * Called with c->idle set and no lock held. */
void platform_idle(struct cpu *c);
/* Wakes CPU `c` from platform_idle. */
void platform_kick(struct cpu *c);

#endif /* GUEST_PLATFORM_H */
