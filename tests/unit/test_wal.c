/* Unit tests of hub/wal: the documented byte format, round trips of every id, timestamp step,
 * kind and double bit pattern, buffer reuse, truncated and malformed records, the callback's
 * stop, and (without ASan) every allocation failing. */
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

#include "hub/wal.h"

#include "tests/support/alloc_fail.h"
#include "tests/support/test_bits.h"
#define FAULT_INJECTION ALLOC_FAIL_AVAILABLE

#define T0 INT64_C(1735689600000) /* 2025-01-01T00:00:00Z */
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MANY 6000

/* What the decoder gave: every sample (up to MANY), how many calls, and when to stop. */
struct got {
    struct wal_sample s[MANY];
    size_t n;
    size_t stop_at; /* the call (1-based) that returns stop_rc; 0: never */
    int stop_rc;
};

static int collect(void *user, const struct wal_sample *s)
{
    struct got *g = user;
    if (g->n < MANY)
        g->s[g->n] = *s;
    g->n++;
    return g->stop_at != 0 && g->n == g->stop_at ? g->stop_rc : 0;
}

static struct got got_buf;

static int decode(const uint8_t *buf, size_t len, struct got *g)
{
    memset(g, 0, sizeof *g);
    return wal_decode(buf, len, collect, g);
}

static void assert_same_sample(const struct wal_sample *got, const struct wal_sample *want)
{
    assert_int_equal(got->series_id, want->series_id);
    assert_int_equal(got->ts_ms, want->ts_ms);
    assert_int_equal(got->kind, want->kind);
    assert_int_equal(test_bits_of(got->value), test_bits_of(want->value));
}

static void encode_all(struct wal_buf *b, const struct wal_sample *samples, size_t n)
{
    for (size_t i = 0; i < n; i++)
        assert_int_equal(wal_buf_add(b, &samples[i]), 0);
    assert_int_equal(b->count, n);
}

static void assert_decodes_to(const uint8_t *buf, size_t len, const struct wal_sample *want,
                              size_t n)
{
    assert_int_equal(decode(buf, len, &got_buf), 0);
    assert_int_equal(got_buf.n, n);
    for (size_t i = 0; i < n; i++)
        assert_same_sample(&got_buf.s[i], &want[i]);
}

/* Bit patterns that must come back exactly: NaNs (quiet, signalling, with payloads, negative),
 * infinities, both zeros, subnormals, the extremes, and a few ordinary values. */
static const uint64_t special_bits[] = {
    0x7ff8000000000000u, /* NaN */
    0xfff8000000000000u, /* -NaN */
    0x7ff0000000000001u, /* signalling NaN */
    0x7ff8deadbeef1234u, /* quiet NaN with a payload */
    0xfff0000000000001u, /* negative signalling NaN */
    0x7ff0000000000000u, /* +Inf */
    0xfff0000000000000u, /* -Inf */
    0x8000000000000000u, /* -0.0 */
    0x0000000000000000u, /* 0.0 */
    0x0000000000000001u, /* smallest subnormal */
    0x8000000000000001u, /* its negative */
    0x000fffffffffffffu, /* largest subnormal */
    0x0010000000000000u, /* DBL_MIN */
    0x7fefffffffffffffu, /* DBL_MAX */
    0xffefffffffffffffu, /* -DBL_MAX */
    0x3fb999999999999au, /* 0.1 */
    0x3fd5555555555555u, /* 1/3 */
};

static double special(size_t i)
{
    return test_bits_double(special_bits[i]);
}

static const int64_t special_ids[] = {
    1,        2, 127, 128, 16383, 16384, (INT64_C(1) << 40) - 1, INT64_C(1) << 40, INT64_MAX - 1,
    INT64_MAX};

/* Timestamp steps that stress the zigzag delta: equal, back, forward, and jumps across the
 * whole int64 range in both directions (the delta wraps). */
