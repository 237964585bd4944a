/*
 * Stress: several threads, each on its own vCPU, each owning address
 * spaces forked from common ancestors, doing random fills, copy-on-write
 * breaks, updates at every level, forks by every policy (the guest copying
 * its tables, or sharing its PTs or PDs, which it then unshares the
 * guest's way before it changes them), switches and destroys for a
 * bounded number of operations. The ancestors are frozen
 * (nobody faults or updates them) and every thread keeps forking from
 * them, so their pmd pages are shared across threads all along; halfway
 * through, the ancestors are destroyed by whichever thread gets there
 * first, so that the last sharer of a page can be any thread. After each
 * operation the acting thread checks the soundness of one of its address
 * spaces; at the end the invariants hold, and once everything is
 * destroyed the pool is full.
 *
 * The PRNG seed is printed; SHADOW_STRESS_SEED=n reruns one.
 */
#include <config.h> /* strtoull, getenv: POSIX, beyond C11 */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "fixture.h"
#include "internal.h"

#define THREADS 4
#define OPS 4000 /* per thread */
#define ANCESTORS 2
#define OWN 6 /* address spaces a thread may own at once */
#define REGIONS 4
#define PAGES 24 /* per region */
#define R SHADOW_ACCESS_USER
#define W (SHADOW_ACCESS_USER | SHADOW_ACCESS_WRITE)

static struct fx *fx;
static uint64_t seed;
static uint32_t anc[ANCESTORS];
static uint64_t anc_root[ANCESTORS];
static atomic_bool anc_gone[ANCESTORS]; /* claimed by the thread that destroys it */

static const uint64_t region_va[REGIONS] = {
	FX_UVA,                         /* slot 1 */
	FX_UVA + 0x00200000ull,         /* next pmd page */
	FX_UVA + 0x40000000ull,         /* another PD */
	FX_UVA + 0x0000008000000000ull, /* another PML4 slot */
};

struct owned {
	uint32_t h;
	uint64_t root;
};

struct worker {
	unsigned cpu;
	uint64_t rng;
	struct owned as[OWN];
	unsigned n;
	char why[256]; /* the first failure, empty if none */
	unsigned long done;
};

