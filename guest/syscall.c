/*
 * System-call dispatch. The gate is int3 (vector 3, a DPL 3 interrupt
 * gate): `syscall`/`sysret` and `int n` for n != 3 do not work on the
 * development machine's KVM, int3 works the same there, on hardware KVM
 * and on QEMU (docs/guest.md). The saved %rip already points past the
 * one-byte int3, so returning resumes after the call.
 */
#include "syscall.h"
#include "console.h"
#include "cpu.h"
#include "platform.h"
#include "proc.h"
#include "sched.h"
#include "trap.h"
#include "uapi.h"
#include "vm.h"
#include "x86.h"

static int64_t sys_write(struct proc *p, uint64_t va, uint64_t len)
{
	if (len > SYS_WRITE_MAX)
		return -EINVAL;
	console_lock();
	int err = vm_console_write(p, va, len);
	console_unlock();
	return err < 0 ? err : (int64_t)len;
}

static int64_t sys_phase(struct cpu *c, struct proc *p, uint64_t phase)
{
	if (phase >= UMBRA_PHASE_COUNT)
		return -EINVAL;
	p->phase = (int)phase;
	platform_phase(c, p->phase);
	return 0;
}

/* A panic on request: the message is a user string (up to 80 bytes shown). */
static void __attribute__((noreturn)) sys_panic(struct proc *p, uint64_t va)
{
	char msg[81];
	unsigned n = 0;
	for (; n + 1 < sizeof(msg); n++, va++) {
		uint64_t pte = as_pte(&p->as, va);
		if ((pte & (PTE_P | PTE_U)) != (PTE_P | PTE_U))
			break;
		char ch = *(const char *)((pte & PTE_ADDR) + (va & (PGSIZE - 1)));
		if (!ch)
			break;
		msg[n] = ch;
	}
	msg[n] = '\0';
	panic("pid %d asked for a panic: %s", p->pid, msg);
}

void syscall(struct cpu *c, struct trapframe *tf)
{
	struct proc *p = c->cur;
	int64_t r;
	switch (tf->rax) {
	case SYS_EXIT:
		proc_exit(c, tf, (int64_t)tf->rdi);
		return;
	case SYS_WAIT:
		proc_wait(c, tf, (int)tf->rdi);
		return;
	case SYS_YIELD:
		tf->rax = 0;
		sched_yield(c, tf);
		return;
	case SYS_FORK:
		r = proc_fork(c, tf);
		break;
	case SYS_GETPID:
		r = p->pid;
		break;
	case SYS_WRITE:
		r = sys_write(p, tf->rdi, tf->rsi);
		break;
	case SYS_SBRK:
		r = vm_sbrk(p, (int64_t)tf->rdi);
		break;
	case SYS_MUNMAP:
		r = vm_munmap(p, tf->rdi, tf->rsi);
		break;
	case SYS_CLOCK:
		r = (int64_t)platform_clock_ns();
		break;
	case SYS_PHASE:
		r = sys_phase(c, p, tf->rdi);
		break;
	case SYS_PANIC:
		sys_panic(p, tf->rdi);
	default:
		r = -ENOSYS;
		break;
	}
	tf->rax = (uint64_t)r;
}
