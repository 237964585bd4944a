#!/usr/bin/env python3
"""phases: where each run's time went, phase by phase, from umbra's JSON
reports: report files, or the console log of a nested boot (forkbench.py
--nested keeps it in OUT/nested/console-nptN.log, with every full report).

    bench/phases.py bench-npt1/small/nested/console-npt1.log [RUN_ID_PREFIX]
    bench/phases.py stats.json

Per run and phase: wall time (summed over the vCPUs in the phase), the
VMM's time in hypercalls, user-space exits, whole-VM and frame flushes,
flush-stub runs (--flush tlb) and root moves (--flush copy).
"""
import json
import sys

import forkbench


def reports(path, prefix):
    """(name, report) of every report in PATH."""
    with open(path) as f:
        text = f.read()
    if text.lstrip().startswith("{"):
        yield path, json.loads(text)
        return
    decode = forkbench.load_check_nested().decode_report
    for line in text.splitlines():
        if line.startswith("NESTED-REPORT "):
            _, rid, data = line.split(" ", 2)
            if rid.startswith(prefix):
                report = decode(data.strip())
                if report is not None:
                    yield rid, report


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    prefix = sys.argv[2] if len(sys.argv) == 3 else ""
    print("run,phase,wall_ms,hypercall_ms,exits,flushes,frame_flushes,tlb_flushes,root_moves")
    for name, r in reports(sys.argv[1], prefix):
        for p in r.get("phases", []):
            t = p["total"]
            print(f"{name},{p['name']},{t['time_ns'] / 1e6:.1f},"
                  f"{t['hypercalls']['total']['ns'] / 1e6:.1f},{t['exits']['total']},"
                  f"{t['flushes']},{t['frame_flushes']},{t['tlb_flushes']},{t['root_moves']}")
        t = r["total"]
        print(f"{name},(run),{r['time']['wall_ns'] / 1e6:.1f},,,{t['flushes']},{t['frame_flushes']},"
              f"{t['tlb_flushes']},{t['root_moves']}")


if __name__ == "__main__":
    main()
