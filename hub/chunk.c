/* Chunk codec of the time-series store (contract in hub/chunk.h). Pure; an encoder or an
 * iterator belongs to one thread at a time.
 *
 * Format, version 1 (varint = unsigned LEB128, zz = zigzag, all sequences MSB-first bits):
 *   u8 version | u8 encoding | u8 scale | varint count
 *   count > 0: i64 LE first_ts | varint last_ts - first_ts | varint unit (gcd of the deltas,
 *              1 when all are 0) | varint first delta / unit | varint ts_len
 *              ts stream (ts_len bytes): zero-run code of zz(delta-of-delta / unit),
 *              count - 2 of them, padded to a byte
 *              value stream, up to the checksum, padded to a byte:
 *                DECIMAL (value = (double)m / 10^scale, the division the encoder checked):
 *                gamma(zz(m0) + 1), then the count - 1 values zz(m[i] - m[i-1]) in blocks
 *                of 64, each a 6-bit mode: 0..61 Rice k, 62 zero-run code, 63 all zero
 *                XOR: Gorilla: 64 raw bits, then per value 0 (same) | 10 + bits in the last
 *                window | 11 + 5-bit leading zeros + 6-bit length - 1 + bits
 *   u32 LE CRC-32C of everything before. */
#include "common/crc32c.h"
#include "hub/chunk.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_LEN 64
#define BLOCK_MODE_BITS 6
#define BLOCK_ZERO_RUNS 62
#define BLOCK_ZEROS 63
#define TS_BIAS (UINT64_C(1) << 63)
#define DECIMAL_LIMIT (UINT64_C(1) << 53) /* |m| must stay below */
#define HEADER_MIN 4                      /* version, encoding, scale, count */
#define CRC_LEN 4

static const double pow10_table[CHUNK_MAX_SCALE + 1] = {1e0, 1e1, 1e2, 1e3, 1e4,
                                                        1e5, 1e6, 1e7, 1e8, 1e9};

struct chunk_encoder {
    size_t max_samples, count, cap;
    int64_t *ts_ms;
    double *values;
    uint64_t *scratch; /* delta-of-deltas, then value deltas */
    struct chunk_bitwriter out;
};

static uint64_t double_bits(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits;
}

