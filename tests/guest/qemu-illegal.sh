#!/bin/sh
# User programs that break the rules are killed with a message naming what
# they did; their siblings finish and the kernel stays up.
. "$top_srcdir/tests/guest/lib.sh"
need_qemu

args='illegal ok=4'
run_qemu 2 "$args"
expect_status 0
check_clean
check_summary "$args"
for why in 'write to kernel or non-user address 100000 ' \
	'read of kernel or non-user address 0 ' \
	'jump to unmapped address 8080000000 ' \
	'jump to kernel or non-user address 100000 ' \
	'execution of non-executable memory 8040000000 ' \
	'write to read-only memory ' \
	'general protection fault (#GP) at rip '; do
	grep -q "^kernel: killed pid [0-9]*: $why" "$out" ||
		{ show_output; fail "no kill message '$why'"; }
done
n=$(grep -c '^kernel: killed pid' "$out")
[ "$n" -eq 8 ] || { show_output; fail "expected 8 processes killed, saw $n"; }
echo "ok: 8 killed, 4 finished"
