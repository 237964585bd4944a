#!/bin/sh
# UMBRA_HC_IDLE waits for its timeout when nothing kicks the vCPU, and a
# kick latched before the park ends it at once (the guest checks both with
# UMBRA_HC_CLOCK and exits 1 on a violation).
. "$top_srcdir/tests/vmm/lib.sh"
require_kvm

run_umbra run --paging native --vcpus 1 --stats none --timeout $RUN_TIMEOUT "$GUESTS/idle.elf"
cat "$tmp/out"
expect_rc 0 "idle"
grep -qx "idle: ok" "$tmp/out" || fail "the guest did not say ok"
