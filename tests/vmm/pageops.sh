#!/bin/sh
# The pageops guest checks UMBRA_HC_PAGE_CLEAR and UMBRA_HC_PAGE_COPY itself
# (results, exact error codes, nothing written by a refused call) in native
# and share mode (the calls work alike in every paging mode); the report
# must count the calls and errors the guest counted.
. "$top_srcdir/tests/vmm/lib.sh"
require_kvm
require_python

for mode in native share; do
	run_umbra run --paging $mode --vcpus 1 --mem 64M --timeout $RUN_TIMEOUT --stats none \
		--stats-file "$tmp/stats.json" "$GUESTS/pageops.elf"
	cat "$tmp/out"
	expect_rc 0 "pageops, $mode"
	grep -q '^pageops: cases passed: 0x0000000000000012, errors among them: 0x000000000000000e$' \
		"$tmp/out" || fail "$mode: no verdict, or not 18 cases with 14 errors"
	counts=$(grep '^pageops: page_clear calls ' "$tmp/out") || fail "$mode: no call counts"
	grep -q '^pageops: ns per page: rep stosq 0x' "$tmp/out" || fail "$mode: no timings"
	"$PYTHON3" - "$tmp/stats.json" "$counts" <<'PY' || fail "$mode: JSON counts"
import json, re, sys
d = json.load(open(sys.argv[1]))
n = [int(x, 16) for x in re.findall(r"0x[0-9a-f]+", sys.argv[2])]
h = d["total"]["hypercalls"]
for name, (calls, errors) in (("page_clear", n[0:2]), ("page_copy", n[2:4])):
    got = {k: h[name][k] for k in ("calls", "errors")}
    if got != {"calls": calls, "errors": errors}:
        sys.exit(f"{name}: report {got}, guest counted {calls} calls, {errors} errors")
PY
done
exit 0
