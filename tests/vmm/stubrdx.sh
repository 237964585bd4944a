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

run_umbra run --paging share --flush tlb --mem 64M --vcpus 1 --timeout $RUN_TIMEOUT \
	--stats none --stats-file "$tmp/report.json" "$GUESTS/stubcheck.elf" -- partial
cat "$tmp/out"
expect_rc 0 "stubcheck partial"
grep -qx "stubcheck: ok at cpl0" "$tmp/out" || fail "no verdict"
"$PYTHON3" - "$tmp/report.json" <<'PY' || fail "report"
import json, sys
t = json.load(open(sys.argv[1]))["total"]
# The 12 cases and the partial batch, which invalidates leaf 4's page.
if (t["tlb_flushes"], t["tlb_pages"]) != (13, 5):
    sys.exit(f"{t['tlb_flushes']} stub runs, {t['tlb_pages']} pages, expected 13 and 5")
PY
exit 0
