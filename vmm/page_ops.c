/*
 * Page clear and copy for the guest (see page_ops.h). Both pages are
 * checked before either is touched, so a refused call changes nothing.
 */
#include <config.h>

#include "page_ops.h"

#include <string.h>

#include <umbra/abi.h>

#include "guest_mem.h"

#define PAGE_SIZE 4096u

int64_t page_ops__clear(const struct guest_mem *m, uint64_t gpa)
{
	void *p;

	if (gpa % PAGE_SIZE)
		return -UMBRA_EINVAL;
	p = guest_mem__translate(m, gpa, PAGE_SIZE);
	if (!p)
		return -UMBRA_EFAULT;
	memset(p, 0, PAGE_SIZE);
	return 0;
}

int64_t page_ops__copy(const struct guest_mem *m, uint64_t dst, uint64_t src)
{
	void *d;
	const void *s;

	/* Aligned pages are the same page or disjoint: dst == src is the
	 * only overlap, and a guest that asks for it has lost track. */
	if (dst % PAGE_SIZE || src % PAGE_SIZE || dst == src)
		return -UMBRA_EINVAL;
	d = guest_mem__translate(m, dst, PAGE_SIZE);
	s = guest_mem__translate(m, src, PAGE_SIZE);
	if (!d || !s)
		return -UMBRA_EFAULT;
	memcpy(d, s, PAGE_SIZE);
	return 0;
}
