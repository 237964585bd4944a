/*
 * forkstorm: `workers` processes, each forking `forks` children, at most
 * `live` alive at once. A worker stamps `pages` pages, and after each fork
 * restamps one of them (a new generation), so every child has a different
 * view of its parent's memory. A child checks that view, stamps `write`
 * percent of the pages with its own tag, yields (to let siblings run and
 * write), and checks everything again. The worker checks its own pages
 * after every child it reaps.
 */
#include "workloads.h"

static struct param params[] = {
	{"workers", PARAM_NCPU, 1, 64, "worker processes", 0},
	{"forks", 32, 1, 100000, "children per worker", 0},
	{"pages", 16, 1, 65536, "pages each child checks", 0},
	{"write", 50, 0, 100, "percent of the pages each child writes", 0},
	{"live", 4, 1, 16, "children alive at once per worker", 0},
};

#define MAX_PROCESSES 1000 /* alive at once; the kernel has room for 1024 */

static uint64_t *pages;
static uint64_t npages, nwrite;

/* The worker's stamp of page j after m restamps (page m % npages gets restamp m). */
static uint64_t parent_tag(uint64_t w, uint64_t j, uint64_t m)
{
	uint64_t gen = m / npages + (j < m % npages ? 1 : 0);
	return tag3(w, 1000 + j, gen);
}

static uint64_t child_tag(uint64_t w, uint64_t i)
{
	return tag3(w, 2, i);
}

/* Child i writes pages i, i+1, ..., i+nwrite-1 (mod npages). */
static bool child_writes(uint64_t i, uint64_t j)
{
	return (j + npages - i % npages) % npages < nwrite;
}

static uint64_t *page(uint64_t j)
{
	return pages + j * 512;
}

static int64_t child(uint64_t w, uint64_t i)
{
	uint64_t sum = 0;
	int bad = 0;
	for (uint64_t j = 0; j < npages; j++)
		bad |= check_page("forkstorm child", page(j), parent_tag(w, j, i), &sum);
	for (uint64_t j = 0; j < npages; j++)
		if (child_writes(i, j))
			stamp_page(page(j), child_tag(w, i));
	yield();
	for (uint64_t j = 0; j < npages; j++)
		bad |= check_page("forkstorm child", page(j),
				  child_writes(i, j) ? child_tag(w, i) : parent_tag(w, j, i), &sum);
	return bad ? STATUS_FAILED : to_status(sum);
}

static int check_own(uint64_t w, uint64_t m, uint64_t *sum)
{
	int bad = 0;
	for (uint64_t j = 0; j < npages; j++)
		bad |= check_page("forkstorm worker", page(j), parent_tag(w, j, m), sum);
	return bad;
}

/* Reaps one child into *sum; returns the number of failures (0 or 1). */
static int reap(uint64_t *sum)
{
	int64_t st;
	int pid = wait(-1, &st);
	if (pid < 0) {
		uprintf("forkstorm: wait failed: %d\n", pid);
		return 1;
	}
	if (st < 0) {
		uprintf("forkstorm: child %d failed (status %ld)\n", pid, st);
		return 1;
	}
	*sum += (uint64_t)st;
	return 0;
}

static int64_t worker(const struct workload *wl, uint64_t w)
{
	uint64_t forks = param(wl, "forks"), live_max = param(wl, "live");
	uint64_t sum = 0, own = 0;
	int failures = 0;
	set_phase(UMBRA_PHASE_SETUP);
	pages = sbrk(npages * 4096);
	if (!pages) {
		uprintf("forkstorm: worker %lu: sbrk(%lu pages) failed\n", w, npages);
		return STATUS_FAILED;
	}
	for (uint64_t j = 0; j < npages; j++)
		stamp_page(page(j), parent_tag(w, j, 0));
	set_phase(UMBRA_PHASE_USER);
	uint64_t live = 0;
	for (uint64_t i = 0; i < forks; i++) {
		if (live == live_max) {
			failures += reap(&sum);
			live--;
			failures += check_own(w, i, &own);
		}
		int pid = fork();
		if (pid == 0)
			exit(child(w, i));
		if (pid < 0) {
			uprintf("forkstorm: worker %lu: fork failed: %d\n", w, pid);
			failures++;
			break;
		}
		live++;
		stamp_page(page(i % npages), parent_tag(w, i % npages, i + 1));
	}
	while (live > 0) {
		failures += reap(&sum);
		live--;
	}
	failures += check_own(w, forks, &own);
	return failures ? STATUS_FAILED : to_status(sum + mix(own));
}

static const char *check(const struct workload *wl)
{
	if (1 + param(wl, "workers") * (1 + param(wl, "live")) > MAX_PROCESSES)
		return "workers and live make more than 1000 processes alive at once";
	return 0;
}

static int run(const struct workload *wl)
{
	uint64_t workers = param(wl, "workers");
	npages = param(wl, "pages");
	nwrite = (npages * param(wl, "write") + 50) / 100;
	for (uint64_t w = 0; w < workers; w++) {
		int pid = fork();
		if (pid == 0)
			exit(worker(wl, w));
		if (pid < 0) {
			uprintf("forkstorm: fork of worker %lu failed: %d\n", w, pid);
			return 1;
		}
	}
	uint64_t sum = 0;
	int failures = 0;
	for (uint64_t w = 0; w < workers; w++)
		failures += reap(&sum);
	char extra[128];
	fmt(extra, sizeof(extra), "processes=%lu failures=%d checksum=%016lx",
	    1 + workers + workers * param(wl, "forks"), failures, mix(sum));
	print_summary(wl, extra);
	return failures;
}

struct workload forkstorm_workload = {
	.name = "forkstorm",
	.help = "workers fork children that check and write copy-on-write pages",
	.params = params,
	.nparams = sizeof(params) / sizeof(params[0]),
	.check = check,
	.run = run,
};
