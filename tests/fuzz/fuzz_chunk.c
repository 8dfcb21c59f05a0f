/* libFuzzer target for the chunk codec (hub/chunk.c): any bytes, as they are and with their
 * checksum made valid (to reach the stream decoders), must be decoded or refused without a
 * crash, sanitizer report or endless loop; the same bytes read as samples must survive
 * encode -> decode bit for bit (else abort). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/crc32c.h"
#include "hub/chunk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT ((size_t)64 * 1024)

static void decode_checked(const uint8_t *buf, size_t len)
{
    struct chunk_info info;
    struct chunk_iter it;
    int64_t ts, prev = INT64_MIN;
    double value;
    uint32_t n = 0;
    int rc;
    if (chunk_iter_init(&it, buf, len) != 0)
        return;
    if (chunk_info_parse(buf, len, &info) != 0)
        abort(); /* the iterator accepted what the header parser refuses */
    while ((rc = chunk_iter_next(&it, &ts, &value)) == 1) {
        if (++n > info.count || ts < prev || ts < info.first_ts_ms || ts > info.last_ts_ms)
            abort();
        prev = ts;
    }
    if (rc != 0 && rc != -EBADMSG)
        abort();
    if (rc == 0 && n != info.count)
        abort();
}

/* A copy of data whose trailing CRC-32C matches, so corruption reaches the streams. */
static void decode_with_valid_checksum(const uint8_t *data, size_t size)
{
    if (size < 8 || size > MAX_INPUT)
        return;
    uint8_t *copy = malloc(size);
    if (copy == NULL)
        return;
    memcpy(copy, data, size);
    uint32_t crc = crc32c(0, copy, size - 4);
    for (unsigned b = 0; b < 4; b++)
        copy[size - 4 + b] = (uint8_t)(crc >> (8 * b));
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

/* Each sample is a control byte then its fields: bits 0-1 pick the timestamp (+0, +small
 * delta, +5 s +- jitter, any 64-bit value), bits 2-4 the value (raw bits, hundredths,
 * integer, m / 10^k, repeat, NaN/-0.0/Inf). */
static size_t make_samples(const uint8_t *p, const uint8_t *end, int64_t *ts, double *values,
                           size_t max)
{
    static const double specials[] = {-0.0, 0.0, INFINITY, -INFINITY, NAN, 0.1};
    static const double pow10[] = {1, 10, 100, 1000, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10};
    int64_t t = 1735689600000;
    double v = 0;
    size_t n = 0;
    while (p < end && n < max) {
        uint8_t control = *p++;
        uint64_t field;
        uint64_t step = 0; /* wraps past INT64_MAX: a step back in time the encoder refuses */
        switch (control & 3) {
        case 0:
            break;
        case 1:
            step = take(&p, end, 1);
            break;
        case 2:
            step = 4000 + take(&p, end, 1) % 3 * 1000;
            break;
        default:
            t = (int64_t)take(&p, end, 8);
            break;
        }
        t = (int64_t)((uint64_t)t + step);
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
            v = (double)(int64_t)take(&p, end, 7) / pow10[(control >> 5) % 11];
            break;
        case 4:
            break;
        default:
            v = specials[(control >> 5) % 6];
            break;
        }
        ts[n] = t;
        values[n++] = v;
    }
    return n;
}

static void round_trip(const uint8_t *data, size_t size)
{
    static int64_t ts[CHUNK_MAX_SAMPLES + 1];
    static double values[CHUNK_MAX_SAMPLES + 1];
    struct chunk_encoder *enc = NULL;
    struct chunk_iter it;
    const uint8_t *bytes;
    size_t len, n, kept = 0;
    if (size < 2)
        return;
    size_t max = 1 + (((size_t)data[0] << 8 | data[1]) % CHUNK_MAX_SAMPLES);
    n = make_samples(data + 2, data + size, ts, values, CHUNK_MAX_SAMPLES + 1);
    if (chunk_encoder_new(max, &enc) != 0)
        abort();
    for (size_t i = 0; i < n; i++) {
        int rc = chunk_encoder_append(enc, ts[i], values[i]);
        if (rc == -ENOSPC && kept == max)
            break;
        if (rc == -EINVAL && kept > 0 && ts[i] < ts[kept - 1])
            continue; /* went back in time: refused, the encoder stays usable */
        if (rc != 0)
            abort();
        ts[kept] = ts[i];
        values[kept++] = values[i];
    }
    if (chunk_encoder_finish(enc, &bytes, &len) != 0 || chunk_iter_init(&it, bytes, len) != 0)
        abort();
    for (size_t i = 0; i <= kept; i++) {
        int64_t t;
        double v;
        int rc = chunk_iter_next(&it, &t, &v);
        uint64_t got, want;
        memcpy(&got, &v, sizeof got);
        memcpy(&want, &values[i < kept ? i : 0], sizeof want);
        if (i == kept ? rc != 0 : rc != 1 || t != ts[i] || got != want)
            abort();
    }
    chunk_encoder_free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    decode_checked(data, size);
    decode_with_valid_checksum(data, size);
    round_trip(data, size);
    return 0;
}
