/*
 * The CPUID table each vCPU gets: what KVM supports, with umbra's own
 * hypervisor leaves (abi.h) in place of KVM's, and per-vCPU APIC IDs.
 */
#ifndef UMBRA_VMM_CPUID_H
#define UMBRA_VMM_CPUID_H

#include <linux/kvm.h>
#include <stdbool.h>

/*
 * A new table for vCPU `id` of `nr_vcpus` from KVM's supported list, or
 * NULL if out of memory. The caller frees it.
 */
struct kvm_cpuid2 *cpuid__build(const struct kvm_cpuid2 *supported, unsigned id, unsigned nr_vcpus,
				bool shadow);

#endif
