/*
 * The guest image loader. All ELF parsing goes through libelf; this file
 * only checks what libelf hands back against what umbra can boot.
 */
#include <config.h>

#include "elf_load.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <umbra/abi.h>

#include "pvh.h"

static int fail(char *why, size_t why_len, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *why, size_t why_len, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
	return err;
}

static bool ranges_overlap(uint64_t a, uint64_t a_len, uint64_t b, uint64_t b_len)
{
	return a < b + b_len && b < a + a_len;
}

/* Checks the ELF header: a static x86-64 ELF64 executable. */
static int check_header(Elf *elf, char *why, size_t why_len)
{
	GElf_Ehdr eh;
	size_t ident_len;
	const char *ident = elf_getident(elf, &ident_len);

	if (elf_kind(elf) != ELF_K_ELF || !ident || ident_len < EI_NIDENT)
		return fail(why, why_len, -ENOEXEC, "not an ELF file");
	if (ident[EI_CLASS] != ELFCLASS64)
		return fail(why, why_len, -ENOEXEC, "not a 64-bit ELF file (class %d)",
			    ident[EI_CLASS]);
	if (ident[EI_DATA] != ELFDATA2LSB)
		return fail(why, why_len, -ENOEXEC, "not a little-endian ELF file");
	if (!gelf_getehdr(elf, &eh))
		return fail(why, why_len, -ENOEXEC,
			    "truncated or malformed ELF header (libelf: %s)", elf_errmsg(-1));
	if (eh.e_machine != EM_X86_64)
		return fail(why, why_len, -ENOEXEC, "not an x86-64 image (machine %u)",
			    eh.e_machine);
	if (eh.e_type == ET_DYN)
		return fail(why, why_len, -ENOEXEC,
			    "a position-independent or shared object (ET_DYN), not ET_EXEC");
	if (eh.e_type != ET_EXEC)
		return fail(why, why_len, -ENOEXEC, "not an executable (type %u)", eh.e_type);
	/* libelf steps through the program headers by its own entry size,
	 * whatever e_phentsize says: an image that means another layout would
	 * be misread, not refused. (e_phnum is PN_XNUM, not 0, when the count
	 * lives elsewhere.) */
	if (eh.e_phnum != 0 && eh.e_phentsize != sizeof(Elf64_Phdr))
		return fail(why, why_len, -ENOEXEC,
			    "program header entry size %u; ELF64 program headers are %zu bytes",
			    eh.e_phentsize, sizeof(Elf64_Phdr));
	return 0;
}

static int add_segment(struct elf_image *img, const GElf_Phdr *ph, size_t index,
		       const struct guest_mem *mem, char *why, size_t why_len)
{
	struct elf_segment *s;

	/* Before the empty-segment skip: file bytes with no memory to go to
	 * are as malformed as any other excess. */
	if (ph->p_filesz > ph->p_memsz)
		return fail(why, why_len, -ENOEXEC,
			    "segment %zu: file size %#llx is larger than its memory size %#llx",
			    index, (unsigned long long)ph->p_filesz,
			    (unsigned long long)ph->p_memsz);
	if (ph->p_memsz == 0)
		return 0;
	if (img->nsegments == ELF_LOAD_MAX_SEGMENTS)
		return fail(why, why_len, -ENOEXEC, "more than %d loadable segments",
			    ELF_LOAD_MAX_SEGMENTS);
	if (ph->p_offset > img->file_size || ph->p_filesz > img->file_size - ph->p_offset)
		return fail(why, why_len, -ENOEXEC,
			    "segment %zu: truncated file (its %#llx bytes at offset %#llx run past "
			    "the end, %#zx)",
			    index, (unsigned long long)ph->p_filesz,
			    (unsigned long long)ph->p_offset, img->file_size);
	if (ph->p_paddr > UINT64_MAX - ph->p_memsz)
		return fail(why, why_len, -ENOEXEC, "segment %zu: address range wraps", index);
	if (mem->pool_size &&
	    ranges_overlap(ph->p_paddr, ph->p_memsz, mem->pool_gpa, mem->pool_size))
		return fail(why, why_len, -ENOEXEC,
			    "segment %zu at %#llx-%#llx: inside the shadow pool (%#llx-%#llx)",
			    index, (unsigned long long)ph->p_paddr,
			    (unsigned long long)(ph->p_paddr + ph->p_memsz),
			    (unsigned long long)mem->pool_gpa,
			    (unsigned long long)(mem->pool_gpa + mem->pool_size));
	if (!guest_mem__translate(mem, ph->p_paddr, ph->p_memsz))
		return fail(why, why_len, -ENOEXEC,
			    "segment %zu at %#llx-%#llx: outside guest RAM (0-%#llx; see --mem)",
			    index, (unsigned long long)ph->p_paddr,
			    (unsigned long long)(ph->p_paddr + ph->p_memsz),
			    (unsigned long long)mem->ram_size);
	if (ranges_overlap(ph->p_paddr, ph->p_memsz, PVH_INFO_GPA, PVH_INFO_SIZE))
		return fail(why, why_len, -ENOEXEC,
			    "segment %zu at %#llx-%#llx: overlaps the boot information page at "
			    "%#x",
			    index, (unsigned long long)ph->p_paddr,
			    (unsigned long long)(ph->p_paddr + ph->p_memsz), PVH_INFO_GPA);
	for (size_t i = 0; i < img->nsegments; i++) {
		const struct elf_segment *o = &img->segments[i];

		if (ranges_overlap(ph->p_paddr, ph->p_memsz, o->gpa, o->memsz))
			return fail(why, why_len, -ENOEXEC,
				    "segment %zu at %#llx-%#llx overlaps another at %#llx-%#llx",
				    index, (unsigned long long)ph->p_paddr,
				    (unsigned long long)(ph->p_paddr + ph->p_memsz),
				    (unsigned long long)o->gpa,
				    (unsigned long long)(o->gpa + o->memsz));
	}
	s = &img->segments[img->nsegments++];
	*s = (struct elf_segment){
		.gpa = ph->p_paddr,
		.offset = ph->p_offset,
		.filesz = ph->p_filesz,
		.memsz = ph->p_memsz,
		.exec = (ph->p_flags & PF_X) != 0,
	};
	return 0;
}

