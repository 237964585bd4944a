/* Fork: the three policies, the copy-on-write of both guest trees, the
 * check of the guest's copy, and exhaustion at every page it reserves. */
#include <errno.h>

#include "fixture.h"
#include "internal.h"

#define R SHADOW_ACCESS_USER
#define W (SHADOW_ACCESS_USER | SHADOW_ACCESS_WRITE)
#define VA1 (FX_UVA + 0x00600000ull)         /* slot 1, PDPT 0, PD 3 */
#define VA2 (FX_UVA + 0x40000000ull)         /* slot 1, PDPT 1, PD 0 */
#define VA3 (FX_UVA + 0x0000008000000000ull) /* slot 2 */
#define SVA (VA1 + 0x100000ull)              /* a supervisor page */
#define N1 8u
#define N2 4u
#define N3 2u

static struct fx *fx;
static uint64_t root;
static uint32_t h;

/* Three pmd pages in two PDPTs: user pages written (N1, N2) or only read
 * (N3, so read-only and clean), and a supervisor page written. */
static void setup_opts(const struct fx_opts *o)
{
	unsigned i;

	fx = fx_new(o);
	root = fx_root(fx);
	for (i = 0; i < N1; i++)
		fx_map(fx, root, VA1 + i * PAGE_SIZE, fx_data(fx, i), PTE_P | PTE_W | PTE_U);
	for (i = 0; i < N2; i++)
		fx_map(fx, root, VA2 + i * PAGE_SIZE, fx_data(fx, 10 + i), PTE_P | PTE_W | PTE_U);
	for (i = 0; i < N3; i++)
		fx_map(fx, root, VA3 + i * PAGE_SIZE, fx_data(fx, 20 + i), PTE_P | PTE_W | PTE_U);
	fx_map(fx, root, SVA, fx_data(fx, 30), PTE_P | PTE_W);
	h = fx_create(fx, root);
	for (i = 0; i < N1; i++)
		fx_touch(fx, h, VA1 + i * PAGE_SIZE, W);
	for (i = 0; i < N2; i++)
		fx_touch(fx, h, VA2 + i * PAGE_SIZE, W);
	for (i = 0; i < N3; i++)
		fx_touch(fx, h, VA3 + i * PAGE_SIZE, R);
	fx_touch(fx, h, SVA, SHADOW_ACCESS_WRITE);
}

static void setup(void)
{
	setup_opts(NULL);
}

static void setup_small(void)
{
	struct fx_opts o = {.mem_mib = 16, .pool_mib = 2, .data_mib = 1};

	setup_opts(&o);
}

static void teardown(void)
{
	fx_check(fx);
	fx_free(fx);
}

static const enum shadow_policy policies[] = {SHADOW_SHARE, SHADOW_COPY, SHADOW_LAZY};
/* Pool pages each policy takes for the parent above: the root, then two
 * PDPTs and three PDs (share, copy), then three pmd pages (copy). */
static const unsigned pages_needed[] = {6, 9, 1};
/* Shadow entries each writes: the child's kernel link and 2 + 3 + 3
 * upper entries; share: the parent's 3 PD entries made read-only; copy:
 * 15 leaves copied and the parent's 13 writable ones write-protected;
 * lazy: the link and the 13 write-protects. */
static const uint64_t entries_written[] = {12, 37, 14};

static void assert_cow(uint64_t r)
{
	unsigned i;

	for (i = 0; i < N1; i++)
		ck_assert(!(pte_load(fx_entry(fx, r, VA1 + i * PAGE_SIZE, 1)) & PTE_W));
	for (i = 0; i < N3; i++)
		ck_assert(!(pte_load(fx_entry(fx, r, VA3 + i * PAGE_SIZE, 1)) & PTE_W));
	/* supervisor pages are not the guest's copy-on-write business */
	ck_assert(pte_load(fx_entry(fx, r, SVA, 1)) & PTE_W);
}

