"""make check-kvm-nested: make check's KVM tests on a KVM of L1's, for a
machine without /dev/kvm.

Boots Debian's kernel under QEMU TCG (-cpu max) with kvm_amd npt=N loaded,
as check-nested.py does, and gives L1 this machine's root file system over
9p, read-only, with the build tree writable at the same path. L1 chroots
into it and runs `make check TESTS='...'` with UMBRA_REQUIRE_KVM=1 there:
the same build, the same test scripts and harness, the same logs (written
into the build tree), on a KVM that L1 has. A test that skips is a failure.

Environment: top_srcdir, top_builddir, QEMU, KVM_TESTS (the tests, set by
make), KVM_TESTS_ONLY (if set, only those of them that it names, with or
without .sh/.py), NESTED_KERNEL as for check-nested.py; NESTED_SUITE_TIMEOUT, the
seconds the suite may take (3600). Arguments: --npt N (1); --list prints
the tests instead; --command CMD runs CMD in the chroot instead of make
check (make check-kvm-nested NESTED_FLAGS="--command '...'"); --mem SIZE
gives L1 SIZE of memory (3G).
"""
import argparse
import importlib.util
import os
import re
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# The modules 9p over virtio-pci needs, in load order (Debian builds them all as modules).
NINEP_MODULES = ("drivers/virtio/virtio_ring.ko", "drivers/virtio/virtio.ko",
                 "drivers/virtio/virtio_pci_legacy_dev.ko",
                 "drivers/virtio/virtio_pci_modern_dev.ko", "drivers/virtio/virtio_pci.ko",
                 "net/9p/9pnet.ko", "net/9p/9pnet_virtio.ko", "fs/netfs/netfs.ko",
                 "fs/fscache/fscache.ko", "fs/9p/9p.ko")
SUITE_TIMEOUT = int(os.environ.get("NESTED_SUITE_TIMEOUT", "3600"))
# L1's memory: the concurrent tests run several 320 MiB guests at once.
L1_MEM = "3G"


def load_check_nested():
    spec = importlib.util.spec_from_file_location("check_nested",
                                                  os.path.join(HERE, "check-nested.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stem(test):
    """A test's name as its .log and .trs files have it."""
    return re.sub(r"\.(sh|py)$", "", test)


def suite_script(builddir, tests, command):
    """/nested/suite: what L1 runs in the chroot (COMMAND instead of make
    check, if given)."""
    # the harness's summary lines reach the console even when make's own output scrolled
    run = command or (f"make -s check TESTS={shlex.quote(tests)} UMBRA_REQUIRE_KVM=1; status=$?; "
                      "grep -h '^# [A-Z]*: ' test-suite.log 2>/dev/null; exit $status")
    return "\n".join([
        "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "export HOME=/tmp LANG=C.UTF-8 UMBRA_REQUIRE_KVM=1",
        f"cd {shlex.quote(builddir)} || exit 1",
        'echo "kvm-suite: L1 $(uname -r), kvm_amd npt=$(cat /sys/module/kvm_amd/parameters/npt),'
        ' $(nproc) CPUs, /dev/kvm: $(ls -l /dev/kvm)"',
        run, ""])


def main():
    parser = argparse.ArgumentParser(description="make check's KVM tests on kvm_amd in L1")
    parser.add_argument("--npt", type=int, choices=(0, 1), default=1)
    parser.add_argument("--list", action="store_true", help="print the tests it would run")
    parser.add_argument("--mem", default=L1_MEM, help=f"L1's memory ({L1_MEM})")
    parser.add_argument("--command", help="run this shell command in the build tree instead, "
                        "with the same set-up (to debug a test, or measure, on L1's KVM)")
    opts = parser.parse_args()
    only = {stem(t) for t in os.environ.get("KVM_TESTS_ONLY", "").split()}
    tests = " ".join(t for t in os.environ.get("KVM_TESTS", "").split()
                     if not only or stem(t) in only)
    if opts.list:
        print("\n".join(tests.split()))
        return
    if not tests:
        print("kvm-suite: KVM_TESTS is empty (run it as make check-kvm-nested)")
        sys.exit(1)
    cn = load_check_nested()
    qemu, kernel, moddir = cn.find_tools()
    builddir = os.path.realpath(cn.TOP_BUILDDIR)
    workdir = os.path.join(builddir, "tests", "nested", "work")
    os.makedirs(workdir, exist_ok=True)
    cn.WORKDIR = workdir
    if not os.path.exists(cn.HOLDER):
        cn.die(f"{cn.HOLDER} is missing (make check-kvm-nested builds it)")
    files = {}
    stage = os.path.join(workdir, "suite")
    os.makedirs(stage, exist_ok=True)
    for name, text in (("suite", suite_script(builddir, tests, opts.command)),
                       ("suite-builddir", builddir + "\n"),
                       ("suite-modules", "\n".join(NINEP_MODULES) + "\n")):
        with open(os.path.join(stage, name), "w") as f:
            f.write(text)
        files[os.path.join(stage, name)] = name
    world = f"suite-npt{opts.npt}"
    initramfs = cn.build_initramfs(world, [], moddir, files, NINEP_MODULES)

    cmd = cn.qemu_command(qemu, kernel, initramfs, opts.npt, mem=opts.mem)
    cmd[-1] += " nested_suite=1"
    # multidevs=remap: / spans several file systems, whose inode numbers would collide
    cmd += ["-fsdev", "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap",
            "-device", "virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot",
            "-fsdev", f"local,id=build,path={builddir},security_model=none,multidevs=remap",
            "-device", "virtio-9p-pci,fsdev=build,mount_tag=build"]
    print(f"kvm-suite: {len(tests.split())} tests in L1 (kvm_amd npt={opts.npt}, "
          f"{kernel}, QEMU TCG); console in {workdir}/console-{world}.log", flush=True)
    sys.exit(run(cmd, os.path.join(workdir, f"console-{world}.log"), cn))


def run(cmd, log_path, cn):
    """Boots L1, copies its console here; the suite's exit status, or 1."""
    start = time.monotonic()
    deadline = start + cn.BOOT_TIMEOUT + SUITE_TIMEOUT
    status = None
    with open(log_path, "w") as log:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        try:
            for raw in cn.console_lines(p, log, lambda: deadline):
                line = cn.for_display(raw)
                tag, _, rest = line.partition(" ")
                if tag == "NESTED-SUITE":
                    status = int(rest)
                elif tag == "NESTED-FAIL":
                    print(f"kvm-suite: FAIL: {rest}")
                elif tag == "NESTED-BOOT":
                    print(f"kvm-suite: L1 up after {time.monotonic() - start:.0f} s: {rest}",
                          flush=True)
                else:
                    print(line, flush=True)
        except TimeoutError:
            print(f"kvm-suite: FAIL: gave up after {time.monotonic() - start:.0f} s")
        p.wait()
    print(f"kvm-suite: {time.monotonic() - start:.0f} s; suite exit status {status}")
    return 1 if status is None else status


if __name__ == "__main__":
    main()
