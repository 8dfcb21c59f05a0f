/* Records of the store's write-ahead table: the numeric samples one batch added or changed,
 * as one byte string (one SQLite row per batch). Format, version 1: u8 version, then per
 * sample until the end: varint series id, varint zigzag(ts - previous ts; the first against
 * 0), u8 kind (enum store_kind), 8 bytes IEEE double little-endian.
 * Pure: no I/O, no clock, no logging. A wal_buf belongs to one thread. */
#ifndef UPDRAFT_HUB_WAL_H
#define UPDRAFT_HUB_WAL_H

#include <stddef.h>
#include <stdint.h>

#include "hub/chunk_bits.h"

#define WAL_FORMAT_VERSION 1

struct wal_sample {
    int64_t series_id; /* > 0 */
    int64_t ts_ms;
    uint8_t kind;
    double value;
};

/* A record being built: start zeroed; wal_buf_free releases it. */
struct wal_buf {
    struct chunk_bitwriter out;
    int64_t prev_ts_ms;
    size_t count;
};

/* Appends a sample (the first one also writes the version byte). 0 or -ENOMEM. */
int wal_buf_add(struct wal_buf *b, const struct wal_sample *s) __attribute__((warn_unused_result));
/* Drops the samples, keeps the memory. */
void wal_buf_reset(struct wal_buf *b);
void wal_buf_free(struct wal_buf *b);

/* Calls fn for each sample of an untrusted record, in order; fn returns 0 to go on.
 * Returns 0, fn's non-zero result, or -EBADMSG (samples before the bad one were given). */
int wal_decode(const uint8_t *buf, size_t len,
               int (*fn)(void *user, const struct wal_sample *s), void *user)
    __attribute__((warn_unused_result));

#endif
