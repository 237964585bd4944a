"""Exact counts where the guest's behaviour is deterministic.

bigparent with one child: the parent maps its program image, its stack and
`mem` MiB of heap (mem / 2 pmd ranges), forks once, and the child writes
`write` pages, each in a distinct 2 MiB range (stride = pages / write).
  - share: the fork shares exactly mem / 2 + 2 pmd pages (heap, image,
    stack) and the child unshares exactly write + 1 (its writes and its
    stack), by copy or in place depending on whether the parent unshared
    first: their sum is exact;
  - copy: the fork copies exactly those mem / 2 + 2 pmd pages and nothing
    is unshared;
  - lazy: the fork takes only the child's root, and the child takes one
    hidden fault per page it touches: doubling mem adds exactly its pages;
  - every mode: the same summary line, the fork phase costs the same
    user-space exits whatever the parent's size, and the pool is full
    again at the end.
"""
import e2e

RUNS = [(16, 8), (32, 4)]  # (mem MiB, pages the child writes)
e2e.require_umbra()

fork_exits = set()
lazy_fills = {}
for mem, write in RUNS:
    args = f"bigparent mem={mem} children=1 write={write}"
    ranges = mem // 2 + 2
    summaries = set()
    for mode in e2e.SHADOW_MODES:
        r = e2e.Run(mode, args)
        summaries.add(r.summary)
        r.pool_full() or r.fail("the pool is not full again at the end")
        fork, child = r.shadow("fork"), r.shadow("child")
        shared = fork["share_exclusive"] + fork["share_shared"]
        unshared = child["unshare_copy"] + child["unshare_exclusive"]
        got = (shared, fork["pmd_copied"], unshared)
        want = {"share": (ranges, 0, write + 1), "copy": (0, ranges, 0), "lazy": (0, 0, 0)}[mode]
        e2e.expect(got == want, f"{mode} mem={mem} write={write}: (pmd pages shared at fork, "
                   f"copied at fork, unshared by the child) = {got}, expected {want}")
        e2e.expect(r.calls("fork", "as_fork") == 1, f"{mode}: {r.calls('fork', 'as_fork')} forks")
        if mode == "lazy":
            e2e.expect(fork["pages_allocated"] == 1,
                       f"lazy fork allocated {fork['pages_allocated']} pages, expected 1 (the root)")
            e2e.expect(child["fill_private"] == r.calls("child", "as_fault"),
                       f"lazy child: {child['fill_private']} fills, "
                       f"{r.calls('child', 'as_fault')} fault hypercalls")
            lazy_fills[mem] = child["fill_private"]
        fork_exits.add(r.phase("fork")["exits"]["total"])
        print(f"ok: --paging {mode} {args}: shared {shared}, copied {fork['pmd_copied']}, "
              f"unshared {unshared}, fork-phase exits {r.phase('fork')['exits']['total']}")
    e2e.expect(len(summaries) == 1, f"{args}: the modes disagree: {summaries}")

(m1, _), (m2, _) = RUNS
extra = lazy_fills[m2] - lazy_fills[m1]
e2e.expect(extra == (m2 - m1) * 256,
           f"lazy: the child's hidden faults grew by {extra} from mem={m1} to mem={m2}, "
           f"expected {(m2 - m1) * 256} (one per page)")
e2e.expect(len(fork_exits) == 1,
           f"the fork phase's user-space exits differ between modes or sizes: {sorted(fork_exits)}")
print("ok: exact counts")
