#!/bin/sh
# The hello guest through the 16550: its output, and a report that counts
# exactly what it did (per byte one line-status read and one data write,
# then one exit hypercall), as a table and as JSON; and the default guest
# image next to the binary.
. "$top_srcdir/tests/vmm/lib.sh"
require_kvm
require_python

hello=$GUESTS/hello.elf
message="hello from umbra"
bytes=$((${#message} + 1))

run_umbra run --paging native --timeout $RUN_TIMEOUT --stats table "$hello"
expect_rc 0 "hello"
[ "$(cat "$tmp/out")" = "$message" ] || fail "stdout is '$(cat "$tmp/out")'"
expect_err "umbra: guest exited with status 0 (exit code 0)"
# Table rows: name, then the boot phase, each vCPU, the total ("exit", not
# "exit time (us)").
row() {
	grep -E "^  $1 +[0-9]" "$tmp/err" | tr -s ' ' | cut -d' ' -f3-
}
[ "$(row io)" = "$((2 * bytes + 1)) $((2 * bytes + 1)) 0 $((2 * bytes + 1))" ] ||
	fail "io row: $(row io)"
[ "$(row com1_data)" = "$bytes $bytes 0 $bytes" ] || fail "com1_data row: $(row com1_data)"
[ "$(row com1_lsr)" = "$bytes $bytes 0 $bytes" ] || fail "com1_lsr row: $(row com1_lsr)"
[ "$(row exit)" = "1 1 0 1" ] || fail "exit row: $(row exit)"

run_umbra run --paging native --timeout $RUN_TIMEOUT --vcpus 1 --stats json \
	--stats-file "$tmp/stats.json" "$hello"
expect_rc 0 "hello, JSON"
sed -n '/^{/,$p' "$tmp/err" >"$tmp/stderr.json"
"$PYTHON3" -m json.tool "$tmp/stderr.json" >/dev/null || fail "JSON on stderr does not parse"
"$PYTHON3" -m json.tool "$tmp/stats.json" >/dev/null || fail "--stats-file does not parse"
cmp -s "$tmp/stderr.json" "$tmp/stats.json" || fail "stderr and --stats-file differ"
"$PYTHON3" - "$tmp/stats.json" "$bytes" <<'PY' || fail "JSON counts"
import json, os, sys
sys.path.insert(0, os.path.join(os.environ["top_srcdir"], "tests", "vmm"))
import reportcheck
d = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
check = reportcheck.check
check("format", (d["format"], d["version"]), ("umbra-stats", 1))
check("result", (d["result"]["stop"], d["result"]["status"], d["result"]["exit_code"]),
      ("exit", 0, 0))
check("run.paging", d["run"]["paging"], "native")
t = d["total"]
check("exits.total", t["exits"]["total"], 2 * n + 1)
check("exits.io", t["exits"]["io"], 2 * n + 1)
check("io", t["io"], {"hypercall": 1, "com1_data": n, "com1_lsr": n, "unhandled": 0})
check("hypercalls.total", t["hypercalls"]["total"], {"calls": 1, "errors": 0})
check("hypercalls.exit", t["hypercalls"]["exit"], {"calls": 1, "errors": 0})
check("phases", [p["name"] for p in d["phases"]], ["boot"])
check("phase boot", d["phases"][0]["total"]["exits"], t["exits"])
reportcheck.stays(d)
boot = d["phases"][0]["total"]
check("phase boot: one stay", boot["longest_ns"], boot["time_ns"])
check("vcpus", len(d["vcpus"]), 1)
if t["kvm"] is not None and t["kvm"]["exits"] < t["exits"]["total"]:
    sys.exit(f"KVM counted {t['kvm']['exits']} exits, fewer than the {t['exits']['total']} in user space")
PY

# Without KERNEL: the guest image at <umbra's directory>/../guest/.
mkdir -p "$tmp/tree/vmm" "$tmp/tree/guest"
cp "$UMBRA" "$tmp/tree/vmm/umbra"
cp "$hello" "$tmp/tree/guest/umbra-guest.elf"
rc=0
"$tmp/tree/vmm/umbra" run --paging native --stats none --timeout $RUN_TIMEOUT \
	>"$tmp/out" 2>"$tmp/err" || rc=$?
expect_rc 0 "umbra run without KERNEL"
[ "$(cat "$tmp/out")" = "$message" ] || fail "default image: stdout is '$(cat "$tmp/out")'"
exit 0
