/*
 * heapshrink: giving heap memory back while page tables are shared. The
 * parent stamps `pages` heap pages and forks `children` children, alive
 * at once; after each fork it unmaps its first sixteenth (munmap), checks
 * that it reads zero, and stamps it again. Child c checks its view, unmaps
 * a hole of five eighths of the pages (a whole PT and parts of others, for
 * enough pages), checks that the hole reads zero and the rest is intact,
 * writes every seventh page of the hole, shrinks the heap by half with a
 * negative sbrk, grows it back and checks that the regrown half reads
 * zero. The parent reaps them, checks its pages, gives the whole heap
 * back and checks that it reads zero when grown again. The kernel's final
 * leak check proves that the dropped references were the right ones.
 */
#include "workloads.h"

static struct param params[] = {
	{"pages", 1536, 64, 1048576, "heap pages (1536: three PTs)", 0},
	{"children", 2, 1, 16, "children, alive at once", 0},
};

enum {
	PARENT_START,
	PARENT_AGAIN,
	CHILD_HOLE
};

static uint64_t *region;
static uint64_t npages;

static uint64_t tag(uint64_t writer, uint64_t gen, uint64_t j)
{
	return tag3(7, writer, gen * 65536 + j);
}

static uint64_t *page(uint64_t j)
{
	return region + j * 512;
}

/* The parent's first sixteenth, which it unmaps and stamps again. */
static uint64_t head(void)
{
	return npages / 16;
}

/* What the parent's page j holds after it restamped its head for child c
 * (c = -1: not yet). */
static uint64_t parent_tag(uint64_t j, int64_t c)
{
	return j < head() && c >= 0 ? tag(PARENT_AGAIN, (uint64_t)c, j) : tag(PARENT_START, 0, j);
}

/* Checks that page j reads zero (both stamped qwords). */
static int check_zero(const char *who, uint64_t j, uint64_t *sum)
{
	const uint64_t *p = page(j);
	if (p[0] || p[511]) {
		uprintf("%s: pid %d: page %p should read zero, found %016lx %016lx\n", who,
			getpid(), (const void *)p, p[0], p[511]);
		return 1;
	}
	*sum += j;
	return 0;
}

/* Child c's hole: pages [*from, *to). */
static void hole(uint64_t c, uint64_t *from, uint64_t *to)
{
	*from = c % 2 ? npages * 5 / 16 : npages / 16;
	*to = *from + npages * 10 / 16;
}

/* Page j of child c after it wrote its hole (before any shrink). */
static int check_child(uint64_t c, uint64_t j, uint64_t *sum)
{
	uint64_t from, to;
	hole(c, &from, &to);
	if (j < from || j >= to)
		return check_page("heapshrink child", page(j), parent_tag(j, (int64_t)c - 1), sum);
	if ((j - from) % 7 == 0)
		return check_page("heapshrink child", page(j), tag(CHILD_HOLE, c, j), sum);
	return check_zero("heapshrink child", j, sum);
}

static int64_t child(uint64_t c)
{
	uint64_t sum = 0, from, to, half = npages / 2;
	int bad = 0;
	for (uint64_t j = 0; j < npages; j++)
		bad |= check_page("heapshrink child", page(j), parent_tag(j, (int64_t)c - 1), &sum);
	hole(c, &from, &to);
	if (munmap(page(from), (to - from) * 4096) != 0)
		return STATUS_FAILED;
	for (uint64_t j = from; j < to; j += 7)
		stamp_page(page(j), tag(CHILD_HOLE, c, j));
	for (uint64_t j = 0; j < npages; j++)
		bad |= check_child(c, j, &sum);
	if (sbrk(-(int64_t)(half * 4096)) != page(npages))
		return STATUS_FAILED;
	for (uint64_t j = 0; j < npages - half; j++)
		bad |= check_child(c, j, &sum);
	if (sbrk((int64_t)(half * 4096)) != page(npages - half))
		return STATUS_FAILED;
	for (uint64_t j = npages - half; j < npages; j++)
		bad |= check_zero("heapshrink child", j, &sum);
	return bad ? STATUS_FAILED : to_status(sum);
}

/* The parent gives its head back and stamps it again (for child c). */
static int renew_head(uint64_t c, uint64_t *sum)
{
	int bad = munmap(region, head() * 4096) != 0;
	for (uint64_t j = 0; j < head(); j++)
		bad |= check_zero("heapshrink parent", j, sum);
	for (uint64_t j = 0; j < head(); j++)
		stamp_page(page(j), tag(PARENT_AGAIN, c, j));
	return bad;
}

/* The refused calls and a break inside a page; the heap ends as it was. */
static int edges(void)
{
	char *end = (char *)page(npages);
	int bad = sbrk(-(int64_t)(npages * 4096 + 4096)) != 0;
	bad |= munmap(end - 4095, 4096) != -EINVAL || munmap(region, 0) != -EINVAL;
	bad |= munmap(end - 4096, 8192) != -EINVAL;
	bad |= sbrk(100) != end || sbrk(-50) != end + 100 || sbrk(-50) != end + 50;
	bad |= sbrk(0) != end;
	if (bad)
		uprintf("heapshrink: a refused sbrk or munmap, or a break inside a page, went "
			"wrong\n");
	return bad;
}

static int run(const struct workload *w)
{
	uint64_t children = param(w, "children"), forked = 0, sum = 0, own = 0;
	npages = param(w, "pages");
	region = sbrk((int64_t)(npages * 4096));
	if (!region) {
		uprintf("heapshrink: sbrk failed\n");
		return 1;
	}
	for (uint64_t j = 0; j < npages; j++)
		stamp_page(page(j), parent_tag(j, -1));
	int failures = 0;
	for (uint64_t c = 0; c < children; c++) {
		int pid = fork();
		if (pid == 0)
			exit(child(c));
		if (pid < 0) {
			uprintf("heapshrink: fork failed: %d\n", pid);
			failures++;
			break;
		}
		forked++;
		failures += renew_head(c, &own);
	}
	for (uint64_t n = forked; n > 0; n--) {
		int64_t st;
		int pid = wait(-1, &st);
		if (pid < 0 || st < 0) {
			uprintf("heapshrink: child %d failed (status %ld)\n", pid, st);
			failures++;
			continue;
		}
		sum += (uint64_t)st;
	}
	for (uint64_t j = 0; j < npages; j++)
		if (check_page("heapshrink parent", page(j), parent_tag(j, (int64_t)forked - 1),
			       &own))
			failures++;
	/* All of it back, then grown again: it reads zero. */
	if (sbrk(-(int64_t)(npages * 4096)) != page(npages) ||
	    sbrk((int64_t)(npages * 4096)) != region)
		failures++;
	for (uint64_t j = 0; j < npages; j += 64)
		failures += check_zero("heapshrink parent", j, &own);
	failures += edges();
	char extra[128];
	fmt(extra, sizeof(extra), "processes=%lu failures=%d checksum=%016lx", forked + 1, failures,
	    mix(sum + mix(own)));
	print_summary(w, extra);
	return failures;
}

struct workload heapshrink_workload = {
	.name = "heapshrink",
	.help = "children and parent give heap back (munmap, sbrk < 0) from shared tables",
	.params = params,
	.nparams = sizeof(params) / sizeof(params[0]),
	.run = run,
};