static const int64_t special_ts[] = {
    0,         0,         -1,        T0, T0, T0 - 1,        T0 + 5000, INT64_MAX, INT64_MIN,
    INT64_MIN, INT64_MAX, INT64_MAX, -1, 1,  INT64_MIN + 1, T0,        0};

static struct wal_sample many[MANY];

/* Fills many[] (the same every call): the special cases first, then a random walk. */
static size_t make_many(void)
{
    size_t n = 0;
    test_bits_seed(0x9e3779b97f4a7c15u);
    for (size_t i = 0; i < ARRAY_LEN(special_ts); i++)
        many[n++] = (struct wal_sample){1 + (int64_t)i, special_ts[i], (uint8_t)(i % 5), 1.5};
    for (size_t i = 0; i < ARRAY_LEN(special_ids); i++)
        many[n++] = (struct wal_sample){special_ids[i], T0 + (int64_t)i, (uint8_t)(i % 5), 2.5};
    for (size_t i = 0; i < ARRAY_LEN(special_bits); i++)
        many[n++] = (struct wal_sample){7, T0, (uint8_t)(i % 5), special(i)};
    int64_t ts = T0;
    while (n < MANY) {
        uint64_t r = test_bits_rng();
        switch (r % 6) {
        case 0: /* same timestamp */
            break;
        case 1: /* a little back */
            ts -= (int64_t)(test_bits_rng() % 100000);
            break;
        case 2: /* a huge gap either way */
            ts = (int64_t)test_bits_rng();
            break;
        default: /* the common case: forward a few seconds */
            ts += (int64_t)(test_bits_rng() % 10000);
            break;
        }
        uint64_t id = 1 + test_bits_rng() % (UINT64_C(1) << 40);
        double value = (r >> 8) % 3 == 0   ? test_bits_double(test_bits_rng()) /* NaNs, subnormals, anything */
                       : (r >> 8) % 3 == 1 ? (double)(int64_t)(test_bits_rng() % 100000) / 100.0
                                           : special((size_t)(test_bits_rng() % ARRAY_LEN(special_bits)));
        many[n++] = (struct wal_sample){(int64_t)id, ts, (uint8_t)(test_bits_rng() % 5), value};
    }
    return n;
}

static void round_trips_many_samples_bit_exactly(void **state)
{
    (void)state;
    struct wal_buf b = {0};
    size_t n = make_many();
    encode_all(&b, many, n);
    assert_decodes_to(b.out.buf, b.out.len, many, n);
    wal_buf_free(&b);
}

static void round_trips_a_single_sample_of_every_kind(void **state)
{
    (void)state;
    for (uint8_t kind = 0; kind <= 4; kind++) {
        struct wal_buf b = {0};
        const struct wal_sample s = {42, -T0, kind, kind == 1 ? 1.0 : -0.0};
        encode_all(&b, &s, 1);
        assert_int_equal(b.out.len, 1 + 1 + 6 + 1 + 8); /* version, id, zigzag(-T0), kind, f64 */
        assert_decodes_to(b.out.buf, b.out.len, &s, 1);
        wal_buf_free(&b);
    }
}

static void writes_the_documented_format_byte_for_byte(void **state)
{
    (void)state;
    const struct wal_sample samples[] = {
        {1, 5, 2, 1.0},                 /* delta 5 against 0: zigzag 10 */
        {300, 3, 4, -0.0},              /* id 300 = ac 02; delta -2: zigzag 3 */
        {300, 3, 0, 0x1p-1074},         /* delta 0; the smallest subnormal */
        {INT64_MAX, INT64_MIN, 1, NAN}, /* delta INT64_MIN - 3 wraps to INT64_MAX - 2 */
    };
    static const char want[] = "\x01"                                             /* version */
                               "\x01\x0a\x02\x00\x00\x00\x00\x00\x00\xf0\x3f"     /* 1.0 */
                               "\xac\x02\x03\x04\x00\x00\x00\x00\x00\x00\x00\x80" /* -0 */
                               "\xac\x02\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00"
                               "\xff\xff\xff\xff\xff\xff\xff\xff\x7f"     /* INT64_MAX */
                               "\xfa\xff\xff\xff\xff\xff\xff\xff\xff\x01" /* 2^64 - 6 */
                               "\x01\x00\x00\x00\x00\x00\x00\xf8\x7f";    /* kind 1, NaN */
    struct wal_buf b = {0};
    encode_all(&b, samples, ARRAY_LEN(samples));
    assert_int_equal(b.out.len, sizeof want - 1);
    assert_memory_equal(b.out.buf, want, sizeof want - 1);
    assert_decodes_to((const uint8_t *)want, sizeof want - 1, samples, ARRAY_LEN(samples));
    wal_buf_free(&b);
}

