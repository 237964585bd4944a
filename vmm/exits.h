/*
 * Handlers for the exits that reach user space, called from the vCPU
 * loop's dispatcher, and the log of each vCPU's last exits that a fatal
 * exit prints.
 */
#ifndef UMBRA_VMM_EXITS_H
#define UMBRA_VMM_EXITS_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct vcpu;

#define EXIT_LOG_SIZE 8u

struct exit_record {
	uint32_t reason; /* KVM_EXIT_*, KVM_EXIT_INTR for an interrupted KVM_RUN */
	uint64_t rip;
	uint64_t addr;  /* io: port; mmio: guest-physical address */
	uint32_t size;  /* io, mmio: access size in bytes */
	uint8_t write;  /* io, mmio: 1 for out/write */
	int hypercall;  /* hypercall number, or -1 */
	int64_t result; /* its result */
};

/* A ring of the last EXIT_LOG_SIZE exits. */
struct exit_log {
	struct exit_record rec[EXIT_LOG_SIZE];
	uint64_t count; /* exits recorded so far */
};

/* Records the exit that KVM_RUN just returned (reason as the loop sees it). */
struct exit_record *exit_log__add(struct exit_log *l, uint32_t reason, const struct kvm_run *run);
void exit_log__print(const struct exit_log *l, FILE *f);

/* True if the exit is a hypercall: a 4-byte out to UMBRA_HC_PORT. */
bool exits__is_hypercall(const struct kvm_run *run);

void exits__io(struct vcpu *v);
void exits__mmio(struct vcpu *v);
void exits__shutdown(struct vcpu *v);
void exits__internal_error(struct vcpu *v);
void exits__fail_entry(struct vcpu *v);
void exits__unexpected(struct vcpu *v, uint32_t reason);

/* Prints the registers of v (from its sync regs) to f. */
void exits__dump_regs(struct vcpu *v, FILE *f);

#endif
