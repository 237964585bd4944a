# tests/vmm: the VMM's tests, and the small test guests (tests/guests) they run.

## Test guests: assembly on tests/guests/boot.S, freestanding flags only.
TEST_GUEST_INCLUDES = $(GUEST_CPPFLAGS) -I$(top_srcdir)/tests/guests
TEST_GUEST_LINK = $(GUEST_LINK_FLAGS) -Wl,-T,$(top_srcdir)/tests/guests/guest.lds
TEST_GUEST_LDS = $(top_srcdir)/tests/guests/guest.lds
EXTRA_DIST += tests/guests/guest.lds
noinst_HEADERS += tests/guests/guest.h tests/guests/report.inc tests/guests/tables.inc \
	tests/guests/cpl3.inc tests/guests/modes.inc

noinst_PROGRAMS += tests/guests/hello.elf
tests_guests_hello_elf_SOURCES = tests/guests/boot.S tests/guests/hello.S
tests_guests_hello_elf_CPPFLAGS = $(TEST_GUEST_INCLUDES)
tests_guests_hello_elf_CCASFLAGS = $(GUEST_CCASFLAGS)
tests_guests_hello_elf_CFLAGS = $(GUEST_CFLAGS)
tests_guests_hello_elf_LDFLAGS = $(TEST_GUEST_LINK)
tests_guests_hello_elf_DEPENDENCIES = $(TEST_GUEST_LDS)

noinst_PROGRAMS += tests/guests/hypercount.elf
tests_guests_hypercount_elf_SOURCES = tests/guests/boot.S tests/guests/hypercount.S
tests_guests_hypercount_elf_CPPFLAGS = $(TEST_GUEST_INCLUDES)
tests_guests_hypercount_elf_CCASFLAGS = $(GUEST_CCASFLAGS)
tests_guests_hypercount_elf_CFLAGS = $(GUEST_CFLAGS)
tests_guests_hypercount_elf_LDFLAGS = $(TEST_GUEST_LINK)
tests_guests_hypercount_elf_DEPENDENCIES = $(TEST_GUEST_LDS)

noinst_PROGRAMS += tests/guests/idle.elf
tests_guests_idle_elf_SOURCES = tests/guests/boot.S tests/guests/idle.S
tests_guests_idle_elf_CPPFLAGS = $(TEST_GUEST_INCLUDES)
tests_guests_idle_elf_CCASFLAGS = $(GUEST_CCASFLAGS)
tests_guests_idle_elf_CFLAGS = $(GUEST_CFLAGS)
tests_guests_idle_elf_LDFLAGS = $(TEST_GUEST_LINK)
tests_guests_idle_elf_DEPENDENCIES = $(TEST_GUEST_LDS)

noinst_PROGRAMS += tests/guests/badargs.elf
tests_guests_badargs_elf_SOURCES = tests/guests/boot.S tests/guests/badargs.S \
	tests/guests/cases.S
tests_guests_badargs_elf_CPPFLAGS = $(TEST_GUEST_INCLUDES)
tests_guests_badargs_elf_CCASFLAGS = $(GUEST_CCASFLAGS)
tests_guests_badargs_elf_CFLAGS = $(GUEST_CFLAGS)
tests_guests_badargs_elf_LDFLAGS = $(TEST_GUEST_LINK)
tests_guests_badargs_elf_DEPENDENCIES = $(TEST_GUEST_LDS)

noinst_PROGRAMS += tests/guests/misbehave.elf
tests_guests_misbehave_elf_SOURCES = tests/guests/boot.S tests/guests/misbehave.S \
	tests/guests/modes.S
tests_guests_misbehave_elf_CPPFLAGS = $(TEST_GUEST_INCLUDES)
tests_guests_misbehave_elf_CCASFLAGS = $(GUEST_CCASFLAGS)
tests_guests_misbehave_elf_CFLAGS = $(GUEST_CFLAGS)
tests_guests_misbehave_elf_LDFLAGS = $(TEST_GUEST_LINK)
tests_guests_misbehave_elf_DEPENDENCIES = $(TEST_GUEST_LDS)

noinst_PROGRAMS += tests/guests/flushprobe.elf
tests_guests_flushprobe_elf_SOURCES = tests/guests/boot.S tests/guests/flushprobe.S
tests_guests_flushprobe_elf_CPPFLAGS = $(TEST_GUEST_INCLUDES)
tests_guests_flushprobe_elf_CCASFLAGS = $(GUEST_CCASFLAGS)
tests_guests_flushprobe_elf_CFLAGS = $(GUEST_CFLAGS)
tests_guests_flushprobe_elf_LDFLAGS = $(TEST_GUEST_LINK)
tests_guests_flushprobe_elf_DEPENDENCIES = $(TEST_GUEST_LDS)

