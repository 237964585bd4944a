#!/usr/bin/env python3
"""forkbench: the fork-storm benchmark matrix (not a test).

Runs the guest kernel's workloads on umbra in each paging mode and for each
parent size, several times per cell, and writes results.csv, results.json
and (with gnuplot) forks.png into --out. Every number comes from umbra's
JSON report (docs/stats.md); ratios compare modes measured in this run.

    bench/forkbench.py                       # the default matrix
    bench/forkbench.py --sizes 16,64 --reps 3 --workloads bigparent
    bench/forkbench.py --from a/results.json b/results.json --out c   # merge runs
"""
import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

MODES = ("share", "copy", "lazy", "native")
# Phases that a fork's cost lands in: the fork itself, the child's run
# (lazy's hidden faults, copy-on-write), and the exit and wait.
CYCLE = ("fork", "child", "exit_wait")


# The workloads and their command lines. Only bigparent's parent grows with
# --sizes: the others fork small processes many times (a lazy child of a
# large forkstorm worker would take a hidden fault on every page it reads).
WORKLOADS = {
    "bigparent": "bigparent mem={size} children={children} write=32",
    "forkstorm": "forkstorm workers=2 forks=32 pages=64 write=25 live=4",
    "forktree": "forktree depth=3 fanout=3 pages=16",
    "forkexit": "forkexit workers=2 forks=50",
}


def workload_args(workload, size_mib, children):
    """The guest command line of one cell; size is the parent's memory."""
    if workload not in WORKLOADS:
        sys.exit(f"forkbench: unknown workload '{workload}' ({', '.join(WORKLOADS)})")
    return WORKLOADS[workload].format(size=size_mib, children=children)


def sized(workload):
    return "{size}" in WORKLOADS[workload]


def run_once(umbra, image, mode, vcpus, mem, args, timeout):
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "stats.json")
        cmd = [umbra, "run", "--paging", mode, "--vcpus", str(vcpus), "--mem", mem,
               "--timeout", str(timeout), "--stats", "none", "--stats-file", report,
               image, "--"] + args.split()
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"forkbench: {' '.join(cmd)}: exit code {p.returncode}\n{p.stdout}{p.stderr}")
        with open(report) as f:
            stats = json.load(f)
    summary = [l for l in p.stdout.splitlines() if l.startswith("summary: ")]
    if len(summary) != 1:
        sys.exit(f"forkbench: {args}: expected one summary line\n{p.stdout}")
    return stats, summary[0]


def forks_of(summary):
    """Forks in the run: every process but the first (summary processes=N)."""
    for word in summary.split():
        if word.startswith("processes="):
            return int(word.split("=")[1]) - 1
    sys.exit(f"forkbench: no processes= in '{summary}'")


def phase_sum(stats, names, get):
    return sum(get(p["total"]) for p in stats["phases"] if p["name"] in names)


def measure(stats, summary):
    """One run's per-fork numbers."""
    forks = forks_of(summary)
    kvm = lambda t: (t["kvm"] or {}).get("exits", 0)
    shadow = lambda key: (lambda t: (t["shadow"] or {}).get(key, 0))
    hc = lambda t: t["hypercalls"]["total"]["calls"] - t["hypercalls"]["phase"]["calls"]
    pool = stats["total"]["shadow_pool"]
    return {
        "forks": forks,
        "fork_latency_us": phase_sum(stats, ("fork",), lambda t: t["time_ns"]) / forks / 1e3,
        # the VMM's part: handling UMBRA_HC_AS_FORK (0 in native mode)
        "vmm_fork_us": phase_sum(stats, ("fork",), lambda t: t["hypercalls"]["as_fork"]["ns"]) / forks / 1e3,
        "run_s": stats["time"]["wall_ns"] / 1e9,
        # exits and hypercalls without the phase markers (hypercalls themselves)
        "fork_exits": phase_sum(stats, ("fork",), lambda t: t["exits"]["total"] - t["hypercalls"]["phase"]["calls"]) / forks,
        "exits_per_fork": phase_sum(stats, CYCLE, lambda t: t["exits"]["total"] - t["hypercalls"]["phase"]["calls"]) / forks,
        "kvm_exits_per_fork": phase_sum(stats, CYCLE, kvm) / forks,
        "hypercalls_per_fork": phase_sum(stats, CYCLE, hc) / forks,
        "pages_per_fork": phase_sum(stats, ("fork",), shadow("pages_allocated")) / forks,
        "entries_per_fork": phase_sum(stats, ("fork",), shadow("shadow_entries_written")) / forks,
        "flushes_per_fork": phase_sum(stats, CYCLE, lambda t: t["flushes"]) / forks,
        "peak_shadow_kib": (pool or {}).get("pages_peak", 0) * 4,
    }


