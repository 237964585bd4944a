/*
 * Hostile class 5 (issue 10, docs/hostile.md): the destroy and teardown
 * paths without deferred frees, where a freed page goes straight back to
 * the free list. Meant to run under ASan and UBSan, and also with
 * CK_FORK=no, where every test of this program runs in one process and one
 * thread one after another, so that per-thread state a test leaves behind
 * meets the next test's fresh library instance.
 *
 * What 7c60f4c did: as_lookup() kept the address space it locked in a
 * thread-local pointer (locked_as) that as_unlock() cleared but as_free()
 * did not (it unlocked directly). After shadow_destroy() freed the slots,
 * the pointer dangled; the next instance's first page free without
 * defer_free (flush_advance) wrote through it: a heap-use-after-free that
 * ASan reports, in one test (stale_pointer_across_instances) or across two
 * with CK_FORK=no (leave_state_behind, then fresh_instance_teardown).
 * No test killed it, nor mutations of these paths.
 *
 * The right answer, checked here: no such report; every destroy order
 * (parent or child first, with pmd pages shared by copies and tables the
 * guest shares) gives every pool page back and leaves the invariants
 * whole, with the frame counts of the guest's pages and tables at zero;
 * teardown with address spaces still live and loaded, and with the
 * kernel-only root loaded, is safe; two instances used in turn by one
 * thread do not see each other.
 */
#include <errno.h>

#include "fixture.h"
#include "internal.h"

#define W (SHADOW_ACCESS_USER | SHADOW_ACCESS_WRITE)
#define VA (FX_UVA + 0x200000ull)

/* No deferred frees: a freed page is free at once. */
static const struct fx_opts no_defer[] = {
	{.flush_mode = SHADOW_FLUSH_TLB},
	{.flush_mode = SHADOW_FLUSH_GLOBAL, .poison = true},
	{.flush_mode = SHADOW_FLUSH_COPY},
};
#define NCONFIGS (sizeof(no_defer) / sizeof(no_defer[0]))

/* A guest root with pages written at VA and one region further, and an
 * address space for it whose shadow has them all. */
static uint32_t populated(struct fx *fx, uint64_t *root)
{
	uint32_t h;
	unsigned i;

	*root = fx_root(fx);
	for (i = 0; i < 4; i++)
		fx_map(fx, *root, VA + i * PAGE_SIZE, fx_data(fx, i), FX_USER);
	fx_map(fx, *root, VA + HUGE_SIZE, fx_data(fx, 7), FX_USER);
	h = fx_create(fx, *root);
	for (i = 0; i < 4; i++)
		fx_touch(fx, h, VA + i * PAGE_SIZE, W);
	fx_touch(fx, h, VA + HUGE_SIZE, SHADOW_ACCESS_USER);
	return h;
}

/* The guest's copy-on-write of va in h, from vCPU cpu: its PTE to a
 * page of its own, writable (unshares a pmd page shared by copies). */
static void cow(struct fx *fx, unsigned cpu, uint32_t h, uint64_t va, uint64_t frame)
{
	struct shadow_update u = {.va = va, .value = frame | FX_USER, .level = 1};
	int err = 0;

	int rc;

	ck_assert_int_eq(shadow_update(fx->sh, cpu, h, &u, 1, &err), 1);
	rc = shadow_fault(fx->sh, cpu, h, va, W);
	ck_assert(rc == SHADOW_FAULT_FILLED || rc == SHADOW_FAULT_SPURIOUS);
}

/* Everything destroyed: the pool is whole, no frame is counted. */
static void expect_empty(struct fx *fx, uint64_t root)
{
	unsigned i;

	fx_check(fx);
	ck_assert(shadow_pool_full(fx->sh));
	ck_assert_uint_eq(fx_stats(fx).address_spaces_now, 0);
	for (i = 0; i < 8; i++)
		ck_assert_uint_eq(fx_frame_maps(fx, fx_data(fx, i)), 0);
	ck_assert_uint_eq(frame_links(fx->sh, root), 0);
	ck_assert_uint_eq(frame_level(fx->sh, root), 0);
}

/* In one test: the first instance is used and destroyed (its slots freed),
 * then a second one frees pages before its first lookup. */
START_TEST(stale_pointer_across_instances)
{
	struct fx *one = fx_new(&no_defer[_i]), *two;
	uint64_t root;
	uint32_t h = populated(one, &root);

	ck_assert_int_eq(shadow_as_destroy(one->sh, 0, h), 0);
	fx_free(one);

	/* No call of `two` looks an address space up before its teardown
	 * frees pages (with the mirror: four per address space). */
	two = fx_new(&no_defer[_i]);
	root = fx_root(two);
	fx_map(two, root, VA, fx_data(two, 1), FX_USER);
	fx_create(two, root);
	fx_create(two, fx_copy(two, root, false));
	fx_free(two);
}
END_TEST

/* The same in two tests, for CK_FORK=no: this one leaves a destroyed
 * instance behind on this thread... */
