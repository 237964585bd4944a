#!/usr/bin/env python3
"""traceplot: draw an `umbra run --trace` file as a PNG with gnuplot.

Perfetto's UI is what the trace is for; this is for machines that cannot
reach it, and for the picture in docs/stats.md:

    vmm/umbra run --trace run.json
    bench/traceplot.py run.json docs/results/trace-forkstorm.png

Three panels: the whole run (each vCPU's phases and flushes), the shadow
pool's pages over time, and a window around one fork (phases, each
hypercall, flushes) so that single exits can be told apart. Needs gnuplot
(Debian: gnuplot-nox).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

PHASE_COLORS = {"boot": "#9e9e9e", "setup": "#8d6e63", "fork": "#1e88e5", "child": "#43a047",
                "exit_wait": "#fdd835", "idle": "#e0e0e0"}
USER_PHASE_COLOR = "#ab47bc"
HYPERCALL_COLORS = {"as_fork": "#1e88e5", "as_update": "#43a047", "as_switch": "#fb8c00",
                    "as_destroy": "#e53935", "as_fault": "#00acc1", "phase": "#616161",
                    "idle": "#e0e0e0"}
OTHER_HYPERCALL_COLOR = "#ab47bc"
FLUSH_COLORS = {"vm_flush": "#d50000", "frame_flush": "#ff9100"}


def load(path):
    with open(path) as f:
        doc = json.load(f)
    if doc.get("otherData", {}).get("format") != "umbra-trace":
        sys.exit(f"traceplot: {path}: not an umbra trace")
    return doc


def ms(us):
    return float(us) / 1000.0


def rgb(color):
    return int(color[1:], 16)


class Rows:
    """Rectangles on numbered rows: (x0, x1, row, color)."""

    def __init__(self):
        self.rects = []

    def add(self, x0, x1, row, color, height=0.8):
        self.rects.append((x0, x1, row - height / 2, row + height / 2, rgb(color)))

    def write(self, path):
        with open(path, "w") as f:
            for x0, x1, y0, y1, c in self.rects:
                f.write(f"{(x0 + x1) / 2:.6f} {(y0 + y1) / 2:.3f} {x0:.6f} {x1:.6f} "
                        f"{y0:.3f} {y1:.3f} {c}\n")
            if not self.rects:  # gnuplot refuses an empty file
                f.write("0 -10 0 0 -10 -10 0\n")


def slices(doc, tid):
    return [e for e in doc["traceEvents"] if e["ph"] == "X" and e.get("tid") == tid]


def one_fork(doc, tids):
    """The fork phase of the median as_fork of the first vCPU that forks,
    with a quarter of its length on either side."""
    for tid in tids:
        forks = sorted(ms(e["ts"]) for e in slices(doc, tid) if e["name"] == "as_fork")
        if not forks:
            continue
        t = forks[len(forks) // 2]
        for e in slices(doc, tid):
            x0, x1 = ms(e["ts"]), ms(e["ts"]) + ms(e["dur"])
            if e["cat"] == "phase" and e["name"] == "fork" and x0 <= t <= x1:
                pad = (x1 - x0) / 4
                return x0 - pad, x1 + pad
    return None


def build(doc, tmp):
    vcpus = doc["otherData"]["vcpus"]
    tids = [v["tid"] for v in vcpus]
    window = one_fork(doc, tids)
    run_rows, zoom_rows = Rows(), Rows()
    end = 0.0
    for i, tid in enumerate(tids):
        base = 2 * (len(tids) - 1 - i)  # vCPU 0 on top: phases above flushes
        for e in slices(doc, tid):
            x0, x1 = ms(e["ts"]), ms(e["ts"]) + ms(e["dur"])
            end = max(end, x1)
            if e["cat"] == "phase":
                color = PHASE_COLORS.get(e["name"], USER_PHASE_COLOR)
                run_rows.add(x0, x1, base + 1, color)
            elif e["cat"] == "flush":
                # At least 0.3 ms wide: a 40 us frame flush would be invisible.
                run_rows.add(x0, max(x1, x0 + 0.3), base, FLUSH_COLORS[e["name"]], 0.6)
            if window and x1 >= window[0] and x0 <= window[1]:
                zbase = 3 * (len(tids) - 1 - i)
                if e["cat"] == "phase":
                    zoom_rows.add(x0, x1, zbase + 2, color)
                elif e["cat"] == "hypercall":
                    zoom_rows.add(x0, x1, zbase + 1,
                                  HYPERCALL_COLORS.get(e["name"], OTHER_HYPERCALL_COLOR), 0.7)
                else:
                    zoom_rows.add(x0, x1, zbase, FLUSH_COLORS[e["name"]], 0.6)
    run_rows.write(os.path.join(tmp, "run.dat"))
    zoom_rows.write(os.path.join(tmp, "zoom.dat"))
    with open(os.path.join(tmp, "pool.dat"), "w") as f:
        for e in doc["traceEvents"]:
            if e["ph"] == "C" and e["name"] == "shadow pool":
                f.write(f"{ms(e['ts']):.6f} {e['args']['pages']}\n")
        f.write(f"{end:.6f} -\n")
    return len(tids), end, window


def keys(colors, width):
    return ", ".join(f"NaN with boxes fs solid fc rgb '{c}' lw {width} title '{n}'"
                     for n, c in colors.items())


def gnuplot_script(tmp, out, nvcpus, end, window, title):
    run_labels = ", ".join(f"'vCPU {i} phases' {2 * (nvcpus - 1 - i) + 1}, "
                           f"'vCPU {i} flushes' {2 * (nvcpus - 1 - i)}" for i in range(nvcpus))
    zoom_labels = ", ".join(
        f"'vCPU {i} phases' {3 * (nvcpus - 1 - i) + 2}, 'hypercalls' {3 * (nvcpus - 1 - i) + 1}, "
        f"'flushes' {3 * (nvcpus - 1 - i)}" for i in range(nvcpus))
    rect = "using 1:2:3:4:5:6:7 with boxxyerror fs solid 1.0 noborder lc rgb variable notitle"
    script = f"""
