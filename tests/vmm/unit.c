/*
 * Unit tests of the VMM's parts that need no KVM: option parsing and
 * validation, the guest-address translation helper, the JSON writer and
 * reader, the KVM binary-statistics parser (on a synthetic stats file) and
 * the phase counters.
 */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli.h"
#include "counters.h"
#include "guest_mem.h"
#include "json.h"
#include "json_read.h"
#include "kvm_stats.h"
#include "pvh.h"
#include "run_config.h"
#include "vm.h"

/* ---- sizes and seconds ---- */

static const struct {
	const char *s;
	int err;
	uint64_t v;
} size_cases[] = {
	{"0", 0, 0},
	{"4096", 0, 4096},
	{"2M", 0, 2ull << 20},
	{"2m", 0, 2ull << 20},
	{"3K", 0, 3072},
	{"1G", 0, 1ull << 30},
	{"18446744073709551615", 0, UINT64_MAX},
	{"18446744073709551616", -ERANGE, 0},
	{"17179869184G", -ERANGE, 0},
	{"", -EINVAL, 0},
	{"M", -EINVAL, 0},
	{"-1", -EINVAL, 0},
	{" 1", -EINVAL, 0},
	{"1T", -EINVAL, 0},
	{"1MB", -EINVAL, 0},
	{"0x10", -EINVAL, 0},
};

START_TEST(test_parse_size)
{
	uint64_t v = 0;
	int err = run_config__parse_size(size_cases[_i].s, &v);

	ck_assert_msg(err == size_cases[_i].err, "'%s': %d", size_cases[_i].s, err);
	if (err == 0)
		ck_assert_uint_eq(v, size_cases[_i].v);
}
END_TEST

START_TEST(test_parse_seconds)
{
	uint64_t ns;

	ck_assert_int_eq(run_config__parse_seconds("1.5", &ns), 0);
	ck_assert_uint_eq(ns, 1500000000u);
	ck_assert_int_eq(run_config__parse_seconds("0", &ns), 0);
	ck_assert_uint_eq(ns, 0);
	ck_assert_int_eq(run_config__parse_seconds("1000000", &ns), 0);
	ck_assert_int_eq(run_config__parse_seconds("1000001", &ns), -ERANGE);
	ck_assert_int_eq(run_config__parse_seconds("nan", &ns), -EINVAL);
	ck_assert_int_eq(run_config__parse_seconds("1e400", &ns), -ERANGE);
	ck_assert_int_eq(run_config__parse_seconds(".5", &ns), -EINVAL);
	ck_assert_int_eq(run_config__parse_seconds("5 ", &ns), -EINVAL);
}
END_TEST

