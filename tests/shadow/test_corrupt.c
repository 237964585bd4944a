/*
 * Hostile class 1 (docs/hostile.md): a shadow pool that someone else
 * wrote. The VMM maps the pool read-only where KVM can, so a guest cannot
 * get here through umbra on such a KVM (tests/vmm/poolwrite.sh shows it
 * stopped); where it could, the library must not trust what it reads back
 * from the pool. Each test scribbles one kind of bad shadow entry into the
 * pool from the host side (the fixture's guest memory holds the pool) and
 * drives one call over it:
 *
 *   corruptions: a leaf naming a frame past RAM, in the pool, or one no
 *   leaf maps; a link to a pmd page pointing outside the pool, at a page
 *   of the wrong kind, at a free page; two PD entries naming one pmd page
 *   (freed twice on teardown); a root entry naming another address
 *   space's PDPT, or the root itself; the kernel mirror's PDPT naming a
 *   user PD page;
 *   calls: fault, update, fork, destroy, shadow_check, teardown alone.
 *
 * The right answer: the call returns -EUCLEAN, or a clean outcome (a
 * result as if nothing were wrong, or one of its documented refusals,
 * having changed nothing); the checker finds the corruption; by the end of
 * the call or at the latest once every address space is destroyed,
 * shadow_broken() names the reason, every later call is -EUCLEAN,
 * shadow_check() is -EUCLEAN with that reason, and nothing
 * unsafe happens on the way (this suite runs under ASan and UBSan in CI:
 * no out-of-bounds index into the frame or page arrays, no page freed
 * twice into the free list, teardown included). The library's
 * flush modes each get the whole table: GLOBAL and COPY with deferred
 * frees, TLB without.
 *
 * What 7c60f4c did with the same corruptions (its library had none of
 * this hardening): indexed frame_maps[] with the leaf's frame unchecked
 * (SIGSEGV for a frame past RAM, a heap overflow under ASan for one in
 * the pool), followed links into pool pages of any kind, and pushed a
 * page freed twice onto the free list twice.
 */
#include <errno.h>
#include <string.h>

#include "fixture.h"
#include "internal.h"

#define W (SHADOW_ACCESS_USER | SHADOW_ACCESS_WRITE)
#define VA (FX_UVA + 0x200000ull)
#define LEAF_FLAGS (PTE_P | PTE_W | PTE_U | PTE_A | PTE_D)
#define LINK_FLAGS (PTE_P | PTE_W | PTE_U | PTE_A)
#define FAR_FRAME 0x000ffffffffff000ull /* the highest frame a PTE can name */

static struct fx *fx;
static uint64_t ra, rb;
static uint32_t a, b, child; /* child: made by C_FORK */

/* A: two pages written at VA; B: its own address space, one page at VA. */
static void build(const struct fx_opts *o)
{
	fx = fx_new(o);
	ra = fx_root(fx);
	fx_map(fx, ra, VA, fx_data(fx, 1), FX_USER);
	fx_map(fx, ra, VA + PAGE_SIZE, fx_data(fx, 2), FX_USER);
	a = fx_create(fx, ra);
	fx_touch(fx, a, VA, W);
	fx_touch(fx, a, VA + PAGE_SIZE, W);
	rb = fx_root(fx);
	fx_map(fx, rb, VA, fx_data(fx, 3), FX_USER);
	b = fx_create(fx, rb);
	fx_touch(fx, b, VA, W);
	child = 0;
}

static void setup_global(void)
{
	struct fx_opts o = {.defer_free = true, .poison = true};

	build(&o);
}

static void setup_copy(void)
{
	struct fx_opts o = {.defer_free = true, .flush_mode = SHADOW_FLUSH_COPY};

	build(&o);
}

static void setup_tlb(void)
{
	struct fx_opts o = {.flush_mode = SHADOW_FLUSH_TLB, .poison = true};

	build(&o);
}

/* Teardown of a broken shadow: no checks, only safety (ASan). */
static void teardown(void)
{
	fx_free(fx);
	fx = NULL;
}

