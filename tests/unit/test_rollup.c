/* Unit tests of hub/rollup: the tiers, epoch-aligned buckets with exact min / max / count /
 * last, exact sums of decimals (and sane ones of anything else), the row codec (bit-exact
 * round trips, the documented layout, every corruption, truncation and limit refused), and
 * (without ASan) every allocation failing. */
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

#include "hub/chunk.h"
#include "hub/rollup.h"

#include "tests/support/alloc_fail.h"
#include "tests/support/test_bits.h"
#define FAULT_INJECTION ALLOC_FAIL_AVAILABLE

#define T0 INT64_C(1735689600000) /* 2025-01-01T00:00:00Z: a multiple of one hour */
#define MIN_MS INT64_C(60000)
#define HOUR_MS INT64_C(3600000)
#define DAY_MS INT64_C(86400000)
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static struct series_sample samples_buf[CHUNK_MAX_SAMPLES + 1];
static struct rollup_bucket buckets_buf[CHUNK_MAX_SAMPLES + 1];
static struct rollup_bucket back_buf[CHUNK_MAX_SAMPLES + 1];

static bool same_bucket(const struct rollup_bucket *got, const struct rollup_bucket *want)
{
    return got->start_ms == want->start_ms && got->count == want->count &&
           test_bits_of(got->min) == test_bits_of(want->min) && test_bits_of(got->max) == test_bits_of(want->max) &&
           test_bits_of(got->sum) == test_bits_of(want->sum) && test_bits_of(got->last) == test_bits_of(want->last);
}

static void assert_same_bucket(const struct rollup_bucket *got, const struct rollup_bucket *want)
{
    assert_int_equal(got->start_ms, want->start_ms);
    assert_int_equal(got->count, want->count);
    assert_int_equal(test_bits_of(got->min), test_bits_of(want->min));
    assert_int_equal(test_bits_of(got->max), test_bits_of(want->max));
    assert_int_equal(test_bits_of(got->sum), test_bits_of(want->sum));
    assert_int_equal(test_bits_of(got->last), test_bits_of(want->last));
}

/* Encodes, decodes (room for exactly n) and compares bit for bit; returns the row length. */
static size_t check_round_trip(const struct rollup_bucket *buckets, size_t n)
{
    uint8_t *row = NULL;
    size_t len = 0, got = SIZE_MAX;
    assert_int_equal(rollup_row_encode(buckets, n, &row, &len), 0);
    assert_non_null(row);
    assert_int_equal(rollup_row_decode(row, len, back_buf, n, &got), 0);
    assert_int_equal(got, n);
    for (size_t i = 0; i < n; i++)
        assert_same_bucket(&back_buf[i], &buckets[i]);
    free(row);
    return len;
}

/* ---- tiers -------------------------------------------------------------------------- */

static void names_each_tier_and_its_step(void **state)
{
    (void)state;
    const struct {
        enum rollup_tier tier;
        int64_t step_ms;
        const char *name;
    } rows[] = {
        {ROLLUP_TIER_1M, 60000, "1m"},
        {ROLLUP_TIER_5M, 300000, "5m"},
        {ROLLUP_TIER_1H, 3600000, "1h"},
    };
    assert_int_equal(ROLLUP_TIER_COUNT, ARRAY_LEN(rows));
    for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
        assert_int_equal(rows[i].tier, (int)i); /* tiers index arrays: 0, 1, 2 */
        assert_int_equal(rollup_tier_step_ms(rows[i].tier), rows[i].step_ms);
        assert_string_equal(rollup_tier_name(rows[i].tier), rows[i].name);
    }
}

/* ---- rollup_compute ------------------------------------------------------------------- */

