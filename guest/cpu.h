/*
 * Per-CPU state. Each CPU owns one KSTACK_SIZE-aligned area: its struct cpu
 * at the bottom and its kernel stack above it, growing down from the top.
 * TSS.RSP0 is the top, so a trap from user mode always puts its frame at
 * the same place (cpu_user_frame); mycpu() finds the struct from %rsp.
 * All kernel work runs on these stacks: processes have no kernel stacks of
 * their own (sched.c).
 */
#ifndef GUEST_CPU_H
#define GUEST_CPU_H

#include "x86.h"

#define MAXCPU 32
#define KSTACK_SIZE 16384 /* boot.S assumes 1 << 14 */

#ifndef __ASSEMBLER__
#include <stdatomic.h>
#include <stdint.h>

struct proc;
struct as;
struct trapframe;

struct tss {
	uint32_t reserved0;
	uint64_t rsp0;
	uint64_t rsp1, rsp2, reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3, iopb;
} __attribute__((packed));
_Static_assert(sizeof(struct tss) == 104, "tss is 104 bytes");

/* Only the CPU itself touches its struct cpu, except `idle` (atomic). */
struct cpu {
	unsigned id;       /* 0..ncpu-1; 0 is the boot CPU */
	uint32_t apic_id;  /* QEMU: LAPIC ID, the target of wake-up IPIs */
	struct proc *cur;  /* the process running here, or NULL */
	struct as *loaded; /* the address space loaded (CR3/AS_SWITCH), NULL: kernel only */
	int phase;         /* umbra phase last set on this vCPU */
	atomic_int idle;   /* 1 while waiting for work: an enqueuer swaps it to 0 and kicks */
	uint64_t switches; /* processes switched to on this CPU */
	struct tss tss;
};

union cpu_area {
	struct cpu cpu;
	uint8_t stack[KSTACK_SIZE];
};

extern union cpu_area cpu_areas[MAXCPU];
extern unsigned ncpu; /* CPUs running the scheduler; set before any process runs */

static inline struct cpu *mycpu(void)
{
	return (struct cpu *)(read_rsp() & ~(uint64_t)(KSTACK_SIZE - 1));
}

static inline struct cpu *cpu_get(unsigned i)
{
	return &cpu_areas[i].cpu;
}

static inline uint64_t cpu_stack_top(unsigned i)
{
	return (uint64_t)&cpu_areas[i] + KSTACK_SIZE;
}
#endif /* __ASSEMBLER__ */
#endif /* GUEST_CPU_H */
