/*
 * How the shadow harnesses decode their programs. An input is a short
 * header and then operations; every read past the end gives zeroes and
 * marks the input consumed, so that any byte string is a program (a
 * truncated one ends early) and no input has to be refused.
 *
 * Arguments are 64-bit values shaped by a tag byte, so that the mutator
 * reaches valid frames, handles, VAs and entries as easily as wild ones:
 *
 *   tag & 7   value                                     payload
 *   0         tag >> 3 (0..31)                          -
 *   1         a frame: (u16 % (RAM + pool + 16 pages)) * 4096    u16
 *   2         the handle a call returned, (tag >> 3) % 8 back    -
 *   3         a VA (fuzz_input__va), remembered for the reference  u16
 *   4         any 64-bit value                          u64
 *   5         a guest entry: a frame as 1, flag bits    u16, u8
 *   6         an edge value (fuzz_input__value)         -
 *   7         the last result (tag bit 3: the second one)        -
 *
 * The flag byte of an entry: bit 0 P, 1 W, 2 U, 3 A, 4 D, 5 PS, 6 NX, 7 G.
 * Multi-byte payloads are little-endian.
 */
#ifndef UMBRA_FUZZ_INPUT_H
#define UMBRA_FUZZ_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FUZZ_HANDLES 8u /* results a value can name */
#define FUZZ_VAS 16u    /* VAs remembered for the reference */

struct fuzz_input {
	const uint8_t *p;
	size_t left;          /* bytes not read yet */
	bool ended;           /* a read went past the end */
	uint64_t ram_size;    /* guest RAM at 0, the pool right above it */
	uint64_t pool_size;   /* (for the frames a value can name) */
	unsigned kernel_slot; /* PML4 slots a VA tag can name besides the user ones */
	unsigned fixed_slot;
	uint64_t handles[FUZZ_HANDLES];
	unsigned next_handle;
	uint64_t va[FUZZ_VAS];
	size_t nva;
	uint64_t last[2]; /* results of the last call */
};

void fuzz_input__init(struct fuzz_input *in, const uint8_t *data, size_t size);
/* True once the input is used up: no operation can start. */
bool fuzz_input__done(const struct fuzz_input *in);
uint8_t fuzz_input__u8(struct fuzz_input *in);
uint16_t fuzz_input__u16(struct fuzz_input *in);
uint64_t fuzz_input__u64(struct fuzz_input *in);

/* One tagged value (above). */
uint64_t fuzz_input__value(struct fuzz_input *in);
/* A frame as tag 1 names it, and an entry as tag 5. */
uint64_t fuzz_input__frame(struct fuzz_input *in);
uint64_t fuzz_input__entry(struct fuzz_input *in);
/*
 * The VA for `how` (0..31) and x: PML4 slot 1 + (how & 3), PDPT index
 * x & 3, PD index (x >> 2) & 7, PT index (x >> 5) & 511; how 31 is the
 * kernel slot, 30 the fixed slot, 29 a non-canonical VA. User VAs are
 * remembered (the first FUZZ_VAS of them).
 */
uint64_t fuzz_input__va(struct fuzz_input *in, unsigned how, uint16_t x);
/* A call returned a handle: later values can name it. */
void fuzz_input__handle(struct fuzz_input *in, uint64_t handle);

#endif
