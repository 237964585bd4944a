"""umbra run --trace: the file parses as Chrome trace-event JSON, slices
nest on every track (phases, then hypercalls, then flushes), and what the
trace holds adds up exactly to the run's report: hypercalls, phases,
flushes (whole-VM, frames, the flush stub's), other exits and shadow counters per vCPU, KVM's exit count at the
last sample. A tiny buffer drops records, never blocks the guest, and says
how many it dropped, in the file and on stderr.
"""
import collections
import json
import os
import stat
import subprocess
import sys
import tempfile

import tracecheck
from tracecheck import fail

TOP_BUILDDIR = os.environ["top_builddir"]
UMBRA = os.path.join(TOP_BUILDDIR, "vmm", "umbra")
IMAGE = os.path.join(TOP_BUILDDIR, "guest", "umbra-guest.elf")
STUBCHECK = os.path.join(TOP_BUILDDIR, "tests", "guests", "stubcheck.elf")
ARGS = "forkstorm workers=2 forks=6 pages=8 write=50 live=2"
TINY = 16


def skip(why):
    if os.environ.get("UMBRA_REQUIRE_KVM") == "1":
        fail(f"{why} (UMBRA_REQUIRE_KVM=1)")
    print(f"SKIP: {why}")
    sys.exit(77)


def run(tmp, mode, *extra, image=IMAGE, args=ARGS, name=None):
    """umbra run with a trace and a report (in tmp, named after the mode or
    name); returns (trace, report, stderr)."""
    name = name or mode
    trace, report = os.path.join(tmp, f"{name}.trace.json"), os.path.join(tmp, f"{name}.json")
    cmd = [UMBRA, "run", "--paging", mode, "--timeout", "120", "--stats", "none",
           "--stats-file", report, "--trace", trace, *extra, image, "--"] + args.split()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        fail(f"{' '.join(cmd)}: exit code {p.returncode}\n{p.stdout}{p.stderr}")
    with open(report) as f:
        stats = json.load(f)
    return tracecheck.Trace(trace), stats, p.stderr


def expect(what, got, want):
    if got != want:
        fail(f"{what}: {got}, expected {want}")


def hypercall_counts(trace, tid):
    return collections.Counter(e["name"] for _, _, e in trace.slices(tid, "hypercall"))


def report_calls(vcpu):
    return {name: h["calls"] for name, h in vcpu["hypercalls"].items()
            if name != "total" and h["calls"]}


def check_complete(mode, trace, stats):
    """Nothing dropped: every count of the report is in the trace."""
    expect(f"{mode}: format", (trace.other["format"], trace.other["version"]), ("umbra-trace", 1))
    expect(f"{mode}: dropped", trace.other["dropped"], 0)
    parents = tracecheck.check_nesting(trace)
    tracecheck.check_levels(trace, parents)
    for v in stats["vcpus"]:
        i, tid = v["vcpu"], trace.vcpu_tid(v["vcpu"])
        if not v["ran"]:
            continue
        expect(f"{mode} vCPU {i}: hypercalls", dict(hypercall_counts(trace, tid)),
               report_calls(v))
        # A slice per phase entered: one per successful marker, and the first.
        phases = trace.slices(tid, "phase")
        ok = v["hypercalls"]["phase"]["calls"] - v["hypercalls"]["phase"]["errors"]
        expect(f"{mode} vCPU {i}: phase slices", len(phases), ok + 1)
        flushes = trace.slices(tid, "flush")
        expect(f"{mode} vCPU {i}: vm flushes",
               sum(1 for _, _, e in flushes if e["name"] == "vm_flush"), v["flushes"])
        expect(f"{mode} vCPU {i}: frames flushed",
               sum(e["args"]["frames"] for _, _, e in flushes if e["name"] == "frame_flush"),
               v["frame_flushes"])
        expect(f"{mode} vCPU {i}: flush stub runs",
               sum(1 for _, _, e in flushes if e["name"] == "tlb_flush"), v["tlb_flushes"])
        expect(f"{mode} vCPU {i}: pages the stub invalidated",
               sum(e["args"]["pages"] for _, _, e in flushes if e["name"] == "tlb_flush"),
               v["tlb_pages"])
        expect(f"{mode} vCPU {i}: other exits", len(trace.instants(tid, "exit")),
               v["exits"]["total"] - v["io"]["hypercall"])
        kvm = trace.counters(f"vCPU {i} KVM")
        if v["kvm"] is not None:
            expect(f"{mode} vCPU {i}: KVM exits at the last sample", kvm[-1][1]["exits"],
                   v["kvm"]["exits"])
        if v["shadow"] is None:
            continue
        sh = v["shadow"]
        deltas = collections.Counter()
        for _, _, e in trace.slices(tid, "hypercall"):
            deltas.update({k: e["args"].get(k, 0)
                           for k in ("shares", "unshares", "fills", "entries_written")})
        expect(f"{mode} vCPU {i}: shadow deltas", dict(deltas), {
            "shares": sh["share_exclusive"] + sh["share_shared"] + sh["share_identity"],
            "unshares": sh["unshare_copy"] + sh["unshare_exclusive"] + sh["unshare_follow"],
            "fills": sh["fill_private"] + sh["fill_shared"],
            "entries_written": sh["shadow_entries_written"]})
    pool = trace.counters("shadow pool")
    if stats["total"]["shadow_pool"] is None:
        expect(f"{mode}: pool samples", pool, [])
    else:
        expect(f"{mode}: pool pages at the end", pool[-1][1]["pages"],
               stats["total"]["shadow_pool"]["pages_now"])
    print(f"ok: --paging {mode}: {len(trace.events)} events, nested, equal to the report")


