#!/bin/sh
# The seed's races in the guest kernel's page-table sharing, on QEMU with 2
# CPUs: a parent and child that share tables fork and write at once
# (sharerace), and the kernel counts share+share, share+unshare,
# unshare+unshare and the unsharer that finds itself last; each must be
# seen (docs/guest.md says how often they are).
. "$top_srcdir/tests/guest/lib.sh"
need_qemu

# thread=single: one host thread runs both CPUs in turn, so a busy host
# cannot starve one of them. With a thread each, a CI run saw CPU 1 switch
# 3 times in a whole run (CPU 0: 36) and share+share in none of 3 runs;
# with one thread every run saw every race, with the same counts each time.
qemu_accel=tcg,thread=single
# TCG runs `pause` in ~0.1 us: 10000 of them widen each window to ~1 ms.
# shellcheck disable=SC2086 # the arguments are words
expect_races "QEMU, 2 CPUs" run_qemu 2 "ptdelay=10000 $race_args"
