/* Address spaces: handles and their generations, the loaded_on rule,
 * the kernel-slot mirror and the kernel-only root, and bad input. */
#include <errno.h>
#include <stdlib.h>

#include "fixture.h"
#include "internal.h"

#define VA (FX_UVA + 0x200000ull)
#define R SHADOW_ACCESS_USER

static struct fx *fx;
static uint64_t root;
static uint32_t h;

static void setup_with(const struct fx_opts *o)
{
	fx = fx_new(o);
	root = fx_root(fx);
	fx_map(fx, root, VA, fx_data(fx, 1), FX_USER);
}

static void setup(void)
{
	setup_with(NULL);
}

static void setup_one_slot(void)
{
	struct fx_opts o = {.max_as = 1};

	setup_with(&o);
}

static void setup_kernel_4k(void)
{
	struct fx_opts o = {.kernel_4k = true};

	setup_with(&o);
}

static void teardown(void)
{
	fx_check(fx);
	fx_free(fx);
}

/* Every call that takes a handle: the first NCALLS_CPU take a cpu too. */
static int call(unsigned what, unsigned cpu, uint32_t handle)
{
	struct shadow_update u = {.va = VA, .value = 0, .level = 1};
	struct shadow_translation t;
	uint64_t gpa, croot;
	uint32_t c;
	int rc;

	switch (what) {
	case 0:
		return shadow_fault(fx->sh, cpu, handle, VA, R);
	case 1:
		return shadow_update(fx->sh, cpu, handle, &u, 1, NULL);
	case 2:
		croot = fx_copy(fx, root, true);
		rc = shadow_as_fork(fx->sh, cpu, handle, croot, SHADOW_SHARE, &c);
		if (rc)
			fx_free_tables(fx, croot);
		return rc;
	case 3:
		return shadow_switch(fx->sh, cpu, handle, &gpa);
	case 4:
		return shadow_as_destroy(fx->sh, cpu, handle);
	case 5:
		return shadow_translate(fx->sh, handle, VA, &t);
	case 6:
		return shadow_pmd_count(fx->sh, handle, VA);
	default:
		return shadow_check_as(fx->sh, handle, NULL, 0);
	}
}
#define NCALLS 8
#define NCALLS_CPU 5

START_TEST(create_and_destroy_give_the_pool_back)
{
	uint32_t hs[3];
	unsigned i;

	for (i = 0; i < 3; i++)
		hs[i] = fx_create(fx, i ? fx_root(fx) : root);
	ck_assert_uint_eq(fx_stats(fx).address_spaces_now, 3);
	ck_assert(!shadow_pool_full(fx->sh));
	fx_touch(fx, hs[0], VA, R);
	fx_check(fx);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(shadow_as_destroy(fx->sh, 0, hs[i]), 0);
	ck_assert_uint_eq(fx_stats(fx).address_spaces_now, 0);
	ck_assert(shadow_pool_full(fx->sh));
}
END_TEST

/* A destroyed handle is refused by every call, also once its slot holds a
 * new address space. */
START_TEST(stale_handle_is_refused)
{
	unsigned what = (unsigned)_i;
	uint32_t old = fx_create(fx, root), now;

	ck_assert_int_eq(shadow_as_destroy(fx->sh, 0, old), 0);
	ck_assert_int_eq(call(what, 0, old), -EBADF);
	now = fx_create(fx, root);
	ck_assert_uint_ne(now, old);
	ck_assert_uint_eq(now & 0xffff, old & 0xffff);
	ck_assert_int_eq(call(what, 0, old), -EBADF);
	ck_assert_int_ne(call(what, 0, now), -EBADF);
}
END_TEST

START_TEST(bad_handles_are_refused)
{
	static const uint32_t bad[] = {0, 0xffff, 0x10000, 0x12345678, 2};
	unsigned what = (unsigned)_i, i;

	h = fx_create(fx, root);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(call(what, 0, bad[i]), what == 3 && bad[i] == 0 ? 0 : -EBADF);
	ck_assert_int_eq(call(what, 0, h ^ 0x10000u), -EBADF);
	ck_assert_int_eq(shadow_unload(fx->sh, 0), 0);
}
END_TEST

