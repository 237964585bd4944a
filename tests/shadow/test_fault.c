/* Hidden faults and fills: A/D emulation, the guest's own faults, 2 MiB
 * guest pages, the kernel slot, fills into shared pages, and failures. */
#include <errno.h>

#include "fixture.h"
#include "internal.h"

#define R SHADOW_ACCESS_USER
#define W (SHADOW_ACCESS_USER | SHADOW_ACCESS_WRITE)
#define X (SHADOW_ACCESS_USER | SHADOW_ACCESS_FETCH)
#define VA (FX_UVA + 0x200000ull)

static struct fx *fx;
static uint64_t root;
static uint32_t h;

static void setup(void)
{
	fx = fx_new(NULL);
	root = fx_root(fx);
	h = fx_create(fx, root);
}

static void teardown(void)
{
	fx_check(fx);
	fx_free(fx);
}

static uint64_t gentry(uint64_t r, uint64_t va)
{
	return pte_load(fx_entry(fx, r, va, 1));
}

START_TEST(read_fill_of_clean_page_is_read_only)
{
	struct shadow_translation t;

	fx_map(fx, root, VA, fx_data(fx, 1), PTE_P | PTE_W | PTE_U);
	ck_assert_int_eq(shadow_fault(fx->sh, 0, h, VA, R), SHADOW_FAULT_FILLED);
	ck_assert(gentry(root, VA) & PTE_A);
	ck_assert(!(gentry(root, VA) & PTE_D));
	ck_assert_int_eq(shadow_translate(fx->sh, h, VA + 8, &t), 0);
	ck_assert_uint_eq(t.gpa, fx_data(fx, 1) + 8);
	ck_assert(!t.writable && t.user && t.exec);
	ck_assert_uint_eq(fx_stats(fx).fill_private, 1);
	ck_assert_uint_eq(fx_frame_maps(fx, fx_data(fx, 1)), 1);
	fx_check(fx);

	/* the first write is a hidden fault that sets D and makes it writable */
	ck_assert_int_eq(shadow_fault(fx->sh, 0, h, VA, W), SHADOW_FAULT_FILLED);
	ck_assert(gentry(root, VA) & PTE_D);
	ck_assert_int_eq(shadow_translate(fx->sh, h, VA, &t), 0);
	ck_assert(t.writable);
	ck_assert_uint_eq(fx_frame_maps(fx, fx_data(fx, 1)), 1);
	ck_assert_int_eq(shadow_fault(fx->sh, 0, h, VA, W), SHADOW_FAULT_SPURIOUS);
	ck_assert_uint_eq(fx_stats(fx).fault_spurious, 1);
}
END_TEST

START_TEST(write_fill_sets_accessed_and_dirty)
{
	struct shadow_translation t;

	fx_map(fx, root, VA, fx_data(fx, 1), PTE_P | PTE_W | PTE_U);
	ck_assert_int_eq(shadow_fault(fx->sh, 0, h, VA, W), SHADOW_FAULT_FILLED);
	ck_assert_uint_eq(gentry(root, VA) & (PTE_A | PTE_D), PTE_A | PTE_D);
	ck_assert_int_eq(shadow_translate(fx->sh, h, VA, &t), 0);
	ck_assert(t.writable);
	ck_assert_uint_eq(fx_stats(fx).guest_entries_written, 1);
}
END_TEST

/* The shadow never carries G, PCD, PWT or PAT, always A and D. */
START_TEST(fill_strips_cache_and_global_bits)
{
	uint64_t e;

	fx_map(fx, root, VA, fx_data(fx, 1), FX_USER | PTE_G | PTE_PCD | PTE_PWT | PTE_PAT4K);
	fx_touch(fx, h, VA, X);
	e = fx_sleaf(fx, h, VA, NULL);
	ck_assert_uint_eq(e, fx_data(fx, 1) | PTE_P | PTE_W | PTE_U | PTE_A | PTE_D);
}
END_TEST

static const struct {
	const char *name;
	uint64_t leaf;  /* the guest leaf */
	unsigned level; /* where `clear` is cleared */
	uint64_t clear;
	unsigned access;
} guest_cases[] = {
	{"not present", FX_USER & ~PTE_P, 1, 0, R},
	{"pd not present", FX_USER, 2, PTE_P, R},
	{"pml4 not present", FX_USER, 4, PTE_P, R},
	{"write to read-only", FX_USER_RO, 1, 0, W},
	{"write under read-only pd", FX_USER, 2, PTE_W, W},
	{"user to supervisor", FX_USER & ~PTE_U, 1, 0, R},
	{"user under supervisor pdpt", FX_USER, 3, PTE_U, R},
	{"fetch from nx", FX_USER | PTE_NX, 1, 0, X},
};

