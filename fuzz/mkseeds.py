#!/usr/bin/env python3
"""Writes the hand-made seeds of fuzz/corpus/hypercall and fuzz/corpus/shadow_ops.

Each seed is a small program in the harness's input language (fuzz/input.h
for the values, the harness's header comment for the operations): the
guest's tables built store by store, then the calls a guest kernel makes,
in every paging policy and flush mode, plus the hostile cases (pool writes,
tables changed behind the VMM's back, aliases) and the bugs the fuzzers
found. Usage: fuzz/mkseeds.py [DIR] (default: fuzz/corpus).
"""
import os
import struct
import sys

P, W, U, A, D, PS, NX, G = 1, 2, 4, 8, 16, 32, 64, 128
USER = P | W | U | A | D
LINK = P | W | U | A
KLINK = P | W | A


def u16(v):
    return struct.pack("<H", v)


# Tagged values (fuzz/input.h).
def small(n):
    return bytes([(n << 3) | 0])


def frame(k):
    return bytes([1]) + u16(k)


def handle(i):
    return bytes([(i << 3) | 2])


def va(i1=0, i2=0, i3=0, slot=1):
    return bytes([((slot - 1) << 3) | 3]) + u16(i3 | i2 << 2 | i1 << 5)


def raw(v):
    return bytes([4]) + struct.pack("<Q", v)


def entry(k, flags):
    return bytes([5]) + u16(k) + bytes([flags])


def last(i):
    return bytes([(i << 3) | 7])


# Frames of the seeds' guest: the kernel slot's PDPT and PD, a root and
# its user tables, data pages, update arrays.
KPDPT, KPD, ROOT, PDPT, PD, PT = 10, 11, 20, 21, 22, 23
DATA = 100
UPD = 50

HC = dict(VERSION=0, CONSOLE=1, EXIT=2, PANIC=3, PHASE=4, CPU_START=5, IDLE=6, KICK=7,
          CLOCK=8, PAGE_CLEAR=9, PAGE_COPY=10, AS_CREATE=16, AS_DESTROY=17, AS_FORK=18,
          AS_FAULT=19, AS_UPDATE=20, AS_SWITCH=21)


# ---- fuzz/hypercall ---------------------------------------------------------

def hc_config(paging=0, flush=0, check=False):
    return bytes([paging | flush << 2 | (0x10 if check else 0)])


def hc_store(page, idx, value):
    return bytes([1]) + u16(page) + u16(idx) + value


def hc_pool(page, idx, value):
    return bytes([3]) + u16(page) + u16(idx) + value


def hc_updrec(page, slot, v, value, level, flags=0):
    return bytes([2]) + u16(page) + bytes([slot]) + v + value + bytes([level, flags])


def hc(name, *args, cpu=0):
    args = list(args) + [small(0)] * (5 - len(args))
    return bytes([cpu << 7, HC[name]]) + b"".join(args)


def hc_tree(root=ROOT, pdpt=PDPT, pd=PD, pt=PT, leaves=4, leaf=USER, kernel=True):
    """A root with the kernel slot and one PT of user pages at slot 1."""
    s = b""
    if kernel:
        s += hc_store(KPDPT, 0, entry(KPD, KLINK)) + hc_store(KPD, 0, entry(0, KLINK | D | PS))
    s += hc_store(root, 0, entry(KPDPT, KLINK)) + hc_store(root, 1, entry(pdpt, LINK))
    s += hc_store(pdpt, 0, entry(pd, LINK)) + hc_store(pd, 0, entry(pt, LINK))
    for i in range(leaves):
        s += hc_store(pt, i, entry(DATA + i, leaf))
    return s


def hc_start(cfg, **kw):
    """The tree, AS_CREATE (handle 0), AS_SWITCH to it, a write and a read fault."""
    return (cfg + hc_tree(**kw) + hc("AS_CREATE", frame(ROOT)) + hc("AS_SWITCH", handle(0)) +
            hc("AS_FAULT", handle(0), va(0), small(6)) + hc("AS_FAULT", handle(0), va(1), small(4)))


def hc_child(root=30, pdpt=31, pd=32, pt=33, share_pt=False):
    """The child tree of a fork of hc_tree(): private copies (leaves
    read-only), or the parent's PT shared through a read-only link."""
    s = hc_store(root, 0, entry(KPDPT, KLINK)) + hc_store(root, 1, entry(pdpt, LINK))
    s += hc_store(pdpt, 0, entry(pd, LINK))
    if share_pt:
        return s + hc_store(pd, 0, entry(PT, LINK & ~W))
    s += hc_store(pd, 0, entry(pt, LINK))
    for i in range(4):
        s += hc_store(pt, i, entry(DATA + i, USER & ~W))
    return s


