# tests/e2e: the guest kernel on umbra in the shadow modes, end to end.
E2E_TESTS = tests/e2e/counts.py tests/e2e/flushes.py tests/e2e/concurrent.py
TESTS += $(E2E_TESTS)
KVM_TESTS += $(E2E_TESTS)
EXTRA_DIST += $(E2E_TESTS) tests/e2e/e2e.py
# Two vCPUs sharing pmd pages: the TSan build runs this one too.
CONCURRENCY_TESTS += tests/e2e/concurrent.py
