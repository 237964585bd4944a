# fuzz: libFuzzer harnesses. `make fuzz` builds them with clang (configure's
# CLANG, if it links libFuzzer; without it, it says so and builds nothing), `make fuzz-smoke` runs
# each one briefly from its corpus in fuzz/corpus/NAME/. docs/testing.md
# says how to run them long and how to add one.
#
# The normal build uses $(CC); libFuzzer needs the code under test
# instrumented too, so each harness is one clang command over its own
# sources and the sources of the code it tests. Adding a harness is one
# block like the ELF loader's below: its name in FUZZ_HARNESSES, its
# sources, and a rule that links them.

FUZZ_CPPFLAGS = -I$(top_builddir) -I$(top_srcdir)/include -I$(top_srcdir) -I$(top_srcdir)/vmm \
	$(LIBELF_CFLAGS)
FUZZ_CFLAGS = -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -pthread $(HOST_WARNINGS) $(WERROR_CFLAGS)
FUZZ_LINK = $(CLANG) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -o $@
# Rebuild a harness when any header or source of the VMM or the shadow
# library changes: more than each needs, but never too little.
FUZZ_DEPS = include/umbra/abi.h $(vmm_libumbra_a_SOURCES) $(shadow_libshadow_a_SOURCES)
# Runs per harness in `make fuzz-smoke`, from a fixed seed, and a cap on
# its time for a slow harness or machine, in seconds.
FUZZ_SMOKE_RUNS = 300000
FUZZ_SMOKE_SECONDS = 45

FUZZ_HARNESSES =

## The ELF loader (vmm/elf_load.c) on arbitrary bytes.
FUZZ_HARNESSES += fuzz/elf
fuzz_elf_src = $(srcdir)/fuzz/elf.c $(srcdir)/vmm/elf_load.c $(srcdir)/vmm/guest_mem.c
fuzz/elf: $(fuzz_elf_src) $(FUZZ_DEPS)
	$(AM_V_CCLD)$(FUZZ_LINK) $(fuzz_elf_src) $(LIBELF_LIBS)

## The hypercall dispatcher (vmm/hypercall.c) and the shadow MMU behind it
## (vmm/mmu.c, shadow/) on a fake vCPU: every VMM source but main.c, and
## the harness's own flush slot instead of vmm/flush.c, which needs KVM.
FUZZ_HARNESSES += fuzz/hypercall
fuzz_shadow_src = $(srcdir)/shadow/shadow.c $(srcdir)/shadow/pool.c $(srcdir)/shadow/flush.c \
	$(srcdir)/shadow/frames.c $(srcdir)/shadow/walk.c $(srcdir)/shadow/tree.c \
	$(srcdir)/shadow/as.c $(srcdir)/shadow/kernel.c $(srcdir)/shadow/share.c \
	$(srcdir)/shadow/derive.c $(srcdir)/shadow/fault.c $(srcdir)/shadow/update.c \
	$(srcdir)/shadow/fork.c $(srcdir)/shadow/check.c $(srcdir)/shadow/stats.c
# What both shadow harnesses decode their inputs with and check against.
fuzz_common_src = $(srcdir)/fuzz/input.c $(srcdir)/fuzz/oracle.c
fuzz_common_deps = $(fuzz_common_src) $(srcdir)/fuzz/input.h $(srcdir)/fuzz/oracle.h
fuzz_hypercall_src = $(srcdir)/fuzz/hypercall.c $(fuzz_common_src) \
	$(srcdir)/vmm/cli.c $(srcdir)/vmm/console.c $(srcdir)/vmm/counters.c \
	$(srcdir)/vmm/cpuid.c $(srcdir)/vmm/diag.c $(srcdir)/vmm/elf_load.c $(srcdir)/vmm/exits.c \
	$(srcdir)/vmm/guest_mem.c $(srcdir)/vmm/hypercall.c $(srcdir)/vmm/json.c \
	$(srcdir)/vmm/json_read.c $(srcdir)/vmm/kvm.c $(srcdir)/vmm/kvm_stats.c \
	$(srcdir)/vmm/kvm_kind.c $(srcdir)/vmm/mmu.c $(srcdir)/vmm/output.c \
	$(srcdir)/vmm/page_ops.c $(srcdir)/vmm/park.c $(srcdir)/vmm/pvh.c $(srcdir)/vmm/report.c \
	$(srcdir)/vmm/run_config.c $(srcdir)/vmm/sink.c $(srcdir)/vmm/stat.c \
	$(srcdir)/vmm/stat_report.c $(srcdir)/vmm/stats.c $(srcdir)/vmm/stub.c \
	$(srcdir)/vmm/stub_code.S $(srcdir)/vmm/trace.c $(srcdir)/vmm/trace_write.c \
	$(srcdir)/vmm/vcpu.c $(srcdir)/vmm/vm.c $(fuzz_shadow_src)
