/* Unit tests of hub/chunk: round trips (bit-exact), the choice of value encoding, limits,
 * corrupt and truncated input, and compression ratios that a regression would break. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/crc32c.h"
#include "hub/chunk.h"

#define T0 INT64_C(1735689600000) /* 2025-01-01T00:00:00Z */

#include "tests/support/alloc_fail.h"
#include "tests/support/test_bits.h"
#define FAULT_INJECTION ALLOC_FAIL_AVAILABLE

/* Encodes n samples; returns a malloc'd copy of the chunk. */
static uint8_t *encode(const int64_t *ts, const double *values, size_t n, size_t *len)
{
    struct chunk_encoder *enc = NULL;
    const uint8_t *bytes;
    assert_int_equal(chunk_encoder_new(CHUNK_MAX_SAMPLES, &enc), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(chunk_encoder_append(enc, ts[i], values[i]), 0);
    assert_int_equal(chunk_encoder_finish(enc, &bytes, len), 0);
    uint8_t *copy = malloc(*len);
    assert_non_null(copy);
    memcpy(copy, bytes, *len);
    chunk_encoder_free(enc);
    return copy;
}

/* Decodes into ts/values (room for max); returns the count, or -EBADMSG. */
static int decode(const uint8_t *buf, size_t len, int64_t *ts, double *values, size_t max)
{
    struct chunk_iter it;
    int64_t t;
    double v;
    int rc;
    size_t n = 0;
    if (chunk_iter_init(&it, buf, len) != 0)
        return -EBADMSG;
    while ((rc = chunk_iter_next(&it, &t, &v)) == 1) {
        if (n > CHUNK_MAX_SAMPLES)
            fail_msg("iterator returned more samples than a chunk holds");
        if (n < max) {
            ts[n] = t;
            values[n] = v;
        }
        n++;
    }
    assert_int_equal(chunk_iter_next(&it, &t, &v), rc); /* the end is sticky */
    return rc < 0 ? rc : (int)n;
}

/* Round trip, bit-exact; returns the encoded size and the header. */
static size_t check_round_trip(const int64_t *ts, const double *values, size_t n,
                               struct chunk_info *info)
{
    static int64_t ts_back[CHUNK_MAX_SAMPLES];
    static double values_back[CHUNK_MAX_SAMPLES];
    size_t len;
    uint8_t *buf = encode(ts, values, n, &len);
    assert_int_equal(decode(buf, len, ts_back, values_back, CHUNK_MAX_SAMPLES), (int)n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ts_back[i], ts[i]);
        assert_int_equal(test_bits_of(values_back[i]), test_bits_of(values[i]));
    }
    assert_int_equal(chunk_info_parse(buf, len, info), 0);
    assert_int_equal(info->count, n);
    if (n > 0) {
        assert_int_equal(info->first_ts_ms, ts[0]);
        assert_int_equal(info->last_ts_ms, ts[n - 1]);
    }
    free(buf);
    return len;
}

/* Host-metric-like series: 5 s ticks, ~1 % of them 1 s early or late. */
static void jittered_ticks(int64_t *ts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t r = test_bits_rng() % 200;
        ts[i] = T0 + (int64_t)i * 5000 + (r == 0 ? -1000 : r == 1 ? 1000 : 0);
    }
}

/* A noisy percentage with 2 decimals, as cpu.utilization. */
static void two_decimal_walk(double *values, size_t n)
{
    int64_t hundredths = 2500;
    for (size_t i = 0; i < n; i++) {
        hundredths += (int64_t)(test_bits_rng() % 201) - 100;
        if (hundredths < 0)
            hundredths = -hundredths;
        values[i] = (double)hundredths / 100.0;
    }
}

static int64_t ts_buf[CHUNK_MAX_SAMPLES];
static double value_buf[CHUNK_MAX_SAMPLES];

static void round_trips_random_values_bit_exactly(void **state)
{
    (void)state;
    struct chunk_info info;
    for (size_t i = 0; i < CHUNK_MAX_SAMPLES; i++) {
        ts_buf[i] = T0 + (int64_t)i * 1000;
        value_buf[i] = test_bits_double(test_bits_rng()); /* includes NaNs with payloads, subnormals */
    }
    check_round_trip(ts_buf, value_buf, CHUNK_MAX_SAMPLES, &info);
    assert_int_equal(info.encoding, CHUNK_ENCODING_XOR);
    for (size_t i = 0; i < 1000; i++)
        value_buf[i] = (double)(test_bits_rng() % 1000000) / 7.0; /* binary fractions */
    check_round_trip(ts_buf, value_buf, 1000, &info);
    assert_int_equal(info.encoding, CHUNK_ENCODING_XOR);
}

