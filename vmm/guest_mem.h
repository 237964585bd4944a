/*
 * Guest-physical memory: RAM from 0 to ram_size, the shadow pool right above
 * it, both in one host mapping (one memslot). Every guest-supplied address
 * reaches host memory through guest_mem__translate() and nothing else.
 */
#ifndef UMBRA_VMM_GUEST_MEM_H
#define UMBRA_VMM_GUEST_MEM_H

#include <stdint.h>

struct guest_mem {
	uint8_t *host;      /* host address of guest-physical 0 */
	uint64_t ram_size;  /* bytes of guest RAM at gpa 0 */
	uint64_t pool_gpa;  /* guest-physical base of the shadow pool (= ram_size) */
	uint64_t pool_size; /* bytes of shadow pool; 0 in native mode */
	uint64_t size;      /* ram_size + pool_size: what the memslot maps */
};

/* Maps ram_size + pool_size bytes of zeroed shared memory (a memfd, so
 * that guest_mem__drop_cached keeps the contents). 0 or -errno. */
int guest_mem__init(struct guest_mem *m, uint64_t ram_size, uint64_t pool_size);
void guest_mem__release(struct guest_mem *m);

/*
 * The host address of [gpa, gpa + len), or NULL unless that range lies
 * wholly inside guest RAM (never the pool: the guest gets no access to
 * shadow tables through the VMM). Safe against overflow for any gpa and len.
 */
void *guest_mem__translate(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/*
 * Drops every mapping of the RAM page at gpa that the host and KVM have
 * cached (the page stays as it is): KVM's MMU notifier then forgets the
 * translations it built to that page, which is how one narrowed leaf is
 * flushed on a KVM that shadows the guest's tables. 0, -EFAULT for a gpa
 * outside RAM, or -errno.
 */
int guest_mem__drop_cached(const struct guest_mem *m, uint64_t gpa);

#endif