START_TEST(leave_state_behind)
{
	struct fx *fx = fx_new(&no_defer[_i]);
	uint64_t root, gpa;
	uint32_t h = populated(fx, &root);

	ck_assert_int_eq(shadow_switch(fx->sh, 0, h, &gpa), 0);
	fx_touch(fx, h, VA, W);
	ck_assert_int_eq(shadow_unload(fx->sh, 0), 0);
	ck_assert_int_eq(shadow_as_destroy(fx->sh, 0, h), 0);
	fx_free(fx);
}
END_TEST

/* ... and this one creates (no lookup) and tears down. */
START_TEST(fresh_instance_teardown)
{
	struct fx *fx = fx_new(&no_defer[_i]);
	uint64_t root;
	uint32_t h;

	root = fx_root(fx);
	fx_map(fx, root, VA, fx_data(fx, 1), FX_USER);
	h = fx_create(fx, root);
	ck_assert_uint_ne(h, 0);
	fx_free(fx);
}
END_TEST

/* Destroy orders over sharing: a = the parent, c = a share-policy child
 * (pmd pages shared by copies), s = a child whose guest shares A's PTs
 * with it (identity), then destroyed in each of the six orders. */
START_TEST(destroy_orders)
{
	static const unsigned orders[6][3] = {
		{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0},
	};
	unsigned config = (unsigned)_i / 6, order = (unsigned)_i % 6, i;
	struct fx *fx = fx_new(&no_defer[config]);
	uint64_t root, croot, sroot;
	uint32_t hs[3];

	hs[0] = populated(fx, &root);
	hs[1] = fx_fork(fx, hs[0], root, SHADOW_SHARE, &croot);
	hs[2] = fx_fork_sharing(fx, hs[0], root, SHADOW_SHARE, 1, &sroot);
	cow(fx, 0, hs[1], VA, fx_data(fx, 5)); /* the child unshares a region */
	fx_check(fx);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(shadow_as_destroy(fx->sh, 0, hs[orders[order][i]]), 0);
		ck_assert_int_eq(shadow_as_destroy(fx->sh, 0, hs[orders[order][i]]), -EBADF);
		fx_check(fx);
	}
	expect_empty(fx, root);
	ck_assert_uint_eq(frame_links(fx->sh, croot), 0);
	ck_assert_uint_eq(frame_links(fx->sh, sroot), 0);
	fx_free(fx);
}
END_TEST

/* Teardown with everything live: address spaces loaded on two vCPUs,
 * the kernel-only root on a third, a child sharing pages. */
START_TEST(teardown_live_and_loaded)
{
	struct fx *fx = fx_new(&no_defer[_i]);
	uint64_t root, croot, gpa;
	uint32_t h = populated(fx, &root), c = fx_fork(fx, h, root, SHADOW_SHARE, &croot);

	ck_assert_int_eq(shadow_switch(fx->sh, 0, h, &gpa), 0);
	ck_assert_int_eq(shadow_switch(fx->sh, 1, c, &gpa), 0);
	ck_assert_int_eq(shadow_switch(fx->sh, 2, 0, &gpa), 0);
	cow(fx, 1, c, VA + PAGE_SIZE, fx_data(fx, 6));
	fx_check(fx);
	fx_free(fx);
}
END_TEST

/* Two instances used in turn by one thread: each call acts on its own
 * instance, whatever the other did last, and destroying one leaves the
 * other whole. */
START_TEST(two_instances_in_turn)
{
	struct fx *one = fx_new(&no_defer[_i]), *two = fx_new(&no_defer[_i]);
	uint64_t r1, r2, croot;
	uint32_t h1 = populated(one, &r1), h2 = populated(two, &r2), c;
	struct shadow_stats before, after;

	c = fx_fork(two, h2, r2, SHADOW_SHARE, &croot);
	fx_touch(one, h1, VA + 3 * PAGE_SIZE, W);
	ck_assert_int_eq(shadow_as_destroy(two->sh, 0, c), 0);
	shadow_stats_read(one->sh, &before);
	ck_assert_int_eq(shadow_as_destroy(two->sh, 0, h2), 0);
	fx_free(two);
	shadow_stats_read(one->sh, &after);
	ck_assert_uint_eq(after.pages_freed, before.pages_freed);
	fx_touch(one, h1, VA, W);
	fx_check(one);
	ck_assert_int_eq(shadow_as_destroy(one->sh, 0, h1), 0);
	expect_empty(one, r1);
	fx_free(one);
}
END_TEST

static Suite *make_teardown_suite(void)
{
	Suite *s = suite_create("teardown");
	TCase *tc = tcase_create("no_defer_free");

	/* In this order: with CK_FORK=no, each test meets what the one
	 * before left on the thread. */
	tcase_add_loop_test(tc, stale_pointer_across_instances, 0, NCONFIGS);
	tcase_add_loop_test(tc, leave_state_behind, 0, NCONFIGS);
	tcase_add_loop_test(tc, fresh_instance_teardown, 0, NCONFIGS);
	tcase_add_loop_test(tc, destroy_orders, 0, NCONFIGS * 6);
	tcase_add_loop_test(tc, teardown_live_and_loaded, 0, NCONFIGS);
	tcase_add_loop_test(tc, two_instances_in_turn, 0, NCONFIGS);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fx_run(make_teardown_suite());
}
