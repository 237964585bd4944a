/* The sharing protocol, one path at a time: share with count 1 and > 1,
 * unshare by copy and in place, the last put, and their failures. */
#include <errno.h>

#include "fixture.h"
#include "internal.h"

#define R SHADOW_ACCESS_USER
#define W (SHADOW_ACCESS_USER | SHADOW_ACCESS_WRITE)
#define VA (FX_UVA + 0x600000ull)
#define NPAGES 8u

static struct fx *fx;
static uint64_t root;
static uint32_t h;

/* A parent with NPAGES user pages at VA, written (so private, writable,
 * dirty), in one pmd page of count 1. */
static void setup(void)
{
	unsigned i;

	fx = fx_new(NULL);
	root = fx_root(fx);
	for (i = 0; i < NPAGES; i++)
		fx_map(fx, root, VA + i * PAGE_SIZE, fx_data(fx, i), PTE_P | PTE_W | PTE_U);
	h = fx_create(fx, root);
	for (i = 0; i < NPAGES; i++)
		fx_touch(fx, h, VA + i * PAGE_SIZE, W);
}

static void teardown(void)
{
	fx_check(fx);
	fx_free(fx);
}

static void flush(void)
{
	fx_flush_take(fx);
	shadow_flush_done(fx->sh, shadow_flush_begin(fx->sh));
}

/* A level-1 update of va in a to a fresh writable frame (the guest's
 * copy-on-write break). */
static int cow_break(uint32_t a, uint64_t va, uint64_t frame)
{
	struct shadow_update u = {.va = va, .value = frame | FX_USER, .level = 1};
	int err = 0, n;

	n = shadow_update(fx->sh, 0, a, &u, 1, &err);
	return n == 1 ? 0 : err;
}

START_TEST(share_count_1_write_protects)
{
	uint64_t pde, cpde, e;
	struct shadow_stats st;
	uint32_t c;

	flush();
	c = fx_fork(fx, h, root, SHADOW_SHARE, NULL);
	st = fx_stats(fx);
	ck_assert_uint_eq(st.share_exclusive, 1);
	ck_assert_uint_eq(st.share_shared, 0);
	ck_assert_int_eq(shadow_pmd_count(fx->sh, h, VA), 2);
	ck_assert_int_eq(shadow_pmd_count(fx->sh, c, VA), 2);
	e = fx_sleaf(fx, h, VA, &pde);
	fx_sleaf(fx, c, VA, &cpde);
	ck_assert(!(pde & PTE_W) && !(cpde & PTE_W));
	ck_assert_uint_eq(pde, cpde);
	/* O(1): the page itself was not written; its leaves keep their W,
	 * which the read-only PD entry masks */
	ck_assert(e & PTE_W);
	ck_assert(fx_flush_needed(fx));
	/* the parent's and the child's guest entries lost W (copy-on-write) */
	ck_assert(!(pte_load(fx_entry(fx, root, VA, 1)) & PTE_W));
}
END_TEST

START_TEST(share_count_above_1_only_increments)
{
	uint64_t croot;
	struct shadow_stats st;
	uint32_t c, c2, g;

	c = fx_fork(fx, h, root, SHADOW_SHARE, &croot);
	flush();
	st = fx_stats(fx);
	c2 = fx_fork(fx, h, root, SHADOW_SHARE, NULL);
	g = fx_fork(fx, c, croot, SHADOW_SHARE, NULL);
	ck_assert_uint_eq(fx_stats(fx).share_exclusive, st.share_exclusive);
	ck_assert_uint_eq(fx_stats(fx).share_shared, st.share_shared + 2);
	ck_assert_int_eq(shadow_pmd_count(fx->sh, g, VA), 4);
	ck_assert_int_eq(shadow_pmd_count(fx->sh, c2, VA), 4);
	/* nothing narrowed, nothing freed: no flush needed */
	ck_assert(!fx_flush_needed(fx));
}
END_TEST

