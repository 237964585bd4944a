/*
 * Recording the trace: per-vCPU buffers and what goes into them.
 */
#include <config.h>

#include "trace.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <umbra/abi.h>

#include "exits.h"
#include "mmu.h"
#include "stats.h"
#include "vcpu.h"
#include "vm.h"

/* The shadow library's counters that add up to each delta of a hypercall. */
static const char *const shadow_sources[TRACE_SHADOW_DELTAS][TRACE_DELTA_TERMS] = {
	[TRACE_SHARES] = {"share_exclusive", "share_shared", "share_identity"},
	[TRACE_UNSHARES] = {"unshare_copy", "unshare_exclusive", "unshare_follow"},
	[TRACE_FILLS] = {"fill_private", "fill_shared"},
	[TRACE_ENTRIES] = {"shadow_entries_written", NULL},
};

/* KVM's names of the sampled statistics. */
static const char *const kvm_sources[TRACE_KVM_SAMPLES] = {
	[TRACE_KVM_EXITS] = "exits",
	[TRACE_KVM_PF] = "pf_taken",
	[TRACE_KVM_TLB] = "tlb_flush",
};

/* The index of name in g, or -1. */
static int group_index(const struct counter_group *g, const char *name)
{
	for (unsigned i = 0; i < g->n; i++) {
		if (strcmp(g->names[i], name) == 0)
			return (int)i;
	}
	return -1;
}

/* The library's counters are ours: a name that is missing is a bug here. */
static int find_shadow_indices(struct trace *t)
{
	if (mmu_counters.n > TRACE_MMU_COUNTERS_MAX)
		return -EOVERFLOW;
	for (unsigned d = 0; d < TRACE_SHADOW_DELTAS; d++) {
		for (unsigned k = 0; k < TRACE_DELTA_TERMS; k++) {
			const char *name = shadow_sources[d][k];

			t->shadow_index[d][k] = name ? group_index(&mmu_counters, name) : -1;
			if (name && t->shadow_index[d][k] < 0)
				return -ENOENT;
		}
	}
	t->pool_index = group_index(&mmu_gauges, "pages_now");
	t->as_index = group_index(&mmu_gauges, "address_spaces_now");
	return t->pool_index < 0 || t->as_index < 0 ? -ENOENT : 0;
}

/* The pool's gauges now: pages in use and live address spaces. */
static void read_pool(const struct trace *t, uint32_t *pages, uint32_t *spaces)
{
	uint64_t v[TRACE_MMU_COUNTERS_MAX];

	mmu__read_gauges(t->mmu, -1, v);
	*pages = (uint32_t)v[t->pool_index];
	*spaces = (uint32_t)v[t->as_index];
}

/* Maps and touches a buffer of cap records: no page fault while the guest runs. */
static struct trace_rec *buffer_map(uint32_t cap)
{
	void *p = mmap(NULL, (size_t)cap * sizeof(struct trace_rec), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void init_vcpu(struct trace *t, unsigned cpu, const struct vcpu_stats *stats)
{
	struct trace_vcpu *tv = &t->vcpu[cpu];

	tv->trace = t;
	tv->stats = stats;
	tv->cpu = cpu;
	tv->cap = t->cap;
	for (unsigned k = 0; k < TRACE_KVM_SAMPLES; k++)
		tv->kvm_index[k] =
			stats->have_kvm ? group_index(&stats->kvm.group, kvm_sources[k]) : -1;
}

int trace__init(struct vm *vm, uint32_t events_per_vcpu)
{
	struct trace *t = calloc(1, sizeof(*t) + vm->nr_vcpus * sizeof(t->vcpu[0]));
	int err;

	if (!t)
		return -ENOMEM;
	t->mmu = vm->mmu;
	t->cap = events_per_vcpu;
	t->nr_vcpus = vm->nr_vcpus;
	if (t->mmu) {
		err = find_shadow_indices(t);
		if (err < 0)
			goto fail;
		read_pool(t, &t->pool_pages0, &t->address_spaces0);
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		init_vcpu(t, i, &vm->vcpus[i].stats);
		t->vcpu[i].rec = buffer_map(t->cap);
		if (!t->vcpu[i].rec) {
			err = -ENOMEM;
			goto fail;
		}
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vm->vcpus[i].trace = &t->vcpu[i];
	vm->trace = t;
	return 0;
fail:
	trace__release(t);
	return err;
}

void trace__release(struct trace *t)
{
	if (!t)
		return;
	for (unsigned i = 0; i < t->nr_vcpus; i++) {
		if (t->vcpu[i].rec)
			munmap(t->vcpu[i].rec, (size_t)t->cap * sizeof(struct trace_rec));
	}
	free(t);
}

uint64_t trace__dropped(const struct trace *t)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < t->nr_vcpus; i++) {
		for (unsigned k = 0; k < TRACE_KINDS; k++)
			n += t->vcpu[i].dropped[k];
	}
	return n;
}

/* The next free record, or NULL when the buffer is full (counted as dropped). */
static struct trace_rec *take(struct trace_vcpu *t, enum trace_kind kind, uint64_t t0, uint64_t t1)
{
	struct trace_rec *r;

