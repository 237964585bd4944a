/*
 * bigparent: a parent stamps every page of `mem` MiB, then forks
 * `children` children, restamping one page after each fork. Each child
 * checks all the pages (its view of the parent at its fork), stamps
 * `write` pages spread over the region, yields, and checks all again. The
 * parent checks all its pages after reaping them, and prints how long its
 * fastest fork() took, from user space.
 */
#include "workloads.h"

static struct param params[] = {
	{"mem", 8, 1, 4096, "MiB of anonymous memory in the parent", 0},
	{"children", 3, 1, 256, "children, alive at once", 0},
	{"write", 32, 0, 1048576, "pages each child writes", 0},
};

#define STEP 7919 /* a prime: coprime with npages (mem <= 4096 MiB) */

static uint64_t *region;
static uint64_t npages, step_inverse;

/* The parent restamps page restamped(c) after forking child c: distinct
 * pages, since children <= npages. */
static uint64_t restamped(uint64_t c)
{
	return (c * STEP) % npages;
}

/* STEP^-1 mod npages (extended Euclid). */
static uint64_t inverse(uint64_t a, uint64_t m)
{
	int64_t t = 0, nt = 1, r = (int64_t)m, nr = (int64_t)(a % m);
	while (nr) {
		int64_t q = r / nr, x;
		x = t - q * nt, t = nt, nt = x;
		x = r - q * nr, r = nr, nr = x;
	}
	return (uint64_t)(t < 0 ? t + (int64_t)m : t);
}

/* The parent's tag for page j as child c sees it (after c restamps). */
static uint64_t parent_tag(uint64_t j, uint64_t c)
{
	uint64_t k = j * step_inverse % npages; /* restamped(k) == j */
	return tag3(4, j, k < c ? k + 1 : 0);
}

/* Child c writes pages c + t * stride, t < nwrite (distinct: nwrite <= npages). */
static bool child_writes(uint64_t c, uint64_t j, uint64_t nwrite)
{
	if (!nwrite)
		return false;
	uint64_t stride = npages / nwrite;
	uint64_t off = (j + npages - c % npages) % npages;
	return off % stride == 0 && off / stride < nwrite;
}

static int check_all(const char *who, uint64_t c, uint64_t nwrite, bool wrote, uint64_t *sum)
{
	int bad = 0;
	for (uint64_t j = 0; j < npages; j++) {
		uint64_t tag =
			wrote && child_writes(c, j, nwrite) ? tag3(5, c, j) : parent_tag(j, c);
		bad |= check_page(who, region + j * 512, tag, sum);
	}
	return bad;
}

static int64_t child(uint64_t c, uint64_t nwrite)
{
	uint64_t sum = 0;
	int bad = check_all("bigparent child", c, nwrite, false, &sum);
	for (uint64_t j = 0; j < npages; j++)
		if (child_writes(c, j, nwrite))
			stamp_page(region + j * 512, tag3(5, c, j));
	yield();
	bad |= check_all("bigparent child", c, nwrite, true, &sum);
	return bad ? STATUS_FAILED : to_status(sum);
}

static const char *check(const struct workload *w)
{
	if (param(w, "write") > param(w, "mem") * 256)
		return "write is more than the pages in mem";
	return 0;
}

static int run(const struct workload *w)
{
	uint64_t children = param(w, "children"), nwrite = param(w, "write");
	npages = param(w, "mem") * 256;
	step_inverse = inverse(STEP, npages);
	set_phase(UMBRA_PHASE_SETUP);
	region = sbrk(npages * 4096);
	if (!region) {
		uprintf("bigparent: sbrk(%lu MiB) failed\n", param(w, "mem"));
		return 1;
	}
	for (uint64_t j = 0; j < npages; j++)
		stamp_page(region + j * 512, parent_tag(j, 0));
	set_phase(UMBRA_PHASE_USER);
	int failures = 0;
	uint64_t forked = 0, sum = 0, own = 0, fastest = UINT64_MAX;
	for (uint64_t c = 0; c < children; c++) {
		uint64_t t0 = clock_ns();
		int pid = fork();
		uint64_t t = clock_ns() - t0;
		if (pid == 0)
			exit(child(c, nwrite));
		if (pid < 0) {
			uprintf("bigparent: fork failed: %d\n", pid);
			failures++;
			break;
		}
		forked++;
		fastest = t < fastest ? t : fastest;
		stamp_page(region + restamped(c) * 512, parent_tag(restamped(c), c + 1));
	}
	uint64_t timed = forked;
	for (; forked > 0; forked--) {
		int64_t st;
		int pid = wait(-1, &st);
		if (pid < 0 || st < 0) {
			uprintf("bigparent: child %d failed (status %ld)\n", pid, st);
			failures++;
			continue;
		}
		sum += (uint64_t)st;
	}
	failures += check_all("bigparent parent", children, 0, false, &own);
	char extra[128];
	fmt(extra, sizeof(extra), "processes=%lu failures=%d checksum=%016lx", children + 1,
	    failures, mix(sum + mix(own)));
	print_summary(w, extra);
	/* not in the summary: it depends on the machine */
	uprintf("bigparent: fork() in %lu us (the fastest of %lu)\n", fastest / 1000, timed);
	return failures;
}

struct workload bigparent_workload = {
	.name = "bigparent",
	.help = "a parent with much touched memory forks writing children",
	.params = params,
	.nparams = sizeof(params) / sizeof(params[0]),
	.check = check,
	.run = run,
};
