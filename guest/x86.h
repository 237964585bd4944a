/* x86-64 definitions and one-instruction helpers for the guest kernel. */
#ifndef GUEST_X86_H
#define GUEST_X86_H

/* Constants usable from C (as unsigned long) and from assembly. */
#ifdef __ASSEMBLER__
#define UL(x) x
#else
#define UL(x) x##ul
#endif

#define PGSIZE UL(4096)
#define PGSHIFT 12
#define HUGE_PGSIZE UL(0x200000)
#define PG_ROUNDUP(x) (((x) + PGSIZE - 1) & ~(PGSIZE - 1))
#define PG_ROUNDDOWN(x) ((x) & ~(PGSIZE - 1))

/* Page-table entry bits */
#define PTE_P UL(0x1)
#define PTE_W UL(0x2)
#define PTE_U UL(0x4)
#define PTE_PWT UL(0x8)
#define PTE_PCD UL(0x10)
#define PTE_A UL(0x20)
#define PTE_D UL(0x40)
#define PTE_PS UL(0x80)
#define PTE_COW UL(0x200) /* software: the mapping is writable; W clear means copy-on-write */
#define PTE_NX (UL(1) << 63)
#define PTE_ADDR UL(0x000ffffffffff000)

/* Control registers and MSRs */
#define CR0_PE 0x1u
#define CR0_WP 0x10000u
#define CR0_PG 0x80000000u
#define CR4_PAE 0x20u
#define MSR_EFER 0xc0000080u
#define EFER_LME 0x100u
#define EFER_NXE 0x800u
#define MSR_APIC_BASE 0x1bu

#define RFLAGS_RESERVED UL(0x2)

/* GDT selectors (UMBRA_BOOT_CS/DS must match abi.h) */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA 0x1b /* 0x18 | RPL 3 */
#define SEL_UCODE 0x23 /* 0x20 | RPL 3 */
#define SEL_TSS0 0x28  /* CPU i's TSS at SEL_TSS0 + 16 * i */

/* Exception vectors */
#define T_BP 3
#define T_PF 14
#define T_IPI 32 /* QEMU only: the wake-up IPI that ends an idle hlt */
#define T_COUNT 33

#ifndef __ASSEMBLER__
#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t rcr2(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

static inline uint64_t rcr3(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

static inline void lcr3(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

static inline void invlpg(uint64_t va)
{
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

static inline void pause(void)
{
	__asm__ volatile("pause" ::: "memory");
}

static inline uint64_t read_rsp(void)
{
	uint64_t v;
	__asm__ volatile("mov %%rsp, %0" : "=r"(v));
	return v;
}

/* Bulk copies and fills: one `rep` instruction each (one emulated
 * instruction where CPL 0 is emulated). */
static inline void copy_qwords(void *dst, const void *src, uint64_t n)
{
	__asm__ volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

static inline void fill_qwords(void *dst, uint64_t v, uint64_t n)
{
	__asm__ volatile("rep stosq" : "+D"(dst), "+c"(n) : "a"(v) : "memory");
}
#endif /* __ASSEMBLER__ */
#endif /* GUEST_X86_H */
