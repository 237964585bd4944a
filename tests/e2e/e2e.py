"""Helpers of the end-to-end tests: run the guest kernel on umbra and read
the JSON report. The harness exports top_srcdir and top_builddir."""
import json
import os
import re
import stat
import subprocess
import sys
import tempfile

TOP_SRCDIR = os.environ["top_srcdir"]
TOP_BUILDDIR = os.environ["top_builddir"]
UMBRA = os.path.join(TOP_BUILDDIR, "vmm", "umbra")
IMAGE = os.path.join(TOP_BUILDDIR, "guest", "umbra-guest.elf")
SUMMARIES = os.path.join(TOP_SRCDIR, "tests", "guest", "summaries.txt")
SHADOW_MODES = ("share", "copy", "lazy")


def fail(why):
    print(f"FAIL: {why}")
    sys.exit(1)


def skip(why):
    """Exit 77, or fail where UMBRA_REQUIRE_KVM=1 says the test must run."""
    if os.environ.get("UMBRA_REQUIRE_KVM") == "1":
        fail(f"{why} (UMBRA_REQUIRE_KVM=1)")
    print(f"SKIP: {why}")
    sys.exit(77)


def kvm_usable():
    """/dev/kvm is a character device we may open read-write (as root, a
    failed open can leave a regular file by that name: that is no KVM)."""
    try:
        is_device = stat.S_ISCHR(os.stat("/dev/kvm").st_mode)
    except OSError:
        return False
    return is_device and os.access("/dev/kvm", os.R_OK | os.W_OK)


def require_umbra():
    if not kvm_usable():
        skip("/dev/kvm is missing or not usable")
    for path in (UMBRA, IMAGE):
        if not os.path.exists(path):
            fail(f"{path} is missing")


def expect(cond, why):
    if not cond:
        fail(why)


def expected_summary(args):
    """The summary line tests/guest/summaries.txt pins for these arguments."""
    with open(SUMMARIES) as f:
        for line in f:
            if line.startswith(f"summary: {args} "):
                return line.rstrip("\n")
    fail(f"no summary for '{args}' in {SUMMARIES}")


class Run:
    """One `umbra run` of the guest kernel with the JSON report read back."""

    def __init__(self, mode, args, vcpus=2, check=False, mem="256M", timeout=240, ptshare=1,
                 flush=None):
        """ptshare: the guest kernel's own page-table sharing (1, its default) or not;
        flush: umbra's --flush (None: its default, by the kind of KVM)."""
        self.mode, self.args, self.ptshare = mode, args, ptshare
        with tempfile.TemporaryDirectory() as tmp:
            report = os.path.join(tmp, "stats.json")
            cmd = [UMBRA, "run", "--paging", mode, "--vcpus", str(vcpus), "--mem", mem,
                   "--timeout", str(timeout), "--stats", "none", "--stats-file", report]
            if check:
                cmd.append("--check")
            if flush:
                cmd += ["--flush", flush]
            cmd += [IMAGE, "--", f"ptshare={ptshare}"] + args.split()
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 60)
            self.status, self.out, self.err = p.returncode, p.stdout, p.stderr
            try:
                with open(report) as f:
                    self.stats = json.load(f)
            except (OSError, ValueError) as e:
                self.fail(f"no readable report: {e}")
        if self.status != 0:
            self.fail(f"exit code {self.status}")
        lines = [l for l in self.out.splitlines() if l.startswith("summary: ")]
        if len(lines) != 1:
            self.fail(f"{len(lines)} summary lines")
        self.summary = lines[0]

    def fail(self, why):
        print(f"--- umbra run --paging {self.mode} -- ptshare={self.ptshare} {self.args}")
        print(getattr(self, "out", ""), end="")
        print(getattr(self, "err", ""), end="")
        fail(f"--paging {self.mode} ptshare={self.ptshare} {self.args}: {why}")

    def phase(self, name):
        """The counters of every vCPU in phase `name` (the phase must exist)."""
        for p in self.stats["phases"]:
            if p["name"] == name:
                return p["total"]
        self.fail(f"no phase '{name}' in the report")

    def shadow(self, phase):
        return self.phase(phase)["shadow"]

    def calls(self, phase, hypercall):
        return self.phase(phase)["hypercalls"][hypercall]["calls"]

    def kernel_tables(self):
        """The guest kernel's own table counters (its 'kernel: tables:' line)."""
        for line in self.out.splitlines():
            if line.startswith("kernel: tables: "):
                m = re.match(r"kernel: tables: shared (\d+) \(write-protected (\d+)\) "
                             r"fork-copied (\d+) unshared by copy (\d+) in place (\d+) "
                             r"freed (\d+)", line)
                if not m:
                    self.fail(f"unreadable: {line}")
                keys = ("shared", "write_protected", "fork_copied", "unshared_copy",
                        "unshared_in_place", "freed")
                return dict(zip(keys, map(int, m.groups())))
        self.fail("no 'kernel: tables:' line")

    def pool_full(self):
        return self.stats["result"]["shadow_pool_full"] is True
