/*
 * The exits that reach user space: port I/O (hypercalls and the 16550),
 * MMIO, and the fatal ones, which print what KVM says.
 */
#include <config.h>

#include "exits.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <umbra/abi.h>

#include "console.h"
#include "diag.h"
#include "hypercall.h"
#include "kvm.h"
#include "vcpu.h"
#include "vm.h"

#define COM1_LSR_THR_EMPTY 0x60 /* transmitter holding register and shift register empty */

struct exit_record *exit_log__add(struct exit_log *l, uint32_t reason, const struct kvm_run *run)
{
	struct exit_record *r = &l->rec[l->count++ % EXIT_LOG_SIZE];

	*r = (struct exit_record){
		.reason = reason,
		.rip = run->s.regs.regs.rip,
		.hypercall = -1,
	};
	if (reason == KVM_EXIT_IO) {
		r->addr = run->io.port;
		r->size = run->io.size;
		r->write = run->io.direction == KVM_EXIT_IO_OUT;
	} else if (reason == KVM_EXIT_MMIO) {
		r->addr = run->mmio.phys_addr;
		r->size = run->mmio.len;
		r->write = run->mmio.is_write;
	}
	return r;
}

static struct exit_record *exit_log__last(struct exit_log *l)
{
	return &l->rec[(l->count - 1) % EXIT_LOG_SIZE];
}

void exit_log__print(const struct exit_log *l, FILE *f)
{
	uint64_t n = l->count < EXIT_LOG_SIZE ? l->count : EXIT_LOG_SIZE;

	fprintf(f, "last %" PRIu64 " of %" PRIu64 " exits, oldest first:\n", n, l->count);
	for (uint64_t i = l->count - n; i < l->count; i++) {
		const struct exit_record *r = &l->rec[i % EXIT_LOG_SIZE];
		const char *name = kvm__exit_name(r->reason);

		fprintf(f, "  %-14s rip 0x%016" PRIx64, name ? name : "?", r->rip);
		if (r->reason == KVM_EXIT_IO)
			fprintf(f, "  %s port %#" PRIx64 " size %u", r->write ? "out" : "in",
				r->addr, r->size);
		else if (r->reason == KVM_EXIT_MMIO)
			fprintf(f, "  %s gpa %#" PRIx64 " size %u", r->write ? "write" : "read",
				r->addr, r->size);
		if (r->hypercall >= 0)
			fprintf(f, "  hypercall %d -> %" PRId64, r->hypercall, r->result);
		fputc('\n', f);
	}
}

bool exits__is_hypercall(const struct kvm_run *run)
{
	return run->io.port == UMBRA_HC_PORT && run->io.direction == KVM_EXIT_IO_OUT &&
	       run->io.size == 4 && run->io.count == 1;
}

void exits__io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	struct phase_counters *pc = vcpu_stats__cur(&v->stats);
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool out = run->io.direction == KVM_EXIT_IO_OUT;
	uint32_t bytes = (uint32_t)run->io.size * run->io.count;

	if (exits__is_hypercall(run)) {
		struct exit_record *rec = exit_log__last(&v->log);
		uint32_t nr;

		pc->io[IO_HYPERCALL]++;
		memcpy(&nr, data, sizeof(nr));
		rec->hypercall = (int)(nr < HC_SLOT_UNKNOWN ? nr : HC_SLOT_UNKNOWN);
		rec->result = hypercall__dispatch(v, nr);
		return;
	}
	if (run->io.port == UMBRA_COM1_PORT && out && run->io.size == 1) {
		pc->io[IO_COM1_DATA]++;
		console__write(data, bytes);
		return;
	}
	if (run->io.port == UMBRA_COM1_LSR && !out && run->io.size == 1) {
		pc->io[IO_COM1_LSR]++;
		memset(data, COM1_LSR_THR_EMPTY, bytes);
		return;
	}
	pc->io[IO_UNHANDLED]++;
	vm__stop(v->vm, (int)v->id, STOP_GUEST_ERROR, 0,
		 "vCPU %u: %s of %u byte(s) at I/O port %#x, which umbra does not emulate "
		 "(rip %#llx)",
		 v->id, out ? "out" : "in", run->io.size, run->io.port,
		 (unsigned long long)vcpu__regs(v)->rip);
}

void exits__mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	vm__stop(v->vm, (int)v->id, STOP_GUEST_ERROR, 0,
		 "vCPU %u: %s of %u byte(s) at guest-physical %#llx, which is not guest RAM "
		 "(rip %#llx)",
		 v->id, run->mmio.is_write ? "write" : "read", run->mmio.len,
		 (unsigned long long)run->mmio.phys_addr, (unsigned long long)vcpu__regs(v)->rip);
}

static void print_segment(FILE *f, const char *name, const struct kvm_segment *s)
{
	fprintf(f, "  %-4s sel 0x%04x base 0x%016llx limit 0x%08x type %#x dpl %u %s%s\n", name,
		s->selector, (unsigned long long)s->base, s->limit, s->type, s->dpl,
		s->present ? "present" : "not-present",
		s->l    ? " long"
		: s->db ? " 32-bit"
			: "");
}

