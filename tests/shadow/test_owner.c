/*
 * Page-table ownership (frames.c, docs/architecture.md): a guest frame is
 * a page table at one level, linked once, or shared by the guest through
 * read-only links; or it is data. Aliases, tables that user leaves map,
 * writes to tables the guest shares, and tables changed behind the VMM's
 * back are refused with their own error codes, and nothing changes.
 */
#include <errno.h>
#include <string.h>

#include "fixture.h"
#include "internal.h"

#define R SHADOW_ACCESS_USER
#define W (SHADOW_ACCESS_USER | SHADOW_ACCESS_WRITE)
#define VA (FX_UVA + 0x200000ull)

static struct fx *fx;
static uint64_t root;
static uint32_t h;

static void setup(void)
{
	fx = fx_new(NULL);
	root = fx_root(fx);
	fx_map(fx, root, VA, fx_data(fx, 1), FX_USER);
	h = fx_create(fx, root);
	fx_touch(fx, h, VA, W);
}

static void teardown(void)
{
	fx_check(fx);
	fx_free(fx);
}

static int update1(uint32_t a, uint64_t va, uint64_t value, unsigned level, uint32_t flags)
{
	struct shadow_update u = {.va = va, .value = value, .level = level, .flags = flags};
	int err = 0;

	return shadow_update(fx->sh, 0, a, &u, 1, &err) == 1 ? 0 : err;
}

static uint64_t table_of(uint64_t r, uint64_t va, unsigned level)
{
	return pte_load(fx_entry(fx, r, va, level + 1)) & PTE_FRAME;
}

START_TEST(root_registered_twice)
{
	uint32_t other = 0;
	struct fx_snap snap;

	fx_snap(fx, &snap);
	ck_assert_int_eq(shadow_as_create(fx->sh, 0, root, &other), -EEXIST);
	ck_assert_int_eq(shadow_as_fork(fx->sh, 0, h, root, SHADOW_SHARE, &other), -EINVAL);
	fx_snap_same(fx, &snap);
	ck_assert_uint_eq(fx_stats(fx).ownership_refusals, 1);
}
END_TEST

/* Another address space's PDPT as a root, or a fork into a root that is
 * registered already. */
START_TEST(table_of_another_as_as_root)
{
	uint64_t root2 = fx_root(fx), croot;
	uint32_t h2, c = 0;

	fx_map(fx, root2, VA, fx_data(fx, 2), FX_USER);
	h2 = fx_create(fx, root2);
	ck_assert_int_eq(shadow_as_create(fx->sh, 0, table_of(root, VA, 3), &c), -EEXIST);
	ck_assert_int_eq(shadow_as_fork(fx->sh, 0, h, root2, SHADOW_SHARE, &c), -EEXIST);
	croot = fx_copy(fx, root, true);
	ck_assert_int_eq(shadow_as_fork(fx->sh, 0, h, croot, SHADOW_SHARE, &c), 0);
	ck_assert_int_eq(shadow_as_fork(fx->sh, 0, h2, croot, SHADOW_SHARE, &c), -EEXIST);
}
END_TEST

/* A page a user leaf maps cannot become a table, and a table cannot be
 * mapped by a user leaf. */
START_TEST(leaf_and_table_exclusive)
{
	uint64_t root2 = fx_root(fx), pt2;
	uint32_t other = 0;

	fx_map(fx, root2, VA, fx_data(fx, 2), FX_USER);
	fx_touch(fx, fx_create(fx, root2), VA, R); /* its shadow links its PT */
	pt2 = table_of(root2, VA, 1);
	ck_assert_int_eq(shadow_as_create(fx->sh, 0, fx_data(fx, 1), &other), -EACCES);
	ck_assert_int_eq(update1(h, VA + PAGE_SIZE, pt2 | FX_USER, 1, 0), -EACCES);
	/* written behind the VMM's back, then filled: refused at the fill */
	pte_store(fx_entry(fx, root, VA + 2 * PAGE_SIZE, 1), pt2 | FX_USER);
	ck_assert_int_eq(shadow_fault(fx->sh, 0, h, VA + 2 * PAGE_SIZE, R), -EACCES);
	pte_store(fx_entry(fx, root, VA + 2 * PAGE_SIZE, 1), 0);
}
END_TEST

