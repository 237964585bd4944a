/*
 * The guest's own user/kernel interface: system-call numbers, the user
 * address-space layout and exit statuses. Shared by the kernel (guest/)
 * and the user programs (guest/user/); nothing else may include it.
 *
 * System call: number in %rax, arguments in %rdi, %rsi, %rdx, then `int3`;
 * result in %rax (negative: -errno), a second result in %rdx (wait's
 * status). docs/guest.md says why the gate is int3.
 */
#ifndef GUEST_UAPI_H
#define GUEST_UAPI_H

#define SYS_EXIT 0    /* (status) -> does not return */
#define SYS_FORK 1    /* () -> child pid in the parent, 0 in the child */
#define SYS_WAIT 2    /* (pid or -1) -> pid of a reaped child, %rdx = its status */
#define SYS_GETPID 3  /* () -> pid */
#define SYS_YIELD 4   /* () -> 0; lets other runnable processes run first */
#define SYS_WRITE 5   /* (buf, len) -> len; console output, len <= SYS_WRITE_MAX */
#define SYS_SBRK 6    /* (increment) -> the old break; < 0 unmaps the pages past the new one */
#define SYS_CLOCK 7   /* () -> nanoseconds since boot */
#define SYS_PHASE 8   /* (phase) -> 0; sets the umbra phase of this process */
#define SYS_PANIC 9   /* (message) -> does not return: a kernel panic, to test that path */
#define SYS_MUNMAP 10 /* (va, len) -> 0; heap pages, page aligned; they read as zero again */

#define SYS_WRITE_MAX 4096

/* errno values returned (negated) by system calls */
#define EAGAIN 11
#define ENOMEM 12
#define EFAULT 14
#define ECHILD 10
#define EINVAL 22
#define ENOSYS 38

/*
 * User address space: PML4 slot 1 (512 GiB .. 1 TiB). The program image
 * (guest/user/user.ld links it at USER_BASE), then the heap that sbrk grows
 * from USER_HEAP_BASE, then the stack below USER_STACK_TOP.
 */
#define USER_BASE 0x0000008000000000ul
#define USER_HEAP_BASE 0x0000008040000000ul /* USER_BASE + 1 GiB */
#define USER_HEAP_MAX 0x0000001000000000ul  /* 64 GiB of heap at most */
#define USER_STACK_TOP 0x0000010000000000ul /* end of slot 1 */
#define USER_STACK_SIZE 0x100000ul          /* 1 MiB, demand-zero */

/* Exit statuses that wait() reports for processes that did not call exit */
#define STATUS_KILLED (-9) /* killed by the kernel for a fault */

#endif /* GUEST_UAPI_H */
