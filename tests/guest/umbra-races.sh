#!/bin/sh
# The seed's races in the guest kernel's page-table sharing, on umbra
# --paging native with 2 vCPUs (see qemu-races.sh): each race must be
# counted; then the same under the shadow MMU.
. "$top_srcdir/tests/guest/lib.sh"
need_umbra

# CPL 0 is emulated here: 3000 `pause` loops widen each window to ~1-3 ms.
# shellcheck disable=SC2086 # the arguments are words
expect_races "umbra --paging native, 2 vCPUs" run_umbra native ptdelay=3000 $race_args

# And under the shadow MMU, whose own sharing follows the guest's (share
# and copy; lazy fills the same way as share), with --check.
for mode in share copy; do
	# shellcheck disable=SC2086 # the arguments are words
	expect_races "umbra --paging $mode, 2 vCPUs" run_umbra $mode ptdelay=3000 $race_args
done
