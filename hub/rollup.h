/* Rollups: per-bucket min, max, sum, count and last of one series, for the store's coarser
 * tiers (1 m, 5 m, 1 h buckets aligned to the epoch), and their encoding as one row of five
 * compressed columns (each a chunk, see chunk.h, whose timestamps are the bucket starts).
 * Sums of decimal values are exact: when every value of a bucket is m / 10^k for one k, the
 * sum is the integer sum of the m scaled back once (so it stays a short decimal).
 * Pure: no I/O, no clock, no logging. */
#ifndef UPDRAFT_HUB_ROLLUP_H
#define UPDRAFT_HUB_ROLLUP_H

#include <stddef.h>
#include <stdint.h>

#include "hub/series.h"

enum rollup_tier {
    ROLLUP_TIER_1M = 0,
    ROLLUP_TIER_5M = 1,
    ROLLUP_TIER_1H = 2,
};
#define ROLLUP_TIER_COUNT 3
#define ROLLUP_FORMAT_VERSION 1

int64_t rollup_tier_step_ms(enum rollup_tier tier); /* 60000, 300000, 3600000 */
const char *rollup_tier_name(enum rollup_tier tier); /* "1m", "5m", "1h" */

struct rollup_bucket {
    int64_t start_ms; /* a multiple of the tier's step */
    double min, max, sum, last;
    uint64_t count;
};

/* Aggregates n samples (timestamps ascending, one per timestamp) into buckets of step_ms.
 * out must hold one bucket per distinct bucket start (at most n). Returns how many. */
size_t rollup_compute(const struct series_sample *samples, size_t n, int64_t step_ms,
                      struct rollup_bucket *out);

/* Encodes buckets (starts ascending) as one row; *out is malloc'd (caller frees).
 * Returns 0 or -ENOMEM / -EINVAL (more buckets than a chunk holds). */
int rollup_row_encode(const struct rollup_bucket *buckets, size_t n, uint8_t **out,
                      size_t *out_len) __attribute__((warn_unused_result));

/* Decodes an untrusted row into out (room for max buckets). Returns 0 and *n, or -EBADMSG
 * (corrupt, columns disagree, or more than max buckets). */
int rollup_row_decode(const uint8_t *buf, size_t len, struct rollup_bucket *out, size_t max,
                      size_t *n) __attribute__((warn_unused_result));

#endif