noinst_PROGRAMS += tests/guests/astest.elf
tests_guests_astest_elf_SOURCES = tests/guests/boot.S tests/guests/astest.S \
	tests/guests/pagetable.S tests/guests/cpu.S tests/guests/exit.S
tests_guests_astest_elf_CPPFLAGS = $(TEST_GUEST_INCLUDES)
tests_guests_astest_elf_CCASFLAGS = $(GUEST_CCASFLAGS)
tests_guests_astest_elf_CFLAGS = $(GUEST_CFLAGS)
tests_guests_astest_elf_LDFLAGS = $(TEST_GUEST_LINK)
tests_guests_astest_elf_DEPENDENCIES = $(TEST_GUEST_LDS)

noinst_PROGRAMS += tests/guests/staleprobe.elf
tests_guests_staleprobe_elf_SOURCES = tests/guests/boot.S tests/guests/usermode.S \
	tests/guests/staleprobe.S tests/guests/cpu.S tests/guests/exit.S
tests_guests_staleprobe_elf_CPPFLAGS = $(TEST_GUEST_INCLUDES)
tests_guests_staleprobe_elf_CCASFLAGS = $(GUEST_CCASFLAGS)
tests_guests_staleprobe_elf_CFLAGS = $(GUEST_CFLAGS)
tests_guests_staleprobe_elf_LDFLAGS = $(TEST_GUEST_LINK)
tests_guests_staleprobe_elf_DEPENDENCIES = $(TEST_GUEST_LDS)

noinst_PROGRAMS += tests/guests/stubcheck.elf
tests_guests_stubcheck_elf_SOURCES = tests/guests/boot.S tests/guests/usermode.S \
	tests/guests/stubcheck.S tests/guests/cpu.S tests/guests/exit.S
tests_guests_stubcheck_elf_CPPFLAGS = $(TEST_GUEST_INCLUDES)
tests_guests_stubcheck_elf_CCASFLAGS = $(GUEST_CCASFLAGS)
tests_guests_stubcheck_elf_CFLAGS = $(GUEST_CFLAGS)
tests_guests_stubcheck_elf_LDFLAGS = $(TEST_GUEST_LINK)
tests_guests_stubcheck_elf_DEPENDENCIES = $(TEST_GUEST_LDS)

noinst_PROGRAMS += tests/guests/pageops.elf
tests_guests_pageops_elf_SOURCES = tests/guests/boot.S tests/guests/pageops.S \
	tests/guests/cases.S
tests_guests_pageops_elf_CPPFLAGS = $(TEST_GUEST_INCLUDES)
tests_guests_pageops_elf_CCASFLAGS = $(GUEST_CCASFLAGS)
tests_guests_pageops_elf_CFLAGS = $(GUEST_CFLAGS)
tests_guests_pageops_elf_LDFLAGS = $(TEST_GUEST_LINK)
tests_guests_pageops_elf_DEPENDENCIES = $(TEST_GUEST_LDS)

## Tests
EXTRA_DIST += tests/vmm/lib.sh tests/vmm/reportcheck.py tests/vmm/tracecheck.py
VMM_SHELL_TESTS = \
	tests/vmm/cli.sh \
	tests/vmm/elf.sh
TESTS += $(VMM_SHELL_TESTS)
EXTRA_DIST += $(VMM_SHELL_TESTS)

# Writes malformed copies of a test guest for elf.sh.
check_PROGRAMS += tests/vmm/mkelf
tests_vmm_mkelf_SOURCES = tests/vmm/mkelf.c
VMM_KVM_TESTS = \
	tests/vmm/hello.sh \
	tests/vmm/hypercount.sh \
	tests/vmm/badargs.sh \
	tests/vmm/misbehave.sh \
	tests/vmm/idle.sh \
	tests/vmm/astest.sh \
	tests/vmm/staleprobe.sh \
	tests/vmm/stubcheck.sh \
	tests/vmm/stubswitch.sh \
	tests/vmm/stubrdx.sh \
	tests/vmm/stat.sh \
	tests/vmm/trace.py \
	tests/vmm/unread.sh \
	tests/vmm/pageops.sh
TESTS += $(VMM_KVM_TESTS)
KVM_TESTS += $(VMM_KVM_TESTS)
EXTRA_DIST += $(VMM_KVM_TESTS)
# Two vCPU threads, the main thread, signals: the TSan build runs these.
# trace.py: each vCPU thread fills its own buffer, the main thread reads them all.
CONCURRENCY_TESTS += tests/vmm/hypercount.sh tests/vmm/badargs.sh tests/vmm/misbehave.sh \
	tests/vmm/trace.py tests/vmm/unread.sh