static void aligns_buckets_to_the_epoch_with_exact_aggregates(void **state)
{
    (void)state;
    const struct {
        const char *why;
        int64_t step_ms;
        size_t n;
        int64_t ts[8];
        double values[8];
        size_t nb;
        struct rollup_bucket want[8]; /* {start_ms, min, max, sum, last, count} */
    } rows[] = {
        {"one minute, either side of a boundary; a bucket starts exactly on it",
         MIN_MS,
         4,
         {T0 - 1, T0, T0 + 59999, T0 + 60000},
         {1, 2, 3, 4},
         3,
         {{T0 - MIN_MS, 1, 1, 1, 1, 1}, {T0, 2, 3, 5, 3, 2}, {T0 + MIN_MS, 4, 4, 4, 4, 1}}},
        {"before the epoch: buckets round down, not toward zero",
         MIN_MS,
         6,
         {-60001, -60000, -1, 0, 59999, 60000},
         {1, 2, 3, 4, 5, 6},
         4,
         {{-120000, 1, 1, 1, 1, 1},
          {-60000, 2, 3, 5, 3, 2},
          {0, 4, 5, 9, 5, 2},
          {60000, 6, 6, 6, 6, 1}}},
        {"five minutes: a one-minute boundary is not a five-minute one",
         5 * MIN_MS,
         4,
         {T0, T0 + 60000, T0 + 299999, T0 + 300000},
         {5, 1, 3, 2},
         2,
         {{T0, 1, 5, 9, 3, 3}, {T0 + 5 * MIN_MS, 2, 2, 2, 2, 1}}},
        {"one hour, either side of two boundaries",
         HOUR_MS,
         5,
         {T0 - HOUR_MS, T0 - 1, T0, T0 + HOUR_MS - 1, T0 + HOUR_MS},
         {1, 2, 3, 4, 5},
         3,
         {{T0 - HOUR_MS, 1, 2, 3, 2, 2}, {T0, 3, 4, 7, 4, 2}, {T0 + HOUR_MS, 5, 5, 5, 5, 1}}},
        {"a gap of days is two buckets, not the ones between",
         MIN_MS,
         2,
         {T0 + 59999, T0 + 3 * DAY_MS + 1},
         {8, 9},
         2,
         {{T0, 8, 8, 8, 8, 1}, {T0 + 3 * DAY_MS, 9, 9, 9, 9, 1}}},
        {"a single sample", MIN_MS, 1, {T0 + 123}, {-7.5}, 1, {{T0, -7.5, -7.5, -7.5, -7.5, 1}}},
        {"min and max in the middle, last is the newest",
         MIN_MS,
         5,
         {T0 + 1, T0 + 2, T0 + 3, T0 + 4, T0 + 5},
         {3, -1, 7, 7, 2},
         1,
         {{T0, -1, 7, 18, 2, 5}}},
        {"negative values",
         MIN_MS,
         3,
         {T0, T0 + 10, T0 + 20},
         {-0.5, -2.25, -1},
         1,
         {{T0, -2.25, -0.5, -3.75, -1, 3}}},
        {"the first sample of a bucket is the only one",
         MIN_MS,
         3,
         {T0 + 59999, T0 + 60000, T0 + 120000},
         {1, 2, 3},
         3,
         {{T0, 1, 1, 1, 1, 1}, {T0 + MIN_MS, 2, 2, 2, 2, 1}, {T0 + 2 * MIN_MS, 3, 3, 3, 3, 1}}},
    };
    for (size_t r = 0; r < ARRAY_LEN(rows); r++) {
        for (size_t i = 0; i < rows[r].n; i++)
            samples_buf[i] = (struct series_sample){rows[r].ts[i], rows[r].values[i]};
        memset(buckets_buf, 0xa5, sizeof buckets_buf[0] * (rows[r].n + 1));
        size_t nb = rollup_compute(samples_buf, rows[r].n, rows[r].step_ms, buckets_buf);
        if (nb != rows[r].nb)
            fail_msg("%s: %zu buckets, want %zu", rows[r].why, nb, rows[r].nb);
        for (size_t b = 0; b < nb; b++) {
            const struct rollup_bucket *g = &buckets_buf[b], *w = &rows[r].want[b];
            if (!same_bucket(g, w))
                fail_msg("%s: bucket %zu is {%lld, min %g, max %g, sum %.17g, last %g, count "
                         "%llu}, want {%lld, %g, %g, %.17g, %g, %llu}",
                         rows[r].why, b, (long long)g->start_ms, g->min, g->max, g->sum, g->last,
                         (unsigned long long)g->count, (long long)w->start_ms, w->min, w->max,
                         w->sum, w->last, (unsigned long long)w->count);
        }
    }
    assert_int_equal(rollup_compute(samples_buf, 0, MIN_MS, buckets_buf), 0);
}

