#!/usr/bin/env python3
"""goals: issues 8 and 9's goals, met or not, from forkbench results.

Reads forkbench.py's results.json files (several are merged: a run of the
small sizes and one of 1 GiB, say; a later file's cell replaces an earlier
one's) and prints a Markdown table: goal,
the measured value, met or not. Nothing is measured here. Where the
results have them, fork times against Linux's median of warm forks, and
share's VMM fork against copy's, leave each run's longest fork out (the
cold first one; forkbench.py's but_the_longest_us) and say so.

    bench/goals.py bench-npt1/small/results.json bench-npt1/big/results.json
    bench/goals.py npt=1=a/results.json,b/results.json npt=0=c/results.json,...

With NAME=FILE,FILE... arguments, one value and verdict column per NAME:
the worlds side by side.
"""
import json
import sys


def load(paths):
    cells, worlds = [], []
    for path in paths:
        with open(path) as f:
            r = json.load(f)
        if r.get("format") != "umbra-forkbench":
            sys.exit(f"goals: {path} is not forkbench output")
        cells += r["cells"]
        worlds.append(r.get("world", "host"))
    # a later file's cell replaces an earlier one's (a cell measured again)
    rows = {}
    for c in cells:
        rows[(c["workload"], c["size_mib"], c["mode"])] = c
    return list(rows.values()), worlds


def find(cells, workload, mode, size=None):
    for c in cells:
        if c["workload"] == workload and c["mode"] == mode and (size is None or c["size_mib"] == size):
            return c
    return None


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    if all("=" in a for a in sys.argv[1:]):
        groups = [a.rsplit("=", 1) if a.count("=") > 1 else a.split("=") for a in sys.argv[1:]]
        groups = [(name, files.split(",")) for name, files in groups]
    else:
        groups = [("", sys.argv[1:])]
    tables = [(name, *evaluate(*load(files))) for name, files in groups]
    for name, worlds, _ in tables:
        print(f"Measured in{' (' + name + ')' if name else ''}: {'; '.join(worlds)}")
    goals = []
    for _, _, rows in tables:
        goals += [g for g in rows if g not in goals]
    head = "| goal |" + "".join(f" {n} value | {n} met? |".replace("  ", " ") for n, _, _ in tables)
    print("\n" + head + "\n| --- |" + " --- | --- |" * len(tables))
    for g in goals:
        cells = "".join(f" {rows[g][0]} | {rows[g][1]} |" if g in rows else " - | - |"
                        for _, _, rows in tables)
        print(f"| {g} |{cells}")


def evaluate(cells, worlds):
    """(worlds, {goal: (value, verdict)}) in the goals' order."""
    rows = {}

    def goal(text, value, met):
        rows[text] = (value, "-" if met is None else ("met" if met else "NOT met"))

    # issue 8: whole-VM flushes per fork, share mode, over the whole run
    for workload in ("forkstorm", "forkexit", "bigparent"):
        for c in sorted((c for c in cells if c["workload"] == workload and c["mode"] == "share"),
                        key=lambda c: c["size_mib"]):
            size = f" {c['size_mib']} MiB" if c["size_mib"] else ""
            v = c.get("run_flushes_per_fork")
            if v is None:  # results from before the metric
                continue
            goal(f"8: whole-VM flushes / fork, share, {workload}{size} (<= 0.05)",
                 f"{v:.3f} (frame flushes / fork {c['run_frame_flushes_per_fork']:.2f})", v <= 0.05)
    # issue 8: share's whole run no slower than copy's
    for workload in ("forkstorm", "forktree", "forkexit", "manychildren"):
        s, c = find(cells, workload, "share"), find(cells, workload, "copy")
        if s and c:
            goal(f"8: run time share / copy, {c['args']} (<= 1)",
                 f"{s['run_s']:.2f} s / {c['run_s']:.2f} s = {s['run_s'] / c['run_s']:.2f}",
                 s["run_s"] <= c["run_s"])
    # issue 9: guest fork against Linux's fork (linuxfork in the same world)
    for c in sorted((c for c in cells if c["workload"] == "bigparent" and c["mode"] == "share"
                     and c.get("linux_fork_us")), key=lambda c: c["size_mib"]):
        size = c["size_mib"]
        limit = {1024: 0.2, 64: 1.0}.get(size)
        text = f"9: guest fork (share) / Linux fork, {size} MiB"
        text += f" (<= {limit:g})" if limit else " (no goal)"
        # Linux's is a median of warm forks: against it, the guest's forks
        # but the longest (the cold first one) where the results have them
        warm = c.get("warm_over_linux_fork")
        if warm is None:
            goal(text, f"{c['fork_latency_us'] / 1e3:.2f} ms / {c['linux_fork_us'] / 1e3:.2f} ms = "
                 f"{c['over_linux_fork']:.2f}", c["over_linux_fork"] <= limit if limit else None)
            continue
        goal(text, f"{c['fork_latency_warm_us'] / 1e3:.2f} ms / {c['linux_fork_us'] / 1e3:.2f} ms = "
             f"{warm:.2f} (all {c['forks']} forks: {c['over_linux_fork']:.2f})",
             warm <= limit if limit else None)
    # issue 9: one user-space exit per fork, kicks aside
    for c in sorted((c for c in cells if c["workload"] == "bigparent" and c["mode"] == "share"),
                    key=lambda c: c["size_mib"]):
        v = c.get("fork_exits_no_kick")
        if v is None:
            continue
        goal(f"9: user-space exits / fork, kicks aside, share, {c['size_mib']} MiB (== 1)",
             f"{v:.2f} (with kicks {c['fork_exits']:.2f})", v == 1)
    # issue 9: the VMM's fork, share against copy, at 1 GiB
    s, c = find(cells, "bigparent", "share", 1024), find(cells, "bigparent", "copy", 1024)
    if s and c:
        r = s["vmm_fork_us"] / c["vmm_fork_us"]
        value = f"{s['vmm_fork_us'] / 1e3:.2f} ms / {c['vmm_fork_us'] / 1e3:.2f} ms = {r:.3f}"
        if s.get("vmm_fork_warm_us") is not None and c.get("vmm_fork_warm_us") is not None:
            all_forks, r = value, s["vmm_fork_warm_us"] / c["vmm_fork_warm_us"]
            value = (f"{s['vmm_fork_warm_us'] / 1e3:.2f} ms / {c['vmm_fork_warm_us'] / 1e3:.2f} ms = "
                     f"{r:.3f} (all {s['forks']} forks: {all_forks})")
        goal("9: VMM fork share / copy, 1 GiB (<= 0.05)", value, r <= 0.05)
    s, c = find(cells, "fourchildren", "share"), find(cells, "fourchildren", "copy")
    if s and c:
        r = s["run_s"] / c["run_s"]
        goal(f"9: run time share / copy, {s['args']} (<= 0.33)",
             f"{s['run_s']:.2f} s / {c['run_s']:.2f} s = {r:.2f}", r <= 1 / 3)

    return worlds, rows


if __name__ == "__main__":
    main()
