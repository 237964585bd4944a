#!/usr/bin/env python3
"""forkbench: the fork-storm benchmark matrix (not a test).

Runs the guest kernel's workloads on umbra in each paging mode and for each
parent size, several times per cell, and writes results.csv, results.json
and (with gnuplot) forks.png into --out. Every number comes from umbra's
JSON report (docs/stats.md); ratios compare modes measured in this run.

    bench/forkbench.py                       # the default matrix
    bench/forkbench.py --sizes 16,64 --reps 3 --workloads bigparent
    bench/forkbench.py --from a/results.json b/results.json --out c   # merge runs
    bench/forkbench.py --linux               # and Linux's own fork at each size
    bench/forkbench.py --nested 1 --linux    # all of it in L1 (kvm_amd npt=1) under QEMU TCG

--linux runs bench/linuxfork at each bigparent size in the same run: rows
of mode "linux", and each bigparent row's fork latency over Linux's.
--nested NPT makes every run inside one QEMU boot of L1 (tests/nested/
check-nested.py's, with the full reports), linuxfork too, so that the
baseline is measured at the same TCG speed; for a machine without /dev/kvm.
It needs `make tests/nested/umbra-static tests/nested/holder
bench/linuxfork-static`.
"""
import importlib.util
import argparse
import csv
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

MODES = ("share", "copy", "lazy", "native")
GUEST_IMAGE = "guest/umbra-guest.elf"  # relative to the build tree, here and in L1
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
    # issue 8: many children of a mid-sized parent, each writing one page
    "manychildren": "bigparent mem=32 children=64 write=1",
    # issue 9: a large parent whose children write
    "fourchildren": "bigparent mem=256 children=4 write=32",
}
DEFAULT_WORKLOADS = ("bigparent", "forkstorm", "forktree", "forkexit")


def workload_args(workload, size_mib, children):
    """The guest command line of one cell; size is the parent's memory."""
    if workload not in WORKLOADS:
        sys.exit(f"forkbench: unknown workload '{workload}' ({', '.join(WORKLOADS)})")
    return WORKLOADS[workload].format(size=size_mib, children=children)


def sized(workload):
    return "{size}" in WORKLOADS[workload]


def guest_mem_mib(size_mib):
    """--mem for a bigparent of SIZE_MIB (0: a small workload): the
    parent's pages, as many again for the guest kernel's frame array, page
    tables and the children's copies, and room for the kernel itself."""
    return max(256, 2 * size_mib + 128)


def umbra_opts(mode, vcpus, mem_mib, extra=""):
    return f"--paging {mode} --vcpus {vcpus} --mem {mem_mib}M {extra}".strip()


def run_once(umbra, image, mode, vcpus, mem, args, timeout):
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "stats.json")
        cmd = ([umbra, "run"] + umbra_opts(mode, vcpus, mem).split() +
               ["--timeout", str(timeout), "--stats", "none", "--stats-file", report, image, "--"] +
               args.split())
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"forkbench: {' '.join(cmd)}: exit code {p.returncode}\n{p.stdout}{p.stderr}")
        with open(report) as f:
            stats = json.load(f)
    return stats, one_summary(args, p.stdout.splitlines())


def one_summary(args, lines):
    summary = [l for l in lines if l.startswith("summary: ")]
    if len(summary) != 1:
        sys.exit(f"forkbench: {args}: expected one summary line\n" + "\n".join(lines))
    return summary[0]


def linux_once(linuxfork, size_mib, reps, write):
    """Linux's fork at SIZE_MIB, here: linuxfork's numbers."""
    p = subprocess.run([linuxfork, str(size_mib), str(reps), str(write)], capture_output=True,
                       text=True)
    if p.returncode != 0:
        sys.exit(f"forkbench: {linuxfork}: exit code {p.returncode}\n{p.stdout}{p.stderr}")
    return parse_linuxfork(p.stdout.splitlines())


def parse_linuxfork(lines):
    """{key: number} of linuxfork's one line."""
    for line in lines:
        if line.startswith("linuxfork "):
            return {k: float(v) for k, v in (w.split("=") for w in line.split()[1:])}
    sys.exit("forkbench: no linuxfork line in\n" + "\n".join(lines))


