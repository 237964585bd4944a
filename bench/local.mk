# bench: benchmarks (not tests). bench/shadow-fork measures one fork of the
# shadow MMU by policy; docs/shadow.md has its numbers and how to run it.
noinst_PROGRAMS += bench/shadow-fork
bench_shadow_fork_SOURCES = bench/shadow_fork.c
bench_shadow_fork_CPPFLAGS = $(SHADOW_TEST_CPPFLAGS)
bench_shadow_fork_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
bench_shadow_fork_LDADD = tests/shadow/libshadowfx.a shadow/libshadow.a $(CHECK_LIBS)

# bench/forkbench.py runs the fork-storm matrix on umbra (modes x parent
# sizes x workloads); docs/results.md has its numbers and how to run it.
# bench/soak.py is the long share-mode fork storm under --check (issue 10).
dist_noinst_SCRIPTS += bench/forkbench.py bench/soak.py bench/goals.py bench/phases.py

# bench/traceplot.py draws an umbra run --trace file with gnuplot (the
# picture in docs/stats.md); bench/tracecost.py measures what --trace costs.
dist_noinst_SCRIPTS += bench/traceplot.py bench/tracecost.py

# bench/linuxfork: Linux's own fork latency at a parent size, the baseline
# of forkbench.py --linux; the static one runs in the nested initramfs
# (forkbench.py --nested), built only when asked for.
noinst_PROGRAMS += bench/linuxfork
bench_linuxfork_SOURCES = bench/linuxfork.c
EXTRA_PROGRAMS += bench/linuxfork-static
bench_linuxfork_static_SOURCES = bench/linuxfork.c
bench_linuxfork_static_LDFLAGS = -static
CLEANFILES += bench/linuxfork-static