/* The sum that a plain loop of double additions gives. */
static double naive_sum(const double *values, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += values[i];
    return sum;
}

static double one_bucket_sum(const double *values, size_t n)
{
    for (size_t i = 0; i < n; i++)
        samples_buf[i] = (struct series_sample){T0 + (int64_t)i, values[i]};
    assert_int_equal(rollup_compute(samples_buf, n, HOUR_MS, buckets_buf), 1);
    assert_int_equal(buckets_buf[0].count, n);
    return buckets_buf[0].sum;
}

static void sums_decimal_values_exactly(void **state)
{
    (void)state;
    const struct {
        const char *why;
        size_t n;
        double values[12];
        double want;        /* the decimal literal */
        bool naive_differs; /* a plain double sum misses it: the row proves the exact path */
    } rows[] = {
        {"0.1 + 0.2", 2, {0.1, 0.2}, 0.3, true},
        {"twelve times 0.07",
         12,
         {0.07, 0.07, 0.07, 0.07, 0.07, 0.07, 0.07, 0.07, 0.07, 0.07, 0.07, 0.07},
         0.84,
         true},
        {"twelve prices",
         12,
         {19.99, 19.99, 19.99, 19.99, 19.99, 19.99, 19.99, 19.99, 19.99, 19.99, 19.99, 19.99},
         239.88,
         true},
        {"one and two decimals mixed (the common scale is 2)",
         12,
         {4.88, 121.4, 11.15, 26.8, 7.58, 187.6, 12.37, 97.1, 12.82, 119.0, 1.35, 124.1},
         726.15,
         true},
        {"a positive and a larger negative", 2, {0.1, -0.3}, -0.2, true},
        {"two negatives", 2, {-0.1, -0.2}, -0.3, true},
        {"nine decimals", 3, {0.000000001, 0.000000002, 0.000000004}, 0.000000007, true},
        {"integers and halves", 3, {100, 0.5, 0.25}, 100.75, false},
        {"integers up to 2^52",
         2,
         {4503599627370496.0, 4503599627370495.0},
         9007199254740991.0,
         false},
        {"past 2^53 once scaled: the plain sum, which is exact here",
         2,
         {1e15, 0.5},
         1000000000000000.5,
         false},
        {"zero", 3, {0.0, 0.0, 0.0}, 0.0, false},
    };
    for (size_t r = 0; r < ARRAY_LEN(rows); r++) {
        double got = one_bucket_sum(rows[r].values, rows[r].n);
        if (got != rows[r].want)
            fail_msg("%s: sum %.17g, want %.17g", rows[r].why, got, rows[r].want);
        if (rows[r].naive_differs && naive_sum(rows[r].values, rows[r].n) == rows[r].want)
            fail_msg("%s: a plain sum is exact too; the row proves nothing", rows[r].why);
    }
    /* A full chunk of hundredths in one bucket. */
    for (size_t i = 0; i < CHUNK_MAX_SAMPLES; i++)
        samples_buf[i] = (struct series_sample){T0 + (int64_t)i, 0.01};
    assert_int_equal(rollup_compute(samples_buf, CHUNK_MAX_SAMPLES, HOUR_MS, buckets_buf), 1);
    assert_true(buckets_buf[0].sum == 40.96);
}

/* Values that are decimals one by one but whose scaled integers at the bucket's common scale
 * leave the exact range (|m| >= 2^53, even past INT64_MAX): the sum must still be the sum,
 * to double precision. */
static void sums_stay_right_when_scaled_values_leave_the_exact_range(void **state)
{
    (void)state;
    const struct {
        const char *why;
        size_t n;
        double values[4];
        double want;
        double tolerance;
    } rows[] = {
        {"near 2^53 with one decimal",
         3,
         {9007199254740991.0, -9007199254740990.0, 0.1},
         1.1,
         1e-9},
        {"2^53 - 1 with a nine-decimal value",
         2,
         {9007199254740991.0, 0.000000001},
         9007199254740991.0,
         2.0},
        {"scaled past INT64_MAX", 3, {9e15, 9223372036.0, 0.000000001}, 9000009223372036.0, 2.0},
    };
    int wrong = 0;
    for (size_t r = 0; r < ARRAY_LEN(rows); r++) {
        double got = one_bucket_sum(rows[r].values, rows[r].n);
        if (!(fabs(got - rows[r].want) <= rows[r].tolerance)) {
            print_error("%s: sum %.17g, want %.17g\n", rows[r].why, got, rows[r].want);
            wrong++;
        }
    }
    assert_int_equal(wrong, 0);
}

