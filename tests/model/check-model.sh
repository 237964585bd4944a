#!/bin/sh
# Checks the spin model of the sharing protocol (tests/model/shadow.pml,
# docs/shadow.md "The model") exhaustively: the protocol as the code does it
# must verify with no errors, and with no invalid end state; each broken
# variant must give a counterexample, with every check and with only what a
# guest or the pool would observe; each race probe must be reached.
# Prints, per run, the states explored and pan's time, and for each
# counterexample the assertion that its trail violates.
#
# Run by `make check-model` (CI), not by `make check`. MODEL_OPS=n changes
# the operation budget (default 5, the model's).
set -eu

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
model=$srcdir/tests/model/shadow.pml
cc=${CC:-cc}
ops=${MODEL_OPS:-5}

if ! command -v spin >/dev/null 2>&1; then
	echo "check-model: spin was not found: apt-get install spin" >&2
	exit 1
fi
if ! command -v "${cc%% *}" >/dev/null 2>&1; then
	echo "check-model: no C compiler ($cc) to build spin's verifier: apt-get install spin gcc" >&2
	exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=$(date +%s)

# verify NAME EXPECT OPS PAN_CFLAG [SPIN_FLAGS...]: builds and runs one pan
# in $work/NAME, writes its report to $work/NAME/report, and creates
# $work/NAME/failed unless it got EXPECT: "verified" (errors: 0, the search
# complete) or "counterexample" (errors: 1 or more).
verify() (
	name=$1 expect=$2 budget=$3 panflag=$4
	shift 4
	dir=$work/$name
	mkdir "$dir"
	cd "$dir"
	cp "$model" shadow.pml
	# pan.c is generated: its warnings are not ours
	if ! { spin -DOPS="$budget" "$@" -a shadow.pml &&
		$cc -w -O2 -DSAFETY ${panflag:+"$panflag"} -o pan pan.c; } \
		>build.log 2>&1; then
		echo "FAIL $name: spin or the compiler failed" >report
		sed 's/^/     | /' build.log >>report
		touch failed
		exit 0
	fi
	./pan -m100000 >pan.out 2>&1 || true
	errors=$(sed -n 's/.*, errors: \([0-9][0-9]*\)$/\1/p' pan.out)
	states=$(sed -n 's/^ *\([0-9][0-9.e+]*\) states, stored.*/\1/p' pan.out)
	time=$(sed -n 's/^pan: elapsed time \([0-9.e+-]*\) seconds$/\1/p' pan.out)
	case $errors in
	0) got=verified ;;
	[1-9]*) got=counterexample ;;
	*) got="no result" ;;
	esac
	if [ "$got" = verified ] && grep -q -e 'max search depth too small' \
		-e 'Search not completed' pan.out; then
		got="incomplete search"
	fi
	verdict=ok
	if [ "$got" != "$expect" ]; then
		verdict=FAIL
		touch failed
	fi
	{
		printf '%-4s %-32s %-16s ops %s  states %9s  %6ss\n' \
			"$verdict" "$name" "$got" "$budget" "${states:-?}" "${time:-?}"
		if [ "$got" = counterexample ]; then
			# replay the trail: spin names the line of the violated assertion
			line=$(spin -DOPS="$budget" "$@" -t shadow.pml 2>&1 |
				sed -n 's/^spin: shadow.pml:\([0-9]*\), Error: .*/\1/p' | head -n 1)
			if [ -n "$line" ]; then
				printf '     shadow.pml:%s: %s\n' "$line" \
					"$(sed -n "${line}s/^[[:space:]:]*//p" shadow.pml)"
			fi
		fi
		if [ "$verdict" = FAIL ]; then
			sed 's/^/     | /' pan.out
		fi
	} >report
)

echo "spin model of the sharing protocol ($(spin -V))"
# The two long runs go in the background; the short ones run meanwhile.
names="correct correct-end-states"
verify correct verified "$ops" "" &
verify correct-end-states verified "$ops" -DNOCLAIM &
for variant in UNSHARE_IN_PLACE SHARE_NO_WP RELAXED_PUT NO_ACQUIRE; do
	name=broken-$(echo "$variant" | tr A-Z_ a-z-)
	names="$names $name $name-observed"
	verify "$name" counterexample "$ops" "" -DBROKEN_$variant
	verify "$name-observed" counterexample "$ops" "" -DBROKEN_$variant -DOBSERVABLE_ONLY
done
# A smaller budget explores a subset of the runs of a larger one (a thread
# may stop at any time), so the probes use the smallest that reaches every
# race: share+share takes three forks.
probe=1
for race in share-share share-unshare unshare-both-copy copy-last fill-raced; do
	names="$names probe-$race"
	verify "probe-$race" counterexample 3 "" -DPROBE=$probe
	probe=$((probe + 1))
done
wait

failed=0
for name in $names; do
	cat "$work/$name/report"
	[ ! -e "$work/$name/failed" ] || failed=1
done
echo "check-model: $(($(date +%s) - start))s"
exit $failed
