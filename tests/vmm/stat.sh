#!/bin/sh
# umbra stat: every file it cannot use is refused with exit code 2 and one
# exact line (unreadable, not JSON, not an umbra report, another version);
# two small reports made by hand give an exact table; then, with KVM, reports of the same fork storm in share, copy and native
# mode side by side: the table's values, ratios and per-fork figures, the
# same in --json, and a fork count that is the guest's own in every mode.
. "$top_srcdir/tests/vmm/lib.sh"
require_python

# bad MESSAGE ARGS...: umbra stat ARGS exits 2 with the line MESSAGE on stderr and nothing else.
bad() {
	msg=$1
	shift
	run_umbra stat "$@"
	expect_rc 2 "umbra stat $*"
	expect_err_line "$msg"
	[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "umbra stat $*: more than one line on stderr"
	[ ! -s "$tmp/out" ] || fail "umbra stat $*: printed on stdout"
}

run_umbra stat --help
expect_rc 0 "umbra stat --help"
grep -q '^Usage: umbra stat' "$tmp/out" || fail "umbra stat --help prints no usage"
bad "umbra stat: unknown option '--bogus' (see umbra stat --help)" --bogus a.json
bad "umbra stat: no report given (see umbra stat --help)"
bad "umbra stat: no report given (see umbra stat --help)" --json
bad "umbra stat: 17 reports: at most 16" $(seq -f "$tmp/r%g.json" 17)
bad "umbra stat: $tmp/missing.json: No such file or directory" "$tmp/missing.json"
bad "umbra stat: $tmp: Is a directory" "$tmp"

# not JSON
: >"$tmp/empty.json"
bad "umbra stat: $tmp/empty.json: not JSON: line 1, column 1: unexpected end of input, expected a JSON value" \
	"$tmp/empty.json"
printf '{"format": "umbra-stats", "version": 1, "phases": [' >"$tmp/cut.json"
bad "umbra stat: $tmp/cut.json: not JSON: line 1, column 52: unexpected end of input, expected a JSON value" \
	"$tmp/cut.json"
printf '{\n  "format": "umbra-stats",\n  "version": 1,\n}\n' >"$tmp/comma.json"
bad "umbra stat: $tmp/comma.json: not JSON: line 4, column 1: unexpected '}', expected a member name" \
	"$tmp/comma.json"
printf '{"a": tru}' >"$tmp/word.json"
bad "umbra stat: $tmp/word.json: not JSON: line 1, column 7: unexpected 't', expected a JSON value" \
	"$tmp/word.json"
printf '{"a": 1} {}' >"$tmp/two.json"
bad "umbra stat: $tmp/two.json: not JSON: line 1, column 10: unexpected '{', expected the end after the JSON value" \
	"$tmp/two.json"
printf '["a\001"]' >"$tmp/ctl.json"
bad "umbra stat: $tmp/ctl.json: not JSON: line 1, column 4: control character 0x01 in a string" \
	"$tmp/ctl.json"
printf '["\\ud800x"]' >"$tmp/surrogate.json"
bad "umbra stat: $tmp/surrogate.json: not JSON: line 1, column 9: a \\u escape of a high surrogate without its low half" \
	"$tmp/surrogate.json"
printf '[-]' >"$tmp/minus.json"
bad "umbra stat: $tmp/minus.json: not JSON: line 1, column 3: unexpected ']', expected a digit" \
	"$tmp/minus.json"
"$PYTHON3" -c 'print("[" * 1000)' >"$tmp/deep.json"
bad "umbra stat: $tmp/deep.json: not JSON: line 1, column 65: nested deeper than 64 levels" \
	"$tmp/deep.json"

# JSON, but not an umbra report of this version
echo '[1, 2]' >"$tmp/array.json"
bad "umbra stat: $tmp/array.json: not an umbra report (not a JSON object)" "$tmp/array.json"
echo '{"traceEvents": [], "otherData": {"format": "umbra-trace"}}' >"$tmp/trace.json"
bad "umbra stat: $tmp/trace.json: not an umbra report (no \"format\": \"umbra-stats\")" \
	"$tmp/trace.json"
echo '{"format": "umbra-stats", "version": 2, "phases": []}' >"$tmp/v2.json"
bad "umbra stat: $tmp/v2.json: umbra report version 2; this umbra reads version 1" "$tmp/v2.json"
echo '{"format": "umbra-stats", "version": "1"}' >"$tmp/vstring.json"
bad "umbra stat: $tmp/vstring.json: umbra report without a version number" "$tmp/vstring.json"
echo '{"format": "umbra-stats", "version": 1, "phases": [{"name": "boot"}], "total": {}}' \
	>"$tmp/nototal.json"
bad "umbra stat: $tmp/nototal.json: malformed umbra report (\"phases\")" "$tmp/nototal.json"
echo '{"format": "umbra-stats", "version": 1, "phases": []}' >"$tmp/short.json"
bad "umbra stat: $tmp/short.json: malformed umbra report (\"total\")" "$tmp/short.json"

# Two small reports by hand: only the members umbra stat needs, one more it
# must ignore, values it must skip (null, negative), names it must not
# print raw; the table is exact.
cat >"$tmp/a.json" <<'EOF'
{"format": "umbra-stats", "version": 1, "run": {"paging": "share", "cmdline": "x\u001by"},
 "result": {"stop": "exit"},
 "phases": [
  {"phase": 2, "name": "fork", "total": {"exits": {"total": 8},
   "hypercalls": {"phase": {"calls": 4}}, "shadow_pool": {"pages_now": 3}}},
  {"phase": 0, "name": "b\u001b[2J", "total": {"exits": {"total": 3}, "kvm": null, "odd": -1}}],
 "total": {"exits": {"total": 11}, "flushes": 0}}
EOF
cat >"$tmp/b.json" <<'EOF'
{"format": "umbra-stats", "version": 1, "extra": [1, 2.5, "new members are ignored"],
 "phases": [{"phase": 2, "name": "fork", "total": {"exits": {"total": 6},
  "hypercalls": {"phase": {"calls": 2}}}}],
 "total": {"exits": {"total": 6}, "flushes": 5}}
EOF
run_umbra stat "$tmp/a.json" "$tmp/b.json"
expect_rc 0 "umbra stat of two small reports"
cat >"$tmp/want.txt" <<EOF
umbra stat: 2 reports; X/A: the ratio to A; X/fork: a count over the guest's forks
  A  $tmp/a.json: share paging, 4 forks, stop exit, guest args 'x?y'
  B  $tmp/b.json: ? paging, 2 forks, stop ?, guest args '?'

phase b?[2J                                         A            B          B/A       A/fork       B/fork
  exits.total                                       3            -            -         0.75            -

phase fork                                          A            B          B/A       A/fork       B/fork
  exits.total                                       8            6         0.75         2.00         3.00
  hypercalls.phase.calls                            4            2         0.50         1.00         1.00
  shadow_pool.pages_now                             3            -            -            -            -

total                                               A            B          B/A       A/fork       B/fork
  exits.total                                      11            6         0.55         2.75         3.00
  flushes                                           0            5            -         0.00         2.50
EOF
diff -u "$tmp/want.txt" "$tmp/out" || fail "umbra stat of two small reports: the table differs"

require_kvm
image=$top_builddir/guest/umbra-guest.elf
args="forkstorm workers=2 forks=5 pages=8 write=50 live=2"
for mode in share copy native; do
	run_umbra run --paging "$mode" --timeout $RUN_TIMEOUT --stats none \
		--stats-file "$tmp/$mode.json" "$image" -- $args
	expect_rc 0 "--paging $mode $args"
	sed -n 's/^kernel: forks \([0-9]*\) .*/\1/p' "$tmp/out" >"$tmp/$mode.forks"
done

run_umbra stat "$tmp/share.json" "$tmp/copy.json" "$tmp/native.json"
expect_rc 0 "umbra stat of three reports"
cp "$tmp/out" "$tmp/table.txt"
run_umbra stat --json "$tmp/share.json" "$tmp/copy.json" "$tmp/native.json"
expect_rc 0 "umbra stat --json of three reports"
cp "$tmp/out" "$tmp/stat.json"
run_umbra stat "$tmp/copy.json"
expect_rc 0 "umbra stat of one report"
grep -q '^phase fork  *A  *A/fork$' "$tmp/out" || fail "one report: no 'phase fork' header"

"$PYTHON3" - "$tmp" <<'PY' || fail "umbra stat's figures"
import json, sys
tmp = sys.argv[1]
modes = ("share", "copy", "native")
reports = [json.load(open(f"{tmp}/{m}.json")) for m in modes]
forks = [int(open(f"{tmp}/{m}.forks").read()) for m in modes]


def phase(r, name):
    if name == "total":
        return r["total"]
    return next((p["total"] for p in r["phases"] if p["name"] == name), None)


def value(r, name, path):
    v = phase(r, name)
    for k in path.split("."):
        v = v.get(k) if isinstance(v, dict) else None
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def check(what, got, want):
    if got != want:
        sys.exit(f"{what}: {got}, expected {want}")


# The fork count is the guest kernel's own (its two workers and their five
# children each), in every paging mode.
check("the guest's forks", forks, [2 + 2 * 5] * 3)
stat = json.load(open(f"{tmp}/stat.json"))
check("format", (stat["format"], stat["version"]), ("umbra-stat", 1))
check("reports", [(r["label"], r["paging"], r["forks"]) for r in stat["reports"]],
      [("A", "share", 12), ("B", "copy", 12), ("C", "native", 12)])
names = [s["name"] for s in stat["sections"]]
check("sections", names[-1], "total")
check("sections", set(names[:-1]), {p["name"] for r in reports for p in r["phases"]})
rows = 0
for s in stat["sections"]:
    for row in s["rows"]:
        want = [value(r, s["name"], row["counter"]) for r in reports]
        check(f"{s['name']} {row['counter']}", row["values"], want)
        for i, v in enumerate(want):
            ratio = v / want[0] if v is not None and want[0] else None
            per_fork = v / 12 if v is not None and not row["counter"].startswith(
                "shadow_pool.") and not row["counter"].endswith(("max_ns", "longest_ns")) else None
            for what, got, exp in (("ratio", row["ratios"][i], ratio),
                                   ("per fork", row["per_fork"][i], per_fork)):
                if (got is None) != (exp is None) or (exp is not None and
                                                      abs(got - exp) > 1e-5 * abs(exp)):
                    sys.exit(f"{s['name']} {row['counter']} {what} of {'ABC'[i]}: "
                             f"{got}, expected {exp}")
        rows += 1
# The table says the same: the fork phase's exits, side by side.
lines = open(f"{tmp}/table.txt").read().split("\n")
start = lines.index(next(l for l in lines if l.startswith("phase fork ")))
row = next(l for l in lines[start:] if l.split()[:1] == ["exits.total"]).split()
exits = [value(r, "fork", "exits.total") for r in reports]
want = ["exits.total"] + [str(v) for v in exits]
want += [f"{v / exits[0]:.2f}" for v in exits[1:]] + [f"{v / 12:.2f}" for v in exits]
check("table row exits.total in phase fork", row, want)
native_shadow = [l for l in lines if l.split()[:1] == ["shadow.forks_share"]]
check("a row per counter any report has", len(native_shadow) > 0, True)
print(f"ok: {rows} rows in {len(names)} sections")
PY
exit 0
