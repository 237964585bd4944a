/* The counters behind struct shadow_stats: one relaxed atomic each, so
 * that counting never orders or serialises anything. A snapshot is not
 * atomic as a whole. */
#include <errno.h>

#include "internal.h"

_Thread_local struct stats_actor stats_actor;

void stats_act(struct shadow *sh, unsigned cpu)
{
	stats_actor.sh = sh;
	stats_actor.instance = sh->instance;
	stats_actor.cpu = &sh->cpu_stats[cpu];
	stats_actor.cpu_index = cpu;
	stats_actor.call = atomic_fetch_add_explicit(&sh->calls, 1, memory_order_relaxed) + 1;
}

#define READ(field) out->field = atomic_load_explicit(&c->field, memory_order_relaxed)

static void counters_read(struct counters *c, struct shadow_stats *out)
{
	READ(share_exclusive);
	READ(share_shared);
	READ(share_identity);
	READ(unshare_copy);
	READ(unshare_exclusive);
	READ(unshare_copy_last);
	READ(unshare_follow);
	READ(relink_widened);
	READ(pmd_freed);
	READ(pmd_copied);
	READ(fill_private);
	READ(fill_shared);
	READ(fill_raced);
	READ(fault_guest);
	READ(fault_spurious);
	READ(updates);
	READ(forks_share);
	READ(forks_copy);
	READ(forks_lazy);
	READ(shadow_entries_written);
	READ(guest_entries_written);
	READ(pages_allocated);
	READ(pages_freed);
	READ(path_copies);
	READ(pages_now);
	READ(pages_peak);
	READ(flushes);
	READ(alloc_failures);
	READ(ownership_refusals);
	READ(address_spaces_now);
}

void shadow_stats_read(struct shadow *sh, struct shadow_stats *out)
{
	counters_read(&sh->stats, out);
}

int shadow_stats_read_cpu(struct shadow *sh, unsigned cpu, struct shadow_stats *out)
{
	if (cpu >= sh->cfg.max_cpus)
		return -EINVAL;
	counters_read(&sh->cpu_stats[cpu], out);
	/* the pool and the address spaces belong to no vCPU */
	out->pages_now = out->pages_peak = out->address_spaces_now = 0;
	return 0;
}