def hypercall_seeds():
    seeds = {}
    for paging, pname in enumerate(["share", "copy", "lazy"]):
        for flush, fname in enumerate(["copy", "drop", "tlb", "off"]):
            cfg = hc_config(paging, flush)
            seeds[f"basic-{pname}-{fname}"] = (
                hc_start(cfg) + hc("AS_FAULT", handle(0), va(2), small(0x14)) +
                hc("AS_SWITCH", small(0)) + hc("AS_DESTROY", handle(0)))
        cfg = hc_config(paging, 0, check=True)
        seeds[f"fork-{pname}"] = (
            hc_start(cfg) + hc_child() + hc("AS_FORK", handle(0), frame(30)) +
            hc("AS_SWITCH", handle(1)) + hc("AS_FAULT", handle(1), va(0), small(6)) +
            hc("AS_FAULT", handle(1), va(1), small(4)) + hc("PHASE", small(2)) +
            hc("AS_SWITCH", handle(0)) + hc("AS_FAULT", handle(0), va(0), small(6)) +
            hc("AS_DESTROY", handle(1)))
        seeds[f"fork-shared-pt-{pname}"] = (
            hc_start(cfg) + hc_child(share_pt=True) + hc("AS_FORK", handle(0), frame(30)) +
            hc("AS_FAULT", handle(1), va(0), small(4), cpu=1) +
            # the child unshares: a copy of the PT, linked writable
            b"".join(hc_store(34, i, entry(DATA + i, USER & ~W)) for i in range(4)) +
            hc_updrec(UPD, 0, va(0), entry(34, LINK), 2) +
            hc("AS_UPDATE", handle(1), frame(UPD), small(1)) +
            # the parent, the last sharer, in place
            hc_updrec(UPD, 1, va(0), entry(PT, LINK), 2, 1) +
            hc("AS_UPDATE", handle(0), raw(UPD * 4096 + 24), small(1)) +
            hc("AS_FAULT", handle(0), va(0), small(6)) + hc("PHASE", small(3)))
    cfg = hc_config(0, 0, check=True)
    seeds["update-levels"] = (
        hc_start(cfg) +
        hc_updrec(UPD, 0, va(5), entry(DATA + 5, USER), 1) +
        hc_updrec(UPD, 1, va(0), entry(DATA + 6, USER & ~D), 1) +
        hc_updrec(UPD, 2, va(0, 1), entry(24, LINK), 2) +
        hc_updrec(UPD, 3, va(0, 0, 1), entry(25, LINK), 3) +
        hc_updrec(UPD, 4, va(0, slot=2), entry(26, LINK), 4) +
        hc_updrec(UPD, 5, va(0), small(0), 9) +
        hc("AS_UPDATE", handle(0), frame(UPD), small(6)) +
        hc("AS_FAULT", handle(0), va(5), small(6)) + hc("PHASE", small(1)))
    seeds["misc-calls"] = (
        hc_config(1, 3, check=True) + hc("VERSION") + hc("CLOCK") +
        hc_store(5, 0, raw(0x0a6f6c6c6568)) + hc("CONSOLE", frame(5), small(6)) +
        hc("CONSOLE", frame(5), raw(4097)) + hc("PHASE", small(1)) + hc("PHASE", small(16)) +
        hc("KICK", small(1)) + hc("KICK", small(2)) + hc("IDLE", small(0)) +
        hc("CPU_START", small(1), raw(0x100000), raw(0x200000), frame(ROOT), small(7)) +
        hc("CPU_START", small(1), raw(0x100000), raw(0x200000), frame(ROOT)) +
        hc("PAGE_CLEAR", frame(200)) + hc("PAGE_COPY", frame(201), frame(200)) +
        hc("PAGE_COPY", frame(201), frame(201)) + hc("PAGE_CLEAR", raw(4097)) +
        hc("AS_SWITCH", small(0)) + hc("AS_CREATE", raw(0x1001)) + hc("AS_DESTROY", raw(1 << 40)) +
        bytes([0, 30]) + small(0) * 5 + bytes([0, 255]) + small(0) * 5 +
        hc("EXIT", small(3)))
    seeds["panic"] = hc_config() + hc_store(5, 0, raw(0x21706f6f)) + hc("PANIC", frame(5), small(4))
    seeds["busy-and-handles"] = (
        hc_start(hc_config(0, 2)) + hc("AS_DESTROY", handle(0)) +
        hc("AS_SWITCH", handle(0), cpu=1) + hc("AS_FAULT", handle(0), va(0), small(6), cpu=1) +
        hc("AS_SWITCH", small(0)) + hc("AS_DESTROY", handle(0)) + hc("AS_DESTROY", handle(0)) +
        hc("AS_SWITCH", handle(0)) + hc("AS_FAULT", handle(0), va(0), raw(0x20)))
    seeds["pool-write"] = (
        hc_start(hc_config(0, 2)) + hc_child() + hc("AS_FORK", handle(0), frame(30)) +
        hc_pool(2, 0, entry(600, USER)) + hc_pool(3, 1, raw(0xfff000 | 7)) +
        hc("AS_FAULT", handle(1), va(0), small(6)) + hc("AS_SWITCH", small(0)) +
        hc("AS_DESTROY", handle(1)) + hc("AS_DESTROY", handle(0)))
    seeds["behind-the-back"] = (
        hc_start(hc_config(1, 0)) + hc_store(PT, 0, entry(DATA + 9, USER)) +
        hc_store(PD, 0, entry(27, LINK)) + hc("AS_FAULT", handle(0), va(0), small(6)) +
        hc("AS_FAULT", handle(0), va(3), small(4)) + hc("PHASE", small(1)))
    seeds["leaf-maps-table"] = (
        hc_start(hc_config()) + hc_updrec(UPD, 0, va(7), entry(PT, USER), 1) +
        hc("AS_UPDATE", handle(0), frame(UPD), small(1)) +
        hc_store(PT, 8, entry(PD, USER)) + hc("AS_FAULT", handle(0), va(8), small(6)))
    seeds["huge-page"] = (
        hc_start(hc_config(2, 0)) + hc_store(PD, 1, entry(0, USER | PS)) +
        hc("AS_FAULT", handle(0), va(0, 1), small(4)) +
        hc_updrec(UPD, 0, va(0, 2), entry(0, USER | PS), 2) +
        hc("AS_UPDATE", handle(0), frame(UPD), small(1)))
    # A PT at guest-physical frame 0 (the frame-0 bug): a user leaf may
    # not map it.
    seeds["table-at-frame-zero"] = (
        hc_config() + hc_tree(pt=0) + hc("AS_CREATE", frame(ROOT)) +
        hc("AS_FAULT", handle(0), va(0), small(6)) +
        hc_updrec(UPD, 0, va(6), entry(0, USER), 1) +
        hc("AS_UPDATE", handle(0), frame(UPD), small(1)) +
        hc("AS_FAULT", handle(0), va(6), small(6)))
    # A second root whose own PDPT and PD lead to the first one's PT.
    other = (hc_store(40, 0, entry(KPDPT, KLINK)) + hc_store(40, 1, entry(41, LINK)) +
             hc_store(41, 0, entry(42, LINK)) + hc_store(42, 0, entry(PT, LINK)) +
             hc("AS_CREATE", frame(40)))
    seeds["update-of-a-table-another-links"] = (
        hc_start(hc_config()) + other + hc_updrec(UPD, 0, va(0), entry(DATA + 7, USER), 1) +
        hc("AS_UPDATE", handle(1), frame(UPD), small(1)) +
        hc("AS_FAULT", handle(0), va(0), small(6)))
    seeds["fork-of-a-table-another-links"] = (
        hc_start(hc_config(1, 0)) + other + hc_child(43, 44, 45, 46) +
        hc("AS_FORK", handle(1), frame(43)) + hc("AS_FAULT", handle(0), va(0), small(6)))
    return seeds