/* White-box: the shadow pages on h's walk of va. */
static struct spath walk(uint32_t h, uint64_t va)
{
	struct spath p;
	struct as *as;

	ck_assert_int_eq(as_lookup(fx->sh, h, &as), 0);
	spath_walk(fx->sh, as, va, &p);
	as_unlock(as);
	return p;
}

static pte_t *entry(uint32_t page, uint64_t va, unsigned level)
{
	return spage_table(fx->sh, page) + pt_index(va, level);
}

/* A pool page that is free now (the pool hands pages out from its start). */
static uint32_t free_page(void)
{
	uint32_t idx = fx->sh->pool.npages - 1;

	ck_assert_uint_eq(spage_kind(fx->sh, idx), SPAGE_FREE);
	return idx;
}

enum corruption {
	K_LEAF_PAST_RAM, /* a leaf naming a frame far past RAM */
	K_LEAF_POOL,     /* a leaf naming a pool page */
	K_LEAF_UNMAPPED, /* a leaf re-pointed at a RAM frame no leaf maps */
	K_LINK_RAM,      /* a PD link pointing outside the pool, into RAM */
	K_LINK_KIND,     /* a PD link pointing at a PD page, not a pmd page */
	K_LINK_FREE,     /* a PD link pointing at a free pool page */
	K_TWO_LINKS,     /* two PD links name one pmd page (count 1) */
	K_ROOT_OTHER,    /* A's root names B's PDPT as well */
	K_ROOT_SELF,     /* A's root names itself as a PDPT */
	K_MIRROR_KIND,   /* the kernel mirror's PDPT names A's PD page */
	K_COUNT
};

static const struct {
	const char *name;
	const char *why; /* in shadow_broken() or shadow_check()'s why */
} corruptions[K_COUNT] = {
	[K_LEAF_PAST_RAM] = {"leaf past RAM", "outside guest RAM"},
	[K_LEAF_POOL] = {"leaf in the pool", "outside guest RAM"},
	[K_LEAF_UNMAPPED] = {"leaf naming an unmapped frame", "unmapped more often than mapped"},
	[K_LINK_RAM] = {"link outside the pool", "outside the pool"},
	[K_LINK_KIND] = {"link to a PD page", "wrong kind"},
	[K_LINK_FREE] = {"link to a free page", "wrong kind"},
	[K_TWO_LINKS] = {"two links to one pmd page", "wrong kind"},
	[K_ROOT_OTHER] = {"root naming another's PDPT", "wrong kind"},
	[K_ROOT_SELF] = {"root naming itself", "wrong kind"},
	[K_MIRROR_KIND] = {"mirror naming a user PD", "wrong kind"},
};

static void corrupt(enum corruption k)
{
	struct spath pa = walk(a, VA), pb = walk(b, VA);
	uint64_t va2 = VA + HUGE_SIZE; /* the next PD entry: empty */

	ck_assert(pa.pg[1] != NIL && pb.pg[1] != NIL);
	ck_assert_uint_eq(pte_load(entry(pa.pg[2], va2, 2)), 0);
	switch (k) {
	case K_LEAF_PAST_RAM:
		pte_store(entry(pa.pg[1], VA, 1), FAR_FRAME | LEAF_FLAGS);
		break;
	case K_LEAF_POOL:
		pte_store(entry(pa.pg[1], VA, 1), fx->cfg.pool_gpa | LEAF_FLAGS);
		break;
	case K_LEAF_UNMAPPED:
		ck_assert_uint_eq(fx_frame_maps(fx, fx_data(fx, 9)), 0);
		pte_store(entry(pa.pg[1], VA, 1), fx_data(fx, 9) | LEAF_FLAGS);
		break;
	case K_LINK_RAM:
		pte_store(entry(pa.pg[2], VA, 2), fx_data(fx, 8) | LINK_FLAGS);
		break;
	case K_LINK_KIND:
		pte_store(entry(pa.pg[2], VA, 2), spage_gpa(fx->sh, pa.pg[2]) | LINK_FLAGS);
		break;
	case K_LINK_FREE:
		pte_store(entry(pa.pg[2], va2, 2), spage_gpa(fx->sh, free_page()) | LINK_FLAGS);
		break;
	case K_TWO_LINKS:
		pte_store(entry(pa.pg[2], va2, 2), pte_load(entry(pa.pg[2], VA, 2)));
		break;
	case K_ROOT_OTHER:
		pte_store(entry(pa.pg[4], FX_UVA * 2, 4), pte_load(entry(pb.pg[4], VA, 4)));
		break;
	case K_ROOT_SELF:
		pte_store(entry(pa.pg[4], FX_UVA * 2, 4), spage_gpa(fx->sh, pa.pg[4]) | LINK_FLAGS);
		break;
	case K_MIRROR_KIND:
		pte_store(spage_table(fx->sh, fx->sh->kmirror.kpdpt) + pt_index(fx->cfg.mem_gpa, 3),
			  spage_gpa(fx->sh, pa.pg[2]) | SPTE_TABLE);
		break;
	case K_COUNT:
		break;
	}
}

