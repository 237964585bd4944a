/*
 * The harnesses' reference (oracle.h). The walk is deliberately naive and
 * shares no code with shadow/walk.c: it takes anything that is not
 * clearly a mapping as no mapping, so that it is an upper bound of what
 * the library, whose rules are stricter (aliases, loops, ownership), may
 * map.
 */
#include <stdio.h>
#include <string.h>

#include "oracle.h"

#include "shadow/internal.h"

#define GUEST_PAGE 4096ull
#define ADDR_MASK 0x000ffffffffff000ull
#define ADDR_MASK_2M 0x000fffffffe00000ull
#define RSVD_2M 0x00000000001fe000ull

static uint64_t guest_load(const struct oracle *o, uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, o->host + gpa, sizeof(v));
	return v;
}

void oracle__walk(const struct oracle *o, uint64_t root, uint64_t va, struct oracle_walk *w)
{
	uint64_t table = root & ADDR_MASK, e = 0;
	unsigned level;

	*w = (struct oracle_walk){.w = true, .u = true, .x = true};
	for (level = 4; level >= 1; level--) {
		if (table >= o->ram_size)
			return; /* a table outside RAM, or in the pool: nothing */
		e = guest_load(o, table + 8 * ((va >> (12 + 9 * (level - 1))) & 511));
		if (!(e & PTE_P))
			return;
		w->w = w->w && (e & PTE_W);
		w->u = w->u && (e & PTE_U);
		w->x = w->x && !(e & PTE_NX);
		if (level == 2 && (e & PTE_PS)) {
			if (e & RSVD_2M)
				return;
			w->frame = (e & ADDR_MASK_2M) + (va & 0x1ff000ull);
			break;
		}
		if (level >= 3 && (e & PTE_PS))
			return; /* 1 GiB pages and PS in a PML4 entry: none */
		table = e & ADDR_MASK;
		w->frame = table;
	}
	if (w->frame >= o->ram_size)
		return;
	w->dirty = e & PTE_D;
	w->present = true;
}

void oracle__guest_store(struct oracle *o, uint64_t gpa, uint64_t value)
{
	if (gpa >= o->ram_size)
		o->pool_written = true;
	else if (frame_level(o->sh, gpa & ~(GUEST_PAGE - 1)) != 0 && guest_load(o, gpa) != value)
		o->behind = true;
	memcpy(o->host + gpa, &value, sizeof(value));
}

void oracle__guest_page(struct oracle *o, uint64_t gpa)
{
	if (frame_level(o->sh, gpa & ~(GUEST_PAGE - 1)) != 0)
		o->behind = true;
}

/* The shadow's translation of va in `as` is justified by the guest walk. */
static bool justified(const struct oracle *o, const struct oracle_as *as, uint64_t va, char *why,
		      size_t why_len)
{
	struct shadow_translation t;
	struct oracle_walk w;
	unsigned slot = (va >> 39) & 511;

	if (!va_canonical(va) || slot == o->sh->cfg.kernel_slot ||
	    (o->sh->cfg.fixed_entry && slot == o->sh->cfg.fixed_slot))
		return true; /* the kernel mirror and the VMM's slot are no guest walk's */
	if (shadow_translate(o->sh, as->handle, va, &t) != 0)
		return true;
	oracle__walk(o, as->root, va, &w);
	if (!w.present || w.frame != (t.gpa & ~(GUEST_PAGE - 1)) || (t.writable && !w.w) ||
	    (t.writable && !w.dirty) || (t.user && !w.u) || (t.exec && !w.x)) {
		snprintf(why, why_len,
			 "handle %#x va %#llx: shadow maps %#llx%s%s%s, the guest walk of %#llx "
			 "gives %s %#llx%s%s%s%s",
			 as->handle, (unsigned long long)va, (unsigned long long)t.gpa,
			 t.writable ? " W" : "", t.user ? " U" : "", t.exec ? " X" : "",
			 (unsigned long long)as->root, w.present ? "" : "nothing, last",
			 (unsigned long long)w.frame, w.w ? " W" : "", w.u ? " U" : "",
			 w.x ? " X" : "", w.dirty ? " D" : "");
		return false;
	}
	return true;
}

bool oracle__check(struct oracle *o, const struct oracle_as *as, size_t nas, const uint64_t *va,
		   size_t nva, char *why, size_t why_len)
{
	char what[256];

	if (o->pool_written) {
		/* Any verdict will do; the checker must only stay in bounds. */
		shadow_check(o->sh, true, what, sizeof(what));
		return true;
	}
	if (shadow_broken(o->sh)) {
		snprintf(why, why_len,
			 "the shadow calls itself corrupt, nothing wrote the pool: %s",
			 shadow_broken(o->sh));
		return false;
	}
	if (shadow_check(o->sh, !o->behind, what, sizeof(what)) != 0) {
		snprintf(why, why_len, "shadow_check(%s): %s", o->behind ? "counts" : "sound",
			 what);
		return false;
	}
	if (o->behind)
		return true;
	for (size_t i = 0; i < nas; i++) {
		for (size_t j = 0; j < nva; j++) {
			if (!justified(o, &as[i], va[j], why, why_len))
				return false;
		}
	}
	return true;
}
