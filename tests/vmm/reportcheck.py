"""Checks of umbra's JSON report shared by the VMM tests' Python parts."""
import sys


def calls_errors(got):
    """A hypercall's {calls, errors, ns, max_ns} without its times, after
    checking that the time is there exactly when there were calls, and
    that the longest call is part of it."""
    if isinstance(got, dict) and "ns" in got:
        if not isinstance(got["ns"], int) or (got["calls"] > 0) != (got["ns"] > 0):
            sys.exit(f"hypercall time {got['ns']} ns for {got['calls']} calls")
        if not isinstance(got.get("max_ns"), int) or (got["calls"] > 0) != (got["max_ns"] > 0) \
                or got["max_ns"] > got["ns"] or got["max_ns"] * got["calls"] < got["ns"]:
            sys.exit(f"longest hypercall {got.get('max_ns')} ns of {got['ns']} ns in {got['calls']} calls")
        got = {k: v for k, v in got.items() if k not in ("ns", "max_ns")}
    return got


def check(what, got, want, prefix=""):
    """Exits with a message unless got (hypercall times aside) is want."""
    got = calls_errors(got)
    if got != want:
        sys.exit(f"{prefix}{what}: {got}, expected {want}")


def stays(report):
    """Checks every COUNTERS object of a report: the longest stay in a
    phase is part of the phase's time, and there is one exactly when there
    was time."""
    objs = [report["total"]] + report["vcpus"]
    for p in report["phases"]:
        objs += [p["total"]] + p["vcpus"]
    for c in objs:
        if "time_ns" not in c:
            continue
        if c["longest_ns"] > c["time_ns"] or (c["longest_ns"] > 0) != (c["time_ns"] > 0):
            sys.exit(f"longest stay {c['longest_ns']} ns of {c['time_ns']} ns in a phase")
