#!/bin/sh
# Under --flush tlb a guest's first AS_SWITCH, made at CPL 0 from its own
# boot tables, must load its root without the flush stub, which only
# shadow roots map (PML4 slot 511): once it sent the vCPU there, to a #PF
# at 0xffffff8000000000 (every guest kernel switches so, and --flush auto
# is tlb on a TDP KVM). The 12 cases after it still go through the stub.
. "$top_srcdir/tests/vmm/lib.sh"
require_kvm
require_python

# The first switch needs no stub (there is nothing cached to flush and
# nothing to return through); the 12 cases do, and 4 of them invalidate.
stubcheck_tlb boot 12 4
exit 0
