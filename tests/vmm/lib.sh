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