START_TEST(guest_fault_changes_nothing)
{
	struct fx_snap snap;
	pte_t *e;
	int rc;

	fx_map(fx, root, VA, fx_data(fx, 1), guest_cases[_i].leaf);
	e = fx_entry(fx, root, VA, guest_cases[_i].level);
	pte_store(e, pte_load(e) & ~guest_cases[_i].clear);
	fx_snap(fx, &snap);
	rc = shadow_fault(fx->sh, 0, h, VA, guest_cases[_i].access);
	ck_assert_msg(rc == SHADOW_FAULT_GUEST, "%s: %d", guest_cases[_i].name, rc);
	snap.st.fault_guest++;
	fx_snap_same(fx, &snap);
}
END_TEST

START_TEST(guest_2m_page_fills_4k_leaves)
{
	uint64_t va = FX_UVA + 0x40000000ull, frame = fx->data;
	struct shadow_translation t;
	unsigned i;

	fx_map_2m(fx, root, va, frame, PTE_P | PTE_W | PTE_U);
	for (i = 0; i < 4; i++)
		fx_touch(fx, h, va + i * 0x81000, R);
	ck_assert_int_eq(shadow_translate(fx->sh, h, va + 0x81000 + 0x10, &t), 0);
	ck_assert_uint_eq(t.gpa, frame + 0x81010);
	ck_assert(!t.writable);
	ck_assert_uint_eq(fx_frame_maps(fx, frame + 0x81000), 1);
	ck_assert_uint_eq(pte_load(fx_entry(fx, root, va, 2)) & (PTE_A | PTE_D), PTE_A);
	fx_touch(fx, h, va + 0x81000, W);
	ck_assert(pte_load(fx_entry(fx, root, va, 2)) & PTE_D);
	ck_assert_int_eq(shadow_translate(fx->sh, h, va + 0x81000, &t), 0);
	ck_assert(t.writable);
	ck_assert_int_eq(shadow_pmd_count(fx->sh, h, va), 1);
}
END_TEST

/* The kernel slot is mirrored whole: its faults are spurious or the
 * guest's own, never filled. */
START_TEST(kernel_slot_is_never_filled)
{
	struct shadow_translation t;
	uint64_t va = fx->data + 0x5000;

	ck_assert_int_eq(shadow_translate(fx->sh, h, va, &t), 0);
	ck_assert_uint_eq(t.gpa, va);
	ck_assert(t.writable && !t.user);
	ck_assert_int_eq(shadow_fault(fx->sh, 0, h, va, SHADOW_ACCESS_WRITE),
			 SHADOW_FAULT_SPURIOUS);
	ck_assert_int_eq(shadow_fault(fx->sh, 0, h, va, R), SHADOW_FAULT_GUEST);
	ck_assert_int_eq(shadow_pmd_count(fx->sh, h, va), -ENOENT);
	ck_assert_uint_eq(fx_stats(fx).fill_private, 0);
}
END_TEST

/* A fill into an empty region needs a PDPT, a PD and a pmd page: with
 * fewer available it fails and changes nothing, guest A/D bits included. */
START_TEST(fill_without_pages_changes_nothing)
{
	unsigned k = (unsigned)_i;
	struct fx_snap snap;

	fx_map(fx, root, VA, fx_data(fx, 1), PTE_P | PTE_W | PTE_U);
	fx_limit(fx, k);
	fx_snap(fx, &snap);
	ck_assert_int_eq(shadow_fault(fx->sh, 0, h, VA, W), -ENOMEM);
	fx_snap_same(fx, &snap);
	fx_check(fx);
	fx_limit(fx, 3);
	ck_assert_int_eq(shadow_fault(fx->sh, 0, h, VA, W), SHADOW_FAULT_FILLED);
	fx_unlimit(fx);
}
END_TEST

START_TEST(fault_on_malformed_guest_entry_fails)
{
	struct fx_snap snap;

	fx_map(fx, root, VA, fx->cfg.pool_gpa, FX_USER);
	fx_map(fx, root, VA + PAGE_SIZE, fx->cfg.mem_gpa + fx->cfg.mem_size, FX_USER);
	fx_snap(fx, &snap);
	ck_assert_int_eq(shadow_fault(fx->sh, 0, h, VA, R), -EFAULT);
	ck_assert_int_eq(shadow_fault(fx->sh, 0, h, VA + PAGE_SIZE, R), -EFAULT);
	fx_snap_same(fx, &snap);
}
END_TEST

