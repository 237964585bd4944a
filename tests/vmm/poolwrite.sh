#!/bin/sh
# Hostile guest, class 1 (docs/hostile.md): the poolwrite guest stores a
# bogus leaf into the shadow pool, before its first AS_SWITCH (early) and
# after loading its own CR3 (cr3). On a shadow-paging KVM the pool is a
# read-only memslot: the store must stop the guest with exit code 126 and a
# message naming the address it wrote, before the library can read the
# bogus leaf back. On a TDP KVM the pool must stay writable (the report's
# run.pool_readonly is false; docs/architecture.md): the store lands, and
# the next shadow call that reads the leaf must find it corrupt and stop
# the VMM cleanly, 125 with "the shadow is corrupt: ...", never a crash.
# (7c60f4c let the store land and died of SIGSEGV in the teardown.)
. "$top_srcdir/tests/vmm/lib.sh"
require_kvm
require_python

guest=$GUESTS/poolwrite.elf

for mode in early cr3; do
	for paging in share copy lazy; do
		for check in "" --check; do
			what="poolwrite $mode, $paging $check"
			run_umbra run --paging $paging $check --mem 64M --vcpus 1 \
				--timeout $RUN_TIMEOUT --stats none --stats-file "$tmp/r.json" \
				"$guest" -- $mode
			cat "$tmp/out"
			! grep -q 'FAIL' "$tmp/out" || fail "$what: the guest went on"
			gpa=$(sed -n "s/^poolwrite: $mode: writing the shadow leaf at gpa \(0x[0-9a-f]*\)$/\1/p" \
				"$tmp/out")
			[ -n "$gpa" ] || fail "$what: the guest did not say where it writes"
			gpa=$(printf '%#x' $((gpa)))
			if grep -q '"pool_readonly": true' "$tmp/r.json"; then
				expect_rc 126 "$what"
				expect_err "umbra: vCPU 0: write of 8 byte(s) at guest-physical $gpa, which is not guest RAM (rip 0x"
			else
				expect_rc 125 "$what (a writable pool)"
				expect_err "the shadow is corrupt: "
			fi
			"$PYTHON3" - "$tmp/r.json" "$what" <<'PY' || fail "$what: report"
import json, sys
d = json.load(open(sys.argv[1]))
r = d["result"]
if not d["run"]["pool_readonly"]:
    # The store landed; the shadow call that read the leaf failed (-EUCLEAN)
    # and stopped the VMM: nothing after it ran.
    if (r["stop"], r["exit_code"]) != ("vmm_error", 125) or "shadow is corrupt" not in r["message"]:
        sys.exit(f"{sys.argv[2]}: result {r}")
    sys.exit(0)
if (r["stop"], r["exit_code"]) != ("guest_error", 126):
    sys.exit(f"{sys.argv[2]}: result {r}")
# The store never landed: the guest's address space is still whole, and
# no shadow call failed (a corrupt shadow would have been -EUCLEAN, 125).
h = d["total"]["hypercalls"]
for call in ("as_create", "as_fault", "as_destroy"):
    if h[call]["errors"]:
        sys.exit(f"{sys.argv[2]}: {call} {h[call]}")
if h["as_destroy"]["calls"]:
    sys.exit(f"{sys.argv[2]}: the guest ran on to AS_DESTROY")
PY
		done
	done
done
exit 0