void exits__dump_regs(struct vcpu *v, FILE *f)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	/* The ioctls rather than sync regs: KVM fills them on every path. */
	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		fprintf(f, "  (registers unavailable)\n");
		return;
	}
	fprintf(f,
		"  rip 0x%016llx rflags %#llx\n"
		"  rax 0x%016llx rbx 0x%016llx rcx 0x%016llx rdx 0x%016llx\n"
		"  rsi 0x%016llx rdi 0x%016llx rbp 0x%016llx rsp 0x%016llx\n"
		"  r8  0x%016llx r9  0x%016llx r10 0x%016llx r11 0x%016llx\n"
		"  r12 0x%016llx r13 0x%016llx r14 0x%016llx r15 0x%016llx\n"
		"  cr0 %#llx cr2 %#llx cr3 %#llx cr4 %#llx efer %#llx\n"
		"  gdt base %#llx limit %#x  idt base %#llx limit %#x\n",
		r.rip, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.rsp, r.r8, r.r9,
		r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, s.cr0, s.cr2, s.cr3, s.cr4, s.efer,
		s.gdt.base, s.gdt.limit, s.idt.base, s.idt.limit);
	print_segment(f, "cs", &s.cs);
	print_segment(f, "ss", &s.ss);
	print_segment(f, "ds", &s.ds);
	print_segment(f, "tr", &s.tr);
}

/* Prints a fatal exit's registers and last exits to stderr, in one piece. */
static void report_fatal(struct vcpu *v, const char *what)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f) {
		diag__printf("umbra: vCPU %u: %s (no memory for the registers)\n", v->id, what);
		return;
	}
	fprintf(f, "umbra: vCPU %u: %s\n", v->id, what);
	exits__dump_regs(v, f);
	exit_log__print(&v->log, f);
	if (fclose(f) == 0)
		diag__put(text, len);
	free(text);
}

/*
 * SVM leaves the VMCB undefined after a shutdown intercept, so KVM on AMD
 * re-INITs the vCPU before it reports the exit: the registers are then the
 * reset state (real mode at 0xf000:0xfff0), which an umbra guest, started
 * in long mode, cannot otherwise be in. The faulting state is lost.
 */
static bool reset_by_kvm(struct vcpu *v)
{
	struct kvm_sregs s;

	return ioctl(v->fd, KVM_GET_SREGS, &s) == 0 && !(s.cr0 & 1) && s.cs.selector == 0xf000 &&
	       vcpu__regs(v)->rip == 0xfff0;
}

void exits__shutdown(struct vcpu *v)
{
	if (reset_by_kvm(v)) {
		report_fatal(v, "triple fault (KVM_EXIT_SHUTDOWN); KVM reset the vCPU before the "
				"exit, as it does on AMD: the registers below are the reset state");
		vm__stop(v->vm, (int)v->id, STOP_TRIPLE_FAULT, 0,
			 "vCPU %u: triple fault (the faulting rip is lost: KVM reset the vCPU; "
			 "the last exits show where it was)",
			 v->id);
		return;
	}
	report_fatal(v, "triple fault (KVM_EXIT_SHUTDOWN)");
	vm__stop(v->vm, (int)v->id, STOP_TRIPLE_FAULT, 0, "vCPU %u: triple fault at rip %#llx",
		 v->id, (unsigned long long)vcpu__regs(v)->rip);
}

static const char *internal_error_name(uint32_t suberror)
{
	switch (suberror) {
	case KVM_INTERNAL_ERROR_EMULATION:
		return "instruction emulation failed";
	case KVM_INTERNAL_ERROR_SIMUL_EX:
		return "exception while delivering an exception";
	case KVM_INTERNAL_ERROR_DELIVERY_EV:
		return "exit while delivering an event";
	case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON:
		return "unexpected exit reason";
	default:
		return "unknown suberror";
	}
}

void exits__internal_error(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	char what[256];
	int n;

	n = snprintf(what, sizeof(what),
		     "KVM internal error %u (%s), data:", run->internal.suberror,
		     internal_error_name(run->internal.suberror));
	for (uint32_t i = 0; i < run->internal.ndata && i < 16 && n > 0 && (size_t)n < sizeof(what);
	     i++)
		n += snprintf(what + n, sizeof(what) - (size_t)n, " %#llx",
			      (unsigned long long)run->internal.data[i]);
	report_fatal(v, what);
	vm__stop(v->vm, (int)v->id, STOP_GUEST_ERROR, 0, "vCPU %u: KVM internal error %u (%s)",
		 v->id, run->internal.suberror, internal_error_name(run->internal.suberror));
}

void exits__fail_entry(struct vcpu *v)
{
	char what[128];

	snprintf(what, sizeof(what),
		 "KVM could not enter the guest: hardware reason %#llx on cpu %u",
		 (unsigned long long)v->run->fail_entry.hardware_entry_failure_reason,
		 v->run->fail_entry.cpu);
	report_fatal(v, what);
	vm__stop(v->vm, (int)v->id, STOP_VMM_ERROR, 0,
		 "vCPU %u: entry failed, hardware reason %#llx", v->id,
		 (unsigned long long)v->run->fail_entry.hardware_entry_failure_reason);
}

void exits__unexpected(struct vcpu *v, uint32_t reason)
{
	const char *name = kvm__exit_name(reason);
	char what[96];

	snprintf(what, sizeof(what), "unexpected exit reason %u (%s)", reason, name ? name : "?");
	report_fatal(v, what);
	vm__stop(v->vm, (int)v->id, STOP_GUEST_ERROR, 0, "vCPU %u: unexpected exit reason %u (%s)",
		 v->id, reason, name ? name : "?");
}
