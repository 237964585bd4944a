"""The copy flush back-end flushes exactly the leaves a vCPU may have cached.

Under `--flush copy` (the back-end for shadow-paging KVMs: kvm_pvm,
kvm_amd npt=0) a shadow leaf that is narrowed or re-pointed is dropped by
the guest frame it mapped (`frame_flushes`), unless the pmd page holding it
was taken from the pool by the same hypercall: no vCPU can have walked that
page yet (shadow/flush.c, `spage_fresh`).

bigparent's children show both sides. Child c writes pages c + t * stride,
stride = pages / write. Its first write into a 2 MiB range unshares the
range's table and re-points the page in one `AS_UPDATE`, so the shadow
derives a fresh pmd page and re-points the leaf in it: no flush. Every later
write into that range re-points a leaf in a page the vCPU has walked since:
one frame flush. So the child phase flushes exactly the sum over children
and ranges of (writes in the range - 1), and no other phase flushes a frame.
At mem=16 (8 ranges), write=8 gives 0, write=32 gives 24 per child; share,
copy and lazy alike, on 1 and 2 vCPUs (measured nested on kvm_amd,
2026-12-03). The flush back-end is chosen by option, so this holds whatever
the KVM: the library decides what to list, the back-end only carries it out.
"""
import e2e

MEM = 16
CHILDREN = 3
RANGE_PAGES = 512  # pages in a 2 MiB range


def expected_frame_flushes(mem, children, write):
    """bigparent's child_writes(), counted per 2 MiB range."""
    npages = mem * 256
    stride = npages // write
    total = 0
    for c in range(children):
        per_range = {}
        for t in range(write):
            page = (c + t * stride) % npages
            per_range[page // RANGE_PAGES] = per_range.get(page // RANGE_PAGES, 0) + 1
        total += sum(n - 1 for n in per_range.values())
    return total


e2e.require_umbra()
for write in (8, 32):
    want = expected_frame_flushes(MEM, CHILDREN, write)
    args = f"bigparent mem={MEM} children={CHILDREN} write={write}"
    for mode in e2e.SHADOW_MODES:
        r = e2e.Run(mode, args, flush="copy")
        r.pool_full() or r.fail("the pool is not full again at the end")
        got = {p["name"]: p["total"]["frame_flushes"] for p in r.stats["phases"]}
        e2e.expect(got.get("child") == want,
                   f"{mode} {args}: {got.get('child')} frame flushes in the child phase, "
                   f"expected {want}")
        others = {name: n for name, n in got.items() if name != "child" and n}
        e2e.expect(not others, f"{mode} {args}: frame flushes outside the child phase: {others}")
        whole = r.stats["total"]["flushes"]
        e2e.expect(whole == 0, f"{mode} {args}: {whole} whole-VM flushes")
        print(f"ok: --paging {mode} --flush copy {args}: {want} frame flushes, all in the "
              f"child phase; no whole-VM flush")
