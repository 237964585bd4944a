/*
 * The races of the seed (seed/page-table-sharing-2002.txt), each run by
 * two real threads on two vCPUs against one pmd page shared by two
 * address spaces. The hooks inside the library hold a thread at the point
 * where the seed's interleaving matters, so each case runs the interleaving
 * it names, every time; the counters then show which path ran. The share
 * and unshare races run on a page shared by copies (the guest copied its
 * tables); fills run on a page the guest shares itself (identity), the
 * only kind a fill may write while shared.
 */
#include <config.h> /* pthread_barrier_t: POSIX, beyond C11 */

#include <errno.h>
#include <pthread.h>

#include "fixture.h"
#include "internal.h"

#define R SHADOW_ACCESS_USER
#define W (SHADOW_ACCESS_USER | SHADOW_ACCESS_WRITE)
#define VA (FX_UVA + 0x400000ull)
#define NPAGES 16u
#define ROUNDS 20

static struct fx *fx;
static uint64_t roots[2];
static uint32_t as[2];            /* two sharers of the pmd page at VA */
static bool identity;             /* the guest shares the PT too */
static pthread_barrier_t barrier; /* the two threads */

/* Per thread: the hook point to stop at, and how many barrier waits to
 * make there (once). */
static _Thread_local enum shadow_hook_point stop_at;
static _Thread_local int stop_waits;

static void hook(void *arg, enum shadow_hook_point where)
{
	(void)arg;
	if (where != stop_at)
		return;
	for (; stop_waits > 0; stop_waits--)
		pthread_barrier_wait(&barrier);
}

/* A fresh pair: as[0] with NPAGES pages written, as[1] forked from it,
 * sharing its pmd page (count 2); pages above NPAGES/2 left unfilled. */
static void pair_new(bool shared_pt)
{
	struct fx_opts o = {.mem_mib = 16, .pool_mib = 2, .data_mib = 1};
	unsigned i;

	fx = fx_new(&o);
	roots[0] = fx_root(fx);
	for (i = 0; i < NPAGES; i++)
		fx_map(fx, roots[0], VA + i * PAGE_SIZE, fx_data(fx, i), PTE_P | PTE_W | PTE_U);
	as[0] = fx_create(fx, roots[0]);
	for (i = 0; i < NPAGES / 2; i++)
		fx_touch(fx, as[0], VA + i * PAGE_SIZE, W);
	identity = shared_pt;
	if (identity)
		as[1] = fx_fork_sharing(fx, as[0], roots[0], SHADOW_SHARE, 1, &roots[1]);
	else
		as[1] = fx_fork(fx, as[0], roots[0], SHADOW_SHARE, &roots[1]);
	ck_assert_int_eq(shadow_pmd_count(fx->sh, as[0], VA), 2);
	shadow_set_hook(fx->sh, hook, NULL);
}

static void pair_free(void)
{
	fx_check(fx);
	ck_assert_int_eq(shadow_as_destroy(fx->sh, 0, as[0]), 0);
	ck_assert_int_eq(shadow_as_destroy(fx->sh, 0, as[1]), 0);
	fx_check(fx);
	fx_free(fx);
}

enum op {
	OP_FORK,     /* fork (share policy): the seed's "share" */
	OP_UNSHARE,  /* the guest's copy-on-write break: an update, the seed's "unshare"
		     * (on a PT the guest shares: the guest's unshare, a re-point) */
	OP_FILL,     /* a read fault on an empty entry of the shared page */
	OP_FILL_VA2, /* a read fault at VA2, where the shared PD page links no pmd page yet */
};

struct actor {
	unsigned cpu;
	unsigned who; /* as[who] */
	enum op op;
	enum shadow_hook_point stop_at;
	int stop_waits; /* barrier waits at stop_at */
	int before;     /* barrier waits before the operation */
	int after;      /* ... and after it */
	int rc;
	uint32_t child;
};

