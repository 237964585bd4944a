/*
 * The native paging back-end: the kernel writes its own tables and loads
 * them into CR3. An entry that was present is flushed from this CPU's TLB
 * when it changes; no other CPU can hold it, because an address space is
 * loaded on one CPU at a time and a CPU that stops using one loads another
 * root (a CR3 load flushes all non-global entries; user entries are never
 * global).
 */
#include "console.h"
#include "cpu.h"
#include "paging_backend.h"
#include "x86.h"

static void native_set(struct pg_batch *b, uint64_t *slot, uint64_t va, unsigned level,
		       uint64_t value)
{
	uint64_t old = *slot;
	*slot = value;
	if (!(old & PTE_P) || mycpu()->loaded != b->as)
		return;
	if (level == 1)
		invlpg(va);
	else
		lcr3((uint64_t)b->as->root);
}

static void native_commit(struct pg_batch *b)
{
	(void)b;
}

static void native_flush(struct as *as)
{
	if (mycpu()->loaded != as)
		panic("flush of an address space not loaded on this CPU");
	lcr3((uint64_t)as->root);
}

static int native_create(struct as *as)
{
	(void)as;
	return 0;
}

/* Nothing to register: the copy has written both trees, as_fork flushed. */
static int native_fork(struct as *parent, struct as *child)
{
	(void)parent;
	(void)child;
	return 0;
}

static void native_destroy(struct as *as)
{
	for (unsigned i = 0; i < ncpu; i++)
		if (cpu_get(i)->loaded == as)
			panic("destroying an address space loaded on CPU %u", i);
}

static void native_load(struct cpu *c, struct as *as)
{
	lcr3(as ? (uint64_t)as->root : paging_kernel_root());
	c->loaded = as;
}

/* The tables allow the access, so the TLB held a stale entry. */
static bool native_hidden_fault(struct as *as, uint64_t va, uint64_t err)
{
	(void)as;
	(void)err;
	invlpg(va);
	return true;
}

const struct pg_backend pg_native = {
	.name = "native",
	.writes_tables = true,
	.set = native_set,
	.commit = native_commit,
	.flush = native_flush,
	.create = native_create,
	.fork = native_fork,
	.destroy = native_destroy,
	.load = native_load,
	.hidden_fault = native_hidden_fault,
};
