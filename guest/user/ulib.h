/*
 * The user programs' runtime: system calls (int3, guest/uapi.h), console
 * output, and what the workloads share: parameters, data patterns,
 * checks and checksums.
 */
#ifndef GUEST_USER_ULIB_H
#define GUEST_USER_ULIB_H

#include <stdbool.h>
#include <stdint.h>

#include <umbra/abi.h> /* phase numbers */

#include "lib.h"
#include "uapi.h"

static inline int64_t syscall3(uint64_t nr, uint64_t a, uint64_t b, uint64_t *rdx)
{
	int64_t rax = (int64_t)nr;
	uint64_t d = 0;
	__asm__ volatile("int3" : "+a"(rax), "+d"(d) : "D"(a), "S"(b) : "memory");
	if (rdx)
		*rdx = d;
	return rax;
}

void exit(int64_t status) __attribute__((noreturn));
int fork(void);
/* Reaps a child (pid, or -1 for any): its pid, *status its exit status; or -ECHILD. */
int wait(int pid, int64_t *status);
int getpid(void);
void yield(void);
/* The old break, or NULL. A negative increment gives memory back. */
void *sbrk(int64_t increment);
/* Drops heap pages (they read as zero again): 0 or -errno. */
int munmap(void *va, uint64_t len);
uint64_t clock_ns(void);
void set_phase(int phase);

/* Prints one line (or more) with a single write: lines of concurrent
 * processes do not mix. */
void uprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Exit statuses of workload processes: >= 0 a checksum, < 0 failure. */
#define STATUS_FAILED (-2)

/* Deterministic values: mix is a bijective 64-bit hash (splitmix64's). */
static inline uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

/* A tag names one writer of data: a process role and a generation. */
static inline uint64_t tag3(uint64_t a, uint64_t b, uint64_t c)
{
	return mix(mix(mix(a + 1) ^ b) + c);
}

/* A checksum as an exit status: non-negative. */
static inline int64_t to_status(uint64_t sum)
{
	return (int64_t)(sum >> 2);
}

/*
 * Page stamps: a writer with tag t stamps a page's first and last qwords
 * with values derived from t and the address; a reader checks them. A
 * page that shows another writer's stamp (or none) fails the check, which
 * prints the address and both values.
 */
void stamp_page(uint64_t *page, uint64_t tag);
/* 0 if the page carries tag's stamp, -1 (after printing) if not; adds
 * the stamp to *sum. `who` names the checker in the message. */
int check_page(const char *who, const uint64_t *page, uint64_t tag, uint64_t *sum);

/* Workload parameters: name=value, decimal, within [min, max]. */
struct param {
	const char *name;
	uint64_t def; /* default; PARAM_NCPU: the number of CPUs */
	uint64_t min, max;
	const char *help;
	uint64_t value; /* after parsing */
};
#define PARAM_NCPU UINT64_MAX

struct workload {
	const char *name;
	const char *help;
	struct param *params;
	unsigned nparams;
	/* Checks what parsing cannot (e.g. a product of two parameters);
	 * NULL if nothing. Returns an error message or NULL. */
	const char *(*check)(const struct workload *w);
	/* Runs it; returns the number of failures seen. */
	int (*run)(const struct workload *w);
};

/* The value of parameter `name` of w. */
uint64_t param(const struct workload *w, const char *name);
/* Prints "summary: NAME k=v ... " + extra: the one line runs compare by. */
void print_summary(const struct workload *w, const char *extra);

extern unsigned ncpu; /* CPUs, from the kernel */

#endif /* GUEST_USER_ULIB_H */