static void reset_reuses_the_buffer_and_starts_a_new_record(void **state)
{
    (void)state;
    const struct wal_sample first[] = {{9, T0, 0, 1.0}, {9, T0 + 5000, 0, 2.0}};
    const struct wal_sample second = {3, T0 + 60000, 4, 3.25};
    struct wal_buf b = {0}, fresh = {0};
    encode_all(&b, first, 2);
    const uint8_t *buf = b.out.buf;
    size_t cap = b.out.cap;
    wal_buf_reset(&b);
    assert_int_equal(b.count, 0);
    assert_int_equal(b.out.len, 0);
    assert_ptr_equal(b.out.buf, buf); /* memory kept */
    assert_int_equal(b.out.cap, cap);
    encode_all(&b, &second, 1);
    assert_ptr_equal(b.out.buf, buf);
    /* The same bytes as a new buffer: version written again, delta against 0 again. */
    encode_all(&fresh, &second, 1);
    assert_int_equal(b.out.len, fresh.out.len);
    assert_memory_equal(b.out.buf, fresh.out.buf, fresh.out.len);
    assert_decodes_to(b.out.buf, b.out.len, &second, 1);
    /* Many resets in a row keep working. */
    for (int round = 0; round < 50; round++) {
        wal_buf_reset(&b);
        encode_all(&b, first, 2);
        assert_decodes_to(b.out.buf, b.out.len, first, 2);
    }
    wal_buf_free(&b);
    wal_buf_free(&fresh);
}

static void free_leaves_a_zeroed_buffer_that_can_be_used_again(void **state)
{
    (void)state;
    const struct wal_sample s = {5, T0, 1, 0.0};
    struct wal_buf b = {0};
    wal_buf_free(&b); /* never used */
    encode_all(&b, &s, 1);
    wal_buf_free(&b);
    assert_null(b.out.buf);
    assert_int_equal(b.out.len, 0);
    assert_int_equal(b.count, 0);
    encode_all(&b, &s, 1);
    assert_decodes_to(b.out.buf, b.out.len, &s, 1);
    wal_buf_free(&b);
}

/* The format has no count and no checksum: a cut between samples is a shorter valid record
 * (a SQLite row is written whole, so it cannot be cut there). A cut inside a sample is
 * -EBADMSG, and exactly the samples before it are given, unchanged. */
static void refuses_every_cut_inside_a_sample_and_gives_the_samples_before(void **state)
{
    (void)state;
    enum { N = 60 };
    static size_t end_of[N + 1]; /* end_of[k]: record length holding k samples */
    struct wal_buf b = {0};
    size_t n = make_many();
    assert_true(n >= N);
    const struct wal_sample *samples = many + n - N; /* the random part: sizes vary */
    for (size_t k = 0; k < N; k++) {
        assert_int_equal(wal_buf_add(&b, &samples[k]), 0);
        end_of[k + 1] = b.out.len;
    }
    end_of[0] = 1;
    for (size_t cut = 0; cut < b.out.len; cut++) {
        uint8_t *prefix = malloc(cut ? cut : 1); /* exact size: ASan catches overreads */
        assert_non_null(prefix);
        memcpy(prefix, b.out.buf, cut);
        size_t whole = 0;
        while (whole < N && end_of[whole + 1] <= cut)
            whole++;
        int rc = decode(prefix, cut, &got_buf);
        if (cut == 0 || end_of[whole] != cut) {
            if (rc != -EBADMSG)
                fail_msg("cut at %zu of %zu: got %d, want -EBADMSG", cut, b.out.len, rc);
        } else {
            assert_int_equal(rc, 0);
        }
        assert_int_equal(got_buf.n, whole);
        for (size_t i = 0; i < whole; i++)
            assert_same_sample(&got_buf.s[i], &samples[i]);
        free(prefix);
    }
    assert_decodes_to(b.out.buf, b.out.len, samples, N);
    wal_buf_free(&b);
}

