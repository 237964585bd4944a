#!/bin/sh
# Every workload, natively on QEMU with 1 and with 2 CPUs and the kernel's
# page-table sharing on and off: exit status 0, no leak, and the summary
# line in summaries.txt (so the runs, and other platforms, agree). With 2
# CPUs both must have run processes in some of the runs: under TCG a CPU
# woken from `hlt` by an IPI is sometimes so slow that the other one has
# taken every process before it looked at the run queue (on a loaded host,
# in several runs in a row).
. "$top_srcdir/tests/guest/lib.sh"
need_qemu

both=$(mktemp)
trap 'rm -f "$both"' EXIT
echo "$workload_runs" | while read -r args; do
	for cpus in 1 2; do
		for setting in $ptshare_settings; do
			run_qemu $cpus "$setting $args"
			expect_status 0
			check_clean
			check_summary "$args"
			echo "ok: $cpus CPU(s), $setting: $args"
			[ $cpus = 2 ] || continue
			line=$(grep '^kernel: switches per CPU:' "$out")
			set -- $(echo "$line" | sed 's/.*CPU:\([ 0-9]*\);.*/\1/')
			if [ $# -ne 2 ]; then
				show_output
				fail "with 2 CPUs, expected two switch counts: '$line'"
			fi
			if [ "$1" -gt 0 ] && [ "$2" -gt 0 ]; then
				echo "$setting $args" >>"$both"
			fi
		done
	done
done || exit 1
[ -s "$both" ] || fail "with 2 CPUs, no workload ran processes on both CPUs"
echo "ok: both CPUs ran processes in $(wc -l <"$both") of the 2-CPU runs"

# No arguments: the default workload, forkstorm, with its defaults.
run_qemu 2 ""
expect_status 0
check_clean
grep -q '^summary: forkstorm workers=2 forks=32 pages=16 write=50 live=4 ' "$out" ||
	{ show_output; fail "no default forkstorm summary"; }
echo "ok: default workload"