def check_tiny(path, trace, stats, err):
    """A full buffer keeps its first records and counts the rest."""
    dropped = trace.other["dropped"]
    line = (f"umbra: --trace {path}: {dropped} records dropped, the vCPU buffers of "
            f"{TINY} were full (see --trace-buffer)")
    if dropped == 0 or line not in err.splitlines():
        fail(f"tiny buffer: stderr lacks the line: {line}\n{err}")
    tracecheck.check_nesting(trace)
    total = 0
    for v in stats["vcpus"]:
        if not v["ran"]:
            continue
        i, tid = v["vcpu"], trace.vcpu_tid(v["vcpu"])
        info = trace.other["vcpus"][i]
        expect(f"tiny vCPU {i}: records", info["recorded"], TINY)
        kept = sum(1 for e in trace.events if e.get("tid") == tid and e["ph"] in "Xi"
                   and e.get("cat") != "trace")
        expect(f"tiny vCPU {i}: events in the file", kept, TINY)
        calls = sum(hypercall_counts(trace, tid).values())
        expect(f"tiny vCPU {i}: hypercalls kept + dropped",
               calls + info["dropped"]["hypercall"], v["hypercalls"]["total"]["calls"])
        full = trace.instants(tid, "trace")
        expect(f"tiny vCPU {i}: buffer-full marks", [e["args"]["dropped"] for e in full],
               [sum(info["dropped"].values())])
        total += sum(info["dropped"].values())
    expect("tiny: dropped over the vCPUs", total, dropped)
    print(f"ok: --trace-buffer {TINY}: {dropped} records dropped and reported")


if not (os.path.exists("/dev/kvm") and stat.S_ISCHR(os.stat("/dev/kvm").st_mode)
        and os.access("/dev/kvm", os.R_OK | os.W_OK)):
    skip("/dev/kvm is missing or not usable")
for path in (UMBRA, IMAGE, STUBCHECK):
    if not os.path.exists(path):
        fail(f"{path} is missing")
with tempfile.TemporaryDirectory() as tmp:
    for mode in ("share", "native"):
        check_complete(mode, *run(tmp, mode)[:2])
    # The flush stub: --flush tlb, which the guest kernel cannot run on with
    # a shadow-paging KVM (it would see stale translations), and stubcheck
    # can (its calls from CPL 0 are all it checks).
    trace, stats, _ = run(tmp, "share", "--flush", "tlb", "--mem", "64M", "--vcpus", "1",
                          image=STUBCHECK, args="", name="stub")
    check_complete("share --flush tlb", trace, stats)
    if stats["total"]["tlb_flushes"] == 0:
        fail("share --flush tlb: the stub never ran")
    trace, stats, err = run(tmp, "copy", "--trace-buffer", str(TINY))
    check_tiny(os.path.join(tmp, "copy.trace.json"), trace, stats, err)
