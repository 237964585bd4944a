#!/usr/bin/env python3
"""soak: a long fork storm in share mode under --check (a soak, not a test;
not in CI).

One umbra run of forkstorm on 2 vCPUs in share mode with --check: the
shadow MMU's invariants are checked at every phase marker (several per
fork) and at the end, and freed shadow pages are poisoned so that a stale
walk faults. The run must end with status 0 and the shadow pool full again
(the report's result.shadow_pool_full). Prints one line:

    soak: forks=N forks_per_s=R peak_pool_kib=P check_failures=F pool_full=B run_s=T

    bench/soak.py                      # 100,000 forks here (needs /dev/kvm)
    bench/soak.py --nested 1           # in L1 under QEMU TCG, kvm_amd npt=1
    bench/soak.py --forks 10000 --nested 0

--nested needs what forkbench.py --nested needs (static umbra and holder).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import forkbench

# Each worker forks FORKS/2 children, at most 4 alive at once; each child
# checks 16 pages and writes half of them: unshares and copy-on-write all
# the time, on both vCPUs.
WORKLOAD = "forkstorm workers=2 forks={per_worker} pages=16 write=50 live=4"
INVARIANT = "shadow invariant broken"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--forks", type=int, default=100000, help="children forked, over both workers")
    ap.add_argument("--umbra", default="vmm/umbra")
    ap.add_argument("--vcpus", type=int, default=2)
    ap.add_argument("--mem", default="256M")
    ap.add_argument("--timeout", type=int, default=6 * 3600, help="seconds")
    ap.add_argument("--nested", type=int, choices=(0, 1), metavar="NPT",
                    help="run it in L1 under QEMU TCG, kvm_amd npt=NPT")
    ap.add_argument("--out", default="bench-soak", help="the JSON report and L1's console")
    a = ap.parse_args()
    if a.forks < 2 or a.forks % 2:
        sys.exit("soak: --forks must be even and at least 2 (two workers)")
    args = WORKLOAD.format(per_worker=a.forks // 2)
    opts = f"--paging share --vcpus {a.vcpus} --mem {a.mem} --check"
    os.makedirs(a.out, exist_ok=True)
    start = time.time()
    if a.nested is None:
        status, out, report = here(a, opts, args)
    else:
        results, _ = forkbench.nested_boot(a.nested, [("soak", forkbench.GUEST_IMAGE, opts, args)],
                                           os.path.join(a.out, "nested"), a.timeout, strict=False)
        r = results.get("soak")
        if r is None:
            sys.exit(f"soak: no result from L1 (console in {a.out}/nested)")
        status, out, report = r.status, r.out, r.report
    elapsed = time.time() - start
    if report is not None:
        with open(os.path.join(a.out, "report.json"), "w") as f:
            json.dump(report, f, indent=1)
    print_result(a, status, out, report, elapsed)


def here(a, opts, args):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "stats.json")
        cmd = ([a.umbra, "run"] + opts.split() + ["--timeout", str(a.timeout), "--stats", "none",
                                                 "--stats-file", path, forkbench.GUEST_IMAGE, "--"] +
               args.split())
        p = subprocess.run(cmd, capture_output=True, text=True)
        report = None
        if os.path.exists(path):
            with open(path) as f:
                report = json.load(f)
    return p.returncode, p.stdout.splitlines() + p.stderr.splitlines(), report


def print_result(a, status, out, report, elapsed):
    summaries = [l for l in out if l.startswith("summary: ")]
    forks = forkbench.forks_of(summaries[0]) if len(summaries) == 1 else None
    message = (report or {}).get("result", {}).get("message", "")
    # umbra stops the run at the first broken invariant: 0 or 1
    failures = int(INVARIANT in message)
    run_s = report["time"]["wall_ns"] / 1e9 if report else elapsed
    pool = (report or {}).get("total", {}).get("shadow_pool") or {}
    full = (report or {}).get("result", {}).get("shadow_pool_full")
    where = "here" if a.nested is None else f"nested npt={a.nested} (QEMU TCG)"
    print(f"soak: {where}: {' '.join(opts_of(report))}")
    print(f"soak: forks={forks} forks_per_s={forks / run_s if forks else 0:.1f} "
          f"peak_pool_kib={pool.get('pages_peak', 0) * 4} check_failures={failures} "
          f"pool_full={full} run_s={run_s:.1f} status={status} (wall {elapsed:.0f} s)")
    if status != 0 or failures or full is not True or forks is None:
        print(f"soak: FAILED: {message}")
        for line in out[-20:]:
            print(f"  {line}")
        sys.exit(1)


def opts_of(report):
    run = (report or {}).get("run", {})
    return [f"{k}={run.get(k)}" for k in ("paging", "vcpus", "check", "kvm", "cmdline")]


if __name__ == "__main__":
    main()
