/* User address spaces (see vm.h). */
#include "vm.h"
#include "console.h"
#include "cpu.h"
#include "lib.h"
#include "mm.h"
#include "pageops.h"
#include "proc.h"
#include "trap.h"
#include "uapi.h"
#include "x86.h"

/* A hidden fault repeated this often in a row at one address is a loop,
 * not progress: the process is killed. */
#define FAULT_REPEAT_MAX 16

/* Leaf entries of user memory */
#define PTE_USER_RX (PTE_P | PTE_U | PTE_A)
#define PTE_USER_R (PTE_P | PTE_U | PTE_A | PTE_NX)
#define PTE_USER_RW (PTE_P | PTE_U | PTE_W | PTE_COW | PTE_NX | PTE_A | PTE_D)

/* guest/userimg.S: the user program, an ELF file linked at USER_BASE */
extern const char user_image[], user_image_end[];

void vm_ranges(const struct proc *p, struct vrange r[VM_RANGES])
{
	r[0] = (struct vrange){USER_BASE, p->image_end};
	r[1] = (struct vrange){USER_HEAP_BASE, PG_ROUNDUP(p->brk)};
	r[2] = (struct vrange){p->stack_lo, USER_STACK_TOP};
}

static int in_demand_zero(const struct proc *p, uint64_t va)
{
	return (va >= USER_HEAP_BASE && va < PG_ROUNDUP(p->brk)) ||
	       (va >= USER_STACK_TOP - USER_STACK_SIZE && va < USER_STACK_TOP);
}

/* Whether the leaf entry pte allows the access that the error code describes. */
static int pte_allows(uint64_t pte, uint64_t err)
{
	if ((pte & (PTE_P | PTE_U)) != (PTE_P | PTE_U))
		return 0;
	if ((err & UMBRA_PF_WRITE) && !(pte & PTE_W))
		return 0;
	if ((err & UMBRA_PF_FETCH) && (pte & PTE_NX))
		return 0;
	return 1;
}

static const char *fault_what(uint64_t va, uint64_t pte, uint64_t err)
{
	if (err & UMBRA_PF_RSVD)
		return "reserved bit set in a page table";
	if (va < USER_BASE || va >= USER_STACK_TOP)
		return err & UMBRA_PF_FETCH   ? "jump to kernel or non-user address"
		       : err & UMBRA_PF_WRITE ? "write to kernel or non-user address"
					      : "read of kernel or non-user address";
	if (!(pte & PTE_P))
		return err & UMBRA_PF_FETCH ? "jump to unmapped address"
					    : "access to unmapped address";
	if (err & UMBRA_PF_FETCH)
		return "execution of non-executable memory";
	return "write to read-only memory";
}

/*
 * A write to a present copy-on-write page: make the tables on its walk
 * private (unsharing them), then copy the page, unless p's table is now
 * the only one to map it. One commit: one AS_UPDATE in the shadow modes.
 */
static int fault_write(struct proc *p, uint64_t va)
{
	struct vrange r[VM_RANGES];
	struct pg_batch b;
	uint64_t *slot, pte;
	vm_ranges(p, r);
	pg_begin(&b, &p->as, r, VM_RANGES);
	int err = pg_prepare(&b, va, &slot, &pte);
	if (err == 0 && !(pte & PTE_W)) {
		uint64_t old = pte & PTE_ADDR, frame = old;
		if (page_refs(old) > 1) {
			void *copy = page_alloc_dirty();
			if (!copy) {
				err = -ENOMEM;
				goto out;
			}
			page_copy(copy, (void *)old);
			frame = (uint64_t)copy;
			pg_put_frame(&b, old);
			atomic_fetch_add(&kstats.cow_copies, 1);
		} else {
			atomic_fetch_add(&kstats.cow_reuses, 1);
		}
		pg_set_leaf(&b, slot, va, frame | (pte & ~PTE_ADDR) | PTE_W | PTE_A | PTE_D);
	}
out:
	pg_commit(&b);
	return err;
}

