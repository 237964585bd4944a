#!/bin/sh
# Every workload on umbra --paging native with 2 vCPUs, with the kernel's
# page-table sharing on and off: exit status 0, no leak, and the same
# summary lines as on QEMU (summaries.txt). A panic ends the run through
# UMBRA_HC_PANIC (umbra exits with 126).
. "$top_srcdir/tests/guest/lib.sh"
need_umbra

for setting in $ptshare_settings; do
	run_all_umbra native $setting || exit 1
done

run_umbra native panic
expect_status 126
grep -q '^panic: cpu [0-9]: pid 1 asked for a panic: requested by the panic workload$' "$out" ||
	{ show_output; fail "no panic message"; }
grep -q 'umbra: guest panic on vCPU [0-9]: pid 1 asked for a panic' "$out" ||
	{ show_output; fail "umbra did not report the panic"; }
echo "ok: panic"