START_TEST(fork_by_policy)
{
	enum shadow_policy p = policies[_i];
	struct shadow_translation t;
	struct shadow_stats st = fx_stats(fx), now;
	uint64_t croot;
	uint32_t c;

	c = fx_fork(fx, h, root, p, &croot);
	now = fx_stats(fx);
	ck_assert_uint_eq(now.pages_allocated - st.pages_allocated, pages_needed[_i]);
	ck_assert_uint_eq(now.shadow_entries_written - st.shadow_entries_written,
			  entries_written[_i]);
	ck_assert_uint_eq(now.guest_entries_written - st.guest_entries_written, N1 + N2 + N3);
	ck_assert_uint_eq(now.forks_share, p == SHADOW_SHARE);
	ck_assert_uint_eq(now.forks_copy, p == SHADOW_COPY);
	ck_assert_uint_eq(now.forks_lazy, p == SHADOW_LAZY);
	/* copy: exactly the parent's three pmd pages */
	ck_assert_uint_eq(now.pmd_copied - st.pmd_copied, p == SHADOW_COPY ? 3 : 0);
	assert_cow(root);
	assert_cow(croot);
	/* the parent keeps its translations, none writable by the user */
	ck_assert_int_eq(shadow_translate(fx->sh, h, VA1, &t), 0);
	ck_assert(!t.writable);
	ck_assert_int_eq(shadow_translate(fx->sh, h, VA2 + PAGE_SIZE, &t), 0);
	ck_assert(!t.writable);
	if (p == SHADOW_LAZY) {
		ck_assert_int_eq(shadow_translate(fx->sh, c, VA1, &t), -ENOENT);
		ck_assert_int_eq(shadow_translate(fx->sh, c, fx->data, &t), 0);
		fx_touch(fx, c, VA1, R);
		ck_assert_int_eq(shadow_pmd_count(fx->sh, c, VA1), 1);
	} else {
		ck_assert_int_eq(shadow_translate(fx->sh, c, VA2 + 3 * PAGE_SIZE, &t), 0);
		ck_assert_uint_eq(t.gpa, fx_data(fx, 13));
		ck_assert(!t.writable);
		ck_assert_int_eq(shadow_pmd_count(fx->sh, c, VA3), p == SHADOW_SHARE ? 2 : 1);
		ck_assert_uint_eq(fx_frame_maps(fx, fx_data(fx, 13)), p == SHADOW_SHARE ? 1 : 2);
	}
	/* the guest's copy-on-write break works on both sides */
	fx_check(fx);
	ck_assert_int_eq(shadow_fault(fx->sh, 0, c, VA1, W), SHADOW_FAULT_GUEST);
	ck_assert_int_eq(shadow_fault(fx->sh, 0, h, VA1, W), SHADOW_FAULT_GUEST);
}
END_TEST

/* The guest may leave W set in the child's user-writable leaves (the
 * library clears it) or clear it itself. */
START_TEST(fork_accepts_child_with_or_without_w)
{
	uint64_t croot = fx_copy(fx, root, _i == 1);
	uint32_t c;

	ck_assert_int_eq(shadow_as_fork(fx->sh, 0, h, croot, SHADOW_SHARE, &c), 0);
	ck_assert_uint_eq(fx_stats(fx).guest_entries_written >= N1 + N2 + N3, 1);
	assert_cow(croot);
}
END_TEST

/* Accessed and dirty bits may differ between the trees. */
START_TEST(fork_ignores_accessed_and_dirty)
{
	uint64_t croot = fx_copy(fx, root, true);
	pte_t *e = fx_entry(fx, croot, VA1, 1);
	uint32_t c;

	pte_store(e, pte_load(e) & ~(PTE_A | PTE_D));
	e = fx_entry(fx, croot, VA1, 2);
	pte_store(e, pte_load(e) & ~PTE_A);
	ck_assert_int_eq(shadow_as_fork(fx->sh, 0, h, croot, SHADOW_SHARE, &c), 0);
}
END_TEST

