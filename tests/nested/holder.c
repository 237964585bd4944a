/*
 * Holds one KVM VM and one vCPU open until it is killed.
 *
 * Run inside the nested L1 kernel for the whole series of umbra runs. Each
 * umbra run creates and destroys a VM; when no other VM exists, KVM flips
 * static keys (preempt_notifier_key among them) by int3 text patching at
 * every first create and last destroy, and QEMU TCG's stale translations of
 * the patched code left L1 looping in exc_int3 for good in 3 of 4 boots.
 * With one VM held open the keys stay on and the code is never patched.
 *
 * Prints "holder: ready" once both exist, so that the caller knows it can
 * start; exits 1 with a message if it cannot create them.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(void)
{
	int kvm, vm, vcpu;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		fprintf(stderr, "holder: /dev/kvm: %s\n", strerror(errno));
		return 1;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		fprintf(stderr, "holder: KVM_CREATE_VM: %s\n", strerror(errno));
		return 1;
	}
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0) {
		fprintf(stderr, "holder: KVM_CREATE_VCPU: %s\n", strerror(errno));
		return 1;
	}
	printf("holder: ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
