/* Console output and panics (see console.h). */
#include <stdarg.h>
#include <stdatomic.h>

#include "console.h"
#include "cpu.h"
#include "lib.h"
#include "platform.h"
#include "proc.h"
#include "spinlock.h"
#include "trap.h"
#include "x86.h"

#define COM1_LSR_THRE 0x20 /* transmitter holding register empty */

/* Serialises console output; not taken once a panic has begun (the
 * panicking CPU may hold it). */
static struct spinlock console_spin = SPINLOCK_INIT("console");
static atomic_int panicking; /* 1 + the index of the CPU that panics, or 0 */

void console_lock(void)
{
	if (!atomic_load(&panicking))
		spin_lock(&console_spin);
}

void console_unlock(void)
{
	if (!atomic_load(&panicking))
		spin_unlock(&console_spin);
}

void console_put(const char *s, size_t n)
{
	if (platform.umbra) {
		while (n > 0) {
			size_t chunk = n < UMBRA_CONSOLE_MAX ? n : UMBRA_CONSOLE_MAX;
			hypercall(UMBRA_HC_CONSOLE, (uint64_t)s, chunk, 0, 0, 0, 0);
			s += chunk;
			n -= chunk;
		}
		return;
	}
	for (size_t i = 0; i < n; i++) {
		while (!(inb(UMBRA_COM1_LSR) & COM1_LSR_THRE))
			pause();
		outb(UMBRA_COM1_PORT, (uint8_t)s[i]);
	}
}

void console_write(const char *s, size_t n)
{
	console_lock();
	console_put(s, n);
	console_unlock();
}

void kprintf(const char *f, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, f);
	int n = vfmt(buf, sizeof(buf), f, ap);
	va_end(ap);
	console_write(buf, n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static char panic_msg[256];

/* Marks the panic begun. A second panic on the same CPU stops at once; a
 * panic on another CPU waits (forever) for the first to finish. */
static void panic_begin(void)
{
	int me = (int)mycpu()->id + 1, none = 0;
	if (atomic_compare_exchange_strong(&panicking, &none, me))
		return;
	if (none == me)
		platform_panic("recursive panic", 15);
	for (;;)
		__asm__ volatile("cli; hlt");
}

static void print_frame(const struct trapframe *tf)
{
	kprintf("  rip %016lx rsp %016lx rflags %lx cs %lx ss %lx error %lx\n", tf->rip, tf->rsp,
		tf->rflags, tf->cs, tf->ss, tf->error);
	kprintf("  rax %016lx rbx %016lx rcx %016lx rdx %016lx\n", tf->rax, tf->rbx, tf->rcx,
		tf->rdx);
	kprintf("  rsi %016lx rdi %016lx rbp %016lx\n", tf->rsi, tf->rdi, tf->rbp);
	kprintf("  r8  %016lx r9  %016lx r10 %016lx r11 %016lx\n", tf->r8, tf->r9, tf->r10,
		tf->r11);
	kprintf("  r12 %016lx r13 %016lx r14 %016lx r15 %016lx\n", tf->r12, tf->r13, tf->r14,
		tf->r15);
}

void panic(const char *f, ...)
{
	panic_begin();
	va_list ap;
	va_start(ap, f);
	vfmt(panic_msg, sizeof(panic_msg), f, ap);
	va_end(ap);
	uint64_t rbp;
	__asm__ volatile("mov %%rbp, %0" : "=r"(rbp));
	struct cpu *c = mycpu();
	kprintf("panic: cpu %u: %s\n", c->id, panic_msg);
	kprintf("  kernel: caller %p rsp %lx rbp %lx cr2 %lx cr3 %lx\n",
		__builtin_return_address(0), read_rsp(), rbp, rcr2(), rcr3());
	if (c->cur) {
		/* the system call or fault being served: the process's registers */
		kprintf("  user registers of pid %d:\n", c->cur->pid);
		print_frame(cpu_user_frame(c->id));
	}
	platform_panic(panic_msg, strlen(panic_msg));
}

void panic_trap(const struct trapframe *tf)
{
	panic_begin();
	fmt(panic_msg, sizeof(panic_msg), "%s (vector %lu) in the kernel at rip %lx",
	    trap_name(tf->vector), tf->vector, tf->rip);
	kprintf("panic: cpu %u: %s\n", mycpu()->id, panic_msg);
	kprintf("  cr2 %lx cr3 %lx\n", rcr2(), rcr3());
	print_frame(tf);
	platform_panic(panic_msg, strlen(panic_msg));
}