START_TEST(test_format_size)
{
	char buf[32];

	run_config__format_size(3ull << 20, buf, sizeof(buf));
	ck_assert_str_eq(buf, "3M");
	run_config__format_size(1536ull << 10, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1536K");
	run_config__format_size(1000, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1000");
	run_config__format_size(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "0");
	run_config__format_size(64ull << 30, buf, sizeof(buf));
	ck_assert_str_eq(buf, "64G");
}
END_TEST

START_TEST(test_validate)
{
	struct run_config cfg;

	run_config__init(&cfg);
	ck_assert_int_eq(run_config__validate(&cfg), 0);
	cfg.trace_events_set = true;
	ck_assert_int_eq(run_config__validate(&cfg), -EINVAL); /* --trace-buffer alone */
	cfg.trace_file = "t.json";
	ck_assert_int_eq(run_config__validate(&cfg), 0);
	cfg.trace_events = 0;
	ck_assert_int_eq(run_config__validate(&cfg), -EINVAL);
	cfg.trace_events = 1;
	ck_assert_int_eq(run_config__validate(&cfg), 0);
	cfg.trace_file = NULL;
	cfg.trace_events_set = false;
	cfg.mem_size = CONFIG_MEM_MIN;
	cfg.pool_size = CONFIG_POOL_MAX;
	cfg.vcpus = UMBRA_MAX_VCPUS;
	ck_assert_int_eq(run_config__validate(&cfg), 0);
	cfg.vcpus = UMBRA_MAX_VCPUS + 1;
	ck_assert_int_eq(run_config__validate(&cfg), -EINVAL);
	cfg.vcpus = 1;
	cfg.mem_size = CONFIG_MEM_MAX + SZ_2M;
	ck_assert_int_eq(run_config__validate(&cfg), -EINVAL);
	cfg.mem_size = CONFIG_MEM_DEFAULT;
	cfg.check = true;
	ck_assert_int_eq(run_config__validate(&cfg), 0);
	cfg.paging = PAGING_NATIVE;
	ck_assert_int_eq(run_config__validate(&cfg), -EINVAL);
	ck_assert_uint_eq(run_config__pool_bytes(&cfg), 0);
	cfg.check = false;
	cfg.cmdline = calloc(1, PVH_CMDLINE_MAX + 2);
	memset(cfg.cmdline, 'x', PVH_CMDLINE_MAX);
	ck_assert_int_eq(run_config__validate(&cfg), 0);
	cfg.cmdline[PVH_CMDLINE_MAX] = 'x';
	ck_assert_int_eq(run_config__validate(&cfg), -EINVAL);
	run_config__release(&cfg);
}
END_TEST

/* ---- the command line ---- */

/* Parses a NULL-terminated argument list into cfg. */
static int parse(struct run_config *cfg, const char **args)
{
	char *argv[32];
	int argc = 0;

	while (args[argc]) {
		argv[argc] = (char *)args[argc];
		argc++;
	}
	argv[argc] = NULL;
	run_config__init(cfg);
	return cli__parse(argc, argv, cfg);
}

START_TEST(test_cli_run)
{
	struct run_config cfg;
	const char *a1[] = {"umbra",     "run", "--vcpus", "1",   "k.elf",
			    "--mem=64M", "--",  "-x",      "--y", NULL};
	const char *a2[] = {"umbra", "run", "--", "a", "b", NULL};
	const char *a3[] = {"umbra", "run", "--stats-file", "--", "k.elf", NULL};
	const char *a4[] = {"umbra", "run",       "--paging", "lazy",   "--check", "--stats",
			    "json",  "--timeout", "2",        "--pool", "8M",      NULL};

	ck_assert_int_eq(parse(&cfg, a1), CLI_RUN);
	ck_assert_uint_eq(cfg.vcpus, 1);
	ck_assert_uint_eq(cfg.mem_size, 64ull << 20);
	ck_assert_str_eq(cfg.kernel, "k.elf");
	ck_assert_str_eq(cfg.cmdline, "-x --y");
	run_config__release(&cfg);

	ck_assert_int_eq(parse(&cfg, a2), CLI_RUN);
	ck_assert_ptr_null(cfg.kernel);
	ck_assert_str_eq(cfg.cmdline, "a b");
	run_config__release(&cfg);

	/* "--" as an option's value does not end the options. */
	ck_assert_int_eq(parse(&cfg, a3), CLI_RUN);
	ck_assert_str_eq(cfg.stats_file, "--");
	ck_assert_str_eq(cfg.kernel, "k.elf");
	ck_assert_ptr_null(cfg.cmdline);
	run_config__release(&cfg);

	ck_assert_int_eq(parse(&cfg, a4), CLI_RUN);
	ck_assert_int_eq(cfg.paging, PAGING_LAZY);
	ck_assert(cfg.check);
	ck_assert_int_eq(cfg.stats, STATS_JSON);
	ck_assert_uint_eq(cfg.timeout_ns, 2000000000u);
	ck_assert_uint_eq(cfg.pool_size, 8ull << 20);
	run_config__release(&cfg);
}
END_TEST

START_TEST(test_cli_commands)
{
	struct run_config cfg;
	const char *help[] = {"umbra", "--help", NULL};
	const char *version[] = {"umbra", "--version", NULL};
	const char *run_help[] = {"umbra", "run", "k.elf", "--help", NULL};
	const char *stat[] = {"umbra", "stat", "a.json", NULL};
	const char *bad[] = {"umbra", "walk", NULL};
	const char *none[] = {"umbra", NULL};
	const char *extra[] = {"umbra", "run", "a.elf", "b.elf", NULL};
	const char *missing[] = {"umbra", "run", "--mem", NULL};

	ck_assert_int_eq(parse(&cfg, help), CLI_HELP);
	ck_assert_int_eq(parse(&cfg, version), CLI_VERSION);
	ck_assert_int_eq(parse(&cfg, run_help), CLI_RUN_HELP);
	ck_assert_int_eq(parse(&cfg, stat), CLI_STAT);
	ck_assert_int_eq(parse(&cfg, bad), -EINVAL);
	ck_assert_int_eq(parse(&cfg, none), -EINVAL);
	ck_assert_int_eq(parse(&cfg, extra), -EINVAL);
	ck_assert_int_eq(parse(&cfg, missing), -EINVAL);
}
END_TEST

/* ---- guest addresses ---- */

static struct guest_mem mem;

static void mem_setup(void)
{
	ck_assert_int_eq(guest_mem__init(&mem, 4ull << 20, 2ull << 20), 0);
}

static void mem_teardown(void)
{
	guest_mem__release(&mem);
}

START_TEST(test_translate)
{
	const uint64_t ram = 4ull << 20;

	ck_assert_ptr_eq(guest_mem__translate(&mem, 0, ram), mem.host);
	ck_assert_ptr_eq(guest_mem__translate(&mem, ram - 1, 1), mem.host + ram - 1);
	ck_assert_ptr_eq(guest_mem__translate(&mem, ram, 0), mem.host + ram);
	ck_assert_ptr_null(guest_mem__translate(&mem, ram, 1));     /* the pool */
	ck_assert_ptr_null(guest_mem__translate(&mem, ram - 1, 2)); /* across the end */
	ck_assert_ptr_null(guest_mem__translate(&mem, 0, ram + 1));
	ck_assert_ptr_null(guest_mem__translate(&mem, UINT64_MAX, 2)); /* wraps */
	ck_assert_ptr_null(guest_mem__translate(&mem, 16, UINT64_MAX - 8));
	ck_assert_ptr_null(guest_mem__translate(&mem, UINT64_MAX, 0));
	ck_assert_uint_eq(mem.pool_gpa, ram);
	ck_assert_uint_eq(mem.size, ram + (2ull << 20));
}
END_TEST

START_TEST(test_start_info)
{
	const uint32_t *info = (const uint32_t *)(mem.host + PVH_INFO_GPA);
	uint64_t gpa = pvh__write_start_info(&mem, "a b");
	uint64_t map;

	ck_assert_uint_eq(gpa, PVH_INFO_GPA);
	ck_assert_uint_eq(info[0], 0x336ec578u);
	ck_assert_uint_eq(info[1], 1);
	ck_assert_str_eq((const char *)mem.host + PVH_CMDLINE_GPA, "a b");
	memcpy(&map, mem.host + PVH_INFO_GPA + 40, 8);
	ck_assert_uint_eq(map, PVH_MEMMAP_GPA);
	ck_assert_uint_eq(info[12], 2); /* memmap_entries: RAM and the pool */
}
END_TEST

/* ---- JSON ---- */

START_TEST(test_json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct json j;

	json__init(&j, f);
	json__object_begin(&j, NULL);
	json__string(&j, "s", "a\"b\\c\n\x01");
	json__array_begin(&j, "a");
	json__u64(&j, NULL, 1);
	json__i64(&j, NULL, -2);
	json__object_begin(&j, NULL);
	json__object_end(&j);
	json__array_end(&j);
	json__bool(&j, "t", true);
	json__null(&j, "n");
	json__string(&j, "z", NULL);
	json__object_end(&j);
	json__finish(&j);
	fclose(f);
	ck_assert_str_eq(buf, "{\n"
			      "  \"s\": \"a\\\"b\\\\c\\n\\u0001\",\n"
			      "  \"a\": [\n"
			      "    1,\n"
			      "    -2,\n"
			      "    {}\n"
			      "  ],\n"
			      "  \"t\": true,\n"
			      "  \"n\": null,\n"
			      "  \"z\": null\n"
			      "}\n");
	free(buf);
}
END_TEST

START_TEST(test_json_wrapped)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct json j;

	json__init_wrapped(&j, f, 1);
	json__object_begin(&j, NULL);
	json__array_begin(&j, "a");
	json__double(&j, NULL, 0.5);
	json__double(&j, NULL, 1.0 / 3);
	json__double(&j, NULL, 1.0 / 0.0);
	json__number(&j, NULL, "12.00025");
	json__object_begin(&j, NULL);
	json__u64(&j, "x", 1);
	json__object_end(&j);
	json__array_end(&j);
	json__u64(&j, "b", 2);
	json__object_end(&j);
	json__finish(&j);
	fclose(f);
	ck_assert_str_eq(buf, "{\n"
			      "  \"a\": [0.5, 0.333333, null, 12.00025, {\"x\": 1}],\n"
			      "  \"b\": 2\n"
			      "}\n");
	free(buf);
}
END_TEST

static uint32_t parse_ok(struct json_doc *d, const char *text)
{
	char why[128] = "";

	ck_assert_msg(json_doc__parse(d, text, strlen(text), why, sizeof(why)) == 0, "%s: %s", text,
		      why);
	return 0;
}

START_TEST(test_json_read)
{
	struct json_doc d;
	const struct json_node *n;
	uint32_t top = parse_ok(&d, " {\"u\": [0, 18446744073709551615, 18446744073709551616, -1, "
				    "2.5e1, true, false, null],\n \"s\": \"a\\\"\\\\\\/\\n"
				    "\\u00e9\\ud83d\\ude00\", \"o\": {\"k\": {}}, \"s\": 1} ");
	uint32_t u = json_doc__member(&d, top, "u"), i;

	ck_assert_uint_eq(json_doc__node(&d, u)->type, JSON_ARRAY);
	i = json_doc__node(&d, u)->first;
	ck_assert(json_doc__node(&d, i)->is_u64 && json_doc__node(&d, i)->u64 == 0);
	i = json_doc__node(&d, i)->next;
	ck_assert(json_doc__node(&d, i)->is_u64 && json_doc__node(&d, i)->u64 == UINT64_MAX);
	i = json_doc__node(&d, i)->next;
	n = json_doc__node(&d, i);
	ck_assert(n->type == JSON_NUMBER && !n->is_u64 && n->number > 1.8e19);
	i = n->next;
	ck_assert(!json_doc__node(&d, i)->is_u64 && json_doc__node(&d, i)->number == -1);
	i = json_doc__node(&d, i)->next;
	ck_assert(!json_doc__node(&d, i)->is_u64 && json_doc__node(&d, i)->number == 25);
	i = json_doc__node(&d, i)->next;
	ck_assert(json_doc__node(&d, i)->type == JSON_BOOL && json_doc__node(&d, i)->boolean);
	i = json_doc__node(&d, i)->next;
	ck_assert(json_doc__node(&d, i)->type == JSON_BOOL && !json_doc__node(&d, i)->boolean);
	i = json_doc__node(&d, i)->next;
	ck_assert_uint_eq(json_doc__node(&d, i)->type, JSON_NULL);
	ck_assert_uint_eq(json_doc__node(&d, i)->next, JSON_NONE);
	/* The first member of a name wins; escapes become UTF-8. */
	ck_assert_str_eq(json_doc__string(&d, json_doc__member(&d, top, "s")),
			 "a\"\\/\n\xc3\xa9\xf0\x9f\x98\x80");
	i = json_doc__member(&d, json_doc__member(&d, top, "o"), "k");
	ck_assert_uint_eq(json_doc__node(&d, i)->type, JSON_OBJECT);
	ck_assert_str_eq(json_doc__key(&d, i), "k");
	ck_assert_uint_eq(json_doc__member(&d, top, "missing"), JSON_NONE);
	ck_assert_uint_eq(json_doc__member(&d, u, "u"), JSON_NONE); /* not an object */
	json_doc__release(&d);
}
END_TEST

static const struct {
	const char *text;
	const char *why;
} json_bad[] = {
	{"", "line 1, column 1: unexpected end of input, expected a JSON value"},
	{"  \n ", "line 2, column 2: unexpected end of input, expected a JSON value"},
	{"[1,]", "line 1, column 4: unexpected ']', expected a JSON value"},
	{"[1 2]", "line 1, column 4: unexpected '2', expected ',' or ']'"},
	{"{\"a\" 1}", "line 1, column 6: unexpected '1', expected ':' after a member name"},
	{"{\"a\": 1", "line 1, column 8: unexpected end of input, expected ',' or '}'"},
	{"{1: 2}", "line 1, column 2: unexpected '1', expected a member name"},
	{"01", "line 1, column 2: unexpected '1', expected the end after the JSON value"},
	{"1.", "line 1, column 3: unexpected end of input, expected a digit after '.'"},
	{"-", "line 1, column 2: unexpected end of input, expected a digit"},
	{"1e+", "line 1, column 4: unexpected end of input, expected a digit in the exponent"},
	{"+1", "line 1, column 1: unexpected '+', expected a JSON value"},
	{"nul", "line 1, column 1: unexpected 'n', expected a JSON value"},
	{"\"abc", "line 1, column 5: unterminated string"},
	{"\"a\tb\"", "line 1, column 3: control character 0x09 in a string"},
	{"\"\\x\"", "line 1, column 3: bad escape in a string"},
	{"\"\\u12g4\"", "line 1, column 3: bad \\u escape"},
	{"\"\\u0000\"", "line 1, column 8: \\u0000 in a string"},
	{"\"\\udc00\"", "line 1, column 8: a \\u escape of a lone low surrogate"},
	{"\"\\ud800\\u0041\"",
	 "line 1, column 8: a \\u escape of a high surrogate without its low half"},
	{"\x01", "line 1, column 1: unexpected byte 0x01, expected a JSON value"},
	{"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]",
	 "line 1, column 65: nested deeper than 64 levels"},
};

START_TEST(test_json_read_malformed)
{
	struct json_doc d;
	char why[128] = "";
	const char *text = json_bad[_i].text;

	ck_assert_int_eq(json_doc__parse(&d, text, strlen(text), why, sizeof(why)), -EINVAL);
	ck_assert_str_eq(why, json_bad[_i].why);
	ck_assert_ptr_null(d.text);
	ck_assert_ptr_null(d.nodes);
}
END_TEST

START_TEST(test_json_read_nul)
{
	struct json_doc d;
	char why[128] = "";

	/* A NUL byte is not JSON, even where a C string would end. */
	ck_assert_int_eq(json_doc__parse(&d, "[1]\0", 4, why, sizeof(why)), -EINVAL);
	ck_assert_str_eq(why, "line 1, column 4: unexpected byte 0x00, expected the end after the "
			      "JSON value");
}
END_TEST

/* ---- KVM binary statistics ---- */

#define NAME_SIZE 16

/* A stats file as KVM lays it out: header, id, descriptors, data. */
static int fake_stats_fd(uint32_t name_size, uint32_t data_len)
{
	struct kvm_stats_header h = {
		.name_size = name_size,
		.num_desc = 3,
		.id_offset = sizeof(h),
		.desc_offset = sizeof(h) + 16,
	};
	size_t desc_len = sizeof(struct kvm_stats_desc) + NAME_SIZE;
	uint8_t file[1024] = {0};
	const char *names[] = {"exits", "blocking", "halt_hist"};
	const uint32_t flags[] = {KVM_STATS_TYPE_CUMULATIVE, KVM_STATS_TYPE_INSTANT,
				  KVM_STATS_TYPE_LOG_HIST};
	const uint16_t sizes[] = {1, 1, 4};
	const uint64_t values[] = {42, 7, 1, 2, 3, 4};
	int fd = memfd_create("stats", 0);

	h.data_offset = h.desc_offset + 3 * (uint32_t)desc_len;
	memcpy(file, &h, sizeof(h));
	for (unsigned i = 0; i < 3; i++) {
		struct kvm_stats_desc *d =
			(struct kvm_stats_desc *)(file + h.desc_offset + i * desc_len);

		d->flags = flags[i];
		d->size = sizes[i];
		d->offset = i == 2 ? 16 : i * 8;
		strcpy(d->name, names[i]);
	}
	memcpy(file + h.data_offset, values, sizeof(values));
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, file, h.data_offset + data_len), h.data_offset + data_len);
	return fd;
}

