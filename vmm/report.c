/*
 * The run report, as a table and as JSON.
 */
#include <config.h>

#include "report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <umbra/abi.h>

#include "run_config.h"
#include "hypercall.h"
#include "json.h"
#include "kvm.h"
#include "vcpu.h"
#include "vm.h"

#define ALL_PHASES (-1)

static const char *const io_names[IO_CLASSES] = {
	[IO_HYPERCALL] = "hypercall",
	[IO_COM1_DATA] = "com1_data",
	[IO_COM1_LSR] = "com1_lsr",
	[IO_UNHANDLED] = "unhandled",
};

const char *report__phase_name(unsigned p, char *buf, size_t len)
{
	static const char *const names[] = {
		[UMBRA_PHASE_BOOT] = "boot",           [UMBRA_PHASE_SETUP] = "setup",
		[UMBRA_PHASE_FORK] = "fork",           [UMBRA_PHASE_CHILD] = "child",
		[UMBRA_PHASE_EXIT_WAIT] = "exit_wait", [UMBRA_PHASE_IDLE] = "idle",
	};

	if (p < UMBRA_PHASE_USER)
		return names[p];
	snprintf(buf, len, "user%u", p);
	return buf;
}

static const char *exit_name(unsigned slot)
{
	const char *name = slot == EXIT_SLOT_OTHER ? "other" : kvm__exit_name(slot);

	return name;
}

static const char *hc_name(unsigned slot)
{
	return slot == HC_SLOT_UNKNOWN ? "unknown" : hypercall__name(slot);
}

/* A group of counters summed over vCPUs. */
struct agg_group {
	const struct counter_group *group; /* NULL: not available */
	uint64_t *v;
};

/* What some vCPUs did in some phases, summed. */
struct agg {
	struct phase_counters pc;
	struct agg_group kvm;    /* KVM's vCPU statistics */
	struct agg_group shadow; /* the shadow library's counters of the vCPUs' calls */
	bool used;
};

static int agg_group_init(struct agg_group *g, const struct counter_group *group)
{
	*g = (struct agg_group){0};
	if (!group)
		return 0;
	g->v = calloc(group->n ? group->n : 1, sizeof(uint64_t));
	if (!g->v)
		return -1;
	g->group = group;
	return 0;
}

static int agg_init(struct agg *a, const struct vm *vm)
{
	const struct vcpu_stats *s0 = &vm->vcpus[0].stats;

	*a = (struct agg){0};
	if (agg_group_init(&a->kvm, s0->have_kvm ? &s0->kvm.group : NULL) < 0 ||
	    agg_group_init(&a->shadow, s0->shadow.group) < 0) {
		free(a->kvm.v);
		return -1;
	}
	return 0;
}

static void agg_release(struct agg *a)
{
	free(a->kvm.v);
	free(a->shadow.v);
	a->kvm.v = a->shadow.v = NULL;
}

/* Adds a vCPU's track in `phase` (or ALL_PHASES). Events add up over
 * vCPUs; of current values and peaks, the highest vCPU's is reported. */
