/*
 * The guest's tables, walked by the library itself (it never takes the
 * guest's word for what an entry says). Every entry is untrusted: a table
 * pointer must lead to a RAM page that is not already a table on the same
 * walk, a leaf must map RAM (never the pool), and a user leaf must not map
 * a table of its own walk, which would let the guest write its tables
 * behind the VMM's back. The kernel slot's leaves are exempt from that
 * last rule: the kernel's identity map covers all of RAM, its own tables
 * included, by design.
 *
 * Errors: -EFAULT an entry points outside RAM or into the pool; -ELOOP a
 * table on its own walk path; -EINVAL a PS bit in a PML4 entry, a 1 GiB
 * page, a misaligned 2 MiB frame or root.
 */
#include <errno.h>

#include "internal.h"

bool va_kernel(const struct shadow *sh, uint64_t va)
{
	return pt_index(va, 4) == sh->cfg.kernel_slot;
}

/* The VMM's own slot (cfg.fixed_slot), when it has one. */
bool va_fixed(const struct shadow *sh, uint64_t va)
{
	return sh->cfg.fixed_entry && pt_index(va, 4) == sh->cfg.fixed_slot;
}

int groot_check(const struct shadow *sh, uint64_t root)
{
	if (root & (PAGE_SIZE - 1))
		return -EINVAL;
	return gmem_table(sh, root) ? 0 : -EFAULT;
}

/*
 * Checks present entry e at `level`, which lives (or is about to live) in
 * table path[level] of a walk through path[4..level+1].
 */
int gentry_check(const struct shadow *sh, unsigned level, uint64_t e, const uint64_t *path,
		 bool kernel)
{
	uint64_t frame = e & PTE_FRAME, size = PAGE_SIZE;
	unsigned l;

	if (level >= 3 && (e & PTE_PS))
		return -EINVAL; /* reserved in a PML4 entry; a 1 GiB page in a PDPT */
	if (level > 1 && !(e & PTE_PS)) {
		if (!gmem_is_ram(sh, frame, PAGE_SIZE))
			return -EFAULT;
		for (l = level; l <= 4; l++) {
			if (path[l] == frame)
				return -ELOOP;
		}
		return 0;
	}
	if (level == 2) {
		if (e & PTE_RSVD_2M)
			return -EINVAL;
		frame = e & PTE_FRAME_2M;
		size = HUGE_SIZE;
	}
	if (!gmem_is_ram(sh, frame, size))
		return -EFAULT;
	return !kernel && gleaf_maps_path(level, e, path) ? -ELOOP : 0;
}

/*
 * Walks the entries for va at levels 4 down to `stop` (5: none, only the
 * root is checked), stopping early at an entry that is not present or is a
 * leaf. On return w->level is the last level read (5 if none) and
 * w->table[w->level - 1] is valid when entry[w->level] is a present table.
 */
int gwalk_region(const struct shadow *sh, uint64_t root, uint64_t va, unsigned stop,
		 struct gwalk *w)
{
	unsigned l;
	uint64_t e;
	int rc;

	rc = groot_check(sh, root);
	if (rc)
		return rc;
	w->table[4] = root;
	w->level = 5;
	w->w = w->u = w->x = true;
	w->kernel = va_kernel(sh, va);
	for (l = 4; l >= stop; l--) {
		w->slot[l] = gmem_table(sh, w->table[l]) + pt_index(va, l);
		e = pte_load(w->slot[l]);
		w->entry[l] = e;
		w->level = l;
		if (!(e & PTE_P))
			return 0;
		rc = gentry_check(sh, l, e, w->table, w->kernel);
		if (rc)
			return rc;
		w->w = w->w && (e & PTE_W);
		w->u = w->u && (e & PTE_U);
		w->x = w->x && !(e & PTE_NX);
		if (l == 2 && (e & PTE_PS))
			return 0;
		w->table[l - 1] = e & PTE_FRAME;
	}
	return 0;
}

/* The leaf for va (which must be in the 2 MiB region w was walked for,
 * with stop == 2). */
int gwalk_leaf(const struct shadow *sh, const struct gwalk *w, uint64_t va, struct gleaf *l)
{
	uint64_t e = w->entry[w->level];
	int rc;

	l->present = false;
	l->level = w->level;
	if (!(e & PTE_P))
		return 0;
	l->w = w->w;
	l->u = w->u;
	l->x = w->x;
	if (e & PTE_PS) {
		l->frame = (e & PTE_FRAME_2M) + (va & (HUGE_SIZE - PAGE_SIZE));
		l->slot = w->slot[2];
	} else {
		l->slot = gmem_table(sh, w->table[1]) + pt_index(va, 1);
		e = pte_load(l->slot);
		l->level = 1;
		if (!(e & PTE_P))
			return 0;
		rc = gentry_check(sh, 1, e, w->table, w->kernel);
		if (rc)
			return rc;
		l->frame = e & PTE_FRAME;
		l->w = l->w && (e & PTE_W);
		l->u = l->u && (e & PTE_U);
		l->x = l->x && !(e & PTE_NX);
	}
	l->entry = e;
	l->present = true;
	return 0;
}

int gwalk_va(const struct shadow *sh, uint64_t root, uint64_t va, struct gleaf *l)
{
	struct gwalk w;
	int rc;

	rc = gwalk_region(sh, root, va, 2, &w);
	if (rc)
		return rc;
	return gwalk_leaf(sh, &w, va, l);
}

int shadow_walk_guest(struct shadow *sh, uint64_t guest_root, uint64_t va, struct shadow_walk *out)
{
	struct gleaf l;
	int rc;

	if (!va_canonical(va))
		return -EINVAL;
	rc = gwalk_va(sh, guest_root, va, &l);
	if (rc)
		return rc;
	*out = (struct shadow_walk){.present = l.present, .level = l.level};
	if (l.present) {
		out->gpa = l.frame | (va & (PAGE_SIZE - 1));
		out->writable = l.w;
		out->user = l.u;
		out->exec = l.x;
		out->accessed = l.entry & PTE_A;
		out->dirty = l.entry & PTE_D;
	}
	return 0;
}