START_TEST(cpu_out_of_range_is_refused)
{
	uint32_t c;

	h = fx_create(fx, root);
	ck_assert_int_eq(shadow_as_create(fx->sh, 4, fx_root(fx), &c), -EINVAL);
	ck_assert_int_eq(shadow_as_create(fx->sh, UINT32_MAX, fx_root(fx), &c), -EINVAL);
	ck_assert_int_eq(shadow_unload(fx->sh, 4), -EINVAL);
	ck_assert_int_eq(call((unsigned)_i, 4, h), -EINVAL);
	ck_assert_int_eq(call((unsigned)_i, UINT32_MAX, h), -EINVAL);
}
END_TEST

/* Loaded on cpu 1: every operation from another cpu is -EBUSY, and
 * destroy is -EBUSY from anywhere until it is unloaded. */
START_TEST(loaded_on_another_cpu_is_busy)
{
	unsigned what = (unsigned)_i;
	uint64_t gpa;

	h = fx_create(fx, root);
	ck_assert_int_eq(shadow_switch(fx->sh, 1, h, &gpa), 0);
	ck_assert_int_eq(call(what, 0, h), -EBUSY);
	if (what == 4)
		ck_assert_int_eq(call(what, 1, h), -EBUSY);
	else
		ck_assert_int_ge(call(what, 1, h), 0);
	ck_assert_int_eq(shadow_unload(fx->sh, 1), 0);
	ck_assert_int_ge(call(what, 0, h), 0);
}
END_TEST

START_TEST(switch_moves_between_address_spaces)
{
	uint64_t g1, g2, g;
	uint32_t h2;

	h = fx_create(fx, root);
	h2 = fx_create(fx, fx_root(fx));
	ck_assert_int_eq(shadow_switch(fx->sh, 0, h, &g1), 0);
	ck_assert_int_eq(shadow_switch(fx->sh, 0, h, &g), 0);
	ck_assert_uint_eq(g, g1);
	ck_assert_int_eq(shadow_switch(fx->sh, 0, h2, &g2), 0);
	ck_assert_uint_ne(g1, g2);
	/* h is loaded nowhere now */
	ck_assert_int_eq(shadow_fault(fx->sh, 1, h, VA, R), SHADOW_FAULT_FILLED);
	ck_assert_int_eq(shadow_switch(fx->sh, 1, h2, &g), -EBUSY);
	ck_assert_int_eq(shadow_as_destroy(fx->sh, 0, h), 0);
	ck_assert_int_eq(shadow_unload(fx->sh, 0), 0);
	ck_assert_int_eq(shadow_as_destroy(fx->sh, 0, h2), 0);
	ck_assert(shadow_pool_full(fx->sh));
}
END_TEST

/* Handle 0: the root with only the kernel slot, one for all vCPUs; it
 * keeps the mirror alive while loaded. */
START_TEST(kernel_root_is_shared_and_keeps_the_mirror)
{
	uint64_t g[4];
	unsigned i;

	ck_assert_int_eq(shadow_switch(fx->sh, 0, 0, &g[0]), -ENOENT);
	h = fx_create(fx, root);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(shadow_switch(fx->sh, i, 0, &g[i]), 0);
		ck_assert_uint_eq(g[i], g[0]);
	}
	ck_assert_int_eq(shadow_switch(fx->sh, 0, 0, &g[0]), 0);
	fx_check(fx);
	ck_assert_int_eq(shadow_as_destroy(fx->sh, 0, h), 0);
	ck_assert(!shadow_pool_full(fx->sh));
	fx_check(fx);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(shadow_unload(fx->sh, i), 0);
	ck_assert(!shadow_pool_full(fx->sh));
	/* a new address space joins the mirror that is still there */
	h = fx_create(fx, root);
	ck_assert_int_eq(shadow_switch(fx->sh, 3, h, &g[1]), 0);
	ck_assert_int_eq(shadow_unload(fx->sh, 3), 0);
	ck_assert_int_eq(shadow_as_destroy(fx->sh, 0, h), 0);
	ck_assert(shadow_pool_full(fx->sh));
}
END_TEST

