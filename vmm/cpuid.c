/*
 * The guest's CPUID table.
 */
#include <config.h>

#include "cpuid.h"

#include <stdlib.h>
#include <string.h>

#include <umbra/abi.h>

#define CPUID_HYPERVISOR_RANGE_LO 0x40000000u
#define CPUID_HYPERVISOR_RANGE_HI 0x400000ffu
#define CPUID_1_ECX_HYPERVISOR (1u << 31)

static void fix_entry(struct kvm_cpuid_entry2 *e, unsigned id)
{
	switch (e->function) {
	case 0x1:
		/* Initial APIC ID in EBX[31:24]; the hypervisor-present bit. */
		e->ebx = (e->ebx & 0x00ffffffu) | (id << 24);
		e->ecx |= CPUID_1_ECX_HYPERVISOR;
		break;
	case 0xb:
	case 0x1f:
		/* x2APIC ID of this vCPU in every topology sub-leaf. */
		e->edx = id;
		break;
	}
}

struct kvm_cpuid2 *cpuid__build(const struct kvm_cpuid2 *supported, unsigned id, unsigned nr_vcpus,
				bool shadow)
{
	struct kvm_cpuid2 *c;
	unsigned n = 0;

	c = calloc(1, sizeof(*c) + (supported->nent + 2) * sizeof(c->entries[0]));
	if (!c)
		return NULL;
	for (unsigned i = 0; i < supported->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &supported->entries[i];

		/* KVM's own paravirtual leaves would tell the guest it runs on KVM. */
		if (e->function >= CPUID_HYPERVISOR_RANGE_LO &&
		    e->function <= CPUID_HYPERVISOR_RANGE_HI)
			continue;
		c->entries[n] = *e;
		fix_entry(&c->entries[n], id);
		n++;
	}
	c->entries[n++] = (struct kvm_cpuid_entry2){
		.function = UMBRA_CPUID_BASE,
		.eax = UMBRA_CPUID_INFO,
		.ebx = UMBRA_CPUID_SIG_EBX,
		.ecx = UMBRA_CPUID_SIG_ECX,
		.edx = UMBRA_CPUID_SIG_EDX,
	};
	c->entries[n++] = (struct kvm_cpuid_entry2){
		.function = UMBRA_CPUID_INFO,
		.eax = UMBRA_ABI_VERSION,
		.ebx = shadow ? UMBRA_CPUID_F_SHADOW : 0,
		.ecx = nr_vcpus,
	};
	c->nent = n;
	return c;
}
