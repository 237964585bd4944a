/*
 * Hypercall dispatch and the calls that do not involve the shadow MMU.
 */
#include <config.h>

#include "hypercall.h"

#include <stdbool.h>
#include <string.h>

#include <umbra/abi.h>

#include "console.h"
#include "mmu.h"
#include "page_ops.h"
#include "park.h"
#include "vcpu.h"
#include "vm.h"

static const char *const hc_names[UMBRA_HC_COUNT] = {
	[UMBRA_HC_VERSION] = "version",
	[UMBRA_HC_CONSOLE] = "console",
	[UMBRA_HC_EXIT] = "exit",
	[UMBRA_HC_PANIC] = "panic",
	[UMBRA_HC_PHASE] = "phase",
	[UMBRA_HC_CPU_START] = "cpu_start",
	[UMBRA_HC_IDLE] = "idle",
	[UMBRA_HC_KICK] = "kick",
	[UMBRA_HC_CLOCK] = "clock",
	[UMBRA_HC_PAGE_CLEAR] = "page_clear",
	[UMBRA_HC_PAGE_COPY] = "page_copy",
	[UMBRA_HC_AS_CREATE] = "as_create",
	[UMBRA_HC_AS_DESTROY] = "as_destroy",
	[UMBRA_HC_AS_FORK] = "as_fork",
	[UMBRA_HC_AS_FAULT] = "as_fault",
	[UMBRA_HC_AS_UPDATE] = "as_update",
	[UMBRA_HC_AS_SWITCH] = "as_switch",
};

const char *hypercall__name(uint32_t nr)
{
	return nr < UMBRA_HC_COUNT ? hc_names[nr] : NULL;
}

static bool is_canonical(uint64_t va)
{
	return (uint64_t)((int64_t)(va << 16) >> 16) == va;
}

static int64_t hc_console(struct vcpu *v, uint64_t gpa, uint64_t len)
{
	const void *p;

	if (len > UMBRA_CONSOLE_MAX)
		return -UMBRA_E2BIG;
	p = guest_mem__translate(&v->vm->mem, gpa, len);
	if (!p)
		return -UMBRA_EFAULT;
	console__write(p, len);
	return (int64_t)len;
}

/* The guest's panic message, made printable, or an error if it cannot be read. */
static int64_t hc_panic(struct vcpu *v, uint64_t gpa, uint64_t len)
{
	char msg[256];
	const char *p = NULL;
	size_t n = 0;

	if (len <= UMBRA_CONSOLE_MAX)
		p = guest_mem__translate(&v->vm->mem, gpa, len);
	if (p) {
		n = len < sizeof(msg) - 1 ? len : sizeof(msg) - 1;
		for (size_t i = 0; i < n; i++)
			msg[i] = p[i] >= 0x20 && p[i] < 0x7f ? p[i] : ' ';
	}
	msg[n] = '\0';
	if (!p) {
		vm__stop(v->vm, (int)v->id, STOP_PANIC, 0,
			 "guest panic on vCPU %u (message unreadable: gpa %#llx, %llu bytes)",
			 v->id, (unsigned long long)gpa, (unsigned long long)len);
		return -UMBRA_EFAULT;
	}
	vm__stop(v->vm, (int)v->id, STOP_PANIC, 0, "guest panic on vCPU %u: %s", v->id, msg);
	return 0;
}

/* --check at a phase marker: the invariants, with the other vCPUs paused. */
static void check_invariants(struct vcpu *v, unsigned phase)
{
	char why[256];
	int err;

	park__pause_others(v);
	err = mmu__check(v->vm->mmu, why, sizeof(why));
	park__resume_others(v);
	if (err < 0)
		vm__stop(v->vm, (int)v->id, STOP_VMM_ERROR, 0,
			 "shadow invariant broken at vCPU %u's marker of phase %u: %s", v->id,
			 phase, why);
}

static int64_t hc_phase(struct vcpu *v, uint64_t phase)
{
	unsigned prev = v->stats.phase;

	if (phase >= UMBRA_PHASE_COUNT)
		return -UMBRA_EINVAL;
	vcpu_stats__set_phase(&v->stats, (unsigned)phase);
	vm_stats__charge(&v->vm->stats, prev);
	if (v->vm->mmu && v->vm->cfg->check)
		check_invariants(v, (unsigned)phase);
	return prev;
}