START_TEST(slots_run_out_and_come_back)
{
	uint32_t c;

	h = fx_create(fx, root);
	ck_assert_int_eq(shadow_as_create(fx->sh, 0, fx_root(fx), &c), -ENOSPC);
	ck_assert_int_eq(shadow_as_destroy(fx->sh, 0, h), 0);
	ck_assert_int_eq(shadow_as_create(fx->sh, 0, root, &c), 0);
	ck_assert_uint_ne(c, h);
}
END_TEST

/* Later address spaces must carry the mirrored kernel-slot entry; A and D
 * may differ. */
START_TEST(kernel_slot_must_match_the_mirror)
{
	uint64_t r[3] = {fx_root(fx), fx_root(fx), fx_root(fx)};
	pte_t *k[3] = {fx_entry(fx, r[0], 0, 4), fx_entry(fx, r[1], 0, 4),
		       fx_entry(fx, r[2], 0, 4)};
	uint32_t c;

	h = fx_create(fx, root);
	pte_store(k[0], pte_load(k[0]) | PTE_D);
	ck_assert_int_eq(shadow_as_create(fx->sh, 0, r[0], &c), 0);
	pte_store(k[1], pte_load(k[1]) & ~PTE_W);
	ck_assert_int_eq(shadow_as_create(fx->sh, 0, r[1], &c), -EINVAL);
	pte_store(k[2], 0);
	ck_assert_int_eq(shadow_as_create(fx->sh, 0, r[2], &c), -EINVAL);
}
END_TEST

/* The first address space's kernel slot is checked like any guest table. */
static const struct {
	const char *name;
	unsigned level; /* 4: the PML4 entry, 3: the PDPT entry, 2: a PD entry */
	uint64_t value; /* 0: not present; 1: a 2 MiB page in the pool */
	int expect;
} kernel_cases[] = {
	{"no kernel slot", 4, 0, -EINVAL},
	{"kernel maps the pool", 2, 1, -EFAULT},
	{"1 GiB kernel page", 3, PTE_P | PTE_PS | PTE_W, -EINVAL},
};

START_TEST(first_kernel_slot_is_checked)
{
	uint64_t r = fx_root(fx), kpdpt = fx_frame(fx), kpd = fx_frame(fx);
	uint64_t *src = fx_host(fx, fx->kpdpt);
	uint32_t c;
	pte_t *pd;

	/* a private copy of the kernel tables to break */
	memcpy(fx_host(fx, kpdpt), src, PAGE_SIZE);
	memcpy(fx_host(fx, kpd), fx_host(fx, src[0] & PTE_FRAME), PAGE_SIZE);
	pte_store((pte_t *)fx_host(fx, kpdpt), kpd | PTE_P | PTE_W | PTE_A);
	pte_store(fx_entry(fx, r, 0, 4), kpdpt | PTE_P | PTE_W | PTE_A);
	pd = (pte_t *)fx_host(fx, kpd);
	switch (kernel_cases[_i].level) {
	case 4:
		pte_store(fx_entry(fx, r, 0, 4), 0);
		break;
	case 3:
		pte_store((pte_t *)fx_host(fx, kpdpt), kernel_cases[_i].value);
		break;
	default:
		pte_store(&pd[5], fx->cfg.pool_gpa | PTE_P | PTE_PS);
		break;
	}
	ck_assert_int_eq(shadow_as_create(fx->sh, 0, r, &c), kernel_cases[_i].expect);
	ck_assert(shadow_pool_full(fx->sh));
}
END_TEST

START_TEST(create_refuses_bad_roots)
{
	uint32_t c;

	ck_assert_int_eq(shadow_as_create(fx->sh, 0, root + 16, &c), -EINVAL);
	ck_assert_int_eq(shadow_as_create(fx->sh, 0, fx->cfg.pool_gpa, &c), -EFAULT);
	ck_assert_int_eq(shadow_as_create(fx->sh, 0, fx->cfg.mem_gpa + fx->cfg.mem_size, &c),
			 -EFAULT);
	ck_assert_int_eq(shadow_as_create(fx->sh, 0, root, NULL), -EINVAL);
	ck_assert(shadow_pool_full(fx->sh));
}
END_TEST

/* The first create needs its root and the mirror's pages (kernel-only
 * root, PDPT, PD; with 4 KiB kernel pages one pmd page more). */
