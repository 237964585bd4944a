/*
 * A spin model of the sharing protocol of shadow/share.c: pmd_share,
 * pmd_unshare, pmd_put_last, fill_shared and as_destroy, run by one process
 * per address space, checked exhaustively against the invariants of
 * shadow/check.c and the soundness property the protocol exists for.
 * docs/shadow.md ("The model") says what is modelled, what is left out,
 * and what each variant's counterexample shows.
 *
 * One 2 MiB region: every address space has one PD entry, and the pmd page
 * it points at has NENT leaves. A leaf holds the guest frame it maps (0: not
 * present), and so does a guest entry. Write permission lives in the PD
 * entry, as in the code (a leaf's W follows its guest's and is left out).
 * TLBs, flushes, limbo and the tables above the PD entry are left out.
 *
 * Granularity: every access to state that another thread may touch at the
 * same time (a count, a leaf of a page others may hold, the pool, the handle
 * slots) is a step of its own. What only the acting thread can see (its own
 * PD entry and guest entries, a copy not yet installed, the frame map
 * counters, which nothing reads) rides along with the step next to it.
 *
 * Broken variants, one -D each; each must give a counterexample:
 *   BROKEN_UNSHARE_IN_PLACE  pmd_unshare re-derives in place at any count
 *   BROKEN_SHARE_NO_WP       pmd_share at count 1 leaves the parent writable
 *   BROKEN_RELAXED_PUT       no release on the unsharer's decrement (and a
 *                            relaxed count == 1 test): other threads may see
 *                            the decrement before the copy has read the page
 *   BROKEN_NO_ACQUIRE        no acquire after the decrement that reached
 *                            zero: the freer's reads of the leaves may be
 *                            satisfied before it
 * OBSERVABLE_ONLY keeps only the checks of what a guest or the pool would
 * notice (see the never claim). PROBE=n (one of the races below) fails
 * where that race happens, to show that the search reaches it.
 */

#define NAS	4	/* address spaces; share+share needs 2 parents and 2 children */
#define NPMD	3	/* pmd pages; two unsharers that both copy need 3 */
#define NENT	2	/* leaves per pmd page */
#define NFR	2	/* guest frames 1..NFR; 0 is "not present" */
#ifndef OPS
#define OPS	5	/* operations, all address spaces together, destroys not counted */
#endif

/* The invariants spell their sums out for these sizes. */
#if NAS != 4 || NPMD != 3 || NENT != 2 || NFR != 2
#error "the invariants are unrolled for NAS 4, NPMD 3, NENT 2, NFR 2"
#endif

/* The seed's races (docs/shadow.md, "The races") as PROBE values */
#define SHARE_SHARE		1	/* two shares of a page between count read and increment */
#define SHARE_UNSHARE		2	/* a share increments while an unshare of the page runs */
#define UNSHARE_BOTH_COPY	3	/* two unsharers are copying the same page */
#define COPY_LAST		4	/* an unsharer that copied finds itself last and frees */
#define FILL_RACED		5	/* a shared fill lost its compare-and-swap */
#ifdef PROBE
#define reached(what, cond)	assert(PROBE != what || !(cond))
#else
#define reached(what, cond)	skip
#endif

/* Handle slots (as_state) */
#define AS_FREE		0
#define AS_CLAIMED	1	/* as_claim: a fork is building it */
#define AS_LIVE		2	/* as_publish */
#define AS_DEAD		3	/* destroyed; slots are not reused */

byte budget = OPS;		/* operations left to start */

/* struct as: each address space */
byte as_state[NAS];
bit as_lock[NAS];		/* struct as.lock, held while an operation runs on it */
bit pd_p[NAS];			/* the PD entry is present, */
bit pd_w[NAS];			/* writable, */
byte pd_page[NAS];		/* and points at this pmd page */
byte gentry[NAS * NENT];	/* the guest's leaves: frame, 0 not present */

/* The pool: pmd pages (struct spage), their counts and leaves */
byte count[NPMD];		/* the atomic count: PD entries pointing here */
bit used[NPMD];			/* taken (1) or free (0) */
byte leaf[NPMD * NENT];		/* shadow leaves: frame, 0 not present */
byte nfree = NPMD;		/* free pages, */
byte reserved;			/* of which promised (pool_reserve) */

byte frame_maps[NFR + 1];	/* per guest frame: leaves of live pmd pages that map it */