METRICS = ("fork_latency_us", "vmm_fork_us", "run_s", "fork_exits", "exits_per_fork", "kvm_exits_per_fork",
           "hypercalls_per_fork", "pages_per_fork", "entries_per_fork", "flushes_per_fork",
           "peak_shadow_kib")
RATIOS = ("fork_latency_us", "vmm_fork_us", "run_s", "exits_per_fork", "kvm_exits_per_fork", "entries_per_fork")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--umbra", default="vmm/umbra")
    ap.add_argument("--image", default="guest/umbra-guest.elf")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--sizes", default="16,64,256", help="parent sizes in MiB")
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--children", type=int, default=2, help="bigparent's children")
    ap.add_argument("--reps", type=int, default=3, help="runs per cell (the median is kept)")
    ap.add_argument("--vcpus", type=int, default=2)
    ap.add_argument("--timeout", type=int, default=1800, help="per run, in seconds")
    ap.add_argument("--out", default="bench-results")
    ap.add_argument("--from", dest="sources", nargs="+", metavar="RESULTS_JSON",
                    help="run nothing: write the outputs for the cells of earlier runs")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if a.sources:
        cells, reps = [], set()
        for path in a.sources:
            with open(path) as f:
                r = json.load(f)
            if r.get("format") != "umbra-forkbench":
                sys.exit(f"forkbench: {path} is not forkbench output")
            cells += r["cells"]
            reps.update(str(r["reps"]).split("/"))  # a merged file says "1/3"
        write(cells, a.out, a.vcpus, "/".join(sorted(reps, key=int)))
        return
    cells = run_matrix(a)
    write(cells, a.out, a.vcpus, a.reps)


def run_matrix(a):
    """Runs every cell; returns their rows."""
    modes = a.modes.split(",")
    for m in modes:
        if m not in MODES:
            sys.exit(f"forkbench: unknown mode '{m}' ({', '.join(MODES)})")
    sizes = [int(s) for s in a.sizes.split(",")]
    for path in (a.umbra, a.image):
        if not os.path.exists(path):
            sys.exit(f"forkbench: {path} not found (run from the build tree, or pass --umbra/--image)")

    cells = []
    for workload in a.workloads.split(","):
        for size in (sizes if sized(workload) else [0]):
            args = workload_args(workload, size, a.children)
            mem = f"{max(256, 2 * size + 128)}M"
            cell_summaries = set()
            by_mode = {}
            # the modes take turns within each repetition, so that drift in
            # the machine's speed spreads over all of them alike
            runs = {m: [] for m in modes}
            for rep in range(a.reps):
                for m in modes:
                    t0 = time.time()
                    stats, summary = run_once(a.umbra, a.image, m, a.vcpus, mem, args, a.timeout)
                    cell_summaries.add(summary)
                    runs[m].append(measure(stats, summary))
                    print(f"{workload} {size} MiB {m} rep {rep + 1}: {time.time() - t0:.1f} s",
                          file=sys.stderr)
            if len(cell_summaries) != 1:
                sys.exit(f"forkbench: {args}: the modes printed different summaries: {cell_summaries}")
            for m in modes:
                med = {k: statistics.median(r[k] for r in runs[m]) for k in METRICS}
                by_mode[m] = dict(med, forks=runs[m][0]["forks"])
            for m in modes:
                row = {"workload": workload, "size_mib": size, "mode": m, "args": args,
                       "reps": a.reps, **by_mode[m]}
                if "share" in by_mode:
                    for k in RATIOS:
                        other = by_mode[m][k]
                        row[f"share_over_{k}"] = by_mode["share"][k] / other if other else None
                cells.append(row)
    return cells


