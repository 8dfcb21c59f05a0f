/* Bit-level coding used by the chunk codec (hub/chunk.c): an MSB-first bit writer into a
 * growable buffer, a bounds-checked bit reader over untrusted bytes, Elias-gamma, Rice and
 * zero-run codes of unsigned integers, zigzag, LEB128 varints and CRC-32C.
 * Pure: no I/O, no clock, no logging. Not thread-safe per object. */
#ifndef UPDRAFT_HUB_CHUNK_BITS_H
#define UPDRAFT_HUB_CHUNK_BITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Rice codes: a quotient of CHUNK_BITS_RICE_ESCAPE or more is written as that many one bits
 * followed by the raw 64-bit value, which bounds every code to 64 + ESCAPE + 1 bits. */
#define CHUNK_BITS_RICE_ESCAPE 24u
#define CHUNK_BITS_RICE_MAX_K 61u

/* Writer: start zeroed (or with buf/len/cap of a buffer it may extend with realloc);
 * release buf with free(). Allocation failure sets failed; later writes are dropped. */
struct chunk_bitwriter {
    uint8_t *buf;
    size_t len; /* whole bytes written */
    size_t cap;
    uint64_t acc;      /* pending bits, the oldest the most significant of the low acc_bits */
    unsigned acc_bits; /* always < 8 between calls */
    bool failed;
};

/* Appends the low nbits (0..64) of value, most significant first. */
void chunk_bits_write(struct chunk_bitwriter *w, uint64_t value, unsigned nbits);
/* Pads with zero bits to a byte boundary. */
void chunk_bits_flush(struct chunk_bitwriter *w);
/* Appends whole bytes; the writer must be byte-aligned (after flush). */
void chunk_bits_write_bytes(struct chunk_bitwriter *w, const uint8_t *bytes, size_t n);
void chunk_bits_write_varint(struct chunk_bitwriter *w, uint64_t value); /* byte-aligned */
void chunk_bits_write_gamma(struct chunk_bitwriter *w, uint64_t value);  /* value >= 1 */
void chunk_bits_write_rice(struct chunk_bitwriter *w, uint64_t value, unsigned k);

/* Zero-run code of n values: each non-zero value v is gamma(zeros before it + 1) then
 * gamma(v); trailing zeros are gamma(their count + 1). */
void chunk_bits_write_zero_runs(struct chunk_bitwriter *w, const uint64_t *values, size_t n);

/* Exact bit costs of the codes above, for choosing between them. */
unsigned chunk_bits_gamma_cost(uint64_t value);
uint64_t chunk_bits_rice_cost(const uint64_t *values, size_t n, unsigned k);
uint64_t chunk_bits_zero_runs_cost(const uint64_t *values, size_t n);

/* Reader over [p, end): every read checks the bounds; all return 0 or -EBADMSG when the
 * input ends early or holds an impossible code. */
struct chunk_bitreader {
    const uint8_t *p, *end;
    uint64_t acc;
    unsigned acc_bits;
};

void chunk_bits_reader_init(struct chunk_bitreader *r, const uint8_t *p, size_t len);
int chunk_bits_read(struct chunk_bitreader *r, unsigned nbits, uint64_t *out)
    __attribute__((warn_unused_result));
int chunk_bits_read_gamma(struct chunk_bitreader *r, uint64_t *out)
    __attribute__((warn_unused_result));
int chunk_bits_read_rice(struct chunk_bitreader *r, unsigned k, uint64_t *out)
    __attribute__((warn_unused_result));
/* True when fewer than 8 unread bits remain and they are all zero (canonical padding). */
bool chunk_bits_at_end(const struct chunk_bitreader *r);

/* Decoder state of one zero-run coded sequence; start zeroed. */
struct chunk_zero_runs {
    uint32_t zeros_left;
    bool value_pending;
};
/* Next value; remaining counts the values left in the sequence, this one included (>= 1). */
int chunk_bits_read_zero_runs(struct chunk_bitreader *r, struct chunk_zero_runs *s,
                              uint32_t remaining, uint64_t *out)
    __attribute__((warn_unused_result));

static inline uint64_t chunk_bits_zigzag(uint64_t v)
{
    return (v << 1) ^ (0 - (v >> 63));
}
static inline uint64_t chunk_bits_unzigzag(uint64_t z)
{
    return (z >> 1) ^ (0 - (z & 1));
}

/* LEB128 from p[*pos..len): 0, or -EBADMSG (truncated, over 10 bytes, over 64 bits). */
int chunk_bits_get_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *out)
    __attribute__((warn_unused_result));

#endif
