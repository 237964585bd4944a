/*
 * Every flush point, pinned: for each change the library can make to an
 * entry a vCPU may have cached, what it records for the vCPU whose call
 * made it, in each flush mode (shadow.h, enum shadow_flush_mode):
 *   GLOBAL  any change: "all" (a whole-VM flush);
 *   TLB     a change to the address space loaded on the caller: the VAs
 *           of narrowed leaves, or "all" after an upper-level change;
 *           loaded nowhere: nothing, nobody has it cached;
 *   COPY    an upper-level change copies the path (path_copies) and moves
 *           the root ("root_moved" when loaded on the caller); a narrowed
 *           leaf is listed by its old frame, loaded or not.
 * And what needs no flush in any mode: fills, widening, a narrowing the PD
 * link hid. Removing any flush from the library fails one of these.
 */
#include <errno.h>

#include "fixture.h"
#include "internal.h"

#define W (SHADOW_ACCESS_USER | SHADOW_ACCESS_WRITE)
#define R SHADOW_ACCESS_USER
#define VA (FX_UVA + 0x40600000ull)
#define NPAGES 4

static const enum shadow_flush_mode modes[] = {SHADOW_FLUSH_GLOBAL, SHADOW_FLUSH_TLB,
					       SHADOW_FLUSH_COPY};

static struct fx *fx;
static uint64_t root;
static uint32_t h;
static enum shadow_flush_mode mode;

/* An address space with NPAGES written pages at VA, loaded on cpu 0 (or
 * on none), nothing recorded yet. */
static void start(int i, bool loaded)
{
	struct fx_opts o = {.flush_mode = modes[i], .defer_free = modes[i] != SHADOW_FLUSH_TLB};
	uint64_t gpa;
	unsigned k;

	mode = modes[i];
	fx = fx_new(&o);
	root = fx_root(fx);
	for (k = 0; k < NPAGES; k++)
		fx_map(fx, root, VA + k * PAGE_SIZE, fx_data(fx, k), PTE_P | PTE_W | PTE_U);
	h = fx_create(fx, root);
	for (k = 0; k < NPAGES; k++)
		fx_touch(fx, h, VA + k * PAGE_SIZE, W);
	if (loaded)
		ck_assert_int_eq(shadow_switch(fx->sh, 0, h, &gpa), 0);
	fx_flush_take(fx);
}

static void finish(void)
{
	fx_check(fx);
	ck_assert_int_eq(shadow_unload(fx->sh, 0), 0);
	fx_free(fx);
}

static int update1(uint32_t a, uint64_t va, uint64_t value, unsigned level)
{
	struct shadow_update u = {.va = va, .value = value, .level = level};
	int err = 0;

	return shadow_update(fx->sh, 0, a, &u, 1, &err) == 1 ? 0 : err;
}

static uint64_t guest(uint64_t va, unsigned level)
{
	return pte_load(fx_entry(fx, root, va, level));
}

static uint64_t copies(void)
{
	return fx_stats(fx).path_copies;
}

/* What an upper-level change of the address space loaded on cpu 0 must
 * have recorded: `n` pages copied in COPY mode since `before`. */
static void expect_upper(unsigned n, uint64_t before)
{
	struct shadow_flush f = fx_flush_take(fx);

	if (mode == SHADOW_FLUSH_COPY) {
		ck_assert(!f.all);
		ck_assert(f.root_moved);
		ck_assert_uint_eq(copies() - before, n);
	} else {
		ck_assert(f.all);
		ck_assert(!f.root_moved);
		ck_assert_uint_eq(copies() - before, 0);
	}
}

/* Nothing a vCPU cached is stale. */
static void expect_nothing(void)
{
	struct shadow_flush f = fx_flush_take(fx);

	ck_assert(!f.all && !f.root_moved);
	ck_assert_uint_eq(f.n, 0);
}