static int64_t hc_cpu_start(struct vcpu *v, const struct kvm_regs *r)
{
	struct vcpu_start start = {
		.rip = r->rsi,
		.rsp = r->rdx,
		.cr3 = r->rcx,
		.arg = r->r8,
		/* The new vCPU starts with the caller's descriptor tables. */
		.gdt = vcpu__sregs(v)->gdt,
		.idt = vcpu__sregs(v)->idt,
	};

	if (r->rdi >= v->vm->nr_vcpus)
		return -UMBRA_ESRCH;
	if (!is_canonical(start.rip) || !is_canonical(start.rsp) || start.cr3 % 4096 != 0)
		return -UMBRA_EINVAL;
	if (!guest_mem__translate(&v->vm->mem, start.cr3, 4096))
		return -UMBRA_EFAULT;
	return park__start(v->vm, (unsigned)r->rdi, &start);
}

static int64_t hc_kick(struct vcpu *v, uint64_t cpu)
{
	if (cpu >= v->vm->nr_vcpus)
		return -UMBRA_ESRCH;
	return park__kick(v->vm, (unsigned)cpu);
}

int64_t hypercall__dispatch(struct vcpu *v, uint32_t nr)
{
	struct kvm_regs *r = vcpu__regs(v);
	struct phase_counters *pc = vcpu_stats__cur(&v->stats);
	unsigned slot = nr < UMBRA_HC_COUNT && hc_names[nr] ? nr : HC_SLOT_UNKNOWN;
	uint64_t start_ns, end_ns, call_ns, flush_ns = phase_counters__flush_ns(pc);
	int64_t ret;

	trace__hypercall_begin(v->trace, nr);
	start_ns = stats__now_ns();
	/* Charged to the phase the call was made in (PHASE moves to another). */
	pc->hc_calls[slot]++;
	switch (nr) {
	case UMBRA_HC_VERSION:
		ret = UMBRA_ABI_VERSION;
		break;
	case UMBRA_HC_CONSOLE:
		ret = hc_console(v, r->rdi, r->rsi);
		break;
	case UMBRA_HC_EXIT:
		vm__stop(v->vm, (int)v->id, STOP_EXIT, r->rdi, "guest exited with status %llu",
			 (unsigned long long)r->rdi);
		ret = 0;
		break;
	case UMBRA_HC_PANIC:
		ret = hc_panic(v, r->rdi, r->rsi);
		break;
	case UMBRA_HC_PHASE:
		ret = hc_phase(v, r->rdi);
		break;
	case UMBRA_HC_CPU_START:
		ret = hc_cpu_start(v, r);
		break;
	case UMBRA_HC_IDLE:
		park__idle(v, r->rdi);
		ret = 0;
		break;
	case UMBRA_HC_KICK:
		ret = hc_kick(v, r->rdi);
		break;
	case UMBRA_HC_CLOCK:
		ret = (int64_t)(stats__now_ns() - v->vm->start_ns);
		break;
	case UMBRA_HC_PAGE_CLEAR:
		ret = page_ops__clear(&v->vm->mem, r->rdi);
		break;
	case UMBRA_HC_PAGE_COPY:
		ret = page_ops__copy(&v->vm->mem, r->rdi, r->rsi);
		break;
	case UMBRA_HC_AS_CREATE:
	case UMBRA_HC_AS_DESTROY:
	case UMBRA_HC_AS_FORK:
	case UMBRA_HC_AS_FAULT:
	case UMBRA_HC_AS_UPDATE:
	case UMBRA_HC_AS_SWITCH:
		/* Native paging: the guest's own tables, no shadow MMU. */
		ret = v->vm->mmu ? mmu__hypercall(v, nr) : -UMBRA_EOPNOTSUPP;
		break;
	default:
		ret = -UMBRA_ENOSYS;
		break;
	}
	if (ret < 0)
		pc->hc_errors[slot]++;
	/* pc, not the current phase: UMBRA_HC_PHASE charges the phase it ends;
	 * the flush an AS call may end with is the flushes' time, not the call's */
	end_ns = stats__now_ns();
	call_ns = end_ns - start_ns - (phase_counters__flush_ns(pc) - flush_ns);
	pc->hc_ns[slot] += call_ns;
	if (call_ns > pc->hc_max_ns[slot])
		pc->hc_max_ns[slot] = call_ns;
	trace__hypercall_end(v->trace, nr, start_ns, end_ns, ret);
	r->rax = (uint64_t)ret;
	vcpu__regs_dirty(v);
	return ret;
}
