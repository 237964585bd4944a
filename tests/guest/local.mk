# tests/guest: the guest kernel on QEMU (TCG) and on umbra, natively and in
# the shadow modes. Each script skips (77) without its tool (QEMU, vmm/umbra,
# /dev/kvm) unless UMBRA_REQUIRE_KVM=1.
guest_test_scripts = tests/guest/qemu-workloads.sh tests/guest/qemu-illegal.sh \
	tests/guest/qemu-usage.sh tests/guest/qemu-panic.sh tests/guest/qemu-races.sh \
	tests/guest/umbra-native.sh tests/guest/umbra-shadow.sh tests/guest/umbra-races.sh
TESTS += $(guest_test_scripts)
KVM_TESTS += tests/guest/umbra-native.sh tests/guest/umbra-shadow.sh tests/guest/umbra-races.sh
EXTRA_DIST += $(guest_test_scripts) tests/guest/lib.sh tests/guest/summaries.txt
# Two vCPU threads working on related address spaces in the shadow library:
# the TSan build runs it too.
CONCURRENCY_TESTS += tests/guest/umbra-shadow.sh
