/*
 * The hypercalls of include/umbra/abi.h: arguments from the vCPU's sync
 * registers, every guest address through guest_mem__translate(), the
 * result in %rax. docs/abi.md describes each call.
 */
#ifndef UMBRA_VMM_HYPERCALL_H
#define UMBRA_VMM_HYPERCALL_H

#include <stdint.h>

struct vcpu;

/* Runs hypercall nr for v; returns what it put in %rax. */
int64_t hypercall__dispatch(struct vcpu *v, uint32_t nr);

/* The name of hypercall nr ("console", ...), or NULL if the ABI has none. */
const char *hypercall__name(uint32_t nr);

#endif
