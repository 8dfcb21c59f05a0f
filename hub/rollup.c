/* Rollup arithmetic and row codec (see rollup.h). Row format, version 1: u8 version,
 * varint bucket count, then five columns min, max, sum, count, last, each a varint length
 * and a chunk (hub/chunk.h) of (bucket start, value). */
#include "hub/rollup.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hub/chunk.h"
#include "hub/query.h"

#define COLUMNS 5
#define DECIMAL_LIMIT 9007199254740992.0 /* 2^53 */

static const double pow10_table[CHUNK_MAX_SCALE + 1] = {1e0, 1e1, 1e2, 1e3, 1e4,
                                                        1e5, 1e6, 1e7, 1e8, 1e9};

int64_t rollup_tier_step_ms(enum rollup_tier tier)
{
    switch (tier) {
    case ROLLUP_TIER_1M:
        return 60000;
    case ROLLUP_TIER_5M:
        return 300000;
    case ROLLUP_TIER_1H:
        return 3600000;
    }
    return 0;
}

const char *rollup_tier_name(enum rollup_tier tier)
{
    switch (tier) {
    case ROLLUP_TIER_1M:
        return "1m";
    case ROLLUP_TIER_5M:
        return "5m";
    case ROLLUP_TIER_1H:
        return "1h";
    }
    return "?";
}

/* Smallest k with value == m / 10^k exactly (|m| < 2^53), or -1. */
static int decimal_scale(double value)
{
    if (!isfinite(value))
        return -1;
    for (int k = 0; k <= CHUNK_MAX_SCALE; k++) {
        double m = nearbyint(value * pow10_table[k]);
        if (fabs(m) < DECIMAL_LIMIT && m / pow10_table[k] == value)
            return k;
    }
    return -1;
}

/* The sum of samples[first..last): exact through integers when every value is decimal. */
static double bucket_sum(const struct series_sample *samples, size_t first, size_t last)
{
    int scale = 0;
    double plain = 0;
    for (size_t i = first; i < last; i++) {
        int k = decimal_scale(samples[i].value);
        scale = (k < 0 || scale < 0) ? -1 : (k > scale ? k : scale);
        plain += samples[i].value;
    }
    if (scale < 0)
        return plain;
    int64_t total = 0;
    for (size_t i = first; i < last; i++) {
        double m = nearbyint(samples[i].value * pow10_table[scale]);
        if (!(fabs(m) < DECIMAL_LIMIT) || __builtin_add_overflow(total, (int64_t)m, &total))
            return plain;
    }
    if (total >= (int64_t)DECIMAL_LIMIT || total <= -(int64_t)DECIMAL_LIMIT)
        return plain;
    return (double)total / pow10_table[scale];
}

size_t rollup_compute(const struct series_sample *samples, size_t n, int64_t step_ms,
                      struct rollup_bucket *out)
{
    size_t count = 0;
    for (size_t i = 0; i < n;) {
        int64_t start = query_bucket_start(samples[i].ts_ms, step_ms);
        struct rollup_bucket *b = &out[count++];
        b->start_ms = start;
        b->min = b->max = samples[i].value;
        size_t j = i;
        for (; j < n && samples[j].ts_ms < start + step_ms; j++) {
            double v = samples[j].value;
            b->min = v < b->min ? v : b->min;
            b->max = v > b->max ? v : b->max;
        }
        b->count = j - i;
        b->last = samples[j - 1].value;
        b->sum = bucket_sum(samples, i, j);
        i = j;
    }
    return count;
}

static double column_value(const struct rollup_bucket *b, int column)
{
    switch (column) {
    case 0:
        return b->min;
    case 1:
        return b->max;
    case 2:
        return b->sum;
    case 3:
        return (double)b->count;
    default:
        return b->last;
    }
}

int rollup_row_encode(const struct rollup_bucket *buckets, size_t n, uint8_t **out,
                      size_t *out_len)
{
    if (n > CHUNK_MAX_SAMPLES)
        return -EINVAL;
    struct chunk_encoder *enc = NULL;
    struct chunk_bitwriter row = {0};
    int rc = chunk_encoder_new(n > 0 ? n : 1, &enc);
    if (rc != 0)
        return rc;
    const uint8_t version = ROLLUP_FORMAT_VERSION;
    chunk_bits_write_bytes(&row, &version, 1);
    chunk_bits_write_varint(&row, n);
    for (int c = 0; c < COLUMNS && rc == 0; c++) {
        chunk_encoder_reset(enc);
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = chunk_encoder_append(enc, buckets[i].start_ms, column_value(&buckets[i], c));
        const uint8_t *chunk = NULL;
        size_t len = 0;
        if (rc == 0)
            rc = chunk_encoder_finish(enc, &chunk, &len);
        if (rc == 0) {
            chunk_bits_write_varint(&row, len);
            chunk_bits_write_bytes(&row, chunk, len);
        }
    }
    chunk_encoder_free(enc);
    if (rc == 0 && row.failed)
        rc = -ENOMEM;
    if (rc != 0) {
        free(row.buf);
        return rc;
    }
    *out = row.buf;
    *out_len = row.len;
    return 0;
}

static void set_column(struct rollup_bucket *b, int column, double v)
{
    switch (column) {
    case 0:
        b->min = v;
        break;
    case 1:
        b->max = v;
        break;
    case 2:
        b->sum = v;
        break;
    case 3:
        b->count = v >= 0 && v < 1.8e19 ? (uint64_t)v : 0;
        break;
    default:
        b->last = v;
        break;
    }
}

int rollup_row_decode(const uint8_t *buf, size_t len, struct rollup_bucket *out, size_t max,
                      size_t *n)
{
    size_t pos = 1;
    uint64_t count;
    if (len < 1 || buf[0] != ROLLUP_FORMAT_VERSION ||
        chunk_bits_get_varint(buf, len, &pos, &count) != 0 || count > max)
        return -EBADMSG;
    for (int c = 0; c < COLUMNS; c++) {
        uint64_t clen;
        if (chunk_bits_get_varint(buf, len, &pos, &clen) != 0 || clen > len - pos)
            return -EBADMSG;
        struct chunk_iter it;
        if (chunk_iter_init(&it, buf + pos, (size_t)clen) != 0 || it.info.count != count)
            return -EBADMSG;
        int64_t ts;
        double v;
        for (size_t i = 0; i < count; i++) {
            if (chunk_iter_next(&it, &ts, &v) != 1)
                return -EBADMSG;
            if (c == 0)
                out[i].start_ms = ts;
            else if (out[i].start_ms != ts)
                return -EBADMSG;
            set_column(&out[i], c, v);
        }
        if (chunk_iter_next(&it, &ts, &v) != 0)
            return -EBADMSG;
        pos += (size_t)clen;
    }
    if (pos != len)
        return -EBADMSG;
    *n = (size_t)count;
    return 0;
}
