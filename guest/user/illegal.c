/*
 * illegal: children that do what a user process must not, each of which
 * the kernel must kill (wait reports STATUS_KILLED), while `ok` ordinary
 * children run copy-on-write checks next to them and must finish.
 */
#include "workloads.h"

#define SURVIVED 77 /* the exit status of a child the kernel failed to kill */

static struct param params[] = {
	{"ok", 4, 0, 64, "well-behaved children running alongside", 0},
};

static uint64_t *heap_page;

static void write_kernel(void)
{
	*(volatile uint64_t *)0x100000 = 1; /* the kernel image */
}

static void read_null(void)
{
	(void)*(volatile uint64_t *)0;
}

static void jump_unmapped(void)
{
	((void (*)(void))(USER_HEAP_BASE + (1ull << 30)))();
}

static void jump_kernel(void)
{
	((void (*)(void))0x100000)();
}

static void exec_heap(void)
{
	heap_page[0] = 0xc3; /* ret, on a no-execute page */
	((void (*)(void))heap_page)();
}

static void write_text(void)
{
	*(volatile uint8_t *)(uintptr_t)write_text = 0xc3;
}

static void privileged(void)
{
	__asm__ volatile("hlt");
}

static void port_io(void)
{
	__asm__ volatile("outb %%al, $0xf4" : : "a"(0));
}

static const struct {
	const char *name;
	void (*fn)(void);
} bad[] = {
	{"write-kernel", write_kernel}, {"read-null", read_null}, {"jump-unmapped", jump_unmapped},
	{"jump-kernel", jump_kernel},   {"exec-heap", exec_heap}, {"write-text", write_text},
	{"privileged", privileged},     {"port-io", port_io},
};
#define NBAD (sizeof(bad) / sizeof(bad[0]))

/* An ordinary child: stamps its heap page, yields, checks it. */
static int64_t good(uint64_t i)
{
	uint64_t sum = 0;
	if (check_page("illegal ok child", heap_page, tag3(7, 0, 0), &sum) < 0)
		return STATUS_FAILED;
	stamp_page(heap_page, tag3(7, 1, i));
	yield();
	if (check_page("illegal ok child", heap_page, tag3(7, 1, i), &sum) < 0)
		return STATUS_FAILED;
	return to_status(sum);
}

static int run(const struct workload *w)
{
	uint64_t nok = param(w, "ok");
	heap_page = sbrk(4096);
	if (!heap_page) {
		uprintf("illegal: sbrk failed\n");
		return 1;
	}
	stamp_page(heap_page, tag3(7, 0, 0));
	int pids[NBAD + 64];
	int failures = 0;
	for (uint64_t i = 0; i < NBAD + nok; i++) {
		int pid = fork();
		if (pid == 0) {
			if (i < NBAD) {
				bad[i].fn();
				exit(SURVIVED);
			}
			exit(good(i));
		}
		pids[i] = pid;
		if (pid < 0) {
			uprintf("illegal: fork failed: %d\n", pid);
			return 1;
		}
	}
	/* a system call may not reach kernel memory either: it fails, nobody dies */
	int64_t r = syscall3(SYS_WRITE, 0x100000, 16, 0);
	if (r != -EFAULT) {
		uprintf("illegal: write() of kernel memory returned %ld, not -EFAULT\n", r);
		failures++;
	}
	uint64_t killed = 0, sum = 0;
	for (uint64_t i = 0; i < NBAD + nok; i++) {
		int64_t st;
		int pid = wait(pids[i], &st);
		if (i < NBAD && st == STATUS_KILLED) {
			killed++;
		} else if (i >= NBAD && st >= 0) {
			sum += (uint64_t)st;
		} else {
			uprintf("illegal: child %d (%s) ended with status %ld\n", pid,
				i < NBAD ? bad[i].name : "ok", st);
			failures++;
		}
	}
	uint64_t own = 0;
	failures += check_page("illegal parent", heap_page, tag3(7, 0, 0), &own) < 0;
	char extra[128];
	fmt(extra, sizeof(extra), "killed=%lu failures=%d checksum=%016lx", killed, failures,
	    mix(sum + own));
	print_summary(w, extra);
	return failures;
}

struct workload illegal_workload = {
	.name = "illegal",
	.help = "children that break the rules are killed; the others finish",
	.params = params,
	.nparams = sizeof(params) / sizeof(params[0]),
	.run = run,
};