def load_check_nested():
    """tests/nested/check-nested.py as a module (its boot_l1)."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "tests", "nested", "check-nested.py")
    spec = importlib.util.spec_from_file_location("check_nested", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def nested_boot(npt, jobs, workdir, timeout, extra_files=None, strict=True):
    """Makes JOBS, [(id, image, umbra options, guest args)] (image
    "exec:NAME" for a program of EXTRA_FILES), in one boot of L1 with
    kvm_amd npt=NPT; returns {id: Result} and the boot's seconds. L1 gets
    the largest run's guest memory and 1 GiB more. STRICT: exit unless every
    run exited with 0."""
    cn = load_check_nested()
    mem_mib = 1024
    for _, _, opts, args in jobs:
        words = (opts + " " + args).split()
        for i, w in enumerate(words[:-1]):
            if w == "--mem":
                mem_mib = max(mem_mib, int(words[i + 1].rstrip("M")) + 1024)
        if words and words[0].isdigit():  # linuxfork MIB
            mem_mib = max(mem_mib, int(words[0]) + 1024)
    runs = [cn.Run(rid, rid, image, opts, args, {f"npt{npt}": 0}, False)
            for rid, image, opts, args in jobs]
    print(f"forkbench: {len(runs)} runs nested, L1 with npt={npt} and {mem_mib} MiB", file=sys.stderr)
    boot = cn.boot_l1(npt, runs, workdir, mem=f"{mem_mib}M", run_timeout=timeout,
                      extra_files=extra_files)
    bad = [f"{rid}: exit {r.status}: " + " | ".join(r.out[-3:] + r.err[-3:])
           for rid, r in boot.results.items() if r.status != 0]
    if strict and (boot.failure or bad):
        sys.exit(f"forkbench: nested npt={npt}: {boot.failure or ''} {'; '.join(bad)} "
                 f"(console in {boot.log})")
    return boot.results, boot.seconds


def forks_of(summary):
    """Forks in the run: every process but the first (summary processes=N)."""
    for word in summary.split():
        if word.startswith("processes="):
            return int(word.split("=")[1]) - 1
    sys.exit(f"forkbench: no processes= in '{summary}'")


def phase_sum(stats, names, get):
    return sum(get(p["total"]) for p in stats["phases"] if p["name"] in names)


def but_the_longest_us(total_ns, longest_ns, n):
    """The mean of n times but the longest, in us: the forks after a cold
    first one (under QEMU TCG the first run of the fork path's code is
    translated, ~3 ms), as Linux's median leaves its own first fork out.
    None with one time, or for a report from before "longest_ns"."""
    if longest_ns is None or n < 2:
        return None
    return (total_ns - longest_ns) / (n - 1) / 1e3


def measure(stats, summary):
    """One run's per-fork numbers."""
    forks = forks_of(summary)
    fork_phase = [p["total"] for p in stats["phases"] if p["name"] == "fork"]
    as_fork = fork_phase[0]["hypercalls"]["as_fork"] if fork_phase else {"ns": 0, "calls": 0}
    kvm = lambda t: (t["kvm"] or {}).get("exits", 0)
    shadow = lambda key: (lambda t: (t["shadow"] or {}).get(key, 0))
    hc = lambda t: t["hypercalls"]["total"]["calls"] - t["hypercalls"]["phase"]["calls"]
    pool = stats["total"]["shadow_pool"]
    return {
        "forks": forks,
        "fork_latency_us": phase_sum(stats, ("fork",), lambda t: t["time_ns"]) / forks / 1e3,
        # the VMM's part: handling UMBRA_HC_AS_FORK (0 in native mode)
        "vmm_fork_us": phase_sum(stats, ("fork",), lambda t: t["hypercalls"]["as_fork"]["ns"]) / forks / 1e3,
        # the same without the longest fork (the VMM's: its longest call)
        "fork_latency_warm_us": but_the_longest_us(
            fork_phase[0]["time_ns"] if fork_phase else 0,
            fork_phase[0].get("longest_ns") if fork_phase else None, forks),
        "vmm_fork_warm_us": but_the_longest_us(as_fork["ns"], as_fork.get("max_ns"), as_fork["calls"]),
        "vmm_fork_longest_us": as_fork["max_ns"] / 1e3 if "max_ns" in as_fork else None,
        "run_s": stats["time"]["wall_ns"] / 1e9,
        # where a run's time goes: the parent's set-up (touching its memory)
        # and the fork cycles, as the boot vCPU saw them (phase wall time
        # adds up over vCPUs)
        "setup_s": phase_sum(stats, ("setup",), lambda t: t["time_ns"]) / 1e9,
        "cycle_s": phase_sum(stats, CYCLE, lambda t: t["time_ns"]) / 1e9,
        # exits and hypercalls without the phase markers (hypercalls themselves)
        "fork_exits": phase_sum(stats, ("fork",), lambda t: t["exits"]["total"] - t["hypercalls"]["phase"]["calls"]) / forks,
        # the same without the kicks of an idle vCPU (UMBRA_HC_KICK): what
        # the fork itself costs in user-space exits
        "fork_exits_no_kick": phase_sum(stats, ("fork",), lambda t: t["exits"]["total"]
                                        - t["hypercalls"]["phase"]["calls"]
                                        - t["hypercalls"]["kick"]["calls"]) / forks,
        "exits_per_fork": phase_sum(stats, CYCLE, lambda t: t["exits"]["total"] - t["hypercalls"]["phase"]["calls"]) / forks,
        "kvm_exits_per_fork": phase_sum(stats, CYCLE, kvm) / forks,
        "hypercalls_per_fork": phase_sum(stats, CYCLE, hc) / forks,
        "pages_per_fork": phase_sum(stats, ("fork",), shadow("pages_allocated")) / forks,
        "entries_per_fork": phase_sum(stats, ("fork",), shadow("shadow_entries_written")) / forks,
        "flushes_per_fork": phase_sum(stats, CYCLE, lambda t: t["flushes"]) / forks,
        # whole-VM and per-frame flushes of the whole run (every phase) per fork
        "run_flushes_per_fork": stats["total"]["flushes"] / forks,
        "run_frame_flushes_per_fork": stats["total"]["frame_flushes"] / forks,
        "peak_shadow_kib": (pool or {}).get("pages_peak", 0) * 4,
    }