static int fault_zero(struct proc *p, uint64_t va)
{
	struct vrange r[VM_RANGES];
	struct pg_batch b;
	uint64_t *slot, pte;
	void *page = page_alloc();
	if (!page)
		return -ENOMEM;
	vm_ranges(p, r);
	pg_begin(&b, &p->as, r, VM_RANGES);
	int err = pg_prepare(&b, va, &slot, &pte);
	if (err == 0)
		pg_set_leaf(&b, slot, va, (uint64_t)page | PTE_USER_RW);
	pg_commit(&b);
	if (err < 0) {
		page_free_clean(page);
		return err;
	}
	if (va < p->stack_lo && va >= USER_STACK_TOP - USER_STACK_SIZE)
		p->stack_lo = va;
	atomic_fetch_add(&kstats.zero_fills, 1);
	return 0;
}

void vm_fault(struct cpu *c, struct trapframe *tf)
{
	struct proc *p = c->cur;
	uint64_t va = rcr2(), page = PG_ROUNDDOWN(va), err = tf->error;
	uint64_t pte = as_pte(&p->as, va);
	if (pte_allows(pte, err)) {
		p->fault_repeat = p->fault_va == page ? p->fault_repeat + 1 : 0;
		p->fault_va = page;
		if (p->fault_repeat >= FAULT_REPEAT_MAX) {
			proc_kill(c, tf, "page fault at %lx repeats (rip %lx, error %lx)", va,
				  tf->rip, err);
			return;
		}
		atomic_fetch_add(&kstats.hidden_faults, 1);
		if (as_hidden_fault(&p->as, va, err))
			return;
	}
	p->fault_va = 0;
	int r;
	if ((err & UMBRA_PF_WRITE) && !(err & UMBRA_PF_RSVD) && (pte & PTE_P) && (pte & PTE_COW) &&
	    (pte & PTE_U))
		r = fault_write(p, page);
	else if (!(pte & PTE_P) && in_demand_zero(p, va))
		r = fault_zero(p, page);
	else {
		proc_kill(c, tf, "%s %lx (rip %lx, error %lx)", fault_what(va, pte, err), va,
			  tf->rip, err);
		return;
	}
	if (r < 0)
		proc_kill(c, tf, "out of memory at %lx (rip %lx)", va, tf->rip);
}

/* ELF64, the parts the loader reads */
struct elf64_ehdr {
	unsigned char ident[16];
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint32_t flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct elf64_phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};
#define PT_LOAD 1
#define PF_X 1
#define PF_W 2

static void load_segment(struct pg_batch *b, const struct elf64_phdr *ph)
{
	uint64_t size = (uint64_t)(user_image_end - user_image);
	if (ph->offset > size || ph->filesz > size - ph->offset || ph->filesz > ph->memsz ||
	    ph->vaddr < USER_BASE || ph->memsz > USER_HEAP_BASE - ph->vaddr)
		panic("user image: bad segment at %lx", ph->vaddr);
	uint64_t pte = ph->flags & PF_W ? PTE_USER_RW : ph->flags & PF_X ? PTE_USER_RX : PTE_USER_R;
	uint64_t start = PG_ROUNDDOWN(ph->vaddr), end = PG_ROUNDUP(ph->vaddr + ph->memsz);
	for (uint64_t va = start; va < end; va += PGSIZE) {
		char *page = page_alloc();
		if (!page)
			panic("user image: out of memory");
		/* the part of the file that lands in this page */
		uint64_t lo = va > ph->vaddr ? va : ph->vaddr;
		uint64_t hi =
			va + PGSIZE < ph->vaddr + ph->filesz ? va + PGSIZE : ph->vaddr + ph->filesz;
		if (lo < hi)
			memcpy(page + (lo - va), user_image + ph->offset + (lo - ph->vaddr),
			       hi - lo);
		if (pg_map(b, va, (uint64_t)page | pte) < 0)
			panic("user image: out of memory");
	}
}

