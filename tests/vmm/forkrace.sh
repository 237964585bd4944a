#!/bin/sh
# Hostile guest, class 2 (docs/hostile.md), two vCPUs: forkrace's vCPU 1
# aliases the guest's page tables (every PDPT entry and root slot pointing
# at one table) while vCPU 0's AS_FORK is in its second pass. The second
# pass must follow no table its first pass did not check, so each fork
# returns in milliseconds. Today's second pass follows every link: the
# walk is exponential, the vCPU thread stays inside the library for
# hours, and umbra ignores its own --timeout; timeout(1) kills it here.
# (7c60f4c's second pass skipped tables it had met, like its first.)
. "$top_srcdir/tests/vmm/lib.sh"
require_kvm

for paging in share copy lazy; do
	what="forkrace, $paging --check"
	# The race needs vCPU 1 to run while AS_FORK does; the guest retries
	# up to 256 forks, and this runs it up to three times.
	for try in 1 2 3; do
		rc=0
		timeout -s KILL 20 "$UMBRA" run --paging $paging --check --mem 64M --vcpus 2 \
			--timeout 10 --stats none "$GUESTS/forkrace.elf" >"$tmp/out" 2>"$tmp/err" ||
			rc=$?
		cat "$tmp/out"
		grep -q 'inconclusive' "$tmp/out" || break
	done
	if grep -q 'inconclusive' "$tmp/out"; then
		echo "SKIP: $what: vCPU 1 never aliased the tables during a fork"
		exit 77
	fi
	[ "$rc" != 137 ] || fail "$what: umbra did not stop within 20 s (its --timeout was 10 s): AS_FORK's second pass walks the aliased tables"
	expect_rc 0 "$what"
	grep -q '^forkrace: ok: ' "$tmp/out" || fail "$what: no verdict"
done
exit 0
