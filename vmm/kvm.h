/*
 * /dev/kvm and the VM file descriptor: capability checks, memslots, vCPU
 * creation. Thin wrappers that return 0 or a negative errno.
 */
#ifndef UMBRA_VMM_KVM_H
#define UMBRA_VMM_KVM_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kvm {
	int sys_fd; /* /dev/kvm */
	int vm_fd;
	size_t run_size;          /* bytes of each vCPU's struct kvm_run mapping */
	unsigned max_vcpus;       /* KVM_CAP_NR_VCPUS: what this KVM supports well */
	unsigned nr_slots;        /* KVM_CAP_NR_MEMSLOTS */
	bool stats;               /* KVM_CAP_BINARY_STATS_FD */
	bool readonly_mem;        /* KVM_CAP_READONLY_MEM: memslots the guest cannot write */
	struct kvm_cpuid2 *cpuid; /* KVM_GET_SUPPORTED_CPUID */
};

#define KVM_DEVICE "/dev/kvm"

/*
 * Opens /dev/kvm, checks the capabilities umbra needs and creates a VM.
 * On failure returns a negative errno with the reason in why, holding nothing.
 */
int kvm__init(struct kvm *kvm, char *why, size_t why_len);
void kvm__release(struct kvm *kvm);

/* Maps [gpa, gpa + size) to host memory as memslot `slot`; size 0 deletes it. */
int kvm__set_slot(struct kvm *kvm, uint32_t slot, uint64_t gpa, uint64_t size, void *host);
/* The same with KVM_MEM_* flags (KVM_MEM_READONLY: a guest write exits as
 * MMIO instead of reaching the memory). */
int kvm__set_slot_flags(struct kvm *kvm, uint32_t slot, uint64_t gpa, uint64_t size, void *host,
			uint32_t flags);

/* Creates vCPU `id`: its fd and its kvm_run mapping. */
int kvm__create_vcpu(struct kvm *kvm, unsigned id, int *fd, struct kvm_run **run);
void kvm__destroy_vcpu(struct kvm *kvm, int fd, struct kvm_run *run);

/* The binary statistics fd of the VM (vcpu_fd < 0) or of a vCPU. */
int kvm__stats_fd(struct kvm *kvm, int vcpu_fd);

/* Name of a KVM_EXIT_* reason ("io", "hlt", ...), or NULL if unknown. */
const char *kvm__exit_name(uint32_t reason);

#endif