enum mismatch {
	MM_FRAME,        /* a leaf maps another frame */
	MM_FLAGS,        /* a leaf lost U */
	MM_GAINS_W,      /* a read-only leaf became writable */
	MM_EXTRA,        /* a leaf the parent does not have */
	MM_MISSING,      /* a leaf the parent has */
	MM_TABLE_FLAGS,  /* a PD entry lost U */
	MM_KERNEL,       /* the kernel slot points elsewhere */
	MM_SHARED_TABLE, /* the child uses the parent's PDPT */
	MM_TABLE_TWICE,  /* one child PT under two PD entries */
	MM_SAME_ROOT,    /* the child root is the parent's */
	MM_ROOT_ALIGN,   /* misaligned child root */
	MM_ROOT_POOL,    /* child root in the pool */
	MM_CHILD_OWN_PT, /* the parent maps a frame that is the child's PT */
	MM_SUPERVISOR_W, /* a supervisor leaf lost W */
};

static const struct {
	const char *name;
	enum mismatch what;
	int expect;
} mismatch_cases[] = {
	{"leaf frame", MM_FRAME, -EINVAL},
	{"leaf flags", MM_FLAGS, -EINVAL},
	{"leaf gains W", MM_GAINS_W, -EINVAL},
	{"extra leaf", MM_EXTRA, -EINVAL},
	{"missing leaf", MM_MISSING, -EINVAL},
	{"table flags", MM_TABLE_FLAGS, -EINVAL},
	{"kernel slot", MM_KERNEL, -EINVAL},
	{"shares a parent table", MM_SHARED_TABLE, -EINVAL},
	{"table reached twice", MM_TABLE_TWICE, -EINVAL},
	{"same root", MM_SAME_ROOT, -EINVAL},
	{"misaligned root", MM_ROOT_ALIGN, -EINVAL},
	{"root in pool", MM_ROOT_POOL, -EFAULT},
	{"child leaf maps its own pt", MM_CHILD_OWN_PT, -ELOOP},
	{"supervisor leaf loses W", MM_SUPERVISOR_W, -EINVAL},
};

START_TEST(fork_refuses_a_bad_copy)
{
	uint64_t croot, arg;
	struct fx_snap snap;
	pte_t *e;
	uint32_t c = 0;
	int rc;

	/* two PD entries with equal PTs, for the table-reached-twice case */
	fx_map(fx, root, VA1 + HUGE_SIZE, fx_data(fx, 0), FX_USER_RO);
	if (mismatch_cases[_i].what == MM_TABLE_TWICE) {
		/* the parent's two PTs equal, so that only the child's aliasing
		 * of one PT under both entries is wrong */
		pte_t *a = fx_entry(fx, root, VA1, 1) - pt_index(VA1, 1);
		pte_t *b = fx_entry(fx, root, VA1 + HUGE_SIZE, 1) - pt_index(VA1, 1);
		unsigned i;

		for (i = 0; i < PT_ENTRIES; i++)
			pte_store(&b[i], pte_load(&a[i]));
	}
	croot = fx_copy(fx, root, true);
	arg = croot;
	switch (mismatch_cases[_i].what) {
	case MM_FRAME:
		e = fx_entry(fx, croot, VA1, 1);
		pte_store(e, (pte_load(e) & ~PTE_FRAME) | fx_data(fx, 99));
		break;
	case MM_FLAGS:
		e = fx_entry(fx, croot, VA1, 1);
		pte_store(e, pte_load(e) & ~PTE_U);
		break;
	case MM_GAINS_W:
		e = fx_entry(fx, root, VA1 + HUGE_SIZE, 1);
		ck_assert(!(pte_load(e) & PTE_W));
		e = fx_entry(fx, croot, VA1 + HUGE_SIZE, 1);
		pte_store(e, pte_load(e) | PTE_W);
		break;
	case MM_EXTRA:
		pte_store(fx_entry(fx, croot, VA1 + 200 * PAGE_SIZE, 1), fx_data(fx, 5) | FX_USER);
		break;
	case MM_MISSING:
		pte_store(fx_entry(fx, croot, VA2, 1), 0);
		break;
	case MM_TABLE_FLAGS:
		e = fx_entry(fx, croot, VA1, 2);
		pte_store(e, pte_load(e) & ~PTE_U);
		break;
	case MM_KERNEL:
		e = fx_entry(fx, croot, 0, 4);
		pte_store(e, pte_load(e) | PTE_NX);
		break;
	case MM_SHARED_TABLE:
		pte_store(fx_entry(fx, croot, VA3, 4), pte_load(fx_entry(fx, root, VA3, 4)));
		break;
	case MM_TABLE_TWICE:
		pte_store(fx_entry(fx, croot, VA1 + HUGE_SIZE, 2),
			  pte_load(fx_entry(fx, croot, VA1, 2)));
		break;
	case MM_SAME_ROOT:
		arg = root;
		break;
	case MM_ROOT_ALIGN:
		arg = croot + 8;
		break;
	case MM_ROOT_POOL:
		arg = fx->cfg.pool_gpa;
		break;
	case MM_CHILD_OWN_PT:
		arg = pte_load(fx_entry(fx, croot, VA1, 2)) & PTE_FRAME;
		pte_store(fx_entry(fx, root, VA1 + 100 * PAGE_SIZE, 1), arg | FX_USER_RO);
		pte_store(fx_entry(fx, croot, VA1 + 100 * PAGE_SIZE, 1), arg | FX_USER_RO);
		arg = croot;
		break;
	case MM_SUPERVISOR_W:
		e = fx_entry(fx, croot, SVA, 1);
		pte_store(e, pte_load(e) & ~PTE_W);
		break;
	}
	fx_snap(fx, &snap);
	rc = shadow_as_fork(fx->sh, 0, h, arg, SHADOW_SHARE, &c);
	ck_assert_msg(rc == mismatch_cases[_i].expect, "%s: %d, expected %d",
		      mismatch_cases[_i].name, rc, mismatch_cases[_i].expect);
	fx_snap_same(fx, &snap);
}
END_TEST