/* Ghosts: operations in flight, for the invariants and probes only. */
byte held[NPMD];		/* references no PD entry stands for: a copy not installed yet, an old page not put yet */
byte frame_held[NFR + 1];	/* frame references taken for a leaf not stored yet */
byte copying[NPMD];		/* unsharers still reading the page for their copy */
byte sharing[NPMD];		/* shares between their count read and their increment */
byte unsharing[NPMD];		/* unsharers between their count test and their put */

#define LEAF(p, j)	leaf[(p) * NENT + (j)]
#define GENTRY(a, j)	gentry[(a) * NENT + (j)]
#define PD_AT(a, p)	(pd_p[a] && pd_page[a] == (p))
#define SHARERS(p)	(PD_AT(0, p) + PD_AT(1, p) + PD_AT(2, p) + PD_AT(3, p))

/* 1: a page's count is the PD entries that point at it, plus references in
 * flight; a free page has none. */
#define COUNT_OK(p)	(count[p] == SHARERS(p) + held[p] && (used[p] || count[p] == 0))
/* 2: a page with count > 1 is read-only in every PD entry pointing at it. */
#define READONLY_OK(a)	(!pd_p[a] || !pd_w[a] || count[pd_page[a]] <= 1)
/* 3: no PD entry points at a freed page. */
#define REACHABLE_OK(a)	(!pd_p[a] || used[pd_page[a]])
/* 4: a frame's map count is the leaves of live pages that map it, plus
 * references taken for leaves not stored yet. */
#define MAPS(p, f)	((used[p] && LEAF(p, 0) == (f)) + (used[p] && LEAF(p, 1) == (f)))
#define FRAME_OK(f)	(frame_maps[f] == MAPS(0, f) + MAPS(1, f) + MAPS(2, f) + frame_held[f])
/* 5, soundness: a writable path leads only to a page that no other address
 * space points at or is still copying. */
#define USERS(p)	(SHARERS(p) + copying[p])
#define WRITABLE_OK(a)	(!pd_p[a] || !pd_w[a] || USERS(pd_page[a]) == 1)
/* 6, isolation: a running address space (live, not inside an operation)
 * sees through its shadow only frames that its own guest entries map. */
#define SEES_OWN(a, j)	(LEAF(pd_page[a], j) == 0 || LEAF(pd_page[a], j) == GENTRY(a, j))
#define ISOLATED(a)	(as_state[a] != AS_LIVE || as_lock[a] || !pd_p[a] || \
			 (SEES_OWN(a, 0) && SEES_OWN(a, 1)))

/*
 * Checked in every reachable state, one assertion per option. With
 * OBSERVABLE_ONLY, only what a guest or the pool would notice: 3, 4, 6 and
 * the assertions in the operations but "no write to a shared page"; a
 * broken variant must fail that way too, so that its counterexample shows
 * the harm and not only a broken rule.
 */
never {
	do
#ifndef OBSERVABLE_ONLY
	:: assert(COUNT_OK(0) && COUNT_OK(1) && COUNT_OK(2))
	:: assert(READONLY_OK(0) && READONLY_OK(1) && READONLY_OK(2) && READONLY_OK(3))
	:: assert(WRITABLE_OK(0) && WRITABLE_OK(1) && WRITABLE_OK(2) && WRITABLE_OK(3))
#endif
	:: assert(REACHABLE_OK(0) && REACHABLE_OK(1) && REACHABLE_OK(2) && REACHABLE_OK(3))
	:: assert(FRAME_OK(1) && FRAME_OK(2))
	:: assert(ISOLATED(0) && ISOLATED(1) && ISOLATED(2) && ISOLATED(3))
	od
}

/*
 * as_get: an operation takes its address space's lock, and no other lock
 * of any address space. Each address space has one process, which runs its
 * operations one at a time in any order: the orders its lock allows; so the
 * lock is always free here. It tells the isolation invariant when the
 * address space is inside an operation.
 */
inline as_lock_get(a)
{
	assert(!as_lock[a]);
	as_lock[a] = 1
}

/* The first step of every operation but destroy: it must be within the
 * budget. */
inline op_begin(a)
{
	budget > 0;
	budget--;
	as_lock_get(a)
}

/* Before a read of a leaf: the page is not free (no use after free). */
inline leaf_load_check(p)
{
	assert(used[p])
}

/* sleaf_set (tree.c): a plain store into a page nobody else holds (no
 * write to a shared page); the new frame's reference before the store, the
 * old one's after. No other thread can change the leaf between the load
 * and the store, so both are one step. */
