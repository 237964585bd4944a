/* Guest-physical translation: RAM is guest memory minus the pool, and no
 * address or length, however large, wraps into it. */
#include "fixture.h"
#include "internal.h"

#define MIB (1ull << 20)
#define BASE 0x40000000ull /* guest memory at 1 GiB: 16 MiB, pool in the top 2 */

static struct fx *fx;

static void setup(void)
{
	struct fx_opts o = {.mem_gpa = BASE, .mem_mib = 16, .pool_mib = 2, .data_mib = 1};

	fx = fx_new(&o);
}

static void teardown(void)
{
	fx_check(fx);
	fx_free(fx);
}

static const struct {
	const char *name;
	uint64_t gpa, len;
	bool in_mem, ram;
} ranges[] = {
	{"first byte", BASE, 1, true, true},
	{"first page", BASE, 4096, true, true},
	{"below", BASE - 1, 1, false, false},
	{"straddles the start", BASE - 4096, 8192, false, false},
	{"empty", BASE, 0, false, false},
	{"last RAM page", BASE + 14 * MIB - 4096, 4096, true, true},
	{"into the pool", BASE + 14 * MIB - 4096, 8192, true, false},
	{"pool", BASE + 14 * MIB, 4096, true, false},
	{"last byte", BASE + 16 * MIB - 1, 1, true, false},
	{"past the end", BASE + 16 * MIB, 1, false, false},
	{"straddles the end", BASE + 16 * MIB - 4096, 8192, false, false},
	{"length wraps", BASE + 4096, UINT64_MAX, false, false},
	{"length wraps to RAM", BASE + 4096, UINT64_MAX - 4095, false, false},
	{"top of the address space", UINT64_MAX, 1, false, false},
	{"top page", UINT64_MAX & ~4095ull, 4096, false, false},
	{"all of memory", BASE, 16 * MIB, true, false},
	{"all of RAM", BASE, 14 * MIB, true, true},
};

START_TEST(ranges_are_checked_without_overflow)
{
	ck_assert_msg(gmem_in_mem(fx->sh, ranges[_i].gpa, ranges[_i].len) == ranges[_i].in_mem,
		      "%s: in mem", ranges[_i].name);
	ck_assert_msg(gmem_is_ram(fx->sh, ranges[_i].gpa, ranges[_i].len) == ranges[_i].ram,
		      "%s: ram", ranges[_i].name);
}
END_TEST

START_TEST(tables_are_aligned_ram_pages)
{
	ck_assert_ptr_eq(gmem_table(fx->sh, BASE + 8192), fx_host(fx, BASE + 8192));
	ck_assert_ptr_null(gmem_table(fx->sh, BASE + 8192 + 8));
	ck_assert_ptr_null(gmem_table(fx->sh, BASE + 14 * MIB));
	ck_assert_ptr_null(gmem_table(fx->sh, BASE - 4096));
	ck_assert_ptr_null(gmem_table(fx->sh, 0));
}
END_TEST

/* Frame map counts follow the shadow leaves that map a frame. */
START_TEST(frame_map_counts_follow_leaves)
{
	uint64_t root = fx_root(fx), frame = fx_data(fx, 7);
	uint32_t h, c;

	fx_map(fx, root, FX_UVA, frame, FX_USER);
	fx_map(fx, root, FX_UVA + PAGE_SIZE, frame, FX_USER_RO);
	h = fx_create(fx, root);
	ck_assert_uint_eq(fx_frame_maps(fx, frame), 0);
	fx_touch(fx, h, FX_UVA, SHADOW_ACCESS_USER);
	fx_touch(fx, h, FX_UVA + PAGE_SIZE, SHADOW_ACCESS_USER);
	ck_assert_uint_eq(fx_frame_maps(fx, frame), 2);
	c = fx_fork(fx, h, root, SHADOW_COPY, NULL);
	ck_assert_uint_eq(fx_frame_maps(fx, frame), 4);
	ck_assert_int_eq(shadow_as_destroy(fx->sh, 0, c), 0);
	ck_assert_int_eq(shadow_as_destroy(fx->sh, 0, h), 0);
	ck_assert_uint_eq(fx_frame_maps(fx, frame), 0);
	ck_assert_uint_eq(fx_frame_maps(fx, 0), 0);
	ck_assert_uint_eq(fx_frame_maps(fx, UINT64_MAX), 0);
}
END_TEST

Suite *make_gmem_suite(void);

Suite *make_gmem_suite(void)
{
	Suite *s = suite_create("gmem");
	TCase *tc = tcase_create("translate");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, ranges_are_checked_without_overflow, 0,
			    (int)(sizeof(ranges) / sizeof(ranges[0])));
	tcase_add_test(tc, tables_are_aligned_ram_pages);
	tcase_add_test(tc, frame_map_counts_follow_leaves);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fx_run(make_gmem_suite());
}
