/*
 * The shadow MMU in the VMM.
 *
 * TLBs and freed pages (docs/architecture.md): this KVM caches the shadow
 * tables our vCPUs walk, so after a library call that removed, re-pointed
 * or narrowed an entry, and after a switch to an address space another
 * vCPU changed but has not flushed yet, the vCPU flushes before it enters
 * the guest again: shadow_flush_begin(), the dummy-memslot flush of its
 * own thread, shadow_flush_done(). The library keeps freed pages in limbo
 * until a flush that began after the free has completed (defer_free), and
 * calls flush_callback() when it needs them sooner.
 */
#include <config.h>

#include "mmu.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <umbra/abi.h>

#include "shadow/shadow.h"
#include "vcpu.h"
#include "vm.h"

/* The vCPU whose thread this is, for the library's flush callback. */
static _Thread_local struct vcpu *current_vcpu;

/* The fields of struct shadow_stats: events, then gauges. */
/* clang-format off */
#define SHADOW_COUNTERS(X) \
	X(share_exclusive) X(share_shared) X(unshare_copy) X(unshare_exclusive) \
	X(unshare_copy_last) X(pmd_freed) X(pmd_copied) X(fill_private) X(fill_shared) X(fill_raced) \
	X(fault_guest) X(fault_spurious) X(updates) X(forks_share) X(forks_copy) \
	X(forks_lazy) X(shadow_entries_written) X(guest_entries_written) \
	X(pages_allocated) X(pages_freed) X(flushes) X(alloc_failures)
#define SHADOW_GAUGES(X) X(pages_now) X(pages_peak) X(address_spaces_now)
#define NAME(field) #field,
#define OFFSET(field) offsetof(struct shadow_stats, field),
#define CUMULATIVE(field) COUNTER_CUMULATIVE,
/* clang-format on */

static const char *const counter_names[] = {SHADOW_COUNTERS(NAME)};
static const size_t counter_offsets[] = {SHADOW_COUNTERS(OFFSET)};
static const enum counter_kind counter_kinds[] = {SHADOW_COUNTERS(CUMULATIVE)};
static const char *const gauge_names[] = {SHADOW_GAUGES(NAME)};
static const size_t gauge_offsets[] = {SHADOW_GAUGES(OFFSET)};
static const enum counter_kind gauge_kinds[] = {COUNTER_INSTANT, COUNTER_PEAK, COUNTER_INSTANT};

#define NR_COUNTERS (sizeof(counter_names) / sizeof(counter_names[0]))
#define NR_GAUGES (sizeof(gauge_names) / sizeof(gauge_names[0]))
_Static_assert((NR_COUNTERS + NR_GAUGES) * sizeof(uint64_t) == sizeof(struct shadow_stats),
	       "every shadow_stats field is reported");
_Static_assert(sizeof(gauge_kinds) / sizeof(gauge_kinds[0]) == NR_GAUGES, "a kind per gauge");

const struct counter_group mmu_counters = {
	.n = NR_COUNTERS,
	.names = counter_names,
	.kinds = counter_kinds,
};
const struct counter_group mmu_gauges = {
	.n = NR_GAUGES,
	.names = gauge_names,
	.kinds = gauge_kinds,
};

static void copy_fields(const struct shadow_stats *s, const size_t *offsets, size_t n,
			uint64_t *values)
{
	for (size_t i = 0; i < n; i++)
		memcpy(&values[i], (const char *)s + offsets[i], sizeof(uint64_t));
}

void mmu__read_counters(void *mmu, int cpu, uint64_t *values)
{
	struct mmu *m = mmu;
	struct shadow_stats s;

	if (cpu < 0 || shadow_stats_read_cpu(m->sh, (unsigned)cpu, &s) < 0)
		shadow_stats_read(m->sh, &s);
	copy_fields(&s, counter_offsets, NR_COUNTERS, values);
}

void mmu__read_gauges(void *mmu, int cpu, uint64_t *values)
{
	struct mmu *m = mmu;
	struct shadow_stats s;

	(void)cpu; /* the library keeps them for the VM only */
	shadow_stats_read(m->sh, &s);
	copy_fields(&s, gauge_offsets, NR_GAUGES, values);
}

/* Flushes on v's dummy slot for the library, and counts it. 0 or -errno. */
static int flush(struct mmu *m, struct vcpu *v)
{
	struct phase_counters *pc = vcpu_stats__cur(&v->stats);
	struct shadow_flush_ticket ticket = shadow_flush_begin(m->sh);
	uint64_t t0 = stats__now_ns();
	int err = flush_slot__flush(&v->flush);

	pc->flush_ns += stats__now_ns() - t0;
	if (err < 0)
		return err; /* the limbo pages stay in limbo */
	shadow_flush_done(m->sh, ticket);
	pc->flushes++;
	return 0;
}

