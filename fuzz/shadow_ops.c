/*
 * A soundness fuzzer of the shadow library (shadow/shadow.h): the input
 * is a program of its calls (create, destroy, fork in each policy, switch,
 * unload, fault, updates at every level, the flush calls, the inspection
 * calls) from two vCPUs, over guest tables that the program also builds
 * and writes: page by page, or as the guest kernel does for a fork (a
 * child tree sharing tables at one level or none) and for an unshare.
 *
 * After every step the library's own checker runs with `sound`, and each
 * live address space is compared with a reference walk of its guest
 * tables (fuzz/oracle.h) at the VAs the program used: a shadow that maps
 * what the guest's tables do not allow, or counts that do not add up,
 * aborts, unless the program wrote a table the library holds without
 * telling it (then only the counts must hold, and memory safety).
 * docs/testing.md, "Fuzzing", says more.
 *
 * The input (values are tagged, fuzz/input.h): a header byte (ops_init),
 * then steps, the low four bits of the step byte saying which and bit 4
 * the vCPU; "as" is a byte that picks one of the live address spaces:
 *   0  create: root            7  updates: handle, n (u8, 0..4), then per
 *   1  destroy: handle            update va, value, level (u8), flags (u8)
 *   2  fork: handle, child root, 8  flush: u8 (bit 0: take, else begin+done)
 *      policy (u8)             9  store into RAM: page, index (u16), value
 *   3  fork of a built child:  10  unshare: as, how (u8), va
 *      as, share (u8), policy  11  inspect: handle, va, root
 *   4  switch: handle         12+ map: a byte (an as, or bit 7: a root
 *   5  unload                      frame, u16, follows), va, entry (u16,
 *   6  fault: handle, va,          u8: tag 5's payload)
 *      access (u8)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/input.h"
#include "fuzz/oracle.h"
#include "fuzz/tree.h"
#include "shadow/pte.h"
#include "shadow/shadow.h"

/* RAM at 0 like umbra's (frame 0 included), the pool above it; the top
 * quarter of RAM is where the tree helpers take their frames. */
#define OPS_RAM (2ull << 20)
#define OPS_POOL (2ull << 20)
#define OPS_TREE_FRAMES (OPS_RAM / 4)
#define OPS_CPUS 2u
#define OPS_MAX_AS 8u
#define KERNEL_SLOT 0u
#define FIXED_SLOT 511u

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Guest memory, allocated once: per input it is only cleared. */
static uint8_t *mem;

struct ops {
	struct shadow *sh;
	struct oracle o;
	struct fuzz_tree tree;
	struct fuzz_input in;
	struct oracle_as as[OPS_MAX_AS];
	size_t nas;
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	mem = aligned_alloc(2u << 20, OPS_RAM + OPS_POOL);
	if (!mem)
		abort();
	return 0;
}

/* The library's flush callback: there is no TLB here, only the limbo. */
static int ops_flush(void *arg)
{
	struct ops *s = arg;

	shadow_flush_done(s->sh, shadow_flush_begin(s->sh));
	return 0;
}

/*
 * The header byte: bits 0-1 the flush mode (GLOBAL, TLB, COPY, COPY), bit
 * 2 deferred frees, bit 3 poison, bit 4 the fixed slot, bit 5 no flush
 * callback. 0, or -1 if the library refuses the configuration.
 */
static int ops_init(struct ops *s, uint8_t config)
{
	static const enum shadow_flush_mode modes[] = {SHADOW_FLUSH_GLOBAL, SHADOW_FLUSH_TLB,
						       SHADOW_FLUSH_COPY, SHADOW_FLUSH_COPY};
	struct shadow_config cfg = {
		.mem = mem,
		.mem_gpa = 0,
		.mem_size = OPS_RAM + OPS_POOL,
		.pool_gpa = OPS_RAM,
		.pool_size = OPS_POOL,
		.kernel_slot = KERNEL_SLOT,
		.fixed_slot = FIXED_SLOT,
		/* a table above the pool, as umbra's flush stub is */
		.fixed_entry = config & 0x10 ? (OPS_RAM + OPS_POOL) | PTE_P | PTE_W | PTE_A : 0,
		.max_as = OPS_MAX_AS,
		.max_cpus = OPS_CPUS,
		.poison = config & 0x8,
		.flush_mode = modes[config & 3],
		.defer_free = config & 0x4,
		.flush = config & 0x20 ? NULL : ops_flush,
		.flush_arg = s,
	};

	memset(mem, 0, OPS_RAM);
	if (shadow_create(&cfg, &s->sh) != 0)
		return -1;
	s->o = (struct oracle){
		.sh = s->sh, .host = mem, .ram_size = OPS_RAM, .pool_size = OPS_POOL};
	s->tree = (struct fuzz_tree){
		.o = &s->o,
		.next = OPS_RAM - OPS_TREE_FRAMES,
		.end = OPS_RAM,
		.kernel_slot = KERNEL_SLOT,
	};
	return 0;
}