static void picks_the_decimal_path_for_two_decimal_values(void **state)
{
    (void)state;
    struct chunk_info info;
    jittered_ticks(ts_buf, 2000);
    two_decimal_walk(value_buf, 2000);
    value_buf[7] = 0.01;
    value_buf[8] = -123.45;
    check_round_trip(ts_buf, value_buf, 2000, &info);
    assert_int_equal(info.encoding, CHUNK_ENCODING_DECIMAL);
    assert_int_equal(info.scale, 2);
}

static void picks_the_smallest_common_scale(void **state)
{
    (void)state;
    struct chunk_info info;
    const double mixed[] = {1.0, 0.5, 0.25, 3.0, 0.2, 100.0};
    const double rates[] = {0.2, 0.4, 0.6, 1.2, 4.0, 19.8}; /* iops as counter delta / 5 s */
    const double fine[] = {0.000000001, 1.5, 0.1234567891};
    for (size_t i = 0; i < 6; i++)
        ts_buf[i] = T0 + (int64_t)i;
    check_round_trip(ts_buf, mixed, 6, &info);
    assert_int_equal(info.encoding, CHUNK_ENCODING_DECIMAL);
    assert_int_equal(info.scale, 2);
    check_round_trip(ts_buf, rates, 6, &info);
    assert_int_equal(info.encoding, CHUNK_ENCODING_DECIMAL);
    assert_int_equal(info.scale, 1);
    check_round_trip(ts_buf, fine, 2, &info);
    assert_int_equal(info.scale, 9);
    check_round_trip(ts_buf, fine, 3, &info); /* 10 digits after the point: too many */
    assert_int_equal(info.encoding, CHUNK_ENCODING_XOR);
}

static void picks_scale_zero_for_integers_up_to_two_to_the_53(void **state)
{
    (void)state;
    struct chunk_info info;
    for (size_t i = 0; i < 500; i++) {
        ts_buf[i] = T0 + (int64_t)i * 5000;
        value_buf[i] = (double)(3000 + (int64_t)(test_bits_rng() % 64) - 32);
    }
    value_buf[10] = 9007199254740991.0; /* 2^53 - 1 */
    value_buf[11] = -9007199254740991.0;
    value_buf[12] = 0.0;
    check_round_trip(ts_buf, value_buf, 500, &info);
    assert_int_equal(info.encoding, CHUNK_ENCODING_DECIMAL);
    assert_int_equal(info.scale, 0);
    value_buf[13] = 9007199254740992.0; /* 2^53: out of the decimal range */
    check_round_trip(ts_buf, value_buf, 500, &info);
    assert_int_equal(info.encoding, CHUNK_ENCODING_XOR);
}

static void falls_back_to_xor_for_nan_infinities_and_negative_zero(void **state)
{
    (void)state;
    struct chunk_info info;
    const double specials[] = {
        NAN, -NAN, INFINITY, -INFINITY, -0.0, test_bits_double(0x7ff0000000000001u), 1e308, 4.9e-324};
    jittered_ticks(ts_buf, 300);
    for (size_t s = 0; s < sizeof specials / sizeof specials[0]; s++) {
        two_decimal_walk(value_buf, 300);
        value_buf[s * 20] = specials[s];
        value_buf[299] = specials[s];
        check_round_trip(ts_buf, value_buf, 300, &info);
        assert_int_equal(info.encoding, CHUNK_ENCODING_XOR);
    }
    for (size_t i = 0; i < 300; i++)
        value_buf[i] = -0.0;
    check_round_trip(ts_buf, value_buf, 300, &info);
    assert_int_equal(info.encoding, CHUNK_ENCODING_XOR);
}

