#!/bin/sh
# The hypercount guest makes exactly N hypercalls of each kind (N from its
# command line); the JSON report must count each one, its errors, its
# exits, and charge them to the right vCPU and phase.
. "$top_srcdir/tests/vmm/lib.sh"
require_kvm
require_python

n=5
run_umbra run --paging native --vcpus 2 --timeout $RUN_TIMEOUT --stats none \
	--stats-file "$tmp/stats.json" "$GUESTS/hypercount.elf" -- $n
expect_rc 0 "hypercount"
[ "$(grep -c '^hypercount$' "$tmp/out")" -eq $n ] || fail "expected $n console lines"

"$PYTHON3" - "$tmp/stats.json" $n <<'PY' || fail "JSON counts"
import json, os, sys
sys.path.insert(0, os.path.join(os.environ["top_srcdir"], "tests", "vmm"))
import reportcheck
d = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
check = reportcheck.check
as_calls = ["as_create", "as_destroy", "as_fork", "as_fault", "as_update", "as_switch"]
want = {"version": (n, 0), "console": (n, 0), "exit": (1, 0), "panic": (0, 0),
        "phase": (n, 0), "cpu_start": (n, n - 1), "idle": (n, 0), "kick": (n, 0),
        "clock": (2 * n, 0), "page_clear": (n, 0), "page_copy": (n, n), "unknown": (n, n)}
want.update({c: (n, n) for c in as_calls})  # -EOPNOTSUPP in native mode
t = d["total"]
for name, (calls, errors) in want.items():
    check(name, t["hypercalls"][name], {"calls": calls, "errors": errors})
calls = sum(c for c, e in want.values())
errors = sum(e for c, e in want.values())
check("hypercalls.total", t["hypercalls"]["total"], {"calls": calls, "errors": errors})
check("io.hypercall", t["io"]["hypercall"], calls)
check("exits.io", t["exits"]["io"], calls)
# vCPU 1: its n clock calls, then hlt (or a kick out of the guest if vCPU 0
# exits first).
v1 = d["vcpus"][1]
check("vcpu1 hypercalls", v1["hypercalls"]["total"], {"calls": n, "errors": 0})
check("vcpu1 clock", v1["hypercalls"]["clock"]["calls"], n)
check("vcpu0 clock", d["vcpus"][0]["hypercalls"]["clock"]["calls"], n)
# Phases: vCPU 0's first PHASE call is made in "boot", all else in "user6".
phases = {p["name"]: p for p in d["phases"]}
check("phase names", sorted(phases), ["boot", "user6"])
boot0 = [v for v in phases["boot"]["vcpus"] if v["vcpu"] == 0][0]
check("boot vcpu0 hypercalls", boot0["hypercalls"]["total"], {"calls": 1, "errors": 0})
check("boot vcpu0 phase", boot0["hypercalls"]["phase"]["calls"], 1)
user = phases["user6"]
check("user6 vcpus", [v["vcpu"] for v in user["vcpus"]], [0])
reportcheck.stays(d)
# n stays in user6: each PHASE call there ends one
if not 0 < user["total"]["longest_ns"] < user["total"]["time_ns"]:
    sys.exit(f"user6: longest stay {user['total']['longest_ns']} ns of {user['total']['time_ns']} ns")
# the longest call of a kind is one of its calls, and the longest of all is one of them
check("longest hypercall", t["hypercalls"]["total"]["max_ns"],
      max(h["max_ns"] for k, h in t["hypercalls"].items() if k != "total"))
check("user6 hypercalls", user["total"]["hypercalls"]["total"],
      {"calls": calls - 1 - n, "errors": errors})
for v in d["vcpus"]:
    if v["kvm"] is not None and v["kvm"]["exits"] < v["exits"]["total"]:
        sys.exit(f"vCPU {v['vcpu']}: KVM counted fewer exits than user space saw")
PY
exit 0