/* Drops what KVM cached for each frame the library listed for v. */
static int flush_frames(struct vcpu *v, const uint64_t *frames, unsigned n)
{
	struct phase_counters *pc = vcpu_stats__cur(&v->stats);
	uint64_t t0 = stats__now_ns();
	int err = 0;

	for (unsigned i = 0; i < n && !err; i++)
		err = guest_mem__drop_cached(&v->vm->mem, frames[i]);
	pc->frame_flush_ns += stats__now_ns() - t0;
	pc->frame_flushes += n;
	return err;
}

/* shadow_config.flush: an allocation needs limbo pages back now. */
static int flush_callback(void *arg)
{
	if (!current_vcpu)
		return -ESRCH; /* not called from a vCPU thread: nothing to flush with */
	return flush(arg, current_vcpu);
}

int mmu__init(struct vm *vm, struct mmu **out)
{
	static const int policies[] = {
		[PAGING_SHARE] = SHADOW_SHARE,
		[PAGING_COPY] = SHADOW_COPY,
		[PAGING_LAZY] = SHADOW_LAZY,
	};
	struct mmu *m;
	int err;

	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->vm = vm;
	m->policy = policies[vm->cfg->paging];
	struct shadow_config cfg = {
		.mem = vm->mem.host,
		.mem_gpa = 0,
		.mem_size = vm->mem.size,
		.pool_gpa = vm->mem.pool_gpa,
		.pool_size = vm->mem.pool_size,
		.kernel_slot = UMBRA_KERNEL_PML4_SLOT,
		.max_as = MMU_MAX_ADDRESS_SPACES,
		.max_cpus = vm->nr_vcpus,
		.poison = vm->cfg->check,
		.defer_free = true,
		.flush = flush_callback,
		.flush_arg = m,
		.frame_flush = true,
	};
	err = shadow_create(&cfg, &m->sh);
	if (err < 0) {
		free(m);
		return err;
	}
	*out = m;
	return 0;
}

void mmu__release(struct mmu *m)
{
	if (!m)
		return;
	shadow_destroy(m->sh);
	free(m);
}

/* A guest table root: page-aligned and inside guest RAM. */
static int check_root(struct vcpu *v, uint64_t root)
{
	if (root % 4096 != 0)
		return -UMBRA_EINVAL;
	if (!guest_mem__translate(&v->vm->mem, root, 4096))
		return -UMBRA_EFAULT;
	return 0;
}

static bool is_handle(uint64_t h)
{
	return h <= UINT32_MAX;
}

static int64_t as_create(struct mmu *m, struct vcpu *v, uint64_t root)
{
	uint32_t handle;
	int err = check_root(v, root);

	if (err == 0)
		err = shadow_as_create(m->sh, v->id, root, &handle);
	if (err < 0)
		return err;
	return handle;
}

static int64_t as_fork(struct mmu *m, struct vcpu *v, uint64_t parent, uint64_t child_root)
{
	uint32_t child;
	int err = check_root(v, child_root);

	if (err < 0)
		return err;
	if (!is_handle(parent))
		return -UMBRA_EBADF;
	err = shadow_as_fork(m->sh, v->id, (uint32_t)parent, child_root, m->policy, &child);
	if (err < 0)
		return err;
	return child;
}

static int64_t as_fault(struct mmu *m, struct vcpu *v, uint64_t handle, uint64_t va,
			uint64_t error_code)
{
	const uint64_t known =
		UMBRA_PF_PRESENT | UMBRA_PF_WRITE | UMBRA_PF_USER | UMBRA_PF_RSVD | UMBRA_PF_FETCH;
	int r;

	if (!is_handle(handle))
		return -UMBRA_EBADF;
	if (error_code & ~known)
		return -UMBRA_EINVAL;
	/* abi.h's #PF bits and the library's access bits are the x86 ones. */
	r = shadow_fault(m->sh, v->id, (uint32_t)handle, va,
			 (unsigned)error_code &
				 (SHADOW_ACCESS_WRITE | SHADOW_ACCESS_USER | SHADOW_ACCESS_FETCH));
	switch (r) {
	case SHADOW_FAULT_FILLED:
		return UMBRA_FAULT_FIXED;
	case SHADOW_FAULT_GUEST:
		return UMBRA_FAULT_GUEST;
	case SHADOW_FAULT_SPURIOUS:
		return UMBRA_FAULT_SPURIOUS;
	default:
		return r < 0 ? r : -UMBRA_EINVAL;
	}
}

/*
 * Applies the guest's umbra_pt_update array, copied out of guest memory
 * once (the guest may change it meanwhile). An entry that is malformed
 * here (level, reserved) ends the batch like one the library refuses.
 */