static void agg_group_add(struct agg_group *g, const struct counter_track *t, int phase)
{
	for (unsigned i = 0; i < g->group->n; i++) {
		uint64_t x = phase == ALL_PHASES ? counter_track__total(t, i) : t->phase[phase][i];

		if (g->group->kinds[i] == COUNTER_CUMULATIVE)
			g->v[i] += x;
		else if (x > g->v[i])
			g->v[i] = x;
	}
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static void add_counters(struct phase_counters *d, const struct phase_counters *s)
{
	for (unsigned i = 0; i < EXIT_SLOTS; i++)
		d->exits[i] += s->exits[i];
	for (unsigned i = 0; i < IO_CLASSES; i++)
		d->io[i] += s->io[i];
	for (unsigned i = 0; i < HC_SLOTS; i++) {
		d->hc_calls[i] += s->hc_calls[i];
		d->hc_errors[i] += s->hc_errors[i];
		d->hc_ns[i] += s->hc_ns[i];
		d->hc_max_ns[i] = max_u64(d->hc_max_ns[i], s->hc_max_ns[i]);
	}
	d->flushes += s->flushes;
	d->flush_ns += s->flush_ns;
	d->frame_flushes += s->frame_flushes;
	d->frame_flush_ns += s->frame_flush_ns;
	d->tlb_flushes += s->tlb_flushes;
	d->tlb_pages += s->tlb_pages;
	d->root_moves += s->root_moves;
	d->time_ns += s->time_ns;
	d->longest_ns = max_u64(d->longest_ns, s->longest_ns);
	d->cpu_ns += s->cpu_ns;
}

/* Adds what v did in `phase` (or ALL_PHASES). */
static void agg_add(struct agg *a, const struct vcpu *v, int phase)
{
	const struct vcpu_stats *s = &v->stats;
	bool used = false;

	for (unsigned p = 0; p < UMBRA_PHASE_COUNT; p++) {
		if ((phase == ALL_PHASES || (unsigned)phase == p) && s->phases[p].used) {
			add_counters(&a->pc, &s->phases[p]);
			used = true;
		}
	}
	a->used |= used;
	if (!used)
		return;
	if (a->kvm.group && s->have_kvm &&
	    kvm_stats__same_layout(&s->kvm, &v->vm->vcpus[0].stats.kvm))
		agg_group_add(&a->kvm, &s->kvm_track, phase);
	if (a->shadow.group && s->shadow.group)
		agg_group_add(&a->shadow, &s->shadow_track, phase);
}

static uint64_t sum(const uint64_t *v, unsigned n)
{
	uint64_t s = 0;

	for (unsigned i = 0; i < n; i++)
		s += v[i];
	return s;
}

static uint64_t most(const uint64_t *v, unsigned n)
{
	uint64_t m = 0;

	for (unsigned i = 0; i < n; i++)
		m = max_u64(m, v[i]);
	return m;
}

/* A VM-wide counter in `phase` (or over the run). */
static uint64_t track_value(const struct counter_track *t, int phase, unsigned i)
{
	return phase == ALL_PHASES ? counter_track__total(t, i) : t->phase[phase][i];
}

static bool phase_used(const struct vm *vm, unsigned p)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i].stats.phases[p].used)
			return true;
	}
	return false;
}

/* ---- JSON ---- */

static void json_agg_group(struct json *j, const char *key, const struct agg_group *g)
{
	if (!g->group) {
		json__null(j, key);
		return;
	}
	json__object_begin(j, key);
	for (unsigned i = 0; i < g->group->n; i++)
		json__u64(j, g->group->names[i], g->v[i]);
	json__object_end(j);
}

static void json_counters(struct json *j, const struct agg *a)
{
	const struct phase_counters *pc = &a->pc;

	json__u64(j, "time_ns", pc->time_ns);
	json__u64(j, "longest_ns", pc->longest_ns);
	json__u64(j, "cpu_ns", pc->cpu_ns);
	json__object_begin(j, "exits");
	json__u64(j, "total", sum(pc->exits, EXIT_SLOTS));
	for (unsigned i = 0; i < EXIT_SLOTS; i++) {
		if (exit_name(i))
			json__u64(j, exit_name(i), pc->exits[i]);
	}
	json__object_end(j);
	json__object_begin(j, "io");
	for (unsigned i = 0; i < IO_CLASSES; i++)
		json__u64(j, io_names[i], pc->io[i]);
	json__object_end(j);
	json__object_begin(j, "hypercalls");
	json__object_begin(j, "total");
	json__u64(j, "calls", sum(pc->hc_calls, HC_SLOTS));
	json__u64(j, "errors", sum(pc->hc_errors, HC_SLOTS));
	json__u64(j, "ns", sum(pc->hc_ns, HC_SLOTS));
	json__u64(j, "max_ns", most(pc->hc_max_ns, HC_SLOTS));
	json__object_end(j);
	for (unsigned i = 0; i < HC_SLOTS; i++) {
		if (!hc_name(i))
			continue;
		json__object_begin(j, hc_name(i));
		json__u64(j, "calls", pc->hc_calls[i]);
		json__u64(j, "errors", pc->hc_errors[i]);
		json__u64(j, "ns", pc->hc_ns[i]);
		json__u64(j, "max_ns", pc->hc_max_ns[i]);
		json__object_end(j);
	}
	json__object_end(j);
	json__u64(j, "flushes", pc->flushes);
	json__u64(j, "flush_ns", pc->flush_ns);
	json__u64(j, "frame_flushes", pc->frame_flushes);
	json__u64(j, "frame_flush_ns", pc->frame_flush_ns);
	json__u64(j, "tlb_flushes", pc->tlb_flushes);
	json__u64(j, "tlb_pages", pc->tlb_pages);
	json__u64(j, "root_moves", pc->root_moves);
	json_agg_group(j, "kvm", &a->kvm);
	json_agg_group(j, "shadow", &a->shadow);
}