START_TEST(unshare_count_above_1_copies)
{
	struct shadow_translation t;
	struct shadow_stats st;
	uint64_t pde;
	uint32_t c;

	c = fx_fork(fx, h, root, SHADOW_SHARE, NULL);
	st = fx_stats(fx);
	ck_assert_int_eq(cow_break(c, VA, fx_data(fx, 100)), 0);
	ck_assert_uint_eq(fx_stats(fx).unshare_copy, st.unshare_copy + 1);
	ck_assert_uint_eq(fx_stats(fx).unshare_copy_last, 0);
	ck_assert_uint_eq(fx_stats(fx).pages_allocated, st.pages_allocated + 1);
	ck_assert_int_eq(shadow_pmd_count(fx->sh, c, VA), 1);
	ck_assert_int_eq(shadow_pmd_count(fx->sh, h, VA), 1);
	fx_sleaf(fx, c, VA, &pde);
	ck_assert(pde & PTE_W);
	fx_sleaf(fx, h, VA, &pde);
	ck_assert(!(pde & PTE_W));
	/* the copy holds the other pages, read-only (the child's guest
	 * entries are copy-on-write), and the new one, writable */
	ck_assert_int_eq(shadow_translate(fx->sh, c, VA + PAGE_SIZE, &t), 0);
	ck_assert_uint_eq(t.gpa, fx_data(fx, 1));
	ck_assert(!t.writable);
	ck_assert_int_eq(shadow_translate(fx->sh, c, VA, &t), 0);
	ck_assert_uint_eq(t.gpa, fx_data(fx, 100));
	ck_assert(t.writable);
	ck_assert_int_eq(shadow_translate(fx->sh, h, VA, &t), 0);
	ck_assert_uint_eq(t.gpa, fx_data(fx, 0));
	ck_assert_uint_eq(fx_frame_maps(fx, fx_data(fx, 1)), 2);
	ck_assert_uint_eq(fx_frame_maps(fx, fx_data(fx, 0)), 1);
}
END_TEST

START_TEST(unshare_count_1_is_in_place)
{
	struct shadow_translation t;
	struct shadow_stats st;
	uint64_t pde, before;
	uint32_t c;

	c = fx_fork(fx, h, root, SHADOW_SHARE, NULL);
	ck_assert_int_eq(cow_break(c, VA, fx_data(fx, 100)), 0);
	fx_sleaf(fx, h, VA, &before);
	st = fx_stats(fx);
	ck_assert_int_eq(cow_break(h, VA, fx_data(fx, 101)), 0);
	ck_assert_uint_eq(fx_stats(fx).unshare_exclusive, st.unshare_exclusive + 1);
	ck_assert_uint_eq(fx_stats(fx).unshare_copy, st.unshare_copy);
	ck_assert_uint_eq(fx_stats(fx).pages_allocated, st.pages_allocated);
	fx_sleaf(fx, h, VA, &pde);
	ck_assert_uint_eq(pde, before | PTE_W);
	ck_assert_int_eq(shadow_pmd_count(fx->sh, h, VA), 1);
	ck_assert_int_eq(shadow_translate(fx->sh, h, VA, &t), 0);
	ck_assert(t.writable);
	/* re-derived in place: the pages the parent's guest made
	 * copy-on-write are read-only now */
	ck_assert_int_eq(shadow_translate(fx->sh, h, VA + PAGE_SIZE, &t), 0);
	ck_assert(!t.writable);
}
END_TEST

/* An unsharer drops what its own guest no longer maps the same way. */
START_TEST(unshare_drops_entries_the_guest_changed)
{
	uint64_t croot;
	uint32_t c;

	c = fx_fork(fx, h, root, SHADOW_SHARE, &croot);
	/* behind the library's back: the page still shared */
	pte_store(fx_entry(fx, croot, VA + PAGE_SIZE, 1), fx_data(fx, 200) | FX_USER_RO);
	pte_store(fx_entry(fx, croot, VA + 2 * PAGE_SIZE, 1), 0);
	ck_assert_int_eq(cow_break(c, VA, fx_data(fx, 100)), 0);
	ck_assert_uint_eq(fx_sleaf(fx, c, VA + PAGE_SIZE, NULL), 0);
	ck_assert_uint_eq(fx_sleaf(fx, c, VA + 2 * PAGE_SIZE, NULL), 0);
	ck_assert(fx_sleaf(fx, c, VA + 3 * PAGE_SIZE, NULL) & PTE_P);
	ck_assert(fx_sleaf(fx, h, VA + PAGE_SIZE, NULL) & PTE_P);
}
END_TEST

