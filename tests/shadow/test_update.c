/* Guest table updates through the library: each level, batches, and
 * every bad update refused with nothing changed. */
#include <errno.h>

#include "fixture.h"
#include "internal.h"

#define R SHADOW_ACCESS_USER
#define W (SHADOW_ACCESS_USER | SHADOW_ACCESS_WRITE)
#define VA (FX_UVA + 0x40600000ull)

static struct fx *fx;
static uint64_t root;
static uint32_t h;

static void setup(void)
{
	unsigned i;

	fx = fx_new(NULL);
	root = fx_root(fx);
	for (i = 0; i < 4; i++)
		fx_map(fx, root, VA + i * PAGE_SIZE, fx_data(fx, i), PTE_P | PTE_W | PTE_U);
	h = fx_create(fx, root);
	for (i = 0; i < 4; i++)
		fx_touch(fx, h, VA + i * PAGE_SIZE, W);
}

static void teardown(void)
{
	fx_check(fx);
	fx_free(fx);
}

static int update1(uint32_t a, uint64_t va, uint64_t value, unsigned level)
{
	struct shadow_update u = {.va = va, .value = value, .level = level};
	int err = 0, n;

	n = shadow_update(fx->sh, 0, a, &u, 1, &err);
	ck_assert_int_ge(n, 0);
	return n == 1 ? 0 : err;
}

static uint64_t table_at(uint64_t r, uint64_t va, unsigned level)
{
	return level == 4 ? r : pte_load(fx_entry(fx, r, va, level + 1)) & PTE_FRAME;
}

START_TEST(level1_repoints_the_leaf)
{
	struct shadow_translation t;

	shadow_flush_done(fx->sh, shadow_flush_begin(fx->sh));
	ck_assert_int_eq(update1(h, VA, fx_data(fx, 50) | FX_USER, 1), 0);
	ck_assert_uint_eq(pte_load(fx_entry(fx, root, VA, 1)), fx_data(fx, 50) | FX_USER);
	ck_assert_int_eq(shadow_translate(fx->sh, h, VA, &t), 0);
	ck_assert_uint_eq(t.gpa, fx_data(fx, 50));
	ck_assert(t.writable);
	ck_assert_uint_eq(fx_frame_maps(fx, fx_data(fx, 0)), 0);
	ck_assert_uint_eq(fx_frame_maps(fx, fx_data(fx, 50)), 1);
	ck_assert(fx_flush_needed(fx));
	ck_assert_uint_eq(fx_stats(fx).updates, 1);
}
END_TEST

/* A clear: the shadow entry goes, the next access fills it and sets A.
 * A set, D clear: installed read-only. */
START_TEST(level1_follows_accessed_and_dirty)
{
	struct shadow_translation t;

	ck_assert_int_eq(update1(h, VA, fx_data(fx, 50) | PTE_P | PTE_W | PTE_U, 1), 0);
	ck_assert_int_eq(shadow_translate(fx->sh, h, VA, &t), -ENOENT);
	fx_touch(fx, h, VA, R);
	ck_assert(pte_load(fx_entry(fx, root, VA, 1)) & PTE_A);

	ck_assert_int_eq(update1(h, VA, fx_data(fx, 51) | PTE_P | PTE_W | PTE_U | PTE_A, 1), 0);
	ck_assert_int_eq(shadow_translate(fx->sh, h, VA, &t), 0);
	ck_assert_uint_eq(t.gpa, fx_data(fx, 51));
	ck_assert(!t.writable);

	ck_assert_int_eq(update1(h, VA, 0, 1), 0);
	ck_assert_int_eq(shadow_translate(fx->sh, h, VA, &t), -ENOENT);
	ck_assert_uint_eq(fx_frame_maps(fx, fx_data(fx, 51)), 0);
}
END_TEST

