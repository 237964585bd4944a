/*
 * The layout of the flush stub's per-vCPU data page, shared by the stub's
 * code (vmm/stub_code.S) and the VMM (vmm/stub.c). Offsets in bytes.
 */
#ifndef UMBRA_VMM_STUB_ABI_H
#define UMBRA_VMM_STUB_ABI_H

#define STUB_DATA_OFFSET 0x100000 /* a vCPU's data page lies 1 MiB above its code page */
#define STUB_RETURN 0x00          /* where the hypercall returns to */
#define STUB_RCX 0x08             /* the guest's registers the stub uses */
#define STUB_RDX 0x10
#define STUB_R8 0x18
#define STUB_NEW_CR3 0x20 /* a root to load, or 0 */
#define STUB_COUNT 0x28   /* pages to invalidate, or STUB_RELOAD */
#define STUB_VA_LIST 0x40 /* their virtual addresses */
#define STUB_VA_MAX 64

#define STUB_RELOAD (~0)

#endif
