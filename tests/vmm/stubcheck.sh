#!/bin/sh
# The flush stub's mechanics (tests/guests/stubcheck.S, docs/testing.md):
# under --flush tlb, twelve hypercalls from CPL 0 resume through the stub
# (4 root loads, 4 page invalidations, 4 CR3 reloads) and must come back
# with every register but %rax, RFLAGS and the stack as they were, %rax
# the result, at the instruction after the `out`, through `out imm8` and
# `out (%dx)` alike. The report must show the stub ran for each of them.
# From CPL 3 the stub cannot run: the VMM must fall back to whole-VM
# flushes, and the guest still get its registers back. The other flush
# modes load roots and flush without the stub: the same check there.
. "$top_srcdir/tests/vmm/lib.sh"
require_kvm
require_python

guest=$GUESTS/stubcheck.elf

# stub_run WHAT FLUSH WANT [GUEST ARG]: a run; exit 0, the verdict, and
# WANT = "tlb_flushes tlb_pages flushes" from the JSON report.
stub_run() {
	run_umbra run --paging share --flush "$2" --mem 64M --vcpus 1 --timeout $RUN_TIMEOUT \
		--stats none --stats-file "$tmp/report.json" "$guest" -- ${4:-}
	cat "$tmp/out"
	expect_rc 0 "$1"
	cpl=0
	[ "${4:-}" = cpl3 ] && cpl=3
	grep -qx "stubcheck: ok at cpl$cpl" "$tmp/out" || fail "$1: no verdict"
	"$PYTHON3" - "$tmp/report.json" "$1" $3 <<'PY' || fail "$1: report"
import json, os, sys
sys.path.insert(0, os.path.join(os.environ["top_srcdir"], "tests", "vmm"))
import reportcheck
d = json.load(open(sys.argv[1]))
what = sys.argv[2]
want = [int(a) for a in sys.argv[3:6]]
t = d["total"]
h = t["hypercalls"]
def check(name, got, expected):
    reportcheck.check(name, got, expected, f"{what}: ")
# The cases and what comes around them: a create, the 9 fills (leaf 4's
# for the partial batch, which these runs do not make), a switch before
# the cases and one after, a destroy. Each made once: a stub that returned
# to the `out` would make it twice.
check("as_switch", h["as_switch"], {"calls": 6, "errors": 0})
check("as_update", h["as_update"], {"calls": 8, "errors": 0})
check("as_fault", h["as_fault"], {"calls": 9, "errors": 0})
check("as_create", h["as_create"], {"calls": 1, "errors": 0})
check("as_destroy", h["as_destroy"], {"calls": 1, "errors": 0})
check("tlb_flushes tlb_pages flushes", [t["tlb_flushes"], t["tlb_pages"], t["flushes"]], want)
print(f"{what}: {t['tlb_flushes']} stub runs, {t['tlb_pages']} pages invalidated, "
      f"{t['flushes']} whole-VM flushes")
PY
}

# 12 stub runs; the 4 narrowed leaves are the pages it invalidated.
stub_run "--flush tlb, cases at CPL 0" tlb "12 4 0"
# The 4 narrowed leaves and 4 re-pointed PD entries: a whole-VM drop each.
stub_run "--flush tlb, cases at CPL 3" tlb "0 0 8" cpl3
# No stub: copy drops the old frames and moves the root, drop drops all.
stub_run "--flush copy" copy "0 0 0"
stub_run "--flush drop" drop "0 0 8"
exit 0