/* Where the shadow has no pmd page, only the guest entry changes. */
START_TEST(level1_without_shadow_page)
{
	uint64_t va = VA + 0x10000000ull;
	struct shadow_stats st;

	fx_map(fx, root, va, fx_data(fx, 9), FX_USER_RO);
	st = fx_stats(fx);
	ck_assert_int_eq(update1(h, va, fx_data(fx, 10) | FX_USER, 1), 0);
	ck_assert_uint_eq(fx_stats(fx).shadow_entries_written, st.shadow_entries_written);
	ck_assert_uint_eq(fx_stats(fx).pages_allocated, st.pages_allocated);
	fx_touch(fx, h, va, W);
}
END_TEST

/* Level 2 on a shared page: the updater drops its reference, the other
 * sharer keeps the page; the last drop frees it. */
START_TEST(level2_drops_the_pmd_page)
{
	struct shadow_translation t;
	struct shadow_stats st;
	uint64_t croot;
	uint32_t c;

	c = fx_fork(fx, h, root, SHADOW_SHARE, &croot);
	st = fx_stats(fx);
	ck_assert_int_eq(update1(c, VA, 0, 2), 0);
	ck_assert_int_eq(shadow_pmd_count(fx->sh, c, VA), -ENOENT);
	ck_assert_int_eq(shadow_pmd_count(fx->sh, h, VA), 1);
	ck_assert_uint_eq(fx_stats(fx).pmd_freed, st.pmd_freed);
	ck_assert_uint_eq(fx_stats(fx).unshare_copy, st.unshare_copy);
	fx_check(fx);
	/* a 2 MiB page in its place, filled as 4 KiB leaves */
	ck_assert_int_eq(update1(h, VA, fx->data | FX_USER_RO | PTE_PS, 2), 0);
	ck_assert_uint_eq(fx_stats(fx).pmd_freed, st.pmd_freed + 1);
	ck_assert_uint_eq(fx_frame_maps(fx, fx_data(fx, 1)), 0);
	ck_assert_int_eq(shadow_translate(fx->sh, h, VA, &t), -ENOENT);
	fx_touch(fx, h, VA + 0x5000, R);
	ck_assert_int_eq(shadow_translate(fx->sh, h, VA + 0x5000, &t), 0);
	ck_assert_uint_eq(t.gpa, fx->data + 0x5000);
}
END_TEST

/* Levels 3 and 4 free the upper-level shadow pages under the entry too. */
START_TEST(level3_and_4_drop_subtrees)
{
	unsigned level = (unsigned)_i;
	struct shadow_stats st = fx_stats(fx);
	uint64_t old = pte_load(fx_entry(fx, root, VA, level));

	ck_assert_int_eq(update1(h, VA, 0, level), 0);
	/* the pmd page, the PD page, and at level 4 the PDPT page */
	ck_assert_uint_eq(fx_stats(fx).pages_freed, st.pages_freed + (level == 4 ? 3 : 2));
	ck_assert_uint_eq(fx_stats(fx).pmd_freed, st.pmd_freed + 1);
	ck_assert_int_eq(shadow_pmd_count(fx->sh, h, VA), -ENOENT);
	fx_check(fx);
	/* put it back: faults rebuild the shadow */
	ck_assert_int_eq(update1(h, VA, old, level), 0);
	fx_touch(fx, h, VA, W);
}
END_TEST

/* Applied in order, stopping at the first failure. */
START_TEST(batch_stops_at_first_failure)
{
	struct shadow_update u[3] = {
		{.va = VA, .value = fx_data(fx, 60) | FX_USER, .level = 1},
		{.va = VA + PAGE_SIZE, .value = fx_data(fx, 61) | FX_USER, .level = 7},
		{.va = VA + 2 * PAGE_SIZE, .value = fx_data(fx, 62) | FX_USER, .level = 1},
	};
	int err = 0;

	ck_assert_int_eq(shadow_update(fx->sh, 0, h, u, 3, &err), 1);
	ck_assert_int_eq(err, -EINVAL);
	ck_assert_uint_eq(pte_load(fx_entry(fx, root, VA, 1)) & PTE_FRAME, fx_data(fx, 60));
	ck_assert_uint_eq(pte_load(fx_entry(fx, root, VA + 2 * PAGE_SIZE, 1)) & PTE_FRAME,
			  fx_data(fx, 2));
	ck_assert_uint_eq(fx_stats(fx).updates, 1);
}
END_TEST

