#!/bin/sh
# Hostile guest, class 3 (docs/hostile.md): the handlewrap guest creates
# and destroys address spaces in one handle slot 65536 times, until the
# slot's 16-bit generation comes round to its first handle's. The slot
# must be retired: the next AS_CREATE finds no slot (-ENOSPC) and the
# first handle stays -EBADF. (7c60f4c handed the first handle out again
# and AS_SWITCH to it succeeded.) The guest checks the codes; here, the
# verdict and the report's exact call and error counts. The loop takes
# ~4 s on the development machine (the guest prints its time).
. "$top_srcdir/tests/vmm/lib.sh"
require_kvm
require_python

run_umbra run --paging share --check --mem 64M --vcpus 1 --timeout 60 --stats none \
	--stats-file "$tmp/r.json" "$GUESTS/handlewrap.elf"
cat "$tmp/out"
expect_rc 0 handlewrap
grep -qx 'handlewrap: ok: after 0x0000000000010000 address spaces in one slot it is retired (-ENOSPC), and the first handle 0x0000000000001000 is -EBADF' \
	"$tmp/out" || fail "no verdict"
"$PYTHON3" - "$tmp/r.json" <<'PY' || fail "report"
import json, sys
d = json.load(open(sys.argv[1]))
t = d["total"]
h = t["hypercalls"]
fillers, cycles = 4095, 65536
want = {
    # fillers, the cycles, and the one after the wrap (-ENOSPC)
    "as_create": {"calls": fillers + cycles + 1, "errors": 1},
    # the cycles, the first handle again (-EBADF), the fillers
    "as_destroy": {"calls": cycles + 1 + fillers, "errors": 1},
    "as_switch": {"calls": 1, "errors": 1},  # to the first handle: -EBADF
}
for call, v in want.items():
    got = {k: h[call][k] for k in ("calls", "errors")}
    if got != v:
        sys.exit(f"{call}: {got}, expected {v}")
r = d["result"]
if (r["stop"], r["exit_code"], r["shadow_pool_full"]) != ("exit", 0, True):
    sys.exit(f"result {r}")
if t["shadow_pool"]["address_spaces_now"] != 0:
    sys.exit("address spaces left")
PY
exit 0