static void refuses_malformed_records(void **state)
{
    (void)state;
    /* A valid sample: id 1, ts 0, kind 0, value 0.0. */
#define OK_SAMPLE 0x01, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0
    struct {
        const char *why;
        uint8_t bytes[40];
        size_t len;
        int rc;
        size_t samples; /* given before the refusal */
    } rows[] = {
        {"empty", {0}, 0, -EBADMSG, 0},
        {"only the version: no samples", {1}, 1, 0, 0},
        {"version 0", {0, OK_SAMPLE}, 12, -EBADMSG, 0},
        {"version 2", {2, OK_SAMPLE}, 12, -EBADMSG, 0},
        {"version 0xff", {0xff, OK_SAMPLE}, 12, -EBADMSG, 0},
        {"version 0x81 (a varint-looking byte)", {0x81, OK_SAMPLE}, 12, -EBADMSG, 0},
        {"a valid sample", {1, OK_SAMPLE}, 12, 0, 1},
        {"series id 0", {1, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0}, 12, -EBADMSG, 0},
        {"series id 0 after a valid sample",
         {1, OK_SAMPLE, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0},
         23,
         -EBADMSG,
         1},
        {"series id 0 as a two-byte varint",
         {1, 0x80, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0},
         13,
         -EBADMSG,
         0},
        {"series id 2^63 (past INT64_MAX)",
         {1,    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01,
          0x00, 0x00, 0,    0,    0,    0,    0,    0,    0,    0},
         21,
         -EBADMSG,
         0},
        {"series id 2^64 - 1",
         {1,    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
          0x00, 0x00, 0,    0,    0,    0,    0,    0,    0,    0},
         21,
         -EBADMSG,
         0},
        {"series id varint of 11 bytes",
         {1,    0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
          0x00, 0x00, 0x00, 0,    0,    0,    0,    0,    0,    0,    0},
         22,
         -EBADMSG,
         0},
        {"delta varint of 11 bytes",
         {1,    0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
          0x80, 0x00, 0x00, 0,    0,    0,    0,    0,    0,    0,    0},
         22,
         -EBADMSG,
         0},
        {"delta past 64 bits",
         {1,    0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
          0x02, 0x00, 0,    0,    0,    0,    0,    0,    0,    0},
         21,
         -EBADMSG,
         0},
        {"id varint cut", {1, 0x81}, 2, -EBADMSG, 0},
        {"no delta", {1, 0x01}, 2, -EBADMSG, 0},
        {"no kind", {1, 0x01, 0x00}, 3, -EBADMSG, 0},
        {"value one byte short", {1, 0x01, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0}, 11, -EBADMSG, 0},
        {"one stray byte after a sample", {1, OK_SAMPLE, 0x05}, 13, -EBADMSG, 1},
    };
#undef OK_SAMPLE
    for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
        uint8_t *buf = malloc(rows[i].len ? rows[i].len : 1); /* exact size for ASan */
        assert_non_null(buf);
        memcpy(buf, rows[i].bytes, rows[i].len);
        int rc = decode(rows[i].len ? buf : NULL, rows[i].len, &got_buf);
        if (rc != rows[i].rc || got_buf.n != rows[i].samples)
            fail_msg("%s: got %d with %zu samples, want %d with %zu", rows[i].why, rc, got_buf.n,
                     rows[i].rc, rows[i].samples);
        free(buf);
    }
}