START_TEST(batch_bounds)
{
	static struct shadow_update u[SHADOW_UPDATE_MAX + 1];
	unsigned i;
	int err = 0;

	for (i = 0; i <= SHADOW_UPDATE_MAX; i++)
		u[i] = (struct shadow_update){
			.va = VA, .value = fx_data(fx, i) | FX_USER, .level = 1};
	ck_assert_int_eq(shadow_update(fx->sh, 0, h, u, SHADOW_UPDATE_MAX + 1, &err), -E2BIG);
	ck_assert_int_eq(shadow_update(fx->sh, 0, h, u, (size_t)-1, &err), -E2BIG);
	ck_assert_int_eq(shadow_update(fx->sh, 0, h, NULL, 1, &err), -EINVAL);
	ck_assert_int_eq(shadow_update(fx->sh, 0, h, NULL, 0, &err), 0);
	ck_assert_int_eq(shadow_update(fx->sh, 0, h, u, SHADOW_UPDATE_MAX, &err),
			 (int)SHADOW_UPDATE_MAX);
	ck_assert_uint_eq(fx_stats(fx).updates, SHADOW_UPDATE_MAX);
}
END_TEST

START_TEST(update_refuses_bad_handles_and_cpus)
{
	struct shadow_update u = {.va = VA, .value = 0, .level = 1};
	uint64_t gpa;

	ck_assert_int_eq(shadow_update(fx->sh, 0, h + 1, &u, 1, NULL), -EBADF);
	ck_assert_int_eq(shadow_update(fx->sh, 4, h, &u, 1, NULL), -EINVAL);
	ck_assert_int_eq(shadow_switch(fx->sh, 1, h, &gpa), 0);
	ck_assert_int_eq(shadow_update(fx->sh, 0, h, &u, 1, NULL), -EBUSY);
	ck_assert_int_eq(shadow_update(fx->sh, 1, h, &u, 1, NULL), 1);
	ck_assert_int_eq(shadow_unload(fx->sh, 1), 0);
}
END_TEST

enum bad {
	BAD_NONE,    /* value as given */
	BAD_OUTSIDE, /* frame past the end of memory */
	BAD_POOL,    /* frame in the pool */
	BAD_ROOT,    /* frame = the root */
	BAD_SELF,    /* frame = the table the entry lives in */
	BAD_OVER_PD, /* 2 MiB frame whose range holds the PD */
};

static const struct {
	const char *name;
	uint64_t va;
	unsigned level;
	uint64_t flags; /* of the new value */
	enum bad frame;
	uint32_t uflags; /* of the update */
	int expect;
} bad_cases[] = {
	{"level 0", VA, 0, FX_USER, BAD_NONE, 0, -EINVAL},
	{"level 5", VA, 5, FX_USER, BAD_NONE, 0, -EINVAL},
	{"unknown flag", VA, 1, FX_USER, BAD_NONE, 2, -EINVAL},
	{"non-canonical", 0x0000900000000000ull, 1, FX_USER, BAD_NONE, 0, -EINVAL},
	{"kernel slot", 0x200000, 1, FX_USER, BAD_NONE, 0, -EPERM},
	{"kernel slot pml4", 0, 4, 0, BAD_NONE, 0, -EPERM},
	{"no tables above", FX_UVA + (5ull << 30), 1, FX_USER, BAD_NONE, 0, -ENOENT},
	{"no pml4 entry", 0x0000100000000000ull, 2, FX_USER, BAD_NONE, 0, -ENOENT},
	{"leaf outside", VA, 1, FX_USER, BAD_OUTSIDE, 0, -EFAULT},
	{"leaf in pool", VA, 1, FX_USER, BAD_POOL, 0, -EFAULT},
	{"leaf maps root", VA, 1, FX_USER, BAD_ROOT, 0, -ELOOP},
	{"leaf maps own pt", VA, 1, FX_USER, BAD_SELF, 0, -ELOOP},
	{"pd table outside", VA, 2, FX_USER, BAD_OUTSIDE, 0, -EFAULT},
	{"pd table in pool", VA, 2, FX_USER, BAD_POOL, 0, -EFAULT},
	{"pd table is root", VA, 2, FX_USER, BAD_ROOT, 0, -ELOOP},
	{"pd table is itself", VA, 2, FX_USER, BAD_SELF, 0, -ELOOP},
	{"2m misaligned", VA, 2, FX_USER | PTE_PS | 0x4000, BAD_NONE, 0, -EINVAL},
	{"2m over own pd", VA, 2, FX_USER | PTE_PS, BAD_OVER_PD, 0, -ELOOP},
	{"2m in pool", VA, 2, FX_USER | PTE_PS, BAD_POOL, 0, -EFAULT},
	{"1g page", VA, 3, FX_USER | PTE_PS, BAD_NONE, 0, -EINVAL},
	{"pdpt table is root", VA, 3, FX_USER, BAD_ROOT, 0, -ELOOP},
	{"pml4 ps", VA, 4, FX_USER | PTE_PS, BAD_NONE, 0, -EINVAL},
	{"pml4 table is root", VA, 4, FX_USER, BAD_ROOT, 0, -ELOOP},
	{"pml4 table outside", VA, 4, FX_USER, BAD_OUTSIDE, 0, -EFAULT},
};

