#!/usr/bin/env python3
"""tracecost: what `umbra run --trace` costs (a benchmark, not a test).

Runs the same guest with tracing off and on, alternating run after run so
that a noisy host hurts both alike, and prints the medians of the time from
umbra's start to its exit, of the report's wall time (the guest's run) and
of umbra's user CPU time (the VMM's own work, where the recording is: the
guest's emulation on a software KVM is system time).
With --base, a second umbra binary (say, one built before tracing existed)
takes part too, without --trace: what the hooks cost when tracing is off.

    bench/tracecost.py --runs 15
    bench/tracecost.py --runs 15 --base /tmp/old/vmm/umbra -- forkstorm workers=2 forks=20
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_once(umbra, trace, args, tmp):
    report = os.path.join(tmp, "stats.json")
    cmd = [umbra, "run", "--stats", "none", "--stats-file", report]
    if trace:
        cmd += ["--trace", os.path.join(tmp, "trace.json")]
    cmd += ["--"] + args if args else []
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.monotonic() - t0
    if p.returncode != 0:
        sys.exit(f"tracecost: {' '.join(cmd)}: exit code {p.returncode}\n{p.stderr}")
    with open(report) as f:
        t = json.load(f)["time"]
    return elapsed, t["wall_ns"] / 1e9, t["user_ns"] / 1e9


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--umbra", default=os.path.join(TOP, "vmm", "umbra"))
    ap.add_argument("--base", help="another umbra binary, run without --trace")
    ap.add_argument("--runs", type=int, default=11, help="runs of each variant")
    ap.add_argument("args", nargs="*", help="guest arguments (default: its default workload)")
    a = ap.parse_args()
    variants = [("tracing off", a.umbra, False), ("tracing on", a.umbra, True)]
    if a.base:
        variants.insert(0, ("base (no hooks)", a.base, False))
    times = {name: [] for name, _, _ in variants}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(a.runs):
            for name, umbra, trace in variants:
                times[name].append(run_once(umbra, trace, a.args, tmp))
    off = statistics.median(t[0] for t in times["tracing off"])
    print(f"{'variant':<18} {'umbra start to exit (s)':>24} {'vs off':>8} {'guest run (s)':>14} "
          f"{'VMM user CPU (s)':>17}")
    for name, _, _ in variants:
        total, guest, user = (statistics.median(t[k] for t in times[name]) for k in range(3))
        print(f"{name:<18} {total:>24.3f} {100 * (total / off - 1):>+7.1f}% {guest:>14.3f} "
              f"{user:>17.3f}")
    print(f"medians of {a.runs} alternating runs each; min..max of start-to-exit:")
    for name, _, _ in variants:
        ts = [t[0] for t in times[name]]
        print(f"  {name:<16} {min(ts):.3f}..{max(ts):.3f} s")


if __name__ == "__main__":
    main()
