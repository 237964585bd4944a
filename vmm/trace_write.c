/*
 * Writing the trace: Chrome trace-event JSON (the "JSON Object Format"
 * that Perfetto and chrome://tracing open). One process; a thread track
 * per vCPU with its phases, hypercalls and flushes as complete ("X")
 * slices and its other exits as instants; a VM track with the run; the
 * sampled KVM statistics and the shadow pool as counters.
 */
#include <config.h>

#include "trace.h"

#include <errno.h>
#include <stdlib.h>

#include <umbra/abi.h>

#include "hypercall.h"
#include "json.h"
#include "kvm.h"
#include "report.h"
#include "run_config.h"
#include "vm.h"

#define TRACE_FORMAT_VERSION 1
#define TRACE_PID 1
#define TRACE_TID_VM 1000 /* vCPU i is thread i + 1 */

static const char *const kind_names[TRACE_KINDS] = {
	[TRACE_PHASE] = "phase",         [TRACE_HYPERCALL] = "hypercall",
	[TRACE_FLUSH_VM] = "vm_flush",   [TRACE_FLUSH_FRAMES] = "frame_flush",
	[TRACE_FLUSH_TLB] = "tlb_flush", [TRACE_EXIT] = "exit",
};

static const char *const delta_names[TRACE_SHADOW_DELTAS] = {
	[TRACE_SHARES] = "shares",
	[TRACE_UNSHARES] = "unshares",
	[TRACE_FILLS] = "fills",
	[TRACE_ENTRIES] = "entries_written",
};

static const char *const kvm_names[TRACE_KVM_SAMPLES] = {
	[TRACE_KVM_EXITS] = "exits",
	[TRACE_KVM_PF] = "pf_taken",
	[TRACE_KVM_TLB] = "tlb_flush",
};

struct writer {
	struct json j;
	const struct vm *vm;
	uint64_t base_ns; /* time 0 of the trace: the guest's start */
};

/*
 * A time in microseconds, the format's unit, exact to the nanosecond and a
 * quarter nanosecond past it: readers that truncate ts * 1000 to an integer
 * (Perfetto) and readers that round it both get the exact nanosecond, so
 * that a slice that ends with its parent is not seen to outlast it.
 */
static void put_us(struct writer *w, const char *key, uint64_t ns)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu.%03u25", (unsigned long long)(ns / 1000),
		 (unsigned)(ns % 1000));
	json__number(&w->j, key, buf);
}

static uint64_t since_start(const struct writer *w, uint64_t t)
{
	return t > w->base_ns ? t - w->base_ns : 0;
}

/* Starts an event: its name, category, type, time and track. */
static void event_begin(struct writer *w, const char *name, const char *cat, const char *ph,
			uint64_t t, int tid)
{
	json__object_begin(&w->j, NULL);
	json__string(&w->j, "name", name);
	if (cat)
		json__string(&w->j, "cat", cat);
	json__string(&w->j, "ph", ph);
	put_us(w, "ts", since_start(w, t));
	json__u64(&w->j, "pid", TRACE_PID);
	if (tid >= 0)
		json__i64(&w->j, "tid", tid);
}

static void put_metadata(struct writer *w, const char *what, int tid, const char *key,
			 const char *name, int sort)
{
	json__object_begin(&w->j, NULL);
	json__string(&w->j, "name", what);
	json__string(&w->j, "ph", "M");
	json__u64(&w->j, "pid", TRACE_PID);
	if (tid >= 0)
		json__i64(&w->j, "tid", tid);
	json__object_begin(&w->j, "args");
	if (name)
		json__string(&w->j, key, name);
	else
		json__i64(&w->j, key, sort);
	json__object_end(&w->j);
	json__object_end(&w->j);
}

