/*
 * The guest's console: UMBRA_HC_CONSOLE and the 16550 data port both write
 * to the VMM's standard output. During a run that goes through a sink
 * (sink.h) whose own thread writes it: a reader that does not keep up slows
 * the guest down, and one that never reads cannot stop the VMM from ending
 * the run (docs/umbra.1, "Output").
 */
#ifndef UMBRA_VMM_CONSOLE_H
#define UMBRA_VMM_CONSOLE_H

#include <stddef.h>

struct sink;

/* Bytes of console output that may wait in the sink before a vCPU that
 * writes more waits for the reader: as much as a default pipe holds. */
#define CONSOLE_ROOM (64u << 10)

/*
 * Sends the console to out from now on (NULL: straight to stdout again).
 * Call only while no vCPU thread runs.
 */
void console__attach(struct sink *out);

/*
 * Writes len bytes; a whole call is never interleaved with another vCPU's.
 * May wait for the reader, until console__stop_waiting().
 */
void console__write(const void *buf, size_t len);

/* The guest is stopping: console__write() no longer waits for room. */
void console__stop_waiting(void);

#endif
