"""make check-nested: umbra on a hardware-style KVM, nested under QEMU TCG.

Boots Debian's kernel under qemu-system-x86_64 -accel tcg -cpu max with
kvm_amd loaded, once with npt=1 and once with npt=0 (one QEMU boot each).
In each boot a static umbra runs every workload of tests/nested/workloads.txt
in all four paging modes on 1 and 2 vCPUs (--check in the shadow modes;
native has no shadow MMU to check), then the runs of
tests/nested/extra-runs.txt. The same runs are made here first. Every run
must end with its expected status, and each nested run must print the same
summary lines as here. Exit, hypercall and shadow counts are printed side by
side and not compared: they follow scheduling, which differs between here
and L1.

Environment: top_srcdir, top_builddir and QEMU (set by make); optional:
  NESTED_UMBRA_OPTS   more umbra options for every run, e.g. --flush=MODE
                      (before each run's own options, which win)
  NESTED_KERNEL       the L1 kernel (default: the /boot/vmlinuz-* of the
                      highest version whose modules have kvm-amd.ko)
  NESTED_RUN_TIMEOUT  umbra's --timeout for each run, in seconds (120)
Arguments: --npt N (repeatable; default 1 then 0) boots only those;
--shell boots L1 (the first --npt) with a shell on the console instead.

bench/forkbench.py --nested imports this file for boot_l1(): the same L1,
with more memory, longer runs and the full reports.
"""
import argparse
import base64
import errno
import glob
import gzip
import json
import os
import re
import select
import shutil
import stat
import struct
import subprocess
import sys
import time
import zlib

