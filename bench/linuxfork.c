/*
 * linuxfork: Linux's own fork latency, the baseline for umbra's guest fork
 * (bench/forkbench.py --linux). The parent writes one byte to every 4 KiB
 * page of N MiB of anonymous memory, then forks REPS times; each child
 * writes W pages (copy-on-write, like bigparent's children) and exits at
 * once. Prints one line:
 *
 *   linuxfork mib=N write=W reps=R fork_min_us=.. fork_median_us=..
 *     cycle_min_us=.. cycle_median_us=..
 *
 * fork_*: the parent's fork() call alone; cycle_*: fork() until wait()
 * has reaped the child that exited. Built static as well, for the nested
 * initramfs, so that the baseline is measured in the same world as umbra.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The median of N sorted values (the mean of the middle two if N is even). */
static double median(const double *v, int n)
{
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static unsigned long number(const char *s, const char *what)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end) {
		fprintf(stderr, "linuxfork: %s: not a number: %s\n", what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: linuxfork MIB [REPS [WRITE_PAGES]]\n");
		return 2;
	}
	unsigned long mib = number(argv[1], "MIB");
	int reps = argc > 2 ? (int)number(argv[2], "REPS") : 20;
	unsigned long write = argc > 3 ? number(argv[3], "WRITE_PAGES") : 0;
	size_t pages = mib * (1024 * 1024 / PAGE);
	if (reps < 1 || reps > 100000 || pages == 0 || write > pages) {
		fprintf(stderr,
			"linuxfork: need MIB >= 1, 1 <= REPS <= 100000, WRITE_PAGES <= pages\n");
		return 2;
	}
	volatile char *mem = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("linuxfork: mmap");
		return 1;
	}
	/*
	 * 4 KiB pages, as the guest kernel's bigparent has: with transparent
	 * huge pages (Debian's kernel defaults to "always") fork would copy
	 * one entry per 2 MiB, a different job.
	 */
	if (madvise((void *)mem, pages * PAGE, MADV_NOHUGEPAGE) != 0) {
		perror("linuxfork: madvise(MADV_NOHUGEPAGE)");
		return 1;
	}
	/* one write a page: every page is present and private, as in bigparent */
	for (size_t i = 0; i < pages; i++)
		mem[i * PAGE] = (char)i;
	double *fork_us = calloc((size_t)reps, sizeof(double));
	double *cycle_us = calloc((size_t)reps, sizeof(double));
	if (!fork_us || !cycle_us) {
		perror("linuxfork: calloc");
		return 1;
	}
	for (int r = 0; r < reps; r++) {
		double t0 = now_us();
		pid_t pid = fork();
		if (pid == 0) {
			/* spread over the region, so that each write copies its own page */
			for (unsigned long i = 0; i < write; i++)
				mem[(i * (pages / write)) * PAGE] = 1;
			_exit(0);
		}
		double t1 = now_us();
		if (pid < 0) {
			perror("linuxfork: fork");
			return 1;
		}
		int st;
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "linuxfork: the child did not exit with 0\n");
			return 1;
		}
		double t2 = now_us();
		fork_us[r] = t1 - t0;
		cycle_us[r] = t2 - t0;
	}
	qsort(fork_us, (size_t)reps, sizeof(double), cmp_double);
	qsort(cycle_us, (size_t)reps, sizeof(double), cmp_double);
	printf("linuxfork mib=%lu write=%lu reps=%d fork_min_us=%.1f fork_median_us=%.1f "
	       "cycle_min_us=%.1f cycle_median_us=%.1f\n",
	       mib, write, reps, fork_us[0], median(fork_us, reps), cycle_us[0],
	       median(cycle_us, reps));
	free(fork_us);
	free(cycle_us);
	return 0;
}