START_TEST(update_refuses_bad_value)
{
	uint64_t frame = 0, va = bad_cases[_i].va;
	unsigned level = bad_cases[_i].level;
	struct shadow_update u;
	struct fx_snap snap;
	int err = 0;

	switch (bad_cases[_i].frame) {
	case BAD_NONE:
		frame = fx->data;
		break;
	case BAD_OUTSIDE:
		frame = fx->cfg.mem_gpa + fx->cfg.mem_size;
		break;
	case BAD_POOL:
		frame = fx->cfg.pool_gpa;
		break;
	case BAD_ROOT:
		frame = root;
		break;
	case BAD_SELF:
		frame = table_at(root, va, level);
		break;
	case BAD_OVER_PD:
		frame = table_at(root, va, 2) & ~(HUGE_SIZE - 1);
		break;
	}
	u = (struct shadow_update){.va = va,
				   .value = frame | bad_cases[_i].flags,
				   .level = level,
				   .flags = bad_cases[_i].uflags};
	fx_snap(fx, &snap);
	ck_assert_int_eq(shadow_update(fx->sh, 0, h, &u, 1, &err), 0);
	ck_assert_msg(err == bad_cases[_i].expect, "%s: %d, expected %d", bad_cases[_i].name, err,
		      bad_cases[_i].expect);
	fx_snap_same(fx, &snap);
}
END_TEST

START_TEST(update_refuses_level1_under_2m_page)
{
	uint64_t va = FX_UVA + 0x80000000ull;
	int err = 0;
	struct shadow_update u = {.va = va, .value = fx->data | FX_USER, .level = 1};

	fx_map_2m(fx, root, va, fx->data, FX_USER);
	ck_assert_int_eq(shadow_update(fx->sh, 0, h, &u, 1, &err), 0);
	ck_assert_int_eq(err, -EINVAL);
}
END_TEST

Suite *make_update_suite(void);

Suite *make_update_suite(void)
{
	Suite *s = suite_create("update");
	TCase *tc;

	tc = tcase_create("levels");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, level1_repoints_the_leaf);
	tcase_add_test(tc, level1_follows_accessed_and_dirty);
	tcase_add_test(tc, level1_without_shadow_page);
	tcase_add_test(tc, level2_drops_the_pmd_page);
	tcase_add_loop_test(tc, level3_and_4_drop_subtrees, 3, 5);
	suite_add_tcase(s, tc);

	tc = tcase_create("batches");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, batch_stops_at_first_failure);
	tcase_add_test(tc, batch_bounds);
	suite_add_tcase(s, tc);

	tc = tcase_create("refuses");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, update_refuses_bad_value, 0,
			    (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(tc, update_refuses_level1_under_2m_page);
	tcase_add_test(tc, update_refuses_bad_handles_and_cpus);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fx_run(make_update_suite());
}
