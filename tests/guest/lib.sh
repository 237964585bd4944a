# Helpers for the guest tests (sourced by tests/guest/*.sh; POSIX sh).
# The harness exports top_srcdir, top_builddir and QEMU (a path, or empty).

: "${top_srcdir:?run from make check}" "${top_builddir:?run from make check}"
guest_image=$top_builddir/guest/umbra-guest.elf
workdir=$(mktemp -d "${TMPDIR:-/tmp}/guest-test.XXXXXX")
trap 'rm -rf "$workdir"' EXIT

# The workloads that every platform runs, with all parameters given (so that
# the summary does not depend on the CPU count), in the order the summary
# prints them. tests/guest/summaries.txt has the summary line of each.
workload_runs='forkstorm workers=2 forks=20 pages=8 write=50 live=4
forktree depth=3 fanout=3 pages=2
bigparent mem=4 children=3 write=16
forkexit workers=2 forks=30
sharerace rounds=6 pages=16 sync=2000
heapshrink pages=1536 children=2
illegal ok=4'

# The kernel's page-table sharing on and off (ptshare=): the summaries must
# not change.
ptshare_settings='ptshare=1 ptshare=0'

fail() {
	echo "FAIL: $*"
	exit 1
}

# A missing tool is a skip (77), unless UMBRA_REQUIRE_KVM=1 makes it a failure.
skip() {
	if [ "${UMBRA_REQUIRE_KVM:-0}" = 1 ]; then
		fail "$* (UMBRA_REQUIRE_KVM=1)"
	fi
	echo "SKIP: $*"
	exit 77
}

need_qemu() {
	[ -n "${QEMU:-}" ] && [ -x "$QEMU" ] || skip "qemu-system-x86_64 was not found by configure"
	[ -f "$guest_image" ] || fail "$guest_image is missing"
}

# run_qemu CPUS ARGS...: boots the guest on QEMU microvm (TCG) with ARGS as
# its command line. Sets $out (the console output file) and $guest_status:
# the guest's exit status (isa-debug-exit: QEMU exits with 2 * status + 1),
# or "timeout", or "qemu-N" for an exit that was not the guest's doing.
# QEMU's accelerator: TCG with a host thread per CPU, unless a test says otherwise.
qemu_accel=tcg
run_qemu() {
	cpus=$1
	shift
	out=$(mktemp "$workdir/qemu-$cpus.XXXXXX")
	timeout 120 "$QEMU" -M microvm -accel "$qemu_accel" -m 64 -smp "$cpus" -nographic -no-reboot \
		-serial stdio -monitor none -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-kernel "$guest_image" -append "$*" >"$out" 2>&1 </dev/null
	rc=$?
	if [ $rc -eq 124 ]; then
		guest_status=timeout
	elif [ $((rc % 2)) -eq 1 ]; then
		guest_status=$(((rc - 1) / 2))
	else
		guest_status=qemu-$rc
	fi
}

# show_output: the console output of the last run, for a failure message.
show_output() {
	echo "--- console output ($out):"
	cat "$out"
	echo "---"
}

# expect_status N: the last run's guest exit status must be N.
expect_status() {
	if [ "$guest_status" != "$1" ]; then
		show_output
		fail "expected guest exit status $1, got $guest_status"
	fi
}

# check_summary ARGS: the last run printed exactly one summary line, and it
# is the one in summaries.txt for ARGS.
check_summary() {
	got=$(grep '^summary: ' "$out")
	want=$(grep "^summary: $1 " "$top_srcdir/tests/guest/summaries.txt")
	[ -n "$want" ] || fail "no expected summary for '$1' in tests/guest/summaries.txt"
	if [ "$got" != "$want" ]; then
		show_output
		fail "summary for '$1': expected '$want', got '$got'"
	fi
}

# check_clean: the kernel found no leak and did not panic.
check_clean() {
	if grep -q -e '^kernel: leak' -e '^panic' "$out"; then
		show_output
		fail "the kernel reported a leak or a panic"
	fi
}

need_umbra() {
	umbra=$top_builddir/vmm/umbra
	[ -x "$umbra" ] || skip "vmm/umbra is not built in this tree"
	[ -n "${PYTHON3:-}" ] || skip "python3 was not found by configure"
	[ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "/dev/kvm is missing or not usable"
	[ -f "$guest_image" ] || fail "$guest_image is missing"
}

# run_umbra MODE ARGS...: boots the guest on umbra with 2 vCPUs and
# --paging MODE (the shadow modes with --check: the shadow MMU's invariants
# are checked at every phase marker and at the end). Sets $out,
# $guest_status (umbra exits with the guest's status; 124 is its timeout)
# and $stats (the JSON report).
run_umbra() {
	mode=$1
	shift
	check=
	[ "$mode" = native ] || check=--check
	out=$(mktemp "$workdir/umbra-$mode.XXXXXX")
	stats=$out.json
	timeout 300 "$umbra" run --paging "$mode" $check --vcpus 2 --mem 256M --timeout 240 \
		--stats none --stats-file "$stats" "$guest_image" -- "$@" >"$out" 2>&1 </dev/null
	guest_status=$?
}

# check_pool_full: after the last process exited, every shadow pool page is
# free again (shadow modes; the report's result.shadow_pool_full).
check_pool_full() {
	if ! "$PYTHON3" -c 'import json, sys
sys.exit(json.load(open(sys.argv[1]))["result"]["shadow_pool_full"] is not True)' "$stats"; then
		show_output
		fail "the shadow pool is not full again at the end ($stats)"
	fi
}

# run_all_umbra MODE KERNEL_ARGS: every workload in $workload_runs after
# the kernel parameters KERNEL_ARGS, checked like on QEMU.
run_all_umbra() {
	echo "$workload_runs" | while read -r args; do
		# shellcheck disable=SC2086 # the arguments are words
		run_umbra "$1" $2 $args
		expect_status 0
		check_clean
		check_summary "$args"
		[ "$1" = native ] || check_pool_full
		echo "ok: --paging $1 $2: $args"
	done
}

# The seed's races, forced: sharerace on 2 CPUs with the kernel's window
# between reading a table's count and changing it widened (ptdelay).
race_args='sharerace rounds=12 pages=16 sync=10000'
race_names='share-share share-unshare unshare-unshare unshare-last'

# races_seen: the last run's kernel counted every race in $race_names.
races_seen() {
	line=$(grep '^kernel: tables:' "$out") || return 1
	for race in $race_names; do
		n=$(echo "$line" | sed -n "s/.* $race \([0-9]*\).*/\1/p")
		[ "${n:-0}" -gt 0 ] || return 1
	done
}

# expect_races WHAT COMMAND...: runs COMMAND (run_qemu or run_umbra with
# its arguments) until the kernel has counted every race, at most 3 times;
# each run must also pass like any other.
expect_races() {
	what=$1
	shift
	for attempt in 1 2 3; do
		"$@"
		expect_status 0
		check_clean
		check_summary "$race_args"
		counts=$(grep '^kernel: tables:' "$out" | sed 's/.*races: //')
		if races_seen; then
			echo "ok: $what, run $attempt: $counts"
			return 0
		fi
		echo "run $attempt on $what missed a race: $counts"
	done
	show_output
	fail "$what: 3 runs without seeing every race ($race_names)"
}