# ---- fuzz/shadow_ops --------------------------------------------------------

def so_config(mode=0, defer=False, poison=False, fixed=False, nocb=False):
    return bytes([mode | (4 if defer else 0) | (8 if poison else 0) | (16 if fixed else 0) |
                  (32 if nocb else 0)])


def so(kind, *parts, cpu=0):
    return bytes([kind | cpu << 4]) + b"".join(parts)


def so_store(page, idx, value):
    return so(9, u16(page), u16(idx), value)


def so_map(root, v, k, flags):
    """Map v in the tree under frame root (the tree helpers make the tables)."""
    return so(12, bytes([0x80]), u16(root), v, u16(k), bytes([flags]))


def so_update(h, *updates, cpu=0):
    body = b"".join(v + val + bytes([level, flags]) for v, val, level, flags in updates)
    return so(7, h, bytes([len(updates)]), body, cpu=cpu)


def so_kernel(root=ROOT):
    return (so_store(KPDPT, 0, entry(KPD, KLINK)) + so_store(KPD, 0, entry(0, KLINK | D | PS)) +
            so_store(root, 0, entry(KPDPT, KLINK)))


def so_start(cfg, leaves=4):
    s = cfg + so_kernel()
    for i in range(leaves):
        s += so_map(ROOT, va(i), DATA + i, USER)
    return (s + so(0, frame(ROOT)) + so(4, handle(0)) + so(6, handle(0), va(0), bytes([6])) +
            so(6, handle(0), va(1), bytes([4])))


