/*
 * /dev/kvm, the VM and its capabilities.
 */
#include <config.h>

#include "kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static int fail(char *why, size_t why_len, int err, const char *what)
{
	snprintf(why, why_len, "%s: %s", what, strerror(-err));
	return err;
}

/* KVM_GET_SUPPORTED_CPUID, growing the buffer until the kernel's list fits. */
static int get_supported_cpuid(struct kvm *kvm)
{
	for (unsigned n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

		if (!c)
			return -ENOMEM;
		c->nent = n;
		if (ioctl(kvm->sys_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			kvm->cpuid = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG)
			return -errno;
	}
	return -E2BIG;
}

int kvm__init(struct kvm *kvm, char *why, size_t why_len)
{
	int err, r;

	*kvm = (struct kvm){.sys_fd = -1, .vm_fd = -1};
	kvm->sys_fd = open(KVM_DEVICE, O_RDWR | O_CLOEXEC);
	if (kvm->sys_fd < 0)
		return fail(why, why_len, -errno, KVM_DEVICE);
	r = ioctl(kvm->sys_fd, KVM_GET_API_VERSION, 0);
	if (r != KVM_API_VERSION) {
		snprintf(why, why_len, "KVM API version %d, umbra needs %d", r, KVM_API_VERSION);
		err = -ENOTSUP;
		goto out;
	}
	r = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
	if (r < 0 || (r & (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS)) !=
			     (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS)) {
		snprintf(why, why_len, "KVM lacks KVM_CAP_SYNC_REGS for regs and sregs");
		err = -ENOTSUP;
		goto out;
	}
	if (ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0) {
		snprintf(why, why_len, "KVM lacks KVM_CAP_IMMEDIATE_EXIT");
		err = -ENOTSUP;
		goto out;
	}
	r = ioctl(kvm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r <= 0) {
		err = fail(why, why_len, r < 0 ? -errno : -EINVAL, "KVM_GET_VCPU_MMAP_SIZE");
		goto out;
	}
	kvm->run_size = (size_t)r;
	r = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	kvm->max_vcpus = r > 0 ? (unsigned)r : 4; /* the API says 4 when unreported */
	r = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	kvm->nr_slots = r > 0 ? (unsigned)r : 32;
	kvm->stats = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_BINARY_STATS_FD) > 0;
	kvm->readonly_mem = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) > 0;
	err = get_supported_cpuid(kvm);
	if (err < 0) {
		fail(why, why_len, err, "KVM_GET_SUPPORTED_CPUID");
		goto out;
	}
	kvm->vm_fd = ioctl(kvm->sys_fd, KVM_CREATE_VM, 0);
	if (kvm->vm_fd < 0) {
		err = fail(why, why_len, -errno, "KVM_CREATE_VM");
		goto out;
	}
	return 0;
out:
	kvm__release(kvm);
	return err;
}

void kvm__release(struct kvm *kvm)
{
	if (kvm->vm_fd >= 0)
		close(kvm->vm_fd);
	if (kvm->sys_fd >= 0)
		close(kvm->sys_fd);
	free(kvm->cpuid);
	*kvm = (struct kvm){.sys_fd = -1, .vm_fd = -1};
}

int kvm__set_slot(struct kvm *kvm, uint32_t slot, uint64_t gpa, uint64_t size, void *host)
{
	return kvm__set_slot_flags(kvm, slot, gpa, size, host, 0);
}

int kvm__set_slot_flags(struct kvm *kvm, uint32_t slot, uint64_t gpa, uint64_t size, void *host,
			uint32_t flags)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)host,
	};

	return ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

int kvm__create_vcpu(struct kvm *kvm, unsigned id, int *fd, struct kvm_run **run)
{
	int vfd = ioctl(kvm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	void *p;

	if (vfd < 0)
		return -errno;
	p = mmap(NULL, kvm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vfd, 0);
	if (p == MAP_FAILED) {
		int err = -errno;

		close(vfd);
		return err;
	}
	fcntl(vfd, F_SETFD, FD_CLOEXEC);
	*fd = vfd;
	*run = p;
	return 0;
}

void kvm__destroy_vcpu(struct kvm *kvm, int fd, struct kvm_run *run)
{
	if (run)
		munmap(run, kvm->run_size);
	if (fd >= 0)
		close(fd);
}

int kvm__stats_fd(struct kvm *kvm, int vcpu_fd)
{
	int fd;

	if (!kvm->stats)
		return -ENOTSUP;
	fd = ioctl(vcpu_fd >= 0 ? vcpu_fd : kvm->vm_fd, KVM_GET_STATS_FD, NULL);
	return fd < 0 ? -errno : fd;
}

static const char *const exit_names[] = {
	[KVM_EXIT_UNKNOWN] = "unknown",
	[KVM_EXIT_EXCEPTION] = "exception",
	[KVM_EXIT_IO] = "io",
	[KVM_EXIT_HYPERCALL] = "hypercall",
	[KVM_EXIT_DEBUG] = "debug",
	[KVM_EXIT_HLT] = "hlt",
	[KVM_EXIT_MMIO] = "mmio",
	[KVM_EXIT_IRQ_WINDOW_OPEN] = "irq_window_open",
	[KVM_EXIT_SHUTDOWN] = "shutdown",
	[KVM_EXIT_FAIL_ENTRY] = "fail_entry",
	[KVM_EXIT_INTR] = "intr",
	[KVM_EXIT_SET_TPR] = "set_tpr",
	[KVM_EXIT_TPR_ACCESS] = "tpr_access",
	[KVM_EXIT_NMI] = "nmi",
	[KVM_EXIT_INTERNAL_ERROR] = "internal_error",
	[KVM_EXIT_OSI] = "osi",
	[KVM_EXIT_PAPR_HCALL] = "papr_hcall",
	[KVM_EXIT_WATCHDOG] = "watchdog",
	[KVM_EXIT_EPR] = "epr",
	[KVM_EXIT_SYSTEM_EVENT] = "system_event",
	[KVM_EXIT_IOAPIC_EOI] = "ioapic_eoi",
	[KVM_EXIT_HYPERV] = "hyperv",
	[KVM_EXIT_X86_RDMSR] = "x86_rdmsr",
	[KVM_EXIT_X86_WRMSR] = "x86_wrmsr",
	[KVM_EXIT_DIRTY_RING_FULL] = "dirty_ring_full",
	[KVM_EXIT_AP_RESET_HOLD] = "ap_reset_hold",
	[KVM_EXIT_X86_BUS_LOCK] = "x86_bus_lock",
	[KVM_EXIT_XEN] = "xen",
	[KVM_EXIT_NOTIFY] = "notify",
};

const char *kvm__exit_name(uint32_t reason)
{
	if (reason >= sizeof(exit_names) / sizeof(exit_names[0]))
		return NULL;
	return exit_names[reason];
}