/* Notes of interest found so far. */
struct notes {
	bool pvh;
	uint64_t pvh_entry;
	bool abi;
	uint32_t abi_version;
};

static int scan_note(const GElf_Nhdr *nh, const char *name, const uint8_t *desc,
		     struct notes *notes, char *why, size_t why_len)
{
	if (nh->n_namesz == sizeof(PVH_NOTE_NAME) &&
	    memcmp(name, PVH_NOTE_NAME, nh->n_namesz) == 0 && nh->n_type == PVH_NOTE_PHYS32_ENTRY) {
		/* 4 bytes, or 8 where the image emits it as a pointer (Linux does). */
		if (nh->n_descsz == 4) {
			uint32_t v;

			memcpy(&v, desc, 4);
			notes->pvh_entry = v;
		} else if (nh->n_descsz == 8) {
			memcpy(&notes->pvh_entry, desc, 8);
		} else {
			return fail(why, why_len, -ENOEXEC, "malformed PVH entry note (%u bytes)",
				    nh->n_descsz);
		}
		notes->pvh = true;
	} else if (nh->n_namesz == sizeof(UMBRA_NOTE_NAME) &&
		   memcmp(name, UMBRA_NOTE_NAME, nh->n_namesz) == 0 &&
		   nh->n_type == UMBRA_NOTE_ABI) {
		if (nh->n_descsz != 4)
			return fail(why, why_len, -ENOEXEC, "malformed umbra ABI note (%u bytes)",
				    nh->n_descsz);
		memcpy(&notes->abi_version, desc, 4);
		notes->abi = true;
	}
	return 0;
}

