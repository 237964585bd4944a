#!/bin/sh
# The badargs guest sends bad arguments to every hypercall that takes any
# and checks each error code itself; the VMM must stay up, and count each
# error it returned.
. "$top_srcdir/tests/vmm/lib.sh"
require_kvm
require_python

# native: the address-space calls are refused; share: the VMM's and the
# library's argument checks (the same for copy and lazy).
for mode in native share; do
	run_umbra run --paging $mode --vcpus 2 --mem 64M --timeout $RUN_TIMEOUT --stats none \
		--stats-file "$tmp/stats.json" "$GUESTS/badargs.elf"
	cat "$tmp/out"
	expect_rc 0 "badargs, $mode"
	verdict=$(grep '^badargs: cases passed: ' "$tmp/out") || fail "$mode: no verdict from the guest"
	cases=$(echo "$verdict" | sed 's/.*passed: \(0x[0-9a-f]*\),.*/\1/')
	errors=$(echo "$verdict" | sed 's/.*among them: \(0x[0-9a-f]*\)$/\1/')
	"$PYTHON3" - "$tmp/stats.json" $((cases)) $((errors)) <<'PY' || fail "$mode: JSON counts"
import json, sys
d = json.load(open(sys.argv[1]))
cases, errors = int(sys.argv[2]), int(sys.argv[3])
t = d["total"]["hypercalls"]
# The cases, their verdict line (3 console calls and 2 for the numbers) and the exit.
want = {"calls": cases + 5 + 1, "errors": errors}
if {k: t["total"][k] for k in ("calls", "errors")} != want:
    sys.exit(f"hypercalls: {t['total']}, expected {want}")
if d["result"]["stop"] != "exit":
    sys.exit(f"the guest did not exit: {d['result']}")
PY
done
exit 0
