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
  - lazy: the fork takes only the child's root (besides the parent's own
    pages that a copying flush mode replaces instead of changing them:
    path_copies), and the child takes one hidden fault per page it
    touches: doubling mem adds exactly its pages;
  - every mode: the same summary line, the fork phase costs 2 user-space
    exits (its AS_FORK and its phase marker; kicks of the other vCPU
    aside) whatever the parent's size, and the pool is full again at the
    end.

With the guest kernel's own sharing on (ptshare=1, its default), where the
guest shares its PD pages at fork and unshares a PD and a PT on the way to
a write:
  - the guest shares ceil(mem / 1024) + 2 PD pages (heap, image, stack:
    each in a 1 GiB range of its own), and in share mode the VMM shares as
    many shadow PD pages by identity, writes the same number of shadow
    entries at every size (O(PD pages), not O(pages)), and clears W in
    exactly those guest entries; copy mode still copies every pmd page;
  - on 1 vCPU (the parent and the child then take turns the same way in
    every run), the child unshares the heap's PD and one PT per 2 MiB range
    it writes, and the guest makes the same other unshares in every run:
    in share and copy mode the shadow follows every guest unshare exactly
    once, by deriving a page (a re-pointed link) or by widening its link in
    place (the guest's in-place unshare; --flush copy derives a page there
    too where the old one was walked, as it never widens a link over a
    walked pmd page: so the split depends on the flush back-end, the sum
    does not). Its follows equal the guest's unshares over the run, and
    come to write + 3 in the child phase (measured the same with --flush
    tlb, copy and drop, nested on kvm_amd, 2026-12-02), and the guest's own
    unshares minus write are the same in every run.
"""
import e2e

RUNS = [(16, 8), (32, 4)]  # (mem MiB, pages the child writes)
e2e.require_umbra()

fork_exits = set()
lazy_fills = {}
fork_written = set()  # share, ptshare=1: shadow entries written at fork, per size
extra_unshares = set()  # (mode, guest unshares - write)
for mem, write in RUNS:
    args = f"bigparent mem={mem} children=1 write={write}"
    ranges = mem // 2 + 2
    summaries = set()
    for mode in e2e.SHADOW_MODES:
        r = e2e.Run(mode, args, ptshare=0)
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
            e2e.expect(fork["pages_allocated"] == 1 + fork["path_copies"],
                       f"lazy fork allocated {fork['pages_allocated']} pages, expected 1 "
                       f"(the root) + {fork['path_copies']} (the parent's copies)")
            e2e.expect(child["fill_private"] == r.calls("child", "as_fault"),
                       f"lazy child: {child['fill_private']} fills, "
                       f"{r.calls('child', 'as_fault')} fault hypercalls")
            lazy_fills[mem] = child["fill_private"]
        fork_exits.add(r.phase("fork")["exits"]["total"] - r.calls("fork", "kick"))
        print(f"ok: --paging {mode} {args}: shared {shared}, copied {fork['pmd_copied']}, "
              f"unshared {unshared}, fork-phase exits {r.phase('fork')['exits']['total']}")
    for mode in e2e.SHADOW_MODES:
        r = e2e.Run(mode, args, ptshare=1, vcpus=1)
        summaries.add(r.summary)
        r.pool_full() or r.fail("the pool is not full again at the end")
        fork, child, kt = r.shadow("fork"), r.shadow("child"), r.kernel_tables()
        pds = -(-mem // 1024) + 2
        e2e.expect(kt["shared"] == pds, f"{mode} mem={mem}: the guest shared {kt['shared']} "
                   f"tables at fork, expected {pds} PD pages")
        e2e.expect(r.calls("fork", "as_fork") == 1, f"{mode}: {r.calls('fork', 'as_fork')} forks")
        if mode == "share":
            got = (fork["share_identity"], fork["guest_entries_written"], fork["pmd_copied"])
            e2e.expect(got == (pds, pds, 0), f"share mem={mem}: (shadow PD pages shared, guest "
                       f"entries write-protected, pmd pages copied) at fork = {got}, "
                       f"expected ({pds}, {pds}, 0)")
            fork_written.add(fork["shadow_entries_written"])
        if mode == "copy":
            e2e.expect((fork["share_identity"], fork["pmd_copied"]) == (0, ranges),
                       f"copy mem={mem}: shared {fork['share_identity']}, copied "
                       f"{fork['pmd_copied']} at fork, expected 0 and {ranges}")
        if mode != "lazy":
            total = r.stats["total"]["shadow"]
            followed = total["unshare_follow"] + total["relink_widened"]
            unshares = kt["unshared_copy"] + kt["unshared_in_place"]
            e2e.expect(followed == unshares,
                       f"{mode} mem={mem} write={write}: the shadow followed {followed} guest "
                       f"unshares ({total['unshare_follow']} pages derived, "
                       f"{total['relink_widened']} links widened in place), the guest made "
                       f"{unshares} ({kt['unshared_copy']} by copy, {kt['unshared_in_place']} "
                       f"in place)")
            followed = child["unshare_follow"] + child["relink_widened"]
            e2e.expect(followed == write + 3,
                       f"{mode} mem={mem} write={write}: the child phase followed {followed} "
                       f"guest unshares ({child['unshare_follow']} pages derived, "
                       f"{child['relink_widened']} links widened in place), expected "
                       f"write + 3 = {write + 3}")
            extra_unshares.add((mode, kt["unshared_copy"] + kt["unshared_in_place"] - write))
        fork_exits.add(r.phase("fork")["exits"]["total"] - r.calls("fork", "kick"))
        print(f"ok: --paging {mode} ptshare=1 {args}: guest shared {kt['shared']}, shadow "
              f"shared {fork['share_identity']}, wrote {fork['shadow_entries_written']} shadow "
              f"entries at fork; child: guest unshares {kt['unshared_copy']} + "
              f"{kt['unshared_in_place']}, shadow pages derived {child['unshare_follow']}")
    e2e.expect(len(summaries) == 1, f"{args}: the modes disagree: {summaries}")

(m1, _), (m2, _) = RUNS
extra = lazy_fills[m2] - lazy_fills[m1]
e2e.expect(extra == (m2 - m1) * 256,
           f"lazy: the child's hidden faults grew by {extra} from mem={m1} to mem={m2}, "
           f"expected {(m2 - m1) * 256} (one per page)")
# Each fork: its AS_FORK and the phase marker that ends the phase.
e2e.expect(fork_exits == {2}, f"a fork phase took {sorted(fork_exits)} user-space exits "
           f"(kicks aside), expected 2: UMBRA_HC_AS_FORK and the phase marker")
e2e.expect(len(fork_written) == 1, f"share, ptshare=1: the shadow entries written at fork "
           f"differ between sizes: {sorted(fork_written)}")
for mode in ("share", "copy"):
    fixed = {e[1] for e in extra_unshares if e[0] == mode}
    e2e.expect(len(fixed) == 1, f"{mode}, ptshare=1: the guest's unshares minus the 2 MiB "
               f"ranges written differ between runs: {sorted(fixed)}")
print("ok: exact counts")