	if (t->n == t->cap) {
		t->dropped[kind]++;
		if (!t->first_drop_ns)
			t->first_drop_ns = t0;
		return NULL;
	}
	r = &t->rec[t->n++];
	*r = (struct trace_rec){.t0 = t0, .t1 = t1, .kind = (uint16_t)kind};
	return r;
}

/* KVM's statistic k of this vCPU now (its last snapshot), or 0. */
static uint64_t kvm_now(const struct trace_vcpu *t, unsigned k)
{
	int i = t->kvm_index[k];

	return i >= 0 && t->stats->kvm_now ? t->stats->kvm_now[i] : 0;
}

/* Ends the current phase at `end`: its slice and KVM's counts at that point. */
static void end_phase(struct trace_vcpu *t, unsigned phase, uint64_t end)
{
	struct trace_rec *r = take(t, TRACE_PHASE, t->phase_start_ns, end);

	t->phase_start_ns = end;
	if (!r)
		return;
	r->what = phase;
	for (unsigned k = 0; k < TRACE_KVM_SAMPLES; k++) {
		uint64_t now = kvm_now(t, k);

		r->u.kvm[k] = now > t->kvm_base[k] ? now - t->kvm_base[k] : 0;
	}
}

void trace_vcpu__begin(struct trace_vcpu *t)
{
	t->ran = true;
	t->start_ns = t->phase_start_ns = t->stats->phase_start_ns;
	for (unsigned k = 0; k < TRACE_KVM_SAMPLES; k++)
		t->kvm_base[k] = kvm_now(t, k);
}

void trace_vcpu__end(struct trace_vcpu *t)
{
	/* vcpu_stats__end() has just taken the last snapshot, at phase_start_ns. */
	end_phase(t, t->stats->phase, t->stats->phase_start_ns);
}

/* Sums the library's counters of this vCPU into the deltas' terms. */
static void read_shadow(const struct trace_vcpu *t, uint64_t *sums)
{
	const struct trace *tr = t->trace;
	uint64_t v[TRACE_MMU_COUNTERS_MAX];

	mmu__read_counters(tr->mmu, (int)t->cpu, v);
	for (unsigned d = 0; d < TRACE_SHADOW_DELTAS; d++) {
		sums[d] = 0;
		for (unsigned k = 0; k < TRACE_DELTA_TERMS; k++) {
			if (tr->shadow_index[d][k] >= 0)
				sums[d] += v[tr->shadow_index[d][k]];
		}
	}
}

static bool is_shadow_call(uint32_t nr)
{
	return nr >= UMBRA_HC_AS_CREATE && nr <= UMBRA_HC_AS_SWITCH;
}

void trace_vcpu__hypercall_begin(struct trace_vcpu *t, uint32_t nr)
{
	t->snapped = t->trace->mmu && is_shadow_call(nr);
	if (t->snapped)
		read_shadow(t, t->shadow_before);
}

void trace_vcpu__hypercall_end(struct trace_vcpu *t, uint32_t nr, uint64_t t0, uint64_t t1,
			       int64_t ret)
{
	struct trace_rec *r = take(t, TRACE_HYPERCALL, t0, t1);

	if (r) {
		r->what = nr;
		r->value = ret;
	}
	if (r && t->snapped) {
		uint64_t after[TRACE_SHADOW_DELTAS];

		read_shadow(t, after);
		for (unsigned d = 0; d < TRACE_SHADOW_DELTAS; d++) {
			uint64_t delta = after[d] - t->shadow_before[d];

			r->u.hc.delta[d] = delta > UINT32_MAX ? UINT32_MAX : (uint32_t)delta;
		}
		read_pool(t->trace, &r->u.hc.pool_pages, &r->u.hc.address_spaces);
		r->flags |= TRACE_F_SHADOW;
	}
	/* The marker belongs to the phase it ends, so the phase ends with it. */
	if (nr == UMBRA_HC_PHASE && ret >= 0)
		end_phase(t, (unsigned)ret, t1);
}

void trace_vcpu__flush(struct trace_vcpu *t, enum trace_kind kind, uint64_t t0, unsigned n)
{
	struct trace_rec *r = take(t, kind, t0, stats__now_ns());

	if (r)
		r->what = n;
}

void trace_vcpu__exit(struct trace_vcpu *t, uint32_t reason, const struct kvm_run *run)
{
	uint64_t now;
	struct trace_rec *r;

	if (reason == KVM_EXIT_IO && exits__is_hypercall(run))
		return;
	now = stats__now_ns();
	r = take(t, TRACE_EXIT, now, now);
	if (!r)
		return;
	r->what = reason;
	if (reason == KVM_EXIT_IO) {
		r->value = run->io.port;
		r->flags = run->io.direction == KVM_EXIT_IO_OUT ? TRACE_F_WRITE : 0;
	} else if (reason == KVM_EXIT_MMIO) {
		r->value = (int64_t)run->mmio.phys_addr;
		r->flags = run->mmio.is_write ? TRACE_F_WRITE : 0;
	}
}
