# tests/shadow: check suites of the shadow MMU library, one program per
# module. They look inside the library (shadow/internal.h) and share a
# fake-guest fixture, which bench/shadow-fork uses too.
noinst_LIBRARIES += tests/shadow/libshadowfx.a
tests_shadow_libshadowfx_a_SOURCES = tests/shadow/fixture.c tests/shadow/fixture.h
tests_shadow_libshadowfx_a_CPPFLAGS = $(SHADOW_TEST_CPPFLAGS)
tests_shadow_libshadowfx_a_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)

SHADOW_TEST_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/shadow -I$(top_srcdir)/tests/shadow
SHADOW_TEST_LDADD = tests/shadow/libshadowfx.a shadow/libshadow.a $(CHECK_LIBS)

SHADOW_UNIT_TESTS = \
	tests/shadow/test-walk \
	tests/shadow/test-fault \
	tests/shadow/test-share \
	tests/shadow/test-update \
	tests/shadow/test-fork \
	tests/shadow/test-as \
	tests/shadow/test-pool \
	tests/shadow/test-gmem \
	tests/shadow/test-check \
	tests/shadow/test-flush \
	tests/shadow/test-owner
SHADOW_CONCURRENCY_TESTS = \
	tests/shadow/test-races \
	tests/shadow/test-stress

check_PROGRAMS += $(SHADOW_UNIT_TESTS) $(SHADOW_CONCURRENCY_TESTS)
TESTS += $(SHADOW_UNIT_TESTS) $(SHADOW_CONCURRENCY_TESTS)
CONCURRENCY_TESTS += $(SHADOW_CONCURRENCY_TESTS)

tests_shadow_test_walk_SOURCES = tests/shadow/test_walk.c
tests_shadow_test_walk_CPPFLAGS = $(SHADOW_TEST_CPPFLAGS)
tests_shadow_test_walk_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_shadow_test_walk_LDADD = $(SHADOW_TEST_LDADD)

tests_shadow_test_fault_SOURCES = tests/shadow/test_fault.c
tests_shadow_test_fault_CPPFLAGS = $(SHADOW_TEST_CPPFLAGS)
tests_shadow_test_fault_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_shadow_test_fault_LDADD = $(SHADOW_TEST_LDADD)

tests_shadow_test_share_SOURCES = tests/shadow/test_share.c
tests_shadow_test_share_CPPFLAGS = $(SHADOW_TEST_CPPFLAGS)
tests_shadow_test_share_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_shadow_test_share_LDADD = $(SHADOW_TEST_LDADD)

tests_shadow_test_update_SOURCES = tests/shadow/test_update.c
tests_shadow_test_update_CPPFLAGS = $(SHADOW_TEST_CPPFLAGS)
tests_shadow_test_update_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_shadow_test_update_LDADD = $(SHADOW_TEST_LDADD)

tests_shadow_test_fork_SOURCES = tests/shadow/test_fork.c
tests_shadow_test_fork_CPPFLAGS = $(SHADOW_TEST_CPPFLAGS)
tests_shadow_test_fork_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_shadow_test_fork_LDADD = $(SHADOW_TEST_LDADD)

tests_shadow_test_as_SOURCES = tests/shadow/test_as.c
tests_shadow_test_as_CPPFLAGS = $(SHADOW_TEST_CPPFLAGS)
tests_shadow_test_as_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_shadow_test_as_LDADD = $(SHADOW_TEST_LDADD)

tests_shadow_test_pool_SOURCES = tests/shadow/test_pool.c
tests_shadow_test_pool_CPPFLAGS = $(SHADOW_TEST_CPPFLAGS)
tests_shadow_test_pool_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_shadow_test_pool_LDADD = $(SHADOW_TEST_LDADD)

tests_shadow_test_gmem_SOURCES = tests/shadow/test_gmem.c
tests_shadow_test_gmem_CPPFLAGS = $(SHADOW_TEST_CPPFLAGS)
tests_shadow_test_gmem_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_shadow_test_gmem_LDADD = $(SHADOW_TEST_LDADD)

tests_shadow_test_check_SOURCES = tests/shadow/test_check.c
tests_shadow_test_check_CPPFLAGS = $(SHADOW_TEST_CPPFLAGS)
tests_shadow_test_check_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_shadow_test_check_LDADD = $(SHADOW_TEST_LDADD)

tests_shadow_test_flush_SOURCES = tests/shadow/test_flush.c
tests_shadow_test_flush_CPPFLAGS = $(SHADOW_TEST_CPPFLAGS)
tests_shadow_test_flush_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_shadow_test_flush_LDADD = $(SHADOW_TEST_LDADD)

tests_shadow_test_owner_SOURCES = tests/shadow/test_owner.c
tests_shadow_test_owner_CPPFLAGS = $(SHADOW_TEST_CPPFLAGS)
tests_shadow_test_owner_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_shadow_test_owner_LDADD = $(SHADOW_TEST_LDADD)

tests_shadow_test_races_SOURCES = tests/shadow/test_races.c
tests_shadow_test_races_CPPFLAGS = $(SHADOW_TEST_CPPFLAGS)
tests_shadow_test_races_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_shadow_test_races_LDADD = $(SHADOW_TEST_LDADD)

tests_shadow_test_stress_SOURCES = tests/shadow/test_stress.c
tests_shadow_test_stress_CPPFLAGS = $(SHADOW_TEST_CPPFLAGS)
tests_shadow_test_stress_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_shadow_test_stress_LDADD = $(SHADOW_TEST_LDADD)

## Hostile classes 1 and 5 (issue 10, docs/hostile.md): a shadow pool
## written behind the library's back, and the destroy and teardown paths
## without deferred frees (run under ASan, also with CK_FORK=no).
SHADOW_HOSTILE_TESTS = \
	tests/shadow/test-corrupt \
	tests/shadow/test-teardown
check_PROGRAMS += $(SHADOW_HOSTILE_TESTS)
TESTS += $(SHADOW_HOSTILE_TESTS)

tests_shadow_test_corrupt_SOURCES = tests/shadow/test_corrupt.c
tests_shadow_test_corrupt_CPPFLAGS = $(SHADOW_TEST_CPPFLAGS)
tests_shadow_test_corrupt_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_shadow_test_corrupt_LDADD = $(SHADOW_TEST_LDADD)

tests_shadow_test_teardown_SOURCES = tests/shadow/test_teardown.c
tests_shadow_test_teardown_CPPFLAGS = $(SHADOW_TEST_CPPFLAGS)
tests_shadow_test_teardown_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_shadow_test_teardown_LDADD = $(SHADOW_TEST_LDADD)

# Every shadow suite with its tests in one process (CK_FORK=no): under ASan
# a use after free or a leak that one test leaves behind shows in the next,
# which check's fork per test would hide. .ci/run runs it in the ASan build.
check-shadow-nofork:
	CK_FORK=no $(MAKE) $(AM_MAKEFLAGS) check \
		TESTS='$(SHADOW_UNIT_TESTS) $(SHADOW_CONCURRENCY_TESTS) $(SHADOW_HOSTILE_TESTS)'
.PHONY: check-shadow-nofork
