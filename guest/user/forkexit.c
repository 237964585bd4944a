/*
 * forkexit: the shell pattern. Each of `workers` processes forks `forks`
 * times; the child only reads a counter (the parent's value at the fork)
 * and exits with it; the parent waits for that child, checks the status,
 * and bumps the counter.
 */
#include "workloads.h"

static struct param params[] = {
	{"workers", PARAM_NCPU, 1, 64, "worker processes", 0},
	{"forks", 100, 1, 1000000, "fork+exit+wait rounds per worker", 0},
};

static uint64_t counter;

static int64_t worker(uint64_t w, uint64_t forks)
{
	uint64_t sum = 0;
	int failures = 0;
	for (uint64_t i = 0; i < forks; i++) {
		counter = tag3(w, 6, i);
		int pid = fork();
		if (pid == 0)
			exit(to_status(counter));
		if (pid < 0) {
			uprintf("forkexit: worker %lu: fork failed: %d\n", w, pid);
			return STATUS_FAILED;
		}
		counter = 0; /* the child must not see this */
		int64_t st;
		int got = wait(pid, &st);
		if (got != pid || st != to_status(tag3(w, 6, i))) {
			uprintf("forkexit: worker %lu: child %d of round %lu: expected status %ld, "
				"found %ld (wait returned %d)\n",
				w, pid, i, to_status(tag3(w, 6, i)), st, got);
			failures++;
		}
		sum += (uint64_t)st;
	}
	return failures ? STATUS_FAILED : to_status(sum);
}

static int run(const struct workload *wl)
{
	uint64_t workers = param(wl, "workers"), forks = param(wl, "forks");
	for (uint64_t w = 0; w < workers; w++) {
		int pid = fork();
		if (pid == 0)
			exit(worker(w, forks));
		if (pid < 0) {
			uprintf("forkexit: fork of worker %lu failed: %d\n", w, pid);
			return 1;
		}
	}
	uint64_t sum = 0;
	int failures = 0;
	for (uint64_t w = 0; w < workers; w++) {
		int64_t st;
		int pid = wait(-1, &st);
		if (pid < 0 || st < 0) {
			uprintf("forkexit: worker %d failed (status %ld)\n", pid, st);
			failures++;
			continue;
		}
		sum += (uint64_t)st;
	}
	char extra[128];
	fmt(extra, sizeof(extra), "processes=%lu failures=%d checksum=%016lx",
	    1 + workers + workers * forks, failures, mix(sum));
	print_summary(wl, extra);
	return failures;
}

struct workload forkexit_workload = {
	.name = "forkexit",
	.help = "fork, exit at once, wait: the shell pattern",
	.params = params,
	.nparams = sizeof(params) / sizeof(params[0]),
	.run = run,
};
