#!/bin/sh
# Under --flush tlb a guest's first AS_SWITCH, made at CPL 0 from its own
# boot tables, must load its root without the flush stub, which only
# shadow roots map (PML4 slot 511): once it sent the vCPU there, to a #PF
# at 0xffffff8000000000 (every guest kernel switches so, and --flush auto
# is tlb on a TDP KVM). The 12 cases after it still go through the stub.
. "$top_srcdir/tests/vmm/lib.sh"
require_kvm
require_python

run_umbra run --paging share --flush tlb --mem 64M --vcpus 1 --timeout $RUN_TIMEOUT \
	--stats none --stats-file "$tmp/report.json" "$GUESTS/stubcheck.elf" -- boot
cat "$tmp/out"
expect_rc 0 "stubcheck boot"
grep -qx "stubcheck: ok at cpl0" "$tmp/out" || fail "no verdict"
"$PYTHON3" - "$tmp/report.json" <<'PY' || fail "report"
import json, sys
t = json.load(open(sys.argv[1]))["total"]
# The first switch needs no stub (there is nothing cached to flush and
# nothing to return through); the 12 cases do.
if (t["tlb_flushes"], t["tlb_pages"]) != (12, 4):
    sys.exit(f"{t['tlb_flushes']} stub runs, {t['tlb_pages']} pages, expected 12 and 4")
PY
exit 0