/* Fork checks the trees' tables and that the leaves are equal; a leaf's
 * frame is checked when it is filled, as always, so a bad leaf is forked
 * as it is and never shadowed. */
START_TEST(fork_leaves_bad_leaves_to_the_fill)
{
	uint64_t croot;
	uint32_t c;

	fx_map(fx, root, VA1 + 100 * PAGE_SIZE, fx->cfg.pool_gpa, FX_USER_RO);
	croot = fx_copy(fx, root, true);
	ck_assert_int_eq(shadow_as_fork(fx->sh, 0, h, croot, SHADOW_SHARE, &c), 0);
	ck_assert_int_eq(shadow_fault(fx->sh, 0, c, VA1 + 100 * PAGE_SIZE, R), -EFAULT);
	ck_assert_int_eq(shadow_fault(fx->sh, 0, h, VA1 + 100 * PAGE_SIZE, R), -EFAULT);
}
END_TEST

/* Pool exhaustion at every page a fork reserves: with k < needed pages
 * available it fails and nothing changes; with exactly needed it works. */
START_TEST(fork_without_pages_changes_nothing)
{
	unsigned p = 0, k = (unsigned)_i;
	struct fx_snap snap;
	uint64_t croot;
	uint32_t c;

	while (k > pages_needed[p]) {
		k -= pages_needed[p] + 1;
		p++;
	}
	croot = fx_copy(fx, root, false);
	fx_limit(fx, k);
	if (k < pages_needed[p]) {
		fx_snap(fx, &snap);
		ck_assert_int_eq(shadow_as_fork(fx->sh, 0, h, croot, policies[p], &c), -ENOMEM);
		fx_snap_same(fx, &snap);
		fx_check(fx);
		fx_limit(fx, pages_needed[p]);
	}
	ck_assert_int_eq(shadow_as_fork(fx->sh, 0, h, croot, policies[p], &c), 0);
	fx_unlimit(fx);
}
END_TEST

START_TEST(fork_without_a_slot_changes_nothing)
{
	struct fx_snap snap;
	uint64_t croot = fx_copy(fx, root, true);
	uint32_t c;
	unsigned i;

	for (i = 1; i < 64; i++)
		ck_assert_int_eq(shadow_as_create(fx->sh, 0, fx_root(fx), &c), 0);
	fx_snap(fx, &snap);
	ck_assert_int_eq(shadow_as_fork(fx->sh, 0, h, croot, SHADOW_SHARE, &c), -ENOSPC);
	fx_snap_same(fx, &snap);
}
END_TEST