/* While the child copies, the parent (the other sharer) drops its
 * reference: the child's put is the last, it frees the old page. Made to
 * happen in one thread from the hook; the race tests do it with two. */
static uint32_t racer;

static void destroy_racer_hook(void *arg, enum shadow_hook_point where)
{
	(void)arg;
	if (where == HOOK_UNSHARE_COPIED && racer) {
		ck_assert_int_eq(shadow_as_destroy(fx->sh, 1, racer), 0);
		racer = 0;
	}
}

START_TEST(unshare_copy_then_last)
{
	struct shadow_stats st;
	uint32_t c;

	c = fx_fork(fx, h, root, SHADOW_SHARE, NULL);
	st = fx_stats(fx);
	racer = h;
	shadow_set_hook(fx->sh, destroy_racer_hook, NULL);
	ck_assert_int_eq(cow_break(c, VA, fx_data(fx, 100)), 0);
	shadow_set_hook(fx->sh, NULL, NULL);
	ck_assert_uint_eq(fx_stats(fx).unshare_copy, st.unshare_copy + 1);
	ck_assert_uint_eq(fx_stats(fx).unshare_copy_last, st.unshare_copy_last + 1);
	ck_assert_uint_eq(fx_stats(fx).pmd_freed, st.pmd_freed + 1);
	ck_assert_uint_eq(fx_frame_maps(fx, fx_data(fx, 0)), 0);
	ck_assert_uint_eq(fx_frame_maps(fx, fx_data(fx, 1)), 1);
}
END_TEST

START_TEST(destroy_non_last_then_last_sharer)
{
	struct shadow_stats st;
	uint32_t c1, c2;
	unsigned i;

	c1 = fx_fork(fx, h, root, SHADOW_SHARE, NULL);
	c2 = fx_fork(fx, h, root, SHADOW_SHARE, NULL);
	st = fx_stats(fx);
	ck_assert_int_eq(shadow_as_destroy(fx->sh, 0, c1), 0);
	ck_assert_int_eq(shadow_pmd_count(fx->sh, h, VA), 2);
	ck_assert_uint_eq(fx_stats(fx).pmd_freed, st.pmd_freed);
	ck_assert_uint_eq(fx_frame_maps(fx, fx_data(fx, 0)), 1);
	fx_check(fx);
	ck_assert_int_eq(shadow_as_destroy(fx->sh, 0, h), 0);
	ck_assert_int_eq(shadow_pmd_count(fx->sh, c2, VA), 1);
	ck_assert_uint_eq(fx_stats(fx).pmd_freed, st.pmd_freed);
	fx_check(fx);
	ck_assert_int_eq(shadow_as_destroy(fx->sh, 0, c2), 0);
	ck_assert_uint_eq(fx_stats(fx).pmd_freed, st.pmd_freed + 1);
	for (i = 0; i < NPAGES; i++)
		ck_assert_uint_eq(fx_frame_maps(fx, fx_data(fx, i)), 0);
	ck_assert(shadow_pool_full(fx->sh));
}
END_TEST

/* Unshare needs one page when it copies: without it the update fails and
 * nothing changes; with it, it goes through. */
START_TEST(unshare_without_a_page_changes_nothing)
{
	struct fx_snap snap;
	uint32_t c;

	c = fx_fork(fx, h, root, SHADOW_SHARE, NULL);
	fx_limit(fx, 0);
	fx_snap(fx, &snap);
	ck_assert_int_eq(cow_break(c, VA, fx_data(fx, 100)), -ENOMEM);
	fx_snap_same(fx, &snap);
	fx_check(fx);
	fx_limit(fx, 1);
	ck_assert_int_eq(cow_break(c, VA, fx_data(fx, 100)), 0);
	/* the parent, now alone, needs no page */
	fx_limit(fx, 0);
	ck_assert_int_eq(cow_break(h, VA, fx_data(fx, 101)), 0);
	fx_unlimit(fx);
}
END_TEST