/* PML4 slot 2 pointing at slot 1's PDPT: an alias, refused. */
START_TEST(alias_in_one_walk)
{
	uint64_t pdpt = table_of(root, VA, 3), va2 = FX_UVA + (512ull << 30);

	ck_assert_int_eq(update1(h, va2, pdpt | PTE_P | PTE_W | PTE_U | PTE_A, 4, 0), -EEXIST);
	ck_assert_int_eq(update1(h, va2, pdpt | PTE_P | PTE_U | PTE_A, 4, 0), -EEXIST);
}
END_TEST

/* The guest shares its PT with a child: neither may change it, nor widen
 * its link to it, until it has unshared; after the unshare it may. */
START_TEST(shared_table_read_only)
{
	uint64_t croot;
	uint32_t c;

	c = fx_fork_sharing(fx, h, root, SHADOW_SHARE, 1, &croot);
	ck_assert_uint_eq(frame_links(fx->sh, table_of(root, VA, 1)), 2);
	ck_assert_int_eq(update1(h, VA, fx_data(fx, 3) | FX_USER, 1, 0), -ETXTBSY);
	ck_assert_int_eq(update1(c, VA, fx_data(fx, 3) | FX_USER, 1, 0), -ETXTBSY);
	ck_assert_int_eq(update1(c, VA, pte_load(fx_entry(fx, croot, VA, 2)) | PTE_W, 2, 0),
			 -ETXTBSY);
	ck_assert_int_eq(fx_unshare(fx, 0, c, croot, VA, 1), 0);
	ck_assert_uint_eq(fx_stats(fx).unshare_follow, 1);
	ck_assert_int_eq(update1(c, VA, fx_data(fx, 3) | FX_USER, 1, 0), 0);
	/* the parent, alone now: in place, what the copy shares read-only */
	ck_assert_int_eq(fx_unshare(fx, 0, h, root, VA, 1), 0);
	/* followed by widening its link, or by a derived page where the flush
	 * mode never widens a link over a walked page: one or the other */
	ck_assert_uint_eq(fx_stats(fx).unshare_follow + fx_stats(fx).relink_widened, 2);
	ck_assert(!(pte_load(fx_entry(fx, root, VA, 1)) & PTE_W));
	ck_assert_int_eq(update1(h, VA, fx_data(fx, 4) | FX_USER, 1, 0), 0);
}
END_TEST

/* A link the guest re-points without telling the VMM: a fill on the new
 * table would be built on the old one's shadow, so it is refused. */
START_TEST(table_changed_behind_the_back)
{
	uint64_t pt2 = fx_frame(fx);
	pte_t *pde = fx_entry(fx, root, VA, 2);
	uint64_t old = pte_load(pde);

	pte_store((pte_t *)fx_host(fx, pt2) + pt_index(VA + PAGE_SIZE, 1),
		  fx_data(fx, 5) | FX_USER);
	pte_store(pde, pt2 | (old & ~PTE_FRAME));
	ck_assert_int_eq(shadow_fault(fx->sh, 0, h, VA + PAGE_SIZE, R), -ESTALE);
	pte_store(pde, old);
}
END_TEST

/* A guest table at guest-physical 0 is a table like any other: frame 0
 * is not "no table" (the fuzzer's first find: its link went uncounted,
 * so a user leaf could map it and write the guest's tables). */
START_TEST(table_at_frame_zero)
{
	uint64_t root2 = fx_root(fx), pt;
	pte_t *pde;
	uint32_t h2;

	fx_map(fx, root2, VA, fx_data(fx, 2), FX_USER);
	pde = fx_entry(fx, root2, VA, 2);
	pt = pte_load(pde) & PTE_FRAME;
	memcpy(fx_host(fx, 0), fx_host(fx, pt), PAGE_SIZE);
	pte_store(pde, 0 | (pte_load(pde) & ~PTE_FRAME));
	h2 = fx_create(fx, root2);
	fx_touch(fx, h2, VA, W);
	ck_assert_uint_eq(frame_level(fx->sh, 0), 1);
	ck_assert_uint_eq(frame_links(fx->sh, 0), 1);
	fx_check(fx);
	ck_assert_int_eq(update1(h, VA + PAGE_SIZE, 0 | FX_USER, 1, 0), -EACCES);
	ck_assert_int_eq(shadow_as_destroy(fx->sh, 0, h2), 0);
	ck_assert_uint_eq(frame_level(fx->sh, 0), 0);
	ck_assert_uint_eq(frame_links(fx->sh, 0), 0);
}
END_TEST

/* Another address space's tables, reached by this one's guest walk: its
 * root's own PDPT and PD lead to the PT (or PD) that the first one's
 * shadow was built from. An update through it would change that shadow's
 * source behind its back. */
