/*
 * Whole-page clears and copies. Where CPL 0 is emulated an instruction
 * (and a `rep` element) at a time, `rep stosq` over a page costs ~0.45 ms
 * and UMBRA_HC_PAGE_CLEAR ~15 us; on hardware, or under QEMU, the
 * instruction wins by far. pageops_init measures both on umbra and keeps
 * the faster for each operation; elsewhere there is only the instruction.
 *
 * Only for pages that are not page tables in use: fresh pages before they
 * are linked, and data pages (docs/abi.md says why).
 */
#ifndef GUEST_PAGEOPS_H
#define GUEST_PAGEOPS_H

/* Picks the method for each operation. Boot CPU, after platform_detect. */
void pageops_init(void);
void page_clear(void *page);
void page_copy(void *dst, const void *src);
/* What pageops_init found, for the boot line. */
const char *pageops_describe(void);

#endif /* GUEST_PAGEOPS_H */
