/*
 * Named counters read from a source in snapshots (KVM's statistics, the
 * shadow library's), charged to phases: each snapshot charges what changed
 * since the previous one to the phase that was current in between.
 */
#ifndef UMBRA_VMM_COUNTERS_H
#define UMBRA_VMM_COUNTERS_H

#include <stdint.h>

#include <umbra/abi.h>

enum counter_kind {
	COUNTER_CUMULATIVE, /* only grows: a phase gets the increase */
	COUNTER_INSTANT,    /* a current value: a phase gets the value at its last snapshot */
	COUNTER_PEAK,       /* a high-water mark: a phase gets the highest value it saw */
};

/* What a source reports: n counters, their names and kinds. */
struct counter_group {
	unsigned n;
	const char *const *names;
	const enum counter_kind *kinds;
};

/*
 * A source of a group's values that is not KVM: the shadow library. read()
 * fills values[0..group->n-1], for one vCPU (cpu >= 0: what was charged to
 * it) or for the whole VM (cpu < 0).
 */
struct counter_source {
	const struct counter_group *group;
	void (*read)(void *arg, int cpu, uint64_t *values);
	void *arg;
};

/* A group's values over a run. */
struct counter_track {
	const struct counter_group *group;
	uint64_t *last;                        /* values at the last snapshot */
	uint64_t *phase[UMBRA_PHASE_COUNT];    /* charged to each phase */
	unsigned char used[UMBRA_PHASE_COUNT]; /* a snapshot charged this phase */
};

/* Takes `first` as the starting values. 0 or -ENOMEM (then holds nothing). */
int counter_track__init(struct counter_track *t, const struct counter_group *g,
			const uint64_t *first);
void counter_track__release(struct counter_track *t);
/* Charges the change from the last snapshot to `now` to `phase`. */
void counter_track__charge(struct counter_track *t, unsigned phase, const uint64_t *now);
/*
 * The run's value of counter i: the sum over phases for cumulative
 * counters, the last value read for instant ones, the highest for peaks.
 */
uint64_t counter_track__total(const struct counter_track *t, unsigned i);

#endif
