/*
 * Where vCPU threads wait: a secondary vCPU until UMBRA_HC_CPU_START, an
 * idle or halted one until UMBRA_HC_KICK, and every vCPU while another has
 * them paused (--check). All of it is state under vm->lock.
 *
 * vm->active counts the vCPU threads that may touch the guest or the shadow
 * MMU: a thread leaves the count whenever it waits here, and comes back only
 * when no other vCPU holds the VM paused.
 */
#ifndef UMBRA_VMM_PARK_H
#define UMBRA_VMM_PARK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct vcpu;
struct vcpu_start;
struct vm;

/* A secondary vCPU's thread: waits for CPU_START. 0 with *start filled, or
 * -ESHUTDOWN if the guest stopped first. */
int park__wait_start(struct vcpu *v, struct vcpu_start *start);

/* UMBRA_HC_CPU_START from `caller`: 0, -ESRCH (no such vCPU) or -EBUSY (started). */
int park__start(struct vm *vm, unsigned cpu, const struct vcpu_start *start);

/* Initialises a vCPU's wake-up condition on the clock park__idle()'s
 * deadlines are computed on (CLOCK_MONOTONIC: wall-clock steps must not
 * cut a park short or stretch it). */
void park__init_cond(pthread_cond_t *cond);

/* UMBRA_HC_IDLE: returns at once if a kick is pending, else after a kick,
 * timeout_ns or the guest's stop. */
void park__idle(struct vcpu *v, uint64_t timeout_ns);

/* KVM_EXIT_HLT: waits for a kick or the stop; if every started vCPU is
 * halted, nothing can wake them, and it stops the guest. */
void park__halt(struct vcpu *v);

/* UMBRA_HC_KICK: 0 or -ESRCH. */
int park__kick(struct vm *vm, unsigned cpu);

/*
 * The top of the vCPU loop, before KVM_RUN: waits while another vCPU has
 * the VM paused, then rearms KVM_RUN (clears immediate_exit). Returns true
 * if the vCPU must stop.
 */
bool park__checkpoint(struct vcpu *v);

/* Stops every other vCPU outside the guest and the shadow MMU (they wait in
 * park__checkpoint or where they are parked), for the invariant checker. */
void park__pause_others(struct vcpu *self);
void park__resume_others(struct vcpu *self);

/* The vCPU thread starts or ends running (vm->active, vm->started). */
void park__enter_run(struct vcpu *v);
void park__leave_run(struct vcpu *v);

#endif