static void keeps_equal_timestamps(void **state)
{
    (void)state;
    struct chunk_info info;
    for (size_t i = 0; i < 100; i++) {
        ts_buf[i] = T0 + (int64_t)(i / 3) * 5000;
        value_buf[i] = (double)i;
    }
    check_round_trip(ts_buf, value_buf, 100, &info);
    for (size_t i = 0; i < 100; i++)
        ts_buf[i] = T0;
    check_round_trip(ts_buf, value_buf, 100, &info);
    assert_int_equal(info.last_ts_ms, T0);
}

static void round_trips_gaps_of_days_and_of_two_to_the_forty_ms(void **state)
{
    (void)state;
    struct chunk_info info;
    const int64_t day = INT64_C(86400000), huge = INT64_C(1) << 40;
    const int64_t ts[] = {T0,
                          T0 + 5000,
                          T0 + 10000,
                          T0 + 3 * day,
                          T0 + 3 * day + 5000,
                          T0 + 3 * day + 5000 + huge,
                          T0 + 3 * day + 5001 + huge,
                          T0 + 3 * day + 5001 + 2 * huge};
    const double values[] = {1, 2, 3, 4, 5, 6, 7, 8};
    check_round_trip(ts, values, 8, &info);
}

static void round_trips_the_extreme_timestamps(void **state)
{
    (void)state;
    struct chunk_info info;
    const int64_t ts[] = {INT64_MIN, INT64_MIN + 1, -1, 0, 1, INT64_MAX - 1, INT64_MAX, INT64_MAX};
    const double values[] = {0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5};
    check_round_trip(ts, values, 8, &info);
    assert_int_equal(info.first_ts_ms, INT64_MIN);
    assert_int_equal(info.last_ts_ms, INT64_MAX);
    check_round_trip(ts + 6, values, 1, &info);
    check_round_trip(ts, values, 2, &info);
}

static void round_trips_jittered_five_second_timestamps(void **state)
{
    (void)state;
    struct chunk_info info;
    jittered_ticks(ts_buf, CHUNK_MAX_SAMPLES);
    for (size_t i = 0; i < CHUNK_MAX_SAMPLES; i++)
        value_buf[i] = 42.0;
    size_t len = check_round_trip(ts_buf, value_buf, CHUNK_MAX_SAMPLES, &info);
    /* Constant values, 1 % jitter: timestamps dominate, well under 0.1 byte a sample. */
    assert_true((double)len / CHUNK_MAX_SAMPLES < 0.1);
    for (size_t i = 0; i < CHUNK_MAX_SAMPLES; i++)
        ts_buf[i] = T0 + (int64_t)i * 5000 + (int64_t)(test_bits_rng() % 7) - 3; /* ms jitter everywhere */
    check_round_trip(ts_buf, value_buf, CHUNK_MAX_SAMPLES, &info);
}

static void rejects_a_timestamp_before_the_previous_one_and_stays_usable(void **state)
{
    (void)state;
    struct chunk_encoder *enc = NULL;
    const uint8_t *bytes;
    size_t len;
    assert_int_equal(chunk_encoder_new(16, &enc), 0);
    assert_int_equal(chunk_encoder_append(enc, T0, 1.0), 0);
    assert_int_equal(chunk_encoder_append(enc, T0 + 5000, 2.0), 0);
    assert_int_equal(chunk_encoder_append(enc, T0 + 4999, 3.0), -EINVAL);
    assert_int_equal(chunk_encoder_count(enc), 2);
    assert_int_equal(chunk_encoder_append(enc, T0 + 5000, 4.0), 0);
    assert_int_equal(chunk_encoder_finish(enc, &bytes, &len), 0);
    int64_t ts[4];
    double values[4];
    assert_int_equal(decode(bytes, len, ts, values, 4), 3);
    assert_int_equal(ts[2], T0 + 5000);
    assert_true(values[2] == 4.0);
    chunk_encoder_free(enc);
}