static void falls_back_for_values_that_are_not_decimals(void **state)
{
    (void)state;
    const double thirds[] = {1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0};
    assert_true(fabs(one_bucket_sum(thirds, 3) - 1.0) < 1e-15);
    assert_true(buckets_buf[0].min == 1.0 / 3.0 && buckets_buf[0].last == 1.0 / 3.0);

    const double mixed[] = {0.1, 1.0 / 3.0, 0.25};
    assert_true(fabs(one_bucket_sum(mixed, 3) - naive_sum(mixed, 3)) < 1e-15);
    assert_true(buckets_buf[0].min == 0.1 && buckets_buf[0].max == 1.0 / 3.0);

    const double too_fine[] = {0.1234567891, 1.0}; /* ten decimals: not a decimal here */
    assert_true(fabs(one_bucket_sum(too_fine, 2) - 1.1234567891) < 1e-15);

    const double nan_inside[] = {1.0, NAN, 2.0};
    assert_true(isnan(one_bucket_sum(nan_inside, 3)));
    assert_true(buckets_buf[0].last == 2.0);

    const double nan_first[] = {NAN, 1.0};
    assert_true(isnan(one_bucket_sum(nan_first, 2)));
    assert_true(buckets_buf[0].last == 1.0);

    const double nan_last[] = {1.0, NAN};
    assert_true(isnan(one_bucket_sum(nan_last, 2)));
    assert_true(isnan(buckets_buf[0].last));

    const double with_inf[] = {1.0, INFINITY, 2.0};
    assert_true(one_bucket_sum(with_inf, 3) == INFINITY);
    assert_true(buckets_buf[0].min == 1.0 && buckets_buf[0].max == INFINITY);

    const double both_inf[] = {-INFINITY, INFINITY};
    assert_true(isnan(one_bucket_sum(both_inf, 2)));
    assert_true(buckets_buf[0].min == -INFINITY && buckets_buf[0].max == INFINITY);

    const double huge[] = {1e308, 1e308};
    assert_true(one_bucket_sum(huge, 2) == INFINITY);

    const double tiny[] = {4.9406564584124654e-324, 4.9406564584124654e-324};
    assert_true(one_bucket_sum(tiny, 2) == 2 * 4.9406564584124654e-324);
}

/* ---- the row codec ------------------------------------------------------------------ */

static const uint64_t special_bits[] = {
    0x7ff8000000000000u, /* NaN */
    0x7ff0000000000001u, /* signalling NaN */
    0xfff8deadbeef1234u, /* negative NaN with a payload */
    0x7ff0000000000000u, /* +Inf */
    0xfff0000000000000u, /* -Inf */
    0x8000000000000000u, /* -0.0 */
    0x0000000000000001u, /* smallest subnormal */
    0x000fffffffffffffu, /* largest subnormal */
    0x7fefffffffffffffu, /* DBL_MAX */
};

/* 20 buckets one minute apart (some gaps), decimal min / max / sum, binary last. */
static size_t mixed_buckets(struct rollup_bucket *out)
{
    for (size_t i = 0; i < 20; i++) {
        out[i].start_ms = T0 + (int64_t)(i + i / 7 * 30) * MIN_MS;
        out[i].min = (double)(int64_t)(test_bits_rng() % 10000) / 100.0;
        out[i].max = out[i].min + 1.5;
        out[i].sum = out[i].min * 12;
        out[i].last = (double)(test_bits_rng() % 1000) / 3.0;
        out[i].count = 1 + test_bits_rng() % 12;
    }
    return 20;
}

static uint8_t *encode(const struct rollup_bucket *buckets, size_t n, size_t *len)
{
    uint8_t *row = NULL;
    assert_int_equal(rollup_row_encode(buckets, n, &row, len), 0);
    assert_non_null(row);
    return row;
}