static void as_add(struct ops *s, uint32_t handle, uint64_t root)
{
	fuzz_input__handle(&s->in, handle);
	if (s->nas < OPS_MAX_AS)
		s->as[s->nas++] = (struct oracle_as){.handle = handle, .root = root};
}

static void as_remove(struct ops *s, uint64_t handle)
{
	for (size_t i = 0; i < s->nas; i++) {
		if (s->as[i].handle == handle) {
			s->as[i] = s->as[--s->nas];
			return;
		}
	}
}

/* The address space the byte names among those alive, or NULL. */
static const struct oracle_as *as_pick(struct ops *s, uint8_t b)
{
	return s->nas ? &s->as[b % s->nas] : NULL;
}

static uint32_t handle_arg(struct ops *s)
{
	return (uint32_t)fuzz_input__value(&s->in);
}

static void op_fork(struct ops *s, unsigned cpu, uint32_t parent, uint64_t child_root)
{
	uint32_t child = 0;
	int policy = fuzz_input__u8(&s->in) % 3;

	if (shadow_as_fork(s->sh, cpu, parent, child_root, (enum shadow_policy)policy, &child) == 0)
		as_add(s, child, child_root);
}

/* A fork of a live address space with a child tree built the guest's way. */
static void op_fork_built(struct ops *s, unsigned cpu)
{
	const struct oracle_as *p = as_pick(s, fuzz_input__u8(&s->in));
	unsigned share = fuzz_input__u8(&s->in) % 3;
	uint64_t child_root;

	if (!p)
		return;
	child_root = fuzz_tree__fork(&s->tree, p->root, share);
	if (child_root)
		op_fork(s, cpu, p->handle, child_root);
}

static void op_update(struct ops *s, unsigned cpu)
{
	struct shadow_update u[4];
	uint32_t h = handle_arg(s);
	size_t n = fuzz_input__u8(&s->in) % 5;
	int err;

	for (size_t i = 0; i < n; i++) {
		u[i].va = fuzz_input__value(&s->in);
		u[i].value = fuzz_input__value(&s->in);
		u[i].level = fuzz_input__u8(&s->in) % 6;
		u[i].flags = fuzz_input__u8(&s->in) % 3;
	}
	if (shadow_update(s->sh, cpu, h, u, n, &err) > (int)n)
		abort();
}

/*
 * The guest's unshare of the table at `level` (1 or 2) on va's walk: a
 * copy, linked writable in one update; or, in place, the same link made
 * writable with WP_BELOW (what the last sharer does).
 */
static void op_unshare(struct ops *s, unsigned cpu)
{
	const struct oracle_as *a = as_pick(s, fuzz_input__u8(&s->in));
	uint8_t how = fuzz_input__u8(&s->in);
	uint64_t va = fuzz_input__value(&s->in), gpa, link, copy;
	struct shadow_update u = {.va = va, .level = 2 + (how & 1)};
	int err;

	if (!a || !fuzz_tree__entry(&s->tree, a->root, va, u.level, &gpa, &link) ||
	    !(link & PTE_P) || (link & PTE_PS))
		return;
	if (how & 2) {
		u.value = link | PTE_W;
		u.flags = SHADOW_UPDATE_WP_BELOW;
	} else {
		copy = fuzz_tree__copy_table(&s->tree, link & PTE_FRAME, u.level - 1);
		if (!copy)
			return;
		u.value = copy | (link & ~PTE_FRAME) | PTE_W;
	}
	shadow_update(s->sh, cpu, a->handle, &u, 1, &err);
}