START_TEST(leaf_repointed)
{
	struct shadow_flush f;

	start(_i, true);
	ck_assert_int_eq(update1(h, VA, fx_data(fx, 50) | FX_USER, 1), 0);
	f = fx_flush_take(fx);
	ck_assert(!f.root_moved);
	if (mode == SHADOW_FLUSH_GLOBAL) {
		ck_assert(f.all);
	} else {
		ck_assert(!f.all);
		ck_assert_uint_eq(f.n, 1);
		if (mode == SHADOW_FLUSH_TLB)
			ck_assert_uint_eq(f.va[0], VA);
		else
			ck_assert_uint_eq(f.frame[0], fx_data(fx, 0));
	}
	finish();
}
END_TEST

/* More narrowed leaves than a record holds: the rest become "all". */
START_TEST(leaves_past_the_record)
{
	struct shadow_update u[SHADOW_FLUSH_MAX + 1];
	struct shadow_flush f;
	unsigned k, n = SHADOW_FLUSH_MAX + 1;
	int err = 0;

	start(_i, true);
	for (k = 0; k < n; k++)
		fx_map(fx, root, VA + (NPAGES + k) * PAGE_SIZE, fx_data(fx, 100 + k), FX_USER);
	for (k = 0; k < n; k++)
		fx_touch(fx, h, VA + (NPAGES + k) * PAGE_SIZE, W);
	fx_flush_take(fx);
	for (k = 0; k < n; k++)
		u[k] = (struct shadow_update){.va = VA + (NPAGES + k) * PAGE_SIZE,
					      .value = fx_data(fx, 100 + k) | FX_USER_RO,
					      .level = 1};
	ck_assert_int_eq(shadow_update(fx->sh, 0, h, u, n, &err), (int)n);
	f = fx_flush_take(fx);
	ck_assert(f.all);
	ck_assert_uint_eq(f.n, mode == SHADOW_FLUSH_GLOBAL ? 0 : SHADOW_FLUSH_MAX);
	finish();
}
END_TEST

/* Leaves narrowed in an address space loaded nowhere: nobody has them in
 * a TLB, but a shadow-paging KVM keeps what it cached of them for the
 * next vCPU that loads it. */
START_TEST(leaf_narrowed_while_loaded_nowhere)
{
	struct shadow_flush f;

	start(_i, false);
	ck_assert_int_eq(update1(h, VA, fx_data(fx, 0) | FX_USER_RO, 1), 0);
	f = fx_flush_take(fx);
	switch (mode) {
	case SHADOW_FLUSH_GLOBAL:
		ck_assert(f.all);
		break;
	case SHADOW_FLUSH_TLB:
		ck_assert(!f.all && f.n == 0);
		break;
	case SHADOW_FLUSH_COPY:
		ck_assert_uint_eq(f.n, 1);
		ck_assert_uint_eq(f.frame[0], fx_data(fx, 0));
		break;
	}
	finish();
}
END_TEST

/* An upper-level change to an address space loaded nowhere: COPY still
 * copies the path (KVM would otherwise reuse what it cached of the old
 * page for the next vCPU), but no vCPU has to load the new root now. */
START_TEST(upper_changed_while_loaded_nowhere)
{
	struct shadow_flush f;
	uint64_t before;

	start(_i, false);
	before = copies();
	ck_assert_int_eq(update1(h, VA, 0, 2), 0);
	f = fx_flush_take(fx);
	ck_assert(!f.root_moved);
	ck_assert(mode == SHADOW_FLUSH_GLOBAL ? f.all : !f.all);
	ck_assert_uint_eq(copies() - before, mode == SHADOW_FLUSH_COPY ? 3 : 0);
	finish();
}
END_TEST

/* A PD entry re-pointed at another PT (the guest's unshare), dropped, or
 * made read-only; a PDPT and a PML4 entry dropped: each changes a link the
 * vCPU walks. COPY copies the pages from the root down to the one
 * changed. */