METRICS = ("fork_latency_us", "fork_latency_warm_us", "vmm_fork_us", "vmm_fork_warm_us",
           "vmm_fork_longest_us", "run_s", "setup_s", "cycle_s", "fork_exits", "fork_exits_no_kick",
           "exits_per_fork", "kvm_exits_per_fork", "hypercalls_per_fork", "pages_per_fork",
           "entries_per_fork", "flushes_per_fork", "run_flushes_per_fork",
           "run_frame_flushes_per_fork", "peak_shadow_kib")
RATIOS = ("fork_latency_us", "fork_latency_warm_us", "vmm_fork_us", "vmm_fork_warm_us", "run_s",
          "exits_per_fork", "kvm_exits_per_fork", "entries_per_fork")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--umbra", default="vmm/umbra")
    ap.add_argument("--image", default="guest/umbra-guest.elf")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--sizes", default="16,64,256", help="parent sizes in MiB")
    ap.add_argument("--workloads", default=",".join(DEFAULT_WORKLOADS),
                    help=f"of {', '.join(WORKLOADS)}")
    # six: five forks after the cold first one (but_the_longest_us)
    ap.add_argument("--children", type=int, default=6, help="bigparent's children")
    ap.add_argument("--reps", type=int, default=3, help="runs per cell (the median is kept)")
    ap.add_argument("--vcpus", type=int, default=2)
    ap.add_argument("--timeout", type=int, default=1800, help="per run, in seconds")
    ap.add_argument("--linux", action="store_true",
                    help="Linux's own fork at each bigparent size too (bench/linuxfork)")
    ap.add_argument("--linuxfork", default="bench/linuxfork")
    ap.add_argument("--linux-reps", type=int, default=20, help="forks per linuxfork run")
    ap.add_argument("--nested", type=int, choices=(0, 1), metavar="NPT",
                    help="run everything in L1 under QEMU TCG, kvm_amd npt=NPT")
    ap.add_argument("--out", default="bench-results")
    ap.add_argument("--from", dest="sources", nargs="+", metavar="RESULTS_JSON",
                    help="run nothing: write the outputs for the cells of earlier runs")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if a.sources:
        cells, reps, worlds = [], set(), set()
        for path in a.sources:
            with open(path) as f:
                r = json.load(f)
            if r.get("format") != "umbra-forkbench":
                sys.exit(f"forkbench: {path} is not forkbench output")
            cells += r["cells"]
            reps.update(str(r["reps"]).split("/"))  # a merged file says "1/3"
            worlds.add(r.get("world", "host"))
        write(latest(cells), a.out, a.vcpus, "/".join(sorted(reps, key=int)),
              " + ".join(sorted(worlds)))
        return
    start = time.time()
    cells, world = run_matrix(a)
    print(f"forkbench: {world}: {time.time() - start:.0f} s", file=sys.stderr)
    write(cells, a.out, a.vcpus, a.reps, world)