START_TEST(fork_refuses_bad_arguments)
{
	uint64_t croot = fx_copy(fx, root, true), gpa;
	uint32_t c;

	ck_assert_int_eq(shadow_as_fork(fx->sh, 0, h, croot, (enum shadow_policy)7, &c), -EINVAL);
	ck_assert_int_eq(shadow_as_fork(fx->sh, 0, h, croot, SHADOW_SHARE, NULL), -EINVAL);
	ck_assert_int_eq(shadow_as_fork(fx->sh, 0, h + 1, croot, SHADOW_SHARE, &c), -EBADF);
	ck_assert_int_eq(shadow_as_fork(fx->sh, 9, h, croot, SHADOW_SHARE, &c), -EINVAL);
	ck_assert_int_eq(shadow_switch(fx->sh, 2, h, &gpa), 0);
	ck_assert_int_eq(shadow_as_fork(fx->sh, 0, h, croot, SHADOW_SHARE, &c), -EBUSY);
	ck_assert_int_eq(shadow_as_fork(fx->sh, 2, h, croot, SHADOW_SHARE, &c), 0);
	ck_assert_int_eq(shadow_unload(fx->sh, 2), 0);
}
END_TEST

/* Forks of forks, policies mixed, children written and destroyed: the
 * invariants hold at every step and the pool comes back full. */
START_TEST(fork_generations_mixed)
{
	uint64_t roots[8];
	uint32_t hs[8];
	unsigned i, n = 1;
	struct shadow_update u;

	roots[0] = root;
	hs[0] = h;
	for (i = 1; i < 8; i++) {
		unsigned from = (i * 5) % n;

		hs[n] = fx_fork(fx, hs[from], roots[from], policies[i % 3], &roots[n]);
		n++;
		u = (struct shadow_update){.va = VA1 + (i % N1) * PAGE_SIZE,
					   .value = fx_data(fx, 40 + i) | FX_USER,
					   .level = 1};
		ck_assert_int_eq(shadow_update(fx->sh, 0, hs[from], &u, 1, NULL), 1);
		fx_touch(fx, hs[n - 1], VA2 + (i % N2) * PAGE_SIZE, R);
		fx_touch(fx, hs[from], VA3, R);
		fx_check(fx);
	}
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(shadow_as_destroy(fx->sh, 0, hs[(i * 3) % n]), 0);
		fx_check(fx);
	}
	ck_assert(shadow_pool_full(fx->sh));
	for (i = 0; i < 64; i++)
		ck_assert_uint_eq(fx_frame_maps(fx, fx_data(fx, i)), 0);
}
END_TEST

Suite *make_fork_suite(void);

Suite *make_fork_suite(void)
{
	Suite *s = suite_create("fork");
	TCase *tc;

	tc = tcase_create("policies");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, fork_by_policy, 0, 3);
	tcase_add_loop_test(tc, fork_accepts_child_with_or_without_w, 0, 2);
	tcase_add_test(tc, fork_ignores_accessed_and_dirty);
	tcase_add_test(tc, fork_generations_mixed);
	suite_add_tcase(s, tc);

	tc = tcase_create("refuses");
	tcase_add_checked_fixture(tc, setup_small, teardown);
	tcase_add_loop_test(tc, fork_refuses_a_bad_copy, 0,
			    (int)(sizeof(mismatch_cases) / sizeof(mismatch_cases[0])));
	tcase_add_test(tc, fork_refuses_bad_arguments);
	tcase_add_test(tc, fork_leaves_bad_leaves_to_the_fill);
	suite_add_tcase(s, tc);

	tc = tcase_create("exhaustion");
	tcase_add_checked_fixture(tc, setup_small, teardown);
	/* k = 0..needed for each policy in turn */
	tcase_add_loop_test(tc, fork_without_pages_changes_nothing, 0, 6 + 1 + 9 + 1 + 1 + 1);
	tcase_add_test(tc, fork_without_a_slot_changes_nothing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fx_run(make_fork_suite());
}