static void put_tracks(struct writer *w)
{
	char name[32];

	snprintf(name, sizeof(name), "umbra (%s paging)",
		 run_config__paging_name(w->vm->cfg->paging));
	put_metadata(w, "process_name", -1, "name", name, 0);
	put_metadata(w, "thread_name", TRACE_TID_VM, "name", "VM", 0);
	put_metadata(w, "thread_sort_index", TRACE_TID_VM, "sort_index", NULL, -1);
	for (unsigned i = 0; i < w->vm->nr_vcpus; i++) {
		snprintf(name, sizeof(name), "vCPU %u", i);
		put_metadata(w, "thread_name", (int)i + 1, "name", name, 0);
		put_metadata(w, "thread_sort_index", (int)i + 1, "sort_index", NULL, (int)i);
	}
}

/* The VM track: the whole run, and how it ended. */
static void put_run(struct writer *w)
{
	const struct vm *vm = w->vm;

	event_begin(w, "run", "vm", "X", vm->start_ns, TRACE_TID_VM);
	put_us(w, "dur", since_start(w, vm->stats.end_ns));
	json__object_begin(&w->j, "args");
	json__string(&w->j, "paging", run_config__paging_name(vm->cfg->paging));
	json__u64(&w->j, "vcpus", vm->nr_vcpus);
	json__string(&w->j, "stop", vm__stop_name(vm->result.reason));
	json__i64(&w->j, "exit_code", vm__exit_code(&vm->result));
	json__string(&w->j, "message", vm->result.message);
	json__object_end(&w->j);
	json__object_end(&w->j);
}

static void put_kvm_sample(struct writer *w, const struct trace_vcpu *tv, uint64_t t,
			   const uint64_t *v)
{
	char name[32];
	bool any = false;

	for (unsigned k = 0; k < TRACE_KVM_SAMPLES; k++)
		any |= tv->kvm_index[k] >= 0;
	if (!any)
		return;
	snprintf(name, sizeof(name), "vCPU %u KVM", tv->cpu);
	event_begin(w, name, NULL, "C", t, -1);
	json__object_begin(&w->j, "args");
	for (unsigned k = 0; k < TRACE_KVM_SAMPLES; k++) {
		if (tv->kvm_index[k] >= 0)
			json__u64(&w->j, kvm_names[k], v[k]);
	}
	json__object_end(&w->j);
	json__object_end(&w->j);
}

static void put_phase(struct writer *w, const struct trace_vcpu *tv, const struct trace_rec *r)
{
	char buf[16];

	event_begin(w, report__phase_name(r->what, buf, sizeof(buf)), "phase", "X", r->t0,
		    (int)tv->cpu + 1);
	put_us(w, "dur", r->t1 - r->t0);
	json__object_begin(&w->j, "args");
	json__u64(&w->j, "phase", r->what);
	json__object_end(&w->j);
	json__object_end(&w->j);
	put_kvm_sample(w, tv, r->t1, r->u.kvm);
}

static void put_hypercall(struct writer *w, const struct trace_vcpu *tv, const struct trace_rec *r)
{
	const char *name = hypercall__name(r->what);

	event_begin(w, name ? name : "unknown", "hypercall", "X", r->t0, (int)tv->cpu + 1);
	put_us(w, "dur", r->t1 - r->t0);
	json__object_begin(&w->j, "args");
	json__u64(&w->j, "nr", r->what);
	json__i64(&w->j, "result", r->value);
	for (unsigned d = 0; d < TRACE_SHADOW_DELTAS; d++) {
		if ((r->flags & TRACE_F_SHADOW) && r->u.hc.delta[d])
			json__u64(&w->j, delta_names[d], r->u.hc.delta[d]);
	}
	json__object_end(&w->j);
	json__object_end(&w->j);
}

