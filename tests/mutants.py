#!/usr/bin/env python3
"""Mutation testing of the shadow library: each mutant below is a real bug
(a flush, a write-protect, an ownership check, an ordering taken away); the
script builds each one in a scratch copy of the tree and runs the tests
that must kill it. A mutant that no test kills is a hole in the tests.

    tests/mutants.py [--keep] [NAME ...]      (or: make check-mutants)

It copies the distribution (`make distdir`, in $top_builddir or this
tree) to a temporary directory, configures it once without -Werror (a mutant may leave a
variable unused), and for each mutant applies one exact text replacement,
rebuilds the named check programs and runs them. Exit status 0 when every
mutant is killed. Takes a few minutes; not part of `make check`.

Ordering mutants (a relaxed decrement, a missing acquire) are killed by
the spin model, not by these programs: C tests cannot make a weak memory
order happen. Each is listed with the model variant that makes the same
change to tests/model/shadow.pml; the script checks that spin finds a
counterexample in it (as `make check-model` does) when spin is installed.
"""
import os
import shutil
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (name, file, old text, new text, tests that must fail)
MUTANTS = [
    ("no flush after an upper-level change", "shadow/tree.c",
     "	if (sh->cfg.flush_mode == SHADOW_FLUSH_GLOBAL || slink_narrows(old, e))\n"
     "		flush_upper(sh, as);",
     "	(void)slink_narrows;", ["test-flush"]),
    ("no flush after a dropped link", "shadow/tree.c",
     "	sentry_set(sh, slot, 0);\n	if (!spage_fresh(sh, page))\n		flush_upper(sh, as);",
     "	sentry_set(sh, slot, 0);", ["test-flush"]),
    ("no flush after a narrowed leaf", "shadow/tree.c",
     "		flush_leaf(sh, as, va, old & PTE_FRAME);", "		;", ["test-flush"]),
    ("no path copy (COPY mode changes in place)", "shadow/tree.c",
     "	if (!flush_copies(sh))\n		return;\n	for (l = 4; l >= level && p->pg[l] != NIL; l--) {\n"
     "		old = p->pg[l];",
     "	if (flush_copies(sh))\n		return;\n	for (l = 4; l >= level && p->pg[l] != NIL; l--) {\n"
     "		old = p->pg[l];", ["test-flush"]),
    ("COPY mode widens a link over a walked pmd page", "shadow/share.c",
     "	if (exclusive && !(flush_copies(sh) && !spage_fresh(sh, idx))) {",
     "	if (exclusive) {", ["test-flush"]),
    ("share without the write-protect", "shadow/share.c",
     "		if (link & PTE_W)\n			slink_change(sh, parent, parent_page, pi, link & ~PTE_W);",
     "		(void)parent;", ["test-share", "test-fork"]),
    ("unshare in place while shared", "shadow/share.c",
     "memory_order_acquire) == 1;\n	if (exclusive",
     "memory_order_acquire) >= 1;\n	if (exclusive", ["test-share"]),
    ("fill into a page shared by copies", "shadow/fault.c",
     "		f->unshare = count > 1 || (access & SHADOW_ACCESS_WRITE);",
     "		f->unshare = access & SHADOW_ACCESS_WRITE;", ["test-fault"]),
    ("a second writable link to a table", "shadow/frames.c",
     "		else if ((old & FS_LINKS) && !shared)\n			rc = -EEXIST;",
     "		else if (0)\n			rc = -EEXIST;", ["test-owner"]),
    ("a user leaf maps a page table", "shadow/frames.c",
     "		if (old & (FS_LINKS | FS_KERNEL)) {", "		if (0) {", ["test-owner"]),
    ("fill on links that no longer stand for the guest's tables", "shadow/fault.c",
     "	if (!fill_links_current(sh, va, &f))\n		return -ESTALE;",
     "	(void)fill_links_current;", ["test-owner"]),
    ("an update writes a table the guest shares", "shadow/update.c",
     "	if (frame_links(sh, d.table) > 1) {", "	if (0) {", ["test-owner"]),
    ("in-place unshare without its write-protect", "shadow/update.c",
     "	if (u->flags & SHADOW_UPDATE_WP_BELOW)\n		wp_below(",
     "	if (0)\n		wp_below(", ["test-owner"]),
    ("freed pages reused before KVM forgot them", "shadow/pool.c",
     "	if (sh->cfg.defer_free) {", "	if (0) {", ["test-flush", "test-pool"]),
    ("a stale handle named the slot's next tenant", "shadow/as.c",
     "	if (!as->live || as->gen != handle >> 16) {", "	if (!as->live) {", ["test-as"]),
    ("a fill's leaf stored plainly into a pmd page it just linked into a shared PD",
     "shadow/fault.c", "	if (l == 1)\n		f->shared = true;\n", "", ["test-races"]),
]