static void json_track(struct json *j, const char *key, const struct counter_track *t, int phase)
{
	if (!t->group) {
		json__null(j, key);
		return;
	}
	json__object_begin(j, key);
	for (unsigned i = 0; i < t->group->n; i++)
		json__u64(j, t->group->names[i], track_value(t, phase, i));
	json__object_end(j);
}

static void json_vm_counters(struct json *j, const struct vm *vm, int phase)
{
	json_track(j, "kvm_vm", &vm->stats.kvm_track, phase);
	json_track(j, "shadow_pool", &vm->stats.shadow_track, phase);
}

static void json_header(struct json *j, const struct vm *vm)
{
	const struct run_config *cfg = vm->cfg;
	const struct vm_result *r = &vm->result;

	json__string(j, "format", "umbra-stats");
	json__u64(j, "version", REPORT_JSON_VERSION);
	json__string(j, "umbra", PACKAGE_VERSION);
	json__object_begin(j, "run");
	json__string(j, "kernel", cfg->kernel);
	json__string(j, "cmdline", cfg->cmdline ? cfg->cmdline : "");
	json__string(j, "paging", run_config__paging_name(cfg->paging));
	json__u64(j, "vcpus", cfg->vcpus);
	json__u64(j, "mem_bytes", vm->mem.ram_size);
	json__u64(j, "pool_bytes", vm->mem.pool_size);
	json__bool(j, "check", cfg->check);
	json__u64(j, "timeout_ns", cfg->timeout_ns);
	json__string(j, "flush_requested", run_config__flush_name(cfg->flush));
	if (vm->mmu)
		json__string(j, "flush", run_config__flush_name(vm->flush));
	else
		json__null(j, "flush");
	json__string(j, "kvm_kind", kvm_kind__name(vm->kind.kind));
	json__string(j, "kvm", vm->kind.source);
	json__bool(j, "pool_readonly", vm->mmu && vm->kvm.readonly_mem);
	json__object_end(j);
	json__object_begin(j, "result");
	json__string(j, "stop", vm__stop_name(r->reason));
	if (r->reason == STOP_EXIT || r->reason == STOP_SIGNAL)
		json__u64(j, "status", r->status);
	else
		json__null(j, "status");
	json__i64(j, "exit_code", vm__exit_code(r));
	json__i64(j, "vcpu", r->vcpu);
	json__string(j, "message", r->message);
	if (vm->mmu)
		json__bool(j, "shadow_pool_full", vm->pool_full);
	else
		json__null(j, "shadow_pool_full");
	json__object_end(j);
	json__object_begin(j, "time");
	json__u64(j, "wall_ns", vm->stats.end_ns - vm->stats.start_ns);
	json__u64(j, "user_ns", vm->stats.user_ns);
	json__u64(j, "sys_ns", vm->stats.sys_ns);
	json__object_end(j);
}

