/*
 * Sinks: an output queue per file descriptor and the thread that writes it.
 */
#include <config.h>

#include "sink.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "stats.h"

/* How often sink__abandon() repeats its signal until the writer has left. */
#define SINK_KICK_INTERVAL_NS 10000000u

static void sink_interrupted(int sig)
{
	(void)sig; /* only there to make a blocked write() return */
}

/* Tells sink__wait() to look again. */
static void notify_idle(struct sink *s)
{
	uint64_t one = 1;
	ssize_t r = write(s->idle_fd, &one, sizeof(one));

	(void)r; /* a full counter is already readable, which is all it says */
}

/* Call with s->lock held. */
static bool is_idle(const struct sink *s)
{
	return s->done || (s->queue.len == 0 && s->writing == 0);
}

/*
 * Writes out, returning how much of it went out: all of it, or less after a
 * write error (*err) or when the sink is abandoned.
 */
static size_t write_out(struct sink *s, const struct sink_buf *out, int *err)
{
	size_t off = 0;

	*err = 0;
	while (off < out->len && !__atomic_load_n(&s->abandoned, __ATOMIC_ACQUIRE)) {
		ssize_t n = write(s->fd, out->data + off, out->len - off);

		if (n > 0) {
			off += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue; /* sink__abandon()'s signal, or one that was not ours */
		} else {
			*err = n < 0 ? errno : EIO;
			break;
		}
	}
	return off;
}

static void *sink_writer(void *arg)
{
	struct sink *s = arg;
	struct sink_buf out = {0}, swap;
	sigset_t own;
	size_t n;
	int err;

	sigemptyset(&own);
	sigaddset(&own, SINK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &own, NULL);
	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (s->queue.len == 0 && !s->abandoned)
			pthread_cond_wait(&s->more, &s->lock);
		if (s->abandoned)
			break;
		/* Take the whole queue; producers fill the emptied buffer meanwhile. */
		swap = s->queue;
		s->queue = out;
		out = swap;
		s->writing = out.len;
		pthread_cond_broadcast(&s->changed);
		pthread_mutex_unlock(&s->lock);
		n = write_out(s, &out, &err);
		pthread_mutex_lock(&s->lock);
		s->written += n;
		s->lost += out.len - n;
		s->writing = 0;
		out.len = 0;
		if (err) {
			s->error = err;
			break;
		}
		if (s->queue.len == 0)
			notify_idle(s);
	}
	s->lost += s->queue.len;
	s->queue.len = 0;
	s->done = true;
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->lock);
	notify_idle(s);
	free(out.data);
	return NULL;
}

int sink__init(struct sink *s, int fd, size_t room)
{
	struct sigaction sa = {.sa_handler = sink_interrupted}; /* no SA_RESTART */
	pthread_condattr_t attr;
	sigset_t all, old;
	int err;

	*s = (struct sink){.fd = fd, .room = room};
	s->idle_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->idle_fd < 0)
		return -errno;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->more, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->changed, &attr);
	pthread_condattr_destroy(&attr);
	sigaction(SINK_SIGNAL, &sa, NULL);
	/* The writer takes no signal but its own (it unblocks it): SIGINT and
	 * SIGTERM belong to the main thread's signalfd, and a blocked SIGPIPE
	 * makes a write to a closed pipe fail with EPIPE. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&s->writer, NULL, sink_writer, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err < 0) {
		pthread_cond_destroy(&s->changed);
		pthread_cond_destroy(&s->more);
		pthread_mutex_destroy(&s->lock);
		close(s->idle_fd);
	}
	return err;
}

void sink__release(struct sink *s)
{
	sink__abandon(s);
	pthread_join(s->writer, NULL);
	free(s->queue.data);
	close(s->idle_fd);
	pthread_cond_destroy(&s->changed);
	pthread_cond_destroy(&s->more);
	pthread_mutex_destroy(&s->lock);
}

/* Call with s->lock held. */
static void append(struct sink *s, const void *buf, size_t len)
{
	struct sink_buf *q = &s->queue;

	if (len == 0)
		return; /* an empty report: and q->data may still be NULL */
	if (s->done || s->abandoned) {
		s->lost += len;
		return;
	}
	if (len > q->cap - q->len) {
		size_t cap = q->cap ? q->cap : 4096;
		char *data;

		while (cap < q->len + len)
			cap *= 2;
		data = realloc(q->data, cap);
		if (!data) {
			s->lost += len;
			return;
		}
		q->data = data;
		q->cap = cap;
	}
	memcpy(q->data + q->len, buf, len);
	q->len += len;
	pthread_cond_signal(&s->more);
}

