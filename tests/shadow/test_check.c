/* The invariant checker finds what it promises to find: each corruption
 * below, made by hand, is reported (and repaired before teardown). */
#include <errno.h>
#include <string.h>

#include "fixture.h"
#include "internal.h"

#define W (SHADOW_ACCESS_USER | SHADOW_ACCESS_WRITE)
#define VA (FX_UVA + 0x200000ull)

static struct fx *fx;
static uint64_t root, croot;
static uint32_t h, c;

/* A parent with two pages written, and a child sharing its pmd page; a
 * private page in another region. */
static void setup(void)
{
	fx = fx_new(NULL);
	root = fx_root(fx);
	fx_map(fx, root, VA, fx_data(fx, 1), FX_USER);
	fx_map(fx, root, VA + PAGE_SIZE, fx_data(fx, 2), FX_USER);
	h = fx_create(fx, root);
	fx_touch(fx, h, VA, W);
	fx_touch(fx, h, VA + PAGE_SIZE, W);
	c = fx_fork(fx, h, root, SHADOW_SHARE, &croot);
	fx_map(fx, croot, VA + HUGE_SIZE, fx_data(fx, 3), FX_USER);
	fx_touch(fx, c, VA + HUGE_SIZE, W);
}

static void teardown(void)
{
	fx_check(fx);
	fx_free(fx);
}

static uint32_t pmd_of(uint32_t a, uint64_t va, pte_t **pde)
{
	struct spath p;
	struct as *as;

	ck_assert_int_eq(as_lookup(fx->sh, a, &as), 0);
	spath_walk(fx->sh, as, va, &p);
	as_unlock(as);
	ck_assert(p.pg[1] != NIL);
	*pde = spage_table(fx->sh, p.pg[2]) + pt_index(va, 2);
	return p.pg[1];
}

static void expect(bool sound, const char *what)
{
	char why[256];

	ck_assert_int_eq(shadow_check(fx->sh, sound, why, sizeof(why)), -EUCLEAN);
	ck_assert_msg(strstr(why, what), "expected \"%s\", got \"%s\"", what, why);
	ck_assert_int_eq(shadow_check(fx->sh, sound, NULL, 0), -EUCLEAN);
}

enum corruption {
	C_COUNT,       /* a pmd page's count one too high */
	C_FRAME_MAPS,  /* a frame's map count one too high */
	C_SHARED_W,    /* a page shared by copies with a writable link */
	C_LEAF_G,      /* a leaf with G */
	C_LEAF_NO_D,   /* a leaf without D */
	C_LEAF_POOL,   /* a leaf that maps the pool */
	C_LOST,        /* a page in use that nothing points at */
	C_FREE_USED,   /* a PD entry pointing at a free page */
	C_KERNEL_LINK, /* a root whose kernel slot is not the mirror */
	C_UPPER_FLAGS, /* an upper-level entry with PCD */
	C_WIDER,       /* a leaf writable where the guest's is not */
	C_OTHER_FRAME, /* a leaf mapping another frame than the guest */
	C_GUEST_GONE,  /* a leaf the guest does not map */
	C_CLEAN_W,     /* a writable leaf whose guest entry is clean */
};

static const struct {
	enum corruption what;
	bool needs_sound;
	const char *why;
} cases[] = {
	{C_COUNT, false, "count 3, 2 links"},
	{C_FRAME_MAPS, false, "map count 2, 1 leaves"},
	{C_SHARED_W, false, "shared by copies, count 2, and a writable link"},
	{C_LEAF_G, false, "bits the shadow never sets"},
	{C_LEAF_NO_D, false, "lacks A or D"},
	{C_LEAF_POOL, false, "maps outside RAM"},
	{C_LOST, false, "lost"},
	{C_FREE_USED, false, "points at a free page"},
	{C_KERNEL_LINK, false, "not the mirror"},
	{C_UPPER_FLAGS, false, "flags"},
	{C_WIDER, true, "wider than the guest's"},
	{C_OTHER_FRAME, true, "guest maps"},
	{C_GUEST_GONE, true, "guest does not map"},
	{C_CLEAN_W, true, "guest entry is clean"},
};

