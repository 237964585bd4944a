/* The GDT, TSSs, IDT and trap dispatch (see trap.h). */
#include "trap.h"
#include "console.h"
#include "cpu.h"
#include "lapic.h"
#include "proc.h"
#include "syscall.h"
#include "vm.h"
#include "x86.h"

/* Shared by all CPUs; CPU i's TSS descriptor is at SEL_TSS0 + 16 * i. */
uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16))) = {
	0,
	0x00af9a000000ffffull, /* SEL_KCODE: 64-bit code, DPL 0 */
	0x00cf92000000ffffull, /* SEL_KDATA */
	0x00cff2000000ffffull, /* SEL_UDATA: DPL 3 */
	0x00affa000000ffffull, /* SEL_UCODE: 64-bit code, DPL 3 */
};

struct idt_gate {
	uint16_t offset_lo, selector;
	uint8_t ist, type; /* type: present | DPL | interrupt gate */
	uint16_t offset_mid;
	uint32_t offset_hi, reserved;
} __attribute__((packed));

static struct idt_gate idt[T_COUNT] __attribute__((aligned(16)));

void trap_init(void)
{
	for (unsigned v = 0; v < T_COUNT; v++) {
		uint64_t a = trap_vectors[v];
		/* int3 is the system-call gate: the only vector user code may raise */
		idt[v] = (struct idt_gate){.offset_lo = (uint16_t)a,
					   .selector = SEL_KCODE,
					   .type = v == T_BP ? 0xee : 0x8e,
					   .offset_mid = (uint16_t)(a >> 16),
					   .offset_hi = (uint32_t)(a >> 32)};
	}
}

void trap_init_cpu(struct cpu *c)
{
	uint64_t base = (uint64_t)&c->tss, limit = sizeof(c->tss) - 1;
	c->tss.rsp0 = cpu_stack_top(c->id);
	c->tss.iopb = sizeof(c->tss); /* no I/O bitmap: user port I/O faults */
	unsigned slot = SEL_TSS0 / 8 + 2 * c->id;
	gdt[slot] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89ull << 40 |
		    ((limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xff) << 56;
	gdt[slot + 1] = base >> 32;
	uint16_t sel = (uint16_t)(slot * 8);
	__asm__ volatile("ltr %0" : : "r"(sel));
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = {sizeof(idt) - 1, (uint64_t)idt};
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

const char *trap_name(uint64_t v)
{
	static const char *const names[] = {
		"divide error (#DE)",
		"debug (#DB)",
		"NMI",
		"breakpoint (#BP)",
		"overflow (#OF)",
		"bound range (#BR)",
		"invalid opcode (#UD)",
		"device not available (#NM)",
		"double fault (#DF)",
		"coprocessor overrun",
		"invalid TSS (#TS)",
		"segment not present (#NP)",
		"stack fault (#SS)",
		"general protection fault (#GP)",
		"page fault (#PF)",
		"reserved (15)",
		"x87 error (#MF)",
		"alignment check (#AC)",
		"machine check (#MC)",
		"SIMD error (#XM)",
		"virtualization (#VE)",
		"control protection (#CP)",
	};
	if (v < sizeof(names) / sizeof(names[0]))
		return names[v];
	return v == T_IPI ? "wake-up IPI" : "reserved exception";
}

void trap(struct trapframe *tf)
{
	struct cpu *c = mycpu();
	if ((tf->cs & 3) != 3) {
		/* The kernel takes no traps but the idle loop's wake-up IPI. */
		if (tf->vector == T_IPI) {
			lapic_eoi();
			return;
		}
		panic_trap(tf);
	}
	switch (tf->vector) {
	case T_BP:
		syscall(c, tf);
		break;
	case T_PF:
		vm_fault(c, tf);
		break;
	default:
		proc_kill(c, tf, "%s at rip %lx, error %lx", trap_name(tf->vector), tf->rip,
			  tf->error);
		break;
	}
}