void report__json(FILE *f, const struct vm *vm)
{
	struct json j;
	struct agg a;
	char buf[16];

	json__init(&j, f);
	json__object_begin(&j, NULL);
	json_header(&j, vm);
	json__array_begin(&j, "phases");
	for (unsigned p = 0; p < UMBRA_PHASE_COUNT; p++) {
		if (!phase_used(vm, p))
			continue;
		json__object_begin(&j, NULL);
		json__u64(&j, "phase", p);
		json__string(&j, "name", report__phase_name(p, buf, sizeof(buf)));
		json__array_begin(&j, "vcpus");
		for (unsigned i = 0; i < vm->nr_vcpus; i++) {
			if (!vm->vcpus[i].stats.phases[p].used || agg_init(&a, vm) < 0)
				continue;
			agg_add(&a, &vm->vcpus[i], (int)p);
			json__object_begin(&j, NULL);
			json__u64(&j, "vcpu", i);
			json_counters(&j, &a);
			json__object_end(&j);
			agg_release(&a);
		}
		json__array_end(&j);
		if (agg_init(&a, vm) == 0) {
			for (unsigned i = 0; i < vm->nr_vcpus; i++)
				agg_add(&a, &vm->vcpus[i], (int)p);
			json__object_begin(&j, "total");
			json_counters(&j, &a);
			json_vm_counters(&j, vm, (int)p);
			json__object_end(&j);
			agg_release(&a);
		}
		json__object_end(&j);
	}
	json__array_end(&j);
	json__array_begin(&j, "vcpus");
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		if (agg_init(&a, vm) < 0)
			continue;
		agg_add(&a, &vm->vcpus[i], ALL_PHASES);
		json__object_begin(&j, NULL);
		json__u64(&j, "vcpu", i);
		json__bool(&j, "ran", a.used);
		json_counters(&j, &a);
		json__object_end(&j);
		agg_release(&a);
	}
	json__array_end(&j);
	if (agg_init(&a, vm) == 0) {
		for (unsigned i = 0; i < vm->nr_vcpus; i++)
			agg_add(&a, &vm->vcpus[i], ALL_PHASES);
		json__object_begin(&j, "total");
		json_counters(&j, &a);
		json_vm_counters(&j, vm, ALL_PHASES);
		json__object_end(&j);
		agg_release(&a);
	}
	json__object_end(&j);
	json__finish(&j);
}

/* ---- table ---- */

#define TABLE_MAX_COLUMNS (UMBRA_PHASE_COUNT + UMBRA_MAX_VCPUS + 1)
#define NAME_WIDTH 26
#define COLUMN_WIDTH 11

struct column {
	char title[16];
	int phase; /* or ALL_PHASES */
	int vcpu;  /* or -1: all vCPUs */
	struct agg agg;
};

struct table {
	FILE *f;
	const struct vm *vm;
	const char *header; /* printed before the next row, if one comes */
	unsigned n;
	struct column col[TABLE_MAX_COLUMNS];
};

/* Starts a group of rows; its header line is printed with its first row. */
static void table_header(struct table *t, const char *title)
{
	t->header = title;
}

static void table_row_name(struct table *t, const char *name)
{
	if (t->header) {
		fprintf(t->f, "%-*s", NAME_WIDTH, t->header);
		for (unsigned c = 0; c < t->n; c++)
			fprintf(t->f, " %*s", COLUMN_WIDTH, t->col[c].title);
		fputc('\n', t->f);
		t->header = NULL;
	}
	fprintf(t->f, "  %-*s", NAME_WIDTH - 2, name);
}

/* A row of per-vCPU counters; value(agg, i) picks the counter. Skips all-zero rows. */
static void table_row(struct table *t, const char *name,
		      uint64_t (*value)(const struct agg *, unsigned), unsigned i)
{
	bool any = false;

	for (unsigned c = 0; c < t->n; c++)
		any |= value(&t->col[c].agg, i) != 0;
	if (!any)
		return;
	table_row_name(t, name);
	for (unsigned c = 0; c < t->n; c++)
		fprintf(t->f, " %*" PRIu64, COLUMN_WIDTH, value(&t->col[c].agg, i));
	fputc('\n', t->f);
}

/* A row of a VM-wide counter: blank in per-vCPU columns. Skips all-zero rows. */
static void table_vm_row(struct table *t, const struct counter_track *tr, unsigned i)
{
	bool any = false;

	for (unsigned c = 0; c < t->n; c++)
		any |= t->col[c].vcpu < 0 && track_value(tr, t->col[c].phase, i) != 0;
	if (!any)
		return;
	table_row_name(t, tr->group->names[i]);
	for (unsigned c = 0; c < t->n; c++) {
		if (t->col[c].vcpu < 0)
			fprintf(t->f, " %*" PRIu64, COLUMN_WIDTH,
				track_value(tr, t->col[c].phase, i));
		else
			fprintf(t->f, " %*s", COLUMN_WIDTH, "");
	}
	fputc('\n', t->f);
}