inline sleaf_set(p, j, val)
{
	leaf_load_check(p);
#ifndef OBSERVABLE_ONLY
	assert(count[p] == 1);
#endif
	old = LEAF(p, j);
	if
	:: val != 0 -> frame_maps[val]++
	:: else
	fi;
	LEAF(p, j) = val;
	if
	:: old != 0 -> frame_maps[old]--
	:: else
	fi;
	old = 0
}

/* pool_reserve: n pages promised to this operation (resv), or none. */
inline pool_reserve(n)
{
	if
	:: nfree - reserved >= n -> reserved = reserved + n; resv = resv + n; ok = 1
	:: else -> ok = 0
	fi
}

/* pool_unreserve: what the operation did not take. */
inline pool_unreserve()
{
	reserved = reserved - resv;
	resv = 0
}

/* pmd_new: a free page out of the reservation (pool_take asserts there is
 * one, and the reservations keep one free), count 1. Its reference is held
 * by the caller until it installs the page. */
inline pmd_new(idx)
{
	assert(resv > 0);
	idx = 0;
	do
	:: idx < NPMD && used[idx] -> idx++
	:: else -> break
	od;
	assert(idx < NPMD);
	used[idx] = 1;
	nfree--;
	reserved--;
	resv--;
	count[idx] = 1;
	held[idx] = 1
}

/*
 * pmd_put_last's decrement: fetch_sub(release) == 1. The reference put is
 * a held one: the caller's PD entry is gone or re-pointed. Without the
 * acquire that follows it in the code, the freer's loads of the leaves may
 * be satisfied before it, and miss a fill that another sharer made before
 * its own put.
 */
inline pmd_put_dec(p)
{
#ifdef BROKEN_NO_ACQUIRE
	d_step {
		e0 = LEAF(p, 0);
		e1 = LEAF(p, 1)
	}
#endif
	d_step {
		last = (count[p] == 1);
		count[p]--;
		held[p]--
	}
}

/*
 * pmd_free, after the decrement that reached zero and its acquire: the page
 * is exclusive and unreachable, and nobody still reads it for a copy. The
 * frame references of its leaves go and the page returns to the pool,
 * zeroed (the code poisons it, and zeroes it when it is taken again); a
 * page freed twice fails here.
 */
inline pmd_free(p)
{
	assert(used[p] && count[p] == 0 && copying[p] == 0);
#ifndef BROKEN_NO_ACQUIRE
	e0 = LEAF(p, 0);
	e1 = LEAF(p, 1);
#endif
	if
	:: e0 != 0 -> frame_maps[e0]--
	:: else
	fi;
	if
	:: e1 != 0 -> frame_maps[e1]--
	:: else
	fi;
	LEAF(p, 0) = 0;
	LEAF(p, 1) = 0;
	used[p] = 0;
	nfree++;
	e0 = 0;
	e1 = 0
}

/*
 * pmd_share, under the parent a's lock: the child c's PD entry will point
 * at a's page p. Old count 1: write-protect a's PD entry, then increment.
 * Old count > 1: a's PD entry is read-only already; increment only. Nobody
 * can reach the child before it is published, so its PD entry is written
 * in the step of the increment.
 */
inline pmd_share(a, c)
{
	d_step {
		p = pd_page[a];
		old = count[p];		/* relaxed: we hold a reference */
		sharing[p]++
	}
	d_step {
		if
		:: old == 1 ->
#ifndef BROKEN_SHARE_NO_WP
			pd_w[a] = 0
#else
			skip
#endif
		:: else
		fi;
		reached(SHARE_SHARE, sharing[p] > 1);
		reached(SHARE_UNSHARE, unsharing[p] > 0);
		count[p]++;		/* relaxed: a holder adds a holder */
		sharing[p]--;
		pd_p[c] = 1;
		pd_page[c] = p;
		pd_w[c] = 0;
		old = 0
	}
}

/* One leaf of the copy: read from the old page, kept if a's guest entry
 * still maps that frame (pmd_rederive), its frame reference taken, stored
 * into the copy, which nobody else can see yet. */
inline pmd_copy_entry(a, p, j)
{
	d_step {
		leaf_load_check(p);
		if
		:: LEAF(p, j) != 0 && LEAF(p, j) == GENTRY(a, j) ->
			frame_maps[LEAF(p, j)]++;
			LEAF(copy, j) = LEAF(p, j)
		:: else
		fi;
		if
		:: j == NENT - 1 -> copying[p]--
		:: else
		fi
	}
}