static void round_trips_every_column_bit_exactly(void **state)
{
    (void)state;
    const uint64_t counts[] = {1, 2, 3, 4095, 4096, UINT64_C(1) << 20, UINT64_C(1) << 53, 12, 7};
    const int64_t starts[] = {-2 * MIN_MS, -MIN_MS,      0,           MIN_MS,          T0,
                              T0,          T0 + HOUR_MS, T0 + DAY_MS, INT64_C(1) << 52};
    struct rollup_bucket b[ARRAY_LEN(special_bits)];
    for (size_t i = 0; i < ARRAY_LEN(special_bits); i++) {
        b[i] = (struct rollup_bucket){
            .start_ms = starts[i],
            .min = test_bits_double(special_bits[i]),
            .max = test_bits_double(special_bits[(i + 1) % ARRAY_LEN(special_bits)]),
            .sum = test_bits_double(special_bits[(i + 2) % ARRAY_LEN(special_bits)]),
            .last = test_bits_double(special_bits[(i + 3) % ARRAY_LEN(special_bits)]),
            .count = counts[i],
        };
    }
    check_round_trip(b, ARRAY_LEN(b));
    check_round_trip(b, 1);
    check_round_trip(b + 5, 1);

    /* Random bit patterns in every column, a full row. */
    for (size_t i = 0; i < CHUNK_MAX_SAMPLES; i++) {
        buckets_buf[i] = (struct rollup_bucket){
            T0 + (int64_t)i * MIN_MS, test_bits_double(test_bits_rng()), test_bits_double(test_bits_rng()),
            test_bits_double(test_bits_rng()),         test_bits_double(test_bits_rng()), test_bits_rng() % (UINT64_C(1) << 53)};
    }
    check_round_trip(buckets_buf, CHUNK_MAX_SAMPLES);
    check_round_trip(buckets_buf, mixed_buckets(buckets_buf));
}

static void round_trips_a_window_of_rollups_in_every_tier(void **state)
{
    (void)state;
    const size_t n = CHUNK_MAX_SAMPLES; /* 5.7 h at 5 s: one chunk-sized window */
    int64_t hundredths = 2500;
    for (size_t i = 0; i < n; i++) {
        hundredths += (int64_t)(test_bits_rng() % 201) - 100;
        samples_buf[i] = (struct series_sample){T0 + (int64_t)i * 5000 + (int64_t)(test_bits_rng() % 3),
                                                (double)hundredths / 100.0};
    }
    const size_t want[] = {342, 69, 6};
    for (int tier = 0; tier < ROLLUP_TIER_COUNT; tier++) {
        int64_t step = rollup_tier_step_ms((enum rollup_tier)tier);
        size_t nb = rollup_compute(samples_buf, n, step, buckets_buf);
        assert_int_equal(nb, want[tier]);
        uint64_t total = 0;
        for (size_t b = 0; b < nb; b++) {
            assert_int_equal(buckets_buf[b].start_ms, T0 + (int64_t)b * step);
            total += buckets_buf[b].count;
        }
        assert_int_equal(total, n);
        size_t len = check_round_trip(buckets_buf, nb);
        print_message("  tier %s: %zu buckets in %zu bytes\n",
                      rollup_tier_name((enum rollup_tier)tier), nb, len);
    }
}

static void encodes_an_empty_row_and_refuses_more_buckets_than_a_chunk_holds(void **state)
{
    (void)state;
    size_t got = SIZE_MAX, len = 0;
    uint8_t *row = encode(buckets_buf, 0, &len);
    assert_int_equal(rollup_row_decode(row, len, back_buf, 0, &got), 0);
    assert_int_equal(got, 0);
    got = SIZE_MAX;
    assert_int_equal(rollup_row_decode(row, len, back_buf, 10, &got), 0);
    assert_int_equal(got, 0);
    free(row);

    for (size_t i = 0; i <= CHUNK_MAX_SAMPLES; i++)
        buckets_buf[i] = (struct rollup_bucket){T0 + (int64_t)i * MIN_MS, 1, 2, 3, 4, 5};
    static uint8_t untouched;
    row = &untouched;
    len = 77;
    assert_int_equal(rollup_row_encode(buckets_buf, CHUNK_MAX_SAMPLES + 1, &row, &len), -EINVAL);
    assert_ptr_equal(row, &untouched);
    assert_int_equal(len, 77);
    check_round_trip(buckets_buf, CHUNK_MAX_SAMPLES);
}

