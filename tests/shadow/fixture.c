/* The fake guest behind the shadow tests and benchmark (fixture.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "internal.h"

#define MIB (1ull << 20)
#define TABLE_FLAGS (PTE_P | PTE_W | PTE_U | PTE_A)

/*
 * The guest-building helpers run in the benchmark too, outside any check
 * test (where ck_assert cannot report), so they stop the process: inside a
 * test, check reports the signal and the message is in the log.
 */
__attribute__((format(printf, 1, 2), noreturn)) static void fx_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("fixture: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

static int fx_flush(void *arg)
{
	struct fx *fx = arg;

	shadow_flush_done(fx->sh, shadow_flush_begin(fx->sh));
	__atomic_fetch_add(&fx->flush_calls, 1, __ATOMIC_RELAXED);
	return 0;
}

void *fx_host(struct fx *fx, uint64_t gpa)
{
	return fx->mem + (gpa - fx->cfg.mem_gpa);
}

uint64_t fx_frame(struct fx *fx)
{
	uint64_t gpa;

	pthread_mutex_lock(&fx->lock);
	if (fx->nfree) {
		gpa = fx->free_frames[--fx->nfree];
	} else {
		if (fx->next >= fx->ram_end)
			fx_die("out of guest frames");
		gpa = fx->next;
		fx->next += PAGE_SIZE;
	}
	pthread_mutex_unlock(&fx->lock);
	memset(fx_host(fx, gpa), 0, PAGE_SIZE);
	return gpa;
}

void fx_frame_free(struct fx *fx, uint64_t gpa)
{
	pthread_mutex_lock(&fx->lock);
	fx->free_frames[fx->nfree++] = gpa;
	pthread_mutex_unlock(&fx->lock);
}

uint64_t fx_data(struct fx *fx, uint64_t i)
{
	return fx->data + (i % fx->ndata) * PAGE_SIZE;
}

static pte_t *fx_table(struct fx *fx, uint64_t gpa)
{
	return fx_host(fx, gpa);
}

static _Atomic unsigned *fx_shares(struct fx *fx, uint64_t gpa)
{
	return &fx->shares[(gpa - fx->cfg.mem_gpa) / PAGE_SIZE];
}

static void fx_free_table(struct fx *fx, uint64_t table, unsigned level);

/* The kernel slot: RAM identity-mapped, supervisor, with G set so that
 * the tests see the shadow strip it. */
static void fx_kernel_map(struct fx *fx, bool kernel_4k)
{
	uint64_t base = fx->cfg.mem_gpa, kpd, pt, gpa;
	unsigned i;

	fx->kpdpt = fx_frame(fx);
	kpd = fx_frame(fx);
	if (pt_index(base, 4) != FX_KSLOT || pt_index(fx->ram_end - 1, 3) != pt_index(base, 3))
		fx_die("RAM must fit one kernel PD");
	pte_store(fx_table(fx, fx->kpdpt) + pt_index(base, 3), kpd | PTE_P | PTE_W | PTE_A);
	for (gpa = base; gpa < fx->ram_end; gpa += HUGE_SIZE) {
		pte_t *slot = fx_table(fx, kpd) + pt_index(gpa, 2);

		if (kernel_4k && gpa == base) {
			pt = fx_frame(fx);
			for (i = 0; i < PT_ENTRIES; i++)
				pte_store(fx_table(fx, pt) + i, (gpa + i * PAGE_SIZE) | PTE_P |
									PTE_W | PTE_A | PTE_D |
									PTE_G);
			pte_store(slot, pt | PTE_P | PTE_W | PTE_A);
		} else {
			pte_store(slot, gpa | PTE_P | PTE_W | PTE_PS | PTE_A | PTE_D | PTE_G);
		}
	}
}

struct fx *fx_new(const struct fx_opts *o)
{
	struct fx_opts d = {0};
	struct fx *fx = calloc(1, sizeof(*fx));
	uint64_t size, pool;
	int rc;

	if (o)
		d = *o;
	if (!d.mem_mib)
		d.mem_mib = 32;
	if (!d.pool_mib)
		d.pool_mib = 4;
	if (!d.data_mib)
		d.data_mib = 2;
	if (!d.max_as)
		d.max_as = 64;
	if (!d.max_cpus)
		d.max_cpus = 4;
	if (!fx)
		fx_die("out of memory");
	size = (uint64_t)d.mem_mib * MIB;
	pool = (uint64_t)d.pool_mib * MIB;
	fx->mem = aligned_alloc(HUGE_SIZE, size);
	if (!fx->mem)
		fx_die("cannot allocate %u MiB of guest memory", d.mem_mib);
	pthread_mutex_init(&fx->lock, NULL);
	fx->cfg = (struct shadow_config){
		.mem = fx->mem,
		.mem_gpa = d.mem_gpa,
		.mem_size = size,
		.pool_gpa = d.mem_gpa + size - pool,
		.pool_size = pool,
		.kernel_slot = FX_KSLOT,
		.max_as = d.max_as,
		.max_cpus = d.max_cpus,
		.poison = d.poison,
		.defer_free = d.defer_free,
		.flush_mode = d.flush_mode,
		.flush = d.defer_free && !d.no_flush_cb ? fx_flush : NULL,
		.flush_arg = fx,
	};
	fx->ram_end = fx->cfg.pool_gpa;
	fx->data = d.mem_gpa + 2 * MIB;
	fx->ndata = (uint64_t)d.data_mib * MIB / PAGE_SIZE;
	fx->next = fx->data + (uint64_t)d.data_mib * MIB;
	fx->free_frames = calloc((fx->ram_end - d.mem_gpa) / PAGE_SIZE, sizeof(uint64_t));
	fx->shares = calloc((fx->ram_end - d.mem_gpa) / PAGE_SIZE, sizeof(*fx->shares));
	if (!fx->free_frames || !fx->shares)
		fx_die("out of memory");
	fx_kernel_map(fx, d.kernel_4k);
	rc = shadow_create(&fx->cfg, &fx->sh);
	if (rc)
		fx_die("shadow_create: %d", rc);
	return fx;
}

void fx_free(struct fx *fx)
{
	if (!fx)
		return;
	fx_unlimit(fx);
	shadow_destroy(fx->sh);
	free(fx->free_frames);
	free(fx->shares);
	free(fx->mem);
	pthread_mutex_destroy(&fx->lock);
	free(fx);
}

int fx_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

uint64_t fx_root(struct fx *fx)
{
	uint64_t root = fx_frame(fx);

	pte_store(fx_table(fx, root) + FX_KSLOT, fx->kpdpt | PTE_P | PTE_W | PTE_A);
	return root;
}

/* The guest entry at `level` for va, or NULL if a table above is missing
 * or a 2 MiB leaf stands in the way. */
pte_t *fx_entry(struct fx *fx, uint64_t root, uint64_t va, unsigned level)
{
	uint64_t table = root, e;
	unsigned l;

	for (l = 4; l > level; l--) {
		e = pte_load(fx_table(fx, table) + pt_index(va, l));
		if (!(e & PTE_P) || (e & PTE_PS))
			return NULL;
		table = e & PTE_FRAME;
	}
	return fx_table(fx, table) + pt_index(va, level);
}

/* The table entry at `level` for va, made present if it is not. */
static pte_t *fx_walk_make(struct fx *fx, uint64_t root, uint64_t va, unsigned level)
{
	uint64_t table = root, e;
	pte_t *slot;
	unsigned l;

	for (l = 4; l > level; l--) {
		slot = fx_table(fx, table) + pt_index(va, l);
		e = pte_load(slot);
		if (!(e & PTE_P)) {
			e = fx_frame(fx) | TABLE_FLAGS;
			pte_store(slot, e);
		}
		table = e & PTE_FRAME;
	}
	return fx_table(fx, table) + pt_index(va, level);
}

void fx_map(struct fx *fx, uint64_t root, uint64_t va, uint64_t frame, uint64_t flags)
{
	pte_store(fx_walk_make(fx, root, va, 1), frame | flags);
}

void fx_map_2m(struct fx *fx, uint64_t root, uint64_t va, uint64_t frame, uint64_t flags)
{
	pte_store(fx_walk_make(fx, root, va, 2), frame | flags | PTE_PS);
}

/* The guest side of a fork: the child's user tables as a copy of the
 * parent's, the kernel slot entry shared. */
static uint64_t fx_copy_table(struct fx *fx, uint64_t table, unsigned level, bool clear_w)
{
	uint64_t copy = fx_frame(fx), e;
	pte_t *src = fx_table(fx, table), *dst = fx_table(fx, copy);
	unsigned i;

	for (i = 0; i < PT_ENTRIES; i++) {
		e = pte_load(&src[i]);
		if ((e & PTE_P) && level == 4 && i == FX_KSLOT) {
			/* shared */
		} else if ((e & PTE_P) && level > 1 && !(e & PTE_PS)) {
			e = fx_copy_table(fx, e & PTE_FRAME, level - 1, clear_w) | (e & ~PTE_FRAME);
		} else if ((e & PTE_P) && clear_w && (e & PTE_U)) {
			e &= ~PTE_W;
		}
		pte_store(&dst[i], e);
	}
	return copy;
}

uint64_t fx_copy(struct fx *fx, uint64_t root, bool clear_w)
{
	return fx_copy_table(fx, root, 4, clear_w);
}

static uint64_t fx_copy_sharing_table(struct fx *fx, uint64_t table, unsigned level, unsigned share)
{
	uint64_t copy = fx_frame(fx), e;
	pte_t *src = fx_table(fx, table), *dst = fx_table(fx, copy);
	unsigned i;

	for (i = 0; i < PT_ENTRIES; i++) {
		e = pte_load(&src[i]);
		if ((e & PTE_P) && level == 4 && i == FX_KSLOT) {
			/* shared */
		} else if ((e & PTE_P) && level - 1 == share && !(e & PTE_PS)) {
			e &= ~PTE_W; /* a link to a table both share */
			atomic_fetch_add(fx_shares(fx, e & PTE_FRAME), 1);
		} else if ((e & PTE_P) && level > 1 && !(e & PTE_PS)) {
			e = fx_copy_sharing_table(fx, e & PTE_FRAME, level - 1, share) |
			    (e & ~PTE_FRAME);
		} else if ((e & PTE_P) && (e & PTE_U)) {
			e &= ~PTE_W;
		}
		pte_store(&dst[i], e);
	}
	return copy;
}

uint64_t fx_copy_sharing(struct fx *fx, uint64_t root, unsigned level)
{
	return fx_copy_sharing_table(fx, root, 4, level);
}

int fx_unshare(struct fx *fx, unsigned cpu, uint32_t h, uint64_t root, uint64_t va, unsigned level)
{
	pte_t *link = fx_entry(fx, root, va, level + 1);
	uint64_t e, old, copy = fx_frame(fx);
	pte_t *src, *dst;
	unsigned i;
	struct shadow_update u = {.va = va, .level = level + 1};
	int err = 0;

	ck_assert(link != NULL);
	old = pte_load(link);
	if (atomic_load(fx_shares(fx, old & PTE_FRAME)) == 0) {
		/* ours alone: writable in place, what copies share read-only */
		fx_frame_free(fx, copy);
		u.value = old | PTE_W;
		u.flags = SHADOW_UPDATE_WP_BELOW;
		return shadow_update(fx->sh, cpu, h, &u, 1, &err) == 1 ? 0 : err;
	}
	src = fx_table(fx, old & PTE_FRAME);
	dst = fx_table(fx, copy);
	for (i = 0; i < PT_ENTRIES; i++) {
		e = pte_load(&src[i]);
		if ((e & PTE_P) && (level > 1 || (e & PTE_U)))
			e &= ~PTE_W;
		pte_store(&dst[i], e);
	}
	if (level > 1) {
		/* the copy's links are new holders of the tables below */
		for (i = 0; i < PT_ENTRIES; i++) {
			e = pte_load(&dst[i]);
			if ((e & PTE_P) && !(e & PTE_PS))
				atomic_fetch_add(fx_shares(fx, e & PTE_FRAME), 1);
		}
	}
	u.value = copy | (old & ~PTE_FRAME) | PTE_W;
	if (shadow_update(fx->sh, cpu, h, &u, 1, &err) != 1) {
		if (level > 1) {
			for (i = 0; i < PT_ENTRIES; i++) {
				e = pte_load(&dst[i]);
				if ((e & PTE_P) && !(e & PTE_PS))
					atomic_fetch_sub(fx_shares(fx, e & PTE_FRAME), 1);
			}
		}
		fx_frame_free(fx, copy);
		return err;
	}
	/* this tree holds the copy instead of the table it shared */
	fx_free_table(fx, old & PTE_FRAME, level);
	return 0;
}

static void fx_free_table(struct fx *fx, uint64_t table, unsigned level)
{
	pte_t *t = fx_table(fx, table);
	uint64_t e;
	unsigned i, old = atomic_load(fx_shares(fx, table));

	/* another tree still holds it */
	while (old > 0) {
		if (atomic_compare_exchange_weak(fx_shares(fx, table), &old, old - 1))
			return;
	}
	for (i = 0; i < PT_ENTRIES; i++) {
		e = pte_load(&t[i]);
		if ((e & PTE_P) && level > 1 && !(e & PTE_PS) && !(level == 4 && i == FX_KSLOT))
			fx_free_table(fx, e & PTE_FRAME, level - 1);
	}
	fx_frame_free(fx, table);
}

void fx_free_tables(struct fx *fx, uint64_t root)
{
	fx_free_table(fx, root, 4);
}

uint32_t fx_create(struct fx *fx, uint64_t root)
{
	uint32_t h = 0;

	ck_assert_int_eq(shadow_as_create(fx->sh, 0, root, &h), 0);
	ck_assert_uint_ne(h, 0);
	return h;
}

/* fx_copy() and shadow_as_fork() */
uint32_t fx_fork(struct fx *fx, uint32_t parent, uint64_t proot, enum shadow_policy p,
		 uint64_t *child_root)
{
	uint64_t croot = fx_copy(fx, proot, true);
	uint32_t h = 0;

	ck_assert_int_eq(shadow_as_fork(fx->sh, 0, parent, croot, p, &h), 0);
	if (child_root)
		*child_root = croot;
	return h;
}

uint32_t fx_fork_sharing(struct fx *fx, uint32_t parent, uint64_t proot, enum shadow_policy p,
			 unsigned level, uint64_t *child_root)
{
	uint64_t croot = fx_copy_sharing(fx, proot, level);
	uint32_t h = 0;

	ck_assert_int_eq(shadow_as_fork(fx->sh, 0, parent, croot, p, &h), 0);
	if (child_root)
		*child_root = croot;
	return h;
}

/* A fault that must leave the shadow allowing the access. */
void fx_touch(struct fx *fx, uint32_t h, uint64_t va, unsigned access)
{
	int rc = shadow_fault(fx->sh, 0, h, va, access);

	ck_assert_msg(rc == SHADOW_FAULT_FILLED || rc == SHADOW_FAULT_SPURIOUS,
		      "fault at %#llx access %#x: %d", (unsigned long long)va, access, rc);
}

uint64_t fx_sleaf(struct fx *fx, uint32_t h, uint64_t va, uint64_t *pde)
{
	uint64_t d = 0, e = 0;
	struct spath p;
	struct as *as;

	ck_assert_int_eq(as_lookup(fx->sh, h, &as), 0);
	spath_walk(fx->sh, as, va, &p);
	if (p.pg[2] != NIL)
		d = pte_load(spage_table(fx->sh, p.pg[2]) + pt_index(va, 2));
	if (p.pg[1] != NIL)
		e = pte_load(spage_table(fx->sh, p.pg[1]) + pt_index(va, 1));
	as_unlock(as);
	if (pde)
		*pde = d;
	return e;
}

unsigned fx_frame_maps(struct fx *fx, uint64_t gpa)
{
	return frame_maps(fx->sh, gpa);
}

struct shadow_flush fx_flush_take(struct fx *fx)
{
	struct shadow_flush f;

	shadow_flush_take(fx->sh, 0, &f);
	return f;
}

bool fx_flush_needed(struct fx *fx)
{
	struct shadow_flush f = fx_flush_take(fx);

	return f.all || f.n || f.root_moved;
}

void fx_check(struct fx *fx)
{
	char why[256];
	int rc = shadow_check(fx->sh, true, why, sizeof(why));

	ck_assert_msg(rc == 0, "shadow_check: %d: %s", rc, why);
}

void fx_check_as(struct fx *fx, uint32_t h)
{
	char why[256];
	int rc = shadow_check_as(fx->sh, h, why, sizeof(why));

	ck_assert_msg(rc == 0, "shadow_check_as: %d: %s", rc, why);
}

struct shadow_stats fx_stats(struct fx *fx)
{
	struct shadow_stats st;

	shadow_stats_read(fx->sh, &st);
	return st;
}

void fx_limit(struct fx *fx, unsigned k)
{
	struct resv *r;
	uint32_t avail;

	fx_unlimit(fx);
	r = calloc(1, sizeof(*r));
	ck_assert(r != NULL);
	avail = pool_available(fx->sh);
	ck_assert_uint_ge(avail, k);
	ck_assert_int_eq(pool_reserve(fx->sh, r, avail - k), 0);
	fx->held = r;
}

void fx_unlimit(struct fx *fx)
{
	if (!fx->held)
		return;
	pool_unreserve(fx->sh, fx->held);
	free(fx->held);
	fx->held = NULL;
}

void fx_snap(struct fx *fx, struct fx_snap *s)
{
	s->mem = malloc(fx->cfg.mem_size);
	ck_assert(s->mem != NULL);
	memcpy(s->mem, fx->mem, fx->cfg.mem_size);
	s->st = fx_stats(fx);
}

/* Everything as in the snapshot but the failure counter; frees it. */
void fx_snap_same(struct fx *fx, struct fx_snap *s)
{
	struct shadow_stats now = fx_stats(fx);
	uint64_t i;

	for (i = 0; i < fx->cfg.mem_size; i += PAGE_SIZE) {
		ck_assert_msg(memcmp(s->mem + i, fx->mem + i, PAGE_SIZE) == 0,
			      "guest memory at %#llx changed",
			      (unsigned long long)(fx->cfg.mem_gpa + i));
	}
	now.alloc_failures = s->st.alloc_failures;
	now.ownership_refusals = s->st.ownership_refusals;
	ck_assert_msg(memcmp(&now, &s->st, sizeof(now)) == 0, "counters changed");
	free(s->mem);
	s->mem = NULL;
}
