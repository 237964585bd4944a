/*
 * sharerace: a parent and its child, on two CPUs, fork and write the same
 * shared heap range at the same moment, so that the kernel's page-table
 * sharing sees the seed's races (its `kernel: tables:` line counts them).
 * Each round the parent stamps `pages` pages, picks a moment `sync`
 * microseconds ahead, forks a child, and both wait for that moment. Then,
 * by round number modulo 3:
 *   0: both write every page at once (unshare + unshare: both copy the
 *      shared tables, the second to let go finds itself last);
 *   1: both fork a grandchild, then write (share + share, then unshare);
 *   2: the parent writes while the child forks (share + unshare), then
 *      the parent forks and the child writes.
 * A grandchild checks the view it was forked with, writes every page,
 * checks again and exits. Every process checks its pages after each step;
 * which writer a process must see is fixed by the round's order, never by
 * the timing, so the summary is the same on any number of CPUs.
 */
#include "workloads.h"

static struct param params[] = {
	{"rounds", 12, 1, 1000, "rounds (3 kinds, in turn)", 0},
	{"pages", 16, 1, 512, "heap pages the processes share and write", 0},
	{"sync", 10000, 0, 10000000, "microseconds from a fork to the common moment", 0},
};

/* Writers: the parent's restamp at the start of a round, then each
 * process's own writes. */
enum {
	PARENT_START,
	PARENT,
	CHILD,
	PARENT_GRANDCHILD,
	CHILD_GRANDCHILD
};

static uint64_t *region;
static uint64_t npages;

static uint64_t tag(uint64_t writer, uint64_t round)
{
	return tag3(6, writer, round);
}

static uint64_t *page(uint64_t j)
{
	return region + j * 512;
}

static void write_all(uint64_t t)
{
	for (uint64_t j = 0; j < npages; j++)
		stamp_page(page(j), t);
}

static int check_all(const char *who, uint64_t t, uint64_t *sum)
{
	int bad = 0;
	for (uint64_t j = 0; j < npages; j++)
		bad |= check_page(who, page(j), t, sum);
	return bad;
}

static void wait_until(uint64_t when)
{
	while (clock_ns() < when)
		;
}

/* A grandchild: sees `seen`, writes its own tag, exits with the checksum. */
static void __attribute__((noreturn)) grandchild(uint64_t seen, uint64_t writer, uint64_t round)
{
	uint64_t sum = 0;
	int bad = check_all("sharerace grandchild", seen, &sum);
	write_all(tag(writer, round));
	bad |= check_all("sharerace grandchild", tag(writer, round), &sum);
	exit(bad ? STATUS_FAILED : to_status(sum));
}

/* Forks a grandchild that sees `seen`; its pid, or 0 after a message. */
static int fork_grandchild(uint64_t seen, uint64_t writer, uint64_t round)
{
	int pid = fork();
	if (pid == 0)
		grandchild(seen, writer, round);
	if (pid < 0)
		uprintf("sharerace: fork failed: %d\n", pid);
	return pid > 0 ? pid : 0;
}

/* Reaps pid into *sum: 0, or 1 for a failure. */
static int reap(int pid, uint64_t *sum)
{
	int64_t st;
	if (!pid)
		return 1;
	if (wait(pid, &st) != pid || st < 0) {
		uprintf("sharerace: process %d failed (status %ld)\n", pid, st);
		return 1;
	}
	*sum += (uint64_t)st;
	return 0;
}

/* One side of a round (the parent's or the child's): what it does at the
 * common moment. Returns the failures; *sum gets the checksums. */
static int side(uint64_t round, bool parent, uint64_t when, uint64_t *sum)
{
	const char *who = parent ? "sharerace parent" : "sharerace child";
	uint64_t me = parent ? PARENT : CHILD;
	uint64_t gwriter = parent ? PARENT_GRANDCHILD : CHILD_GRANDCHILD;
	uint64_t start = tag(PARENT_START, round);
	int bad = 0, gpid = -1;
	wait_until(when);
	switch (round % 3) {
	case 0:
		write_all(tag(me, round));
		break;
	case 1:
		gpid = fork_grandchild(start, gwriter, round);
		write_all(tag(me, round));
		break;
	default:
		if (parent) {
			write_all(tag(me, round));
			gpid = fork_grandchild(tag(me, round), gwriter, round);
		} else {
			gpid = fork_grandchild(start, gwriter, round);
			write_all(tag(me, round));
		}
		break;
	}
	bad |= check_all(who, tag(me, round), sum);
	if (gpid >= 0)
		bad |= reap(gpid, sum);
	bad |= check_all(who, tag(me, round), sum);
	return bad ? 1 : 0;
}

static int run(const struct workload *w)
{
	uint64_t rounds = param(w, "rounds"), sync_ns = param(w, "sync") * 1000;
	npages = param(w, "pages");
	region = sbrk((int64_t)(npages * 4096));
	if (!region) {
		uprintf("sharerace: sbrk failed\n");
		return 1;
	}
	int failures = 0;
	uint64_t sum = 0, processes = 1;
	for (uint64_t r = 0; r < rounds; r++) {
		write_all(tag(PARENT_START, r));
		uint64_t when = clock_ns() + sync_ns;
		int pid = fork();
		if (pid == 0) {
			uint64_t own = 0;
			int bad = check_all("sharerace child", tag(PARENT_START, r), &own);
			bad |= side(r, false, when, &own);
			exit(bad ? STATUS_FAILED : to_status(own));
		}
		if (pid < 0) {
			uprintf("sharerace: fork failed: %d\n", pid);
			failures++;
			break;
		}
		failures += side(r, true, when, &sum);
		failures += reap(pid, &sum);
		processes += r % 3 ? 3 : 1;
	}
	char extra[128];
	fmt(extra, sizeof(extra), "processes=%lu failures=%d checksum=%016lx", processes, failures,
	    mix(sum));
	print_summary(w, extra);
	return failures;
}

struct workload sharerace_workload = {
	.name = "sharerace",
	.help = "a parent and child fork and write shared memory at the same moment",
	.params = params,
	.nparams = sizeof(params) / sizeof(params[0]),
	.run = run,
};