static int scan_notes(Elf *elf, const GElf_Phdr *ph, size_t index, struct notes *notes, char *why,
		      size_t why_len)
{
	Elf_Data *data;
	GElf_Nhdr nh;
	size_t off = 0, name_off, desc_off, next;
	int err;

	data = elf_getdata_rawchunk(elf, (int64_t)ph->p_offset, ph->p_filesz,
				    ph->p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
	if (!data)
		return fail(why, why_len, -ENOEXEC,
			    "note segment %zu: truncated or malformed (libelf: %s)", index,
			    elf_errmsg(-1));
	while (off < data->d_size) {
		next = gelf_getnote(data, off, &nh, &name_off, &desc_off);
		if (next == 0)
			return fail(why, why_len, -ENOEXEC, "note segment %zu: malformed note",
				    index);
		err = scan_note(&nh, (const char *)data->d_buf + name_off,
				(const uint8_t *)data->d_buf + desc_off, notes, why, why_len);
		if (err < 0)
			return err;
		off = next;
	}
	return 0;
}

static int check_program(struct elf_image *img, const struct guest_mem *mem, char *why,
			 size_t why_len)
{
	struct notes notes = {0};
	size_t phnum;
	int err;

	if (elf_getphdrnum(img->elf, &phnum) != 0)
		return fail(why, why_len, -ENOEXEC, "malformed program headers (libelf: %s)",
			    elf_errmsg(-1));
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(img->elf, (int)i, &ph))
			return fail(why, why_len, -ENOEXEC,
				    "truncated or malformed program header %zu (libelf: %s)", i,
				    elf_errmsg(-1));
		switch (ph.p_type) {
		case PT_LOAD:
			err = add_segment(img, &ph, i, mem, why, why_len);
			break;
		case PT_NOTE:
			err = scan_notes(img->elf, &ph, i, &notes, why, why_len);
			break;
		case PT_INTERP:
		case PT_DYNAMIC:
			err = fail(why, why_len, -ENOEXEC,
				   "dynamically linked (has PT_INTERP or PT_DYNAMIC)");
			break;
		default:
			err = 0;
			break;
		}
		if (err < 0)
			return err;
	}
	if (img->nsegments == 0)
		return fail(why, why_len, -ENOEXEC, "no loadable segment");
	if (!notes.pvh)
		return fail(why, why_len, -ENOEXEC,
			    "no PVH entry note (Xen ELF note type %u); umbra boots PVH images only",
			    PVH_NOTE_PHYS32_ENTRY);
	if (notes.abi && notes.abi_version != UMBRA_ABI_VERSION)
		return fail(why, why_len, -ENOEXEC,
			    "built for umbra ABI version %u; this umbra speaks version %u",
			    notes.abi_version, UMBRA_ABI_VERSION);
	for (size_t i = 0; i < img->nsegments; i++) {
		const struct elf_segment *s = &img->segments[i];

		if (s->exec && notes.pvh_entry >= s->gpa && notes.pvh_entry - s->gpa < s->memsz &&
		    notes.pvh_entry <= UINT32_MAX) {
			img->entry = (uint32_t)notes.pvh_entry;
			img->has_abi_note = notes.abi;
			return 0;
		}
	}
	return fail(why, why_len, -ENOEXEC,
		    "PVH entry %#llx is not inside an executable loadable segment below 4 GiB",
		    (unsigned long long)notes.pvh_entry);
}

int elf_load__open_memory(struct elf_image *img, const void *bytes, size_t size,
			  const struct guest_mem *mem, char *why, size_t why_len)
{
	int err;

	*img = (struct elf_image){0};
	if (size == 0)
		return fail(why, why_len, -ENOEXEC, "empty file");
	if (elf_version(EV_CURRENT) == EV_NONE)
		return fail(why, why_len, -ENOSYS, "libelf is out of date");
	/* libelf only reads an image it did not map itself (ELF_C_READ_MMAP):
	 * what it must convert, it copies. */
	img->elf = elf_memory((char *)bytes, size);
	if (!img->elf)
		return fail(why, why_len, -ENOEXEC, "truncated or malformed ELF file (libelf: %s)",
			    elf_errmsg(-1));
	img->file = bytes;
	img->file_size = size;
	err = check_header(img->elf, why, why_len);
	if (err == 0)
		err = check_program(img, mem, why, why_len);
	if (err < 0)
		elf_load__close(img);
	return err;
}

int elf_load__open(struct elf_image *img, const char *path, const struct guest_mem *mem, char *why,
		   size_t why_len)
{
	struct stat st;
	void *map = NULL;
	int fd, err;

	*img = (struct elf_image){0};
	/* O_NONBLOCK: opening a FIFO for reading would wait for a writer. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return fail(why, why_len, -errno, "%s", strerror(errno));
	if (fstat(fd, &st) < 0)
		err = fail(why, why_len, -errno, "%s", strerror(errno));
	else if (S_ISDIR(st.st_mode))
		err = fail(why, why_len, -EISDIR, "is a directory");
	else if (!S_ISREG(st.st_mode))
		err = fail(why, why_len, -ENOEXEC, "not a regular file");
	else
		err = 0;
	if (err == 0 && st.st_size > 0) {
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			map = NULL;
			err = fail(why, why_len, -errno, "%s", strerror(errno));
		}
	}
	close(fd); /* the mapping keeps the file */
	if (err < 0)
		return err;
	err = elf_load__open_memory(img, map, map ? (size_t)st.st_size : 0, mem, why, why_len);
	if (err < 0) {
		if (map)
			munmap(map, (size_t)st.st_size);
		return err;
	}
	img->map = map;
	return 0;
}

void elf_load__copy(const struct elf_image *img, struct guest_mem *mem)
{
	for (size_t i = 0; i < img->nsegments; i++) {
		const struct elf_segment *s = &img->segments[i];
		/* elf_load__open() checked that this range is inside RAM. */
		uint8_t *dst = guest_mem__translate(mem, s->gpa, s->memsz);

		memcpy(dst, img->file + s->offset, s->filesz);
		memset(dst + s->filesz, 0, s->memsz - s->filesz);
	}
}

void elf_load__close(struct elf_image *img)
{
	if (img->elf)
		elf_end(img->elf);
	if (img->map)
		munmap(img->map, img->file_size);
	*img = (struct elf_image){0};
}
