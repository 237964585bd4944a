#!/bin/sh
# The astest guest drives the address-space hypercalls in every paging
# mode: native refuses them; in share, copy and lazy it creates, switches,
# faults, updates (a CPL 3 read must see a re-pointed entry: the flush),
# forks with copy-on-write, and destroys. The report's counters must agree
# with what the guest saw. Then once more with --check.
. "$top_srcdir/tests/vmm/lib.sh"
require_kvm
require_python

guest=$GUESTS/astest.elf

run_umbra run --paging native --mem 64M --vcpus 1 --timeout $RUN_TIMEOUT --stats none \
	--stats-file "$tmp/native.json" "$guest"
expect_rc 0 "astest, native"
grep -qx 'astest: native: every address-space call refused' "$tmp/out" || fail "native: $(cat "$tmp/out")"

for mode in share copy lazy; do
	for check in "" --check; do
		run_umbra run --paging $mode $check --mem 64M --vcpus 1 --timeout $RUN_TIMEOUT \
			--stats none --stats-file "$tmp/$mode.json" "$guest"
		cat "$tmp/out"
		expect_rc 0 "astest, $mode $check"
		verdict=$(grep '^astest: ok ' "$tmp/out") || fail "$mode: no verdict"
		"$PYTHON3" - "$tmp/$mode.json" $mode "$verdict" <<'PY' || fail "$mode $check: counters"
import json, os, re, sys
sys.path.insert(0, os.path.join(os.environ["top_srcdir"], "tests", "vmm"))
import reportcheck
d = json.load(open(sys.argv[1]))
mode = sys.argv[2]
seen = {k: int(v, 16) for k, v in re.findall(r"(\w+)=(0x[0-9a-f]+)", sys.argv[3])}
def check(what, got, want):
    reportcheck.check(what, got, want, f"{mode}: ")
t = d["total"]
h = t["hypercalls"]
sh = t["shadow"]
check("result", (d["result"]["stop"], d["result"]["exit_code"]), ("exit", 0))
check("as_create", h["as_create"], {"calls": 1, "errors": 0})
check("as_fork", h["as_fork"], {"calls": 1, "errors": 0})
check("as_switch", h["as_switch"], {"calls": 4, "errors": 0})
# One -EBUSY (destroying the loaded one), one -EBADF (destroying it twice).
check("as_destroy", h["as_destroy"], {"calls": 4, "errors": 2})
# Step 2's re-point and the child's copy-on-write.
check("as_update", h["as_update"], {"calls": 2, "errors": 0})
check("shadow updates", sh["updates"], 2)
faults = seen["fixed"] + seen["guest"] + seen["spurious"]
check("as_fault", h["as_fault"], {"calls": faults, "errors": 0})
check("guest faults", (seen["guest"], sh["fault_guest"]), (1, 1))
check("spurious faults", sh["fault_spurious"], seen["spurious"])
check("fills", sh["fill_private"] + sh["fill_shared"], seen["fixed"])
check("forks", (sh["forks_share"], sh["forks_copy"], sh["forks_lazy"]),
      tuple(int(m == mode) for m in ("share", "copy", "lazy")))
if mode == "share":
    # The fork shared A's one pmd page (count 1 -> 2); the child's write unshared it.
    check("share_exclusive", sh["share_exclusive"], 1)
    check("unshare_copy", sh["unshare_copy"], 1)
check("address spaces at the end", t["shadow_pool"]["address_spaces_now"], 0)
check("pool full at the end", d["result"]["shadow_pool_full"], True)
# The re-pointed entry needed a flush: of all of KVM's shadow or of the old
# frame (a shadow-paging KVM), or of the vCPU's TLB by the stub (a TDP KVM);
# step 2's read checks that it took effect. Every flush the library counted
# is one the VMM made.
if t["flushes"] + t["frame_flushes"] + t["tlb_flushes"] < 1:
    sys.exit(f"{mode}: no flush")
check("flushes", sh["flushes"], t["flushes"])
phases = [p["name"] for p in d["phases"]]
check("phases", phases, ["boot", "setup", "fork", "child", "exit_wait"])
fork = [p for p in d["phases"] if p["name"] == "fork"][0]["total"]
check("fork phase as_fork", fork["hypercalls"]["as_fork"]["calls"], 1)
check("fork phase shadow forks", fork["shadow"]["forks_" + mode], 1)
PY
	done
done
exit 0