static uint64_t v_exit(const struct agg *a, unsigned i)
{
	return a->pc.exits[i];
}
static uint64_t v_exit_total(const struct agg *a, unsigned i)
{
	(void)i;
	return sum(a->pc.exits, EXIT_SLOTS);
}
static uint64_t v_io(const struct agg *a, unsigned i)
{
	return a->pc.io[i];
}
static uint64_t v_hc(const struct agg *a, unsigned i)
{
	return a->pc.hc_calls[i];
}
static uint64_t v_hc_err(const struct agg *a, unsigned i)
{
	return a->pc.hc_errors[i];
}
static uint64_t v_hc_us(const struct agg *a, unsigned i)
{
	return a->pc.hc_ns[i] / 1000;
}
static uint64_t v_flushes(const struct agg *a, unsigned i)
{
	(void)i;
	return a->pc.flushes;
}
static uint64_t v_flush_us(const struct agg *a, unsigned i)
{
	(void)i;
	return a->pc.flush_ns / 1000;
}
static uint64_t v_frame_flushes(const struct agg *a, unsigned i)
{
	(void)i;
	return a->pc.frame_flushes;
}
static uint64_t v_tlb_flushes(const struct agg *a, unsigned i)
{
	(void)i;
	return a->pc.tlb_flushes;
}
static uint64_t v_tlb_pages(const struct agg *a, unsigned i)
{
	(void)i;
	return a->pc.tlb_pages;
}
static uint64_t v_root_moves(const struct agg *a, unsigned i)
{
	(void)i;
	return a->pc.root_moves;
}
static uint64_t v_frame_flush_us(const struct agg *a, unsigned i)
{
	(void)i;
	return a->pc.frame_flush_ns / 1000;
}
static uint64_t v_time_us(const struct agg *a, unsigned i)
{
	(void)i;
	return a->pc.time_ns / 1000;
}
static uint64_t v_cpu_us(const struct agg *a, unsigned i)
{
	(void)i;
	return a->pc.cpu_ns / 1000;
}
static uint64_t v_kvm(const struct agg *a, unsigned i)
{
	return a->kvm.v ? a->kvm.v[i] : 0;
}
static uint64_t v_shadow(const struct agg *a, unsigned i)
{
	return a->shadow.v ? a->shadow.v[i] : 0;
}

static void table_add_column(struct table *t, const char *title, int phase, int vcpu)
{
	struct column *c = &t->col[t->n];

	if (t->n == TABLE_MAX_COLUMNS || agg_init(&c->agg, t->vm) < 0)
		return;
	snprintf(c->title, sizeof(c->title), "%s", title);
	c->phase = phase;
	c->vcpu = vcpu;
	for (unsigned i = 0; i < t->vm->nr_vcpus; i++) {
		if (vcpu < 0 || (unsigned)vcpu == i)
			agg_add(&c->agg, &t->vm->vcpus[i], phase);
	}
	t->n++;
}

static void table_result(FILE *f, const struct vm *vm)
{
	const struct run_config *cfg = vm->cfg;
	char mem[32];

	run_config__format_size(vm->mem.ram_size, mem, sizeof(mem));
	fprintf(f, "umbra: %s (exit code %d)\n", vm->result.message, vm__exit_code(&vm->result));
	fprintf(f,
		"umbra: %s paging, %u vCPU%s, %s RAM; wall %.3f s, VMM user %.3f s, "
		"system %.3f s\n",
		run_config__paging_name(cfg->paging), cfg->vcpus, cfg->vcpus == 1 ? "" : "s", mem,
		(double)(vm->stats.end_ns - vm->stats.start_ns) / 1e9,
		(double)vm->stats.user_ns / 1e9, (double)vm->stats.sys_ns / 1e9);
	if (vm->mmu)
		fprintf(f, "umbra: flush %s (%s %s KVM: %s), shadow pool %s to the guest\n",
			run_config__flush_name(vm->flush),
			cfg->flush == FLUSH_AUTO ? "auto on a" : "asked for; a",
			kvm_kind__name(vm->kind.kind), vm->kind.source,
			vm->kvm.readonly_mem ? "read-only" : "writable");
}

