/*
 * forktree: a tree of processes `depth` levels below the root, each inner
 * node with `fanout` children. Every level owns `pages` pages of a region
 * the root allocates. A node checks the pages of all its ancestors (each
 * stamped them before forking), stamps its own level's pages, forks its
 * children, yields, checks again (children write the next level and must
 * not show through), then reaps them and checks once more.
 */
#include "workloads.h"

#define MAX_PROCESSES 1000

static struct param params[] = {
	{"depth", 4, 0, 16, "levels below the root", 0},
	{"fanout", 3, 1, 64, "children of each inner node", 0},
	{"pages", 4, 1, 4096, "pages each level owns", 0},
};

static uint64_t *region;
static uint64_t depth, fanout, npages;

static uint64_t processes(uint64_t d, uint64_t f)
{
	uint64_t n = 1, level = 1;
	for (uint64_t i = 0; i < d; i++) {
		level *= f;
		n += level;
		if (n > MAX_PROCESSES)
			return n;
	}
	return n;
}

static const char *check(const struct workload *w)
{
	static char why[96];
	uint64_t n = processes(param(w, "depth"), param(w, "fanout"));
	if (n <= MAX_PROCESSES)
		return 0;
	fmt(why, sizeof(why), "depth and fanout make more than %d processes", MAX_PROCESSES);
	return why;
}

static uint64_t *level_page(uint64_t level, uint64_t j)
{
	return region + (level * npages + j) * 512;
}

/* Checks the pages of levels 0..level: node ids[e] stamped level e. */
static int check_levels(const uint64_t *ids, uint64_t level, uint64_t *sum)
{
	int bad = 0;
	for (uint64_t e = 0; e <= level; e++)
		for (uint64_t j = 0; j < npages; j++)
			bad |= check_page("forktree", level_page(e, j), tag3(ids[e], 3, e), sum);
	return bad;
}

/* Node `ids[level]` (ids[0..level-1]: its ancestors). Returns its status. */
static int64_t node(uint64_t *ids, uint64_t level)
{
	uint64_t sum = 0;
	int bad = level > 0 ? check_levels(ids, level - 1, &sum) : 0;
	for (uint64_t j = 0; j < npages; j++)
		stamp_page(level_page(level, j), tag3(ids[level], 3, level));
	if (level < depth) {
		uint64_t forked = 0;
		for (uint64_t c = 0; c < fanout; c++) {
			ids[level + 1] = ids[level] * fanout + c + 1;
			int pid = fork();
			if (pid == 0)
				exit(node(ids, level + 1));
			if (pid < 0) {
				uprintf("forktree: fork failed: %d\n", pid);
				bad = 1;
				break;
			}
			forked++;
		}
		yield();
		bad |= check_levels(ids, level, &sum);
		for (; forked > 0; forked--) {
			int64_t st;
			int pid = wait(-1, &st);
			if (pid < 0 || st < 0) {
				uprintf("forktree: child %d failed (status %ld)\n", pid, st);
				bad = 1;
				continue;
			}
			sum += (uint64_t)st;
		}
		bad |= check_levels(ids, level, &sum);
	}
	return bad ? STATUS_FAILED : to_status(mix(sum));
}

static int run(const struct workload *w)
{
	uint64_t ids[17] = {0};
	depth = param(w, "depth");
	fanout = param(w, "fanout");
	npages = param(w, "pages");
	region = sbrk((depth + 1) * npages * 4096);
	if (!region) {
		uprintf("forktree: sbrk failed\n");
		return 1;
	}
	int64_t st = node(ids, 0);
	char extra[128];
	fmt(extra, sizeof(extra), "processes=%lu failures=%d checksum=%016lx",
	    processes(depth, fanout), st < 0, mix((uint64_t)st));
	print_summary(w, extra);
	return st < 0;
}

struct workload forktree_workload = {
	.name = "forktree",
	.help = "a tree of processes; each checks its ancestors' pages",
	.params = params,
	.nparams = sizeof(params) / sizeof(params[0]),
	.check = check,
	.run = run,
};
