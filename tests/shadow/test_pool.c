/* The pool: all-or-nothing reservations, zeroed pages, poison, and the
 * limbo that holds freed pages until a flush covers them. */
#include <errno.h>
#include <string.h>

#include "fixture.h"
#include "internal.h"

#define R SHADOW_ACCESS_USER
#define VA FX_UVA

static struct fx *fx;

static void setup(void)
{
	fx = fx_new(NULL);
}

static void setup_poison(void)
{
	struct fx_opts o = {.poison = true};

	fx = fx_new(&o);
}

static void setup_deferred(void)
{
	struct fx_opts o = {.defer_free = true, .no_flush_cb = true};

	fx = fx_new(&o);
}

static void setup_deferred_small(void)
{
	struct fx_opts o = {.defer_free = true, .mem_mib = 32, .pool_mib = 2};

	fx = fx_new(&o);
}

static void teardown(void)
{
	fx_check(fx);
	fx_free(fx);
}

/* An address space with n pmd pages filled (n 2 MiB regions), destroyed:
 * frees n + 1 + 1 + 1 pages (pmd pages, PD, PDPT, root). */
static int churn(unsigned n)
{
	uint64_t root = fx_root(fx);
	unsigned i;
	uint32_t h;
	int rc;

	for (i = 0; i < n; i++)
		fx_map(fx, root, VA + i * HUGE_SIZE, fx_data(fx, i), FX_USER);
	rc = shadow_as_create(fx->sh, 0, root, &h);
	if (!rc) {
		for (i = 0; i < n && rc >= 0; i++)
			rc = shadow_fault(fx->sh, 0, h, VA + i * HUGE_SIZE, R);
		ck_assert_int_eq(shadow_as_destroy(fx->sh, 0, h), 0);
	}
	fx_free_tables(fx, root);
	return rc < 0 ? rc : 0;
}

START_TEST(reserve_is_all_or_nothing)
{
	struct resv r = {0}, r2 = {0};
	uint32_t n = pool_available(fx->sh);

	ck_assert_uint_eq(n, fx->cfg.pool_size / PAGE_SIZE);
	ck_assert_int_eq(pool_reserve(fx->sh, &r, n + 1), -ENOMEM);
	ck_assert_uint_eq(r.n, 0);
	ck_assert_uint_eq(pool_available(fx->sh), n);
	ck_assert_uint_eq(fx_stats(fx).alloc_failures, 1);
	ck_assert_int_eq(pool_reserve(fx->sh, &r, n - 1), 0);
	ck_assert_int_eq(pool_reserve(fx->sh, &r2, 2), -ENOMEM);
	ck_assert_int_eq(pool_reserve(fx->sh, &r2, 1), 0);
	ck_assert_uint_eq(pool_available(fx->sh), 0);
	pool_unreserve(fx->sh, &r);
	pool_unreserve(fx->sh, &r2);
	ck_assert_uint_eq(pool_available(fx->sh), n);
	ck_assert(shadow_pool_full(fx->sh));
}
END_TEST

START_TEST(taken_pages_are_zeroed)
{
	uint8_t *pool = fx_host(fx, fx->cfg.pool_gpa);
	struct resv r = {0};
	uint32_t idx;
	unsigned i, k;

	memset(pool, 0xa5, fx->cfg.pool_size);
	ck_assert_int_eq(pool_reserve(fx->sh, &r, 2), 0);
	for (i = 0; i < 2; i++) {
		idx = pool_take(fx->sh, &r, SPAGE_PD);
		for (k = 0; k < PT_ENTRIES; k++)
			ck_assert_uint_eq(pte_load(spage_table(fx->sh, idx) + k), 0);
		pool_free(fx->sh, idx);
	}
	memset(pool, 0, fx->cfg.pool_size);
	ck_assert_uint_eq(fx_stats(fx).pages_allocated, 2);
	ck_assert_uint_eq(fx_stats(fx).pages_freed, 2);
}
END_TEST

/* Freed pages hold SHADOW_POISON in every entry. */
START_TEST(freed_pages_are_poisoned)
{
	const pte_t *pool = fx_host(fx, fx->cfg.pool_gpa);
	unsigned i, k, poisoned = 0, n = fx->cfg.pool_size / PAGE_SIZE;
	bool all;

	ck_assert_int_eq(churn(3), 0);
	for (i = 0; i < n; i++) {
		all = true;
		for (k = 0; k < PT_ENTRIES && all; k++)
			all = pte_load(&pool[i * PT_ENTRIES + k]) == SHADOW_POISON;
		poisoned += all;
	}
	/* 3 pmd pages, a PD, a PDPT, the root, and the mirror's 3 pages */
	ck_assert_uint_eq(poisoned, 3 + 3 + 3);
	ck_assert_uint_eq(fx_stats(fx).pages_freed, poisoned);
}
END_TEST

/* With defer_free, freed pages wait in limbo for a flush that began after
 * they were freed; destroying an address space that is loaded nowhere
 * needs no flush of its own. */