fuzz/hypercall: $(fuzz_hypercall_src) $(fuzz_common_deps) $(FUZZ_DEPS)
	$(AM_V_CCLD)$(FUZZ_LINK) $(fuzz_hypercall_src) $(LIBELF_LIBS) -lm

## The shadow library alone (shadow/), a program of its calls checked for
## soundness after every step.
FUZZ_HARNESSES += fuzz/shadow_ops
fuzz_shadow_ops_src = $(srcdir)/fuzz/shadow_ops.c $(srcdir)/fuzz/tree.c $(fuzz_common_src) \
	$(fuzz_shadow_src)
fuzz/shadow_ops: $(fuzz_shadow_ops_src) $(fuzz_common_deps) $(srcdir)/fuzz/tree.h $(FUZZ_DEPS)
	$(AM_V_CCLD)$(FUZZ_LINK) $(fuzz_shadow_ops_src)

EXTRA_DIST += fuzz/elf.c fuzz/hypercall.c fuzz/shadow_ops.c fuzz/input.c fuzz/input.h \
	fuzz/oracle.c fuzz/oracle.h fuzz/tree.c fuzz/tree.h fuzz/mkseeds.py fuzz/corpus
CLEANFILES += $(FUZZ_HARNESSES)
# What a failed fuzz-smoke left to look at. (A hook without a recipe, so that
# other parts can add theirs to clean-local.)
clean-local: clean-fuzz
clean-fuzz:
	rm -rf fuzz/smoke-*

fuzz:
	@if test -z "$(CLANG)"; then \
		echo "make fuzz: configure found no clang that links libFuzzer" \
			"(apt-get install clang libclang-rt-dev): no harness built"; \
	else \
		$(MAKE) $(AM_MAKEFLAGS) $(FUZZ_HARNESSES); \
	fi

# Each harness from its checked-in corpus, new inputs going to a scratch
# directory (the corpus stays as it is); a crash, leak, timeout or failed
# check fails the target and leaves the input in fuzz/smoke-NAME/.
fuzz-smoke: fuzz
	@test -n "$(CLANG)" || exit 0; \
	for h in $(FUZZ_HARNESSES); do \
		name=`basename $$h`; scratch=fuzz/smoke-$$name; \
		rm -rf $$scratch && mkdir -p $$scratch/new || exit 1; \
		echo "fuzz-smoke: $$h, $(FUZZ_SMOKE_RUNS) runs from $(srcdir)/fuzz/corpus/$$name"; \
		./$$h -seed=1 -runs=$(FUZZ_SMOKE_RUNS) -max_total_time=$(FUZZ_SMOKE_SECONDS) \
			-timeout=10 -artifact_prefix=$$scratch/ \
			$$scratch/new $(srcdir)/fuzz/corpus/$$name >$$scratch/log 2>&1 || { \
			tail -50 $$scratch/log; echo "fuzz-smoke: $$h failed; input in $$scratch/"; \
			exit 1; }; \
		grep '^Done' $$scratch/log; \
		rm -rf $$scratch; \
	done
.PHONY: fuzz fuzz-smoke clean-fuzz