# (name, file, old, new, model variant that shows the bug)
ORDERING = [
    ("the unsharer's decrement relaxed", "shadow/share.c",
     "old = atomic_fetch_sub_explicit(count, 1, memory_order_release);",
     "old = atomic_fetch_sub_explicit(count, 1, memory_order_relaxed);", "RELAXED_PUT"),
    ("no acquire before the last sharer frees", "shadow/share.c",
     "		spage_acquire_last(count);\n		spage_free(sh, idx);", "		spage_free(sh, idx);",
     "NO_ACQUIRE"),
]


def model_counterexample(work, variant):
    """True if spin finds a counterexample in the model with BROKEN_<variant>."""
    d = os.path.join(work, f"model-{variant}")
    os.makedirs(d, exist_ok=True)
    shutil.copy(os.path.join(TOP, "tests", "model", "shadow.pml"), d)
    if run(["spin", f"-DBROKEN_{variant}", "-a", "shadow.pml"], d) or \
            run(["cc", "-w", "-O2", "-DSAFETY", "-o", "pan", "pan.c"], d):
        return False
    out = subprocess.run(["./pan", "-m100000"], cwd=d, capture_output=True, text=True).stdout
    return any(l.rstrip().split("errors: ")[-1] not in ("", "0")
               for l in out.splitlines() if ", errors: " in l)


def run(cmd, cwd, quiet=True):
    return subprocess.run(cmd, cwd=cwd, shell=isinstance(cmd, str),
                          stdout=subprocess.DEVNULL if quiet else None,
                          stderr=subprocess.DEVNULL if quiet else None).returncode


def prepare(work):
    """A configured copy of the distribution in WORK: `make distdir` lists
    every file a build needs, and needs no git (CI's machine has none)."""
    builddir = os.environ.get("top_builddir", TOP)
    if run(["make", "-s", "distdir", f"distdir={work}"], builddir) != 0:
        sys.exit(f"mutants: make distdir in {builddir} failed")
    if run("./configure -q", work) != 0:
        sys.exit("mutants: cannot configure the scratch tree")


def kill(work, name, path, old, new, tests):
    src = os.path.join(work, path)
    text = open(src).read()
    if text.count(old) != 1:
        return f"STALE: the text to mutate is not in {path} once (fix tests/mutants.py)"
    open(src, "w").write(text.replace(old, new))
    try:
        progs = [f"tests/shadow/{t}" for t in tests]
        if run(["make", "-s", "-j2"] + progs, work) != 0:
            return "DID NOT BUILD"
        env = dict(os.environ, CK_FORK="yes")
        for t in progs:
            r = subprocess.run([os.path.join(work, t)], cwd=work, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               timeout=600)
            if r.returncode != 0:
                return f"killed by {os.path.basename(t)}"
        return "SURVIVED"
    finally:
        open(src, "w").write(text)


def main():
    keep = "--keep" in sys.argv
    only = [a for a in sys.argv[1:] if not a.startswith("--")]
    work = tempfile.mkdtemp(prefix="umbra-mutants.")
    failed = 0
    try:
        prepare(work)
        for name, path, old, new, tests in MUTANTS:
            if only and name not in only:
                continue
            verdict = kill(work, name, path, old, new, tests)
            failed += not verdict.startswith("killed")
            print(f"{verdict:34s} {name}")
        for name, path, old, new, variant in ORDERING:
            if only and name not in only:
                continue
            text = open(os.path.join(work, path)).read()
            if text.count(old) != 1:
                print(f"STALE: the text to mutate is not in {path} once  {name}")
                failed += 1
                continue
            if not shutil.which("spin"):
                print(f"{'(model not run: no spin)':34s} {name}")
                continue
            ok = model_counterexample(work, variant)
            failed += not ok
            print(f"{'killed by the model (' + variant + ')' if ok else 'SURVIVED':34s} {name}")
    finally:
        if keep:
            print(f"mutants: scratch tree kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if failed:
        sys.exit(f"mutants: {failed} not killed")
    print("mutants: every one killed")


if __name__ == "__main__":
    main()
