/* libFuzzer target for rollups (hub/rollup.c). Any bytes, as they are and with each column's
 * checksum made valid (to reach the cross-column checks), must be decoded or refused without
 * a crash, sanitizer report or endless loop; a decoded row must respect max, and re-encode to
 * a row that decodes to the same buckets bit for bit. The same bytes read as samples must
 * aggregate to what a plain loop finds (exact min / max / count / last, the sum to double
 * precision) and survive encode -> decode (else abort). */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/crc32c.h"
#include "hub/chunk.h"
#include "hub/rollup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_BUCKETS CHUNK_MAX_SAMPLES
#define MAX_INPUT ((size_t)64 * 1024)
#define COLUMNS 5

static struct rollup_bucket decoded[MAX_BUCKETS], again[MAX_BUCKETS];
static struct series_sample samples[CHUNK_MAX_SAMPLES];

static uint64_t bits(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

static void same_or_abort(const struct rollup_bucket *a, const struct rollup_bucket *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].start_ms != b[i].start_ms || a[i].count != b[i].count ||
            bits(a[i].min) != bits(b[i].min) || bits(a[i].max) != bits(b[i].max) ||
            bits(a[i].sum) != bits(b[i].sum) || bits(a[i].last) != bits(b[i].last))
            abort();
}

/* Encodes n buckets, decodes them into again[] and compares; returns the row (caller frees). */
static uint8_t *round_trip_or_abort(const struct rollup_bucket *buckets, size_t n, size_t *len)
{
    uint8_t *row = NULL;
    size_t got = 0;
    int rc = rollup_row_encode(buckets, n, &row, len);
    if (rc == -ENOMEM)
        return NULL;
    if (rc != 0 || rollup_row_decode(row, *len, again, n, &got) != 0 || got != n)
        abort();
    same_or_abort(buckets, again, n);
    return row;
}

static void decode_checked(const uint8_t *buf, size_t len)
{
    size_t n = SIZE_MAX, got;
    size_t max = MAX_BUCKETS;
    if (len > 0)
        max = buf[len - 1] % 2 ? MAX_BUCKETS : buf[len - 1] % 64; /* a bound the row may break */
    int rc = rollup_row_decode(buf, len, decoded, max, &n);
    if (rc == -EBADMSG)
        return;
    if (rc != 0 || n > max)
        abort();
    for (size_t i = 1; i < n; i++)
        if (decoded[i].start_ms < decoded[i - 1].start_ms)
            abort(); /* chunks keep time order */
    if (n > 0 && rollup_row_decode(buf, len, again, n - 1, &got) != -EBADMSG)
        abort(); /* one bucket too many for max */
    size_t row_len, row2_len;
    uint8_t *row = round_trip_or_abort(decoded, n, &row_len);
    if (row == NULL)
        return;
    uint8_t *row2 = round_trip_or_abort(decoded, n, &row2_len);
    if (row2 != NULL && (row2_len != row_len || memcmp(row, row2, row_len) != 0))
        abort(); /* encoding is deterministic */
    free(row2);
    free(row);
}

static bool get_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *out)
{
    return chunk_bits_get_varint(p, len, pos, out) == 0;
}

/* A copy of data whose column chunks carry valid CRC-32Cs, so corruption reaches the chunk
 * streams and the checks between columns. */
static void decode_with_valid_checksums(const uint8_t *data, size_t size)
{
    if (size < 2 || size > MAX_INPUT)
        return;
    uint8_t *copy = malloc(size);
    if (copy == NULL)
        return;
    memcpy(copy, data, size);
    size_t pos = 1;
    uint64_t count, clen;
    if (get_varint(copy, size, &pos, &count)) {
        for (int c = 0; c < COLUMNS; c++) {
            if (!get_varint(copy, size, &pos, &clen) || clen > size - pos)
                break;
            if (clen >= 8) {
                uint8_t *chunk = copy + pos;
                uint32_t crc = crc32c(0, chunk, (size_t)clen - 4);
                for (unsigned b = 0; b < 4; b++)
                    chunk[clen - 4 + b] = (uint8_t)(crc >> (8 * b));
            }
            pos += (size_t)clen;
        }
    }
    decode_checked(copy, size);
    free(copy);
}