static const struct {
	const char *what;
	unsigned level;
	int value; /* 0: not present; 1: a fresh PT; 2: read-only */
	unsigned copies;
} upper_cases[] = {
	{"pd repointed", 2, 1, 3}, {"pd dropped", 2, 0, 3},   {"pd read-only", 2, 2, 3},
	{"pdpt dropped", 3, 0, 2}, {"pml4 dropped", 4, 0, 1},
};

START_TEST(upper_entry_changed)
{
	unsigned c = (unsigned)_i / 3, level = upper_cases[c].level;
	uint64_t before, v = 0, fresh;

	start(_i % 3, true);
	before = copies();
	if (upper_cases[c].value == 1) {
		fresh = fx_frame(fx);
		pte_store((pte_t *)fx_host(fx, fresh), fx_data(fx, 60) | FX_USER);
		v = fresh | (guest(VA, level) & ~PTE_FRAME);
	} else if (upper_cases[c].value == 2) {
		v = guest(VA, level) & ~PTE_W;
	}
	ck_assert_msg(update1(h, VA, v, level) == 0, "%s", upper_cases[c].what);
	expect_upper(upper_cases[c].copies, before);
	finish();
}
END_TEST

/* Fork: the parent's link to the page it shares (by copies, or the PT the
 * guest shares) loses W: the parent, loaded on the caller, flushes. */
START_TEST(fork_write_protects_the_parent)
{
	uint64_t before;

	start(_i % 3, true);
	before = copies();
	if (_i < 3)
		fx_fork(fx, h, root, SHADOW_SHARE, NULL);
	else
		fx_fork_sharing(fx, h, root, SHADOW_SHARE, 1, NULL);
	/* the parent's root, PDPT and PD (COPY) */
	expect_upper(3, before);
	finish();
}
END_TEST

/* Unshare by copy: the child, loaded on the caller, re-points its link to
 * its copy. In place (count 1): the leaves lose W under a link that was
 * read-only (hidden: nothing cached them writable), then the link widens,
 * which needs nothing in TLB mode; COPY never widens a link over a page a
 * vCPU may have walked (KVM keeps what it cached by the link's access) and
 * copies it; GLOBAL flushes any change. */
START_TEST(unshare_repoints_or_widens)
{
	struct shadow_update u = {.va = VA, .value = 0, .level = 1};
	struct shadow_flush f;
	uint64_t gpa, croot, before, pde, pde2;
	uint32_t c;
	int err = 0;

	start(_i, true);
	ck_assert_int_eq(shadow_unload(fx->sh, 0), 0);
	c = fx_fork(fx, h, root, SHADOW_SHARE, &croot);
	ck_assert_int_eq(shadow_switch(fx->sh, 0, c, &gpa), 0);
	fx_flush_take(fx);
	before = copies();
	u.value = fx_data(fx, 70) | FX_USER;
	ck_assert_int_eq(shadow_update(fx->sh, 0, c, &u, 1, &err), 1);
	ck_assert_uint_eq(fx_stats(fx).unshare_copy, 1);
	expect_upper(3, before);

	/* the parent alone now: its write unshares in place */
	ck_assert_int_eq(shadow_switch(fx->sh, 0, h, &gpa), 0);
	fx_flush_take(fx);
	before = copies();
	fx_sleaf(fx, h, VA, &pde);
	u.value = fx_data(fx, 71) | FX_USER;
	ck_assert_int_eq(shadow_update(fx->sh, 0, h, &u, 1, &err), 1);
	ck_assert_uint_eq(fx_stats(fx).unshare_exclusive, 1);
	f = fx_flush_take(fx);
	switch (mode) {
	case SHADOW_FLUSH_GLOBAL:
		ck_assert(f.all);
		break;
	case SHADOW_FLUSH_TLB:
		/* the leaf the update re-pointed; the others only lost W under
		 * the read-only link */
		ck_assert(!f.all && f.n == 1 && f.va[0] == VA);
		break;
	case SHADOW_FLUSH_COPY:
		ck_assert(f.root_moved && !f.all);
		ck_assert_uint_eq(copies() - before, 3);
		/* and a fresh pmd page under the widened link */
		fx_sleaf(fx, h, VA, &pde2);
		ck_assert_uint_ne(pde & PTE_FRAME, pde2 & PTE_FRAME);
		break;
	}
	ck_assert_int_eq(shadow_unload(fx->sh, 0), 0);
	ck_assert_int_eq(shadow_as_destroy(fx->sh, 0, c), 0);
	finish();
}
END_TEST