enum call {
	C_FAULT,    /* a write fault on the corrupted walk */
	C_FAULT2,   /* a fault in the region the second link covers */
	C_UPDATE,   /* a level-1 update on the corrupted walk */
	C_FORK,     /* A forks (share policy) */
	C_DESTROY,  /* A is destroyed */
	C_CHECK,    /* shadow_check, nothing else */
	C_TEARDOWN, /* straight to shadow_destroy with everything live */
	C_NCALLS
};

static const char *const call_names[C_NCALLS] = {
	"fault", "fault2", "update", "fork", "destroy", "check", "teardown",
};

/* A documented refusal of a call (shadow.h), which changes nothing. */
static bool refusal(int rc)
{
	switch (-rc) {
	case EUCLEAN:
	case EEXIST:
	case EACCES:
	case ETXTBSY:
	case ESTALE:
	case ELOOP:
	case EFAULT:
	case EINVAL:
	case ENOENT:
		return true;
	default:
		return false;
	}
}

/* The call; its result is -EUCLEAN, a documented refusal, or what it would
 * be on a sound shadow. */
static void drive(enum call c)
{
	struct shadow_update u = {.va = VA, .value = fx_data(fx, 4) | FX_USER, .level = 1};
	uint64_t croot;
	int rc, err = 0;

	switch (c) {
	case C_FAULT:
		rc = shadow_fault(fx->sh, 0, a, VA, W);
		ck_assert_msg(refusal(rc) || rc == SHADOW_FAULT_FILLED ||
				      rc == SHADOW_FAULT_SPURIOUS,
			      "fault: %d", rc);
		break;
	case C_FAULT2:
		fx_map(fx, ra, VA + HUGE_SIZE, fx_data(fx, 5), FX_USER);
		rc = shadow_fault(fx->sh, 0, a, VA + HUGE_SIZE, W);
		ck_assert_msg(refusal(rc) || rc == SHADOW_FAULT_FILLED ||
				      rc == SHADOW_FAULT_SPURIOUS,
			      "fault2: %d", rc);
		break;
	case C_UPDATE:
		rc = shadow_update(fx->sh, 0, a, &u, 1, &err);
		ck_assert_msg(rc == -EUCLEAN || rc == 1 || (rc == 0 && refusal(err)),
			      "update: %d (%d)", rc, err);
		break;
	case C_FORK:
		croot = fx_copy(fx, ra, true);
		rc = shadow_as_fork(fx->sh, 0, a, croot, SHADOW_SHARE, &child);
		ck_assert_msg(refusal(rc) || rc == 0, "fork: %d", rc);
		if (rc)
			child = 0;
		break;
	case C_DESTROY:
		rc = shadow_as_destroy(fx->sh, 0, a);
		ck_assert_msg(rc == -EUCLEAN || rc == 0, "destroy: %d", rc);
		break;
	case C_CHECK:
	case C_TEARDOWN:
	case C_NCALLS:
		break;
	}
}