static void *actor_run(void *arg)
{
	struct actor *a = arg;
	struct shadow_update u = {
		.va = VA, .value = fx_data(fx, 100 + a->who) | FX_USER, .level = 1};
	uint64_t croot;

	stop_at = a->stop_at;
	stop_waits = a->stop_waits;
	for (; a->before > 0; a->before--)
		pthread_barrier_wait(&barrier);
	switch (a->op) {
	case OP_FORK:
		/* a PT the guest shares is shared again, never copied */
		croot = identity ? fx_copy_sharing(fx, roots[a->who], 1)
				 : fx_copy(fx, roots[a->who], true);
		a->rc = shadow_as_fork(fx->sh, a->cpu, as[a->who], croot, SHADOW_SHARE, &a->child);
		break;
	case OP_UNSHARE:
		if (identity)
			a->rc = fx_unshare(fx, a->cpu, as[a->who], roots[a->who], VA, 1);
		else
			a->rc = shadow_update(fx->sh, a->cpu, as[a->who], &u, 1, NULL) == 1 ? 0
											    : -1;
		break;
	case OP_FILL:
		a->rc = shadow_fault(fx->sh, a->cpu, as[a->who], VA + (NPAGES - 1) * PAGE_SIZE, R);
		/* spurious: the other filled it first, which is as good */
		a->rc = a->rc == SHADOW_FAULT_FILLED || a->rc == SHADOW_FAULT_SPURIOUS ? 0 : a->rc;
		break;
	case OP_FILL_VA2:
		a->rc = shadow_fault(fx->sh, a->cpu, as[a->who], VA + (2ull << 20), R);
		a->rc = a->rc == SHADOW_FAULT_FILLED || a->rc == SHADOW_FAULT_SPURIOUS ? 0 : a->rc;
		break;
	}
	for (; a->after > 0; a->after--)
		pthread_barrier_wait(&barrier);
	return NULL;
}

/* Runs a and b at once; both must succeed. */
static struct shadow_stats race(struct actor *a, struct actor *b)
{
	struct shadow_stats before = fx_stats(fx), now;
	pthread_t ta, tb;

