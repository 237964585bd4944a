/*
 * KVM's binary statistics (KVM_GET_STATS_FD): the descriptors read once,
 * then the scalar values read in one pread per snapshot.
 */
#ifndef UMBRA_VMM_KVM_STATS_H
#define UMBRA_VMM_KVM_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "counters.h"

struct kvm_stats {
	int fd;
	/* The scalar statistics (histograms are skipped), names as KVM spells
	 * them; group.names and group.kinds point at names and kinds. */
	struct counter_group group;
	char **names;
	enum counter_kind *kinds;
	uint32_t *offsets;    /* of each value in the data block, in bytes */
	uint64_t data_offset; /* of the data block in the file */
	size_t data_size;     /* bytes read per snapshot */
	uint64_t *buf;        /* data_size bytes */
};

/*
 * Parses the header and descriptors of the stats file `fd` (which it then
 * owns, even on failure). 0 or a negative errno (-EPROTO: malformed).
 */
int kvm_stats__open(struct kvm_stats *s, int fd);
/* Reads the group.n current values into values[]. 0 or a negative errno. */
int kvm_stats__read(struct kvm_stats *s, uint64_t *values);
void kvm_stats__close(struct kvm_stats *s);
/* True if a and b list the same statistics in the same order. */
bool kvm_stats__same_layout(const struct kvm_stats *a, const struct kvm_stats *b);

#endif