static void refuses_samples_beyond_the_chunk_limit(void **state)
{
    (void)state;
    struct chunk_encoder *enc = NULL;
    const uint8_t *bytes;
    size_t len;
    struct chunk_info info;
    assert_int_equal(chunk_encoder_new(0, &enc), -EINVAL);
    assert_int_equal(chunk_encoder_new(CHUNK_MAX_SAMPLES + 1, &enc), -EINVAL);
    assert_null(enc);
    assert_int_equal(chunk_encoder_new(CHUNK_MAX_SAMPLES, &enc), 0);
    for (int64_t i = 0; i < CHUNK_MAX_SAMPLES; i++)
        assert_int_equal(chunk_encoder_append(enc, T0 + i * 5000, (double)i), 0);
    assert_int_equal(chunk_encoder_append(enc, T0 + INT64_C(5000) * CHUNK_MAX_SAMPLES, 1.0),
                     -ENOSPC);
    assert_int_equal(chunk_encoder_finish(enc, &bytes, &len), 0);
    assert_int_equal(chunk_info_parse(bytes, len, &info), 0);
    assert_int_equal(info.count, CHUNK_MAX_SAMPLES);
    chunk_encoder_reset(enc);
    assert_int_equal(chunk_encoder_count(enc), 0);
    assert_int_equal(chunk_encoder_append(enc, T0 - 1, 1.0), 0); /* a new chunk, any start */
    chunk_encoder_free(enc);
    chunk_encoder_free(NULL);
}

static void round_trips_a_single_sample(void **state)
{
    (void)state;
    struct chunk_info info;
    const int64_t ts = T0 + 123;
    const double decimal = 12.34, special = NAN;
    size_t len = check_round_trip(&ts, &decimal, 1, &info);
    assert_int_equal(info.encoding, CHUNK_ENCODING_DECIMAL);
    assert_true(len < 24);
    check_round_trip(&ts, &special, 1, &info);
    assert_int_equal(info.encoding, CHUNK_ENCODING_XOR);
}

static void encodes_an_empty_chunk_as_zero_samples(void **state)
{
    (void)state;
    struct chunk_info info;
    size_t len = check_round_trip(NULL, NULL, 0, &info);
    assert_int_equal(len, 8); /* version, encoding, scale, count 0, CRC */
    assert_int_equal(info.first_ts_ms, 0);
    assert_int_equal(info.last_ts_ms, 0);
}

static void finish_does_not_consume_the_samples(void **state)
{
    (void)state;
    struct chunk_encoder *enc = NULL;
    const uint8_t *bytes;
    size_t len;
    int64_t ts[8];
    double values[8];
    assert_int_equal(chunk_encoder_new(8, &enc), 0);
    assert_int_equal(chunk_encoder_append(enc, T0, 1.25), 0);
    assert_int_equal(chunk_encoder_finish(enc, &bytes, &len), 0);
    assert_int_equal(decode(bytes, len, ts, values, 8), 1);
    assert_int_equal(chunk_encoder_append(enc, T0 + 5000, NAN), 0);
    assert_int_equal(chunk_encoder_finish(enc, &bytes, &len), 0);
    assert_int_equal(decode(bytes, len, ts, values, 8), 2);
    assert_true(values[0] == 1.25 && isnan(values[1]));
    chunk_encoder_free(enc);
}

static uint8_t *sample_chunk(size_t n, bool decimal, size_t *len)
{
    jittered_ticks(ts_buf, n);
    two_decimal_walk(value_buf, n);
    if (!decimal)
        value_buf[n / 2] = -0.0;
    return encode(ts_buf, value_buf, n, len);
}

static void refuses_every_truncated_prefix(void **state)
{
    (void)state;
    size_t len;
    for (int decimal = 0; decimal < 2; decimal++) {
        uint8_t *buf = sample_chunk(700, decimal, &len);
        for (size_t cut = 0; cut < len; cut++) {
            uint8_t *prefix = malloc(cut ? cut : 1); /* exact size: ASan catches overreads */
            assert_non_null(prefix);
            memcpy(prefix, buf, cut);
            assert_int_equal(decode(prefix, cut, ts_buf, value_buf, CHUNK_MAX_SAMPLES), -EBADMSG);
            free(prefix);
        }
        free(buf);
    }
}

