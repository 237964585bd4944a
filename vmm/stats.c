/*
 * Exit accounting: per-vCPU phase counters and the VM-wide snapshots.
 */
#include <config.h>

#include "stats.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

uint64_t stats__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Opens KVM's statistics at fd into ks and starts t on them, with *now as
 * a scratch buffer. 0 or a negative errno; the caller releases either way.
 */
static int kvm_track_init(struct kvm_stats *ks, struct counter_track *t, uint64_t **now, int fd)
{
	int err = kvm_stats__open(ks, fd);

	if (err < 0)
		return err;
	*now = calloc(ks->group.n ? ks->group.n : 1, sizeof(uint64_t));
	if (!*now)
		return -ENOMEM;
	err = kvm_stats__read(ks, *now);
	if (err < 0)
		return err;
	return counter_track__init(t, &ks->group, *now);
}

/* Starts t on source, read for cpu, with *now as a scratch buffer. */
static int source_track_init(const struct counter_source *source, int cpu, struct counter_track *t,
			     uint64_t **now)
{
	*now = calloc(source->group->n, sizeof(uint64_t));
	if (!*now)
		return -ENOMEM;
	source->read(source->arg, cpu, *now);
	return counter_track__init(t, source->group, *now);
}

int vcpu_stats__init(struct vcpu_stats *s, int cpu, int kvm_fd, const struct counter_source *shadow)
{
	int err = 0;

	*s = (struct vcpu_stats){.kvm = {.fd = -1}, .cpu = cpu};
	if (kvm_fd >= 0) {
		err = kvm_track_init(&s->kvm, &s->kvm_track, &s->kvm_now, kvm_fd);
		s->have_kvm = err == 0;
	}
	if (err == 0 && shadow && shadow->group) {
		s->shadow = *shadow;
		err = source_track_init(&s->shadow, cpu, &s->shadow_track, &s->shadow_now);
	}
	if (err < 0)
		vcpu_stats__release(s);
	return err;
}

void vcpu_stats__release(struct vcpu_stats *s)
{
	counter_track__release(&s->kvm_track);
	kvm_stats__close(&s->kvm);
	free(s->kvm_now);
	s->kvm_now = NULL;
	s->have_kvm = false;
	counter_track__release(&s->shadow_track);
	free(s->shadow_now);
	s->shadow_now = NULL;
	s->shadow.group = NULL;
}

static void charge(struct vcpu_stats *s)
{
	struct phase_counters *pc = vcpu_stats__cur(s);
	uint64_t now = stats__now_ns(), cpu = thread_cpu_ns();

	pc->time_ns += now - s->phase_start_ns;
	if (now - s->phase_start_ns > pc->longest_ns)
		pc->longest_ns = now - s->phase_start_ns;
	pc->cpu_ns += cpu - s->phase_cpu_ns;
	s->phase_start_ns = now;
	s->phase_cpu_ns = cpu;
	/* A failed read charges nothing now; the next snapshot catches up. */
	if (s->have_kvm && kvm_stats__read(&s->kvm, s->kvm_now) == 0)
		counter_track__charge(&s->kvm_track, s->phase, s->kvm_now);
	if (s->shadow.group) {
		s->shadow.read(s->shadow.arg, s->cpu, s->shadow_now);
		counter_track__charge(&s->shadow_track, s->phase, s->shadow_now);
	}
}

void vcpu_stats__begin(struct vcpu_stats *s)
{
	s->phase = UMBRA_PHASE_BOOT;
	s->phases[s->phase].used = true;
	s->phase_start_ns = stats__now_ns();
	s->phase_cpu_ns = thread_cpu_ns();
	/* What was counted before the vCPU ran (its creation) is not a phase's. */
	if (s->have_kvm && kvm_stats__read(&s->kvm, s->kvm_now) == 0)
		memcpy(s->kvm_track.last, s->kvm_now, s->kvm.group.n * sizeof(uint64_t));
	if (s->shadow.group)
		s->shadow.read(s->shadow.arg, s->cpu, s->shadow_track.last);
}

void vcpu_stats__set_phase(struct vcpu_stats *s, unsigned phase)
{
	charge(s);
	s->phase = phase;
	s->phases[phase].used = true;
}

void vcpu_stats__end(struct vcpu_stats *s)
{
	charge(s);
}

int vm_stats__init(struct vm_stats *s, int kvm_fd, const struct counter_source *shadow)
{
	int err;

	*s = (struct vm_stats){.kvm = {.fd = -1}};
	pthread_mutex_init(&s->lock, NULL);
	if (shadow)
		s->shadow = *shadow;
	if (kvm_fd >= 0) {
		err = kvm_track_init(&s->kvm, &s->kvm_track, &s->scratch, kvm_fd);
		if (err < 0)
			goto fail;
		s->have_kvm = true;
	}
	if (s->shadow.group) {
		/* The scratch buffer must hold a snapshot of either source. */
		unsigned n = s->shadow.group->n;

		if (n > s->kvm.group.n) {
			free(s->scratch);
			s->scratch = calloc(n, sizeof(uint64_t));
			if (!s->scratch) {
				err = -ENOMEM;
				goto fail;
			}
		}
		s->shadow.read(s->shadow.arg, -1, s->scratch);
		err = counter_track__init(&s->shadow_track, s->shadow.group, s->scratch);
		if (err < 0)
			goto fail;
	}
	return 0;
fail:
	vm_stats__release(s);
	return err;
}

void vm_stats__release(struct vm_stats *s)
{
	counter_track__release(&s->kvm_track);
	kvm_stats__close(&s->kvm);
	counter_track__release(&s->shadow_track);
	free(s->scratch);
	s->scratch = NULL;
	s->have_kvm = false;
	pthread_mutex_destroy(&s->lock);
}

void vm_stats__charge(struct vm_stats *s, unsigned phase)
{
	pthread_mutex_lock(&s->lock);
	if (s->have_kvm && kvm_stats__read(&s->kvm, s->scratch) == 0)
		counter_track__charge(&s->kvm_track, phase, s->scratch);
	if (s->shadow.group) {
		s->shadow.read(s->shadow.arg, -1, s->scratch);
		counter_track__charge(&s->shadow_track, phase, s->scratch);
	}
	pthread_mutex_unlock(&s->lock);
}

void vm_stats__begin(struct vm_stats *s)
{
	s->start_ns = stats__now_ns();
}

void vm_stats__end(struct vm_stats *s)
{
	struct rusage ru;

	s->end_ns = stats__now_ns();
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		s->user_ns = (uint64_t)ru.ru_utime.tv_sec * 1000000000u +
			     (uint64_t)ru.ru_utime.tv_usec * 1000u;
		s->sys_ns = (uint64_t)ru.ru_stime.tv_sec * 1000000000u +
			    (uint64_t)ru.ru_stime.tv_usec * 1000u;
	}
}
