/* The user programs' runtime (see ulib.h). */
#include <stdarg.h>

#include "ulib.h"

unsigned ncpu = 1;

void exit(int64_t status)
{
	syscall3(SYS_EXIT, (uint64_t)status, 0, 0);
	__builtin_unreachable();
}

int fork(void)
{
	return (int)syscall3(SYS_FORK, 0, 0, 0);
}

int wait(int pid, int64_t *status)
{
	uint64_t st;
	int r = (int)syscall3(SYS_WAIT, (uint64_t)(int64_t)pid, 0, &st);
	if (r > 0 && status)
		*status = (int64_t)st;
	return r;
}

int getpid(void)
{
	return (int)syscall3(SYS_GETPID, 0, 0, 0);
}

void yield(void)
{
	syscall3(SYS_YIELD, 0, 0, 0);
}

void *sbrk(int64_t increment)
{
	int64_t r = syscall3(SYS_SBRK, (uint64_t)increment, 0, 0);
	return r < 0 ? 0 : (void *)r;
}

int munmap(void *va, uint64_t len)
{
	return (int)syscall3(SYS_MUNMAP, (uint64_t)va, len, 0);
}

uint64_t clock_ns(void)
{
	return (uint64_t)syscall3(SYS_CLOCK, 0, 0, 0);
}

void set_phase(int phase)
{
	syscall3(SYS_PHASE, (uint64_t)phase, 0, 0);
}

void uprintf(const char *f, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, f);
	int n = vfmt(buf, sizeof(buf), f, ap);
	va_end(ap);
	syscall3(SYS_WRITE, (uint64_t)buf, n < (int)sizeof(buf) ? (uint64_t)n : sizeof(buf) - 1, 0);
}

void stamp_page(uint64_t *page, uint64_t tag)
{
	page[0] = mix(tag ^ (uint64_t)page);
	page[511] = mix(~tag ^ (uint64_t)page);
}

int check_page(const char *who, const uint64_t *page, uint64_t tag, uint64_t *sum)
{
	uint64_t want0 = mix(tag ^ (uint64_t)page), want1 = mix(~tag ^ (uint64_t)page);
	if (page[0] != want0 || page[511] != want1) {
		const uint64_t *at = page[0] != want0 ? &page[0] : &page[511];
		uprintf("%s: pid %d: mismatch at %p: expected %016lx, found %016lx\n", who,
			getpid(), (const void *)at, at == page ? want0 : want1, *at);
		return -1;
	}
	*sum += want0 + (want1 << 1);
	return 0;
}

uint64_t param(const struct workload *w, const char *name)
{
	for (unsigned i = 0; i < w->nparams; i++)
		if (!strcmp(w->params[i].name, name))
			return w->params[i].value;
	uprintf("%s: no parameter '%s'\n", w->name, name);
	exit(STATUS_FAILED);
}

void print_summary(const struct workload *w, const char *extra)
{
	char buf[400];
	int n = fmt(buf, sizeof(buf), "summary: %s", w->name);
	for (unsigned i = 0; i < w->nparams && n < (int)sizeof(buf); i++)
		n += fmt(buf + n, sizeof(buf) - n, " %s=%lu", w->params[i].name,
			 w->params[i].value);
	if (n < (int)sizeof(buf))
		fmt(buf + n, sizeof(buf) - n, " %s", extra);
	uprintf("%s\n", buf);
}