/* The calls that only look: they must stay in bounds and agree. */
static void op_inspect(struct ops *s, unsigned cpu)
{
	uint32_t h = handle_arg(s);
	uint64_t va = fuzz_input__value(&s->in), root = fuzz_input__value(&s->in);
	struct shadow_translation t;
	struct shadow_stats st;
	struct shadow_walk w;
	char why[256];

	shadow_translate(s->sh, h, va, &t);
	shadow_pmd_count(s->sh, h, va);
	shadow_walk_guest(s->sh, root, va, &w);
	shadow_stats_read_cpu(s->sh, cpu, &st);
	if (shadow_check_as(s->sh, h, why, sizeof(why)) == -EUCLEAN && !s->o.behind) {
		fprintf(stderr, "shadow_check_as(%#x): %s\n", h, why);
		abort();
	}
}

/* One step; a handle-taking call reads its handle as a value. */
static void op_step(struct ops *s, uint8_t op)
{
	struct fuzz_input *in = &s->in;
	unsigned cpu = (op >> 4) & 1;
	struct shadow_flush f;
	uint64_t root, va, x;
	uint32_t h = 0;

	switch (op & 15) {
	case 0:
		root = fuzz_input__value(in);
		if (shadow_as_create(s->sh, cpu, root, &h) == 0)
			as_add(s, h, root);
		break;
	case 1:
		h = handle_arg(s);
		if (shadow_as_destroy(s->sh, cpu, h) == 0)
			as_remove(s, h);
		break;
	case 2:
		h = handle_arg(s);
		root = fuzz_input__value(in);
		op_fork(s, cpu, h, root);
		break;
	case 3:
		op_fork_built(s, cpu);
		break;
	case 4:
		h = handle_arg(s);
		shadow_switch(s->sh, cpu, h, &root);
		break;
	case 5:
		shadow_unload(s->sh, cpu);
		break;
	case 6:
		h = handle_arg(s);
		va = fuzz_input__value(in);
		shadow_fault(s->sh, cpu, h, va,
			     fuzz_input__u8(in) & (SHADOW_ACCESS_WRITE | SHADOW_ACCESS_USER |
						   SHADOW_ACCESS_FETCH));
		break;
	case 7:
		op_update(s, cpu);
		break;
	case 8:
		if (fuzz_input__u8(in) & 1)
			shadow_flush_take(s->sh, cpu, &f);
		else
			shadow_flush_done(s->sh, shadow_flush_begin(s->sh));
		break;
	case 9:
		x = fuzz_input__u16(in) % (OPS_RAM / 4096) * 4096;
		x += fuzz_input__u16(in) % 512 * 8;
		oracle__guest_store(&s->o, x, fuzz_input__value(in));
		break;
	case 10:
		op_unshare(s, cpu);
		break;
	case 11:
		op_inspect(s, cpu);
		break;
	default: {
		/* map a page in a live tree, or under any root */
		uint8_t b = fuzz_input__u8(in);
		const struct oracle_as *a = as_pick(s, b);

		root = b & 0x80 || !a ? fuzz_input__frame(in) : a->root;
		va = fuzz_input__value(in);
		x = fuzz_input__entry(in);
		fuzz_tree__map(&s->tree, root, va, x & PTE_PS ? 2 : 1, x);
		break;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ops s;
	char why[512];

	memset(&s, 0, sizeof(s));
	fuzz_input__init(&s.in, data, size);
	s.in.ram_size = OPS_RAM;
	s.in.pool_size = OPS_POOL;
	s.in.kernel_slot = KERNEL_SLOT;
	s.in.fixed_slot = FIXED_SLOT;
	if (ops_init(&s, fuzz_input__u8(&s.in)) < 0)
		return 0;
	while (!fuzz_input__done(&s.in)) {
		uint8_t op = fuzz_input__u8(&s.in);

		op_step(&s, op);
		if (!oracle__check(&s.o, s.as, s.nas, s.in.va, s.in.nva, why, sizeof(why))) {
			fprintf(stderr, "broken after step %#x: %s\n", op, why);
			abort();
		}
	}
	shadow_destroy(s.sh);
	return 0;
}