START_TEST(test_kvm_stats)
{
	struct kvm_stats s;
	uint64_t v[2];

	ck_assert_int_eq(kvm_stats__open(&s, fake_stats_fd(NAME_SIZE, 48)), 0);
	ck_assert_uint_eq(s.group.n, 2); /* the histogram is skipped */
	ck_assert_str_eq(s.group.names[0], "exits");
	ck_assert_str_eq(s.group.names[1], "blocking");
	ck_assert_int_eq(s.group.kinds[0], COUNTER_CUMULATIVE);
	ck_assert_int_eq(s.group.kinds[1], COUNTER_INSTANT);
	ck_assert_int_eq(kvm_stats__read(&s, v), 0);
	ck_assert_uint_eq(v[0], 42);
	ck_assert_uint_eq(v[1], 7);
	kvm_stats__close(&s);
	ck_assert_int_eq(s.fd, -1);
}
END_TEST

START_TEST(test_kvm_stats_malformed)
{
	struct kvm_stats s;

	/* name_size 0 */
	ck_assert_int_eq(kvm_stats__open(&s, fake_stats_fd(0, 48)), -EPROTO);
	/* the data block ends before the values the descriptors point at */
	ck_assert_int_eq(kvm_stats__open(&s, fake_stats_fd(NAME_SIZE, 8)), -EPROTO);
	/* names that run past name_size */
	ck_assert_int_eq(kvm_stats__open(&s, fake_stats_fd(4, 48)), -EPROTO);
}
END_TEST

