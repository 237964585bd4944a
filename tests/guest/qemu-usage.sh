#!/bin/sh
# Bad workload names, parameters and values are refused with a message that
# says what is valid, and exit status 2; nothing runs.
. "$top_srcdir/tests/guest/lib.sh"
need_qemu

refused() { # ARGS MESSAGE
	run_qemu 1 "$1"
	expect_status 2
	grep -qxF "$2" "$out" || { show_output; fail "'$1': no message '$2'"; }
	grep -q '^usage: WORKLOAD' "$out" || { show_output; fail "'$1': no usage"; }
	if grep -q -e '^summary:' -e '^kernel: killed' "$out"; then
		show_output
		fail "'$1' ran something"
	fi
	echo "ok: refused '$1'"
}

refused 'nosuch' \
	"unknown workload 'nosuch': valid workloads are forkstorm forktree bigparent forkexit sharerace heapshrink illegal panic"
refused 'forkstorm bogus=1' \
	"forkstorm: unknown parameter 'bogus': valid parameters are workers forks pages write live"
refused 'forkstorm forks=0' "forkstorm: bad value '0' for forks: valid values are 1..100000"
refused 'forkexit workers=two' "forkexit: bad value 'two' for workers: valid values are 1..64"
refused 'bigparent mem=99999999999999999999' \
	"bigparent: bad value '99999999999999999999' for mem: valid values are 1..4096"
refused 'forktree depth' "forktree: 'depth' is not KEY=VALUE"
refused 'forktree depth=10 fanout=10' "forktree: depth and fanout make more than 1000 processes"
refused 'bigparent mem=1 write=300' "bigparent: write is more than the pages in mem"
refused 'forkstorm workers=64 live=16' \
	"forkstorm: workers and live make more than 1000 processes alive at once"

# Kernel parameters (leading words) with a bad value are refused by the
# kernel before any process runs; after the workload's name they are the
# workload's, and unknown to it.
kernel_refused() { # ARGS MESSAGE
	run_qemu 1 "$1"
	expect_status 2
	grep -qxF "$2" "$out" || { show_output; fail "'$1': no message '$2'"; }
	if grep -q -e '^summary:' -e '^usage:' "$out"; then
		show_output
		fail "'$1' ran something"
	fi
	echo "ok: refused '$1'"
}
kernel_refused 'ptshare=2 forkexit' "kernel: bad kernel parameter 'ptshare=2': valid values are 0..1"
kernel_refused 'ptshare=1 ptdelay=x forkexit' \
	"kernel: bad kernel parameter 'ptdelay=x': valid values are 0..1000000"
kernel_refused 'ptdelay=1000001' "kernel: bad kernel parameter 'ptdelay=1000001': valid values are 0..1000000"
refused 'forkexit ptshare=0' \
	"forkexit: unknown parameter 'ptshare': valid parameters are workers forks"

# A command line longer than the kernel takes is refused before any process runs.
run_qemu 1 "forkexit $(printf 'x%.0s' $(seq 1 2100))"
expect_status 2
grep -qxF 'kernel: the command line is longer than 2047 bytes' "$out" ||
	{ show_output; fail "no message for a long command line"; }
echo "ok: refused a 2109-byte command line"
