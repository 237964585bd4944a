#!/bin/sh
# Under --flush tlb an AS_UPDATE from CPL 0 that applied fewer updates
# than asked sets %rdx to the error (docs/abi.md) also when the call needs
# the flush stub: stub__run's KVM_RUN (immediate_exit) once stored the
# vCPU's registers back over the kvm_run copy before they were marked
# dirty, and the guest got its own %rdx (the count) instead of
# -UMBRA_EINVAL.
. "$top_srcdir/tests/vmm/lib.sh"
require_kvm
require_python

# The 12 cases and the partial batch, which invalidates leaf 4's page.
stubcheck_tlb partial 13 5
exit 0
