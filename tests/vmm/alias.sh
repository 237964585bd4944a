#!/bin/sh
# Hostile guest, class 2 (docs/hostile.md): the alias guest aliases guest
# page-table pages in six ways (its header says how) and checks the VMM's
# answer itself: -EEXIST, -EACCES, -EINVAL, -ESTALE where the shadow
# library refuses, and no CPL 3 read of memory its kernel did not map.
# Every mode runs in every shadow policy with --check, so the invariants
# (soundness included) are checked after each attack and at the end.
# Here: the exit code, the guest's verdict, and the report's error counts
# per call, so that a refusal is the call the guest meant.
# (7c60f4c accepted root, link and forkroot, and let CPL 3 read the
# secret in leaf, behind and stale.)
. "$top_srcdir/tests/vmm/lib.sh"
require_kvm
require_python

guest=$GUESTS/alias.elf

for mode in root link forkroot leaf behind stale; do
	for paging in share copy lazy; do
		what="alias $mode, $paging --check"
		run_umbra run --paging $paging --check --mem 64M --vcpus 1 --timeout $RUN_TIMEOUT \
			--stats none --stats-file "$tmp/r.json" "$guest" -- $mode
		cat "$tmp/out"
		expect_rc 0 "$what"
		grep -qx "alias: $mode: ok" "$tmp/out" || fail "$what: no verdict"
		"$PYTHON3" - "$tmp/r.json" $mode $paging <<'PY' || fail "$what: report"
import json, sys
d = json.load(open(sys.argv[1]))
mode, paging = sys.argv[2], sys.argv[3]
t = d["total"]
h = t["hypercalls"]
sh = t["shadow"]
# The calls that must have failed, and how often; every other call succeeded.
refused = {
    "root": {"as_create": 3},      # -EEXIST, -EEXIST, -EACCES
    "link": {},                    # AS_UPDATE applies 0 of 1: not an error
    "forkroot": {"as_fork": 2},    # -EEXIST, -EINVAL
    "leaf": {"as_fault": 1},       # -EACCES
    "behind": {},
    "stale": {"as_fault": 1},      # -ESTALE
}[mode]
for call, v in h.items():
    if call != "total" and v["errors"] != refused.get(call, 0):
        sys.exit(f"{mode} {paging}: {call} {v}, expected {refused.get(call, 0)} errors")
# Ownership refusals that the library counts as such.
want = {"root": 3, "link": 1, "forkroot": 1, "leaf": 1}.get(mode, 0)
if sh["ownership_refusals"] != want:
    sys.exit(f"{mode} {paging}: ownership_refusals {sh['ownership_refusals']}, expected {want}")
if mode == "behind" and paging == "share" and sh["unshare_copy"] != 1:
    sys.exit(f"{mode}: B's fill did not unshare the page it shared with A: {sh}")
r = d["result"]
if (r["stop"], r["exit_code"], r["shadow_pool_full"]) != ("exit", 0, True):
    sys.exit(f"{mode} {paging}: result {r}")
if t["shadow_pool"]["address_spaces_now"] != 0:
    sys.exit(f"{mode} {paging}: address spaces left")
PY
	done
done
exit 0