def shadow_ops_seeds():
    seeds = {}
    modes = ["global", "tlb", "copy"]
    for mode, mname in enumerate(modes):
        cfg = so_config(mode, defer=mode != 1, poison=True)
        seeds[f"basic-{mname}"] = (
            so_start(cfg) + so(6, handle(0), va(2), bytes([0x14])) + so(8, b"\x01") +
            so(11, handle(0), va(0), frame(ROOT)) + so(5) + so(1, handle(0)) + so(8, b"\x00"))
        for share in range(3):
            for policy in range(3):
                seeds[f"fork-{mname}-share{share}-policy{policy}"] = (
                    so_start(cfg) + so(3, b"\x00", bytes([share]), bytes([policy])) +
                    so(4, handle(1), cpu=1) + so(6, handle(1), va(0), bytes([6]), cpu=1) +
                    so(6, handle(1), va(1), bytes([4]), cpu=1) +
                    so(10, b"\x01", b"\x00", va(0), cpu=1) +
                    so(6, handle(0), va(0), bytes([6])) + so(10, b"\x00", b"\x02", va(0)) +
                    so(6, handle(0), va(2), bytes([6])) + so(8, b"\x01", cpu=1) +
                    so(1, handle(1)) + so(5, cpu=1) + so(1, handle(1)))
    cfg = so_config(2, defer=True, fixed=True)
    seeds["update-levels"] = (
        so_start(cfg) +
        so_update(handle(0), (va(5), entry(DATA + 5, USER), 1, 0),
                  (va(0), entry(DATA + 6, USER & ~D), 1, 0),
                  (va(0, 1), entry(300, LINK), 2, 0), (va(0, slot=2), small(0), 4, 0)) +
        so_update(handle(0), (va(0, 0, 1), entry(301, LINK), 3, 0),
                  (va(0), entry(PT, LINK), 2, 1), (va(0, slot=31), small(0), 1, 0)) +
        so(6, handle(0), va(5), bytes([6])))
    seeds["limbo-no-callback"] = (
        so_start(so_config(2, defer=True, nocb=True)) +
        b"".join(so(3, b"\x00", b"\x00", b"\x01") for _ in range(3)) + so(8, b"\x00") +
        so(1, handle(1)) + so(1, handle(2)))
    seeds["huge-page"] = (
        so_start(so_config(0)) + so_map(ROOT, va(0, 1), 0, USER | PS) +
        so(6, handle(0), va(0, 1), bytes([4])) + so(3, b"\x00", b"\x01", b"\x00"))
    seeds["behind-the-back"] = (
        so_start(so_config(1)) + so(3, b"\x00", b"\x01", b"\x00") +
        so(6, handle(1), va(0), bytes([4])) + so(12, b"\x00", va(0), u16(DATA + 9), bytes([USER])) +
        so(6, handle(1), va(0), bytes([6])) + so(11, handle(1), va(0), frame(ROOT)))
    seeds["table-at-frame-zero"] = (
        so_config(0) + so_kernel() + so_store(ROOT, 1, entry(PDPT, LINK)) +
        so_store(PDPT, 0, entry(PD, LINK)) + so_store(PD, 0, entry(0, LINK)) +
        so_store(0, 0, entry(DATA, USER)) + so(0, frame(ROOT)) +
        so(6, handle(0), va(0), bytes([6])) +
        so_update(handle(0), (va(3), entry(0, USER), 1, 0)) + so(6, handle(0), va(3), bytes([6])))
    other = (so_store(40, 0, entry(KPDPT, KLINK)) + so_store(40, 1, entry(41, LINK)) +
             so_store(41, 0, entry(42, LINK)))
    seeds["update-of-a-table-another-links"] = (
        so_start(so_config(0)) + other +
        # root 40's PD points at the first tree's PT: 384 + 2 (PDPT, PD, PT
        # of so_start's tree come first from the tree frames)
        so_store(42, 0, entry(386, LINK)) + so(0, frame(40)) +
        so_update(handle(1), (va(0), entry(DATA + 7, USER), 1, 0)) +
        so(6, handle(0), va(0), bytes([6])))
    seeds["fork-of-a-table-another-links"] = (
        so_start(so_config(2, defer=True)) + other + so_store(42, 0, entry(386, LINK)) +
        so(0, frame(40)) + so(3, b"\x01", b"\x00", b"\x00") + so(6, handle(0), va(0), bytes([6])))
    return seeds


def main():
    top = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    for name, seeds in (("hypercall", hypercall_seeds()), ("shadow_ops", shadow_ops_seeds())):
        d = os.path.join(top, name)
        os.makedirs(d, exist_ok=True)
        for seed, data in seeds.items():
            with open(os.path.join(d, seed), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