START_TEST(fault_refuses_bad_arguments)
{
	fx_map(fx, root, VA, fx_data(fx, 1), FX_USER);
	ck_assert_int_eq(shadow_fault(fx->sh, 0, h, 0x0000800000000000ull, R), -EINVAL);
	ck_assert_int_eq(shadow_fault(fx->sh, 4, h, VA, R), -EINVAL);
	ck_assert_int_eq(shadow_fault(fx->sh, 0, h + 1, VA, R), -EBADF);
	ck_assert_int_eq(shadow_fault(fx->sh, 0, 0, VA, R), -EBADF);
	ck_assert_int_eq(shadow_fault(fx->sh, 0, h ^ 0x10000u, VA, R), -EBADF);
}
END_TEST

/* The guest shares its PT with the child: a read fault of the child fills
 * the page both link, by compare-and-swap; the parent sees the entry too,
 * and the guest's A bit, in the one guest PT, is both's. */
START_TEST(fill_into_shared_page)
{
	uint64_t pde, e, croot;
	uint32_t c;

	fx_map(fx, root, VA, fx_data(fx, 1), FX_USER);
	fx_map(fx, root, VA + PAGE_SIZE, fx_data(fx, 2), FX_USER);
	fx_touch(fx, h, VA, W);
	c = fx_fork_sharing(fx, h, root, SHADOW_SHARE, 1, &croot);
	ck_assert_uint_eq(fx_stats(fx).share_identity, 1);
	fx_touch(fx, c, VA + PAGE_SIZE, R);
	ck_assert_uint_eq(fx_stats(fx).fill_shared, 1);
	e = fx_sleaf(fx, h, VA + PAGE_SIZE, &pde);
	ck_assert(e & PTE_P);
	/* the leaf has the guest leaf's W (dirty); the link, the guest's
	 * read-only one to a table it shares */
	ck_assert(!(pde & PTE_W));
	ck_assert_uint_eq(fx_frame_maps(fx, fx_data(fx, 2)), 1);
	ck_assert_int_eq(shadow_pmd_count(fx->sh, c, VA), 2);
	fx_check(fx);
	ck_assert(gentry(root, VA + PAGE_SIZE) & PTE_A);
}
END_TEST

/* A page shared by copies (the guest copied its PT at fork) is not
 * filled: the child's guest PT is its own page, so the child unshares
 * first, and the parent's page stays as it was. */
START_TEST(fill_into_page_shared_by_copies_unshares)
{
	struct shadow_stats st;
	uint64_t e;
	uint32_t c;

	fx_map(fx, root, VA, fx_data(fx, 1), FX_USER);
	fx_map(fx, root, VA + PAGE_SIZE, fx_data(fx, 2), FX_USER);
	fx_touch(fx, h, VA, W);
	c = fx_fork(fx, h, root, SHADOW_SHARE, NULL);
	st = fx_stats(fx);
	fx_touch(fx, c, VA + PAGE_SIZE, R);
	ck_assert_uint_eq(fx_stats(fx).fill_shared, st.fill_shared);
	ck_assert_uint_eq(fx_stats(fx).unshare_copy, st.unshare_copy + 1);
	ck_assert_uint_eq(fx_stats(fx).fill_private, st.fill_private + 1);
	e = fx_sleaf(fx, h, VA + PAGE_SIZE, NULL);
	ck_assert(!(e & PTE_P));
	ck_assert_int_eq(shadow_pmd_count(fx->sh, c, VA), 1);
	ck_assert_int_eq(shadow_pmd_count(fx->sh, h, VA), 1);
}
END_TEST

/* Another sharer wins the compare-and-swap (made to happen from the hook):
 * the loser gives its frame reference back. */
static struct {
	uint32_t other;
	bool done;
} race;

static void fill_race_hook(void *arg, enum shadow_hook_point where)
{
	(void)arg;
	if (where != HOOK_FILL_CAS || race.done)
		return;
	race.done = true;
	ck_assert_int_eq(shadow_fault(fx->sh, 1, race.other, VA, R), SHADOW_FAULT_FILLED);
}

