/* Guest-side table building for the soundness harness (tree.h). */
#include <string.h>

#include "tree.h"

#include "oracle.h"
#include "shadow/pte.h"

static bool in_ram(const struct fuzz_tree *t, uint64_t table)
{
	return table < t->o->ram_size;
}

static uint64_t load(const struct fuzz_tree *t, uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, t->o->host + gpa, sizeof(v));
	return v;
}

uint64_t fuzz_tree__frame(struct fuzz_tree *t)
{
	uint64_t gpa;

	if (t->next >= t->end)
		return 0;
	gpa = t->next;
	t->next += PAGE_SIZE;
	oracle__guest_page(t->o, gpa);
	memset(t->o->host + gpa, 0, PAGE_SIZE);
	return gpa;
}

bool fuzz_tree__entry(const struct fuzz_tree *t, uint64_t root, uint64_t va, unsigned level,
		      uint64_t *gpa, uint64_t *entry)
{
	uint64_t table = root & PTE_FRAME, e;

	for (unsigned l = 4; l >= level; l--) {
		if (!in_ram(t, table))
			return false;
		*gpa = table + 8 * pt_index(va, l);
		e = load(t, *gpa);
		if (l == level) {
			*entry = e;
			return true;
		}
		if (!(e & PTE_P) || (e & PTE_PS))
			return false;
		table = e & PTE_FRAME;
	}
	return false;
}

void fuzz_tree__map(struct fuzz_tree *t, uint64_t root, uint64_t va, unsigned level, uint64_t leaf)
{
	uint64_t table = root & PTE_FRAME, slot, e;

	for (unsigned l = 4; l > level; l--) {
		if (!in_ram(t, table))
			return;
		slot = table + 8 * pt_index(va, l);
		e = load(t, slot);
		if (!(e & PTE_P)) {
			e = fuzz_tree__frame(t);
			if (!e)
				return;
			e |= PTE_P | PTE_W | PTE_U | PTE_A;
			oracle__guest_store(t->o, slot, e);
		} else if (e & PTE_PS) {
			return;
		}
		table = e & PTE_FRAME;
	}
	if (in_ram(t, table))
		oracle__guest_store(t->o, table + 8 * pt_index(va, level), leaf);
}

static uint64_t copy_tree(struct fuzz_tree *t, uint64_t table, unsigned level, unsigned share)
{
	uint64_t copy = fuzz_tree__frame(t), e, sub;

	if (!copy)
		return 0;
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		e = load(t, table + 8 * i);
		if (!(e & PTE_P) || (level == 4 && i == t->kernel_slot)) {
			/* as it is: nothing, or the kernel slot all share */
		} else if (level > 1 && !(e & PTE_PS) && level - 1 == share) {
			e &= ~PTE_W; /* a link to a table both trees share */
		} else if (level > 1 && !(e & PTE_PS) && in_ram(t, e & PTE_FRAME)) {
			sub = copy_tree(t, e & PTE_FRAME, level - 1, share);
			if (!sub)
				return 0;
			e = sub | (e & ~PTE_FRAME);
		} else if (level == 1 || (e & PTE_PS)) {
			if (e & PTE_U)
				e &= ~PTE_W;
		}
		if (e)
			oracle__guest_store(t->o, copy + 8 * i, e);
	}
	return copy;
}

uint64_t fuzz_tree__fork(struct fuzz_tree *t, uint64_t root, unsigned share)
{
	if (!in_ram(t, root & PTE_FRAME))
		return 0;
	return copy_tree(t, root & PTE_FRAME, 4, share);
}

uint64_t fuzz_tree__copy_table(struct fuzz_tree *t, uint64_t table, unsigned level)
{
	uint64_t copy, e;

	if (!in_ram(t, table & PTE_FRAME))
		return 0;
	copy = fuzz_tree__frame(t);
	if (!copy)
		return 0;
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		e = load(t, (table & PTE_FRAME) + 8 * i);
		if ((e & PTE_P) && (level > 1 || (e & PTE_U)))
			e &= ~PTE_W;
		if (e)
			oracle__guest_store(t->o, copy + 8 * i, e);
	}
	return copy;
}
