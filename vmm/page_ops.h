/*
 * UMBRA_HC_PAGE_CLEAR and UMBRA_HC_PAGE_COPY: whole 4 KiB pages of guest
 * RAM filled or copied by the VMM, for a guest whose own string
 * instructions are slow (Xen PV's MMUEXT_CLEAR_PAGE and MMUEXT_COPY_PAGE).
 * One function per call, so that a check on who owns the page (a guest
 * page table the VMM has registered must not be written this way) has
 * one place to go.
 */
#ifndef UMBRA_VMM_PAGE_OPS_H
#define UMBRA_VMM_PAGE_OPS_H

#include <stdint.h>

struct guest_mem;

/* Zero-fills the page at gpa: 0, -UMBRA_EINVAL (not 4 KiB aligned) or
 * -UMBRA_EFAULT (not inside guest RAM). */
int64_t page_ops__clear(const struct guest_mem *m, uint64_t gpa);

/* Copies the page at src to dst: 0, -UMBRA_EINVAL (either not 4 KiB
 * aligned, or dst == src), or -UMBRA_EFAULT (either not inside guest RAM). */
int64_t page_ops__copy(const struct guest_mem *m, uint64_t dst, uint64_t src);

#endif
