#!/bin/busybox sh
# /init of the nested test's initramfs, run by busybox sh in L1 (Debian's
# kernel under QEMU TCG). Loads kvm_amd with npt=N (N from "nested_npt=N"
# on the kernel command line), holds one VM open, runs every line of
# /nested/runs with umbra (each with --timeout from "nested_run_timeout=S")
# and reports each on the console as lines that
# tests/nested/check-nested.py parses:
#
#   NESTED-BOOT key=value...                  once, after kvm_amd is loaded
#   NESTED-OUT ID LINE / NESTED-ERR ID LINE   umbra's stdout / stderr
#   NESTED-DMESG ID LINE                      the kernel log's tail, after a run with an unexpected status
#   NESTED-REPORT ID BASE64                   the JSON report without phases and vCPUs, gzipped
#   NESTED-RUN ID STATUS MS                   umbra's exit status and run time; ends a run
#   NESTED-DONE                               all runs made
#   NESTED-FAIL MESSAGE                       set-up failed; nothing more follows
#   NESTED-SUITE STATUS                       the suite's exit status ("nested_suite=1")
#
# A line of /nested/runs is "ID|IMAGE|UMBRA OPTIONS|GUEST ARGS|EXPECTED STATUS"
# (IMAGE relative to /nested). A run is killed if umbra outlives its
# --timeout by 30 s (a VMM stuck in KVM_RUN). With "nested_shell=1" on the
# command line, a shell on the console replaces the runs. Benchmarks
# (bench/forkbench.py --nested) add "nested_full_report=1", which keeps the
# phases and vCPUs in the reports, and use IMAGE "exec:PROGRAM" for a
# program of /nested run with GUEST ARGS instead of umbra (linuxfork).
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# The console line may hold what the firmware and the boot left there
# (SeaBIOS ends with no newline): every NESTED- line must start one.
echo

# ends the boot: QEMU runs with -no-reboot, so a reboot exits it
finish() {
	echo "$1"
	sync
	reboot -f
}

param() { # NAME: the value of NAME=... on the kernel command line
	tr ' ' '\n' </proc/cmdline | sed -n "s/^$1=//p"
}

npt=$(param nested_npt)
run_timeout=$(param nested_run_timeout)
full_report=$(param nested_full_report)
if [ -z "$npt" ] || [ -z "$run_timeout" ]; then
	finish "NESTED-FAIL nested_npt= or nested_run_timeout= missing from the kernel command line"
fi

kmod=/lib/modules/$(uname -r)/kernel
for m in virt/lib/irqbypass.ko arch/x86/kvm/kvm.ko drivers/crypto/ccp/ccp.ko; do
	insmod "$kmod/$m" || finish "NESTED-FAIL insmod $m failed"
done
insmod "$kmod/arch/x86/kvm/kvm-amd.ko" npt="$npt" ||
	finish "NESTED-FAIL insmod kvm-amd.ko npt=$npt failed (no svm in L1's CPU?)"
[ -c /dev/kvm ] || finish "NESTED-FAIL kvm_amd loaded but /dev/kvm is missing"
echo "NESTED-BOOT kernel=$(uname -r) cpus=$(nproc)" \
	"npt=$(cat /sys/module/kvm_amd/parameters/npt)" \
	"nested=$(cat /sys/module/kvm_amd/parameters/nested)" \
	"mem_kib=$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)"

/nested/holder >/tmp/holder.out 2>&1 &
holder=$!
i=0
until grep -q '^holder: ready' /tmp/holder.out; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 $holder 2>/dev/null; then
		finish "NESTED-FAIL the VM holder did not start: $(cat /tmp/holder.out)"
	fi
	sleep 0.1
done