/* Guest 2 MiB pages are shadowed by 4 KiB leaves in pmd pages, shared
 * like any other; a fill unshares it first, as in any page shared by
 * copies. */
START_TEST(share_guest_2m_pages)
{
	uint64_t va = FX_UVA + 0x80000000ull, croot;
	struct shadow_translation t;
	uint32_t c;

	fx_map_2m(fx, root, va, fx->data, FX_USER);
	fx_touch(fx, h, va, W);
	fx_touch(fx, h, va + 0x1ff000, R);
	c = fx_fork(fx, h, root, SHADOW_SHARE, &croot);
	ck_assert_int_eq(shadow_pmd_count(fx->sh, c, va), 2);
	ck_assert(!(pte_load(fx_entry(fx, croot, va, 2)) & PTE_W));
	ck_assert_int_eq(shadow_translate(fx->sh, c, va + 0x1ff008, &t), 0);
	ck_assert_uint_eq(t.gpa, fx->data + 0x1ff008);
	ck_assert(!t.writable);
	fx_touch(fx, c, va + 0x3000, R);
	ck_assert_uint_eq(fx_stats(fx).unshare_copy, 1);
	ck_assert_int_eq(shadow_pmd_count(fx->sh, c, va), 1);
	ck_assert_int_eq(shadow_translate(fx->sh, c, va + 0x3008, &t), 0);
	ck_assert_uint_eq(t.gpa, fx->data + 0x3008);
}
END_TEST

/* Each path is charged to the vCPU whose call took it, and the vCPUs'
 * counters add up to the totals. */
START_TEST(counters_charged_per_vcpu)
{
	struct shadow_stats t, c0, c1;
	struct shadow_update u = {.va = VA, .value = fx_data(fx, 100) | FX_USER, .level = 1};
	uint32_t c;
	int err = 0;

	c = fx_fork(fx, h, root, SHADOW_SHARE, NULL);                  /* cpu 0 shares */
	ck_assert_int_eq(shadow_update(fx->sh, 1, c, &u, 1, &err), 1); /* cpu 1 unshares */
	ck_assert_int_eq(shadow_stats_read_cpu(fx->sh, 0, &c0), 0);
	ck_assert_int_eq(shadow_stats_read_cpu(fx->sh, 1, &c1), 0);
	shadow_stats_read(fx->sh, &t);
	ck_assert_uint_eq(c0.share_exclusive, 1);
	ck_assert_uint_eq(c1.share_exclusive, 0);
	ck_assert_uint_eq(c0.unshare_copy, 0);
	ck_assert_uint_eq(c1.unshare_copy, 1);
	ck_assert_uint_eq(c1.updates, 1);
	ck_assert_uint_eq(c0.forks_share + c1.forks_share, t.forks_share);
	ck_assert_uint_eq(c0.fill_private + c1.fill_private, t.fill_private);
	ck_assert_uint_eq(c0.shadow_entries_written + c1.shadow_entries_written,
			  t.shadow_entries_written);
	ck_assert_uint_eq(c0.pages_allocated + c1.pages_allocated, t.pages_allocated);
	ck_assert_uint_eq(c1.pages_now, 0);
	ck_assert_int_eq(shadow_stats_read_cpu(fx->sh, fx->cfg.max_cpus, &c0), -EINVAL);
}
END_TEST

Suite *make_share_suite(void);

Suite *make_share_suite(void)
{
	Suite *s = suite_create("share");
	TCase *tc;

	tc = tcase_create("share");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, share_count_1_write_protects);
	tcase_add_test(tc, share_count_above_1_only_increments);
	tcase_add_test(tc, share_guest_2m_pages);
	suite_add_tcase(s, tc);

	tc = tcase_create("unshare");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, unshare_count_above_1_copies);
	tcase_add_test(tc, unshare_count_1_is_in_place);
	tcase_add_test(tc, unshare_drops_entries_the_guest_changed);
	tcase_add_test(tc, unshare_copy_then_last);
	tcase_add_test(tc, unshare_without_a_page_changes_nothing);
	suite_add_tcase(s, tc);

	tc = tcase_create("put");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, destroy_non_last_then_last_sharer);
	tcase_add_test(tc, counters_charged_per_vcpu);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fx_run(make_share_suite());
}