# The flush primitive on this KVM, against the flushprobe guest.
check_PROGRAMS += tests/vmm/flush_test
tests_vmm_flush_test_SOURCES = tests/vmm/flush_test.c
tests_vmm_flush_test_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/vmm $(LIBELF_CFLAGS)
tests_vmm_flush_test_LDADD = $(VMM_LIBS)
TESTS += tests/vmm/flush_test
KVM_TESTS += tests/vmm/flush_test

# The output sinks against pipes; threads and signals, so TSan runs it too.
check_PROGRAMS += tests/vmm/sink_test
tests_vmm_sink_test_SOURCES = tests/vmm/sink_test.c
tests_vmm_sink_test_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/vmm $(CHECK_CFLAGS)
tests_vmm_sink_test_LDADD = $(VMM_LIBS) $(CHECK_LIBS)
TESTS += tests/vmm/sink_test
CONCURRENCY_TESTS += tests/vmm/sink_test

# Unit tests of the parts that need no KVM.
check_PROGRAMS += tests/vmm/unit
tests_vmm_unit_SOURCES = tests/vmm/unit.c
tests_vmm_unit_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/vmm $(LIBELF_CFLAGS) $(CHECK_CFLAGS)
tests_vmm_unit_LDADD = $(VMM_LIBS) $(CHECK_LIBS)
TESTS += tests/vmm/unit

## Hostile guests (issue 10, docs/hostile.md): one per class of attack
## on the shadow MMU, each run by its script below.
noinst_PROGRAMS += tests/guests/poolwrite.elf
tests_guests_poolwrite_elf_SOURCES = tests/guests/boot.S tests/guests/poolwrite.S \
	tests/guests/modes.S tests/guests/exit.S
tests_guests_poolwrite_elf_CPPFLAGS = $(TEST_GUEST_INCLUDES)
tests_guests_poolwrite_elf_CCASFLAGS = $(GUEST_CCASFLAGS)
tests_guests_poolwrite_elf_CFLAGS = $(GUEST_CFLAGS)
tests_guests_poolwrite_elf_LDFLAGS = $(TEST_GUEST_LINK)
tests_guests_poolwrite_elf_DEPENDENCIES = $(TEST_GUEST_LDS)
noinst_PROGRAMS += tests/guests/alias.elf
tests_guests_alias_elf_SOURCES = tests/guests/boot.S tests/guests/alias.S \
	tests/guests/pagetable.S tests/guests/cpu.S tests/guests/modes.S
tests_guests_alias_elf_CPPFLAGS = $(TEST_GUEST_INCLUDES)
tests_guests_alias_elf_CCASFLAGS = $(GUEST_CCASFLAGS)
tests_guests_alias_elf_CFLAGS = $(GUEST_CFLAGS)
tests_guests_alias_elf_LDFLAGS = $(TEST_GUEST_LINK)
tests_guests_alias_elf_DEPENDENCIES = $(TEST_GUEST_LDS)
noinst_PROGRAMS += tests/guests/handlewrap.elf
tests_guests_handlewrap_elf_SOURCES = tests/guests/boot.S tests/guests/handlewrap.S \
	tests/guests/exit.S
tests_guests_handlewrap_elf_CPPFLAGS = $(TEST_GUEST_INCLUDES)
tests_guests_handlewrap_elf_CCASFLAGS = $(GUEST_CCASFLAGS)
tests_guests_handlewrap_elf_CFLAGS = $(GUEST_CFLAGS)
tests_guests_handlewrap_elf_LDFLAGS = $(TEST_GUEST_LINK)
tests_guests_handlewrap_elf_DEPENDENCIES = $(TEST_GUEST_LDS)
noinst_PROGRAMS += tests/guests/forkrace.elf
tests_guests_forkrace_elf_SOURCES = tests/guests/boot.S tests/guests/forkrace.S \
	tests/guests/exit.S
tests_guests_forkrace_elf_CPPFLAGS = $(TEST_GUEST_INCLUDES)
tests_guests_forkrace_elf_CCASFLAGS = $(GUEST_CCASFLAGS)
tests_guests_forkrace_elf_CFLAGS = $(GUEST_CFLAGS)
tests_guests_forkrace_elf_LDFLAGS = $(TEST_GUEST_LINK)
tests_guests_forkrace_elf_DEPENDENCIES = $(TEST_GUEST_LDS)
HOSTILE_TESTS = \
	tests/vmm/poolwrite.sh \
	tests/vmm/alias.sh \
	tests/vmm/handlewrap.sh \
	tests/vmm/forkrace.sh \
	tests/vmm/hostile-flush.sh
TESTS += $(HOSTILE_TESTS)
KVM_TESTS += $(HOSTILE_TESTS)
EXTRA_DIST += $(HOSTILE_TESTS)
