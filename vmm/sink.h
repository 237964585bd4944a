/*
 * A sink: bytes for one file descriptor, queued in memory and written by a
 * thread of its own, so that whoever produces them never blocks on a pipe,
 * FIFO or terminal that nobody reads.
 *
 * Producers either wait for room (sink__put: the guest console, where a
 * slow reader slows the guest down and nothing is lost) or queue whatever
 * the size (sink__put_all: umbra's own messages and reports, which are
 * bounded). At the end the owner waits for the queue to drain as long as it
 * chooses (sink__wait), then abandons what is left (sink__abandon): a write
 * the writer is blocked in is interrupted, and every byte that was queued
 * and not written is counted as lost.
 *
 * The writer never changes the file descriptor's flags: O_NONBLOCK belongs
 * to the open file description, which a terminal or pipe shares with other
 * processes (the shell among them).
 */
#ifndef UMBRA_VMM_SINK_H
#define UMBRA_VMM_SINK_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Interrupts the writer's blocked write(); its handler has no SA_RESTART. */
#define SINK_SIGNAL SIGUSR2

struct sink_buf {
	char *data;
	size_t len, cap;
};

struct sink {
	int fd;
	size_t room; /* bytes sink__put() lets queue up before it waits */
	int idle_fd; /* eventfd, signalled whenever the writer becomes idle */
	pthread_t writer;

	/*
	 * lock protects everything below. more wakes the writer (bytes queued,
	 * abandon); changed wakes producers waiting for room and sink__abandon()
	 * waiting for the writer to leave.
	 */
	pthread_mutex_t lock;
	pthread_cond_t more, changed;
	struct sink_buf queue; /* produced, not yet taken by the writer */
	size_t writing;        /* taken by the writer, not yet written or lost */
	bool no_wait;          /* sink__put() no longer waits for room */
	bool abandoned;        /* the writer must leave now (also read without lock) */
	bool done;             /* the writer has left: nothing more is written */
	int error;             /* errno of the write that failed, or 0 */
	uint64_t written;      /* bytes written to fd */
	uint64_t lost;         /* bytes queued and never written */
};

/*
 * Starts a sink for fd (not owned: the caller closes it after
 * sink__release). room is in bytes. 0 or a negative errno; holds nothing
 * on failure.
 */
int sink__init(struct sink *s, int fd, size_t room);
/* Abandons what is left (sink__abandon), joins the writer, frees the sink. */
void sink__release(struct sink *s);

/*
 * Queues len bytes as one piece (never interleaved with another put). If
 * the queue is not empty and the piece would take it past room bytes, it
 * first waits until the writer has taken the queue or sink__stop_waiting()
 * is called. Once the writer has left (a write error, sink__abandon), the
 * bytes are counted as lost instead.
 */
void sink__put(struct sink *s, const void *buf, size_t len);
/* Queues len bytes as one piece, however full the queue is. */
void sink__put_all(struct sink *s, const void *buf, size_t len);
/* From now on sink__put() queues at once, as sink__put_all() does. */
void sink__stop_waiting(struct sink *s);

/*
 * Waits until everything queued has been written (or the writer has left),
 * until CLOCK_MONOTONIC deadline_ns (0: no deadline), or until wake_fd
 * (-1: none) is readable, whichever comes first. 0, -ETIMEDOUT or -EINTR
 * (wake_fd is readable; it is not read).
 */
int sink__wait(struct sink *s, uint64_t deadline_ns, int wake_fd);

/*
 * Makes the writer leave now, interrupting a write it is blocked in, and
 * waits until it has: what was queued and not written is then lost.
 */
void sink__abandon(struct sink *s);

/* After sink__abandon(): bytes lost, and the write error if one caused it. */
uint64_t sink__lost(struct sink *s);
int sink__error(struct sink *s);

#endif