def latest(cells):
    """CELLS with a later row of the same workload, size and mode replacing
    an earlier one (a cell measured again), in their first order."""
    rows = {}
    for c in cells:
        rows[(c["workload"], c["size_mib"], c["mode"])] = c
    seen, out = set(), []
    for c in cells:
        key = (c["workload"], c["size_mib"], c["mode"])
        if key not in seen:
            seen.add(key)
            out.append(rows[key])
    return out


def mem_of(args):
    """--mem (MiB) for guest ARGS: by bigparent's mem=, else the least."""
    for word in args.split():
        if word.startswith("mem="):
            return guest_mem_mib(int(word[4:]))
    return guest_mem_mib(0)


def run_matrix(a):
    """Runs every cell, here or nested; returns their rows and the world
    they were measured in."""
    modes = a.modes.split(",")
    for m in modes:
        if m not in MODES:
            sys.exit(f"forkbench: unknown mode '{m}' ({', '.join(MODES)})")
    sizes = [int(s) for s in a.sizes.split(",")]
    linuxfork = "bench/linuxfork-static" if a.nested is not None else a.linuxfork
    needed = [a.umbra, a.image] + ([linuxfork] if a.linux else [])
    for path in needed:
        if not os.path.exists(path):
            sys.exit(f"forkbench: {path} not found (run from the build tree, or pass --umbra/--image)")

    # the cells, and each cell's runs: the modes take turns within each
    # repetition, so that drift in the machine's speed spreads over all of
    # them alike; linuxfork runs after the bigparent cell of its size
    plan, jobs = [], []
    for workload in a.workloads.split(","):
        for size in (sizes if sized(workload) else [0]):
            args = workload_args(workload, size, a.children)
            plan.append((workload, size, args))
            for rep in range(a.reps):
                for m in modes:
                    jobs.append((f"{workload}.{size}.{m}.{rep}", m, args))
            if a.linux and sized(workload):
                jobs.append((f"linux.{size}", "linux", f"{size} {a.linux_reps} 32"))

    if a.nested is None:
        world = f"host {os.uname().release}"
        done = {}
        for rid, m, args in jobs:
            t0 = time.time()
            if m == "linux":
                done[rid] = linux_once(linuxfork, int(args.split()[0]), a.linux_reps, 32)
            else:
                done[rid] = run_once(a.umbra, a.image, m, a.vcpus, mem_of(args), args, a.timeout)
            print(f"{rid}: {time.time() - t0:.1f} s", file=sys.stderr)
    else:
        world = f"nested npt={a.nested}"
        nested = [(rid, "exec:linuxfork", "", args) if m == "linux" else
                  (rid, GUEST_IMAGE, umbra_opts(m, a.vcpus, mem_of(args)), args)
                  for rid, m, args in jobs]
        if a.image != GUEST_IMAGE:
            sys.exit(f"forkbench: --nested takes the guest from {GUEST_IMAGE}")
        results, seconds = nested_boot(a.nested, nested, os.path.join(a.out, "nested"), a.timeout,
                                       {linuxfork: "linuxfork"})
        world += f" (QEMU TCG; boot {seconds:.0f} s)"
        done = {}
        for rid, m, args in jobs:
            r = results[rid]
            if m == "linux":
                done[rid] = parse_linuxfork(r.out)
            else:
                if r.report is None or "phases" not in r.report:
                    sys.exit(f"forkbench: {rid}: no full report from L1")
                done[rid] = (r.report, one_summary(args, r.out))

    cells = []
    for workload, size, args in plan:
        cell_summaries = set(done[f"{workload}.{size}.{m}.{rep}"][1]
                             for m in modes for rep in range(a.reps))
        if len(cell_summaries) != 1:
            sys.exit(f"forkbench: {args}: the modes printed different summaries: {cell_summaries}")
        by_mode = {}
        for m in modes:
            runs = [measure(*done[f"{workload}.{size}.{m}.{rep}"]) for rep in range(a.reps)]
            med = {k: statistics.median(r[k] for r in runs)
                   if all(r[k] is not None for r in runs) else None for k in METRICS}
            by_mode[m] = dict(med, forks=runs[0]["forks"])
        linux = done.get(f"linux.{size}") if sized(workload) else None
        for m in modes:
            row = {"workload": workload, "size_mib": size, "mode": m, "args": args,
                   "reps": a.reps, **by_mode[m]}
            if "share" in by_mode:
                for k in RATIOS:
                    other = by_mode[m][k]
                    mine = by_mode["share"][k]
                    row[f"share_over_{k}"] = mine / other if other and mine is not None else None
            if linux:
                row["linux_fork_us"] = linux["fork_median_us"]
                row["over_linux_fork"] = row["fork_latency_us"] / linux["fork_median_us"]
                if row["fork_latency_warm_us"] is not None:
                    row["warm_over_linux_fork"] = row["fork_latency_warm_us"] / linux["fork_median_us"]
            cells.append(row)
        if linux:
            cells.append({"workload": workload, "size_mib": size, "mode": "linux",
                          "args": f"linuxfork {size} {a.linux_reps} 32", "reps": a.linux_reps,
                          "forks": a.linux_reps, "fork_latency_us": linux["fork_median_us"],
                          "linux_fork_min_us": linux["fork_min_us"],
                          "linux_cycle_us": linux["cycle_median_us"],
                          "linux_cycle_min_us": linux["cycle_min_us"]})
    return cells, world