START_TEST(create_without_pages_changes_nothing)
{
	unsigned k = (unsigned)_i, need = 4;
	struct fx_snap snap;
	uint32_t c;

	fx_limit(fx, k);
	if (k < need) {
		fx_snap(fx, &snap);
		ck_assert_int_eq(shadow_as_create(fx->sh, 0, root, &c), -ENOMEM);
		fx_snap_same(fx, &snap);
		fx_limit(fx, need);
	}
	h = fx_create(fx, root);
	fx_limit(fx, 0);
	ck_assert_int_eq(shadow_as_create(fx->sh, 0, fx_root(fx), &c), -ENOMEM);
	fx_unlimit(fx);
}
END_TEST

/* 4 KiB kernel pages: mirrored into pmd pages of count 1, until the last
 * address space goes. Their leaves are the kernel's map, not a user
 * mapping: no frame references. */
START_TEST(kernel_4k_pages_are_mirrored)
{
	struct shadow_translation t;
	uint32_t c;

	h = fx_create(fx, root);
	c = fx_create(fx, fx_root(fx));
	ck_assert_int_eq(shadow_pmd_count(fx->sh, h, fx->cfg.mem_gpa + 0x3000), 1);
	ck_assert_int_eq(shadow_pmd_count(fx->sh, c, fx->cfg.mem_gpa + 0x3000), 1);
	ck_assert_uint_eq(fx_frame_maps(fx, fx->cfg.mem_gpa + 0x3000), 0);
	ck_assert_int_eq(shadow_translate(fx->sh, c, fx->cfg.mem_gpa + 0x3008, &t), 0);
	ck_assert_uint_eq(t.gpa, fx->cfg.mem_gpa + 0x3008);
	ck_assert_int_eq(shadow_pmd_count(fx->sh, c, fx->cfg.mem_gpa + HUGE_SIZE), -ENOENT);
	fx_check(fx);
	ck_assert_int_eq(shadow_as_destroy(fx->sh, 0, h), 0);
	ck_assert_int_eq(shadow_as_destroy(fx->sh, 0, c), 0);
	ck_assert_uint_eq(fx_frame_maps(fx, fx->cfg.mem_gpa + 0x3000), 0);
	ck_assert(shadow_pool_full(fx->sh));
}
END_TEST

/* shadow_destroy() takes everything down, loaded or not (ASan's leak
 * check sees what it would leave). */
START_TEST(destroy_everything_at_once)
{
	uint64_t g;

	h = fx_create(fx, root);
	fx_touch(fx, h, VA, R);
	fx_fork(fx, h, root, SHADOW_SHARE, NULL);
	ck_assert_int_eq(shadow_switch(fx->sh, 0, h, &g), 0);
	ck_assert_int_eq(shadow_switch(fx->sh, 1, 0, &g), 0);
}
END_TEST

static const struct {
	const char *name;
	uint64_t mem_gpa, mem_size, pool_gpa, pool_size;
	unsigned kernel_slot, max_as, max_cpus;
} config_cases[] = {
	{"mem_gpa misaligned", 0x800, 64 << 20, 56 << 20, 8 << 20, 0, 4, 1},
	{"mem_size zero", 0, 0, 0, 2 << 20, 0, 4, 1},
	{"mem_size odd", 0, (64 << 20) + 100, 56 << 20, 8 << 20, 0, 4, 1},
	{"mem wraps", UINT64_MAX - 0xfff, 64 << 20, 0, 2 << 20, 0, 4, 1},
	{"pool misaligned", 0, 64 << 20, (56 << 20) + 4096, 2 << 20, 0, 4, 1},
	{"pool size odd", 0, 64 << 20, 56 << 20, 3 << 20, 0, 4, 1},
	{"pool empty", 0, 64 << 20, 56 << 20, 0, 0, 4, 1},
	{"pool past mem", 0, 64 << 20, 62 << 20, 4 << 20, 0, 4, 1},
	{"pool wraps", 0, 64 << 20, 0xffffffffffe00000ull, 4 << 20, 0, 4, 1},
	{"kernel slot 512", 0, 64 << 20, 56 << 20, 8 << 20, 512, 4, 1},
	{"max_as 0", 0, 64 << 20, 56 << 20, 8 << 20, 0, 0, 1},
	{"max_as 65536", 0, 64 << 20, 56 << 20, 8 << 20, 0, 65536, 1},
	{"max_cpus 0", 0, 64 << 20, 56 << 20, 8 << 20, 0, 4, 0},
};

