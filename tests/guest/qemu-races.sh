#!/bin/sh
# The seed's races in the guest kernel's page-table sharing, on QEMU with 2
# CPUs: a parent and child that share tables fork and write at once
# (sharerace), and the kernel counts share+share, share+unshare,
# unshare+unshare and the unsharer that finds itself last; each must be
# seen (docs/guest.md says how often they are).
. "$top_srcdir/tests/guest/lib.sh"
need_qemu

# TCG runs `pause` in ~0.1 us: 10000 of them widen each window to ~1 ms.
# shellcheck disable=SC2086 # the arguments are words
expect_races "QEMU, 2 CPUs" run_qemu 2 "ptdelay=10000 $race_args"
