# tests/nested: `make check-nested` runs umbra nested, on Debian's kernel with
# kvm_amd under QEMU TCG, with npt=1 and npt=0, and compares every run with
# the same run on this machine (docs/testing.md, "Nested KVM"). Not part of
# `make check`: it needs QEMU, a kernel and busybox-static, and takes
# minutes. CI runs it.

# Static programs for L1's initramfs, built only when asked for: the same
# vmm/main.c and libraries as vmm/umbra, and the VM holder.
EXTRA_PROGRAMS += tests/nested/umbra-static tests/nested/holder
tests_nested_umbra_static_SOURCES = vmm/main.c
tests_nested_umbra_static_CPPFLAGS = $(vmm_umbra_CPPFLAGS)
tests_nested_umbra_static_LDFLAGS = -static
tests_nested_umbra_static_LDADD = vmm/libumbra.a shadow/libshadow.a $(LIBELF_STATIC_LIBS) -lm
tests_nested_holder_SOURCES = tests/nested/holder.c
# never sanitized: a static program, which check-kvm-nested needs in a sanitizer build too
tests_nested_holder_CFLAGS = -std=c11 $(HOST_WARNINGS) $(WERROR_CFLAGS)
tests_nested_holder_LDFLAGS = -static
CLEANFILES += tests/nested/umbra-static tests/nested/holder

EXTRA_DIST += tests/nested/check-nested.py tests/nested/init.sh tests/nested/workloads.txt \
	tests/nested/extra-runs.txt tests/nested/kvm-suite.py

# NESTED_FLAGS: check-nested.py's arguments (--npt N, --shell). Its
# settings (NESTED_UMBRA_OPTS, ...) reach it from the environment or from
# make's command line, which make exports.
check-nested:
	@if [ -n '$(SANITIZER_CFLAGS)' ]; then \
		echo 'check-nested: needs a build without --enable-sanitizers (its programs are static)'; \
		exit 1; fi
	$(MAKE) $(AM_MAKEFLAGS) all tests/nested/umbra-static tests/nested/holder
	$(AM_TESTS_ENVIRONMENT) $(PYTHON3) $(srcdir)/tests/nested/check-nested.py $(NESTED_FLAGS)
.PHONY: check-nested

# make check's KVM tests (KVM_TESTS, or KVM_TESTS=... from make's command line) on kvm_amd in
# L1, which reads this machine's files over 9p: for a machine without
# /dev/kvm (docs/testing.md). Any build, sanitized ones too.
check-kvm-nested:
	$(MAKE) $(AM_MAKEFLAGS) all $(check_PROGRAMS) tests/nested/holder
	$(AM_TESTS_ENVIRONMENT) KVM_TESTS='$(KVM_TESTS)' KVM_TESTS_ONLY='$(KVM_TESTS_ONLY)' \
		$(PYTHON3) $(srcdir)/tests/nested/kvm-suite.py $(NESTED_FLAGS)
print-kvm-tests:
	@KVM_TESTS='$(KVM_TESTS)' KVM_TESTS_ONLY='$(KVM_TESTS_ONLY)' \
		$(PYTHON3) $(srcdir)/tests/nested/kvm-suite.py --list
.PHONY: check-kvm-nested print-kvm-tests

# The initramfs trees, the images and the console logs of the last run.
clean-local: clean-nested
clean-nested:
	rm -rf tests/nested/work
.PHONY: clean-nested
