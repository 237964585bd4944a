# vmm: the umbra program. Everything but main.c is a library, so that the
# tests can link the parts they check.

noinst_LIBRARIES += vmm/libumbra.a
# -I$(top_srcdir): the shadow library's header is "shadow/shadow.h".
vmm_libumbra_a_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir) $(LIBELF_CFLAGS)
vmm_libumbra_a_SOURCES = \
	vmm/cli.c vmm/cli.h \
	vmm/console.c vmm/console.h \
	vmm/counters.c vmm/counters.h \
	vmm/cpuid.c vmm/cpuid.h \
	vmm/diag.c vmm/diag.h \
	vmm/elf_load.c vmm/elf_load.h \
	vmm/exits.c vmm/exits.h \
	vmm/flush.c vmm/flush.h \
	vmm/guest_mem.c vmm/guest_mem.h \
	vmm/hypercall.c vmm/hypercall.h \
	vmm/json.c vmm/json.h \
	vmm/json_read.c vmm/json_read.h \
	vmm/kvm.c vmm/kvm.h \
	vmm/kvm_stats.c vmm/kvm_stats.h \
	vmm/kvm_kind.c vmm/kvm_kind.h \
	vmm/mmu.c vmm/mmu.h \
	vmm/output.c vmm/output.h \
	vmm/page_ops.c vmm/page_ops.h \
	vmm/park.c vmm/park.h \
	vmm/pvh.c vmm/pvh.h \
	vmm/report.c vmm/report.h \
	vmm/run_config.c vmm/run_config.h \
	vmm/sink.c vmm/sink.h \
	vmm/stat.c vmm/stat.h \
	vmm/stat_report.c vmm/stat_report.h \
	vmm/stats.c vmm/stats.h \
	vmm/stub.c vmm/stub.h vmm/stub_code.S vmm/stub_abi.h \
	vmm/trace.c vmm/trace.h \
	vmm/trace_write.c \
	vmm/vcpu.c vmm/vcpu.h \
	vmm/vm.c vmm/vm.h

# What a program that links vmm/libumbra.a needs after it.
VMM_LIBS = vmm/libumbra.a shadow/libshadow.a $(LIBELF_LIBS) -lm

bin_PROGRAMS += vmm/umbra
vmm_umbra_SOURCES = vmm/main.c
vmm_umbra_CPPFLAGS = $(AM_CPPFLAGS) \
	-DUMBRA_GUEST_INSTALL_PATH='"$(pkglibexecdir)/umbra-guest.elf"'
vmm_umbra_LDADD = $(VMM_LIBS)
