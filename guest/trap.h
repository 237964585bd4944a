/*
 * Traps. entry.S saves the registers into a struct trapframe and calls
 * trap(); whatever frame is there when trap() returns is resumed with
 * iretq. A trap from user mode always has its frame at the top of the
 * CPU's stack, so the scheduler switches processes by copying frames in
 * and out of struct proc (sched.c).
 */
#ifndef GUEST_TRAP_H
#define GUEST_TRAP_H

#include "cpu.h"

/* null, kernel code, kernel data, user data, user code, a TSS (2 slots) per CPU */
#define GDT_ENTRIES (5 + 2 * MAXCPU)

#ifndef __ASSEMBLER__
#include <stdint.h>

struct trapframe {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error; /* pushed by the entry stub (error 0 if the CPU pushes none) */
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};
#define TRAPFRAME_QWORDS (sizeof(struct trapframe) / 8)
_Static_assert(sizeof(struct trapframe) == 22 * 8, "entry.S pushes 22 qwords");

/* Builds the IDT (boot CPU, once). */
void trap_init(void);
/* Loads the GDT's TSS for this CPU and the IDT. */
void trap_init_cpu(struct cpu *c);
void trap(struct trapframe *tf);
const char *trap_name(uint64_t vector);

/* entry.S */
extern uint64_t trap_vectors[];
/* Switches to tf (which must be the CPU's user frame) and runs the
 * scheduler there: never returns. */
void cpu_run(struct trapframe *tf) __attribute__((noreturn));

/* The frame of a trap from user mode on CPU cpu_index: at the top of its stack. */
static inline struct trapframe *cpu_user_frame(unsigned cpu_index)
{
	return (struct trapframe *)(cpu_stack_top(cpu_index) - sizeof(struct trapframe));
}
#endif /* __ASSEMBLER__ */
#endif /* GUEST_TRAP_H */
