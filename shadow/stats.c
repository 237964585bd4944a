/* The counters behind struct shadow_stats: one relaxed atomic each, so
 * that counting never orders or serialises anything. A snapshot is not
 * atomic as a whole. */
#include "internal.h"

#define READ(field) out->field = atomic_load_explicit(&sh->stats.field, memory_order_relaxed)

void shadow_stats_read(struct shadow *sh, struct shadow_stats *out)
{
	READ(share_exclusive);
	READ(share_shared);
	READ(unshare_copy);
	READ(unshare_exclusive);
	READ(unshare_copy_last);
	READ(pmd_freed);
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
	READ(pages_now);
	READ(pages_peak);
	READ(flushes);
	READ(alloc_failures);
	READ(address_spaces_now);
}