START_TEST(checker_finds_corruption)
{
	pte_t *pde, *leaf, *slot, *groot;
	uint64_t save = 0, gsave = 0;
	struct resv r = {0};
	uint32_t idx, other = 0;

	fx_check(fx);
	idx = pmd_of(h, VA, &pde);
	leaf = spage_table(fx->sh, idx) + pt_index(VA, 1);
	other = pmd_of(c, VA + HUGE_SIZE, &slot);
	switch (cases[_i].what) {
	case C_COUNT:
		atomic_fetch_add(&fx->sh->pool.pages[idx].count, 1);
		break;
	case C_FRAME_MAPS:
		frame_ref(fx->sh, fx_data(fx, 1));
		break;
	case C_SHARED_W:
		save = pte_load(pde);
		pte_store(pde, save | PTE_W);
		break;
	case C_LEAF_G:
	case C_LEAF_NO_D:
	case C_LEAF_POOL:
		save = pte_load(leaf);
		pte_store(leaf, cases[_i].what == C_LEAF_G ? save | PTE_G
				: cases[_i].what == C_LEAF_NO_D
					? save & ~PTE_D
					: (save & ~PTE_FRAME) | fx->cfg.pool_gpa);
		break;
	case C_LOST:
		ck_assert_int_eq(pool_reserve(fx->sh, &r, 1), 0);
		other = pool_take(fx->sh, &r, SPAGE_PD);
		break;
	case C_FREE_USED:
		save = pte_load(pde);
		pte_store(pde, spage_gpa(fx->sh, fx->sh->pool.free_head) | (save & ~PTE_FRAME));
		break;
	case C_KERNEL_LINK:
	case C_UPPER_FLAGS: {
		struct as *as;

		ck_assert_int_eq(as_lookup(fx->sh, h, &as), 0);
		groot = spage_table(fx->sh, as->root);
		as_unlock(as);
		slot = cases[_i].what == C_KERNEL_LINK ? &groot[FX_KSLOT] : &groot[pt_index(VA, 4)];
		save = pte_load(slot);
		pte_store(slot, cases[_i].what == C_KERNEL_LINK ? 0 : save | PTE_PCD);
		break;
	}
	case C_WIDER:
		/* the child's private page: W where its guest entry is read-only */
		leaf = spage_table(fx->sh, other) + pt_index(VA + HUGE_SIZE, 1);
		gsave = pte_load(fx_entry(fx, croot, VA + HUGE_SIZE, 1));
		pte_store(fx_entry(fx, croot, VA + HUGE_SIZE, 1), gsave & ~PTE_W);
		break;
	case C_OTHER_FRAME:
	case C_GUEST_GONE:
	case C_CLEAN_W:
		leaf = spage_table(fx->sh, other) + pt_index(VA + HUGE_SIZE, 1);
		gsave = pte_load(fx_entry(fx, croot, VA + HUGE_SIZE, 1));
		pte_store(fx_entry(fx, croot, VA + HUGE_SIZE, 1),
			  cases[_i].what == C_OTHER_FRAME  ? (gsave & ~PTE_FRAME) | fx_data(fx, 4)
			  : cases[_i].what == C_GUEST_GONE ? 0
							   : gsave & ~PTE_D);
		break;
	}
	if (cases[_i].needs_sound) {
		ck_assert_int_eq(shadow_check(fx->sh, false, NULL, 0), 0);
		ck_assert_int_eq(shadow_check_as(fx->sh, c, NULL, 0), -EUCLEAN);
	}
	expect(cases[_i].needs_sound, cases[_i].why);

	switch (cases[_i].what) {
	case C_COUNT:
		atomic_fetch_sub(&fx->sh->pool.pages[idx].count, 1);
		break;
	case C_FRAME_MAPS:
		frame_unmap(fx->sh, fx_data(fx, 1));
		break;
	case C_SHARED_W:
	case C_FREE_USED:
		pte_store(pde, save);
		break;
	case C_LEAF_G:
	case C_LEAF_NO_D:
	case C_LEAF_POOL:
		pte_store(leaf, save);
		break;
	case C_LOST:
		pool_free(fx->sh, other);
		break;
	case C_KERNEL_LINK:
	case C_UPPER_FLAGS:
		pte_store(slot, save);
		break;
	default:
		pte_store(fx_entry(fx, croot, VA + HUGE_SIZE, 1), gsave);
		break;
	}
}
END_TEST

/* shadow_check_as sees a writable link to a page shared by copies. */
START_TEST(check_as_finds_shared_writable)
{
	char why[128];
	uint64_t save;
	pte_t *pde;

	pmd_of(c, VA, &pde);
	fx_check_as(fx, c);
	save = pte_load(pde);
	pte_store(pde, save | PTE_W);
	ck_assert_int_eq(shadow_check_as(fx->sh, c, why, sizeof(why)), -EUCLEAN);
	ck_assert_ptr_nonnull(strstr(why, "writable link to a pmd page shared by copies"));
	pte_store(pde, save);
	ck_assert_int_eq(shadow_check_as(fx->sh, c + 1, why, sizeof(why)), -EBADF);
}
END_TEST

Suite *make_check_suite(void);

Suite *make_check_suite(void)
{
	Suite *s = suite_create("check");
	TCase *tc = tcase_create("finds");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, checker_finds_corruption, 0,
			    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, check_as_finds_shared_writable);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fx_run(make_check_suite());
}