START_TEST(update_of_a_table_another_links)
{
	uint64_t root2 = fx_root(fx), pt = table_of(root, VA, 1), pd = table_of(root, VA, 2);
	uint64_t va2 = VA + (1ull << 30); /* PDPT entry 1 of root2: h's PD */
	pte_t *pdpt2;
	uint32_t h2;
	struct fx_snap snap;

	fx_map(fx, root2, VA, fx_data(fx, 2), FX_USER);
	pte_store(fx_entry(fx, root2, VA, 2), pt | PTE_P | PTE_W | PTE_U | PTE_A);
	pdpt2 = fx_entry(fx, root2, va2, 3);
	pte_store(pdpt2, pd | PTE_P | PTE_W | PTE_U | PTE_A);
	h2 = fx_create(fx, root2);
	fx_snap(fx, &snap);
	ck_assert_int_eq(update1(h2, VA, fx_data(fx, 3) | FX_USER, 1, 0), -ETXTBSY);
	ck_assert_int_eq(update1(h2, va2, 0, 2, 0), -ETXTBSY);
	snap.st.ownership_refusals += 2;
	fx_snap_same(fx, &snap);
	pte_store(pdpt2, 0);
}
END_TEST

/* The same reached by a fork: its copy-on-write would clear W in the
 * other address space's PT, under that one's writable shadow leaf. */
START_TEST(fork_of_a_table_another_links)
{
	uint64_t root2 = fx_root(fx), croot;
	uint32_t h2, c = 0;
	struct fx_snap snap;

	fx_map(fx, root2, VA, fx_data(fx, 2), FX_USER);
	pte_store(fx_entry(fx, root2, VA, 2),
		  table_of(root, VA, 1) | PTE_P | PTE_W | PTE_U | PTE_A);
	h2 = fx_create(fx, root2);
	croot = fx_copy(fx, root2, true);
	fx_snap(fx, &snap);
	ck_assert_int_eq(shadow_as_fork(fx->sh, 0, h2, croot, SHADOW_SHARE, &c), -ETXTBSY);
	snap.st.ownership_refusals++;
	fx_snap_same(fx, &snap);
}
END_TEST

/* Frames go back to data when their last link goes. */
START_TEST(destroy_unlinks)
{
	uint64_t pt = table_of(root, VA, 1);

	ck_assert_uint_eq(frame_level(fx->sh, root), 4);
	ck_assert_uint_eq(frame_level(fx->sh, pt), 1);
	ck_assert_int_eq(shadow_as_destroy(fx->sh, 0, h), 0);
	ck_assert_uint_eq(frame_level(fx->sh, root), 0);
	ck_assert_uint_eq(frame_level(fx->sh, pt), 0);
	ck_assert_uint_eq(frame_links(fx->sh, root), 0);
	h = fx_create(fx, fx_root(fx));
	ck_assert_int_eq(update1(h, VA, pt | FX_USER, 1, 0), -ENOENT); /* no tables: fine */
}
END_TEST

/* WP_BELOW goes with a present table link at level 2 or 3 only. */
START_TEST(wp_below_arguments)
{
	ck_assert_int_eq(update1(h, VA, fx_data(fx, 1) | FX_USER, 1, SHADOW_UPDATE_WP_BELOW),
			 -EINVAL);
	ck_assert_int_eq(update1(h, VA, 0, 2, SHADOW_UPDATE_WP_BELOW), -EINVAL);
	ck_assert_int_eq(update1(h, VA, 0, 2, 4), -EINVAL);
}
END_TEST

Suite *make_owner_suite(void);

Suite *make_owner_suite(void)
{
	Suite *s = suite_create("owner");
	TCase *tc = tcase_create("refusals");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, root_registered_twice);
	tcase_add_test(tc, table_of_another_as_as_root);
	tcase_add_test(tc, leaf_and_table_exclusive);
	tcase_add_test(tc, alias_in_one_walk);
	tcase_add_test(tc, shared_table_read_only);
	tcase_add_test(tc, table_changed_behind_the_back);
	tcase_add_test(tc, table_at_frame_zero);
	tcase_add_test(tc, update_of_a_table_another_links);
	tcase_add_test(tc, fork_of_a_table_another_links);
	tcase_add_test(tc, destroy_unlinks);
	tcase_add_test(tc, wp_below_arguments);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fx_run(make_owner_suite());
}
