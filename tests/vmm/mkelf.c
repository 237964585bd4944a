/*
 * mkelf VARIANT IN OUT: writes a copy of the test guest IN broken in one
 * way, for tests/vmm/elf.sh. IN must be a tests/guests image: ELF64 with a
 * text PT_LOAD, a data PT_LOAD and a PT_NOTE holding the Xen PVH note and
 * the umbra ABI note, in that order.
 */
#include <config.h>

#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <umbra/abi.h>

#define PVH_NOTE_TYPE 18

static unsigned char *image;
static size_t image_size;

static Elf64_Ehdr *ehdr(void)
{
	return (Elf64_Ehdr *)image;
}

static Elf64_Phdr *phdr(Elf64_Word type, int nth)
{
	Elf64_Phdr *ph = (Elf64_Phdr *)(image + ehdr()->e_phoff);

	for (int i = 0; i < ehdr()->e_phnum; i++) {
		if (ph[i].p_type == type && nth-- == 0)
			return &ph[i];
	}
	fprintf(stderr, "mkelf: no program header %u #%d\n", type, nth);
	exit(2);
}

/* The descriptor of the note called name, of type type. */
static unsigned char *note_desc(const char *name, Elf64_Word type, Elf64_Nhdr **out)
{
	Elf64_Phdr *ph = phdr(PT_NOTE, 0);
	size_t off = ph->p_offset, end = ph->p_offset + ph->p_filesz;

	while (off + sizeof(Elf64_Nhdr) <= end) {
		Elf64_Nhdr *nh = (Elf64_Nhdr *)(image + off);
		char *n = (char *)(nh + 1);
		unsigned char *desc = (unsigned char *)n + ((nh->n_namesz + 3) & ~3u);

		if (nh->n_type == type && strcmp(n, name) == 0) {
			if (out)
				*out = nh;
			return desc;
		}
		off = (size_t)(desc - image) + ((nh->n_descsz + 3) & ~3u);
	}
	fprintf(stderr, "mkelf: no %s note of type %u\n", name, type);
	exit(2);
}

static void set_u32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* Applies variant; returns the size to write. */
static size_t apply(const char *variant)
{
	Elf64_Phdr *text = phdr(PT_LOAD, 0), *data = phdr(PT_LOAD, 1);
	Elf64_Nhdr *nh;

	if (strcmp(variant, "truncated-header") == 0)
		return 40;
	if (strcmp(variant, "truncated-phdrs") == 0)
		return ehdr()->e_phoff + sizeof(Elf64_Phdr) + 10;
	if (strcmp(variant, "truncated-segment") == 0)
		return data->p_offset + data->p_filesz / 2;
	if (strcmp(variant, "class32") == 0)
		image[EI_CLASS] = ELFCLASS32;
	else if (strcmp(variant, "big-endian") == 0)
		image[EI_DATA] = ELFDATA2MSB;
	else if (strcmp(variant, "machine") == 0)
		ehdr()->e_machine = EM_AARCH64;
	else if (strcmp(variant, "dyn") == 0)
		ehdr()->e_type = ET_DYN;
	else if (strcmp(variant, "rel") == 0)
		ehdr()->e_type = ET_REL;
	else if (strcmp(variant, "interp") == 0)
		phdr(PT_NOTE, 0)->p_type = PT_INTERP;
	else if (strcmp(variant, "no-load") == 0)
		text->p_type = data->p_type = PT_NULL;
	else if (strcmp(variant, "filesz") == 0)
		data->p_filesz = data->p_memsz + 1;
	else if (strcmp(variant, "filesz-no-mem") == 0)
		data->p_filesz = 0x10, data->p_memsz = 0;
	else if (strcmp(variant, "phentsize") == 0)
		ehdr()->e_phentsize = sizeof(Elf64_Phdr) + 8;
	else if (strcmp(variant, "outside-ram") == 0)
		data->p_paddr = 0x7ff00000000;
	else if (strcmp(variant, "wraps") == 0)
		data->p_paddr = 0xfffffffffffff000;
	else if (strcmp(variant, "boot-page") == 0)
		data->p_paddr = 0x1000;
	else if (strcmp(variant, "overlap") == 0)
		data->p_paddr = text->p_paddr + 0x10;
	else if (strcmp(variant, "in-pool") == 0)
		data->p_paddr = 256ull << 20; /* the pool of a default --mem */
	else if (strcmp(variant, "no-pvh") == 0)
		note_desc("Xen", PVH_NOTE_TYPE, &nh), nh->n_type = PVH_NOTE_TYPE + 1;
	else if (strcmp(variant, "pvh-size") == 0)
		note_desc("Xen", PVH_NOTE_TYPE, &nh), nh->n_descsz = 2;
	else if (strcmp(variant, "entry-outside") == 0)
		set_u32(note_desc("Xen", PVH_NOTE_TYPE, NULL), 0x3000000);
	else if (strcmp(variant, "entry-in-data") == 0)
		set_u32(note_desc("Xen", PVH_NOTE_TYPE, NULL), (uint32_t)data->p_paddr);
	else if (strcmp(variant, "abi-version") == 0)
		set_u32(note_desc(UMBRA_NOTE_NAME, UMBRA_NOTE_ABI, NULL), 99);
	else {
		fprintf(stderr, "mkelf: unknown variant %s\n", variant);
		exit(2);
	}
	return image_size;
}

int main(int argc, char **argv)
{
	FILE *in, *out;
	size_t n;
	long size;

	if (argc != 4) {
		fprintf(stderr, "usage: mkelf VARIANT IN OUT\n");
		return 2;
	}
	in = fopen(argv[2], "rb");
	if (!in || fseek(in, 0, SEEK_END) != 0 || (size = ftell(in)) < (long)sizeof(Elf64_Ehdr)) {
		perror(argv[2]);
		return 2;
	}
	rewind(in);
	image_size = (size_t)size;
	image = malloc(image_size);
	if (!image || fread(image, 1, image_size, in) != image_size) {
		perror(argv[2]);
		return 2;
	}
	fclose(in);
	n = apply(argv[1]);
	out = fopen(argv[3], "wb");
	if (!out || fwrite(image, 1, n, out) != n || fclose(out) != 0) {
		perror(argv[3]);
		return 2;
	}
	free(image);
	return 0;
}
