/* Compressed chunks of the time-series store: the samples (int64 ms, double) of ONE series
 * in time order as a compact, checksummed byte string (a SQLite BLOB keyed by series and
 * chunk start). Pure: no I/O, no clock, no logging. Not thread-safe per object; distinct
 * encoders and iterators may be used from distinct threads. Format: see hub/chunk.c. */
#ifndef UPDRAFT_HUB_CHUNK_H
#define UPDRAFT_HUB_CHUNK_H

#include <stddef.h>
#include <stdint.h>

#include "hub/chunk_bits.h"

#define CHUNK_MAX_SAMPLES 4096 /* samples per chunk (~5.7 h at 5 s) */
#define CHUNK_FORMAT_VERSION 1
#define CHUNK_MAX_SCALE 9 /* decimal values carry 0..9 digits after the point */

/* How a chunk stores its values; chosen per chunk by chunk_encoder_finish. */
enum chunk_encoding {
    /* Every value is exactly m / 10^scale (IEEE division of doubles) for integers
     * |m| < 2^53 and one scale in 0..CHUNK_MAX_SCALE: stores the deltas of m. */
    CHUNK_ENCODING_DECIMAL = 0,
    /* Anything else (NaN, +-Inf, -0.0, binary fractions): Gorilla XOR of the bit patterns. */
    CHUNK_ENCODING_XOR = 1,
};

/* What the header of an encoded chunk says; readable without decoding the samples. */
struct chunk_info {
    uint32_t count;      /* samples, 0..CHUNK_MAX_SAMPLES */
    int64_t first_ts_ms; /* 0 when count is 0 */
    int64_t last_ts_ms;  /* >= first_ts_ms; 0 when count is 0 */
    enum chunk_encoding encoding;
    unsigned scale; /* CHUNK_ENCODING_DECIMAL: digits after the point; else 0 */
};

/* ---- encoding ---------------------------------------------------------------------- */

/* Buffers the samples of one chunk (16 bytes each, grown on demand) and encodes them on
 * finish, where the value encoding is chosen. Opaque; create with chunk_encoder_new. */
struct chunk_encoder;

/* A new empty encoder accepting up to max_samples (1..CHUNK_MAX_SAMPLES) samples per chunk.
 * Returns 0 and *out (free with chunk_encoder_free), -EINVAL, or -ENOMEM. */
int chunk_encoder_new(size_t max_samples, struct chunk_encoder **out)
    __attribute__((warn_unused_result));
void chunk_encoder_free(struct chunk_encoder *enc); /* accepts NULL */

/* Adds a sample. Timestamps must not decrease; equal timestamps are kept (the store
 * deduplicates before). Any double is accepted and comes back bit-exact.
 * Returns 0, -EINVAL (ts_ms before the previous sample's; nothing is added, the encoder
 * stays usable), -ENOSPC (the chunk holds max_samples; finish it, then reset), -ENOMEM. */
int chunk_encoder_append(struct chunk_encoder *enc, int64_t ts_ms, double value)
    __attribute__((warn_unused_result));

size_t chunk_encoder_count(const struct chunk_encoder *enc);

/* Encodes the samples appended since the last reset. *out points into the encoder and stays
 * valid until the next call on enc other than chunk_encoder_count; copy it to keep it.
 * Does not consume the samples: appending more and finishing again re-encodes the whole
 * chunk (handy for persisting a head chunk). An empty encoder yields a valid chunk of 0
 * samples. Returns 0 or -ENOMEM. */
int chunk_encoder_finish(struct chunk_encoder *enc, const uint8_t **out, size_t *len)
    __attribute__((warn_unused_result));

/* Drops the buffered samples to start the next chunk; keeps the memory. */
void chunk_encoder_reset(struct chunk_encoder *enc);

/* ---- decoding (input is untrusted) --------------------------------------------------- */

/* Parses and checks the header only (not the checksum, not the samples): cheap enough for
 * a query to skip chunks by time range. Returns 0 and *info, or -EBADMSG. */
int chunk_info_parse(const uint8_t *buf, size_t len, struct chunk_info *info)
    __attribute__((warn_unused_result));

/* Iterator over a chunk's samples; caller-allocated (on the stack), no allocation, no
 * deinit. Fields are private. buf is borrowed and must outlive the iteration. */
struct chunk_iter {
    struct chunk_info info;
    uint32_t index;     /* samples returned so far */
    int state;          /* 0 iterating, 1 ended, -EBADMSG failed */
    uint64_t ts_unit;   /* every delta is a multiple of it */
    uint64_t ts_biased; /* last timestamp returned, as uint64 ^ 2^63 */
    uint64_t last_biased;
    uint64_t delta;   /* last delta, in ts_unit */
    uint64_t step_ms; /* delta * ts_unit */
    struct chunk_bitreader ts_bits, value_bits;
    struct chunk_zero_runs ts_runs, value_runs;
    uint64_t value;      /* DECIMAL: the last m as uint64; XOR: the last bit pattern */
    unsigned block_mode; /* DECIMAL: mode of the current block of deltas */
    uint32_t block_left; /* DECIMAL: deltas left in the current block */
    unsigned xor_leading, xor_meaningful; /* XOR: current window, 0/0 before the first */
};

/* Checks the header and the CRC-32C of the whole chunk. Returns 0, or -EBADMSG (then
 * chunk_iter_next returns -EBADMSG). */
int chunk_iter_init(struct chunk_iter *it, const uint8_t *buf, size_t len)
    __attribute__((warn_unused_result));

/* Next sample in time order: returns 1 and sets *ts_ms and *value, 0 at the end, or
 * -EBADMSG when the chunk is corrupt (samples returned before stay valid; the end-of-chunk
 * consistency checks run on the call that would return 0). Iterate until it returns <= 0.
 * Never reads outside buf; each call does bounded work. */
int chunk_iter_next(struct chunk_iter *it, int64_t *ts_ms, double *value)
    __attribute__((warn_unused_result));

#endif
