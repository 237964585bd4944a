#!/bin/sh
# Every workload, natively on QEMU with 1 and with 2 CPUs: exit status 0, no
# leak, and the summary line in summaries.txt (so the two runs, and other
# platforms, agree). With 2 CPUs both must have run processes.
. "$top_srcdir/tests/guest/lib.sh"
need_qemu

echo "$workload_runs" | while read -r args; do
	for cpus in 1 2; do
		run_qemu $cpus "$args"
		expect_status 0
		check_clean
		check_summary "$args"
		echo "ok: $cpus CPU(s): $args"
	done
	# the last run had 2 CPUs: each switched to processes
	line=$(grep '^kernel: switches per CPU:' "$out")
	set -- $(echo "$line" | sed 's/.*CPU:\([ 0-9]*\);.*/\1/')
	if [ $# -ne 2 ] || [ "$1" -eq 0 ] || [ "$2" -eq 0 ]; then
		show_output
		fail "with 2 CPUs, expected both to run processes: '$line'"
	fi
done || exit 1

# No arguments: the default workload, forkstorm, with its defaults.
run_qemu 2 ""
expect_status 0
check_clean
grep -q '^summary: forkstorm workers=2 forks=32 pages=16 write=50 live=4 ' "$out" ||
	{ show_output; fail "no default forkstorm summary"; }
echo "ok: default workload"