static uint64_t take(const uint8_t **p, const uint8_t *end, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n && *p < end; i++)
        v = (v << 8) | *(*p)++;
    return v;
}

/* Samples, one per timestamp, ascending from a start within +-2^31 s. Each is a control byte
 * then its fields: bits 0-1 the step (1 ms, up to 255 s, up to 18 h, a bucket-sized jump),
 * bits 2-4 the value (raw bits, hundredths, integer, m / 10^k with k up to 10, repeat,
 * specials). */
static size_t make_samples(const uint8_t *p, const uint8_t *end, int64_t step_ms)
{
    static const double specials[] = {-0.0, 0.0, INFINITY, -INFINITY, NAN, 0.1, 1e308, 5e-324};
    static const double pow10[] = {1, 10, 100, 1000, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10};
    int64_t ts = (int64_t)(int32_t)take(&p, end, 4) * 1000;
    double v = 0;
    size_t n = 0;
    while (p < end && n < CHUNK_MAX_SAMPLES) {
        uint8_t control = *p++;
        uint64_t field;
        switch (control & 3) {
        case 0:
            ts += 1;
            break;
        case 1:
            ts += 1 + (int64_t)take(&p, end, 1) * 1000;
            break;
        case 2:
            ts += 1 + (int64_t)take(&p, end, 2) * 1000;
            break;
        default:
            ts += step_ms - (int64_t)take(&p, end, 1) % step_ms;
            break;
        }
        switch ((control >> 2) & 7) {
        case 0:
            field = take(&p, end, 8);
            memcpy(&v, &field, sizeof v);
            break;
        case 1:
            v = (double)(int16_t)take(&p, end, 2) / 100.0;
            break;
        case 2:
            v = (double)(int32_t)take(&p, end, 4);
            break;
        case 3:
            v = (double)((int64_t)(take(&p, end, 7) << 8) >> 8) / pow10[(control >> 5) % 11];
            break;
        case 4:
            break;
        default:
            v = specials[(control >> 5) % 8];
            break;
        }
        samples[n++] = (struct series_sample){ts, v};
    }
    return n;
}

static int64_t floor_to(int64_t ts, int64_t step)
{
    int64_t q = ts / step;
    if (ts % step < 0)
        q--;
    return q * step;
}

/* The bucket of samples[first..last) against a plain loop. */
static void check_bucket(const struct rollup_bucket *b, size_t first, size_t last, int64_t step)
{
    double plain = 0, magnitude = 0, min = samples[first].value, max = min;
    bool any_nan = false;
    for (size_t i = first; i < last; i++) {
        double v = samples[i].value;
        plain += v;
        magnitude += fabs(v);
        any_nan |= isnan(v);
        min = v < min ? v : min;
        max = v > max ? v : max;
    }
    if (b->start_ms != floor_to(samples[first].ts_ms, step) || b->count != last - first ||
        bits(b->last) != bits(samples[last - 1].value))
        abort();
    if (!any_nan && (b->min != min || b->max != max))
        abort();
    if (isnan(plain) != isnan(b->sum))
        abort();
    if (!isnan(plain) && b->sum != plain && !(fabs(b->sum - plain) <= 1e-9 * magnitude))
        abort();
}

static void compute_checked(const uint8_t *data, size_t size)
{
    if (size < 1)
        return;
    const int64_t step = rollup_tier_step_ms((enum rollup_tier)(data[0] % ROLLUP_TIER_COUNT));
    size_t n = make_samples(data + 1, data + size, step);
    size_t nb = rollup_compute(samples, n, step, decoded);
    if (nb > n || (n > 0 && nb == 0))
        abort();
    size_t i = 0;
    for (size_t b = 0; b < nb; b++) {
        if (b > 0 && decoded[b].start_ms <= decoded[b - 1].start_ms)
            abort();
        size_t j = i;
        while (j < n && floor_to(samples[j].ts_ms, step) == decoded[b].start_ms)
            j++;
        if (j == i)
            abort(); /* an empty bucket */
        check_bucket(&decoded[b], i, j, step);
        i = j;
    }
    if (i != n)
        abort(); /* samples left out */
    size_t len;
    free(round_trip_or_abort(decoded, nb, &len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    decode_checked(data, size);
    decode_with_valid_checksums(data, size);
    compute_checked(data, size);
    return 0;
}