void vm_load_user(struct proc *p, const char *arg, uint64_t *entry, uint64_t *sp, uint64_t *arg_va)
{
	const struct elf64_ehdr *eh = (const struct elf64_ehdr *)user_image;
	uint64_t size = (uint64_t)(user_image_end - user_image);
	if (size < sizeof(*eh) || memcmp(eh->ident, "\177ELF\2\1", 6) != 0 || eh->machine != 62 ||
	    eh->phentsize != sizeof(struct elf64_phdr) || eh->phoff > size ||
	    eh->phnum > (size - eh->phoff) / sizeof(struct elf64_phdr))
		panic("user image: not an x86-64 ELF file");
	const struct elf64_phdr *ph = (const struct elf64_phdr *)(user_image + eh->phoff);
	/* the first process: nothing is shared yet, and no range is needed */
	struct pg_batch b;
	pg_begin(&b, &p->as, 0, 0);
	p->image_end = USER_BASE;
	for (unsigned i = 0; i < eh->phnum; i++) {
		if (ph[i].type != PT_LOAD)
			continue;
		load_segment(&b, &ph[i]);
		uint64_t end = PG_ROUNDUP(ph[i].vaddr + ph[i].memsz);
		if (end > p->image_end)
			p->image_end = end;
	}
	p->brk = USER_HEAP_BASE;
	/* the argument string at the top of the stack */
	uint64_t len = strlen(arg) + 1;
	if (len > PGSIZE / 2)
		panic("user argument too long (%lu bytes)", len);
	char *page = page_alloc();
	if (!page)
		panic("user stack: out of memory");
	uint64_t top = USER_STACK_TOP - PGSIZE;
	p->stack_lo = top;
	uint64_t off = (PGSIZE - len) & ~15ull;
	memcpy(page + off, arg, len);
	if (pg_map(&b, top, (uint64_t)page | PTE_USER_RW) < 0)
		panic("user stack: out of memory");
	pg_commit(&b);
	*entry = eh->entry;
	*arg_va = top + off;
	*sp = top + off;
}

int vm_console_write(struct proc *p, uint64_t va, uint64_t len)
{
	while (len > 0) {
		uint64_t pte = as_pte(&p->as, va);
		if ((pte & (PTE_P | PTE_U)) != (PTE_P | PTE_U))
			return -EFAULT;
		uint64_t off = va & (PGSIZE - 1);
		uint64_t n = PGSIZE - off < len ? PGSIZE - off : len;
		console_put((const char *)((pte & PTE_ADDR) + off), n);
		va += n;
		len -= n;
	}
	return 0;
}

/* Unmaps the heap pages [start, end) of p. */
static int unmap_heap(struct proc *p, uint64_t start, uint64_t end)
{
	struct vrange r[VM_RANGES];
	struct pg_batch b;
	vm_ranges(p, r);
	pg_begin(&b, &p->as, r, VM_RANGES);
	return pg_unmap(&b, start, end);
}

int64_t vm_sbrk(struct proc *p, int64_t increment)
{
	uint64_t old = p->brk;
	if (increment < 0) {
		uint64_t cut = -(uint64_t)increment;
		if (cut > old - USER_HEAP_BASE)
			return -EINVAL;
		uint64_t brk = old - cut;
		if (unmap_heap(p, PG_ROUNDUP(brk), PG_ROUNDUP(old)) < 0)
			return -ENOMEM;
		p->brk = brk;
		return (int64_t)old;
	}
	if ((uint64_t)increment > USER_HEAP_BASE + USER_HEAP_MAX - old)
		return -ENOMEM;
	p->brk = old + (uint64_t)increment;
	return (int64_t)old;
}

int64_t vm_munmap(struct proc *p, uint64_t va, uint64_t len)
{
	if ((va | len) & (PGSIZE - 1) || len == 0 || va < USER_HEAP_BASE ||
	    va > PG_ROUNDUP(p->brk) || len > PG_ROUNDUP(p->brk) - va)
		return -EINVAL;
	return unmap_heap(p, va, va + len) < 0 ? -ENOMEM : 0;
}
