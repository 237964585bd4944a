/*
 * Parking vCPU threads: start, idle, halt, kick and pause.
 */
#include <config.h>

#include "park.h"

#include <errno.h>
#include <time.h>

#include "vcpu.h"
#include "vm.h"

/* Caps a deadline so that the timespec arithmetic cannot overflow (~146 years). */
#define PARK_MAX_TIMEOUT_NS (1ull << 62)

/* Leaves the active count while v waits. Call with vm->lock held. */
static void quiesce(struct vm *vm)
{
	vm->active--;
	pthread_cond_broadcast(&vm->cond);
}

/*
 * Comes back to the active count, first waiting out a pause that another
 * vCPU holds. Call with vm->lock held.
 */
static void unquiesce(struct vm *vm, struct vcpu *v)
{
	while (vm->pause_owner && vm->pause_owner != v && !vm->stopping)
		pthread_cond_wait(&vm->cond, &vm->lock);
	vm->active++;
}

int park__wait_start(struct vcpu *v, struct vcpu_start *start)
{
	struct vm *vm = v->vm;
	int err = 0;

	pthread_mutex_lock(&vm->lock);
	while (!v->start_requested && !vm->stopping)
		pthread_cond_wait(&v->cond, &vm->lock);
	if (vm->stopping)
		err = -ESHUTDOWN;
	else
		*start = v->start;
	pthread_mutex_unlock(&vm->lock);
	return err;
}

int park__start(struct vm *vm, unsigned cpu, const struct vcpu_start *start)
{
	struct vcpu *t;
	int err = 0;

	if (cpu >= vm->nr_vcpus)
		return -ESRCH;
	t = &vm->vcpus[cpu];
	pthread_mutex_lock(&vm->lock);
	/* Not state: a started vCPU stays VCPU_PARKED until its thread runs. */
	if (t->start_requested) {
		err = -EBUSY;
	} else {
		t->start = *start;
		t->start_requested = true;
		pthread_cond_signal(&t->cond);
	}
	pthread_mutex_unlock(&vm->lock);
	return err;
}

void park__init_cond(pthread_cond_t *cond)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}

static struct timespec deadline_after(uint64_t ns)
{
	struct timespec ts;

	if (ns > PARK_MAX_TIMEOUT_NS)
		ns = PARK_MAX_TIMEOUT_NS;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ns / 1000000000u);
	ts.tv_nsec += (long)(ns % 1000000000u);
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}

void park__idle(struct vcpu *v, uint64_t timeout_ns)
{
	struct vm *vm = v->vm;
	struct timespec deadline = deadline_after(timeout_ns);
	int r = 0;

	pthread_mutex_lock(&vm->lock);
	if (!v->kick_pending && timeout_ns) {
		v->state = VCPU_IDLE;
		quiesce(vm);
		while (!v->kick_pending && !vm->stopping && r != ETIMEDOUT)
			r = pthread_cond_timedwait(&v->cond, &vm->lock, &deadline);
		unquiesce(vm, v);
		v->state = VCPU_RUNNING;
	}
	v->kick_pending = false;
	pthread_mutex_unlock(&vm->lock);
}

void park__halt(struct vcpu *v)
{
	struct vm *vm = v->vm;
	bool all_halted;

	pthread_mutex_lock(&vm->lock);
	if (v->kick_pending) {
		v->kick_pending = false;
		pthread_mutex_unlock(&vm->lock);
		return;
	}
	vm->halted++;
	all_halted = vm->halted == vm->started;
	if (!all_halted) {
		v->state = VCPU_IDLE;
		quiesce(vm);
		while (!v->kick_pending && !vm->stopping)
			pthread_cond_wait(&v->cond, &vm->lock);
		unquiesce(vm, v);
		v->state = VCPU_RUNNING;
		v->kick_pending = false;
	}
	vm->halted--;
	pthread_mutex_unlock(&vm->lock);
	if (all_halted)
		vm__stop(vm, (int)v->id, STOP_GUEST_ERROR, 0,
			 "vCPU %u halted (hlt) and every other started vCPU is halted too: "
			 "nothing can wake them",
			 v->id);
}

int park__kick(struct vm *vm, unsigned cpu)
{
	struct vcpu *t;

	if (cpu >= vm->nr_vcpus)
		return -ESRCH;
	t = &vm->vcpus[cpu];
	pthread_mutex_lock(&vm->lock);
	t->kick_pending = true;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

bool park__checkpoint(struct vcpu *v)
{
	struct vm *vm = v->vm;
	bool stop;

	pthread_mutex_lock(&vm->lock);
	if (vm->pause_owner && vm->pause_owner != v && !vm->stopping) {
		quiesce(vm);
		unquiesce(vm, v);
	}
	stop = vm->stopping;
	/* A kick_out() after this point sets it again, so none is lost. */
	v->run->immediate_exit = 0;
	pthread_mutex_unlock(&vm->lock);
	return stop;
}

void park__pause_others(struct vcpu *self)
{
	struct vm *vm = self->vm;

	pthread_mutex_lock(&vm->lock);
	/* Another vCPU pausing first waits for us: count as paused meanwhile. */
	while (vm->pause_owner && !vm->stopping) {
		quiesce(vm);
		unquiesce(vm, self);
	}
	if (!vm->stopping) {
		vm->pause_owner = self;
		for (unsigned i = 0; i < vm->nr_vcpus; i++) {
			if (&vm->vcpus[i] != self && vm->vcpus[i].state == VCPU_RUNNING)
				vcpu__kick_out(&vm->vcpus[i]);
		}
		while (vm->active > 1 && !vm->stopping)
			pthread_cond_wait(&vm->cond, &vm->lock);
	}
	pthread_mutex_unlock(&vm->lock);
}

void park__resume_others(struct vcpu *self)
{
	struct vm *vm = self->vm;

	pthread_mutex_lock(&vm->lock);
	if (vm->pause_owner == self) {
		vm->pause_owner = NULL;
		pthread_cond_broadcast(&vm->cond);
	}
	pthread_mutex_unlock(&vm->lock);
}

void park__enter_run(struct vcpu *v)
{
	struct vm *vm = v->vm;

	pthread_mutex_lock(&vm->lock);
	v->state = VCPU_RUNNING;
	vm->started++;
	unquiesce(vm, v);
	pthread_mutex_unlock(&vm->lock);
}

void park__leave_run(struct vcpu *v)
{
	struct vm *vm = v->vm;

	pthread_mutex_lock(&vm->lock);
	if (v->state != VCPU_PARKED) {
		vm->started--;
		quiesce(vm);
	}
	v->state = VCPU_DONE;
	pthread_mutex_unlock(&vm->lock);
}
