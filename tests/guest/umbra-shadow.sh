#!/bin/sh
# The paravirtual shadow back-end: every workload on umbra --paging share,
# copy and lazy with 2 vCPUs and --check, with the kernel's page-table
# sharing on and off: exit status 0, no leak, the pool full at the end, and
# the same summary lines as natively (summaries.txt).
. "$top_srcdir/tests/guest/lib.sh"
need_umbra

for mode in share copy lazy; do
	for setting in $ptshare_settings; do
		run_all_umbra $mode $setting || exit 1
	done
done
