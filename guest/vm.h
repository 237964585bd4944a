/*
 * User address spaces: what a process may map (its program image, its
 * heap, its stack), page faults (copy-on-write, demand-zero, or a kill),
 * loading the user program, and reading user memory for system calls.
 */
#ifndef GUEST_VM_H
#define GUEST_VM_H

#include <stdint.h>

#include "paging.h"

struct cpu;
struct proc;
struct trapframe;

#define VM_RANGES 3

/* The ranges of p's address space that may hold mappings. */
void vm_ranges(const struct proc *p, struct vrange r[VM_RANGES]);
/* A #PF from user mode on c. */
void vm_fault(struct cpu *c, struct trapframe *tf);
/*
 * Loads the user program (the ELF image embedded in the kernel) into p's
 * new address space, and puts `arg` at the top of its stack. Sets
 * p->image_end and p->brk; *entry, *sp and *arg_va for the first frame.
 * Panics on a malformed image (it is part of the kernel).
 */
void vm_load_user(struct proc *p, const char *arg, uint64_t *entry, uint64_t *sp, uint64_t *arg_va);
/* Writes the user bytes [va, va + len) to the console (console locked).
 * 0, or -EFAULT if part of it is not mapped readable. */
int vm_console_write(struct proc *p, uint64_t va, uint64_t len);
/* sbrk: the old break, or -errno. A negative increment unmaps the heap
 * pages past the new break (the page holding it stays); -EINVAL below
 * the heap's base, -ENOMEM if the unmap ran out of memory (the break is
 * then unchanged, some pages already gone). */
int64_t vm_sbrk(struct proc *p, int64_t increment);
/* munmap: drops the heap pages [va, va + len) (page aligned, inside the
 * heap); they stay part of the heap and read as zero when touched again.
 * 0, -EINVAL, or -ENOMEM (partly done). */
int64_t vm_munmap(struct proc *p, uint64_t va, uint64_t len);

#endif /* GUEST_VM_H */
