# shadow: the shadow MMU library (no KVM, no VMM: see shadow/shadow.h)
noinst_LIBRARIES += shadow/libshadow.a
noinst_HEADERS += shadow/shadow.h shadow/internal.h shadow/pte.h
shadow_libshadow_a_SOURCES = \
	shadow/shadow.c \
	shadow/pool.c \
	shadow/flush.c \
	shadow/frames.c \
	shadow/walk.c \
	shadow/tree.c \
	shadow/as.c \
	shadow/kernel.c \
	shadow/share.c \
	shadow/derive.c \
	shadow/fault.c \
	shadow/update.c \
	shadow/fork.c \
	shadow/check.c \
	shadow/stats.c
EXTRA_DIST += docs/shadow.md
