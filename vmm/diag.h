/*
 * umbra's own messages on standard error while a run is under way (a
 * vCPU's register dump, the stop message, the report). They go through a
 * sink (sink.h), so that a stderr nobody reads holds up neither a vCPU
 * thread nor the end of the run.
 */
#ifndef UMBRA_VMM_DIAG_H
#define UMBRA_VMM_DIAG_H

#include <stddef.h>

struct sink;

/*
 * Sends the messages to err from now on (NULL: straight to stderr again).
 * Call only while no vCPU thread runs.
 */
void diag__attach(struct sink *err);

/* Queues len bytes as one piece; never waits. */
void diag__put(const void *buf, size_t len);
/* Queues one formatted message (at most 1 KiB of it); never waits. */
void diag__printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
