#!/bin/sh
# The command line: help and version, and every option's bad values, each
# refused with exit code 125 and one line that names the value. None of
# these runs a guest, so none needs /dev/kvm.
. "$top_srcdir/tests/vmm/lib.sh"

hello=$GUESTS/hello.elf

# bad MESSAGE ARGS...: umbra ARGS exits 125 with the line MESSAGE on stderr.
bad() {
	msg=$1
	shift
	run_umbra "$@"
	expect_rc 125 "umbra $*"
	expect_err_line "$msg"
	[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "umbra $*: more than one line on stderr"
}

run_umbra --help
expect_rc 0 "umbra --help"
grep -q '^Usage: umbra run' "$tmp/out" || fail "umbra --help prints no usage"
grep -q '^  stat ' "$tmp/out" || fail "umbra --help does not list umbra stat"
run_umbra --version
expect_rc 0 "umbra --version"
grep -q '^umbra [0-9]' "$tmp/out" || fail "umbra --version prints no version"
run_umbra run --help
expect_rc 0 "umbra run --help"
for opt in --vcpus --mem --paging --pool --stats --stats-file --timeout --check --trace \
	--trace-buffer --flush; do
	grep -q -- "$opt" "$tmp/out" || fail "umbra run --help does not mention $opt"
done
run_umbra
expect_rc 125 "umbra without arguments"
expect_err "Usage: umbra run"

bad "umbra: unknown command 'frobnicate' (see umbra --help)" frobnicate
bad "umbra run: unknown option '--bogus' (see umbra run --help)" run --bogus "$hello"
bad "umbra run: option '--vcpus' needs a value" run --vcpus
bad "umbra: --vcpus 'abc': not a number" run --vcpus abc "$hello"
bad "umbra: --vcpus '-1': not a number" run --vcpus -1 "$hello"
bad "umbra: --vcpus '99999999999': not a number" run --vcpus 99999999999 "$hello"
bad "umbra: --vcpus 0: must be between 1 and 64" run --vcpus 0 "$hello"
bad "umbra: --vcpus 65: must be between 1 and 64" run --vcpus 65 "$hello"
bad "umbra: --mem '12Q': not a size (a number with an optional K, M or G suffix)" \
	run --mem 12Q "$hello"
bad "umbra: --mem '': not a size (a number with an optional K, M or G suffix)" \
	run --mem '' "$hello"
bad "umbra: --mem 'M': not a size (a number with an optional K, M or G suffix)" \
	run --mem M "$hello"
bad "umbra: --mem '2MM': not a size (a number with an optional K, M or G suffix)" \
	run --mem 2MM "$hello"
bad "umbra: --mem '99999999999999999999': too large" run --mem 99999999999999999999 "$hello"
bad "umbra: --mem '20000000000G': too large" run --mem 20000000000G "$hello"
bad "umbra: --mem 1K: must be a multiple of 2M from 2M to 64G" run --mem 1K "$hello"
bad "umbra: --mem 3M: must be a multiple of 2M from 2M to 64G" run --mem 3M "$hello"
bad "umbra: --mem 0: must be a multiple of 2M from 2M to 64G" run --mem 0 "$hello"
bad "umbra: --mem 66G: must be a multiple of 2M from 2M to 64G" run --mem 66G "$hello"
bad "umbra: --pool 1M: must be a multiple of 2M from 2M to 16G" run --pool 1M "$hello"
bad "umbra: --pool 32G: must be a multiple of 2M from 2M to 16G" run --pool 32G "$hello"
bad "umbra: --pool 'x': not a size (a number with an optional K, M or G suffix)" \
	run --pool x "$hello"
bad "umbra: --paging 'foo': not one of share, copy, lazy, native" run --paging foo "$hello"
bad "umbra: --paging 'Native': not one of share, copy, lazy, native" run --paging Native "$hello"
bad "umbra: --flush 'fast': not one of auto, tlb, copy, drop, off" run --flush fast "$hello"
bad "umbra: --flush '': not one of auto, tlb, copy, drop, off" run --flush "" "$hello"
bad "umbra: --stats 'xml': not one of table, json, none" run --stats xml "$hello"
bad "umbra: --stats-file '': empty file name" run --stats-file '' "$hello"
bad "umbra: --stats-file $tmp/no/such/dir.json: No such file or directory" \
	run --stats-file "$tmp/no/such/dir.json" "$hello"
bad "umbra: --timeout 'abc': not a number of seconds" run --timeout abc "$hello"
bad "umbra: --timeout '-1': not a number of seconds" run --timeout -1 "$hello"
bad "umbra: --timeout 'inf': not a number of seconds" run --timeout inf "$hello"
bad "umbra: --timeout '2s': not a number of seconds" run --timeout 2s "$hello"
bad "umbra: --timeout '1e9': more than 1000000 seconds" run --timeout 1e9 "$hello"
bad "umbra: --trace '': empty file name" run --trace '' "$hello"
bad "umbra: --trace $tmp/no/such/dir.json: No such file or directory" \
	run --trace "$tmp/no/such/dir.json" "$hello"
bad "umbra: --trace-buffer: only with --trace" run --trace-buffer 64 "$hello"
bad "umbra: --trace-buffer 'many': not a number" run --trace "$tmp/t.json" --trace-buffer many "$hello"
bad "umbra: --trace-buffer 0: must be between 1 and 16777216" \
	run --trace "$tmp/t.json" --trace-buffer 0 "$hello"
bad "umbra: --trace-buffer 16777217: must be between 1 and 16777216" \
	run --trace "$tmp/t.json" --trace-buffer 16777217 "$hello"
bad "umbra: --check: --paging native has no shadow MMU to check" \
	run --check --paging native "$hello"
bad "umbra run: unexpected argument 'b.elf' (guest arguments go after --)" \
	run "$hello" b.elf
# Options may follow KERNEL; after -- everything is the guest's.
bad "umbra: --vcpus 0: must be between 1 and 64" run "$hello" --vcpus 0
bad "umbra: '': empty kernel file name" run ''
bad "umbra: $tmp/missing.elf: No such file or directory" run "$tmp/missing.elf"
long=$(printf '%04000d' 0)
bad "umbra: guest command line of 4000 bytes: longer than 3967" run "$hello" -- "$long"

# Without KERNEL: the guest image next to the binary (build tree layout).
mkdir -p "$tmp/bin" "$tmp/guest"
cp "$UMBRA" "$tmp/bin/umbra"
"$UMBRA" run --help >"$tmp/help"
install_path=$(grep -A1 "^<umbra's directory>" "$tmp/help" | sed -n '2s/\.$//p')
[ -n "$install_path" ] || fail "umbra run --help names no install path"
if [ ! -e "$install_path" ]; then
	rc=0
	"$tmp/bin/umbra" run >"$tmp/out" 2>"$tmp/err" || rc=$?
	expect_rc 125 "umbra run without KERNEL or guest image"
	expect_err_line "umbra: no KERNEL given, and no guest image at <umbra's directory>/../guest/umbra-guest.elf or $install_path"
fi
exit 0
