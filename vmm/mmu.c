/*
 * The shadow MMU in the VMM.
 *
 * Flushes (docs/architecture.md, "Flushes"): after every shadow call the
 * vCPU takes what its calls changed that a vCPU may have cached
 * (shadow_flush_take) and, before it re-enters the guest, acts on it by
 * the flush mode:
 *   tlb   (TDP KVM) the vCPU resumes through the flush stub, which
 *         invalidates the narrowed leaves' pages or reloads CR3, and loads
 *         the root of an address space it switches to;
 *   copy  (shadow-paging KVM) the library has copied the changed upper
 *         pages to fresh ones: the vCPU loads the moved root; a narrowed
 *         leaf's old frame is dropped from KVM's cache (MADV_DONTNEED);
 *   drop  any change drops everything KVM cached (a dummy memslot);
 *   off   nothing.
 * The whole-VM drop also stays the fallback: when the stub cannot run (a
 * call from CPL 3), when a call narrowed more leaves than a record holds,
 * and when the pool needs the pages that wait in limbo for it.
 */
#include <config.h>

#include "mmu.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <umbra/abi.h>

#include "shadow/shadow.h"
#include "stub.h"
#include "vcpu.h"
#include "vm.h"

/* The vCPU whose thread this is, for the library's flush callback. */
static _Thread_local struct vcpu *current_vcpu;

/* The fields of struct shadow_stats: events, then gauges. */
/* clang-format off */
#define SHADOW_COUNTERS(X) \
	X(share_exclusive) X(share_shared) X(share_identity) X(unshare_copy) X(unshare_exclusive) \
	X(unshare_copy_last) X(unshare_follow) X(relink_widened) X(pmd_freed) X(pmd_copied) X(fill_private) \
	X(fill_shared) X(fill_raced) X(fault_guest) X(fault_spurious) X(updates) X(forks_share) \
	X(forks_copy) X(forks_lazy) X(shadow_entries_written) X(guest_entries_written) \
	X(pages_allocated) X(pages_freed) X(path_copies) X(flushes) X(alloc_failures) \
	X(ownership_refusals)
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

/* The whole-VM flush on v's dummy slot, and counts it; the limbo pages
 * freed before it began are free again. 0 or -errno. */
static int flush_vm(struct mmu *m, struct vcpu *v)
{
	struct phase_counters *pc = vcpu_stats__cur(&v->stats);
	struct shadow_flush_ticket ticket = shadow_flush_begin(m->sh);
	uint64_t t0 = stats__now_ns();
	int err = flush_slot__flush(&v->flush);

	pc->flush_ns += stats__now_ns() - t0;
	trace__flush(v->trace, TRACE_FLUSH_VM, t0, 1);
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
	trace__flush(v->trace, TRACE_FLUSH_FRAMES, t0, n);
	return err;
}

/* shadow_config.flush: an allocation needs limbo pages back now. */
static int flush_callback(void *arg)
{
	if (!current_vcpu)
		return -ESRCH; /* not called from a vCPU thread: nothing to flush with */
	return flush_vm(arg, current_vcpu);
}

static enum shadow_flush_mode library_mode(enum flush_mode mode)
{
	switch (mode) {
	case FLUSH_TLB:
		return SHADOW_FLUSH_TLB;
	case FLUSH_COPY:
		return SHADOW_FLUSH_COPY;
	case FLUSH_AUTO:
	case FLUSH_DROP:
	case FLUSH_OFF:
		break;
	}
	return SHADOW_FLUSH_GLOBAL;
}