static void refuses_every_flipped_byte(void **state)
{
    (void)state;
    const uint8_t masks[] = {0x01, 0x80, 0xff};
    size_t len, n = mixed_buckets(buckets_buf), got;
    uint8_t *row = encode(buckets_buf, n, &len);
    for (size_t i = 0; i < len; i++) {
        for (size_t m = 0; m < ARRAY_LEN(masks); m++) {
            row[i] ^= masks[m];
            int rc = rollup_row_decode(row, len, back_buf, n + 10, &got);
            if (rc != -EBADMSG)
                fail_msg("byte %zu of %zu xor 0x%02x: got %d, want -EBADMSG", i, len, masks[m], rc);
            row[i] ^= masks[m];
        }
    }
    assert_int_equal(rollup_row_decode(row, len, back_buf, n, &got), 0);
    free(row);
}

static void refuses_every_truncated_prefix(void **state)
{
    (void)state;
    size_t len, n = mixed_buckets(buckets_buf), got;
    uint8_t *row = encode(buckets_buf, n, &len);
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *prefix = malloc(cut ? cut : 1); /* exact size: ASan catches overreads */
        assert_non_null(prefix);
        memcpy(prefix, row, cut);
        if (rollup_row_decode(cut ? prefix : NULL, cut, back_buf, n, &got) != -EBADMSG)
            fail_msg("prefix of %zu of %zu bytes accepted", cut, len);
        free(prefix);
    }
    free(row);
}

static void refuses_more_buckets_than_max(void **state)
{
    (void)state;
    size_t len, got;
    uint8_t *row = encode(buckets_buf, 5, &len);
    for (size_t max = 0; max < 5; max++)
        assert_int_equal(rollup_row_decode(row, len, back_buf, max, &got), -EBADMSG);
    got = SIZE_MAX;
    assert_int_equal(rollup_row_decode(row, len, back_buf, 5, &got), 0);
    assert_int_equal(got, 5);
    free(row);
}

static void refuses_trailing_bytes(void **state)
{
    (void)state;
    size_t len, got, n = mixed_buckets(buckets_buf);
    uint8_t *row = encode(buckets_buf, n, &len);
    uint8_t *longer = malloc(2 * len);
    assert_non_null(longer);
    memcpy(longer, row, len);
    memcpy(longer + len, row, len); /* the same row twice */
    const size_t extra[] = {1, 2, 8, len};
    const uint8_t fill[] = {0x00, 0xff};
    for (size_t e = 0; e < ARRAY_LEN(extra); e++) {
        for (size_t f = 0; f < ARRAY_LEN(fill) && extra[e] < len; f++) {
            memset(longer + len, fill[f], extra[e]);
            assert_int_equal(rollup_row_decode(longer, len + extra[e], back_buf, n, &got),
                             -EBADMSG);
        }
    }
    assert_int_equal(rollup_row_decode(longer, 2 * len, back_buf, 2 * n, &got), -EBADMSG);
    free(longer);
    free(row);
}

/* ---- rows built by hand, to the format in rollup.c ------------------------------------ */

enum breakage {
    INTACT,
    VERSION_0,
    VERSION_2,
    COUNT_ONE_MORE,
    COUNT_ONE_LESS,
    SUM_ONE_START_SHIFTED,
    MIN_ALL_STARTS_SHIFTED,
    LAST_ONE_BUCKET_FEWER,
    COUNT_COLUMN_ONE_BUCKET_MORE,
    FOUR_COLUMNS,
    SIX_COLUMNS,
    LAST_LENGTH_PAST_THE_END,
    MIN_LENGTH_ONE_SHORT,
    MAX_LENGTH_ONE_LONG,
    COLUMN_LENGTH_OF_11_BYTES,
    COUNT_OF_11_BYTES,
    COUNT_2_TO_THE_64_MINUS_1,
};

#define HAND_N 3

static const struct rollup_bucket hand_buckets[HAND_N] = {
    /* start, min, max, sum, last, count */
    {T0, 1.5, 2.5, 12.25, 2, 6},
    {T0 + MIN_MS, -1, 0.1, -3.3, 0.1, 12},
    {T0 + 3 * MIN_MS, NAN, INFINITY, NAN, -0.0, 1},
};

