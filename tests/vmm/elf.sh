#!/bin/sh
# The image checks: every malformed image is refused with exit code 125 and
# "umbra: FILE: reason", before any KVM work (so no /dev/kvm is needed).
. "$top_srcdir/tests/vmm/lib.sh"

mkelf=$top_builddir/tests/vmm/mkelf
hello=$GUESTS/hello.elf

# refused FILE REASON [TEXT]: umbra exits 125, and its one line on stderr
# starts with "umbra: FILE: REASON" (and contains TEXT). Run with a shadow
# mode so that the pool is reserved (above --mem, 256M by default).
refused() {
	run_umbra run --paging copy --stats none "$1"
	expect_rc 125 "$1"
	case $(cat "$tmp/err") in
	"umbra: $1: $2"*) ;;
	*) fail "$1: expected 'umbra: $1: $2...', got: $(cat "$tmp/err")" ;;
	esac
	[ $# -lt 3 ] || expect_err "$3"
	[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "$1: more than one line on stderr"
}

# variant NAME REASON [TEXT]: mkelf NAME, then refused.
variant() {
	"$mkelf" "$1" "$hello" "$tmp/$1.elf" || fail "mkelf $1"
	name=$1
	shift
	refused "$tmp/$name.elf" "$@"
}

: >"$tmp/empty.elf"
refused "$tmp/empty.elf" "empty file"
mkdir "$tmp/dir.elf"
refused "$tmp/dir.elf" "is a directory"
refused "$tmp/missing.elf" "No such file or directory"
echo "not an image" >"$tmp/text.elf"
refused "$tmp/text.elf" "not an ELF file"
refused /dev/null "not a regular file"

# A FIFO with no writer: opening it for reading would wait for one, so it
# is refused at once. timeout(1) turns a wait into a failure (exit 124).
mkfifo "$tmp/fifo.elf"
rc=0
timeout 10 "$UMBRA" run --paging copy --stats none "$tmp/fifo.elf" >"$tmp/out" 2>"$tmp/err" ||
	rc=$?
expect_rc 125 "a FIFO as the image"
expect_err_line "umbra: $tmp/fifo.elf: not a regular file"
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "FIFO: more than one line on stderr"

# Sizes and addresses that depend on the guest's layout are left out.
variant truncated-header "truncated or malformed ELF file (libelf: "
variant truncated-phdrs "truncated or malformed program header 0 (libelf: "
variant truncated-segment "segment 1: truncated file (its "
variant class32 "not a 64-bit ELF file (class 1)"
variant big-endian "not a little-endian ELF file"
variant machine "not an x86-64 image (machine 183)"
variant dyn "a position-independent or shared object (ET_DYN), not ET_EXEC"
variant rel "not an executable (type 1)"
variant interp "dynamically linked (has PT_INTERP or PT_DYNAMIC)"
variant no-load "no loadable segment"
variant filesz "segment 1: file size 0x" "is larger than its memory size"
variant filesz-no-mem "segment 1: file size 0x10 is larger than its memory size 0"
expect_err_line "umbra: $tmp/filesz-no-mem.elf: segment 1: file size 0x10 is larger than its memory size 0"
variant phentsize "program header entry size 64; ELF64 program headers are 56 bytes"
variant outside-ram "segment 1 at 0x7ff00000000-" ": outside guest RAM (0-0x10000000; see --mem)"
variant wraps "segment 1: address range wraps"
variant boot-page "segment 1 at 0x1000-" ": overlaps the boot information page at 0x1000"
variant overlap "segment 1 at 0x100010-" " overlaps another at 0x100000-"
variant in-pool "segment 1 at 0x10000000-" ": inside the shadow pool (0x10000000-0x14000000)"
variant no-pvh "no PVH entry note (Xen ELF note type 18); umbra boots PVH images only"
variant pvh-size "malformed PVH entry note (2 bytes)"
variant entry-outside "PVH entry 0x3000000 is not inside an executable loadable segment below 4 GiB"
variant entry-in-data "PVH entry 0x" "is not inside an executable loadable segment below 4 GiB"
variant abi-version "built for umbra ABI version 99; this umbra speaks version 2"
exit 0