/* One leaf re-derived in place, on a page we hold alone: dropped if a's
 * guest entry no longer maps its frame. */
inline pmd_rederive_in_place(a, p, j)
{
	if
	:: LEAF(p, j) != 0 && LEAF(p, j) != GENTRY(a, j) -> sleaf_set(p, j, 0)
	:: else
	fi
}

/* Install the copy (a's PD entry points at it, writable), then put the old
 * page: a's reference on it is held by no PD entry in between. */
inline pmd_install_put(a, p)
{
	d_step {
		pd_page[a] = copy;
		pd_w[a] = 1;
		held[copy]--;
		held[p]++
	}
	pmd_put_dec(p)
}

/*
 * pmd_unshare, under a's lock, a's PD entry write-protected, resv holding
 * what pmd_unshare_pages asked for. Count 1: a is exclusive; re-derive in
 * place, PD entry writable, no count games. Count > 1: copy, install, put;
 * a racer may have put its reference meanwhile, so ours may be the last,
 * and then we free the page.
 */
inline pmd_unshare(a)
{
	d_step {
		p = pd_page[a];
		/* acquire: pairs with the release put of the sharer who left */
#ifndef BROKEN_UNSHARE_IN_PLACE
		excl = (count[p] == 1);
#else
		excl = (count[p] >= 1);
#endif
		unsharing[p]++;
		if
		:: excl ->
			/* the page is ours alone: nobody else can get at it */
			leaf_load_check(p);
			pmd_rederive_in_place(a, p, 0);
			pmd_rederive_in_place(a, p, 1);
			pd_w[a] = 1;
			unsharing[p]--
		:: else ->
			pmd_new(copy);
			copying[p]++;
			reached(UNSHARE_BOTH_COPY, copying[p] > 1)
		fi
	}
	if
	:: excl -> excl = 0
	:: else ->
#ifdef BROKEN_RELAXED_PUT
		pmd_install_put(a, p);
#endif
		pmd_copy_entry(a, p, 0);
		pmd_copy_entry(a, p, 1);
#ifndef BROKEN_RELAXED_PUT
		/* release: the copy is complete before the decrement */
		pmd_install_put(a, p);
#endif
		d_step {
			if
			:: last ->
				reached(COPY_LAST, true);
				pmd_free(p)
			:: else
			fi;
			unsharing[p]--;
			copy = 0;
			last = 0;
			e0 = 0;
			e1 = 0
		}
	fi
}

/*
 * update_pte (update.c), a level-1 update: a's guest gives leaf j the other
 * frame (copy-on-write broken, say). The page is made private first:
 * pmd_unshare_pages reserves a page if the count is > 1, or the update
 * fails with nothing changed. Then the guest entry, then the leaf.
 */
inline update_pte(a, j)
{
	d_step {
		op_begin(a);
		ok = 1;
		if
		:: !pd_w[a] ->
			need = (count[pd_page[a]] > 1);	/* acquire */
			pool_reserve(need)
		:: else
		fi
	}
	if
	:: ok && !pd_w[a] -> pmd_unshare(a)
	:: else
	fi;
	d_step {
		if
		:: ok ->
			pool_unreserve();
			GENTRY(a, j) = GENTRY(a, j) % NFR + 1;
			sleaf_set(pd_page[a], j, GENTRY(a, j))
		:: else
		fi;
		as_lock[a] = 0;
		p = 0;
		need = 0;
		ok = 0
	}
}

/*
 * A read fault on leaf j (fault_fill): a present leaf makes it spurious (it
 * maps the guest's frame: isolation); an empty one is filled, by a plain
 * store into our own page if the PD entry is writable, else by fill_shared
 * (fault.c): the page may be shared, and every sharer's guest entry is the
 * same there, so a lost compare-and-swap is as good as a won one. The
 * frame reference first, then the compare-and-swap of the empty leaf, the
 * reference given back on a loss.
 */