static void put_flush(struct writer *w, const struct trace_vcpu *tv, const struct trace_rec *r)
{
	event_begin(w, kind_names[r->kind], "flush", "X", r->t0, (int)tv->cpu + 1);
	put_us(w, "dur", r->t1 - r->t0);
	if (r->kind == TRACE_FLUSH_FRAMES || r->kind == TRACE_FLUSH_TLB) {
		json__object_begin(&w->j, "args");
		json__u64(&w->j, r->kind == TRACE_FLUSH_TLB ? "pages" : "frames", r->what);
		json__object_end(&w->j);
	}
	json__object_end(&w->j);
}

static void put_exit(struct writer *w, const struct trace_vcpu *tv, const struct trace_rec *r)
{
	const char *name = kvm__exit_name(r->what);

	event_begin(w, name ? name : "other", "exit", "i", r->t0, (int)tv->cpu + 1);
	json__string(&w->j, "s", "t");
	json__object_begin(&w->j, "args");
	json__u64(&w->j, "reason", r->what);
	if (r->what == KVM_EXIT_IO) {
		json__u64(&w->j, "port", (uint64_t)r->value);
		json__string(&w->j, "direction", r->flags & TRACE_F_WRITE ? "out" : "in");
	} else if (r->what == KVM_EXIT_MMIO) {
		json__u64(&w->j, "gpa", (uint64_t)r->value);
		json__bool(&w->j, "write", r->flags & TRACE_F_WRITE);
	}
	json__object_end(&w->j);
	json__object_end(&w->j);
}

static void put_drops(struct writer *w, const struct trace_vcpu *tv)
{
	uint64_t n = 0;

	for (unsigned k = 0; k < TRACE_KINDS; k++)
		n += tv->dropped[k];
	if (!n)
		return;
	event_begin(w, "trace buffer full", "trace", "i", tv->first_drop_ns, (int)tv->cpu + 1);
	json__string(&w->j, "s", "t");
	json__object_begin(&w->j, "args");
	json__u64(&w->j, "dropped", n);
	json__object_end(&w->j);
	json__object_end(&w->j);
}

/* Earlier first; of two that start together, the longer (the parent) first. */
static int rec_cmp(const void *a, const void *b)
{
	const struct trace_rec *x = a, *y = b;

	if (x->t0 != y->t0)
		return x->t0 < y->t0 ? -1 : 1;
	if (x->t1 != y->t1)
		return x->t1 > y->t1 ? -1 : 1;
	return (int)x->kind - (int)y->kind;
}

static void put_vcpu(struct writer *w, struct trace_vcpu *tv)
{
	static const uint64_t zero[TRACE_KVM_SAMPLES];

	if (!tv->ran)
		return;
	qsort(tv->rec, tv->n, sizeof(tv->rec[0]), rec_cmp);
	put_kvm_sample(w, tv, tv->start_ns, zero);
	for (uint32_t i = 0; i < tv->n; i++) {
		const struct trace_rec *r = &tv->rec[i];

		switch (r->kind) {
		case TRACE_PHASE:
			put_phase(w, tv, r);
			break;
		case TRACE_HYPERCALL:
			put_hypercall(w, tv, r);
			break;
		case TRACE_FLUSH_VM:
		case TRACE_FLUSH_FRAMES:
		case TRACE_FLUSH_TLB:
			put_flush(w, tv, r);
			break;
		case TRACE_EXIT:
			put_exit(w, tv, r);
			break;
		}
	}
	put_drops(w, tv);
}

struct pool_sample {
	uint64_t t;
	uint32_t pages, spaces;
};

static int pool_cmp(const void *a, const void *b)
{
	const struct pool_sample *x = a, *y = b;

	return x->t < y->t ? -1 : x->t > y->t;
}

static void put_pool_sample(struct writer *w, uint64_t t, uint32_t pages, uint32_t spaces)
{
	event_begin(w, "shadow pool", NULL, "C", t, -1);
	json__object_begin(&w->j, "args");
	json__u64(&w->j, "pages", pages);
	json__u64(&w->j, "address_spaces", spaces);
	json__object_end(&w->j);
	json__object_end(&w->j);
}

