#!/bin/sh
# --timeout, SIGINT and SIGTERM end a run soon whoever reads stdout: a guest
# that floods its console into a FIFO that nobody reads stops with the
# right exit code, the report on stderr and the number of console bytes
# umbra could not write. umbra gives the console, --stats-file and stderr
# 0.25 s each in turn once it must end; the bound here is loose (BOUND
# seconds) because this machine is noisy. A reader that is only slow loses
# nothing.
. "$top_srcdir/tests/vmm/lib.sh"
require_kvm
require_python

guest=$GUESTS/misbehave.elf
BOUND=5
# Every run is killed after GUARD seconds, so that a regression fails this
# test (the time limits) instead of hanging make check.
GUARD="timeout -s KILL 60"
lost="bytes of console output were not written: standard output was not read in time"

now() {
	date +%s.%N
}
# within START LIMIT WHAT: fails unless less than LIMIT seconds passed since START.
within() {
	t=$(awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.2f", e - s }')
	awk -v t="$t" -v l="$2" 'BEGIN { exit !(t < l) }' || fail "$3 took $t s (limit $2 s)"
}
json_parses() {
	"$PYTHON3" -m json.tool "$1" >/dev/null || fail "$2: the JSON report does not parse"
}

# A FIFO that this shell holds open for reading and never reads: once the
# pipe is full, every write to it blocks. It stays full from run to run.
mkfifo "$tmp/stuck"
exec 3<>"$tmp/stuck"

# --timeout 1, the guest flooding: 124, the report, the lost bytes.
start=$(now)
rc=0
$GUARD "$UMBRA" run --paging native --timeout 1 --stats table --stats-file "$tmp/t.json" \
	"$guest" -- flood >"$tmp/stuck" 2>"$tmp/err" || rc=$?
within "$start" $((1 + BOUND)) "--timeout 1 with stdout unread"
expect_rc 124 "--timeout 1 with stdout unread"
expect_err "umbra: timed out after 1.000 s (exit code 124)"
expect_err "$lost"
expect_err "user-space exits"
json_parses "$tmp/t.json" "--timeout 1"

# stderr into the same unread FIFO: the report cannot come, the exit code does.
start=$(now)
rc=0
$GUARD "$UMBRA" run --paging native --timeout 1 --stats table "$guest" -- flood >"$tmp/stuck" 2>&1 ||
	rc=$?
within "$start" $((1 + BOUND)) "--timeout 1 with stdout and stderr unread"
expect_rc 124 "--timeout 1 with stdout and stderr unread"

# SIGTERM and SIGINT while the guest floods.
for sig in TERM INT; do
	rm -f "$tmp/s.json"
	rc=0
	$GUARD "$UMBRA" run --paging native --timeout $RUN_TIMEOUT --stats table \
		--stats-file "$tmp/s.json" "$guest" -- flood >"$tmp/stuck" 2>"$tmp/err" &
	pid=$!
	# The stats file is created before the guest starts; then let it fill everything.
	for i in 1 2 3 4 5 6 7 8 9 10; do
		[ -e "$tmp/s.json" ] && break
		sleep 0.1
	done
	sleep 0.5
	start=$(now)
	kill -$sig $pid
	wait $pid || rc=$?
	within "$start" $BOUND "SIG$sig with stdout unread"
	if [ $sig = TERM ]; then want=143; else want=130; fi
	expect_rc $want "SIG$sig with stdout unread"
	expect_err "umbra: stopped by signal"
	expect_err "$lost"
	expect_err "user-space exits"
	json_parses "$tmp/s.json" "SIG$sig"
done

# The guest exits by itself with 48 KiB still queued: umbra waits for the
# reader until the timeout expires, then gives the console 0.25 s. The
# exit code is the guest's.
start=$(now)
rc=0
$GUARD "$UMBRA" run --paging native --timeout 2 --stats table "$guest" -- spill >"$tmp/stuck" \
	2>"$tmp/err" || rc=$?
within "$start" $((2 + BOUND)) "spill with stdout unread"
expect_rc 0 "spill with stdout unread"
expect_err "umbra: guest exited with status 0 (exit code 0)"
expect_err "$lost"

# The same without --timeout: umbra would wait for the reader for ever;
# SIGTERM ends the wait.
rm -f "$tmp/s.json"
rc=0
$GUARD "$UMBRA" run --paging native --stats table --stats-file "$tmp/s.json" "$guest" -- spill \
	>"$tmp/stuck" 2>"$tmp/err" &
pid=$!
for i in 1 2 3 4 5 6 7 8 9 10; do
	[ -e "$tmp/s.json" ] && break
	sleep 0.1
done
sleep 0.5
start=$(now)
kill -TERM $pid
wait $pid || rc=$?
within "$start" $BOUND "SIGTERM while umbra waits for stdout"
expect_rc 0 "SIGTERM while umbra waits for stdout"
expect_err "umbra: guest exited with status 0 (exit code 0)"
expect_err "$lost"

# A --stats-file FIFO whose reader does not read: umbra waits until the
# timeout, then 0.25 s; the report on stderr comes, and the exit code says
# that the file did not get it.
start=$(now)
rc=0
$GUARD "$UMBRA" run --paging native --timeout 1 --stats table --stats-file "$tmp/stuck" "$guest" \
	-- exit7 >"$tmp/out" 2>"$tmp/err" || rc=$?
within "$start" $((1 + BOUND)) "a --stats-file nobody reads"
expect_rc 125 "a --stats-file nobody reads"
expect_err "umbra: guest exited with status 7 (exit code 7)"
expect_err_line "umbra: --stats-file $tmp/stuck: not read in time; the report in it is incomplete"
exec 3<&-

# A reader that starts late loses nothing: the guest waits for it (1 MiB
# is more than the pipe and umbra's queue hold), then umbra waits for it.
{
	rc=0
	$GUARD "$UMBRA" run --paging native --timeout $RUN_TIMEOUT --stats none "$guest" -- burst \
		2>"$tmp/err" || rc=$?
	echo $rc >"$tmp/rc"
} | {
	sleep 1
	cat
} >"$tmp/out"
rc=$(cat "$tmp/rc")
expect_rc 0 "burst through a late reader"
[ "$(wc -c <"$tmp/out")" -eq 1048576 ] || fail "burst: $(wc -c <"$tmp/out") bytes, not 1048576"
[ "$(grep -cvx 'x\{63\}' "$tmp/out")" -eq 0 ] || fail "burst: lines other than 63 x"
[ ! -s "$tmp/err" ] || fail "burst: stderr: $(cat "$tmp/err")"

# A --stats-file that is a FIFO nobody reads is refused at once.
mkfifo "$tmp/nobody.json"
rc=0
$GUARD "$UMBRA" run --paging native --stats none --stats-file "$tmp/nobody.json" \
	"$guest" -- exit7 >"$tmp/out" 2>"$tmp/err" || rc=$?
expect_rc 125 "a --stats-file FIFO without a reader"
expect_err_line "umbra: --stats-file $tmp/nobody.json: a FIFO that nobody has open for reading"
exit 0
