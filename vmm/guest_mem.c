/*
 * Guest-physical memory and the one translation helper for guest addresses.
 */
#include <config.h>

#include "guest_mem.h"

#include <errno.h>
#include <stddef.h>
#include <sys/mman.h>

int guest_mem__init(struct guest_mem *m, uint64_t ram_size, uint64_t pool_size)
{
	void *p;

	if (ram_size > UINT64_MAX - pool_size)
		return -EINVAL;
	/* NORESERVE: the guest touches a fraction of its RAM in most runs. */
	p = mmap(NULL, ram_size + pool_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	*m = (struct guest_mem){
		.host = p,
		.ram_size = ram_size,
		.pool_gpa = ram_size,
		.pool_size = pool_size,
		.size = ram_size + pool_size,
	};
	return 0;
}

void guest_mem__release(struct guest_mem *m)
{
	if (m->host)
		munmap(m->host, m->size);
	m->host = NULL;
}

void *guest_mem__translate(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	/* Written so that neither gpa + len nor anything else can wrap. */
	if (len > m->ram_size || gpa > m->ram_size - len)
		return NULL;
	return m->host + gpa;
}