/* ---- phase counters ---- */

START_TEST(test_counters)
{
	static const char *const names[] = {"events", "now", "peak"};
	static const enum counter_kind kinds[] = {COUNTER_CUMULATIVE, COUNTER_INSTANT,
						  COUNTER_PEAK};
	const struct counter_group g = {.n = 3, .names = names, .kinds = kinds};
	struct counter_track t;
	uint64_t first[] = {10, 5, 5}, s1[] = {15, 3, 9}, s2[] = {22, 4, 6}, s3[] = {23, 8, 7};

	ck_assert_int_eq(counter_track__init(&t, &g, first), 0);
	counter_track__charge(&t, 0, s1);
	counter_track__charge(&t, 2, s2);
	counter_track__charge(&t, 0, s3);
	ck_assert_uint_eq(t.phase[0][0], 5 + 1);
	ck_assert_uint_eq(t.phase[2][0], 7);
	ck_assert_uint_eq(t.phase[0][1], 8); /* the value at phase 0's last snapshot */
	ck_assert_uint_eq(t.phase[2][1], 4);
	ck_assert_uint_eq(t.phase[0][2], 9); /* the highest phase 0 saw */
	ck_assert_uint_eq(t.phase[2][2], 6);
	ck_assert_uint_eq(counter_track__total(&t, 0), 13);
	ck_assert_uint_eq(counter_track__total(&t, 1), 8);
	ck_assert_uint_eq(counter_track__total(&t, 2), 9);
	ck_assert(t.used[0] && t.used[2] && !t.used[1]);
	counter_track__release(&t);
}
END_TEST

