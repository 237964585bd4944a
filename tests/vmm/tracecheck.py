"""Reading an `umbra run --trace` file back: the events by track, times in
integer nanoseconds, and the checks that any trace must pass."""
import decimal
import json
import sys


def ns(us):
    """A trace time (microseconds, exact to the nanosecond plus a quarter)
    as integer nanoseconds, the way Perfetto reads it (truncating)."""
    return int(us * 1000)


class Trace:
    def __init__(self, path):
        with open(path) as f:
            # Decimal: exact, so that ns() sees the digits that were written.
            self.doc = json.load(f, parse_float=decimal.Decimal)
        self.events = self.doc["traceEvents"]
        self.other = self.doc["otherData"]
        self.tids = {}  # tid -> track name
        for e in self.events:
            if e["ph"] == "M" and e["name"] == "thread_name":
                self.tids[e["tid"]] = e["args"]["name"]

    def vcpu_tid(self, i):
        return self.other["vcpus"][i]["tid"]

    def slices(self, tid=None, cat=None):
        """X events as (start ns, end ns, event), optionally of one track and category."""
        return [(ns(e["ts"]), ns(e["ts"]) + ns(e["dur"]), e) for e in self.events
                if e["ph"] == "X" and (tid is None or e["tid"] == tid)
                and (cat is None or e["cat"] == cat)]

    def instants(self, tid, cat=None):
        return [e for e in self.events if e["ph"] == "i" and e["tid"] == tid
                and (cat is None or e["cat"] == cat)]

    def counters(self, name):
        """The samples of counter `name`, in time order: (ns, args)."""
        return sorted(((ns(e["ts"]), e["args"]) for e in self.events
                       if e["ph"] == "C" and e["name"] == name), key=lambda s: s[0])


def fail(why):
    print(f"FAIL: {why}")
    sys.exit(1)


def check_nesting(trace):
    """On every track, slices nest: each one that starts inside another
    ends inside it too. Returns {event id: parent event or None}."""
    parents = {}
    for tid in trace.tids:
        stack = []
        for start, end, e in sorted(trace.slices(tid), key=lambda s: (s[0], -s[1])):
            if end < start:
                fail(f"track {tid}: {e['name']} ends before it starts")
            while stack and stack[-1][1] <= start:
                stack.pop()
            if stack and end > stack[-1][1]:
                fail(f"track {trace.tids[tid]}: {e['name']} at {start} ns ends at {end}, "
                     f"after its parent {stack[-1][2]['name']} ({stack[-1][1]})")
            parents[id(e)] = stack[-1][2] if stack else None
            stack.append((start, end, e))
    return parents


def check_levels(trace, parents):
    """Phases are the top level of a vCPU track, hypercalls lie inside a
    phase and flushes inside a hypercall."""
    want = {"phase": None, "hypercall": "phase", "flush": "hypercall"}
    for i in range(len(trace.other["vcpus"])):
        for _, _, e in trace.slices(trace.vcpu_tid(i)):
            parent = parents[id(e)]
            got = parent["cat"] if parent else None
            if got != want[e["cat"]]:
                fail(f"vCPU {i}: {e['cat']} {e['name']} at {e['ts']} us lies in {got}, "
                     f"expected {want[e['cat']]}")
