#!/bin/sh
# The paravirtual shadow back-end: every workload on umbra --paging share,
# copy and lazy with 2 vCPUs and --check: exit status 0, no leak, and the
# same summary lines as natively (summaries.txt).
. "$top_srcdir/tests/guest/lib.sh"
need_umbra

for mode in share copy lazy; do
	run_all_umbra $mode || exit 1
done
