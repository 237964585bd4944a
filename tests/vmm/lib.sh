# Sourced by the shell tests in tests/vmm: paths, skips, a scratch
# directory, and running umbra with its output captured.
set -u

: "${top_srcdir:?run the tests through make check (top_srcdir is not set)}"
: "${top_builddir:?run the tests through make check (top_builddir is not set)}"
UMBRA=$top_builddir/vmm/umbra
GUESTS=$top_builddir/tests/guests
# No test run may hang make check: every guest run gets a timeout.
RUN_TIMEOUT=30

tmp=$(mktemp -d "${TMPDIR:-/tmp}/umbra-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

fail() {
	echo "FAIL: $*"
	exit 1
}

# A test that needs something this machine lacks skips (77), unless
# UMBRA_REQUIRE_KVM=1 says that it must run here.
skip() {
	if [ "${UMBRA_REQUIRE_KVM:-0}" = 1 ]; then
		fail "$* (UMBRA_REQUIRE_KVM=1)"
	fi
	echo "SKIP: $*"
	exit 77
}

require_kvm() {
	[ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "/dev/kvm is not usable"
}

require_python() {
	[ -n "${PYTHON3:-}" ] || skip "python3 was not found by configure"
}

# run_umbra ARGS...: stdout to $tmp/out, stderr to $tmp/err, status in $rc.
run_umbra() {
	rc=0
	"$UMBRA" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
}

# expect_rc CODE WHAT: the last run_umbra exited with CODE.
expect_rc() {
	if [ "$rc" != "$1" ]; then
		sed 's/^/  stderr: /' "$tmp/err"
		fail "$2: exit code $rc, expected $1"
	fi
}

# expect_err TEXT: the last run's stderr has a line containing TEXT.
expect_err() {
	if ! grep -qF -- "$1" "$tmp/err"; then
		sed 's/^/  stderr: /' "$tmp/err"
		fail "stderr lacks: $1"
	fi
}

# expect_err_line TEXT: the last run's stderr has exactly the line TEXT.
expect_err_line() {
	if ! grep -qxF -- "$1" "$tmp/err"; then
		sed 's/^/  stderr: /' "$tmp/err"
		fail "stderr lacks the line: $1"
	fi
}

# stubcheck_tlb ARG RUNS PAGES: stubcheck.elf with the guest argument ARG
# under --flush tlb on 1 vCPU: exit 0, its CPL 0 verdict, and RUNS flush
# stub runs that invalidated PAGES pages in the report.
stubcheck_tlb() {
	run_umbra run --paging share --flush tlb --mem 64M --vcpus 1 --timeout $RUN_TIMEOUT \
		--stats none --stats-file "$tmp/report.json" "$GUESTS/stubcheck.elf" -- "$1"
	cat "$tmp/out"
	expect_rc 0 "stubcheck $1"
	grep -qx "stubcheck: ok at cpl0" "$tmp/out" || fail "stubcheck $1: no verdict"
	"$PYTHON3" - "$tmp/report.json" "$2" "$3" <<'PY' || fail "stubcheck $1: report"
import json, sys
t = json.load(open(sys.argv[1]))["total"]
want = (int(sys.argv[2]), int(sys.argv[3]))
if (t["tlb_flushes"], t["tlb_pages"]) != want:
    sys.exit(f"{t['tlb_flushes']} stub runs, {t['tlb_pages']} pages, expected {want[0]} and {want[1]}")
PY
}
