/*
 * bench/shadow-fork: what one fork costs the shadow MMU, by policy.
 *
 * For each size M, a parent address space maps M MiB of user memory in
 * 4 KiB pages, every page touched (filled, writable and dirty), and is
 * forked with each policy. Per fork it prints the shadow entries written,
 * the pool pages allocated, the guest entries written (copy-on-write of
 * both trees) and the time of shadow_as_fork() (median of the runs; the
 * guest's own copy of its tables is not timed), then the copy/share and
 * lazy/share ratios. Share writes O(M / 2 MiB) shadow entries, copy
 * O(M / 4 KiB); both read and write-protect O(M / 4 KiB) guest entries.
 *
 * With -g 1 or -g 2 the guest shares its own tables at fork (two-level
 * sharing, docs/architecture.md): its PTs (1) or PDs (2) are shared, the
 * child's tables above them are copies, and the VMM's fork is O(the
 * shared tables) instead of O(M / 4 KiB).
 *
 * Usage: shadow-fork [-m MiB]... [-p share|copy|lazy]... [-r runs] [-g 0|1|2]
 * (defaults: -m 64 -m 256 -m 1024, all policies, 7 runs, -g 0). A fresh
 * parent is built for every fork, so every fork starts from the same state.
 */
#include <config.h> /* clock_gettime, getopt: POSIX */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"

#define MAX_SIZES 8
#define MAX_RUNS 101

static const char *const policy_names[] = {"share", "copy", "lazy"};

struct result {
	uint64_t entries, pages, guest_entries;
	double us; /* median */
};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* One fork of a fresh parent of `mib` MiB; the counters of that fork. */
static double fork_once(struct fx *fx, unsigned mib, enum shadow_policy p, unsigned shared,
			struct result *res)
{
	uint64_t root = fx_root(fx), croot, va, i, pages = (uint64_t)mib << 8;
	struct shadow_stats before, after;
	uint32_t h, c;
	double t0, t1;
	int rc;

	for (i = 0; i < pages; i++)
		fx_map(fx, root, FX_UVA + i * PAGE_SIZE, fx_data(fx, i), PTE_P | PTE_W | PTE_U);
	if (shadow_as_create(fx->sh, 0, root, &h)) {
		fprintf(stderr, "shadow-fork: create failed\n");
		exit(1);
	}
	for (i = 0; i < pages; i++) {
		va = FX_UVA + i * PAGE_SIZE;
		rc = shadow_fault(fx->sh, 0, h, va, SHADOW_ACCESS_USER | SHADOW_ACCESS_WRITE);
		if (rc != SHADOW_FAULT_FILLED) {
			fprintf(stderr, "shadow-fork: fault at %#llx: %d\n", (unsigned long long)va,
				rc);
			exit(1);
		}
	}
	croot = shared ? fx_copy_sharing(fx, root, shared) : fx_copy(fx, root, true);
	shadow_stats_read(fx->sh, &before);
	t0 = now_us();
	rc = shadow_as_fork(fx->sh, 0, h, croot, p, &c);
	t1 = now_us();
	shadow_stats_read(fx->sh, &after);
	if (rc) {
		fprintf(stderr, "shadow-fork: fork (%s, %u MiB): %d\n", policy_names[p], mib, rc);
		exit(1);
	}
	res->entries = after.shadow_entries_written - before.shadow_entries_written;
	res->pages = after.pages_allocated - before.pages_allocated;
	res->guest_entries = after.guest_entries_written - before.guest_entries_written;
	shadow_as_destroy(fx->sh, 0, c);
	shadow_as_destroy(fx->sh, 0, h);
	fx_free_tables(fx, croot);
	fx_free_tables(fx, root);
	return t1 - t0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: shadow-fork [-m MiB]... [-p share|copy|lazy]... [-r runs] [-g 0|1|2]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned sizes[MAX_SIZES], nsizes = 0, runs = 7, shared = 0, s, r, i;
	bool want[3] = {false, false, false}, any = false;
	struct result res[MAX_SIZES][3];
	static double times[3][MAX_RUNS];
	struct fx_opts o = {.mem_mib = 96, .pool_mib = 16, .data_mib = 16, .max_as = 4};
	struct fx *fx;
	int opt;

	while ((opt = getopt(argc, argv, "m:p:r:g:")) != -1) {
		switch (opt) {
		case 'm':
			if (nsizes == MAX_SIZES)
				usage();
			sizes[nsizes] = (unsigned)strtoul(optarg, NULL, 0);
			if (sizes[nsizes] < 2 || sizes[nsizes] > 4096)
				usage();
			nsizes++;
			break;
		case 'p':
			for (i = 0; i < 3 && strcmp(optarg, policy_names[i]); i++)
				;
			if (i == 3)
				usage();
			want[i] = any = true;
			break;
		case 'r':
			runs = (unsigned)strtoul(optarg, NULL, 0);
			if (runs < 1 || runs > MAX_RUNS)
				usage();
			break;
		case 'g':
			shared = (unsigned)strtoul(optarg, NULL, 0);
			if (shared > 2)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (!nsizes) {
		sizes[0] = 64;
		sizes[1] = 256;
		sizes[2] = 1024;
		nsizes = 3;
	}
	if (!any)
		want[0] = want[1] = want[2] = true;

	fx = fx_new(&o);
	printf("%8s %-6s %12s %8s %14s %12s\n", "MiB", "policy", "shadow-ents", "pages",
	       "guest-ents", "median-us");
	for (s = 0; s < nsizes; s++) {
		/* a warm-up fork each, then the policies take turns, so that
		 * the first touch of memory and any drift of the machine fall
		 * on none of them in particular */
		for (i = 0; i < 3; i++) {
			if (want[i])
				fork_once(fx, sizes[s], (enum shadow_policy)i, shared, &res[s][i]);
		}
		for (r = 0; r < runs; r++) {
			for (i = 0; i < 3; i++) {
				if (want[i])
					times[i][r] = fork_once(fx, sizes[s], (enum shadow_policy)i,
								shared, &res[s][i]);
			}
		}
		for (i = 0; i < 3; i++) {
			if (!want[i])
				continue;
			qsort(times[i], runs, sizeof(times[i][0]), cmp_double);
			res[s][i].us = times[i][runs / 2];
			printf("%8u %-6s %12llu %8llu %14llu %12.1f\n", sizes[s], policy_names[i],
			       (unsigned long long)res[s][i].entries,
			       (unsigned long long)res[s][i].pages,
			       (unsigned long long)res[s][i].guest_entries, res[s][i].us);
		}
		if (want[0] && want[1])
			printf("%8u copy/share: entries %.1fx, pages %.1fx, time %.2fx\n", sizes[s],
			       (double)res[s][1].entries / res[s][0].entries,
			       (double)res[s][1].pages / res[s][0].pages,
			       res[s][1].us / res[s][0].us);
		if (want[0] && want[2])
			printf("%8u lazy/share: entries %.1fx, pages %.1fx, time %.2fx\n", sizes[s],
			       (double)res[s][2].entries / res[s][0].entries,
			       (double)res[s][2].pages / res[s][0].pages,
			       res[s][2].us / res[s][0].us);
	}
	fx_free(fx);
	return 0;
}