void sink__put(struct sink *s, const void *buf, size_t len)
{
	pthread_mutex_lock(&s->lock);
	while (!s->no_wait && !s->done && !s->abandoned && s->queue.len > 0 &&
	       s->queue.len + len > s->room)
		pthread_cond_wait(&s->changed, &s->lock);
	append(s, buf, len);
	pthread_mutex_unlock(&s->lock);
}

void sink__put_all(struct sink *s, const void *buf, size_t len)
{
	pthread_mutex_lock(&s->lock);
	append(s, buf, len);
	pthread_mutex_unlock(&s->lock);
}

void sink__stop_waiting(struct sink *s)
{
	pthread_mutex_lock(&s->lock);
	s->no_wait = true;
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->lock);
}

int sink__wait(struct sink *s, uint64_t deadline_ns, int wake_fd)
{
	for (;;) {
		struct pollfd fds[2] = {
			{.fd = s->idle_fd, .events = POLLIN},
			{.fd = wake_fd, .events = POLLIN},
		};
		int timeout_ms = -1;
		uint64_t count;
		ssize_t r;
		bool idle;

		/* Clear the notification before looking, so that none is missed. */
		r = read(s->idle_fd, &count, sizeof(count));
		(void)r;
		pthread_mutex_lock(&s->lock);
		idle = is_idle(s);
		pthread_mutex_unlock(&s->lock);
		if (idle)
			return 0;
		if (deadline_ns) {
			uint64_t now = stats__now_ns(), ms;

			if (now >= deadline_ns)
				return -ETIMEDOUT;
			ms = (deadline_ns - now + 999999) / 1000000;
			timeout_ms = ms > INT_MAX ? INT_MAX : (int)ms;
		}
		if (poll(fds, wake_fd >= 0 ? 2 : 1, timeout_ms) < 0 && errno != EINTR)
			return -errno;
		if (wake_fd >= 0 && (fds[1].revents & POLLIN))
			return -EINTR;
	}
}

void sink__abandon(struct sink *s)
{
	pthread_mutex_lock(&s->lock);
	__atomic_store_n(&s->abandoned, true, __ATOMIC_RELEASE);
	pthread_cond_signal(&s->more);
	while (!s->done) {
		uint64_t at = stats__now_ns() + SINK_KICK_INTERVAL_NS;
		struct timespec ts = {
			.tv_sec = (time_t)(at / 1000000000u),
			.tv_nsec = (long)(at % 1000000000u),
		};

		/* Again each time: a signal that lands just before the writer
		 * enters write() is lost, and the write then blocks. */
		pthread_kill(s->writer, SINK_SIGNAL);
		pthread_cond_timedwait(&s->changed, &s->lock, &ts);
	}
	pthread_mutex_unlock(&s->lock);
}

uint64_t sink__lost(struct sink *s)
{
	uint64_t lost;

	pthread_mutex_lock(&s->lock);
	lost = s->lost;
	pthread_mutex_unlock(&s->lock);
	return lost;
}

int sink__error(struct sink *s)
{
	int err;

	pthread_mutex_lock(&s->lock);
	err = s->error;
	pthread_mutex_unlock(&s->lock);
	return err;
}
