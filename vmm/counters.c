/*
 * Counters charged to phases.
 */
#include <config.h>

#include "counters.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int counter_track__init(struct counter_track *t, const struct counter_group *g,
			const uint64_t *first)
{
	size_t bytes = (g->n ? g->n : 1) * sizeof(uint64_t);

	*t = (struct counter_track){.group = g};
	t->last = malloc(bytes);
	if (!t->last)
		goto fail;
	memcpy(t->last, first, g->n * sizeof(uint64_t));
	for (unsigned p = 0; p < UMBRA_PHASE_COUNT; p++) {
		t->phase[p] = calloc(1, bytes);
		if (!t->phase[p])
			goto fail;
	}
	return 0;
fail:
	counter_track__release(t);
	return -ENOMEM;
}

void counter_track__release(struct counter_track *t)
{
	free(t->last);
	for (unsigned p = 0; p < UMBRA_PHASE_COUNT; p++)
		free(t->phase[p]);
	*t = (struct counter_track){0};
}

void counter_track__charge(struct counter_track *t, unsigned phase, const uint64_t *now)
{
	uint64_t *v = t->phase[phase];

	for (unsigned i = 0; i < t->group->n; i++) {
		switch (t->group->kinds[i]) {
		case COUNTER_CUMULATIVE:
			/* A counter that went backwards (a reset) charges nothing. */
			if (now[i] > t->last[i])
				v[i] += now[i] - t->last[i];
			break;
		case COUNTER_INSTANT:
			v[i] = now[i];
			break;
		case COUNTER_PEAK:
			if (now[i] > v[i])
				v[i] = now[i];
			break;
		}
		t->last[i] = now[i];
	}
	t->used[phase] = 1;
}

uint64_t counter_track__total(const struct counter_track *t, unsigned i)
{
	uint64_t sum = 0;

	switch (t->group->kinds[i]) {
	case COUNTER_CUMULATIVE:
		for (unsigned p = 0; p < UMBRA_PHASE_COUNT; p++)
			sum += t->phase[p][i];
		return sum;
	case COUNTER_PEAK:
		for (unsigned p = 0; p < UMBRA_PHASE_COUNT; p++) {
			if (t->phase[p][i] > sum)
				sum = t->phase[p][i];
		}
		return sum > t->last[i] ? sum : t->last[i];
	case COUNTER_INSTANT:
		break;
	}
	return t->last[i];
}