static uint64_t next_rand(uint64_t *s)
{
	/* splitmix64 */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned pick(struct worker *w, unsigned n)
{
	return (unsigned)(next_rand(&w->rng) % n);
}

static uint64_t some_va(struct worker *w)
{
	return region_va[pick(w, REGIONS)] + (uint64_t)pick(w, PAGES) * PAGE_SIZE;
}

static int worker_fail(struct worker *w, const char *op, int rc)
{
	if (!w->why[0])
		snprintf(w->why, sizeof(w->why), "cpu %u, op %lu (%s): %d", w->cpu, w->done, op,
			 rc);
	return -1;
}

/* The guest's unshare of what it shares on va's walk (its links there
 * read-only): the PD first, then the PT. */
static int guest_unshare(struct worker *w, struct owned *o, uint64_t va)
{
	pte_t *e3 = fx_entry(fx, o->root, va, 3), *e2;
	int rc;

	if (e3 && (pte_load(e3) & PTE_P) && !(pte_load(e3) & PTE_W)) {
		rc = fx_unshare(fx, w->cpu, o->h, o->root, va, 2);
		if (rc)
			return worker_fail(w, "unshare pd", rc);
	}
	e2 = fx_entry(fx, o->root, va, 2);
	if (e2 && (pte_load(e2) & PTE_P) && !(pte_load(e2) & (PTE_W | PTE_PS))) {
		rc = fx_unshare(fx, w->cpu, o->h, o->root, va, 1);
		if (rc)
			return worker_fail(w, "unshare pt", rc);
	}
	return 0;
}

/* A fault; the guest's own copy-on-write fault is fixed the way the
 * guest kernel would: unsharing its tables, then a fresh frame through an
 * update. */
static int op_fault(struct worker *w, struct owned *o)
{
	uint64_t va = some_va(w);
	unsigned access = pick(w, 2) ? W : R;
	struct shadow_update u;
	int rc = shadow_fault(fx->sh, w->cpu, o->h, va, access);

	if (rc == SHADOW_FAULT_GUEST && access == W) {
		if (guest_unshare(w, o, va))
			return -1;
		u = (struct shadow_update){
			.va = va, .value = fx_data(fx, pick(w, 512)) | FX_USER, .level = 1};
		if (shadow_update(fx->sh, w->cpu, o->h, &u, 1, &rc) != 1)
			return worker_fail(w, "cow update", rc);
		rc = shadow_fault(fx->sh, w->cpu, o->h, va, access);
		if (rc != SHADOW_FAULT_SPURIOUS && rc != SHADOW_FAULT_FILLED)
			return worker_fail(w, "fault after cow", rc);
	}
	return rc < 0 ? worker_fail(w, "fault", rc) : 0;
}

/* A batch of level-1 updates: remap, make read-only, clear A. */
static int op_update(struct worker *w, struct owned *o)
{
	static const uint64_t flags[] = {FX_USER, FX_USER_RO, PTE_P | PTE_W | PTE_U,
					 FX_USER | PTE_NX};
	struct shadow_update u[4];
	unsigned i, n = 1 + pick(w, 4);
	int err = 0;

	for (i = 0; i < n; i++) {
		u[i] = (struct shadow_update){.va = some_va(w),
					      .value =
						      fx_data(fx, pick(w, 512)) | flags[pick(w, 4)],
					      .level = 1};
		if (guest_unshare(w, o, u[i].va))
			return -1;
	}
	if (shadow_update(fx->sh, w->cpu, o->h, u, n, &err) != (int)n)
		return worker_fail(w, "update", err);
	return 0;
}

/* A level-2..4 update that writes the entry back as it is: the shadow
 * under it is dropped (pmd pages put) and refilled by later faults. */
static int op_drop(struct worker *w, struct owned *o)
{
	unsigned level = 2 + pick(w, 3);
	uint64_t va = some_va(w);
	struct shadow_update u = {.va = va, .level = level};
	pte_t *e = fx_entry(fx, o->root, va, level);
	int err = 0;

	if (!e)
		return worker_fail(w, "drop: no guest entry", -ENOENT);
	u.value = pte_load(e);
	/* a table the guest shares is not its to write */
	if (shadow_update(fx->sh, w->cpu, o->h, &u, 1, &err) != 1 && err != -ETXTBSY)
		return worker_fail(w, "drop", err);
	return 0;
}

static int op_fork(struct worker *w, struct owned *o)
{
	static const enum shadow_policy p[] = {SHADOW_SHARE, SHADOW_SHARE, SHADOW_COPY,
					       SHADOW_LAZY};
	uint64_t croot;
	uint32_t c;
	int rc;

	unsigned share = pick(w, 3);
	enum shadow_policy policy = p[pick(w, 4)];

	if (w->n == OWN)
		return 0;
	/* the guest copies its tables, or shares its PTs or PDs; what it
	 * shares already it shares again, never copies (-ETXTBSY) */
	croot = share ? fx_copy_sharing(fx, o->root, share) : fx_copy(fx, o->root, pick(w, 2));
	rc = shadow_as_fork(fx->sh, w->cpu, o->h, croot, policy, &c);
	if (rc == -ETXTBSY && share < 2) {
		fx_free_tables(fx, croot);
		croot = fx_copy_sharing(fx, o->root, 2);
		rc = shadow_as_fork(fx->sh, w->cpu, o->h, croot, policy, &c);
	}
	if (rc)
		return worker_fail(w, "fork", rc);
	w->as[w->n++] = (struct owned){.h = c, .root = croot};
	return 0;
}

/* A fork of an ancestor, unless it is gone (-EBADF). */
static int op_spawn(struct worker *w)
{
	static const enum shadow_policy p[] = {SHADOW_SHARE, SHADOW_SHARE, SHADOW_COPY};
	unsigned a = pick(w, ANCESTORS);
	uint64_t croot;
	uint32_t c;
	int rc;

	if (w->n == OWN)
		return 0;
	croot = fx_copy(fx, anc_root[a], true);
	rc = shadow_as_fork(fx->sh, w->cpu, anc[a], croot, p[pick(w, 3)], &c);
	if (rc == -EBADF && atomic_load(&anc_gone[a])) {
		fx_free_tables(fx, croot);
		return 0;
	}
	if (rc)
		return worker_fail(w, "spawn", rc);
	w->as[w->n++] = (struct owned){.h = c, .root = croot};
	return 0;
}

/* Halfway: destroy the ancestors (their guest tables stay until the end:
 * other threads may still be copying them). */
static int op_retire(struct worker *w)
{
	unsigned a;
	int rc;

	for (a = 0; a < ANCESTORS; a++) {
		if (atomic_exchange(&anc_gone[a], true))
			continue;
		rc = shadow_as_destroy(fx->sh, w->cpu, anc[a]);
		if (rc)
			return worker_fail(w, "retire", rc);
	}
	return 0;
}

static int op_destroy(struct worker *w, unsigned i)
{
	int rc;

	if (w->n == 1)
		return 0;
	rc = shadow_as_destroy(fx->sh, w->cpu, w->as[i].h);
	if (rc == -EBUSY) {
		/* loaded here: the rule says unload first */
		shadow_unload(fx->sh, w->cpu);
		rc = shadow_as_destroy(fx->sh, w->cpu, w->as[i].h);
	}
	if (rc)
		return worker_fail(w, "destroy", rc);
	fx_free_tables(fx, w->as[i].root);
	w->as[i] = w->as[--w->n];
	return 0;
}

static int op_switch(struct worker *w, struct owned *o)
{
	uint64_t gpa;
	int rc = shadow_switch(fx->sh, w->cpu, pick(w, 4) ? o->h : 0, &gpa);

	return rc ? worker_fail(w, "switch", rc) : 0;
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	unsigned i, what;
	int rc;

	for (w->done = 0; w->done < OPS; w->done++) {
		i = pick(w, w->n);
		what = pick(w, 100);
		if (what < 45)
			rc = op_fault(w, &w->as[i]);
		else if (what < 65)
			rc = op_update(w, &w->as[i]);
		else if (what < 72)
			rc = op_drop(w, &w->as[i]);
		else if (what < 78)
			rc = op_fork(w, &w->as[i]);
		else if (what < 84)
			rc = op_spawn(w);
		else if (what < 94)
			rc = op_destroy(w, i);
		else
			rc = op_switch(w, &w->as[i]);
		if (!rc && w->done == OPS / 2)
			rc = op_retire(w);
		if (rc)
			break;
		/* the one acted on (after a destroy, whichever took its place) */
		if (i >= w->n)
			i = 0;
		rc = shadow_check_as(fx->sh, w->as[i].h, w->why, sizeof(w->why));
		if (rc) {
			worker_fail(w, "check_as", rc);
			break;
		}
	}
	shadow_unload(fx->sh, w->cpu);
	return NULL;
}

/* The ancestors: written, read and untouched pages in every region,
 * forked once so that their guest tables are copy-on-write already (the
 * threads' forks then leave them as they are). Every thread starts with a
 * share-fork of each. */
START_TEST(stress)
{
	static struct worker workers[THREADS];
	pthread_t threads[THREADS];
	struct shadow_stats st;
	unsigned t, a, r, p;
	uint32_t first[ANCESTORS];
	char why[256];

	printf("stress: seed %llu (SHADOW_STRESS_SEED to repeat)\n", (unsigned long long)seed);
	fflush(stdout);
	for (a = 0; a < ANCESTORS; a++) {
		anc_root[a] = fx_root(fx);
		for (r = 0; r < REGIONS; r++)
			for (p = 0; p < PAGES; p++)
				fx_map(fx, anc_root[a], region_va[r] + p * PAGE_SIZE,
				       fx_data(fx, a * 100 + r * PAGES + p),
				       p % 3 ? PTE_P | PTE_W | PTE_U : FX_USER_RO);
		anc[a] = fx_create(fx, anc_root[a]);
		for (r = 0; r < REGIONS; r++)
			for (p = 0; p < PAGES; p += 2)
				fx_touch(fx, anc[a], region_va[r] + p * PAGE_SIZE,
					 (p % 3) && (p % 4) ? W : R);
		first[a] = fx_fork(fx, anc[a], anc_root[a], SHADOW_SHARE, NULL);
	}
	for (t = 0; t < THREADS; t++) {
		workers[t] = (struct worker){.cpu = t, .rng = seed * 7919 + t};
		for (a = 0; a < ANCESTORS; a++) {
			struct owned *o = &workers[t].as[workers[t].n++];

			o->h = fx_fork(fx, anc[a], anc_root[a], SHADOW_SHARE, &o->root);
		}
	}
	for (a = 0; a < ANCESTORS; a++)
		ck_assert_int_eq(shadow_as_destroy(fx->sh, 0, first[a]), 0);
	fx_check(fx);

	for (t = 0; t < THREADS; t++)
		ck_assert_int_eq(pthread_create(&threads[t], NULL, worker_run, &workers[t]), 0);
	for (t = 0; t < THREADS; t++)
		pthread_join(threads[t], NULL);
	for (t = 0; t < THREADS; t++)
		ck_assert_msg(!workers[t].why[0], "seed %llu: %s", (unsigned long long)seed,
			      workers[t].why);
	ck_assert_msg(shadow_check(fx->sh, true, why, sizeof(why)) == 0, "seed %llu: %s",
		      (unsigned long long)seed, why);

	shadow_stats_read(fx->sh, &st);
	printf("stress: share %llu+%llu+%llu, unshare copy %llu (last %llu), exclusive %llu, "
	       "follow %llu, fills %llu private %llu shared %llu raced, pmd freed %llu\n",
	       (unsigned long long)st.share_exclusive, (unsigned long long)st.share_shared,
	       (unsigned long long)st.share_identity, (unsigned long long)st.unshare_copy,
	       (unsigned long long)st.unshare_copy_last, (unsigned long long)st.unshare_exclusive,
	       (unsigned long long)st.unshare_follow, (unsigned long long)st.fill_private,
	       (unsigned long long)st.fill_shared, (unsigned long long)st.fill_raced,
	       (unsigned long long)st.pmd_freed);
	/* the protocol's paths all ran */
	ck_assert_uint_gt(st.share_exclusive, 0);
	ck_assert_uint_gt(st.share_shared, 0);
	ck_assert_uint_gt(st.unshare_copy, 0);
	ck_assert_uint_gt(st.unshare_exclusive, 0);
	ck_assert_uint_gt(st.fill_shared, 0);
	ck_assert_uint_gt(st.share_identity, 0);
	ck_assert_uint_gt(st.unshare_follow, 0);
	ck_assert_uint_gt(st.pmd_freed, 0);

	for (t = 0; t < THREADS; t++)
		for (a = 0; a < workers[t].n; a++)
			ck_assert_int_eq(shadow_as_destroy(fx->sh, 0, workers[t].as[a].h), 0);
	for (a = 0; a < ANCESTORS; a++)
		ck_assert(atomic_load(&anc_gone[a]));
	fx_check(fx);
	ck_assert(shadow_pool_full(fx->sh));
	for (p = 0; p < fx->ndata; p++)
		ck_assert_uint_eq(fx_frame_maps(fx, fx_data(fx, p)), 0);
}
END_TEST

static void setup(void)
{
	struct fx_opts o = {.mem_mib = 48,
			    .pool_mib = 8,
			    .max_cpus = THREADS,
			    .poison = true,
			    .defer_free = true};

	fx = fx_new(&o);
}

static void teardown(void)
{
	fx_free(fx);
}

Suite *make_stress_suite(void);

Suite *make_stress_suite(void)
{
	Suite *s = suite_create("stress");
	TCase *tc = tcase_create("threads");

	tcase_set_timeout(tc, 300);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, stress);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	const char *env = getenv("SHADOW_STRESS_SEED");

	seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL);
	return fx_run(make_stress_suite());
}