set terminal pngcairo size 1600,1200 font ',11' noenhanced
set output '{out}'
set multiplot layout 3,1 title '{title}'
set key outside right top
set style fill solid
set xlabel 'time since the guest started (ms)'
set xrange [0:{end:.3f}]
set ytics ({run_labels})
set yrange [-0.6:{2 * nvcpus - 0.4}]
set title 'the whole run: phases, whole-VM flushes (red) and frame flushes (orange)'
plot '{tmp}/run.dat' {rect}, {keys(PHASE_COLORS, 1)}, \\
     {keys({"user6..15": USER_PHASE_COLOR}, 1)}, {keys(FLUSH_COLORS, 1)}
set title 'the shadow pool: pages in use'
set ytics auto
set yrange [0:*]
plot '{tmp}/pool.dat' using 1:2 with steps lw 2 lc rgb '#1e88e5' notitle
"""
    if window:
        script += f"""
set title 'one fork phase, close up: phases, each hypercall (its length is the VMM time) and flushes'
set xrange [{window[0]:.3f}:{window[1]:.3f}]
set ytics ({zoom_labels})
set yrange [-0.6:{3 * nvcpus - 0.4}]
plot '{tmp}/zoom.dat' {rect}, {keys(HYPERCALL_COLORS, 1)}
"""
    return script + "unset multiplot\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("trace", help="a file written by umbra run --trace")
    ap.add_argument("png", help="the picture to write")
    args = ap.parse_args()
    if not shutil.which("gnuplot"):
        sys.exit("traceplot: gnuplot is not installed (Debian: apt-get install gnuplot-nox)")
    doc = load(args.trace)
    other = doc["otherData"]
    title = f"umbra --paging {other['paging']} {other['cmdline'] or '(default workload)'}"
    with tempfile.TemporaryDirectory() as tmp:
        nvcpus, end, window = build(doc, tmp)
        script = gnuplot_script(tmp, os.path.abspath(args.png), nvcpus, end, window, title)
        p = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
        if p.returncode != 0:
            sys.exit(f"traceplot: gnuplot failed:\n{p.stderr}")


if __name__ == "__main__":
    main()