/* The corruption is known: broken, or at least the checker finds it. */
static void expect_known(enum corruption k, const char *when)
{
	const char *broken = shadow_broken(fx->sh), *want = corruptions[k].why;
	char why[256];

	ck_assert_int_eq(shadow_check(fx->sh, true, why, sizeof(why)), -EUCLEAN);
	if (broken)
		ck_assert_str_eq(why, broken); /* the checker repeats the reason */
	if (want && broken)
		ck_assert_msg(strstr(broken, want), "%s, %s: broken \"%s\", expected \"%s\"",
			      corruptions[k].name, when, broken, want);
}

/* Broken for good: every call that changes anything is -EUCLEAN. */
static void expect_broken(enum corruption k)
{
	struct shadow_update u = {.va = VA, .value = 0, .level = 1};
	uint64_t gpa;
	uint32_t h = 0;
	int err = 0;

	ck_assert_msg(shadow_broken(fx->sh) != NULL, "%s: the shadow is not marked broken",
		      corruptions[k].name);
	expect_known(k, "at the end");
	ck_assert_int_eq(shadow_fault(fx->sh, 0, b, VA, W), -EUCLEAN);
	ck_assert_int_eq(shadow_update(fx->sh, 0, b, &u, 1, &err), -EUCLEAN);
	ck_assert_int_eq(shadow_as_create(fx->sh, 0, fx_root(fx), &h), -EUCLEAN);
	ck_assert_int_eq(shadow_as_fork(fx->sh, 0, b, fx_copy(fx, rb, true), SHADOW_SHARE, &h),
			 -EUCLEAN);
	ck_assert_int_eq(shadow_switch(fx->sh, 0, b, &gpa), -EUCLEAN);
	ck_assert_int_eq(shadow_as_destroy(fx->sh, 0, b), -EUCLEAN);
}

static void run(int i)
{
	enum corruption k = (enum corruption)(i / C_NCALLS);
	enum call c = (enum call)(i % C_NCALLS);

	corrupt(k);
	drive(c);
	if (c == C_TEARDOWN)
		return; /* the fixture's teardown: shadow_destroy over it all */
	expect_known(k, call_names[c]);
	/* Destroying everything reads every entry back: by then it is broken. */
	if (!shadow_broken(fx->sh)) {
		shadow_as_destroy(fx->sh, 0, a);
		shadow_as_destroy(fx->sh, 0, b);
		if (child)
			shadow_as_destroy(fx->sh, 0, child);
	}
	expect_broken(k);
}

START_TEST(test_corrupt)
{
	run(_i);
}
END_TEST

/* The same corruption twice over, and a corrupted page that is loaded on
 * a vCPU: unload and teardown stay safe. */
START_TEST(test_corrupt_loaded)
{
	uint64_t gpa;

	ck_assert_int_eq(shadow_switch(fx->sh, 1, a, &gpa), 0);
	corrupt(K_LEAF_PAST_RAM);
	corrupt(K_TWO_LINKS);
	ck_assert_int_eq(shadow_as_destroy(fx->sh, 0, a), -EBUSY);
	ck_assert_int_eq(shadow_unload(fx->sh, 1), 0);
	ck_assert_int_eq(shadow_as_destroy(fx->sh, 0, a), 0);
	ck_assert_ptr_nonnull(shadow_broken(fx->sh));
	ck_assert_int_eq(shadow_switch(fx->sh, 1, b, &gpa), -EUCLEAN);
}
END_TEST

static Suite *make_corrupt_suite(void)
{
	Suite *s = suite_create("corrupt");
	void (*setups[])(void) = {setup_global, setup_copy, setup_tlb};
	const char *names[] = {"global", "copy", "tlb"};
	unsigned i;

	for (i = 0; i < 3; i++) {
		TCase *tc = tcase_create(names[i]);

		tcase_add_checked_fixture(tc, setups[i], teardown);
		tcase_add_loop_test(tc, test_corrupt, 0, K_COUNT * C_NCALLS);
		tcase_add_test(tc, test_corrupt_loaded);
		suite_add_tcase(s, tc);
	}
	return s;
}

int main(void)
{
	return fx_run(make_corrupt_suite());
}
