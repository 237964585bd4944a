/*
 * The ELF loader (vmm/elf_load.c) on arbitrary bytes. Every input is either
 * refused with a reason or accepted and copied into a small guest memory.
 * Neither may crash, leak, or read outside the input (ASan, UBSan and
 * LeakSanitizer watch that); an accepted image must also keep the promises
 * the VMM relies on when it copies it without further checks, which this
 * harness checks itself, since nothing else would notice them broken.
 */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "elf_load.h"
#include "guest_mem.h"
#include "pvh.h"

/* The images load at 1 MiB: 4 MiB of RAM holds the guest kernel, and a
 * small RAM keeps the copy of an accepted image cheap. The pool above it
 * gives the "inside the shadow pool" check something to refuse. */
#define FUZZ_RAM (4ull << 20)
#define FUZZ_POOL (2ull << 20)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Lives as long as the process: mapping it per input would cost more than
 * the loader. */
static struct guest_mem mem;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (guest_mem__init(&mem, FUZZ_RAM, FUZZ_POOL) < 0)
		abort();
	return 0;
}

static bool overlap(uint64_t a, uint64_t a_len, uint64_t b, uint64_t b_len)
{
	return a < b + b_len && b < a + a_len;
}

/* What elf_load__copy() and the boot take on trust from an accepted image. */
static void check_accepted(const struct elf_image *img, size_t size)
{
	bool entry_ok = false;

	if (img->nsegments == 0 || img->nsegments > ELF_LOAD_MAX_SEGMENTS)
		abort();
	for (size_t i = 0; i < img->nsegments; i++) {
		const struct elf_segment *s = &img->segments[i];

		if (s->memsz == 0 || s->filesz > s->memsz || s->offset > size ||
		    s->filesz > size - s->offset)
			abort();
		if (!guest_mem__translate(&mem, s->gpa, s->memsz) ||
		    overlap(s->gpa, s->memsz, mem.pool_gpa, mem.pool_size) ||
		    overlap(s->gpa, s->memsz, PVH_INFO_GPA, PVH_INFO_SIZE))
			abort();
		for (size_t j = 0; j < i; j++) {
			if (overlap(s->gpa, s->memsz, img->segments[j].gpa, img->segments[j].memsz))
				abort();
		}
		if (s->exec && img->entry >= s->gpa && img->entry - s->gpa < s->memsz)
			entry_ok = true;
	}
	if (!entry_ok)
		abort();
}

/* The copy put the file bytes and then zeroes in each segment. */
static void check_copied(const struct elf_image *img, const uint8_t *data)
{
	static const uint8_t zeroes[65536];

	for (size_t i = 0; i < img->nsegments; i++) {
		const struct elf_segment *s = &img->segments[i];
		const uint8_t *dst = guest_mem__translate(&mem, s->gpa, s->memsz);

		if (memcmp(dst, data + s->offset, s->filesz) != 0)
			abort();
		for (uint64_t b = s->filesz, n; b < s->memsz; b += n) {
			n = s->memsz - b < sizeof(zeroes) ? s->memsz - b : sizeof(zeroes);
			if (memcmp(dst + b, zeroes, n) != 0)
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elf_image img;
	char why[256];

	why[0] = '\0';
	if (elf_load__open_memory(&img, data, size, &mem, why, sizeof(why)) < 0) {
		/* A refusal always says why. */
		if (why[0] == '\0' || !memchr(why, '\0', sizeof(why)))
			abort();
		return 0;
	}
	check_accepted(&img, size);
	elf_load__copy(&img, &mem);
	check_copied(&img, data);
	elf_load__close(&img);
	return 0;
}
