/* Page clears and copies: the instruction or the hypercall (see pageops.h). */
#include <stdbool.h>

#include "pageops.h"
#include "console.h"
#include "lib.h"
#include "platform.h"
#include "x86.h"

/* Each method is timed on one page SAMPLES times; the best counts. */
#define SAMPLES 2

static bool clear_by_call, copy_by_call;
static char description[96] = "rep";

/* Scratch pages for the measurement, in the image: no allocator needed. */
static uint64_t scratch[2][PGSIZE / 8] __attribute__((aligned(PGSIZE)));

static void hc_clear(void *page)
{
	int64_t r = hypercall(UMBRA_HC_PAGE_CLEAR, (uint64_t)page, 0, 0, 0, 0, 0);
	if (r != 0)
		panic("UMBRA_HC_PAGE_CLEAR(%p): %ld", page, r);
}

static void hc_copy(void *dst, const void *src)
{
	int64_t r = hypercall(UMBRA_HC_PAGE_COPY, (uint64_t)dst, (uint64_t)src, 0, 0, 0, 0);
	if (r != 0)
		panic("UMBRA_HC_PAGE_COPY(%p, %p): %ld", dst, src, r);
}

static void rep_clear(void *page)
{
	fill_qwords(page, 0, PGSIZE / 8);
}

static void rep_copy(void *dst, const void *src)
{
	copy_qwords(dst, src, PGSIZE / 8);
}

/* The fastest of SAMPLES clears (copies) of a scratch page, in ns. */
static uint64_t clear_ns(void (*clear)(void *page))
{
	uint64_t best = UINT64_MAX;
	for (unsigned i = 0; i < SAMPLES; i++) {
		uint64_t t0 = platform_clock_ns();
		clear(scratch[0]);
		uint64_t t = platform_clock_ns() - t0;
		best = t < best ? t : best;
	}
	return best;
}

static uint64_t copy_ns(void (*copy)(void *dst, const void *src))
{
	uint64_t best = UINT64_MAX;
	for (unsigned i = 0; i < SAMPLES; i++) {
		uint64_t t0 = platform_clock_ns();
		copy(scratch[0], scratch[1]);
		uint64_t t = platform_clock_ns() - t0;
		best = t < best ? t : best;
	}
	return best;
}

void pageops_init(void)
{
	if (!platform.umbra)
		return;
	uint64_t rep_z = clear_ns(rep_clear), call_z = clear_ns(hc_clear);
	uint64_t rep_c = copy_ns(rep_copy), call_c = copy_ns(hc_copy);
	clear_by_call = call_z < rep_z;
	copy_by_call = call_c < rep_c;
	fmt(description, sizeof(description),
	    "clear by %s (%lu us, rep %lu us), copy by %s (%lu us, rep %lu us)",
	    clear_by_call ? "hypercall" : "rep", call_z / 1000, rep_z / 1000,
	    copy_by_call ? "hypercall" : "rep", call_c / 1000, rep_c / 1000);
}

void page_clear(void *page)
{
	if (clear_by_call)
		hc_clear(page);
	else
		rep_clear(page);
}

void page_copy(void *dst, const void *src)
{
	if (copy_by_call)
		hc_copy(dst, src);
	else
		rep_copy(dst, src);
}

const char *pageops_describe(void)
{
	return description;
}
