/*
 * sink_test: the sink (vmm/sink.c) against pipes that are read, never read
 * and closed: what it writes, what it counts as lost, and that nothing it
 * does blocks its owner or a producer past the bounds it promises.
 */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "sink.h"
#include "stats.h"

#define MS 1000000ull

static int pipe_fds[2];
static struct sink s;

static void pipe_setup(void)
{
	ck_assert_int_eq(pipe2(pipe_fds, O_CLOEXEC), 0);
	ck_assert_int_eq(sink__init(&s, pipe_fds[1], 4096), 0);
}

static void pipe_teardown(void)
{
	sink__release(&s);
	close(pipe_fds[1]);
	if (pipe_fds[0] >= 0)
		close(pipe_fds[0]);
}

/* Bytes that say where they are: byte i is i * 7 mod 251. */
static uint8_t *pattern(size_t len)
{
	uint8_t *p = malloc(len);

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 % 251);
	return p;
}

static void read_exactly(int fd, uint8_t *buf, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t n = read(fd, buf + off, len - off);

		ck_assert_int_gt(n, 0);
		off += (size_t)n;
	}
}

/* Queued bytes reach a reader in order, and the sink becomes idle. */
START_TEST(test_delivers)
{
	uint8_t *in = pattern(3000), out[3000];

	sink__put_all(&s, in, 1000);
	sink__put(&s, in + 1000, 2000);
	read_exactly(pipe_fds[0], out, sizeof(out));
	ck_assert_int_eq(sink__wait(&s, stats__now_ns() + 5000 * MS, -1), 0);
	ck_assert_mem_eq(in, out, sizeof(out));
	sink__abandon(&s);
	ck_assert_uint_eq(sink__lost(&s), 0);
	ck_assert_int_eq(sink__error(&s), 0);
	free(in);
}
END_TEST

/* With nothing queued, waiting returns at once, whatever the deadline;
 * nothing queued includes an empty piece. */
START_TEST(test_idle_at_once)
{
	ck_assert_int_eq(sink__wait(&s, 0, -1), 0);
	sink__put_all(&s, "", 0);
	sink__put(&s, "", 0);
	ck_assert_int_eq(sink__wait(&s, 0, -1), 0);
}
END_TEST

/*
 * Nobody reads: the wait ends at its deadline, and abandoning interrupts
 * the writer's blocked write. Exactly what the pipe took was written.
 */
START_TEST(test_abandon_unread)
{
	int cap = fcntl(pipe_fds[1], F_GETPIPE_SZ);
	size_t len = 3 * (size_t)cap;
	uint8_t *in = pattern(len), *out = malloc((size_t)cap);
	uint64_t start = stats__now_ns();

	ck_assert_int_gt(cap, 0);
	sink__put_all(&s, in, len);
	ck_assert_int_eq(sink__wait(&s, start + 100 * MS, -1), -ETIMEDOUT);
	ck_assert_uint_ge(stats__now_ns() - start, 100 * MS);
	sink__abandon(&s);
	ck_assert_uint_lt(stats__now_ns() - start, 2000 * MS);
	ck_assert_uint_eq(sink__lost(&s), len - (size_t)cap);
	ck_assert_int_eq(sink__error(&s), 0);
	read_exactly(pipe_fds[0], out, (size_t)cap);
	ck_assert_mem_eq(in, out, (size_t)cap);
	/* After abandon, more output is lost at once. */
	sink__put(&s, in, 10);
	ck_assert_uint_eq(sink__lost(&s), len - (size_t)cap + 10);
	free(in);
	free(out);
}
END_TEST

/* The reader is gone: the write error is kept and everything is lost. */
START_TEST(test_reader_closed)
{
	uint8_t *in = pattern(5000);

	close(pipe_fds[0]);
	pipe_fds[0] = -1;
	sink__put_all(&s, in, 5000);
	ck_assert_int_eq(sink__wait(&s, stats__now_ns() + 5000 * MS, -1), 0);
	sink__abandon(&s);
	ck_assert_int_eq(sink__error(&s), EPIPE);
	ck_assert_uint_eq(sink__lost(&s), 5000);
	free(in);
}
END_TEST

/* A wake-up fd that is readable ends the wait. */
START_TEST(test_wake_fd)
{
	int cap = fcntl(pipe_fds[1], F_GETPIPE_SZ);
	uint8_t *in = pattern(2 * (size_t)cap);
	int wake = eventfd(1, EFD_CLOEXEC);

	ck_assert_int_ge(wake, 0);
	sink__put_all(&s, in, 2 * (size_t)cap);
	ck_assert_int_eq(sink__wait(&s, 0, wake), -EINTR);
	close(wake);
	free(in);
}
END_TEST

struct producer {
	uint8_t piece[4096];
	int pieces;
	bool done; /* read and written under done_lock */
	pthread_mutex_t done_lock;
};

static void *produce(void *arg)
{
	struct producer *p = arg;

	for (int i = 0; i < p->pieces; i++)
		sink__put(&s, p->piece, sizeof(p->piece));
	pthread_mutex_lock(&p->done_lock);
	p->done = true;
	pthread_mutex_unlock(&p->done_lock);
	return NULL;
}

/*
 * A producer that respects the room waits while nobody reads, and goes on
 * once told to stop waiting; every byte is either written or lost.
 */
START_TEST(test_put_waits_until_stop)
{
	int cap = fcntl(pipe_fds[1], F_GETPIPE_SZ);
	struct producer p = {.pieces = 4 + 2 * cap / 4096};
	pthread_t t;
	bool done;

	pthread_mutex_init(&p.done_lock, NULL);
	ck_assert_int_eq(pthread_create(&t, NULL, produce, &p), 0);
	usleep(200000);
	pthread_mutex_lock(&p.done_lock);
	done = p.done;
	pthread_mutex_unlock(&p.done_lock);
	ck_assert(!done);
	sink__stop_waiting(&s);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	sink__abandon(&s);
	ck_assert_uint_eq(sink__lost(&s), (uint64_t)p.pieces * 4096 - (uint64_t)cap);
	pthread_mutex_destroy(&p.done_lock);
}
END_TEST

static Suite *make_sink_suite(void)
{
	Suite *suite = suite_create("sink");
	TCase *tc = tcase_create("pipes");

	tcase_add_checked_fixture(tc, pipe_setup, pipe_teardown);
	tcase_add_test(tc, test_delivers);
	tcase_add_test(tc, test_idle_at_once);
	tcase_add_test(tc, test_abandon_unread);
	tcase_add_test(tc, test_reader_closed);
	tcase_add_test(tc, test_wake_fd);
	tcase_add_test(tc, test_put_waits_until_stop);
	suite_add_tcase(suite, tc);
	return suite;
}

int main(void)
{
	SRunner *sr = srunner_create(make_sink_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