inline fault_fill(a, j)
{
	d_step {
		op_begin(a);
		p = pd_page[a];
		g = GENTRY(a, j);
		leaf_load_check(p);
		won = 1;
		if
		:: LEAF(p, j) != 0
		:: LEAF(p, j) == 0 && pd_w[a] -> sleaf_set(p, j, g)
		:: LEAF(p, j) == 0 && !pd_w[a] ->
			frame_maps[g]++;	/* frame_get */
			frame_held[g]++;
			won = 0
		fi;
		if
		:: won -> as_lock[a] = 0; p = 0; g = 0
		:: else
		fi
	}
	if
	:: won -> won = 0
	:: else ->
		d_step {
			leaf_load_check(p);
			if
			:: LEAF(p, j) == 0 -> LEAF(p, j) = g	/* pte_cas */
			:: else ->
				frame_maps[g]--;	/* frame_put */
				reached(FILL_RACED, true)
			fi;
			frame_held[g]--;
			as_lock[a] = 0;
			p = 0;
			g = 0
		}
	fi
}

/*
 * shadow_as_fork, share policy: under a's lock, claim a free slot (as_claim;
 * -ENOSPC if none is left), the guest's copy of its tables becomes the
 * child's, share a's pmd page into it; then drop a's lock and publish the
 * child, which starts running.
 */
inline as_fork(a)
{
	d_step {
		op_begin(a);
		c = 0;
		do
		:: c < NAS && as_state[c] != AS_FREE -> c++
		:: else -> break
		od;
		if
		:: c < NAS ->
			as_state[c] = AS_CLAIMED;
			GENTRY(c, 0) = GENTRY(a, 0);
			GENTRY(c, 1) = GENTRY(a, 1)
		:: else -> as_lock[a] = 0
		fi
	}
	if
	:: c < NAS ->
		pmd_share(a, c);
		atomic {
			as_lock[a] = 0;
			as_state[c] = AS_LIVE;
			run vcpu(c);
			c = 0;
			p = 0
		}
	:: else -> c = 0
	fi
}

/*
 * shadow_as_destroy: put the pmd page (stree_free). The address space is
 * loaded nowhere, so nothing walks its PD entry: it is cleared in the first
 * step, and the reference is held until the put.
 */
inline as_destroy(a)
{
	d_step {
		as_lock_get(a);
		as_state[a] = AS_DEAD;
		p = pd_page[a];
		pd_p[a] = 0;
		pd_w[a] = 0;
		pd_page[a] = 0;
		held[p]++
	}
	pmd_put_dec(p);
	d_step {
		if
		:: last -> pmd_free(p)
		:: else
		fi;
		as_lock[a] = 0;
		p = 0;
		last = 0;
		e0 = 0;
		e1 = 0
	}
}

/*
 * The thread of address space a: operations while the budget lasts, in any
 * order, then destroy (or destroy at any time). Only leaf 1 is read-faulted:
 * leaf 0 starts filled and stays so (a copy or an in-place unshare drops
 * only leaves that no longer match the guest, and an update fills the leaf
 * it changes), so a fault there could only be spurious.
 */
proctype vcpu(byte a)
{
	/* the scratch variables of the operations' inlines */
	byte c, p, copy, e0, e1, g, old, need, resv;
	bit last, excl, won, ok;

	do
	:: as_fork(a)
	:: update_pte(a, 0)
	:: update_pte(a, 1)
	:: fault_fill(a, 1)
	:: break
	od;
	as_destroy(a)
}

/*
 * Address space 0 maps frames 1 and 2; its shadow has frame 1 filled and
 * the other leaf empty. At the end, all destroyed: every page free, every
 * frame unmapped, nothing promised.
 */
init {
	atomic {
		as_state[0] = AS_LIVE;
		pd_p[0] = 1;
		pd_w[0] = 1;
		pd_page[0] = 0;
		GENTRY(0, 0) = 1;
		GENTRY(0, 1) = 2;
		used[0] = 1;
		nfree = NPMD - 1;
		count[0] = 1;
		LEAF(0, 0) = 1;
		frame_maps[1] = 1;
		run vcpu(0)
	}
	/* every slot free or destroyed, no operation in flight */
	(as_state[1] != AS_LIVE && as_state[1] != AS_CLAIMED && as_state[2] != AS_LIVE &&
	 as_state[2] != AS_CLAIMED && as_state[3] != AS_LIVE && as_state[3] != AS_CLAIMED &&
	 as_state[0] == AS_DEAD && !as_lock[0] && !as_lock[1] && !as_lock[2] && !as_lock[3]) ->
	assert(nfree == NPMD && reserved == 0 && !used[0] && !used[1] && !used[2]);
	assert(count[0] == 0 && count[1] == 0 && count[2] == 0);
	assert(frame_maps[1] == 0 && frame_maps[2] == 0)
}
