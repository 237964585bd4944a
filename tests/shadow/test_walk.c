/* The guest-table walker: what it reports, and every malformed entry it
 * must refuse (shadow_walk_guest). */
#include <errno.h>

#include "fixture.h"

static struct fx *fx;
static uint64_t root;

#define VA (FX_UVA + 0x12345000ull)

static void setup(void)
{
	fx = fx_new(NULL);
	root = fx_root(fx);
	fx_map(fx, root, VA, fx_data(fx, 3), FX_USER);
}

static void teardown(void)
{
	fx_free(fx);
}

static uint64_t table_at(unsigned level)
{
	return level == 4 ? root : pte_load(fx_entry(fx, root, VA, level + 1)) & PTE_FRAME;
}

START_TEST(walk_4k)
{
	struct shadow_walk w;

	ck_assert_int_eq(shadow_walk_guest(fx->sh, root, VA + 0x123, &w), 0);
	ck_assert(w.present);
	ck_assert_uint_eq(w.level, 1);
	ck_assert_uint_eq(w.gpa, fx_data(fx, 3) + 0x123);
	ck_assert(w.writable && w.user && w.exec && w.accessed && w.dirty);
}
END_TEST

START_TEST(walk_2m)
{
	uint64_t va = FX_UVA + 0x40000000ull, frame = fx->data;
	struct shadow_walk w;

	fx_map_2m(fx, root, va, frame, FX_USER_RO);
	ck_assert_int_eq(shadow_walk_guest(fx->sh, root, va + 0x123456, &w), 0);
	ck_assert(w.present);
	ck_assert_uint_eq(w.level, 2);
	ck_assert_uint_eq(w.gpa, frame + 0x123456);
	ck_assert(!w.writable && w.user && w.accessed && !w.dirty);
}
END_TEST

/* Not present at each level: reported as such, with that level. */
START_TEST(walk_not_present)
{
	unsigned level = (unsigned)_i;
	struct shadow_walk w;
	pte_t *e = fx_entry(fx, root, VA, level);

	pte_store(e, pte_load(e) & ~PTE_P);
	ck_assert_int_eq(shadow_walk_guest(fx->sh, root, VA, &w), 0);
	ck_assert(!w.present);
	ck_assert_uint_eq(w.level, level);
}
END_TEST

/* W and U are ANDed over the levels, NX ORed. */
static const struct {
	uint64_t clear, set;
} flag_cases[] = {
	{PTE_W, 0},
	{PTE_U, 0},
	{0, PTE_NX},
};

START_TEST(walk_effective_flags)
{
	unsigned level = 1 + (unsigned)_i / 3, c = (unsigned)_i % 3;
	struct shadow_walk w;
	pte_t *e = fx_entry(fx, root, VA, level);

	pte_store(e, (pte_load(e) & ~flag_cases[c].clear) | flag_cases[c].set);
	ck_assert_int_eq(shadow_walk_guest(fx->sh, root, VA, &w), 0);
	ck_assert(w.present);
	ck_assert(w.writable == !(flag_cases[c].clear & PTE_W));
	ck_assert(w.user == !(flag_cases[c].clear & PTE_U));
	ck_assert(w.exec == !(flag_cases[c].set & PTE_NX));
}
END_TEST

enum bad {
	BAD_OUTSIDE,    /* past the end of guest memory */
	BAD_POOL,       /* into the shadow pool */
	BAD_ROOT,       /* at the root: a table on its own walk */
	BAD_SELF,       /* at the table that holds the entry */
	BAD_PS,         /* PS: reserved in a PML4 entry, 1 GiB in a PDPT */
	BAD_2M_ALIGN,   /* a 2 MiB leaf with bits 20:13 set */
	BAD_2M_OVER_PD, /* a 2 MiB leaf whose range holds the PD */
	BAD_2M_POOL,    /* a 2 MiB leaf in the pool */
	BAD_2M_OUTSIDE, /* a 2 MiB leaf past the end of guest memory */
};

