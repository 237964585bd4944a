/* The harnesses' program decoder (input.h). */
#include "input.h"

#define PAGE 4096ull

void fuzz_input__init(struct fuzz_input *in, const uint8_t *data, size_t size)
{
	*in = (struct fuzz_input){.p = data, .left = size};
}

bool fuzz_input__done(const struct fuzz_input *in)
{
	return in->ended || in->left == 0;
}

uint8_t fuzz_input__u8(struct fuzz_input *in)
{
	if (in->left == 0) {
		in->ended = true;
		return 0;
	}
	in->left--;
	return *in->p++;
}

/* Little-endian, so that a seed written by hand reads as it looks. */
uint16_t fuzz_input__u16(struct fuzz_input *in)
{
	uint16_t lo = fuzz_input__u8(in);

	return (uint16_t)(lo | (uint16_t)fuzz_input__u8(in) << 8);
}

uint64_t fuzz_input__u64(struct fuzz_input *in)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < 8; i++)
		v |= (uint64_t)fuzz_input__u8(in) << (8 * i);
	return v;
}

uint64_t fuzz_input__frame(struct fuzz_input *in)
{
	uint64_t frames = (in->ram_size + in->pool_size) / PAGE + 16;

	return fuzz_input__u16(in) % frames * PAGE;
}

uint64_t fuzz_input__entry(struct fuzz_input *in)
{
	uint64_t frame = fuzz_input__frame(in);
	uint8_t b = fuzz_input__u8(in);

	return frame | (b & 0x7u) | (uint64_t)(b & 0x38u) << 2 | (b & 0x40 ? 1ull << 63 : 0) |
	       (b & 0x80 ? 1ull << 8 : 0);
}

uint64_t fuzz_input__va(struct fuzz_input *in, unsigned how, uint16_t x)
{
	unsigned slot = how == 31 ? in->kernel_slot : how == 30 ? in->fixed_slot : 1 + (how & 3);
	uint64_t va = (uint64_t)slot << 39 | (uint64_t)(x & 3) << 30 |
		      (uint64_t)((x >> 2) & 7) << 21 | (uint64_t)((x >> 5) & 511) << 12;

	if (slot >= 256)
		va |= 0xffff000000000000ull;
	if (how == 29)
		return va | 1ull << 47; /* not sign-extended */
	if (how >= 30)
		return va;
	for (size_t i = 0; i < in->nva; i++) {
		if (in->va[i] == va)
			return va;
	}
	if (in->nva < FUZZ_VAS)
		in->va[in->nva++] = va;
	return va;
}

void fuzz_input__handle(struct fuzz_input *in, uint64_t handle)
{
	in->handles[in->next_handle++ % FUZZ_HANDLES] = handle;
}

uint64_t fuzz_input__value(struct fuzz_input *in)
{
	const uint64_t ram = in->ram_size, top = in->ram_size + in->pool_size;
	const uint64_t edges[] = {
		UINT64_MAX, 1ull << 63, UINT32_MAX,        1ull << 32, ram,
		ram - PAGE, top,        PAGE - 1,          1ull << 47, 0xffff800000000000ull,
		512,        513,        UINT64_MAX - 4095, 4097,
	};
	uint8_t tag = fuzz_input__u8(in);
	unsigned arg = tag >> 3;

	switch (tag & 7) {
	case 0:
		return arg;
	case 1:
		return fuzz_input__frame(in);
	case 2:
		return in->handles[arg % FUZZ_HANDLES];
	case 3:
		return fuzz_input__va(in, arg, fuzz_input__u16(in));
	case 4:
		return fuzz_input__u64(in);
	case 5:
		return fuzz_input__entry(in);
	case 6:
		return edges[arg % (sizeof(edges) / sizeof(edges[0]))];
	default:
		return in->last[arg & 1];
	}
}