/* An invariant broken at a marker and again at the end: both findings, first one first. */
START_TEST(test_result_marker_then_end)
{
	struct vm_result r = {.reason = STOP_VMM_ERROR, .vcpu = 1};

	strcpy(r.message, "shadow invariant broken at vCPU 1's marker of phase 2: A");
	vm_result__add_error(&r, "shadow invariant broken at the end of the run: %s", "B");
	ck_assert_str_eq(r.message, "shadow invariant broken at vCPU 1's marker of phase 2: A; "
				    "shadow invariant broken at the end of the run: B");
	ck_assert_int_eq(r.reason, STOP_VMM_ERROR);
	ck_assert_int_eq(r.vcpu, 1);
	ck_assert_int_eq(vm__exit_code(&r), EXIT_VMM_ERROR);
}
END_TEST

/* The guest exited well, the end check failed: a VMM error that still says how it ended. */
START_TEST(test_result_exit_then_end)
{
	struct vm_result r = {.reason = STOP_EXIT, .status = 0, .vcpu = 0};

	strcpy(r.message, "guest exited with status 0");
	vm_result__add_error(&r, "shadow invariant broken at the end of the run: %s", "B");
	ck_assert_str_eq(r.message, "guest exited with status 0; shadow invariant broken at the "
				    "end of the run: B");
	ck_assert_int_eq(vm__exit_code(&r), EXIT_VMM_ERROR);
	ck_assert_int_eq(r.vcpu, 0);
}
END_TEST

