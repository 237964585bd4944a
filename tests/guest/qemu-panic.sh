#!/bin/sh
# A kernel panic prints its message and the registers and ends the guest
# with the panic status (100: QEMU exits with 201).
. "$top_srcdir/tests/guest/lib.sh"
need_qemu

run_qemu 2 panic
expect_status 100
for want in '^panic: cpu [0-9]: pid 1 asked for a panic: requested by the panic workload$' \
	'^  kernel: caller 0x[0-9a-f]* rsp [0-9a-f]* ' \
	'^  rip 0000008[0-9a-f]* rsp ' '^  r12 [0-9a-f]\{16\} r13 '; do
	grep -q "$want" "$out" || { show_output; fail "no line matching '$want'"; }
done
echo "ok: panic"
