#!/bin/sh
# Guests that do what the VMM must stop: each stops with its exit code and
# a message that says what happened; a triple fault prints the registers
# and the last exits; --timeout and SIGINT/SIGTERM stop a spinning guest
# and the report is still written.
. "$top_srcdir/tests/vmm/lib.sh"
require_kvm
require_python

guest=$GUESTS/misbehave.elf

# stops MODE CODE [MESSAGE]: the guest in MODE makes umbra exit with CODE
# and print MESSAGE (the rip that follows it varies).
stops() {
	run_umbra run --paging native --mem 64M --stats none --timeout $RUN_TIMEOUT "$guest" -- "$1"
	expect_rc "$2" "$1"
	[ $# -lt 3 ] || expect_err "umbra: $3"
	! grep -q 'the VMM let the guest go on' "$tmp/out" || fail "$1: the guest went on"
}

stops port 126 "vCPU 0: out of 1 byte(s) at I/O port 0x80, which umbra does not emulate (rip 0x"
stops hcsize 126 "vCPU 0: out of 1 byte(s) at I/O port 0xe4, which umbra does not emulate"
stops hcin 126 "vCPU 0: in of 4 byte(s) at I/O port 0xe4, which umbra does not emulate"
stops mmio 126 "vCPU 0: read of 8 byte(s) at guest-physical 0x30000000, which is not guest RAM"
stops panic 126 "guest panic on vCPU 0: something broke"
stops panicbad 126 "guest panic on vCPU 0 (message unreadable: gpa 0xffffffffffff0000, 16 bytes)"
stops halt 126 "vCPU 0 halted (hlt) and every other started vCPU is halted too"
stops exit7 7
stops exit300 123

stops triple 127 "vCPU 0: triple fault (KVM_EXIT_SHUTDOWN)"
# AMD's KVM resets the vCPU before it reports the shutdown: umbra must say
# so rather than present the reset state as the faulting one.
if grep -q "KVM reset the vCPU before the exit" "$tmp/err"; then
	expect_err "umbra: vCPU 0: triple fault (the faulting rip is lost: KVM reset the vCPU"
	regs="  rip 0x000000000000fff0|  cs   sel 0xf000"
else
	expect_err "umbra: vCPU 0: triple fault at rip 0x"
	regs="  rip 0x|  cs   sel 0x0008"
fi
IFS='|'
for reg in $regs "  rax 0x" "  cr0 0x"; do
	expect_err "$reg"
done
unset IFS
expect_err "exits, oldest first:"
expect_err "  shutdown       rip 0x"

# --timeout: a guest that spins at CPL 0.
start=$(date +%s)
run_umbra run --paging native --timeout 0.5 --stats none --stats-file "$tmp/t.json" \
	"$guest" -- spin
expect_rc 124 "timeout"
expect_err_line "umbra: timed out after 0.500 s"
[ $(($(date +%s) - start)) -lt 10 ] || fail "--timeout 0.5 took more than 10 s"
"$PYTHON3" -m json.tool "$tmp/t.json" >/dev/null || fail "timeout: the JSON report does not parse"

# SIGTERM and SIGINT: a clean stop, and the report.
for sig in TERM INT; do
	rc=0
	"$UMBRA" run --paging native --timeout $RUN_TIMEOUT --stats table \
		--stats-file "$tmp/s.json" "$guest" -- spin >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	# Wait until the guest runs (the stats file is created before it starts).
	for i in 1 2 3 4 5 6 7 8 9 10; do
		[ -e "$tmp/s.json" ] && break
		sleep 0.1
	done
	sleep 0.2
	kill -$sig $pid
	wait $pid || rc=$?
	if [ $sig = TERM ]; then want=143; else want=130; fi
	expect_rc $want "SIG$sig"
	expect_err "stopped by signal"
	expect_err "user-space exits"
	"$PYTHON3" -m json.tool "$tmp/s.json" >/dev/null || fail "SIG$sig: the JSON report does not parse"
	rm -f "$tmp/s.json"
done
exit 0