static int64_t as_update(struct mmu *m, struct vcpu *v, uint64_t handle, uint64_t gpa,
			 uint64_t count)
{
	static _Thread_local struct shadow_update updates[UMBRA_UPDATE_MAX];
	const struct umbra_pt_update *src;
	size_t n = 0;
	int first_error = 0, applied;

	_Static_assert(UMBRA_UPDATE_MAX <= SHADOW_UPDATE_MAX, "a batch fits the library");
	if (!is_handle(handle))
		return -UMBRA_EBADF;
	if (count > UMBRA_UPDATE_MAX)
		return -UMBRA_E2BIG;
	src = guest_mem__translate(&v->vm->mem, gpa, count * sizeof(*src));
	if (!src)
		return -UMBRA_EFAULT;
	for (; n < count; n++) {
		struct umbra_pt_update u;

		memcpy(&u, &src[n], sizeof(u));
		if (u.level < 1 || u.level > 4 || u.reserved != 0)
			break;
		updates[n] = (struct shadow_update){.va = u.va, .value = u.value, .level = u.level};
	}
	applied = shadow_update(m->sh, v->id, (uint32_t)handle, updates, n, &first_error);
	if (applied < 0)
		return applied;
	if ((uint64_t)applied < count) {
		/* The library's error, or ours for the malformed entry at n. */
		vcpu__regs(v)->rdx =
			(uint64_t)(int64_t)((size_t)applied < n ? first_error : -UMBRA_EINVAL);
	}
	return applied;
}

static int64_t as_switch(struct mmu *m, struct vcpu *v, uint64_t handle)
{
	uint64_t root;
	int err;

	if (!is_handle(handle))
		return -UMBRA_EBADF;
	err = shadow_switch(m->sh, v->id, (uint32_t)handle, &root);
	if (err < 0)
		return err;
	vcpu__sregs(v)->cr3 = root;
	vcpu__sregs_dirty(v);
	return 0;
}

int64_t mmu__hypercall(struct vcpu *v, uint32_t nr)
{
	struct mmu *m = v->vm->mmu;
	const struct kvm_regs *r = vcpu__regs(v);
	uint64_t gen = shadow_flush_generation(m->sh);
	uint64_t frames[SHADOW_FRAME_FLUSH_MAX];
	unsigned nframes;
	int64_t ret;
	int err = 0;

	current_vcpu = v;
	switch (nr) {
	case UMBRA_HC_AS_CREATE:
		ret = as_create(m, v, r->rdi);
		break;
	case UMBRA_HC_AS_DESTROY:
		ret = is_handle(r->rdi) ? shadow_as_destroy(m->sh, v->id, (uint32_t)r->rdi)
					: -UMBRA_EBADF;
		break;
	case UMBRA_HC_AS_FORK:
		ret = as_fork(m, v, r->rdi, r->rsi);
		break;
	case UMBRA_HC_AS_FAULT:
		ret = as_fault(m, v, r->rdi, r->rsi, r->rdx);
		break;
	case UMBRA_HC_AS_UPDATE:
		ret = as_update(m, v, r->rdi, r->rsi, r->rdx);
		break;
	case UMBRA_HC_AS_SWITCH:
		ret = as_switch(m, v, r->rdi);
		break;
	default:
		ret = -UMBRA_ENOSYS;
		break;
	}
	/*
	 * The rule: no re-entry with a stale translation cached. This call's
	 * own changes moved the generation (a change made meanwhile by another
	 * vCPU may make us flush for nothing: harmless); a SWITCH may load an
	 * address space whose change another vCPU has not flushed yet. Any
	 * other pending change concerns the address space loaded on the vCPU
	 * that made it, which flushes before it runs again. Leaves narrowed in
	 * the address space loaded here come as frames, flushed one by one
	 * unless a full flush covers them anyway.
	 */
	nframes = shadow_flush_frames(m->sh, v->id, frames);
	if (shadow_flush_generation(m->sh) != gen ||
	    (nr == UMBRA_HC_AS_SWITCH && ret == 0 &&
	     shadow_as_flush_needed(m->sh, (uint32_t)r->rdi)))
		err = flush(m, v);
	else if (nframes)
		err = flush_frames(v, frames, nframes);
	if (err < 0)
		vm__stop(v->vm, (int)v->id, STOP_VMM_ERROR, 0, "vCPU %u: the flush failed: %s",
			 v->id, strerror(-err));
	return ret;
}

int mmu__check(struct mmu *m, char *why, size_t why_len)
{
	return shadow_check(m->sh, true, why, why_len);
}

bool mmu__pool_full_at_end(struct mmu *m)
{
	for (unsigned i = 0; i < m->vm->nr_vcpus; i++)
		shadow_unload(m->sh, i);
	return shadow_pool_full(m->sh);
}
