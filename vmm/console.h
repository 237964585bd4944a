/*
 * The guest's console: UMBRA_HC_CONSOLE and the 16550 data port both write
 * to the VMM's standard output.
 */
#ifndef UMBRA_VMM_CONSOLE_H
#define UMBRA_VMM_CONSOLE_H

#include <stddef.h>

/* Writes len bytes; a whole call is never interleaved with another vCPU's. */
void console__write(const void *buf, size_t len);
/* Pushes out anything buffered (before the report is printed). */
void console__flush(void);

#endif