START_TEST(limbo_waits_for_a_later_flush)
{
	uint32_t total = fx->cfg.pool_size / PAGE_SIZE;
	struct shadow_flush_ticket ticket;

	ck_assert(!fx_flush_needed(fx));
	ck_assert_int_eq(churn(2), 0);
	ck_assert(shadow_pool_full(fx->sh));
	ck_assert_uint_eq(pool_available(fx->sh), total - 8);
	ck_assert_uint_eq(fx_stats(fx).pages_now, 8);
	ck_assert(!fx_flush_needed(fx));
	ticket = shadow_flush_begin(fx->sh);
	/* freed after the flush began: not covered by it */
	ck_assert_int_eq(churn(1), 0);
	shadow_flush_done(fx->sh, ticket);
	ck_assert_uint_eq(pool_available(fx->sh), total - 7);
	ck_assert(!fx_flush_needed(fx));
	fx_check(fx);
	shadow_flush_done(fx->sh, shadow_flush_begin(fx->sh));
	ck_assert_uint_eq(pool_available(fx->sh), total);
	ck_assert(!fx_flush_needed(fx));
	ck_assert_uint_eq(fx_stats(fx).flushes, 2);
	ck_assert_uint_eq(fx_stats(fx).pages_now, 0);
	/* limbo counts as in use: 8 waiting while 7 more were in use */
	ck_assert_uint_eq(fx_stats(fx).pages_peak, 15);
}
END_TEST

/* A ticket from the future releases nothing that no begun flush covers. */
START_TEST(future_ticket_is_clamped)
{
	uint32_t total = fx->cfg.pool_size / PAGE_SIZE;

	struct shadow_flush_ticket future = {UINT64_MAX};

	shadow_flush_done(fx->sh, future);
	ck_assert(!fx_flush_needed(fx));
	ck_assert_int_eq(churn(1), 0);
	ck_assert_uint_lt(pool_available(fx->sh), total);
	shadow_flush_done(fx->sh, future);
	ck_assert_uint_lt(pool_available(fx->sh), total);
	shadow_flush_done(fx->sh, shadow_flush_begin(fx->sh));
	ck_assert_uint_eq(pool_available(fx->sh), total);
}
END_TEST

/* Without a flush callback, a pool whose free pages are all in limbo is
 * exhausted until the VMM flushes. */
START_TEST(limbo_without_callback_runs_out)
{
	int rc = 0;
	unsigned i;

	for (i = 0; i < 30 && !rc; i++)
		rc = churn(100);
	ck_assert_int_eq(rc, -ENOMEM);
	shadow_flush_done(fx->sh, shadow_flush_begin(fx->sh));
	ck_assert_int_eq(churn(100), 0);
}
END_TEST

/* With the callback, an allocation that finds only limbo pages flushes
 * and goes on. */
START_TEST(limbo_with_callback_flushes)
{
	unsigned i;

	for (i = 0; i < 10; i++)
		ck_assert_int_eq(churn(200), 0);
	ck_assert_uint_gt(fx->flush_calls, 0);
	ck_assert_uint_eq(fx_stats(fx).flushes, fx->flush_calls);
}
END_TEST

static int failing_flush(void *arg)
{
	(void)arg;
	return -EIO;
}

START_TEST(flush_callback_error_is_returned)
{
	struct resv r = {0};

	ck_assert_int_eq(churn(1), 0);
	fx->sh->cfg.flush = failing_flush;
	ck_assert_int_eq(pool_reserve(fx->sh, &r, fx->cfg.pool_size / PAGE_SIZE), -EIO);
	ck_assert_uint_eq(r.n, 0);
}
END_TEST

Suite *make_pool_suite(void);

Suite *make_pool_suite(void)
{
	Suite *s = suite_create("pool");
	TCase *tc;

	tc = tcase_create("pages");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, reserve_is_all_or_nothing);
	tcase_add_test(tc, taken_pages_are_zeroed);
	suite_add_tcase(s, tc);

	tc = tcase_create("poison");
	tcase_add_checked_fixture(tc, setup_poison, teardown);
	tcase_add_test(tc, freed_pages_are_poisoned);
	suite_add_tcase(s, tc);

	tc = tcase_create("limbo");
	tcase_add_checked_fixture(tc, setup_deferred, teardown);
	tcase_add_test(tc, limbo_waits_for_a_later_flush);
	tcase_add_test(tc, future_ticket_is_clamped);
	tcase_add_test(tc, flush_callback_error_is_returned);
	suite_add_tcase(s, tc);

	tc = tcase_create("limbo_small");
	tcase_add_checked_fixture(tc, setup_deferred_small, teardown);
	tcase_add_test(tc, limbo_with_callback_flushes);
	suite_add_tcase(s, tc);

	tc = tcase_create("limbo_small_no_callback");
	tcase_add_checked_fixture(tc, setup_deferred, teardown);
	tcase_add_test(tc, limbo_without_callback_runs_out);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fx_run(make_pool_suite());
}
