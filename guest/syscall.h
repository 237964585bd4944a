/* System calls: int3 from user mode (guest/uapi.h has the numbers). */
#ifndef GUEST_SYSCALL_H
#define GUEST_SYSCALL_H

struct cpu;
struct trapframe;

/* Runs the system call in tf->rax for c->cur; results go into *tf (which
 * may then hold another process, if the call blocked or exited). */
void syscall(struct cpu *c, struct trapframe *tf);

#endif /* GUEST_SYSCALL_H */
