/*
 * Freestanding string and formatting routines, compiled into both the
 * kernel and the user programs (each gets its own copy; they share source,
 * not code). Copies and fills use `rep movsb`/`rep stosb`: one emulated
 * instruction where CPL 0 is emulated.
 */
#ifndef GUEST_LIB_H
#define GUEST_LIB_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);

/*
 * printf-like formatting into buf (always NUL-terminated when size > 0).
 * Conversions: %d %i %u %x %c %s %p %%, with the l/ll modifiers, a field
 * width, '0' padding and '-' (left justify). Returns the length the full
 * output would have had.
 */
int vfmt(char *buf, size_t size, const char *fmt, va_list ap);
int fmt(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif /* GUEST_LIB_H */