	a->cpu = 0;
	b->cpu = 1;
	ck_assert_int_eq(pthread_barrier_init(&barrier, NULL, 2), 0);
	ck_assert_int_eq(pthread_create(&ta, NULL, actor_run, a), 0);
	ck_assert_int_eq(pthread_create(&tb, NULL, actor_run, b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	pthread_barrier_destroy(&barrier);
	ck_assert_int_eq(a->rc, 0);
	ck_assert_int_eq(b->rc, 0);
	fx_check(fx);
	shadow_stats_read(fx->sh, &now);
#define DELTA(f) now.f -= before.f
	DELTA(share_exclusive);
	DELTA(share_shared);
	DELTA(unshare_copy);
	DELTA(unshare_exclusive);
	DELTA(unshare_copy_last);
	DELTA(unshare_follow);
	DELTA(pmd_freed);
	DELTA(fill_shared);
	DELTA(fill_raced);
#undef DELTA
	return now;
}

static void destroy_child(const struct actor *a)
{
	if (a->op == OP_FORK)
		ck_assert_int_eq(shadow_as_destroy(fx->sh, 0, a->child), 0);
}

/* share+share: both sharers fork at once, both having read the count
 * before either increments. Both see 2: increment only. */
START_TEST(share_share)
{
	struct actor a = {.who = 0, .op = OP_FORK, .stop_at = HOOK_SHARE_COUNTED, .stop_waits = 1};
	struct actor b = {.who = 1, .op = OP_FORK, .stop_at = HOOK_SHARE_COUNTED, .stop_waits = 1};
	struct shadow_stats d;
	int round;

	for (round = 0; round < ROUNDS; round++) {
		pair_new(false);
		d = race(&a, &b);
		ck_assert_uint_eq(d.share_shared, 2);
		ck_assert_uint_eq(d.share_exclusive, 0);
		ck_assert_int_eq(shadow_pmd_count(fx->sh, as[0], VA), 4);
		destroy_child(&a);
		destroy_child(&b);
		pair_free();
		a.stop_waits = b.stop_waits = 1;
	}
}
END_TEST

/*
 * share+unshare: one sharer forks while the other unshares. The count was
 * at least 1 + the unsharers, so the unsharer copies and its put is never
 * the last, in either order: _i = 0, the sharer reads the count (2) and
 * waits while the unsharer runs whole (count 2 -> 1), then increments;
 * _i = 1, the unsharer copies and waits while the sharer runs whole (2 ->
 * 3), then puts (3 -> 2).
 */
START_TEST(share_unshare)
{
	struct actor a = {.who = 0, .op = OP_FORK};
	struct actor b = {.who = 1, .op = OP_UNSHARE};
	struct actor *held = _i == 0 ? &a : &b, *runner = _i == 0 ? &b : &a;
	struct shadow_stats d;
	int round;

	for (round = 0; round < ROUNDS; round++) {
		pair_new(false);
		held->stop_at = held == &a ? HOOK_SHARE_COUNTED : HOOK_UNSHARE_COPIED;
		held->stop_waits = 2;
		runner->stop_at = HOOK_FILL_CAS;
		runner->stop_waits = 0;
		runner->before = 1;
		runner->after = 1;
		d = race(&a, &b);
		ck_assert_uint_eq(d.share_shared, 1);
		ck_assert_uint_eq(d.share_exclusive, 0);
		ck_assert_uint_eq(d.unshare_copy, 1);
		ck_assert_uint_eq(d.unshare_exclusive, 0);
		ck_assert_uint_eq(d.unshare_copy_last, 0);
		ck_assert_uint_eq(d.pmd_freed, 0);
		ck_assert_int_eq(shadow_pmd_count(fx->sh, as[0], VA), 2);
		ck_assert_int_eq(shadow_pmd_count(fx->sh, as[1], VA), 1);
		destroy_child(&a);
		pair_free();
	}
}
END_TEST

/* unshare+unshare, both copy: both read the count (2) and copy before
 * either puts; both put, and exactly one of them finds its put the last
 * and frees the old page. */
START_TEST(unshare_unshare_both_copy)
{
	struct actor a = {.who = 0, .op = OP_UNSHARE};
	struct actor b = {.who = 1, .op = OP_UNSHARE};
	struct shadow_stats d;
	int round;

	for (round = 0; round < ROUNDS; round++) {
		pair_new(false);
		a.stop_at = b.stop_at = HOOK_UNSHARE_COPIED;
		a.stop_waits = b.stop_waits = 1;
		d = race(&a, &b);
		ck_assert_uint_eq(d.unshare_copy, 2);
		ck_assert_uint_eq(d.unshare_exclusive, 0);
		ck_assert_uint_eq(d.unshare_copy_last, 1);
		ck_assert_uint_eq(d.pmd_freed, 1);
		ck_assert_int_eq(shadow_pmd_count(fx->sh, as[0], VA), 1);
		ck_assert_int_eq(shadow_pmd_count(fx->sh, as[1], VA), 1);
		pair_free();
	}
}
END_TEST

/* unshare+unshare, the common case: one copies and puts before the other
 * even reads the count; the other sees 1, is exclusive, and writes in
 * place with no copy and no count games. */
START_TEST(unshare_unshare_one_exclusive)
{
	struct actor a = {.who = (unsigned)_i, .op = OP_UNSHARE, .after = 1};
	struct actor b = {.who = 1 - (unsigned)_i, .op = OP_UNSHARE, .before = 1};
	struct shadow_stats d;
	int round;

	for (round = 0; round < ROUNDS; round++) {
		pair_new(false);
		a.after = 1;
		b.before = 1;
		d = race(&a, &b);
		ck_assert_uint_eq(d.unshare_copy, 1);
		ck_assert_uint_eq(d.unshare_exclusive, 1);
		ck_assert_uint_eq(d.unshare_copy_last, 0);
		ck_assert_uint_eq(d.pmd_freed, 0);
		pair_free();
	}
}
END_TEST

/* fill+fill: both sharers fill the same empty entry of the shared page;
 * both take a frame reference, one compare-and-swap wins, the loser gives
 * its reference back. */
START_TEST(fill_fill)
{
	struct actor a = {.who = 0, .op = OP_FILL};
	struct actor b = {.who = 1, .op = OP_FILL};
	struct shadow_stats d;
	int round;

	for (round = 0; round < ROUNDS; round++) {
		pair_new(true);
		a.stop_at = b.stop_at = HOOK_FILL_CAS;
		a.stop_waits = b.stop_waits = 1;
		d = race(&a, &b);
		ck_assert_uint_eq(d.fill_shared, 1);
		ck_assert_uint_eq(d.fill_raced, 1);
		ck_assert_uint_eq(fx_frame_maps(fx, fx_data(fx, NPAGES - 1)), 1);
		pair_free();
	}
}
END_TEST

/*
 * link+fill: a PD page the guest shares links no pmd page at VA2 yet; both
 * sharers fault there. One links a new pmd page and stops before its leaf;
 * the other finds the page linked and fills the entry by compare-and-swap;
 * then the first installs its leaf, which it too must do by
 * compare-and-swap (the page was reachable from the moment it was linked):
 * one leaf, one frame reference.
 */
START_TEST(link_fill)
{
	struct fx_opts o = {.mem_mib = 16, .pool_mib = 2, .data_mib = 1};
	const uint64_t va2 = VA + (2ull << 20);
	uint32_t first, second;
	struct shadow_stats d;
	struct actor a = {.who = 0, .op = OP_FILL_VA2, .stop_at = HOOK_FILL_LINKED};
	struct actor b = {.who = 1, .op = OP_FILL_VA2};
	int round;

	for (round = 0; round < ROUNDS; round++) {
		fx = fx_new(&o);
		roots[0] = fx_root(fx);
		fx_map(fx, roots[0], VA, fx_data(fx, 0), PTE_P | PTE_W | PTE_U);
		fx_map(fx, roots[0], va2, fx_data(fx, 1), PTE_P | PTE_W | PTE_U);
		as[0] = fx_create(fx, roots[0]);
		fx_touch(fx, as[0], VA, W);
		identity = true;
		as[1] = fx_fork_sharing(fx, as[0], roots[0], SHADOW_SHARE, 2, &roots[1]);
		shadow_set_hook(fx->sh, hook, NULL);
		/* a waits at its hook until b has filled (b's waits before and
		 * after its fault) */
		a.stop_waits = 2;
		b.before = b.after = 1;
		d = race(&a, &b);
		ck_assert_uint_eq(d.fill_shared + d.fill_raced, 2);
		ck_assert_uint_eq(fx_frame_maps(fx, fx_data(fx, 1)), 1);
		first = shadow_pmd_count(fx->sh, as[0], va2);
		second = shadow_pmd_count(fx->sh, as[1], va2);
		ck_assert_uint_eq(first, second);
		pair_free();
	}
}
END_TEST

/* The same pairs with no hooks: whatever interleaving the machine picks,
 * the invariants hold and the paths add up. */
START_TEST(free_running)
{
	static const struct {
		enum op op[2];
		bool identity;
	} ops[] = {{{OP_FORK, OP_FORK}, false},       {{OP_FORK, OP_UNSHARE}, false},
		   {{OP_UNSHARE, OP_UNSHARE}, false}, {{OP_FILL, OP_FILL}, true},
		   {{OP_FILL, OP_UNSHARE}, true},     {{OP_UNSHARE, OP_UNSHARE}, true},
		   {{OP_FORK, OP_FILL}, true}};
	struct actor a, b;
	struct shadow_stats d;
	int round;
	unsigned k;

	for (round = 0; round < ROUNDS; round++) {
		for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
			pair_new(ops[k].identity);
			shadow_set_hook(fx->sh, NULL, NULL);
			a = (struct actor){.who = 0, .op = ops[k].op[0], .before = 1};
			b = (struct actor){.who = 1, .op = ops[k].op[1], .before = 1};
			d = race(&a, &b);
			if (a.op == OP_UNSHARE && b.op == OP_UNSHARE && !identity) {
				ck_assert_uint_eq(d.unshare_copy + d.unshare_exclusive, 2);
				ck_assert_uint_eq(d.unshare_copy_last + d.unshare_exclusive, 1);
			}
			if (a.op == OP_UNSHARE && b.op == OP_UNSHARE && identity) {
				/* both copy (the guest's unshare: the shadow follows
				 * each to its copy, and the second put frees the page
				 * they shared), or the second finds the PT its own
				 * and makes it writable in place */
				ck_assert(d.unshare_follow == 2 ? d.pmd_freed == 1
								: d.unshare_follow == 1);
			}
			if (a.op == OP_FILL && b.op == OP_FILL)
				ck_assert_uint_eq(d.fill_shared, 1);
			destroy_child(&a);
			destroy_child(&b);
			pair_free();
		}
	}
}
END_TEST

Suite *make_races_suite(void);

Suite *make_races_suite(void)
{
	Suite *s = suite_create("races");
	TCase *tc = tcase_create("seed");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, share_share);
	tcase_add_loop_test(tc, share_unshare, 0, 2);
	tcase_add_test(tc, unshare_unshare_both_copy);
	tcase_add_loop_test(tc, unshare_unshare_one_exclusive, 0, 2);
	tcase_add_test(tc, fill_fill);
	tcase_add_test(tc, link_fill);
	suite_add_tcase(s, tc);

	tc = tcase_create("free_running");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, free_running);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fx_run(make_races_suite());
}