/*
 * The pool's use after every shadow-MMU hypercall of any vCPU, in time
 * order, where it changed. 0 or -ENOMEM.
 */
static int put_pool(struct writer *w, const struct trace *t)
{
	struct pool_sample *s;
	size_t n = 0, cap = 0;
	uint32_t pages = t->pool_pages0, spaces = t->address_spaces0;

	if (!t->mmu)
		return 0;
	for (unsigned i = 0; i < t->nr_vcpus; i++)
		cap += t->vcpu[i].n;
	s = malloc((cap ? cap : 1) * sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (unsigned i = 0; i < t->nr_vcpus; i++) {
		for (uint32_t k = 0; k < t->vcpu[i].n; k++) {
			const struct trace_rec *r = &t->vcpu[i].rec[k];

			if (r->kind == TRACE_HYPERCALL && (r->flags & TRACE_F_SHADOW))
				s[n++] = (struct pool_sample){r->t1, r->u.hc.pool_pages,
							      r->u.hc.address_spaces};
		}
	}
	qsort(s, n, sizeof(*s), pool_cmp);
	put_pool_sample(w, w->base_ns, pages, spaces);
	for (size_t i = 0; i < n; i++) {
		if (s[i].pages == pages && s[i].spaces == spaces)
			continue;
		pages = s[i].pages;
		spaces = s[i].spaces;
		put_pool_sample(w, s[i].t, pages, spaces);
	}
	free(s);
	return 0;
}

/* What the file is and what it lost, for tools rather than the viewer. */
static void put_other_data(struct writer *w, const struct trace *t)
{
	const struct run_config *cfg = w->vm->cfg;

	json__object_begin(&w->j, "otherData");
	json__string(&w->j, "format", "umbra-trace");
	json__u64(&w->j, "version", TRACE_FORMAT_VERSION);
	json__string(&w->j, "umbra", PACKAGE_VERSION);
	json__string(&w->j, "kernel", cfg->kernel);
	json__string(&w->j, "cmdline", cfg->cmdline ? cfg->cmdline : "");
	json__string(&w->j, "paging", run_config__paging_name(cfg->paging));
	json__u64(&w->j, "buffer_records", t->cap);
	json__u64(&w->j, "dropped", trace__dropped(t));
	json__array_begin(&w->j, "vcpus");
	for (unsigned i = 0; i < t->nr_vcpus; i++) {
		const struct trace_vcpu *tv = &t->vcpu[i];

		json__object_begin(&w->j, NULL);
		json__u64(&w->j, "vcpu", i);
		json__i64(&w->j, "tid", (int)i + 1);
		json__u64(&w->j, "recorded", tv->n);
		json__object_begin(&w->j, "dropped");
		for (unsigned k = 0; k < TRACE_KINDS; k++)
			json__u64(&w->j, kind_names[k], tv->dropped[k]);
		json__object_end(&w->j);
		json__object_end(&w->j);
	}
	json__array_end(&w->j);
	json__object_end(&w->j);
}

int trace__write(struct trace *t, const struct vm *vm, FILE *f)
{
	struct writer w = {.vm = vm, .base_ns = vm->start_ns};
	int err;

	/* Depth 2: one event per line. */
	json__init_wrapped(&w.j, f, 2);
	json__object_begin(&w.j, NULL);
	json__string(&w.j, "displayTimeUnit", "ns");
	json__array_begin(&w.j, "traceEvents");
	put_tracks(&w);
	put_run(&w);
	for (unsigned i = 0; i < t->nr_vcpus; i++)
		put_vcpu(&w, &t->vcpu[i]);
	err = put_pool(&w, t);
	json__array_end(&w.j);
	put_other_data(&w, t);
	json__object_end(&w.j);
	json__finish(&w.j);
	if (err == 0 && ferror(f))
		err = -EIO;
	return err;
}