/* Filling an empty entry, and widening a leaf on a write: never cached. */
START_TEST(fills_and_widening_need_nothing)
{
	start(_i, true);
	fx_map(fx, root, VA + NPAGES * PAGE_SIZE, fx_data(fx, 80), PTE_P | PTE_W | PTE_U);
	fx_touch(fx, h, VA + NPAGES * PAGE_SIZE, R);
	expect_nothing();
	fx_touch(fx, h, VA + NPAGES * PAGE_SIZE, W); /* sets D: read-only leaf made writable */
	expect_nothing();
	/* a new PD, PDPT: empty entries filled with links */
	fx_map(fx, root, FX_UVA + (8ull << 30), fx_data(fx, 81), FX_USER);
	fx_touch(fx, h, FX_UVA + (8ull << 30), R);
	expect_nothing();
	finish();
}
END_TEST

/* Under a read-only PD link (the guest's own), a leaf that loses only W
 * was never cached writable: no flush. */
START_TEST(hidden_narrowing_needs_nothing)
{
	start(_i, true);
	ck_assert_int_eq(update1(h, VA, guest(VA, 2) & ~PTE_W, 2), 0);
	fx_flush_take(fx);
	ck_assert_int_eq(update1(h, VA, fx_data(fx, 0) | FX_USER_RO | PTE_D, 1), 0);
	expect_nothing();
	finish();
}
END_TEST

/* Freed pages: reusable at once where only TLBs cache them; in limbo until
 * a whole-VM flush where KVM caches them by frame. */
START_TEST(freed_pages_wait_where_kvm_caches)
{
	uint32_t before;

	start(_i, false);
	before = pool_available(fx->sh);
	ck_assert_int_eq(shadow_as_destroy(fx->sh, 0, h), 0);
	if (mode == SHADOW_FLUSH_TLB)
		ck_assert_uint_gt(pool_available(fx->sh), before);
	else
		ck_assert_uint_eq(pool_available(fx->sh), before);
	shadow_flush_done(fx->sh, shadow_flush_begin(fx->sh));
	ck_assert(shadow_pool_full(fx->sh));
	ck_assert_uint_gt(pool_available(fx->sh), before);
	fx_free(fx);
}
END_TEST

Suite *make_flush_suite(void);

Suite *make_flush_suite(void)
{
	Suite *s = suite_create("flush");
	TCase *tc = tcase_create("points");
	int nmodes = (int)(sizeof(modes) / sizeof(modes[0]));

	tcase_add_loop_test(tc, leaf_repointed, 0, nmodes);
	tcase_add_loop_test(tc, leaves_past_the_record, 0, nmodes);
	tcase_add_loop_test(tc, leaf_narrowed_while_loaded_nowhere, 0, nmodes);
	tcase_add_loop_test(tc, upper_changed_while_loaded_nowhere, 0, nmodes);
	tcase_add_loop_test(tc, upper_entry_changed, 0,
			    nmodes * (int)(sizeof(upper_cases) / sizeof(upper_cases[0])));
	tcase_add_loop_test(tc, fork_write_protects_the_parent, 0, 2 * nmodes);
	tcase_add_loop_test(tc, unshare_repoints_or_widens, 0, nmodes);
	tcase_add_loop_test(tc, fills_and_widening_need_nothing, 0, nmodes);
	tcase_add_loop_test(tc, hidden_narrowing_needs_nothing, 0, nmodes);
	tcase_add_loop_test(tc, freed_pages_wait_where_kvm_caches, 0, nmodes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fx_run(make_flush_suite());
}