# make sets both; an importer that does not is run from the build tree
TOP_SRCDIR = os.environ.get("top_srcdir",
                            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TOP_BUILDDIR = os.environ.get("top_builddir", ".")
NESTED_SRC = os.path.join(TOP_SRCDIR, "tests", "nested")
WORKDIR = os.path.join(TOP_BUILDDIR, "tests", "nested", "work")
UMBRA = os.path.join(TOP_BUILDDIR, "tests", "nested", "umbra-static")
HOLDER = os.path.join(TOP_BUILDDIR, "tests", "nested", "holder")
GUEST_IMAGE = "guest/umbra-guest.elf"  # relative to top_builddir, here and in /nested

PACKAGES = "qemu-system-x86 linux-image-amd64 busybox-static cpio"
BUSYBOX = "/bin/busybox"
KVM_MODULES = ("virt/lib/irqbypass.ko", "arch/x86/kvm/kvm.ko",
               "drivers/crypto/ccp/ccp.ko", "arch/x86/kvm/kvm-amd.ko")
MODES = ("share", "copy", "lazy", "native")
VCPUS = (1, 2)
RUN_TIMEOUT = int(os.environ.get("NESTED_RUN_TIMEOUT", "120"))
BOOT_TIMEOUT = 300  # seconds from QEMU's start to kvm_amd loaded
RUN_GRACE = 60  # seconds a nested run may take beyond its --timeout
CONSOLE_TAIL = 60  # console lines shown when a boot fails

# Printed side by side, nested/here: (column, path in the JSON report).
COUNTERS = (
    ("exits", "total.exits.total"),  # user-space exits
    ("kvm-exits", "total.kvm.exits"),  # every exit KVM counted, in-kernel ones too
    ("hcalls", "total.hypercalls.total.calls"),
    ("flushes", "total.flushes"),
    ("frame-fl", "total.frame_flushes"),
    ("sh-writes", "total.shadow.shadow_entries_written"),
    ("sh-pages", "total.shadow.pages_allocated"),
)
# The flush back-end umbra used (--flush=MODE); a column once a report has it.
FLUSH_MODE = "run.flush"


def die(why):
    print(f"check-nested: {why}")
    sys.exit(1)


class Run:
    """One umbra run: IMAGE (relative to top_builddir) with OPTS and guest
    ARGS, and the status expected in each world ("here", "npt1", "npt0"); a
    world without one does not make the run."""

    def __init__(self, rid, name, image, opts, args, expected, workload):
        self.id, self.name, self.image = rid, name, image
        self.opts, self.args, self.expected = opts, args, expected
        self.workload = workload  # the guest kernel's workload: pool and leak checks apply

    def option(self, name, default):
        """The value of umbra option NAME in this run (the last one wins)."""
        value, opts = default, self.opts.split()
        for i, o in enumerate(opts[:-1]):
            if o == name:
                value = opts[i + 1]
        return value

    def mode(self):
        return self.option("--paging", "share")  # umbra's defaults

    def vcpus(self):
        return self.option("--vcpus", "2")


def table_lines(name):
    """The lines of tests/nested/NAME without comments and blank lines."""
    with open(os.path.join(NESTED_SRC, name)) as f:
        for number, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if line:
                yield number, line


def parse_expected(status, everywhere):
    """STATUS as {world: status}: "N" is N everywhere, "npt0=1 here=0" names
    the worlds that make the run; None if it is neither."""
    if status.isdigit():
        return dict.fromkeys(everywhere, int(status))
    expected = {}
    for pair in status.split():
        world, _, n = pair.partition("=")
        if world not in everywhere or not n.isdigit():
            return None
        expected[world] = int(n)
    return expected or None


def load_runs():
    extra = os.environ.get("NESTED_UMBRA_OPTS", "").strip()
    everywhere = {"here": 0, "npt1": 0, "npt0": 0}
    runs, seen = [], []
    for _, args in table_lines("workloads.txt"):
        workload = args.split()[0]
        seen.append(workload)
        if seen.count(workload) > 1:  # the second forkstorm line is forkstorm#2
            workload += f"#{seen.count(workload)}"
        for mode in MODES:
            for vcpus in VCPUS:
                check = "" if mode == "native" else " --check"
                opts = f"{extra} --paging {mode} --vcpus {vcpus}{check}".strip()
                runs.append(Run(f"{workload}.{mode}.{vcpus}", workload, GUEST_IMAGE, opts, args,
                                everywhere, True))
    for number, line in table_lines("extra-runs.txt"):
        fields = [f.strip() for f in line.split("|")]
        if len(fields) != 4:
            die(f"extra-runs.txt:{number}: not IMAGE | OPTIONS | GUEST ARGS | STATUS")
        image, opts, args, status = fields
        if not os.path.exists(os.path.join(TOP_BUILDDIR, image)):
            die(f"extra-runs.txt:{number}: {image} is not in the build tree")
        expected = parse_expected(status, everywhere)
        if expected is None:
            die(f"extra-runs.txt:{number}: status '{status}' is not N or WORLD=N... "
                f"(worlds: {' '.join(everywhere)})")
        base = os.path.basename(image)
        name = f"{base}:{args.split()[0]}" if args else base
        runs.append(Run(f"{base}.{number}", name, image, f"{extra} {opts}".strip(), args,
                        expected, False))
    return runs


class Result:
    """What one run did: exit status, output lines, the JSON report (None
    if umbra wrote none) and its time in milliseconds."""

    def __init__(self, status=None, out=(), err=(), report=None, ms=0):
        self.status, self.out, self.err = status, list(out), list(err)
        self.report, self.ms = report, ms
        self.dmesg = []

    def summaries(self):
        return [line for line in self.out if line.startswith("summary: ")]

    def get(self, path):
        value = self.report
        for key in path.split("."):
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return value

    def problems(self, run, want):
        """Why this result is not what RUN expects (exit status WANT)."""
        why = []
        if self.status != want:
            why.append(f"exit status {self.status}, expected {want}")
        if "--check" in run.opts.split():
            message = self.get("result.message")
            if message is None:
                why.append("no JSON report")
            elif "shadow invariant broken" in message:
                why.append(message)
        if run.workload and want == 0:
            if len(self.summaries()) != 1:
                why.append(f"{len(self.summaries())} summary lines, expected 1")
            if any(line.startswith(("kernel: leak", "panic")) for line in self.out):
                why.append("the guest kernel reported a leak or a panic")
            if run.mode() != "native" and self.get("result.shadow_pool_full") is not True:
                why.append("the shadow pool is not full again at the end")
        return why

    def details(self):
        return ([f"  out: {line}" for line in self.out] + [f"  err: {line}" for line in self.err] +
                [f"  dmesg: {line}" for line in self.dmesg])


def umbra_command(umbra, image, run, report):
    return ([umbra, "run"] + run.opts.split() +
            ["--timeout", str(RUN_TIMEOUT), "--stats", "none", "--stats-file", report, image, "--"] +
            run.args.split())


def kvm_here():
    """True if this machine's /dev/kvm opens; without it the runs here are
    left out (a failure where UMBRA_REQUIRE_KVM=1 says they must run)."""
    try:
        if not stat.S_ISCHR(os.stat("/dev/kvm").st_mode):
            raise OSError(errno.ENODEV, "not a character device")
        os.close(os.open("/dev/kvm", os.O_RDWR))
        return True
    except OSError as e:
        if os.environ.get("UMBRA_REQUIRE_KVM") == "1":
            die(f"/dev/kvm: {e.strerror} (UMBRA_REQUIRE_KVM=1)")
        print(f"here: /dev/kvm: {e.strerror}; no runs here: the workloads' summary lines are "
              "compared with tests/guest/summaries.txt, and npt=0's with npt=1's", flush=True)
        return False


def pinned_summaries():
    """{guest arguments: [summary line]} from tests/guest/summaries.txt."""
    pinned = {}
    with open(os.path.join(TOP_SRCDIR, "tests", "guest", "summaries.txt")) as f:
        for line in f:
            line = line.rstrip("\n")
            fields = line.split()
            # "summary: NAME k=v ... processes=..." pins the arguments before the results
            args = []
            for field in fields[1:]:
                if field.split("=")[0] in ("processes", "killed", "failures", "checksum"):
                    break
                args.append(field)
            pinned[" ".join(args)] = [line]
    return pinned


def run_here(runs):
    """Every run meant for "here", with the same static umbra as L1."""
    results = {}
    if not kvm_here():
        return results
    report = os.path.join(WORKDIR, "here.json")
    for run in runs:
        if "here" not in run.expected:
            continue
        if os.path.exists(report):
            os.remove(report)
        start = time.monotonic()
        cmd = umbra_command(UMBRA, os.path.join(TOP_BUILDDIR, run.image), run, report)
        try:
            p = subprocess.run(cmd, capture_output=True, text=True,
                               timeout=RUN_TIMEOUT + RUN_GRACE)
            r = Result(p.returncode, p.stdout.splitlines(), p.stderr.splitlines())
        except subprocess.TimeoutExpired:
            r = Result(err=[f"killed: still running {RUN_GRACE} s after its --timeout"])
        r.ms = int((time.monotonic() - start) * 1000)
        if os.path.exists(report):
            with open(report) as f:
                r.report = json.load(f)
        results[run.id] = r
    return results


def is_static(path):
    """True if the ELF file at PATH has no program interpreter."""
    with open(path, "rb") as f:
        data = f.read(1 << 16)
    if data[:4] != b"\x7fELF" or data[4] != 2:
        return False
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    types = [struct.unpack_from("<I", data, phoff + i * phentsize)[0] for i in range(phnum)]
    return 3 not in types  # PT_INTERP


def version_order(name):
    """A sort key that puts 6.1.0-10 after 6.1.0-9."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def find_tools():
    """(qemu, kernel, module directory), or a one-line exit naming the
    packages when one is missing."""
    missing = []
    qemu = os.environ.get("QEMU") or shutil.which("qemu-system-x86_64")
    if not qemu:
        missing.append("qemu-system-x86_64")
    wanted = os.environ.get("NESTED_KERNEL")
    candidates = [wanted] if wanted else sorted(glob.glob("/boot/vmlinuz-*"), reverse=True,
                                                key=version_order)
    kernel = moddir = None
    for k in candidates:
        d = "/lib/modules/" + os.path.basename(k)[len("vmlinuz-"):] + "/kernel"
        if os.path.exists(k) and all(os.path.exists(os.path.join(d, m)) for m in KVM_MODULES):
            kernel, moddir = k, d
            break
    if not kernel:
        missing.append(f"NESTED_KERNEL={wanted} or its kvm-amd.ko" if wanted else
                       "a kernel in /boot with kvm-amd.ko in /lib/modules")
    if not (os.path.exists(BUSYBOX) and is_static(BUSYBOX)):
        missing.append(f"a static {BUSYBOX}")
    if not shutil.which("cpio"):
        missing.append("cpio")
    if missing:
        die(f"missing {', '.join(missing)}: apt-get install {PACKAGES}")
    return qemu, kernel, moddir


def build_initramfs(world, runs, moddir, extra_files=None, extra_modules=()):
    """The initramfs for WORLD's runs, uncompressed: unpacking it would cost
    L1 time at TCG speed. EXTRA_FILES: {path here: path under /nested} (a
    run's IMAGE "exec:NAME" runs /nested/NAME); EXTRA_MODULES: more kernel
    modules (paths under the module directory), beside KVM's."""
    root = os.path.join(WORKDIR, f"root-{world}")
    shutil.rmtree(root, ignore_errors=True)
    for d in ("bin", "proc", "sys", "dev", "tmp", "nested", "host"):
        os.makedirs(os.path.join(root, d))
    version = os.path.basename(os.path.dirname(moddir))
    files = {BUSYBOX: "bin/busybox", os.path.join(NESTED_SRC, "init.sh"): "init",
             HOLDER: "nested/holder"}
    if runs:  # kvm-suite.py has none: its L1 runs the build's own umbra
        files[UMBRA] = "nested/umbra"
    for m in KVM_MODULES + tuple(extra_modules):
        files[os.path.join(moddir, m)] = f"lib/modules/{version}/kernel/{m}"
    for run in runs:
        if not run.image.startswith("exec:"):
            files[os.path.join(TOP_BUILDDIR, run.image)] = "nested/" + run.image
    for src, dst in (extra_files or {}).items():
        files[src] = "nested/" + dst
    for src, dst in files.items():
        os.makedirs(os.path.dirname(os.path.join(root, dst)), exist_ok=True)
        shutil.copy(src, os.path.join(root, dst))
    os.chmod(os.path.join(root, "init"), 0o755)
    with open(os.path.join(root, "nested", "runs"), "w") as f:
        for run in runs:
            f.write(f"{run.id}|{run.image}|{run.opts}|{run.args}|{run.expected[world]}\n")
    image = os.path.join(WORKDIR, f"initramfs-{world}.cpio")
    names = subprocess.run(["find", "."], cwd=root, capture_output=True, check=True).stdout
    with open(image, "wb") as f:
        subprocess.run(["cpio", "-o", "-H", "newc", "-R", "0:0", "--quiet"], cwd=root,
                       input=names, stdout=f, check=True)
    return image


def qemu_command(qemu, kernel, initramfs, npt, shell=False, mem="1G", run_timeout=None,
                 full_reports=False):
    run_timeout = RUN_TIMEOUT if run_timeout is None else run_timeout
    append = f"console=ttyS0 loglevel=4 panic=-1 nested_npt={npt} nested_run_timeout={run_timeout}"
    if shell:
        append += " nested_shell=1"
    if full_reports:
        append += " nested_full_report=1"
    # q35, not microvm: microvm has no HPET or ACPI PM timer, and on a busy
    # host L1's TSC calibration against the PIT fails; the kernel then
    # hung for good after "tsc: Marking TSC unstable". q35 calibrates
    # against the HPET. thread=single: multi-threaded TCG killed ~4% of
    # 2-vCPU runs with emulator faults in L1 (PLATFORM.md, nested pitfall 3).
    return [qemu, "-M", "q35", "-nodefaults", "-accel", "tcg,thread=single", "-cpu", "max",
            "-m", mem, "-smp", "2", "-nographic", "-no-reboot",
            "-serial", "mon:stdio" if shell else "stdio", "-monitor", "none",
            "-kernel", kernel, "-initrd", initramfs, "-append", append]


def for_display(line):
    """A console line as the tail shows it: no terminal escapes (SeaBIOS
    sends some), and a report's size instead of its base64."""
    line = re.sub(r"\x1b(\[[0-9;?]*[A-Za-z]|c)", "", line)
    if line.startswith("NESTED-REPORT "):
        rid, _, data = line[len("NESTED-REPORT "):].partition(" ")
        line = f"NESTED-REPORT {rid} ({len(data)} bytes of base64)"
    return line


def decode_report(line):
    """The JSON report from its NESTED-REPORT console line, or None if a
    kernel message or lost bytes garbled the line."""
    try:
        return json.loads(gzip.decompress(base64.b64decode(line, validate=True)))
    except (ValueError, OSError, EOFError, zlib.error):
        return None


def console_lines(p, log, deadline):
    """The console lines of QEMU process P as they come, each copied to
    LOG. DEADLINE() is the monotonic time by which more output must come;
    past it QEMU is killed and TimeoutError raised. Ends when QEMU does."""
    buf = b""
    while True:
        left = deadline() - time.monotonic()
        if left <= 0 or not select.select([p.stdout], [], [], left)[0]:
            p.kill()
            p.wait()
            raise TimeoutError
        chunk = os.read(p.stdout.fileno(), 65536)
        if not chunk:
            return
        log.write(chunk.decode(errors="replace"))
        buf += chunk
        *lines, buf = buf.split(b"\n")
        for raw in lines:
            yield raw.decode(errors="replace").rstrip("\r")


class Boot:
    """One QEMU boot of L1 that makes WORLD's runs, read from its console."""

    def __init__(self, world, npt, cmd, runs, run_timeout=None):
        self.world, self.npt, self.runs = world, npt, runs
        self.run_timeout = RUN_TIMEOUT if run_timeout is None else run_timeout
        self.results, self.failure = {}, None
        self.log = os.path.join(WORKDIR, f"console-{world}.log")
        self.pending = {}  # run id -> Result being read
        self.start = time.monotonic()
        with open(self.log, "w") as log:
            self.read_console(cmd, log)
        self.seconds = time.monotonic() - self.start

    def read_console(self, cmd, log):
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        timeout, waiting_for = BOOT_TIMEOUT, "kvm_amd to load"
        deadline = time.monotonic() + timeout
        done = False
        self.tail = []
        try:
            for line in console_lines(p, log, lambda: deadline):
                self.tail = (self.tail + [for_display(line)])[-CONSOLE_TAIL:]
                event = self.parse(line)
                if event == "done":
                    done, timeout, waiting_for = True, 60, "QEMU to exit"
                elif event:
                    timeout, waiting_for = self.run_timeout + RUN_GRACE, event
                if event:
                    deadline = time.monotonic() + timeout
        except TimeoutError:
            self.fail(f"gave up after {timeout} s waiting for {waiting_for}")
            return
        status = p.wait()
        if not done and not self.failure:
            self.fail(f"QEMU exited with status {status} while waiting for {waiting_for}")

    def parse(self, line):
        """Takes one console line in. Returns "done" at the end of the runs,
        what comes next when a run ended or kvm_amd was loaded, else None."""
        tag, _, rest = line.partition(" ")
        rid, _, value = rest.partition(" ")
        if tag == "NESTED-BOOT":
            up = time.monotonic() - self.start
            print(f"{self.world}: L1 up after {up:.0f} s: {rest}", flush=True)
            return self.next_run()
        if tag == "NESTED-FAIL":
            self.fail(rest)
        elif tag == "NESTED-DONE":
            return "done"
        elif tag in ("NESTED-OUT", "NESTED-ERR", "NESTED-DMESG", "NESTED-REPORT", "NESTED-RUN"):
            r = self.pending.setdefault(rid, Result())
            if tag == "NESTED-OUT":
                r.out.append(value)
            elif tag == "NESTED-ERR":
                r.err.append(value)
            elif tag == "NESTED-DMESG":
                r.dmesg.append(value)
            elif tag == "NESTED-REPORT":
                r.report = decode_report(value)
                if r.report is None:
                    r.err.append("check-nested: the report's console line is garbled")
            else:
                status, _, ms = value.partition(" ")
                r.status, r.ms = int(status), int(ms)
                self.results[rid] = self.pending.pop(rid)
                print(f"{self.world}: {rid}: exit {r.status}, {r.ms / 1000:.1f} s", flush=True)
                return self.next_run()
        return None

    def next_run(self):
        todo = [run.id for run in self.runs if run.id not in self.results]
        return f"run {todo[0]} to end" if todo else "the end of the runs"

    def fail(self, why):
        self.failure = why
        print(f"{self.world}: FAIL: {why}; the console's last {len(self.tail)} lines "
              f"(all of it in {self.log}):")
        for line in self.tail:
            print(f"  | {line}")


def cell(nested, here):
    return f"{'-' if nested is None else nested}/{'-' if here is None else here}"


def print_table(runs, here, boots):
    columns = ["run", "mode", "vcpus", "npt", "result"] + [c for c, _ in COUNTERS]
    flush = any(r.get(FLUSH_MODE) is not None
                for results in [here] + [b.results for b in boots] for r in results.values())
    if flush:
        columns.append("flush")
    rows = []
    for boot in boots:
        for run in runs:
            if boot.world not in run.expected:
                continue
            n, h = boot.results.get(run.id), here.get(run.id, Result())
            if n is None:
                continue
            row = [run.name, run.mode(), run.vcpus(), str(boot.npt),
                   "ok" if run.id not in boot.bad else "FAIL"]
            row += [cell(n.get(path), h.get(path)) for _, path in COUNTERS]
            if flush:
                row.append(cell(n.get(FLUSH_MODE), h.get(FLUSH_MODE)))
            rows.append(row)
    widths = [max(len(str(x)) for x in col) for col in zip(columns, *rows)] if rows else []
    for row in [columns] + rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip())


def check_boot(boot, runs, here, reference):
    """The failures of one boot's runs, as messages; sets boot.bad. A run
    made here is compared with that; one not made here with REFERENCE, a
    workload's pinned summary line or the first boot's run."""
    failures, boot.bad = [], set()
    if boot.failure:
        failures.append((f"{boot.world}: {boot.failure}", []))
    missing = [run.id for run in runs if run.id not in boot.results]
    if missing:
        failures.append((f"{boot.world}: no result for {len(missing)} of {len(runs)} runs, "
                         f"from {missing[0]} on", []))
    for run in runs:
        n = boot.results.get(run.id)
        if n is None:
            continue
        why = n.problems(run, run.expected[boot.world])
        h = here.get(run.id)
        if h is not None and n.summaries() != h.summaries():
            why.append(f"summary lines differ: nested {n.summaries()}, here {h.summaries()}")
        elif h is None and run.id in reference and n.summaries() != reference[run.id][1]:
            why.append(f"summary lines differ: {boot.world} {n.summaries()}, "
                       f"{reference[run.id][0]} {reference[run.id][1]}")
        if why:
            boot.bad.add(run.id)
            failures.append((f"{boot.world}: {run.id}: {'; '.join(why)}", n.details()))
    return failures


def shell(npt, qemu, kernel, moddir, runs):
    """Boots L1 with npt=NPT and a shell on this terminal, then exits."""
    world = f"npt{npt}"
    initramfs = build_initramfs(world, [r for r in runs if world in r.expected], moddir)
    print(f"L1 with npt={npt}: a shell on the console once kvm_amd is loaded; the runs are "
          "in /nested/runs; 'exit' powers off (or Ctrl-a x)")
    sys.exit(subprocess.run(qemu_command(qemu, kernel, initramfs, npt, shell=True)).returncode)


def boot_l1(npt, runs, workdir, mem="1G", run_timeout=RUN_TIMEOUT, extra_files=None):
    """For benchmarks: one boot of L1 with kvm_amd npt=NPT and MEM of
    memory that makes RUNS (each expected to exit with 0), with the full
    JSON reports (phases and vCPUs kept). Returns the Boot: its results
    {run id: Result}, its failure (None if it got to the end) and seconds."""
    global WORKDIR
    WORKDIR = workdir
    os.makedirs(WORKDIR, exist_ok=True)
    qemu, kernel, moddir = find_tools()
    for path in (UMBRA, HOLDER):
        if not os.path.exists(path):
            die(f"{path} is missing (make tests/nested/umbra-static tests/nested/holder)")
    world = f"npt{npt}"
    initramfs = build_initramfs(world, runs, moddir, extra_files)
    cmd = qemu_command(qemu, kernel, initramfs, npt, mem=mem, run_timeout=run_timeout,
                       full_reports=True)
    return Boot(world, npt, cmd, runs, run_timeout)


def main():
    parser = argparse.ArgumentParser(description="umbra nested under QEMU TCG with kvm_amd")
    parser.add_argument("--npt", type=int, choices=(0, 1), action="append",
                        help="boot only with this npt value (repeatable)")
    parser.add_argument("--shell", action="store_true", help="a shell in L1 instead of the runs")
    opts = parser.parse_args()
    npts = opts.npt or [1, 0]
    qemu, kernel, moddir = find_tools()
    for path in (UMBRA, HOLDER, os.path.join(TOP_BUILDDIR, GUEST_IMAGE)):
        if not os.path.exists(path):
            die(f"{path} is missing (make check-nested builds it)")
    os.makedirs(WORKDIR, exist_ok=True)
    runs = load_runs()
    if opts.shell:
        shell(npts[0], qemu, kernel, moddir, runs)
    version = subprocess.run([qemu, "--version"], capture_output=True, text=True).stdout
    print(f"check-nested: {version.splitlines()[0]}; L1 kernel {kernel}; {len(runs)} runs "
          f"per world; umbra options from NESTED_UMBRA_OPTS: "
          f"{os.environ.get('NESTED_UMBRA_OPTS') or '(none)'}", flush=True)

    start = time.monotonic()
    here = run_here(runs)
    here_seconds = time.monotonic() - start
    failures = []
    for run in runs:
        if run.id in here:
            why = here[run.id].problems(run, run.expected["here"])
            if why:
                failures.append((f"here: {run.id}: {'; '.join(why)}", here[run.id].details()))
    print(f"here: {len(here)} runs in {here_seconds:.0f} s", flush=True)

    pinned = pinned_summaries()
    reference = {run.id: ("summaries.txt", pinned[run.args]) for run in runs
                 if run.workload and run.args in pinned and run.id not in here}
    boots = []
    for npt in npts:
        world = f"npt{npt}"
        world_runs = [r for r in runs if world in r.expected]
        initramfs = build_initramfs(world, world_runs, moddir)
        boot = Boot(world, npt, qemu_command(qemu, kernel, initramfs, npt), world_runs)
        failures += check_boot(boot, world_runs, here, reference)
        boots.append(boot)
        for run in world_runs:  # a later boot's runs must say what this one's did
            if run.id not in here and run.id not in reference and run.id in boot.results:
                reference[run.id] = (world, boot.results[run.id].summaries())

    print("\nnested/here per run; the counts are shown, not compared (they follow scheduling)")
    print_table(runs, here, boots)
    print(f"\ntime: here {here_seconds:.0f} s; " +
          "; ".join(f"boot npt={b.npt} {b.seconds:.0f} s" for b in boots) +
          f"; total {time.monotonic() - start:.0f} s")
    for why, details in failures:
        print(f"FAIL: {why}")
        for line in details:
            print(line)
    if failures:
        sys.exit(1)
    match = "this machine" if here else "summaries.txt and each other"
    print(f"check-nested: ok, {sum(len(b.results) for b in boots)} nested runs match {match}")


if __name__ == "__main__":
    main()
