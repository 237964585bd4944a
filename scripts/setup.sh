#!/bin/sh
# Sets umbra up on Debian 12: installs the packages it needs (apt-get, as
# root or through sudo), then configures and builds it in this tree.
# Arguments are passed to ./configure (e.g. --enable-werror).
set -eu
cd "$(dirname "$0")/.."

packages="gcc make libc6-dev autoconf automake pkg-config check libsubunit-dev \
libelf-dev linux-libc-dev python3 qemu-system-x86"
missing=
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" -eq 0 ]; then sudo=; else sudo=sudo; fi
	echo "setup: installing$missing"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
fi

if [ ! -x configure ] || [ configure.ac -nt configure ]; then
	autoreconf -fi
fi
if [ ! -f Makefile ] || [ $# -gt 0 ]; then
	./configure "$@"
fi
make -j"$(nproc)"