void report__table(FILE *f, const struct vm *vm)
{
	struct table *t = calloc(1, sizeof(*t));
	char buf[16];

	table_result(f, vm);
	if (!t)
		return;
	t->f = f;
	t->vm = vm;
	for (unsigned p = 0; p < UMBRA_PHASE_COUNT; p++) {
		if (phase_used(vm, p))
			table_add_column(t, report__phase_name(p, buf, sizeof(buf)), (int)p, -1);
	}
	if (vm->nr_vcpus > 1) {
		for (unsigned i = 0; i < vm->nr_vcpus; i++) {
			snprintf(buf, sizeof(buf), "vcpu%u", i);
			table_add_column(t, buf, ALL_PHASES, (int)i);
		}
	}
	table_add_column(t, "total", ALL_PHASES, -1);

	fputc('\n', f);
	table_header(t, "user-space exits");
	for (unsigned i = 0; i < EXIT_SLOTS; i++) {
		if (exit_name(i))
			table_row(t, exit_name(i), v_exit, i);
	}
	table_row(t, "(all)", v_exit_total, 0);
	table_header(t, "port i/o exits");
	for (unsigned i = 0; i < IO_CLASSES; i++)
		table_row(t, io_names[i], v_io, i);
	table_header(t, "hypercalls");
	for (unsigned i = 0; i < HC_SLOTS; i++) {
		if (hc_name(i))
			table_row(t, hc_name(i), v_hc, i);
	}
	for (unsigned i = 0; i < HC_SLOTS; i++) {
		char name[40];

		if (!hc_name(i))
			continue;
		snprintf(name, sizeof(name), "%s errors", hc_name(i));
		table_row(t, name, v_hc_err, i);
	}
	for (unsigned i = 0; i < HC_SLOTS; i++) {
		char name[40];

		if (!hc_name(i))
			continue;
		snprintf(name, sizeof(name), "%s time (us)", hc_name(i));
		table_row(t, name, v_hc_us, i);
	}
	table_header(t, "time and flushes");
	table_row(t, "flushes", v_flushes, 0);
	table_row(t, "frame flushes", v_frame_flushes, 0);
	table_row(t, "stub TLB flushes", v_tlb_flushes, 0);
	table_row(t, "stub pages", v_tlb_pages, 0);
	table_row(t, "root moves", v_root_moves, 0);
	table_row(t, "frame flush time (us)", v_frame_flush_us, 0);
	table_row(t, "flush time (us)", v_flush_us, 0);
	table_row(t, "wall time (us)", v_time_us, 0);
	table_row(t, "vCPU thread CPU (us)", v_cpu_us, 0);
	if (t->col[0].agg.kvm.group) {
		table_header(t, "KVM vCPU statistics");
		for (unsigned i = 0; i < t->col[0].agg.kvm.group->n; i++)
			table_row(t, t->col[0].agg.kvm.group->names[i], v_kvm, i);
	}
	if (vm->stats.kvm_track.group) {
		table_header(t, "KVM VM statistics");
		for (unsigned i = 0; i < vm->stats.kvm_track.group->n; i++)
			table_vm_row(t, &vm->stats.kvm_track, i);
	}
	if (t->col[0].agg.shadow.group) {
		table_header(t, "shadow MMU");
		for (unsigned i = 0; i < t->col[0].agg.shadow.group->n; i++)
			table_row(t, t->col[0].agg.shadow.group->names[i], v_shadow, i);
	}
	if (vm->stats.shadow_track.group) {
		table_header(t, "shadow pool (pages, address spaces)");
		for (unsigned i = 0; i < vm->stats.shadow_track.group->n; i++)
			table_vm_row(t, &vm->stats.shadow_track, i);
	}
	fputs("(rows that are zero in every column are left out; --stats json has them all)\n", f);
	for (unsigned c = 0; c < t->n; c++)
		agg_release(&t->col[c].agg);
	free(t);
}