START_TEST(create_refuses_bad_config)
{
	struct shadow_config c = {
		.mem = fx->mem,
		.mem_gpa = config_cases[_i].mem_gpa,
		.mem_size = config_cases[_i].mem_size,
		.pool_gpa = config_cases[_i].pool_gpa,
		.pool_size = config_cases[_i].pool_size,
		.kernel_slot = config_cases[_i].kernel_slot,
		.max_as = config_cases[_i].max_as,
		.max_cpus = config_cases[_i].max_cpus,
	};
	struct shadow *sh = NULL;

	ck_assert_msg(shadow_create(&c, &sh) == -EINVAL, "%s", config_cases[_i].name);
	ck_assert_ptr_null(sh);
	if (_i == 0) {
		c = fx->cfg;
		c.mem = NULL;
		ck_assert_int_eq(shadow_create(&c, &sh), -EINVAL);
		ck_assert_int_eq(shadow_create(NULL, &sh), -EINVAL);
		ck_assert_int_eq(shadow_create(&fx->cfg, NULL), -EINVAL);
	}
}
END_TEST

/* Guest memory need not start at 0. */
START_TEST(memory_at_a_high_address)
{
	struct fx_opts o = {.mem_gpa = 0x100000000ull, .mem_mib = 16, .pool_mib = 2};
	struct fx *f = fx_new(&o);
	uint64_t r = fx_root(f), croot;
	struct shadow_translation t;
	uint32_t a, c;

	fx_map(f, r, VA, fx_data(f, 1), FX_USER);
	a = fx_create(f, r);
	fx_touch(f, a, VA, R);
	c = fx_fork(f, a, r, SHADOW_SHARE, &croot);
	ck_assert_int_eq(shadow_translate(f->sh, c, VA, &t), 0);
	ck_assert_uint_eq(t.gpa, fx_data(f, 1));
	ck_assert_int_eq(shadow_translate(f->sh, c, o.mem_gpa + 0x123456, &t), 0);
	ck_assert_uint_eq(t.gpa, o.mem_gpa + 0x123456);
	fx_check(f);
	fx_free(f);
}
END_TEST

Suite *make_as_suite(void);

Suite *make_as_suite(void)
{
	Suite *s = suite_create("as");
	TCase *tc;

	tc = tcase_create("lifecycle");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, create_and_destroy_give_the_pool_back);
	tcase_add_test(tc, switch_moves_between_address_spaces);
	tcase_add_test(tc, kernel_root_is_shared_and_keeps_the_mirror);
	tcase_add_test(tc, kernel_slot_must_match_the_mirror);
	tcase_add_test(tc, destroy_everything_at_once);
	tcase_add_test(tc, memory_at_a_high_address);
	suite_add_tcase(s, tc);

	tc = tcase_create("handles");
	tcase_add_checked_fixture(tc, setup_one_slot, teardown);
	tcase_add_loop_test(tc, stale_handle_is_refused, 0, NCALLS);
	tcase_add_test(tc, slots_run_out_and_come_back);
	suite_add_tcase(s, tc);

	tc = tcase_create("refuses");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, bad_handles_are_refused, 0, NCALLS);
	tcase_add_loop_test(tc, cpu_out_of_range_is_refused, 0, NCALLS_CPU);
	tcase_add_loop_test(tc, loaded_on_another_cpu_is_busy, 0, NCALLS_CPU);
	tcase_add_loop_test(tc, first_kernel_slot_is_checked, 0,
			    (int)(sizeof(kernel_cases) / sizeof(kernel_cases[0])));
	tcase_add_test(tc, create_refuses_bad_roots);
	tcase_add_loop_test(tc, create_refuses_bad_config, 0,
			    (int)(sizeof(config_cases) / sizeof(config_cases[0])));
	tcase_add_loop_test(tc, create_without_pages_changes_nothing, 0, 5);
	suite_add_tcase(s, tc);

	tc = tcase_create("kernel_4k");
	tcase_add_checked_fixture(tc, setup_kernel_4k, teardown);
	tcase_add_test(tc, kernel_4k_pages_are_mirrored);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fx_run(make_as_suite());
}
