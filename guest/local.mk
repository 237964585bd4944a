# guest: the guest kernel image (guest/umbra-guest.elf) and the user program
# embedded in it (guest/umbra-user.elf, from the sources in guest/user/). Both
# are built with the freestanding GUEST_* flags only: host (sanitizer) flags
# never reach them.

pkglibexec_PROGRAMS += guest/umbra-guest.elf
noinst_PROGRAMS += guest/umbra-user.elf

guest_kernel_headers = guest/console.h guest/cpu.h guest/kparam.h guest/lapic.h guest/lib.h \
	guest/mm.h guest/pageops.h guest/paging.h guest/paging_backend.h guest/pgtable.h \
	guest/platform.h guest/proc.h guest/ptshare.h guest/sched.h guest/smp.h guest/spinlock.h \
	guest/syscall.h guest/trap.h guest/uapi.h guest/vm.h guest/x86.h

guest_umbra_guest_elf_SOURCES = guest/boot.S guest/entry.S guest/userimg.S \
	guest/main.c guest/console.c guest/lib.c guest/spinlock.c guest/platform.c \
	guest/kparam.c guest/pageops.c guest/lapic.c guest/smp.c guest/mm.c guest/paging.c \
	guest/paging_native.c guest/paging_shadow.c guest/ptshare.c guest/trap.c guest/vm.c \
	guest/proc.c guest/sched.c guest/syscall.c $(guest_kernel_headers)
guest_umbra_guest_elf_CPPFLAGS = $(GUEST_CPPFLAGS)
guest_umbra_guest_elf_CFLAGS = $(GUEST_CFLAGS)
# userimg.S includes the user program with .incbin, found through -I.
guest_umbra_guest_elf_CCASFLAGS = $(GUEST_CCASFLAGS) -I$(top_builddir)/guest
guest_umbra_guest_elf_LDFLAGS = $(GUEST_LINK_FLAGS) -Wl,-T,$(top_srcdir)/guest/kernel.ld
guest_umbra_guest_elf_LDADD =
EXTRA_guest_umbra_guest_elf_DEPENDENCIES = $(top_srcdir)/guest/kernel.ld
guest/umbra_guest_elf-userimg.$(OBJEXT): guest/umbra-user.elf

# User code runs at USER_BASE (512 GiB): position-independent code reaches
# it with %rip-relative addressing; -mcmodel=kernel would not.
guest_umbra_user_elf_SOURCES = guest/user/start.S guest/user/main.c guest/user/ulib.c \
	guest/lib.c guest/user/forkstorm.c guest/user/forktree.c guest/user/bigparent.c \
	guest/user/forkexit.c guest/user/sharerace.c guest/user/heapshrink.c guest/user/illegal.c \
	guest/user/panic.c guest/user/ulib.h guest/user/workloads.h
guest_umbra_user_elf_CPPFLAGS = $(GUEST_CPPFLAGS)
guest_umbra_user_elf_CFLAGS = $(GUEST_CFLAGS) -mcmodel=small -fpie
guest_umbra_user_elf_CCASFLAGS = $(GUEST_CCASFLAGS)
guest_umbra_user_elf_LDFLAGS = $(GUEST_LINK_FLAGS) -Wl,-S \
	-Wl,-T,$(top_srcdir)/guest/user/user.ld
guest_umbra_user_elf_LDADD =
EXTRA_guest_umbra_user_elf_DEPENDENCIES = $(top_srcdir)/guest/user/user.ld

EXTRA_DIST += guest/kernel.ld guest/user/user.ld
dist_noinst_DATA += docs/guest.md