static void accepts_the_largest_series_id(void **state)
{
    (void)state;
    const uint8_t max_id[] = {1,    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
                              0x00, 0x03, 0,    0,    0,    0,    0,    0,    0,    0};
    assert_int_equal(decode(max_id, sizeof max_id, &got_buf), 0);
    assert_int_equal(got_buf.n, 1);
    assert_int_equal(got_buf.s[0].series_id, INT64_MAX);
    assert_int_equal(got_buf.s[0].kind, 3);
}

static void stops_at_the_first_non_zero_callback_result_and_returns_it(void **state)
{
    (void)state;
    const int results[] = {1, -1, 42, -ENOMEM, -EIO, INT32_MIN, INT32_MAX};
    const size_t stops[] = {1, 2, 10, 20}; /* the first, the second, one inside, the last */
    struct wal_buf b = {0};
    make_many();
    encode_all(&b, many, 20);
    for (size_t r = 0; r < ARRAY_LEN(results); r++) {
        for (size_t k = 0; k < ARRAY_LEN(stops); k++) {
            size_t stop_at = stops[k];
            memset(&got_buf, 0, sizeof got_buf);
            got_buf.stop_at = stop_at;
            got_buf.stop_rc = results[r];
            assert_int_equal(wal_decode(b.out.buf, b.out.len, collect, &got_buf), results[r]);
            assert_int_equal(got_buf.n, stop_at); /* not called again after the stop */
            for (size_t i = 0; i < stop_at; i++)
                assert_same_sample(&got_buf.s[i], &many[i]);
        }
    }
    wal_buf_free(&b);
}

/* The n-th allocation fails, for every n: the add that meets it returns -ENOMEM, nothing
 * leaks, and after a reset the same buffer records every sample. */
static void fails_cleanly_when_any_allocation_fails(void **state)
{
    (void)state;
#if FAULT_INJECTION
    enum { N = 400 };
    long fail_at;
    if (!alloc_fail_works())
        skip();
    make_many();
    for (fail_at = 0;; fail_at++) {
        struct wal_buf b = {0};
        int rc = 0;
        alloc_fail_arm(fail_at); /* later allocations succeed again */
        for (size_t i = 0; i < N && rc == 0; i++)
            rc = wal_buf_add(&b, &many[i]);
        if (rc != 0) {
            assert_int_equal(rc, -ENOMEM);
            wal_buf_reset(&b);
            for (size_t i = 0; i < N; i++)
                assert_int_equal(wal_buf_add(&b, &many[i]), 0);
        }
        assert_decodes_to(b.out.buf, b.out.len, many, N);
        wal_buf_free(&b);
        alloc_fail_disarm();
        assert_int_equal(alloc_fail_live(), 0);
        if (rc == 0)
            break;
    }
    print_message("  %ld allocations, each made to fail in turn\n", fail_at);
    assert_true(fail_at >= 4);
#else
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trips_many_samples_bit_exactly),
        cmocka_unit_test(round_trips_a_single_sample_of_every_kind),
        cmocka_unit_test(writes_the_documented_format_byte_for_byte),
        cmocka_unit_test(reset_reuses_the_buffer_and_starts_a_new_record),
        cmocka_unit_test(free_leaves_a_zeroed_buffer_that_can_be_used_again),
        cmocka_unit_test(refuses_every_cut_inside_a_sample_and_gives_the_samples_before),
        cmocka_unit_test(refuses_malformed_records),
        cmocka_unit_test(accepts_the_largest_series_id),
        cmocka_unit_test(stops_at_the_first_non_zero_callback_result_and_returns_it),
        cmocka_unit_test(fails_cleanly_when_any_allocation_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
