#!/bin/sh
# The hostile guests of classes 1 and 2 (docs/hostile.md) under every
# --flush mode: the answer to an attack must not depend on how shadow
# changes reach the vCPUs. alias: each mode's verdict, exit 0 (share,
# --check); poolwrite: exit 126 at the store where the pool is read-only,
# 125 and "the shadow is corrupt" where it must stay writable (TDP KVM;
# tests/vmm/poolwrite.sh).
#
# With --flush tlb (auto's choice on TDP KVM) the VMM sends a vCPU through
# its flush stub, which only shadow roots map (PML4 slot 511). Before the
# fix (docs/hostile.md) the first AS_SWITCH, made on the guest's own
# tables, and any call made after the guest loaded its own CR3, ran the
# stub where nothing mapped it: a #PF at 0xffffff8000000000 (alias), or a
# triple fault (poolwrite cr3, which has no IDT).
. "$top_srcdir/tests/vmm/lib.sh"
require_kvm

for flush in tlb copy drop off; do
	for mode in root link forkroot leaf behind stale; do
		run_umbra run --paging share --flush $flush --check --mem 64M --vcpus 1 \
			--timeout $RUN_TIMEOUT --stats none "$GUESTS/alias.elf" -- $mode
		cat "$tmp/out"
		expect_rc 0 "alias $mode, --flush $flush"
		grep -qx "alias: $mode: ok" "$tmp/out" || fail "alias $mode, --flush $flush: no verdict"
	done
	for mode in early cr3; do
		run_umbra run --paging share --flush $flush --mem 64M --vcpus 1 \
			--timeout $RUN_TIMEOUT --stats none --stats-file "$tmp/r.json" \
			"$GUESTS/poolwrite.elf" -- $mode
		cat "$tmp/out"
		if grep -q '"pool_readonly": true' "$tmp/r.json"; then
			expect_rc 126 "poolwrite $mode, --flush $flush"
			expect_err "which is not guest RAM"
		else
			expect_rc 125 "poolwrite $mode, --flush $flush (a writable pool)"
			expect_err "the shadow is corrupt: "
		fi
	done
done
exit 0
