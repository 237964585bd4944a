/*
 * Guest-physical memory and the one translation helper for guest addresses.
 */
#include <config.h>

#include "guest_mem.h"

#include <errno.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

int guest_mem__init(struct guest_mem *m, uint64_t ram_size, uint64_t pool_size)
{
	void *p;
	int fd, err;

	if (ram_size > UINT64_MAX - pool_size)
		return -EINVAL;
	/* Shared, so that dropping a page's mappings keeps what it holds
	 * (MADV_DONTNEED on private anonymous memory would zero it). Pages
	 * come into being as the guest touches them. */
	fd = memfd_create("umbra-guest", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)(ram_size + pool_size)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	p = mmap(NULL, ram_size + pool_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd,
		 0);
	err = -errno;
	close(fd); /* the mapping keeps the memory */
	if (p == MAP_FAILED)
		return err;
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

int guest_mem__drop_cached(const struct guest_mem *m, uint64_t gpa)
{
	void *host = guest_mem__translate(m, gpa & ~4095ull, 4096);

	if (!host)
		return -EFAULT;
	return madvise(host, 4096, MADV_DONTNEED) < 0 ? -errno : 0;
}
