/*
 * Console output: UMBRA_HC_CONSOLE on umbra (one exit per buffer), the
 * 16550 at 0x3f8 on QEMU. One lock keeps concurrent lines whole.
 */
#ifndef GUEST_CONSOLE_H
#define GUEST_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

struct trapframe;

void console_lock(void);
void console_unlock(void);
/* Writes n bytes at kernel (= guest-physical) address s; lock held. */
void console_put(const char *s, size_t n);
/* Takes the lock and writes. */
void console_write(const char *s, size_t n);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the message, the caller's registers, and ends the guest. */
void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* Same, for a trap taken in the kernel: prints the trap frame. */
void panic_trap(const struct trapframe *tf) __attribute__((noreturn));

#endif /* GUEST_CONSOLE_H */