def write(cells, out, vcpus, reps, world):
    """results.json, results.csv, the table on stdout and the plot."""
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"format": "umbra-forkbench", "version": 1, "vcpus": vcpus,
                   "reps": reps, "machine": os.uname().release, "world": world, "cells": cells},
                  f, indent=1)
    fields = list(cells[0].keys())
    for c in cells:
        fields += [k for k in c if k not in fields]
    with open(os.path.join(out, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(cells)
    print_table(cells)
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write(markdown(cells))
    plot(cells, out, world, vcpus)


# table.md: the columns docs/results.md shows, (heading, key, digits)
MD_COLUMNS = (("workload", "workload", None), ("MiB", "size_mib", None), ("mode", "mode", None),
              ("fork latency (us)", "fork_latency_us", 0),
              ("fork latency, first aside (us)", "fork_latency_warm_us", 0),
              ("VMM fork (us)", "vmm_fork_us", 0), ("VMM fork, first aside (us)", "vmm_fork_warm_us", 0),
              ("fork exits / fork, kicks aside", "fork_exits_no_kick", 2),
              ("exits / fork", "exits_per_fork", 1), ("in-kernel exits / fork", "kvm_exits_per_fork", 0),
              ("shadow entries / fork", "entries_per_fork", 1),
              ("whole-VM flushes / fork", "run_flushes_per_fork", 3),
              ("frame flushes / fork", "run_frame_flushes_per_fork", 2),
              ("peak shadow (KiB)", "peak_shadow_kib", 0), ("run (s)", "run_s", 2),
              ("/ Linux fork", "over_linux_fork", 2),
              ("first aside / Linux fork", "warm_over_linux_fork", 2))


def markdown(cells):
    """The cells as a Markdown table ("-": not measured for that row)."""
    lines = ["| " + " | ".join(h for h, _, _ in MD_COLUMNS) + " |",
             "| " + " | ".join("---" if d is None else "---:" for _, _, d in MD_COLUMNS) + " |"]
    for c in cells:
        row = []
        for _, key, digits in MD_COLUMNS:
            v = c.get(key)
            if v is None or (key == "size_mib" and v == 0):
                row.append("-" if key != "size_mib" else "")
            elif digits is None:
                row.append(str(v))
            else:
                row.append(f"{v:,.{digits}f}")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def print_table(cells):
    cols = ("workload", "size_mib", "mode", "fork_latency_us", "fork_latency_warm_us", "vmm_fork_us",
            "vmm_fork_warm_us", "vmm_fork_longest_us", "fork_exits",
            "fork_exits_no_kick", "exits_per_fork", "run_flushes_per_fork", "run_frame_flushes_per_fork",
            "kvm_exits_per_fork", "hypercalls_per_fork", "pages_per_fork", "entries_per_fork",
            "flushes_per_fork", "peak_shadow_kib", "run_s", "share_over_fork_latency_us",
            "share_over_vmm_fork_us", "share_over_exits_per_fork", "over_linux_fork", "warm_over_linux_fork")
    print(",".join(cols))
    for c in cells:
        print(",".join(fmt(c.get(k)) for k in cols))


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def plot(cells, out, world, vcpus):
    """forks.png: fork latency, exits per fork and shadow entries written
    per fork against the bigparent's size, one line per mode, Linux's
    fork beside them (gnuplot; skipped without it). Times leave each
    run's first fork out where the results have it (but_the_longest_us),
    as Linux's median does."""
    gnuplot = shutil.which("gnuplot")
    rows = [c for c in cells if c["workload"] == "bigparent"]
    if not gnuplot or not rows:
        print("forkbench: no plot (needs gnuplot and the bigparent workload)", file=sys.stderr)
        return
    modes = [m for m in MODES + ("linux",) if any(c["mode"] == m for c in rows)]
    data = os.path.join(out, "bigparent.dat")
    with open(data, "w") as f:
        for m in modes:
            f.write(f'"{m}"\n')
            for c in sorted((c for c in rows if c["mode"] == m), key=lambda c: c["size_mib"]):
                # native has no shadow and no fork hypercall: no point there;
                # Linux (linuxfork's fork()) has only a latency
                # umbra's forks but the cold first one, as Linux's median
                shadow = m not in ("native", "linux")
                latency = c.get("fork_latency_warm_us") or c["fork_latency_us"]
                vmm = c.get("vmm_fork_warm_us") or c.get("vmm_fork_us")
                f.write(f'{c["size_mib"]} {latency} {c.get("exits_per_fork", "NaN")} '
                        f'{c["entries_per_fork"] if shadow else "NaN"} '
                        f'{vmm if shadow else "NaN"}\n')
            f.write("\n\n")
    # a merged world, once: "nested npt=1 (QEMU TCG)", not each boot's time
    world = " + ".join(dict.fromkeys(re.sub(r"; boot \d+ s", "", w) for w in world.split(" + ")))
    world = world.replace("'", "")
    script = f"""
set terminal pngcairo size 1500,950 noenhanced
set output '{os.path.join(out, "forks.png")}'
set multiplot layout 2,2 title 'umbra: bigparent, one fork per child, {vcpus} vCPUs (median of the runs); {world}'
set logscale x 2
set xlabel 'parent size (MiB)'
set key top left
set logscale y
set ylabel 'fork latency, guest and VMM (us; first fork aside)'
plot for [i=0:{len(modes) - 1}] '{data}' index i using 1:2 with linespoints title columnheader(1)
set ylabel 'VM exits per fork (fork + child + exit/wait)'
plot for [i=0:{len(modes) - 1}] '{data}' index i using 1:3 with linespoints title columnheader(1)
set ylabel 'VMM time in UMBRA_HC_AS_FORK (us; first fork aside)'
plot for [i=0:{len(modes) - 1}] '{data}' index i using 1:5 with linespoints title columnheader(1)
set ylabel 'shadow entries written per fork'
plot for [i=0:{len(modes) - 1}] '{data}' index i using 1:4 with linespoints title columnheader(1)
unset multiplot
"""
    subprocess.run([gnuplot], input=script, text=True, check=True)


if __name__ == "__main__":
    main()