static const struct {
	const char *name;
	unsigned level;
	enum bad bad;
	int expect;
} bad_cases[] = {
	{"pml4 outside", 4, BAD_OUTSIDE, -EFAULT},
	{"pml4 pool", 4, BAD_POOL, -EFAULT},
	{"pml4 root", 4, BAD_ROOT, -ELOOP},
	{"pml4 ps", 4, BAD_PS, -EINVAL},
	{"pdpt outside", 3, BAD_OUTSIDE, -EFAULT},
	{"pdpt pool", 3, BAD_POOL, -EFAULT},
	{"pdpt root", 3, BAD_ROOT, -ELOOP},
	{"pdpt self", 3, BAD_SELF, -ELOOP},
	{"pdpt 1g", 3, BAD_PS, -EINVAL},
	{"pd outside", 2, BAD_OUTSIDE, -EFAULT},
	{"pd pool", 2, BAD_POOL, -EFAULT},
	{"pd root", 2, BAD_ROOT, -ELOOP},
	{"pd self", 2, BAD_SELF, -ELOOP},
	{"pd 2m misaligned", 2, BAD_2M_ALIGN, -EINVAL},
	{"pd 2m over own pd", 2, BAD_2M_OVER_PD, -ELOOP},
	{"pd 2m pool", 2, BAD_2M_POOL, -EFAULT},
	{"pd 2m outside", 2, BAD_2M_OUTSIDE, -EFAULT},
	{"pt outside", 1, BAD_OUTSIDE, -EFAULT},
	{"pt pool", 1, BAD_POOL, -EFAULT},
	{"pt maps root", 1, BAD_ROOT, -ELOOP},
	{"pt maps own pt", 1, BAD_SELF, -ELOOP},
};

START_TEST(walk_refuses_bad_entry)
{
	unsigned level = bad_cases[_i].level;
	pte_t *slot = fx_entry(fx, root, VA, level);
	uint64_t flags = pte_load(slot) & ~PTE_FRAME, frame = 0, pd = table_at(2);
	struct shadow_walk w;
	int rc;

	switch (bad_cases[_i].bad) {
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
		frame = table_at(level);
		break;
	case BAD_PS:
		frame = fx->data;
		flags |= PTE_PS;
		break;
	case BAD_2M_ALIGN:
		frame = fx->data | 0x2000;
		flags |= PTE_PS;
		break;
	case BAD_2M_OVER_PD:
		frame = pd & ~(HUGE_SIZE - 1);
		flags |= PTE_PS;
		break;
	case BAD_2M_POOL:
		frame = fx->cfg.pool_gpa;
		flags |= PTE_PS;
		break;
	case BAD_2M_OUTSIDE:
		frame = fx->cfg.mem_gpa + fx->cfg.mem_size;
		flags |= PTE_PS;
		break;
	}
	pte_store(slot, frame | flags);
	rc = shadow_walk_guest(fx->sh, root, VA, &w);
	ck_assert_msg(rc == bad_cases[_i].expect, "%s: %d, expected %d", bad_cases[_i].name, rc,
		      bad_cases[_i].expect);
}
END_TEST

START_TEST(walk_refuses_bad_root)
{
	struct shadow_walk w;

	ck_assert_int_eq(shadow_walk_guest(fx->sh, root + 8, VA, &w), -EINVAL);
	ck_assert_int_eq(shadow_walk_guest(fx->sh, fx->cfg.pool_gpa, VA, &w), -EFAULT);
	ck_assert_int_eq(shadow_walk_guest(fx->sh, fx->cfg.mem_gpa + fx->cfg.mem_size, VA, &w),
			 -EFAULT);
	ck_assert_int_eq(shadow_walk_guest(fx->sh, UINT64_MAX & ~0xfffull, VA, &w), -EFAULT);
	ck_assert_int_eq(shadow_walk_guest(fx->sh, root, 0x0000800000000000ull, &w), -EINVAL);
}
END_TEST

/* The kernel's identity map covers its own tables: allowed there only. */
START_TEST(walk_kernel_maps_own_tables)
{
	struct shadow_walk w;

	ck_assert_int_eq(shadow_walk_guest(fx->sh, root, fx->kpdpt, &w), 0);
	ck_assert(w.present);
	ck_assert_uint_eq(w.gpa, fx->kpdpt);
	ck_assert(!w.user);
}
END_TEST

Suite *make_walk_suite(void);

Suite *make_walk_suite(void)
{
	Suite *s = suite_create("walk");
	TCase *tc;

	tc = tcase_create("reports");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, walk_4k);
	tcase_add_test(tc, walk_2m);
	tcase_add_loop_test(tc, walk_not_present, 1, 5);
	tcase_add_loop_test(tc, walk_effective_flags, 0, 12);
	tcase_add_test(tc, walk_kernel_maps_own_tables);
	suite_add_tcase(s, tc);

	tc = tcase_create("refuses");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, walk_refuses_bad_entry, 0,
			    (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(tc, walk_refuses_bad_root);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fx_run(make_walk_suite());
}
