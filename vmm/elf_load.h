/*
 * The guest image loader (libelf): checks a PVH ELF image against the guest
 * memory layout, then copies its PT_LOAD segments into guest RAM.
 */
#ifndef UMBRA_VMM_ELF_LOAD_H
#define UMBRA_VMM_ELF_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"

#define ELF_LOAD_MAX_SEGMENTS 32

struct elf_segment {
	uint64_t gpa;    /* guest-physical load address (p_paddr) */
	uint64_t offset; /* of the file bytes */
	uint64_t filesz; /* bytes copied from the file */
	uint64_t memsz;  /* bytes of guest memory, the rest zeroed */
	bool exec;
};

struct elf_image {
	struct Elf *elf;
	const uint8_t *file; /* the whole image */
	size_t file_size;
	void *map;         /* file's mapping when elf_load__open made it, else NULL */
	uint32_t entry;    /* the PVH note's 32-bit entry point */
	bool has_abi_note; /* carries the umbra ABI note (its version matched) */
	size_t nsegments;
	struct elf_segment segments[ELF_LOAD_MAX_SEGMENTS];
};

/*
 * Opens and checks `path` against `mem`'s layout (its fields only; nothing
 * is written). Anything but a regular file is refused without waiting for
 * it (a FIFO never blocks the open). On failure returns a negative errno,
 * with the reason in why, and holds nothing. On success the caller owns img
 * (elf_load__close).
 */
int elf_load__open(struct elf_image *img, const char *path, const struct guest_mem *mem, char *why,
		   size_t why_len);
/*
 * The same checks on an image already in memory: `size` bytes at `bytes`,
 * which must stay unchanged until elf_load__close(img) and are never
 * written. Returns as elf_load__open does.
 */
int elf_load__open_memory(struct elf_image *img, const void *bytes, size_t size,
			  const struct guest_mem *mem, char *why, size_t why_len);
/* Copies the segments into guest memory and zeroes their bss. */
void elf_load__copy(const struct elf_image *img, struct guest_mem *mem);
void elf_load__close(struct elf_image *img);

#endif