static void detects_every_single_bit_flip(void **state)
{
    (void)state;
    size_t len;
    for (int decimal = 0; decimal < 2; decimal++) {
        uint8_t *buf = sample_chunk(300, decimal, &len);
        for (size_t bit = 0; bit < len * 8; bit++) {
            buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            assert_int_equal(decode(buf, len, ts_buf, value_buf, CHUNK_MAX_SAMPLES), -EBADMSG);
            buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        free(buf);
    }
}

static void checksums_with_crc32c(void **state)
{
    (void)state;
    assert_int_equal(crc32c(0, (const uint8_t *)"123456789", 9), 0xe3069283u);
    assert_int_equal(crc32c(0, NULL, 0), 0);
}

static void fix_checksum(uint8_t *buf, size_t len)
{
    uint32_t crc = crc32c(0, buf, len - 4);
    for (unsigned b = 0; b < 4; b++)
        buf[len - 4 + b] = (uint8_t)(crc >> (8 * b));
}

/* Corruption behind a matching checksum (a bug, or a collision) reaches the stream checks:
 * they must terminate cleanly and never read outside the buffer. */
static void survives_random_corruption_behind_a_valid_checksum(void **state)
{
    (void)state;
    size_t len;
    int refused = 0;
    for (int round = 0; round < 2000; round++) {
        uint8_t *buf = sample_chunk(64 + test_bits_rng() % 200, round % 2, &len);
        for (int flips = 1 + (int)(test_bits_rng() % 4); flips > 0; flips--) {
            size_t bit = test_bits_rng() % ((len - 4) * 8);
            buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        fix_checksum(buf, len);
        int n = decode(buf, len, ts_buf, value_buf, CHUNK_MAX_SAMPLES);
        assert_true(n == -EBADMSG || (n >= 0 && n <= CHUNK_MAX_SAMPLES));
        refused += n == -EBADMSG;
        free(buf);
    }
    assert_true(refused > 200); /* ~25 %: flips in value bits decode to other values */
}

static void refuses_malformed_headers(void **state)
{
    (void)state;
    struct {
        const char *why;
        uint8_t bytes[32];
        size_t len;
    } rows[] = {
        {"too short", {1, 0, 0}, 3},
        {"unknown version", {2, 0, 0, 0}, 4},
        {"unknown encoding", {1, 2, 0, 0}, 4},
        {"scale over 9", {1, 0, 10, 0}, 4},
        {"xor with a scale", {1, 1, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0}, 16},
        {"count over the limit", {1, 0, 0, 0x81, 0x20}, 5},
        {"empty chunk with trailing bytes", {1, 0, 0, 0, 0}, 5},
        {"varint count of 11 bytes",
         {1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
         14},
        {"no first timestamp", {1, 0, 0, 1, 0, 0}, 6},
        {"unit of zero", {1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 1, 0}, 16},
        {"span not a multiple of the unit", {1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 10, 3, 1, 0}, 16},
        {"first delta past the span", {1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 10, 1, 11, 0}, 16},
        {"span past INT64_MAX",
         {1,    0,    0,    2,    0,    0,    0,    0,    0,    0, 0, 0x7f,
          0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 1, 1, 0},
         24},
        {"ts stream past the end", {1, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 10, 1, 5, 90}, 16},
        {"one sample with a span", {1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 10, 10, 1, 0}, 16},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint8_t buf[40];
        size_t len = rows[i].len + 4;
        struct chunk_info info;
        memcpy(buf, rows[i].bytes, rows[i].len);
        fix_checksum(buf, len);
        if (chunk_info_parse(buf, len, &info) != -EBADMSG)
            fail_msg("header accepted: %s", rows[i].why);
        assert_int_equal(decode(buf, len, ts_buf, value_buf, CHUNK_MAX_SAMPLES), -EBADMSG);
    }
    assert_int_equal(chunk_info_parse(NULL, 0, &(struct chunk_info){0}), -EBADMSG);
}

/* The n-th allocation fails, for every n: the call that meets it returns -ENOMEM, nothing
 * leaks, and the encoder stays usable (the same samples then encode and decode). */
static void fails_cleanly_when_any_allocation_fails(void **state)
{
    (void)state;
#if FAULT_INJECTION
    enum { N = 300 };
    static int64_t ts_back[N];
    static double values_back[N];
    long fail_at;
    if (!alloc_fail_works())
        skip();
    jittered_ticks(ts_buf, N);
    two_decimal_walk(value_buf, N);
    for (fail_at = 0;; fail_at++) {
        struct chunk_encoder *enc = NULL;
        const uint8_t *bytes;
        size_t len, i = 0;
        alloc_fail_arm(fail_at); /* later allocations succeed again */
        int rc = chunk_encoder_new(N, &enc);
        for (; rc == 0 && i < N; i++)
            rc = chunk_encoder_append(enc, ts_buf[i], value_buf[i]);
        if (rc == 0)
            rc = chunk_encoder_finish(enc, &bytes, &len);
        if (rc != 0) {
            assert_int_equal(rc, -ENOMEM);
            if (enc != NULL) {
                for (i = chunk_encoder_count(enc); i < N; i++)
                    assert_int_equal(chunk_encoder_append(enc, ts_buf[i], value_buf[i]), 0);
                assert_int_equal(chunk_encoder_finish(enc, &bytes, &len), 0);
            }
        }
        if (enc != NULL)
            assert_int_equal(decode(bytes, len, ts_back, values_back, N), N);
        chunk_encoder_free(enc);
        alloc_fail_disarm();
        assert_int_equal(alloc_fail_live(), 0);
        if (rc == 0)
            break;
    }
    print_message("  %ld allocations, each made to fail in turn\n", fail_at);
    assert_true(fail_at > 5);
#else
    skip();
#endif
}

static double bytes_per_sample(const char *what, size_t n)
{
    struct chunk_info info;
    size_t len = check_round_trip(ts_buf, value_buf, n, &info);
    print_message("  %s: %.3f B/sample\n", what, (double)len / (double)n);
    return (double)len / (double)n;
}

static void compresses_host_metrics_well_under_1_3_bytes_per_sample(void **state)
{
    (void)state;
    /* A noisy 2-decimal gauge (steps of up to +-1.00) at jittered 5 s: ~1 byte. */
    jittered_ticks(ts_buf, 1440);
    two_decimal_walk(value_buf, 1440);
    assert_true(bytes_per_sample("noisy 2-decimal gauge", 1440) < 1.3);
    /* A smooth 2-decimal gauge (load average like): steps of 0.00..0.03. */
    for (size_t i = 0; i < 1440; i++) {
        int64_t hundredths = 150 + (int64_t)(i % 40 < 20) + (int64_t)(test_bits_rng() % 4);
        value_buf[i] = (double)hundredths / 100.0;
    }
    assert_true(bytes_per_sample("smooth 2-decimal gauge", 1440) < 0.5);
    /* Counters that are mostly 0 (net.errors): timestamps and zero runs only. */
    for (size_t i = 0; i < 1440; i++)
        value_buf[i] = test_bits_rng() % 100 == 0 ? (double)(1 + test_bits_rng() % 3) : 0.0;
    assert_true(bytes_per_sample("mostly-zero counter", 1440) < 0.15);
    /* Gorilla territory: a binary-fraction value that rarely changes. */
    for (size_t i = 0; i < 1440; i++)
        value_buf[i] = i < 700 ? 1.0 / 3.0 : 2.0 / 3.0;
    assert_true(bytes_per_sample("rarely changing binary fraction", 1440) < 0.3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trips_random_values_bit_exactly),
        cmocka_unit_test(picks_the_decimal_path_for_two_decimal_values),
        cmocka_unit_test(picks_the_smallest_common_scale),
        cmocka_unit_test(picks_scale_zero_for_integers_up_to_two_to_the_53),
        cmocka_unit_test(falls_back_to_xor_for_nan_infinities_and_negative_zero),
        cmocka_unit_test(keeps_equal_timestamps),
        cmocka_unit_test(round_trips_gaps_of_days_and_of_two_to_the_forty_ms),
        cmocka_unit_test(round_trips_the_extreme_timestamps),
        cmocka_unit_test(round_trips_jittered_five_second_timestamps),
        cmocka_unit_test(rejects_a_timestamp_before_the_previous_one_and_stays_usable),
        cmocka_unit_test(refuses_samples_beyond_the_chunk_limit),
        cmocka_unit_test(round_trips_a_single_sample),
        cmocka_unit_test(encodes_an_empty_chunk_as_zero_samples),
        cmocka_unit_test(finish_does_not_consume_the_samples),
        cmocka_unit_test(refuses_every_truncated_prefix),
        cmocka_unit_test(detects_every_single_bit_flip),
        cmocka_unit_test(checksums_with_crc32c),
        cmocka_unit_test(survives_random_corruption_behind_a_valid_checksum),
        cmocka_unit_test(refuses_malformed_headers),
        cmocka_unit_test(fails_cleanly_when_any_allocation_fails),
        cmocka_unit_test(compresses_host_metrics_well_under_1_3_bytes_per_sample),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