/* A full message stays terminated and keeps its start. */
START_TEST(test_result_full_message)
{
	struct vm_result r = {.reason = STOP_PANIC};

	memset(r.message, 'a', sizeof(r.message) - 1);
	vm_result__add_error(&r, "finding");
	ck_assert_uint_eq(strlen(r.message), sizeof(r.message) - 1);
	ck_assert_int_eq(r.message[0], 'a');
	ck_assert_int_eq(r.reason, STOP_VMM_ERROR);
	r.message[sizeof(r.message) - 3] = '\0';
	vm_result__add_error(&r, "finding");
	ck_assert_uint_eq(strlen(r.message), sizeof(r.message) - 1);
	ck_assert_str_eq(r.message + sizeof(r.message) - 3, "; ");
}
END_TEST

static Suite *make_vmm_suite(void)
{
	Suite *s = suite_create("vmm");
	TCase *tc;

	tc = tcase_create("options");
	tcase_add_loop_test(tc, test_parse_size, 0, sizeof(size_cases) / sizeof(size_cases[0]));
	tcase_add_test(tc, test_parse_seconds);
	tcase_add_test(tc, test_format_size);
	tcase_add_test(tc, test_validate);
	tcase_add_test(tc, test_cli_run);
	tcase_add_test(tc, test_cli_commands);
	suite_add_tcase(s, tc);

	tc = tcase_create("guest memory");
	tcase_add_checked_fixture(tc, mem_setup, mem_teardown);
	tcase_add_test(tc, test_translate);
	tcase_add_test(tc, test_start_info);
	suite_add_tcase(s, tc);

	tc = tcase_create("reports");
	tcase_add_test(tc, test_json);
	tcase_add_test(tc, test_json_wrapped);
	tcase_add_test(tc, test_json_read);
	tcase_add_loop_test(tc, test_json_read_malformed, 0,
			    sizeof(json_bad) / sizeof(json_bad[0]));
	tcase_add_test(tc, test_json_read_nul);
	tcase_add_test(tc, test_kvm_stats);
	tcase_add_test(tc, test_kvm_stats_malformed);
	tcase_add_test(tc, test_counters);
	suite_add_tcase(s, tc);

	tc = tcase_create("results");
	tcase_add_test(tc, test_result_marker_then_end);
	tcase_add_test(tc, test_result_exit_then_end);
	tcase_add_test(tc, test_result_full_message);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(make_vmm_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