# "nested_suite=1": the host's root file system (9p tag hostroot, read-only)
# and its build tree (tag build, writable, mounted at the same path) become
# a chroot in which /nested/suite runs: make check's KVM tests, on this KVM.
if [ "$(param nested_suite)" = 1 ]; then
	for m in $(cat /nested/suite-modules); do
		insmod "$kmod/$m" || finish "NESTED-FAIL insmod $m failed"
	done
	builddir=$(cat /nested/suite-builddir)
	opts=trans=virtio,version=9p2000.L,msize=262144
	mount -t 9p -o "$opts,ro,cache=loose" hostroot /host ||
		finish "NESTED-FAIL cannot mount the host's root (9p tag hostroot)"
	mount -t proc proc /host/proc && mount -t sysfs sysfs /host/sys &&
		mount -t devtmpfs devtmpfs /host/dev && mkdir -p /host/dev/shm /host/dev/pts &&
		mount -t tmpfs tmpfs /host/dev/shm && mount -t devpts devpts /host/dev/pts &&
		mount -t tmpfs tmpfs /host/tmp && mount -t tmpfs tmpfs /host/run ||
		finish "NESTED-FAIL cannot mount proc, sys, dev and tmpfs in the chroot"
	mkdir -p "/host$builddir" 2>/dev/null
	mount -t 9p -o "$opts,cache=mmap" build "/host$builddir" ||
		finish "NESTED-FAIL cannot mount the build tree at $builddir (9p tag build)"
	cp /nested/suite /host/tmp/suite
	chroot /host /bin/sh /tmp/suite
	status=$?
	kill $holder
	umount "/host$builddir"
	finish "NESTED-SUITE $status"
fi

if [ "$(param nested_shell)" = 1 ]; then
	echo "NESTED-SHELL umbra is /nested/umbra, the runs are in /nested/runs; exit powers off"
	setsid cttyhack sh
	kill $holder
	finish NESTED-DONE
fi

now_ms() { # milliseconds since boot (uptime has two decimals and is > 1 s here)
	read -r up _ </proc/uptime
	echo $((${up%.*}${up#*.} * 10))
}

# prefix TAG ID FILE: every line of FILE as "TAG ID LINE"
prefix() {
	sed "s/^/$1 $2 /" "$3"
}

# The report without its per-phase and per-vCPU parts (the bulk of it) keeps
# every top-level member the host compares. umbra writes one member per
# line, two spaces per level, so a top-level member starts and ends at
# indent 2; the comma before a removed last member is dropped.
trim_report() {
	awk '
	/^  "(phases|vcpus)": / { skip = 1; next }
	skip { if (/^  []}]/) skip = 0; next }
	/^}/ && held != "" { sub(/,$/, "", held) }
	{ if (held != "") print held; held = $0 }
	END { print held }' "$1"
}

while IFS='|' read -r id image opts args expected; do
	rm -f /tmp/report.json
	start=$(now_ms)
	# shellcheck disable=SC2086 # options and guest arguments are words
	case $image in
	exec:*)
		timeout -s KILL $((run_timeout + 30)) "/nested/${image#exec:}" $args \
			>/tmp/out 2>/tmp/err </dev/null
		;;
	*)
		timeout -s KILL $((run_timeout + 30)) /nested/umbra run $opts --timeout "$run_timeout" \
			--stats none --stats-file /tmp/report.json "/nested/$image" -- $args \
			>/tmp/out 2>/tmp/err </dev/null
		;;
	esac
	status=$?
	ms=$(($(now_ms) - start))
	prefix NESTED-OUT "$id" /tmp/out
	prefix NESTED-ERR "$id" /tmp/err
	if [ "$status" != "$expected" ]; then
		dmesg | tail -20 >/tmp/dmesg
		prefix NESTED-DMESG "$id" /tmp/dmesg
	fi
	if [ -s /tmp/report.json ]; then
		if [ "$full_report" = 1 ]; then
			echo "NESTED-REPORT $id $(gzip -9 </tmp/report.json | base64 -w 0)"
		else
			echo "NESTED-REPORT $id $(trim_report /tmp/report.json | gzip -9 | base64 -w 0)"
		fi
	fi
	echo "NESTED-RUN $id $status $ms"
done </nested/runs

kill $holder
finish NESTED-DONE