static double hand_value(const struct rollup_bucket *b, int column)
{
    const double v[] = {b->min, b->max, b->sum, (double)b->count, b->last};
    return v[column];
}

static void put_varint(uint8_t *out, size_t *len, uint64_t v)
{
    do {
        out[(*len)++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
        v >>= 7;
    } while (v != 0);
}

static size_t build_row(enum breakage what, uint8_t *out)
{
    struct chunk_encoder *enc = NULL;
    size_t len = 0;
    const int columns = what == FOUR_COLUMNS ? 4 : what == SIX_COLUMNS ? 6 : 5;
    out[len++] = what == VERSION_0 ? 0 : what == VERSION_2 ? 2 : ROLLUP_FORMAT_VERSION;
    if (what == COUNT_OF_11_BYTES) {
        memcpy(out + len, "\x83\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00", 11);
        len += 11;
    } else if (what == COUNT_2_TO_THE_64_MINUS_1) {
        put_varint(out, &len, UINT64_MAX);
    } else {
        put_varint(out, &len,
                   HAND_N + (what == COUNT_ONE_MORE ? 1 : 0) - (what == COUNT_ONE_LESS ? 1 : 0));
    }
    assert_int_equal(chunk_encoder_new(CHUNK_MAX_SAMPLES, &enc), 0);
    for (int c = 0; c < columns; c++) {
        int column = c < 5 ? c : 4;
        size_t n = HAND_N - (what == LAST_ONE_BUCKET_FEWER && c == 4 ? 1 : 0);
        chunk_encoder_reset(enc);
        for (size_t i = 0; i < n; i++) {
            int64_t start = hand_buckets[i].start_ms;
            if ((what == SUM_ONE_START_SHIFTED && c == 2 && i == 1) ||
                (what == MIN_ALL_STARTS_SHIFTED && c == 0))
                start += 1;
            assert_int_equal(chunk_encoder_append(enc, start, hand_value(&hand_buckets[i], column)),
                             0);
        }
        if (what == COUNT_COLUMN_ONE_BUCKET_MORE && c == 3)
            assert_int_equal(chunk_encoder_append(enc, T0 + 9 * MIN_MS, 1), 0);
        const uint8_t *chunk;
        size_t chunk_len;
        assert_int_equal(chunk_encoder_finish(enc, &chunk, &chunk_len), 0);
        uint64_t said = chunk_len;
        if (what == LAST_LENGTH_PAST_THE_END && c == 4)
            said++;
        if (what == MIN_LENGTH_ONE_SHORT && c == 0)
            said--;
        if (what == MAX_LENGTH_ONE_LONG && c == 1)
            said++;
        if (what == COLUMN_LENGTH_OF_11_BYTES && c == 2) {
            memcpy(out + len, "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00", 11);
            len += 11;
        } else {
            put_varint(out, &len, said);
        }
        memcpy(out + len, chunk, chunk_len);
        len += chunk_len;
    }
    chunk_encoder_free(enc);
    return len;
}

static void lays_out_rows_as_documented(void **state)
{
    (void)state;
    uint8_t hand[1024];
    size_t hand_len = build_row(INTACT, hand), len, got = 0;
    uint8_t *row = encode(hand_buckets, HAND_N, &len);
    assert_int_equal(len, hand_len);
    assert_memory_equal(row, hand, len);
    assert_int_equal(rollup_row_decode(hand, hand_len, back_buf, HAND_N, &got), 0);
    assert_int_equal(got, HAND_N);
    for (size_t i = 0; i < HAND_N; i++)
        assert_same_bucket(&back_buf[i], &hand_buckets[i]);
    free(row);
}

static void refuses_rows_whose_header_or_columns_disagree(void **state)
{
    (void)state;
    const struct {
        const char *why;
        enum breakage what;
    } rows[] = {
        {"version 0", VERSION_0},
        {"version 2", VERSION_2},
        {"count one more than the columns hold", COUNT_ONE_MORE},
        {"count one less than the columns hold", COUNT_ONE_LESS},
        {"one bucket start of the sum column shifted by 1 ms", SUM_ONE_START_SHIFTED},
        {"every start of the min column shifted by 1 ms", MIN_ALL_STARTS_SHIFTED},
        {"the last column one bucket short", LAST_ONE_BUCKET_FEWER},
        {"the count column one bucket long", COUNT_COLUMN_ONE_BUCKET_MORE},
        {"four columns", FOUR_COLUMNS},
        {"six columns", SIX_COLUMNS},
        {"the last column's length past the end", LAST_LENGTH_PAST_THE_END},
        {"the min column's length one short", MIN_LENGTH_ONE_SHORT},
        {"the max column's length one long", MAX_LENGTH_ONE_LONG},
        {"a column length varint of 11 bytes", COLUMN_LENGTH_OF_11_BYTES},
        {"a count varint of 11 bytes", COUNT_OF_11_BYTES},
        {"a count of 2^64 - 1", COUNT_2_TO_THE_64_MINUS_1},
    };
    for (size_t r = 0; r < ARRAY_LEN(rows); r++) {
        uint8_t hand[1024];
        size_t len = build_row(rows[r].what, hand), got;
        uint8_t *exact = malloc(len); /* exact size for ASan */
        assert_non_null(exact);
        memcpy(exact, hand, len);
        int rc = rollup_row_decode(exact, len, back_buf, CHUNK_MAX_SAMPLES, &got);
        if (rc != -EBADMSG)
            fail_msg("%s: got %d, want -EBADMSG", rows[r].why, rc);
        free(exact);
    }
    size_t got;
    assert_int_equal(rollup_row_decode((const uint8_t *)"\x01", 1, back_buf, 10, &got), -EBADMSG);
    assert_int_equal(rollup_row_decode((const uint8_t *)"\x01\x00", 2, back_buf, 10, &got),
                     -EBADMSG); /* zero buckets, but no columns */
    assert_int_equal(rollup_row_decode(NULL, 0, back_buf, 10, &got), -EBADMSG);
}

/* The n-th allocation fails, for every n: encode returns -ENOMEM, leaves *out alone and
 * leaks nothing. */
static void fails_cleanly_when_any_allocation_fails(void **state)
{
    (void)state;
#if FAULT_INJECTION
    long fail_at;
    size_t n = mixed_buckets(buckets_buf);
    if (!alloc_fail_works())
        skip();
    for (fail_at = 0;; fail_at++) {
        uint8_t *row = NULL;
        size_t len = 0, got;
        alloc_fail_arm(fail_at);
        int rc = rollup_row_encode(buckets_buf, n, &row, &len);
        alloc_fail_disarm();
        if (rc != 0) {
            assert_int_equal(rc, -ENOMEM);
            assert_null(row);
            assert_int_equal(alloc_fail_live(), 0);
            continue;
        }
        assert_int_equal(alloc_fail_live(), 1); /* the row */
        assert_int_equal(rollup_row_decode(row, len, back_buf, n, &got), 0);
        free(row);
        break;
    }
    print_message("  %ld allocations, each made to fail in turn\n", fail_at);
    assert_true(fail_at >= 3);
#else
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_each_tier_and_its_step),
        cmocka_unit_test(aligns_buckets_to_the_epoch_with_exact_aggregates),
        cmocka_unit_test(sums_decimal_values_exactly),
        cmocka_unit_test(sums_stay_right_when_scaled_values_leave_the_exact_range),
        cmocka_unit_test(falls_back_for_values_that_are_not_decimals),
        cmocka_unit_test(round_trips_every_column_bit_exactly),
        cmocka_unit_test(round_trips_a_window_of_rollups_in_every_tier),
        cmocka_unit_test(encodes_an_empty_row_and_refuses_more_buckets_than_a_chunk_holds),
        cmocka_unit_test(refuses_every_flipped_byte),
        cmocka_unit_test(refuses_every_truncated_prefix),
        cmocka_unit_test(refuses_more_buckets_than_max),
        cmocka_unit_test(refuses_trailing_bytes),
        cmocka_unit_test(lays_out_rows_as_documented),
        cmocka_unit_test(refuses_rows_whose_header_or_columns_disagree),
        cmocka_unit_test(fails_cleanly_when_any_allocation_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
