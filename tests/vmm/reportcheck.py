"""Checks of umbra's JSON report shared by the VMM tests' Python parts."""
import sys


def calls_errors(got):
    """A hypercall's {calls, errors, ns} without its time, after checking
    that the time is there exactly when there were calls."""
    if isinstance(got, dict) and "ns" in got:
        if not isinstance(got["ns"], int) or (got["calls"] > 0) != (got["ns"] > 0):
            sys.exit(f"hypercall time {got['ns']} ns for {got['calls']} calls")
        got = {k: v for k, v in got.items() if k != "ns"}
    return got


def check(what, got, want, prefix=""):
    """Exits with a message unless got (hypercall times aside) is want."""
    got = calls_errors(got)
    if got != want:
        sys.exit(f"{prefix}{what}: {got}, expected {want}")