static double bits_double(uint64_t bits)
{
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* uint64 -> int64 two's complement without implementation-defined conversions. */
static int64_t as_int64(uint64_t u)
{
    return u <= (uint64_t)INT64_MAX ? (int64_t)u : -(int64_t)(~u) - 1;
}

/* ---- encoder ------------------------------------------------------------------------ */

int chunk_encoder_new(size_t max_samples, struct chunk_encoder **out)
{
    if (max_samples == 0 || max_samples > CHUNK_MAX_SAMPLES)
        return -EINVAL;
    struct chunk_encoder *enc = calloc(1, sizeof *enc);
    if (enc == NULL)
        return -ENOMEM;
    enc->max_samples = max_samples;
    *out = enc;
    return 0;
}

void chunk_encoder_free(struct chunk_encoder *enc)
{
    if (enc == NULL)
        return;
    free(enc->ts_ms);
    free(enc->values);
    free(enc->scratch);
    free(enc->out.buf);
    free(enc);
}

static int grow(struct chunk_encoder *enc)
{
    size_t cap = enc->cap ? enc->cap * 2 : 64;
    if (cap > enc->max_samples)
        cap = enc->max_samples;
    int64_t *ts = realloc(enc->ts_ms, cap * sizeof *ts);
    if (ts == NULL)
        return -ENOMEM;
    enc->ts_ms = ts;
    double *values = realloc(enc->values, cap * sizeof *values);
    if (values == NULL)
        return -ENOMEM;
    enc->values = values;
    uint64_t *scratch = realloc(enc->scratch, cap * sizeof *scratch);
    if (scratch == NULL)
        return -ENOMEM;
    enc->scratch = scratch;
    enc->cap = cap;
    return 0;
}

int chunk_encoder_append(struct chunk_encoder *enc, int64_t ts_ms, double value)
{
    if (enc->count > 0 && ts_ms < enc->ts_ms[enc->count - 1])
        return -EINVAL;
    if (enc->count == enc->max_samples)
        return -ENOSPC;
    if (enc->count == enc->cap && grow(enc) != 0)
        return -ENOMEM;
    enc->ts_ms[enc->count] = ts_ms;
    enc->values[enc->count] = value;
    enc->count++;
    return 0;
}

size_t chunk_encoder_count(const struct chunk_encoder *enc)
{
    return enc->count;
}

void chunk_encoder_reset(struct chunk_encoder *enc)
{
    enc->count = 0;
}

/* m with m / 10^scale == v bit for bit and |m| < 2^53, if there is one. */
static bool decimal_exact(double v, unsigned scale, int64_t *m)
{
    double scaled = v * pow10_table[scale];
    if (!(fabs(scaled) < (double)DECIMAL_LIMIT))
        return false; /* also NaN and infinities */
    /* Round half away from zero, as llround; exact, and |candidate| stays below 2^53
     * (doubles from 2^52 on are whole numbers). */
    int64_t candidate = (int64_t)scaled;
    double fraction = scaled - (double)candidate;
    candidate += fraction >= 0.5 ? 1 : fraction <= -0.5 ? -1 : 0;
    if (double_bits((double)candidate / pow10_table[scale]) != double_bits(v))
        return false; /* not that decimal, or -0.0 */
    *m = candidate;
    return true;
}

/* The smallest scale that makes every value decimal, or -1. Exactness at a scale carries
 * to larger ones while |m| stays below 2^53; the values checked at a smaller scale than the
 * final one are checked again anyway. */
static int decimal_scale(const double *values, size_t n)
{
    unsigned scale = 0;
    size_t raised_at = 0;
    int64_t m;
    for (size_t i = 0; i < n; i++) {
        while (!decimal_exact(values[i], scale, &m)) {
            if (++scale > CHUNK_MAX_SCALE)
                return -1;
            raised_at = i;
        }
    }
    for (size_t i = 0; i < raised_at; i++)
        if (!decimal_exact(values[i], scale, &m))
            return -1;
    return (int)scale;
}

static uint64_t gcd_u64(uint64_t a, uint64_t b)
{
    while (b != 0) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Header fields after the count, then the timestamp stream. */
static void write_timestamps(struct chunk_encoder *enc)
{
    const int64_t *ts = enc->ts_ms;
    size_t n = enc->count;
    uint64_t unit = 0, raw, last_raw = 0;
    for (size_t i = 1; i < n; i++) {
        raw = (uint64_t)ts[i] - (uint64_t)ts[i - 1];
        if (raw != last_raw) /* deltas repeat: skip the divisions */
            unit = gcd_u64(unit, raw);
        last_raw = raw;
    }
    if (unit == 0)
        unit = 1;
    uint8_t first[8];
    for (unsigned b = 0; b < 8; b++)
        first[b] = (uint8_t)((uint64_t)ts[0] >> (8 * b));
    chunk_bits_write_bytes(&enc->out, first, sizeof first);
    chunk_bits_write_varint(&enc->out, (uint64_t)ts[n - 1] - (uint64_t)ts[0]);
    chunk_bits_write_varint(&enc->out, unit);
    last_raw = n > 1 ? (uint64_t)ts[1] - (uint64_t)ts[0] : 0;
    uint64_t prev = last_raw / unit;
    chunk_bits_write_varint(&enc->out, prev);
    for (size_t i = 2; i < n; i++) {
        raw = (uint64_t)ts[i] - (uint64_t)ts[i - 1];
        uint64_t delta = raw == last_raw ? prev : raw / unit;
        enc->scratch[i - 2] = chunk_bits_zigzag(delta - prev);
        prev = delta;
        last_raw = raw;
    }
    size_t dods = n > 2 ? n - 2 : 0;
    uint64_t bits = chunk_bits_zero_runs_cost(enc->scratch, dods);
    chunk_bits_write_varint(&enc->out, (bits + 7) / 8);
    chunk_bits_write_zero_runs(&enc->out, enc->scratch, dods);
    chunk_bits_flush(&enc->out);
}

static unsigned block_mode(const uint64_t *deltas, size_t n)
{
    uint64_t sum = 0;
    bool all_zero = true;
    for (size_t i = 0; i < n; i++) {
        all_zero = all_zero && deltas[i] == 0;
        sum = sum + deltas[i] < sum ? UINT64_MAX : sum + deltas[i];
    }
    if (all_zero)
        return BLOCK_ZEROS;
    uint64_t mean = sum / n;
    unsigned guess = mean ? 64u - (unsigned)__builtin_clzll(mean) : 0;
    unsigned best = BLOCK_ZERO_RUNS;
    uint64_t best_bits = chunk_bits_zero_runs_cost(deltas, n);
    /* The optimal Rice parameter sits just below log2(mean); try a window around it. */
    unsigned k = guess > 3 ? guess - 3 : 0;
    for (; k <= guess + 1 && k <= CHUNK_BITS_RICE_MAX_K; k++) {
        uint64_t bits = chunk_bits_rice_cost(deltas, n, k);
        if (bits < best_bits) {
            best_bits = bits;
            best = k;
        }
    }
    return best;
}

static void write_decimal(struct chunk_encoder *enc, unsigned scale)
{
    int64_t m = 0, prev = 0;
    (void)decimal_exact(enc->values[0], scale, &prev); /* checked by decimal_scale */
    chunk_bits_write_gamma(&enc->out, chunk_bits_zigzag((uint64_t)prev) + 1);
    for (size_t i = 1; i < enc->count; i++) {
        (void)decimal_exact(enc->values[i], scale, &m);
        enc->scratch[i - 1] = chunk_bits_zigzag((uint64_t)m - (uint64_t)prev);
        prev = m;
    }
    for (size_t start = 0; start + 1 < enc->count; start += BLOCK_LEN) {
        const uint64_t *block = enc->scratch + start;
        size_t n = enc->count - 1 - start < BLOCK_LEN ? enc->count - 1 - start : BLOCK_LEN;
        unsigned mode = block_mode(block, n);
        chunk_bits_write(&enc->out, mode, BLOCK_MODE_BITS);
        if (mode == BLOCK_ZERO_RUNS)
            chunk_bits_write_zero_runs(&enc->out, block, n);
        else if (mode < BLOCK_ZERO_RUNS)
            for (size_t i = 0; i < n; i++)
                chunk_bits_write_rice(&enc->out, block[i], mode);
    }
}

static void write_xor(struct chunk_encoder *enc)
{
    struct chunk_bitwriter *w = &enc->out;
    uint64_t prev = double_bits(enc->values[0]);
    unsigned win_leading = 0, win_len = 0; /* no window yet */
    chunk_bits_write(w, prev, 64);
    for (size_t i = 1; i < enc->count; i++) {
        uint64_t bits = double_bits(enc->values[i]);
        uint64_t x = bits ^ prev;
        prev = bits;
        if (x == 0) {
            chunk_bits_write(w, 0, 1);
            continue;
        }
        unsigned leading = (unsigned)__builtin_clzll(x), trailing = (unsigned)__builtin_ctzll(x);
        if (leading > 31)
            leading = 31;
        if (win_len > 0 && leading >= win_leading && trailing >= 64 - win_leading - win_len) {
            chunk_bits_write(w, 2, 2);
            chunk_bits_write(w, x >> (64 - win_leading - win_len), win_len);
            continue;
        }
        win_leading = leading;
        win_len = 64 - leading - trailing;
        chunk_bits_write(w, 3, 2);
        chunk_bits_write(w, win_leading, 5);
        chunk_bits_write(w, win_len - 1, 6);
        chunk_bits_write(w, x >> trailing, win_len);
    }
}

int chunk_encoder_finish(struct chunk_encoder *enc, const uint8_t **out, size_t *len)
{
    struct chunk_bitwriter *w = &enc->out;
    w->len = 0;
    w->acc = 0;
    w->acc_bits = 0;
    w->failed = false;
    int scale = enc->count > 0 ? decimal_scale(enc->values, enc->count) : 0;
    enum chunk_encoding encoding = scale >= 0 ? CHUNK_ENCODING_DECIMAL : CHUNK_ENCODING_XOR;
    const uint8_t head[3] = {CHUNK_FORMAT_VERSION, (uint8_t)encoding,
                             (uint8_t)(scale >= 0 ? scale : 0)};
    chunk_bits_write_bytes(w, head, sizeof head);
    chunk_bits_write_varint(w, enc->count);
    if (enc->count > 0) {
        write_timestamps(enc);
        if (encoding == CHUNK_ENCODING_DECIMAL)
            write_decimal(enc, (unsigned)scale);
        else
            write_xor(enc);
        chunk_bits_flush(w);
    }
    uint32_t crc = w->failed ? 0 : crc32c(0, w->buf, w->len);
    const uint8_t crc_le[CRC_LEN] = {(uint8_t)crc, (uint8_t)(crc >> 8), (uint8_t)(crc >> 16),
                                     (uint8_t)(crc >> 24)};
    chunk_bits_write_bytes(w, crc_le, sizeof crc_le);
    if (w->failed)
        return -ENOMEM;
    *out = w->buf;
    *len = w->len;
    return 0;
}

/* ---- decoder ------------------------------------------------------------------------ */

struct header {
    struct chunk_info info;
    uint64_t unit, first_delta;
    size_t ts_off, ts_len, value_off, value_len;
};

static int parse_counts(const uint8_t *buf, size_t body, size_t *pos, struct header *h)
{
    uint64_t first = 0, span, ts_len;
    for (unsigned b = 0; b < 8; b++, (*pos)++) {
        if (*pos >= body)
            return -EBADMSG;
        first |= (uint64_t)buf[*pos] << (8 * b);
    }
    if (chunk_bits_get_varint(buf, body, pos, &span) != 0 ||
        chunk_bits_get_varint(buf, body, pos, &h->unit) != 0 ||
        chunk_bits_get_varint(buf, body, pos, &h->first_delta) != 0 ||
        chunk_bits_get_varint(buf, body, pos, &ts_len) != 0)
        return -EBADMSG;
    uint64_t first_biased = first ^ TS_BIAS;
    if (span > UINT64_MAX - first_biased || h->unit == 0 || span % h->unit != 0 ||
        h->first_delta > span / h->unit || ts_len > body - *pos)
        return -EBADMSG;
    if (h->info.count == 1 && (span != 0 || h->unit != 1 || ts_len != 0))
        return -EBADMSG;
    h->info.first_ts_ms = as_int64(first);
    h->info.last_ts_ms = as_int64((first_biased + span) ^ TS_BIAS);
    h->ts_off = *pos;
    h->ts_len = (size_t)ts_len;
    h->value_off = *pos + (size_t)ts_len;
    h->value_len = body - h->value_off;
    return 0;
}

static int parse_header(const uint8_t *buf, size_t len, struct header *h)
{
    memset(h, 0, sizeof *h);
    if (buf == NULL || len < HEADER_MIN + CRC_LEN)
        return -EBADMSG;
    size_t body = len - CRC_LEN, pos = 3;
    uint64_t count;
    if (buf[0] != CHUNK_FORMAT_VERSION || buf[1] > CHUNK_ENCODING_XOR || buf[2] > CHUNK_MAX_SCALE ||
        (buf[1] == CHUNK_ENCODING_XOR && buf[2] != 0))
        return -EBADMSG;
    if (chunk_bits_get_varint(buf, body, &pos, &count) != 0 || count > CHUNK_MAX_SAMPLES)
        return -EBADMSG;
    h->info.count = (uint32_t)count;
    h->info.encoding = buf[1] == CHUNK_ENCODING_XOR ? CHUNK_ENCODING_XOR : CHUNK_ENCODING_DECIMAL;
    h->info.scale = buf[2];
    if (count == 0)
        return pos == body && buf[1] == CHUNK_ENCODING_DECIMAL && buf[2] == 0 ? 0 : -EBADMSG;
    return parse_counts(buf, body, &pos, h);
}

int chunk_info_parse(const uint8_t *buf, size_t len, struct chunk_info *info)
{
    struct header h;
    int rc = parse_header(buf, len, &h);
    if (rc == 0)
        *info = h.info;
    return rc;
}

int chunk_iter_init(struct chunk_iter *it, const uint8_t *buf, size_t len)
{
    struct header h;
    memset(it, 0, sizeof *it);
    it->state = -EBADMSG;
    if (parse_header(buf, len, &h) != 0)
        return -EBADMSG;
    const uint8_t *crc = buf + len - CRC_LEN;
    uint32_t stored =
        (uint32_t)crc[0] | (uint32_t)crc[1] << 8 | (uint32_t)crc[2] << 16 | (uint32_t)crc[3] << 24;
    if (stored != crc32c(0, buf, len - CRC_LEN))
        return -EBADMSG;
    it->info = h.info;
    it->ts_unit = h.unit;
    it->delta = h.first_delta;
    it->ts_biased = (uint64_t)h.info.first_ts_ms ^ TS_BIAS;
    it->last_biased = (uint64_t)h.info.last_ts_ms ^ TS_BIAS;
    chunk_bits_reader_init(&it->ts_bits, buf + h.ts_off, h.ts_len);
    chunk_bits_reader_init(&it->value_bits, buf + h.value_off, h.value_len);
    it->state = 0;
    return 0;
}

static int next_timestamp(struct chunk_iter *it)
{
    if (it->index == 0)
        return 0; /* the first timestamp is in the header */
    uint64_t z = 0;
    if (it->index >= 2 &&
        chunk_bits_read_zero_runs(&it->ts_bits, &it->ts_runs, it->info.count - it->index, &z) != 0)
        return -EBADMSG;
    if (it->index == 1 || z != 0) { /* else the step repeats: no multiplication */
        it->delta += chunk_bits_unzigzag(z);
        if (__builtin_mul_overflow(it->delta, it->ts_unit, &it->step_ms))
            return -EBADMSG;
    }
    if (it->step_ms > it->last_biased - it->ts_biased)
        return -EBADMSG; /* would pass the last timestamp (or go back) */
    it->ts_biased += it->step_ms;
    return 0;
}

static int next_decimal_delta(struct chunk_iter *it, uint64_t *z)
{
    if (it->block_left == 0) {
        uint64_t mode;
        uint32_t left = it->info.count - it->index;
        if (chunk_bits_read(&it->value_bits, BLOCK_MODE_BITS, &mode) != 0)
            return -EBADMSG;
        it->block_mode = (unsigned)mode;
        it->block_left = left < BLOCK_LEN ? left : BLOCK_LEN;
        memset(&it->value_runs, 0, sizeof it->value_runs);
    }
    uint32_t remaining = it->block_left--;
    if (it->block_mode == BLOCK_ZEROS) {
        *z = 0;
        return 0;
    }
    if (it->block_mode == BLOCK_ZERO_RUNS)
        return chunk_bits_read_zero_runs(&it->value_bits, &it->value_runs, remaining, z);
    return chunk_bits_read_rice(&it->value_bits, it->block_mode, z);
}

static int next_decimal(struct chunk_iter *it, double *value)
{
    uint64_t z;
    if (it->index == 0) {
        if (chunk_bits_read_gamma(&it->value_bits, &z) != 0)
            return -EBADMSG;
        it->value = chunk_bits_unzigzag(z - 1);
    } else {
        if (next_decimal_delta(it, &z) != 0)
            return -EBADMSG;
        it->value += chunk_bits_unzigzag(z);
    }
    if (it->value + (DECIMAL_LIMIT - 1) > 2 * (DECIMAL_LIMIT - 1))
        return -EBADMSG; /* |m| >= 2^53 */
    *value = (double)as_int64(it->value) / pow10_table[it->info.scale];
    return 0;
}

static int next_xor(struct chunk_iter *it, double *value)
{
    struct chunk_bitreader *r = &it->value_bits;
    uint64_t bit, x, leading, len;
    if (it->index == 0) {
        if (chunk_bits_read(r, 64, &it->value) != 0)
            return -EBADMSG;
        *value = bits_double(it->value);
        return 0;
    }
    if (chunk_bits_read(r, 1, &bit) != 0)
        return -EBADMSG;
    if (bit == 1) {
        if (chunk_bits_read(r, 1, &bit) != 0)
            return -EBADMSG;
        if (bit == 1) {
            if (chunk_bits_read(r, 5, &leading) != 0 || chunk_bits_read(r, 6, &len) != 0 ||
                leading + len + 1 > 64)
                return -EBADMSG;
            it->xor_leading = (unsigned)leading;
            it->xor_meaningful = (unsigned)len + 1;
        } else if (it->xor_meaningful == 0) {
            return -EBADMSG; /* reuse of a window that does not exist */
        }
        if (chunk_bits_read(r, it->xor_meaningful, &x) != 0)
            return -EBADMSG;
        it->value ^= x << (64 - it->xor_leading - it->xor_meaningful);
    }
    *value = bits_double(it->value);
    return 0;
}

static int finish_iteration(struct chunk_iter *it)
{
    bool ok = chunk_bits_at_end(&it->ts_bits) && chunk_bits_at_end(&it->value_bits) &&
              (it->info.count == 0 || it->ts_biased == it->last_biased);
    it->state = ok ? 1 : -EBADMSG;
    return ok ? 0 : -EBADMSG;
}

int chunk_iter_next(struct chunk_iter *it, int64_t *ts_ms, double *value)
{
    if (it->state != 0)
        return it->state == 1 ? 0 : it->state;
    if (it->index == it->info.count)
        return finish_iteration(it);
    double v;
    int rc = next_timestamp(it);
    if (rc == 0)
        rc = it->info.encoding == CHUNK_ENCODING_DECIMAL ? next_decimal(it, &v) : next_xor(it, &v);
    if (rc != 0) {
        it->state = -EBADMSG;
        return -EBADMSG;
    }
    it->index++;
    *ts_ms = as_int64(it->ts_biased ^ TS_BIAS);
    *value = v;
    return 1;
}