int mmu__init(struct vm *vm, struct mmu **out)
{
	static const int policies[] = {
		[PAGING_SHARE] = SHADOW_SHARE,
		[PAGING_COPY] = SHADOW_COPY,
		[PAGING_LAZY] = SHADOW_LAZY,
	};
	uint64_t above = (vm->mem.size + SZ_2M - 1) & ~(SZ_2M - 1);
	struct mmu *m;
	int err;

	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->vm = vm;
	m->policy = policies[vm->cfg->paging];
	m->flush = vm->flush;
	err = stub__init(&m->stub, vm->nr_vcpus, above + VM_STUB_CODE_OFFSET,
			 above + VM_STUB_DATA_OFFSET);
	if (err < 0) {
		free(m);
		return err;
	}
	/* without a VM (the hypercall fuzzer's), the stub's pages are only
	 * memory: nothing runs them */
	err = vm->kvm.vm_fd >= 0 ? stub__map(&m->stub, &vm->kvm, SLOT_STUB_CODE, SLOT_STUB_DATA)
				 : 0;
	if (err < 0) {
		stub__release(&m->stub);
		free(m);
		return err;
	}
	struct shadow_config cfg = {
		.mem = vm->mem.host,
		.mem_gpa = 0,
		.mem_size = vm->mem.size,
		.pool_gpa = vm->mem.pool_gpa,
		.pool_size = vm->mem.pool_size,
		.kernel_slot = UMBRA_KERNEL_PML4_SLOT,
		.fixed_slot = STUB_PML4_SLOT,
		.fixed_entry = m->stub.pml4e,
		.max_as = MMU_MAX_ADDRESS_SPACES,
		.max_cpus = vm->nr_vcpus,
		.poison = vm->cfg->check,
		.flush_mode = library_mode(m->flush),
		/* KVM keeps what it cached of a freed page until a whole-VM flush,
		 * unless the CPU walks our tables itself */
		.defer_free = m->flush == FLUSH_COPY || m->flush == FLUSH_DROP,
		.flush = flush_callback,
		.flush_arg = m,
	};
	err = shadow_create(&cfg, &m->sh);
	if (err < 0) {
		stub__release(&m->stub);
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
	stub__release(&m->stub);
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
 * here (level, flags) ends the batch like one the library refuses.
 */
static int64_t as_update(struct mmu *m, struct vcpu *v, uint64_t handle, uint64_t gpa,
			 uint64_t count)
{
	static _Thread_local struct shadow_update updates[UMBRA_UPDATE_MAX];
	const struct umbra_pt_update *src;
	size_t n = 0;
	int first_error = 0, applied;

	_Static_assert(UMBRA_UPDATE_MAX <= SHADOW_UPDATE_MAX, "a batch fits the library");
	_Static_assert(UMBRA_PT_WP_BELOW == SHADOW_UPDATE_WP_BELOW, "the same flag");
	if (!is_handle(handle))
		return -UMBRA_EBADF;
	if (count > UMBRA_UPDATE_MAX)
		return -UMBRA_E2BIG;
	if (count == 0)
		return 0; /* docs/abi.md: nothing to apply, whatever the handle */
	src = guest_mem__translate(&v->vm->mem, gpa, count * sizeof(*src));
	if (!src)
		return -UMBRA_EFAULT;
	for (; n < count; n++) {
		struct umbra_pt_update u;

		memcpy(&u, &src[n], sizeof(u));
		if (u.level < 1 || u.level > 4 || (u.flags & ~UMBRA_PT_WP_BELOW))
			break;
		updates[n] = (struct shadow_update){
			.va = u.va, .value = u.value, .level = u.level, .flags = u.flags};
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

static int64_t as_switch(struct mmu *m, struct vcpu *v, uint64_t handle, uint64_t *root)
{
	if (!is_handle(handle))
		return -UMBRA_EBADF;
	return shadow_switch(m->sh, v->id, (uint32_t)handle, root);
}

/* Loads root into v's CR3 through KVM (the vCPU's next entry). */
static void load_root(struct vcpu *v, uint64_t root)
{
	vcpu__sregs(v)->cr3 = root;
	vcpu__sregs_dirty(v);
}

/* The flush stub runs when v re-enters the guest; its set-up is what the
 * trace shows (pages: the ones it invalidates, 0 for all of them). */
static int run_stub(struct mmu *m, struct vcpu *v, const struct stub_job *job)
{
	struct phase_counters *pc = vcpu_stats__cur(&v->stats);
	unsigned pages = job->new_cr3 || job->reload ? 0 : job->n;
	uint64_t t0 = stats__now_ns();
	int err = stub__run(&m->stub, v, job);

	trace__flush(v->trace, TRACE_FLUSH_TLB, t0, pages);
	pc->tlb_flushes++;
	pc->tlb_pages += pages;
	return err;
}

/* The stub is mapped in shadow roots only: a call made on the guest's own
 * boot tables (its first AS_SWITCH) cannot return through it. */
static bool on_shadow_root(struct vcpu *v)
{
	const struct guest_mem *mem = &v->vm->mem;
	uint64_t cr3 = vcpu__sregs(v)->cr3 & ~0xfffull;

	return cr3 >= mem->pool_gpa && cr3 - mem->pool_gpa < mem->pool_size;
}

/*
 * Before v re-enters the guest: what its call changed (f), and the root of
 * the address space it switched to (0: none), reach it by the flush mode.
 */
static int flush_after(struct mmu *m, struct vcpu *v, const struct shadow_flush *f,
		       uint64_t switch_root)
{
	struct phase_counters *pc = vcpu_stats__cur(&v->stats);
	struct stub_job job = {.new_cr3 = switch_root, .reload = f->all, .n = f->n, .va = f->va};

	switch (m->flush) {
	case FLUSH_TLB:
		if (!switch_root && !f->all && !f->n)
			return 0;
		if (!stub__can_run(v) || !on_shadow_root(v)) {
			if (switch_root)
				load_root(v, switch_root);
			return f->all || f->n ? flush_vm(m, v) : 0;
		}
		return run_stub(m, v, &job);
	case FLUSH_COPY:
		if (switch_root) {
			load_root(v, switch_root);
		} else if (f->root_moved) {
			load_root(v, f->root_gpa);
			pc->root_moves++;
		}
		if (f->all)
			return flush_vm(m, v);
		return f->n ? flush_frames(v, f->frame, f->n) : 0;
	case FLUSH_DROP:
		if (switch_root)
			load_root(v, switch_root);
		return f->all ? flush_vm(m, v) : 0;
	case FLUSH_AUTO:
	case FLUSH_OFF:
		break;
	}
	if (switch_root)
		load_root(v, switch_root);
	return 0;
}

int64_t mmu__hypercall(struct vcpu *v, uint32_t nr)
{
	struct mmu *m = v->vm->mmu;
	const struct kvm_regs *r = vcpu__regs(v);
	struct shadow_flush f;
	uint64_t root = 0;
	int64_t ret;
	int err;

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
		ret = as_switch(m, v, r->rdi, &root);
		break;
	default:
		ret = -UMBRA_ENOSYS;
		break;
	}
	if (ret == -EUCLEAN || shadow_broken(m->sh)) {
		vm__stop(v->vm, (int)v->id, STOP_VMM_ERROR, 0, "vCPU %u: the shadow is corrupt: %s",
			 v->id, shadow_broken(m->sh));
		return ret;
	}
	/* The rule: no re-entry with a stale translation cached. */
	shadow_flush_take(m->sh, v->id, &f);
	err = flush_after(m, v, &f, ret == 0 ? root : 0);
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