START_TEST(fill_race_loser_gives_reference_back)
{
	struct shadow_stats st;
	uint32_t c;

	fx_map(fx, root, VA + PAGE_SIZE, fx_data(fx, 2), FX_USER);
	fx_map(fx, root, VA, fx_data(fx, 1), FX_USER);
	fx_touch(fx, h, VA + PAGE_SIZE, R);
	c = fx_fork_sharing(fx, h, root, SHADOW_SHARE, 1, NULL);
	race.other = h;
	race.done = false;
	shadow_set_hook(fx->sh, fill_race_hook, NULL);
	ck_assert_int_eq(shadow_fault(fx->sh, 0, c, VA, R), SHADOW_FAULT_FILLED);
	shadow_set_hook(fx->sh, NULL, NULL);
	st = fx_stats(fx);
	ck_assert_uint_eq(st.fill_shared, 1);
	ck_assert_uint_eq(st.fill_raced, 1);
	ck_assert_uint_eq(fx_frame_maps(fx, fx_data(fx, 1)), 1);
}
END_TEST

/* A write fault on a shared page whose guest entry allows the write (a
 * supervisor page: fork leaves it writable) unshares first, by copy. */
START_TEST(write_fault_on_shared_page_unshares)
{
	struct shadow_translation t;
	struct shadow_stats st;
	uint32_t c;

	fx_map(fx, root, VA, fx_data(fx, 1), PTE_P | PTE_W | PTE_A | PTE_D);
	fx_map(fx, root, VA + PAGE_SIZE, fx_data(fx, 2), FX_USER);
	fx_touch(fx, h, VA, SHADOW_ACCESS_WRITE);
	fx_touch(fx, h, VA + PAGE_SIZE, W);
	c = fx_fork(fx, h, root, SHADOW_SHARE, NULL);
	ck_assert_int_eq(shadow_translate(fx->sh, c, VA, &t), 0);
	ck_assert(!t.writable);
	ck_assert_int_eq(shadow_fault(fx->sh, 0, c, VA, SHADOW_ACCESS_WRITE), SHADOW_FAULT_FILLED);
	st = fx_stats(fx);
	ck_assert_uint_eq(st.unshare_copy, 1);
	ck_assert_int_eq(shadow_pmd_count(fx->sh, c, VA), 1);
	ck_assert_int_eq(shadow_pmd_count(fx->sh, h, VA), 1);
	ck_assert_int_eq(shadow_translate(fx->sh, c, VA, &t), 0);
	ck_assert(t.writable);
	/* the copy re-derived W from the child's guest: the user page is
	 * copy-on-write there now */
	ck_assert_int_eq(shadow_translate(fx->sh, c, VA + PAGE_SIZE, &t), 0);
	ck_assert(!t.writable);
	ck_assert_int_eq(shadow_fault(fx->sh, 0, c, VA + PAGE_SIZE, W), SHADOW_FAULT_GUEST);
	/* the parent is now alone on the old page, still write-protected:
	 * its write unshares in place */
	ck_assert_int_eq(shadow_fault(fx->sh, 0, h, VA, SHADOW_ACCESS_WRITE), SHADOW_FAULT_FILLED);
	ck_assert_uint_eq(fx_stats(fx).unshare_exclusive, 1);
}
END_TEST

Suite *make_fault_suite(void);

Suite *make_fault_suite(void)
{
	Suite *s = suite_create("fault");
	TCase *tc;

	tc = tcase_create("fill");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, read_fill_of_clean_page_is_read_only);
	tcase_add_test(tc, write_fill_sets_accessed_and_dirty);
	tcase_add_test(tc, fill_strips_cache_and_global_bits);
	tcase_add_test(tc, guest_2m_page_fills_4k_leaves);
	tcase_add_test(tc, kernel_slot_is_never_filled);
	suite_add_tcase(s, tc);

	tc = tcase_create("guest_faults");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, guest_fault_changes_nothing, 0,
			    (int)(sizeof(guest_cases) / sizeof(guest_cases[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("shared");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, fill_into_shared_page);
	tcase_add_test(tc, fill_into_page_shared_by_copies_unshares);
	tcase_add_test(tc, fill_race_loser_gives_reference_back);
	tcase_add_test(tc, write_fault_on_shared_page_unshares);
	suite_add_tcase(s, tc);

	tc = tcase_create("failures");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, fill_without_pages_changes_nothing, 0, 3);
	tcase_add_test(tc, fault_on_malformed_guest_entry_fails);
	tcase_add_test(tc, fault_refuses_bad_arguments);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fx_run(make_fault_suite());
}