def write(cells, out, vcpus, reps):
    """results.json, results.csv, the table on stdout and the plot."""
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"format": "umbra-forkbench", "version": 1, "vcpus": vcpus,
                   "reps": reps, "machine": os.uname().release, "cells": cells}, f, indent=1)
    fields = list(cells[0].keys())
    for c in cells:
        fields += [k for k in c if k not in fields]
    with open(os.path.join(out, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(cells)
    print_table(cells)
    plot(cells, out)


def print_table(cells):
    cols = ("workload", "size_mib", "mode", "fork_latency_us", "vmm_fork_us", "fork_exits", "exits_per_fork",
            "kvm_exits_per_fork", "hypercalls_per_fork", "pages_per_fork", "entries_per_fork",
            "flushes_per_fork", "peak_shadow_kib", "run_s", "share_over_fork_latency_us",
            "share_over_vmm_fork_us", "share_over_exits_per_fork")
    print(",".join(cols))
    for c in cells:
        print(",".join(fmt(c.get(k)) for k in cols))


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def plot(cells, out):
    """forks.png: fork latency, exits per fork and shadow entries written
    per fork against the bigparent's size, one line per mode (gnuplot;
    skipped without it)."""
    gnuplot = shutil.which("gnuplot")
    rows = [c for c in cells if c["workload"] == "bigparent"]
    if not gnuplot or not rows:
        print("forkbench: no plot (needs gnuplot and the bigparent workload)", file=sys.stderr)
        return
    modes = [m for m in MODES if any(c["mode"] == m for c in rows)]
    data = os.path.join(out, "bigparent.dat")
    with open(data, "w") as f:
        for m in modes:
            f.write(f'"{m}"\n')
            for c in sorted((c for c in rows if c["mode"] == m), key=lambda c: c["size_mib"]):
                # native has no shadow and no fork hypercall: no point there
                shadow = (m != "native")
                f.write(f'{c["size_mib"]} {c["fork_latency_us"]} {c["exits_per_fork"]} '
                        f'{c["entries_per_fork"] if shadow else "NaN"} '
                        f'{c["vmm_fork_us"] if shadow else "NaN"}\n')
            f.write("\n\n")
    script = f"""
set terminal pngcairo size 1500,950 noenhanced
set output '{os.path.join(out, "forks.png")}'
set multiplot layout 2,2 title 'umbra: bigparent, one fork per child, 2 vCPUs (median of the runs)'
set logscale x 2
set xlabel 'parent size (MiB)'
set key top left
set logscale y
set ylabel 'fork latency, guest and VMM (us)'
plot for [i=0:{len(modes) - 1}] '{data}' index i using 1:2 with linespoints title columnheader(1)
set ylabel 'VM exits per fork (fork + child + exit/wait)'
plot for [i=0:{len(modes) - 1}] '{data}' index i using 1:3 with linespoints title columnheader(1)
set ylabel 'VMM time in UMBRA_HC_AS_FORK (us)'
plot for [i=0:{len(modes) - 1}] '{data}' index i using 1:5 with linespoints title columnheader(1)
set ylabel 'shadow entries written per fork'
plot for [i=0:{len(modes) - 1}] '{data}' index i using 1:4 with linespoints title columnheader(1)
unset multiplot
"""
    subprocess.run([gnuplot], input=script, text=True, check=True)


if __name__ == "__main__":
    main()
