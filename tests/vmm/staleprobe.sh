#!/bin/sh
# The stale-translation probe (tests/guests/staleprobe.S, docs/testing.md):
# after the VMM changed a translation the vCPU had cached (a re-pointed
# leaf, a leaf that lost W, a re-pointed PD entry, freed and reused pool
# pages), the next access must see the change.
#   --flush auto and drop, every paging mode, with and without --check:
#     every step fresh, exit 0, and the flushes that made them so counted.
#   --flush off: on a shadow-on-shadow KVM (this machine's kvm_pvm, npt=0)
#     KVM keeps the stale view: exit 3, at least one step STALE. On a TDP
#     KVM (nested npt=1) QEMU flushes its TLB at every world switch, so it
#     may pass: only reported.
#   --flush tlb: the TDP mode. On a TDP KVM it must pass; on a shadow-on-
#     shadow KVM its invlpg and CR3 loads do not reach KVM's shadow: exit 3
#     with the stub run (tlb_flushes counted), so a pass there would mean
#     the stub did not run or something else flushed.
. "$top_srcdir/tests/vmm/lib.sh"
require_kvm
require_python

guest=$GUESTS/staleprobe.elf

# probe PAGING FLUSH [--check]: one run on a 2 MiB pool (step 4 runs it
# short, so deferred frees are reused too); $tmp/out, $tmp/report.json, $rc.
probe() {
	run_umbra run --paging "$1" --flush "$2" ${3:-} --mem 64M --pool 2M --vcpus 1 \
		--timeout $RUN_TIMEOUT --stats none --stats-file "$tmp/report.json" "$guest"
}

# check_run WHAT FLUSH: the verdict lines and the report of the last probe
# agree with each other and with what FLUSH must do on this KVM; prints
# the kind of KVM, the status and the stale steps.
check_run() {
	"$PYTHON3" - "$tmp/report.json" "$tmp/out" "$rc" "$2" "$1" <<'PY' || fail "$1"
import json, re, sys
d = json.load(open(sys.argv[1]))
lines = open(sys.argv[2]).read().splitlines()
rc = int(sys.argv[3])
flush = sys.argv[4]
kind = d["run"]["kvm_kind"]
t = d["total"]

steps = ["leaf-repoint", "narrow-w", "pd-repoint", "pool-reuse"]
want = [f"{s} cpl{c}" for c in (3, 0) for s in steps]
verdicts = [l for l in lines if l.startswith("staleprobe: ")]
seen = []
stale = []
for l in verdicts:
    m = re.match(r"staleprobe: (fresh|STALE) (\S+ cpl\d)(: .*)?$", l)
    if not m:
        sys.exit(f"not a verdict: {l}")
    seen.append(m.group(2))
    if m.group(1) == "STALE":
        stale.append(m.group(2))
    if m.group(2).startswith("pool-reuse"):
        # Every run must really reuse freed pool pages.
        r = re.search(r"(\d+) on a reused root$", l)
        if not r or int(r.group(1)) == 0:
            sys.exit(f"step 4 reused no root: {l}")
if seen != want:
    sys.exit(f"verdicts for {seen}, expected {want}:\n" + "\n".join(lines))
if d["result"]["exit_code"] != rc:
    sys.exit(f"exit code {rc}, the report says {d['result']['exit_code']}")
if rc != (3 if stale else 0):
    sys.exit(f"exit code {rc} with {len(stale)} stale steps")

expect_flush = {"auto": "copy" if kind == "shadow" else "tlb"}.get(flush, flush)
if d["run"]["flush"] != expect_flush:
    sys.exit(f"run.flush {d['run']['flush']}, expected {expect_flush} on a {kind} KVM")
must_pass = flush in ("auto", "drop") or (flush == "tlb" and kind == "tdp")
must_stale = kind == "shadow" and flush in ("off", "tlb")
if must_pass and rc != 0:
    sys.exit(f"--flush {flush} on a {kind} KVM: stale {stale}")
if must_stale and rc != 3:
    sys.exit(f"--flush {flush} on a {kind} KVM: every step fresh, expected some stale")
# The flushes that the mode made (or, for off, did not make).
if d["run"]["flush"] == "copy" and (t["root_moves"] == 0 or t["frame_flushes"] == 0):
    sys.exit(f"copy: root_moves {t['root_moves']}, frame_flushes {t['frame_flushes']}")
if d["run"]["flush"] in ("copy", "drop") and t["flushes"] == 0:
    sys.exit(f"{d['run']['flush']}: no whole-VM flush (nothing left limbo)")
if d["run"]["flush"] == "tlb" and (t["tlb_flushes"] == 0 or t["tlb_pages"] == 0):
    sys.exit(f"tlb: the stub did not run: {t['tlb_flushes']} flushes, {t['tlb_pages']} pages")
if d["run"]["flush"] == "off" and t["flushes"] + t["frame_flushes"] + t["tlb_flushes"] != 0:
    sys.exit("off: flushed")
print(f"{sys.argv[5]} on a {kind} KVM ({d['run']['kvm']}): exit {rc}, stale: "
      + (", ".join(stale) or "none"))
PY
}

for paging in share copy lazy; do
	for flush in auto drop; do
		for check in "" --check; do
			probe $paging $flush $check
			check_run "$paging, --flush $flush $check" $flush
		done
	done
	for flush in off tlb; do
		probe $paging $flush
		check_run "$paging, --flush $flush" $flush
	done
done
exit 0
