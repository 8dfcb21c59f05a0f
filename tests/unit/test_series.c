/* Unit tests of hub/series: keys, lookups by key and id, series counts per host, growth of the
 * hash tables, heads (sorted insert, replace, copy, clear) with their bookkeeping, and
 * (without ASan) every allocation failing. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hub/series.h"

#include "tests/support/alloc_fail.h"
#include "tests/support/test_bits.h"
#define FAULT_INJECTION ALLOC_FAIL_AVAILABLE

#define T0 INT64_C(1735689600000) /* 2025-01-01T00:00:00Z */
#define NOW_MS INT64_C(1735690000000)
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define SEP "\x1f"

static int setup(void **state)
{
    struct series_registry *reg = malloc(sizeof *reg);
    if (reg == NULL || series_registry_init(reg) != 0) {
        free(reg);
        return -1;
    }
    *state = reg;
    return 0;
}

static int teardown(void **state)
{
    series_registry_deinit(*state);
    free(*state);
    return 0;
}

static struct series *add(struct series_registry *reg, int64_t id, const char *key)
{
    struct series *s = NULL;
    assert_int_equal(series_add(reg, id, key, 0, &s), 0);
    assert_non_null(s);
    return s;
}

static void put(struct series_registry *reg, struct series *s, int64_t ts_ms, double value,
                int64_t wal_id)
{
    assert_int_equal(series_head_put(reg, s, ts_ms, value, wal_id, NOW_MS), 0);
}

/* The head is sorted, one sample per timestamp, and n <= cap. */
static void assert_head_sorted(const struct series *s)
{
    assert_true(s->n <= s->cap);
    for (uint32_t i = 1; i < s->n; i++)
        if (s->head[i - 1].ts_ms >= s->head[i].ts_ms)
            fail_msg("head out of order at %u: %lld then %lld", i, (long long)s->head[i - 1].ts_ms,
                     (long long)s->head[i].ts_ms);
}

/* ---- keys ----------------------------------------------------------------------------- */

static void builds_keys_from_four_parts_and_refuses_what_does_not_fit(void **state)
{
    (void)state;
    const char want[] = "web-1" SEP "cpu.utilization" SEP "%" SEP "core=0";
    const size_t len = sizeof want - 1;
    const struct {
        size_t out_size;
        int rc;
    } rows[] = {
        {len + 1, 0},
        {len + 2, 0},
        {256, 0},
        {len, -ENAMETOOLONG}, /* no room for the NUL */
        {len - 1, -ENAMETOOLONG},
        {1, -ENAMETOOLONG},
    };
    for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
        char out[256];
        memset(out, 'x', sizeof out);
        int rc = series_key(out, rows[i].out_size, "web-1", "cpu.utilization", "%", "core=0");
        if (rc != rows[i].rc)
            fail_msg("out_size %zu: got %d, want %d", rows[i].out_size, rc, rows[i].rc);
        if (rc == 0)
            assert_memory_equal(out, want, sizeof want);
        else
            assert_true(out[rows[i].out_size] == 'x'); /* nothing written past the buffer */
    }
    char out[8];
    assert_int_equal(series_key(out, 0, "h", "m", "u", "l"), -ENAMETOOLONG);
    assert_int_equal(series_key(out, sizeof out, "", "", "", ""), 0);
    assert_string_equal(out, SEP SEP SEP);
    assert_int_equal(series_key(out, sizeof out, "h", "m", "", ""), 0);
    assert_string_equal(out, "h" SEP "m" SEP SEP);

    char labels[600], big[513];
    memset(labels, 'a', sizeof labels - 1);
    labels[sizeof labels - 1] = '\0';
    assert_int_equal(series_key(big, sizeof big, "h", "m", "u", labels), -ENAMETOOLONG);
    labels[512 - 7] = '\0'; /* "h" SEP "m" SEP "u" SEP = 6 bytes, + NUL: fills 512 exactly */
    assert_int_equal(series_key(big, 512, "h", "m", "u", labels), 0);
    assert_int_equal(strlen(big), 511);
}

/* ---- lookups -------------------------------------------------------------------------- */

static void finds_series_by_key_and_by_id(void **state)
{
    struct series_registry *reg = *state;
    char key[64];
    assert_null(series_find(reg, "h" SEP "m" SEP SEP)); /* empty registry */
    assert_null(series_by_id(reg, 1));
    snprintf(key, sizeof key, "%s", "h1" SEP "cpu" SEP "%" SEP);
    struct series *a = add(reg, 1, key);
    key[0] = 'X'; /* the registry keeps its own copy */
    struct series *b = add(reg, 2, "h1" SEP "mem" SEP "By" SEP);
    struct series *c = add(reg, 7, "h2" SEP "cpu" SEP "%" SEP "core=1");
    assert_int_equal(reg->count, 3);
    assert_ptr_equal(series_find(reg, "h1" SEP "cpu" SEP "%" SEP), a);
    assert_ptr_equal(series_find(reg, "h1" SEP "mem" SEP "By" SEP), b);
    assert_ptr_equal(series_find(reg, "h2" SEP "cpu" SEP "%" SEP "core=1"), c);
    assert_string_equal(a->key, "h1" SEP "cpu" SEP "%" SEP);
    assert_null(series_find(reg, key));
    assert_null(series_find(reg, "h2" SEP "cpu" SEP "%" SEP)); /* a prefix of c's key */
    assert_null(series_find(reg, "h2" SEP "cpu" SEP "%" SEP "core=10"));
    assert_null(series_find(reg, ""));
    const struct {
        int64_t id;
        struct series *want;
    } ids[] = {{1, a},         {2, b},    {7, c},    {0, NULL},         {-1, NULL},
               {3, NULL},      {6, NULL}, {8, NULL}, {INT64_MAX, NULL}, {INT64_MIN, NULL},
               {1 << 20, NULL}};
    for (size_t i = 0; i < ARRAY_LEN(ids); i++)
        if (series_by_id(reg, ids[i].id) != ids[i].want)
            fail_msg("series_by_id(%lld) is wrong", (long long)ids[i].id);
}

static void starts_a_series_empty_with_nothing_flushed(void **state)
{
    struct series_registry *reg = *state;
    struct series *s = NULL;
    assert_int_equal(series_add(reg, 5, "h" SEP "m" SEP SEP, 4, &s), 0);
    assert_int_equal(s->id, 5);
    assert_int_equal(s->kind, 4);
    assert_int_equal(s->n, 0);
    assert_null(s->head);
    assert_false(s->touched);
    assert_false(s->folding);
    assert_int_equal(s->max_ts_ms, SERIES_NONE_MS);
    assert_int_equal(s->flushed_max_ms, SERIES_NONE_MS);
    assert_int_equal(s->l0_min_ms, INT64_MAX);
    assert_int_equal(s->folded_wal, 0);
    assert_int_equal(reg->head_samples, 0);
}

static void refuses_ids_that_are_not_positive(void **state)
{
    struct series_registry *reg = *state;
    const int64_t ids[] = {0, -1, INT64_MIN};
    for (size_t i = 0; i < ARRAY_LEN(ids); i++) {
        struct series *s = NULL;
        assert_int_equal(series_add(reg, ids[i], "h" SEP "m" SEP SEP, 0, &s), -EINVAL);
        assert_null(s);
    }
    assert_int_equal(reg->count, 0);
    assert_null(series_find(reg, "h" SEP "m" SEP SEP));
    assert_int_equal(series_host_count(reg, "h", 1), 0);
}

/* ---- hosts ---------------------------------------------------------------------------- */

static void counts_series_per_host_without_confusing_prefixes(void **state)
{
    struct series_registry *reg = *state;
    assert_int_equal(series_host_count(reg, "web", 3), 0); /* empty registry */
    const char *keys[] = {
        "web" SEP "cpu" SEP SEP,
        "web" SEP "mem" SEP SEP,
        "web" SEP "disk" SEP SEP "d=sda",
        "web-1" SEP "cpu" SEP SEP,
        "web-1" SEP "mem" SEP SEP,
        "web-10" SEP "cpu" SEP SEP,
        SEP "orphan" SEP SEP,
        "solo",
        "db" SEP "x" SEP SEP "l=" SEP "odd", /* a separator inside the labels */
    };
    for (size_t i = 0; i < ARRAY_LEN(keys); i++)
        add(reg, (int64_t)i + 1, keys[i]);
    const struct {
        const char *host;
        uint64_t want;
    } rows[] = {
        {"web", 3}, {"web-1", 2}, {"web-10", 1}, {"we", 0}, {"web-", 0}, {"web-100", 0},
        {"", 1},    {"solo", 1},  {"db", 1},     {"x", 0},  {"cpu", 0},  {"WEB", 0},
    };
    for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
        uint64_t got = series_host_count(reg, rows[i].host, strlen(rows[i].host));
        if (got != rows[i].want)
            fail_msg("host \"%s\": %llu series, want %llu", rows[i].host, (unsigned long long)got,
                     (unsigned long long)rows[i].want);
    }
    /* The host may be given as the start of a longer string, e.g. the key itself. */
    assert_int_equal(series_host_count(reg, keys[3], 5), 2);
    assert_int_equal(series_host_count(reg, "web-1xyz", 5), 2);
    assert_int_equal(series_host_count(reg, "web-1xyz", 3), 3);
    assert_int_equal(series_host_count(reg, "web-1xyz", 0), 1); /* "": the orphan's host */
}

static void keeps_host_counts_apart_across_many_hosts_with_common_prefixes(void **state)
{
    struct series_registry *reg = *state;
    enum { HOSTS = 600 };
    char key[64], host[32];
    int64_t id = 1;
    for (int h = 0; h < HOSTS; h++) {
        snprintf(host, sizeof host, h == 0 ? "web" : "web-%d", h); /* web, web-1, web-10, ... */
        for (int m = 0; m <= h % 3; m++) {
            snprintf(key, sizeof key, "%s" SEP "metric%d" SEP SEP, host, m);
            add(reg, id++, key);
        }
    }
    for (int h = 0; h < HOSTS; h++) {
        snprintf(host, sizeof host, h == 0 ? "web" : "web-%d", h);
        assert_int_equal(series_host_count(reg, host, strlen(host)), (uint64_t)(h % 3 + 1));
    }
    assert_int_equal(series_host_count(reg, "web-600", 7), 0);
    assert_int_equal(series_host_count(reg, "web-", 4), 0);
    assert_int_equal(reg->n_hosts, HOSTS);
}

/* series.h: host_slot is the "index into the registry's host table"; it must stay so when
 * that table grows. */
static void host_slot_names_the_host_after_the_host_table_grows(void **state)
{
    struct series_registry *reg = *state;
    char key[64];
    struct series *first = add(reg, 1, "alpha" SEP "cpu" SEP SEP);
    for (int h = 0; h < 300; h++) {
        snprintf(key, sizeof key, "host-%d" SEP "cpu" SEP SEP, h);
        add(reg, h + 2, key);
    }
    struct series *last = series_by_id(reg, 301);
    assert_non_null(last);
    assert_true(last->host_slot < reg->n_hosts_slots);
    assert_non_null(reg->hosts[last->host_slot].name);
    assert_string_equal(reg->hosts[last->host_slot].name, "host-299");
    assert_true(first->host_slot < reg->n_hosts_slots);
    if (reg->hosts[first->host_slot].name == NULL ||
        strcmp(reg->hosts[first->host_slot].name, "alpha") != 0)
        fail_msg("series \"alpha\" has host_slot %u, which holds \"%s\" after the host table "
                 "grew to %zu slots",
                 first->host_slot,
                 reg->hosts[first->host_slot].name ? reg->hosts[first->host_slot].name
                                                   : "(free slot)",
                 reg->n_hosts_slots);
}

/* ---- growth --------------------------------------------------------------------------- */

static void grows_past_several_thousand_series_and_finds_every_one(void **state)
{
    struct series_registry *reg = *state;
    enum { N = 20000, HOSTS = 50 };
    static struct series *added[N];
    char key[96];
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "host-%d" SEP "metric.%d" SEP "By" SEP "i=%d", i % HOSTS, i, i);
        added[i] = add(reg, 3 * (int64_t)i + 1, key); /* sparse ids */
        if (i == 700 || i == 5000) {                  /* earlier series survive each rehash */
            assert_ptr_equal(series_find(reg, "host-0" SEP "metric.0" SEP "By" SEP "i=0"),
                             added[0]);
            assert_ptr_equal(series_by_id(reg, 1), added[0]);
        }
    }
    assert_int_equal(reg->count, N);
    assert_int_equal(reg->n_slots & (reg->n_slots - 1), 0); /* a power of two */
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "host-%d" SEP "metric.%d" SEP "By" SEP "i=%d", i % HOSTS, i, i);
        if (series_find(reg, key) != added[i])
            fail_msg("series %d not found by key after growth", i);
        assert_ptr_equal(series_by_id(reg, 3 * (int64_t)i + 1), added[i]);
        assert_null(series_by_id(reg, 3 * (int64_t)i + 2));
        assert_int_equal(added[i]->id, 3 * (int64_t)i + 1);
        assert_string_equal(added[i]->key, key);
    }
    snprintf(key, sizeof key, "host-0" SEP "metric.%d" SEP "By" SEP "i=%d", N, N);
    assert_null(series_find(reg, key));
    for (int h = 0; h < HOSTS; h++) {
        snprintf(key, sizeof key, "host-%d", h);
        assert_int_equal(series_host_count(reg, key, strlen(key)), N / HOSTS);
    }
}

/* ---- heads ---------------------------------------------------------------------------- */

static void puts_samples_in_time_order_and_counts_them(void **state)
{
    struct series_registry *reg = *state;
    struct series *s = add(reg, 1, "h" SEP "m" SEP SEP);
    for (int i = 0; i < 100; i++)
        assert_int_equal(series_head_put(reg, s, T0 + i * 5000, i * 0.5, 10 + i, NOW_MS + i), 0);
    assert_int_equal(s->n, 100);
    assert_int_equal(reg->head_samples, 100);
    assert_head_sorted(s);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(s->head[i].ts_ms, T0 + i * 5000);
        assert_true(s->head[i].value == i * 0.5);
        assert_int_equal(series_head_find(s, T0 + i * 5000), i);
    }
    assert_int_equal(s->max_ts_ms, T0 + 99 * 5000);
    assert_int_equal(s->head_since_ms, NOW_MS); /* when the first sample came */
    assert_int_equal(s->head_min_wal, 10);
    assert_int_equal(s->head_max_wal, 109);
}

static void sorts_samples_that_arrive_out_of_order(void **state)
{
    struct series_registry *reg = *state;
    enum { N = 1000 };
    static int64_t order[N];
    struct series *s = add(reg, 1, "h" SEP "m" SEP SEP);
    for (int i = 0; i < N; i++)
        order[i] = T0 + i * 1000;
    for (int i = N - 1; i > 0; i--) { /* Fisher-Yates */
        int j = (int)(test_bits_rng() % (uint64_t)(i + 1));
        int64_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (int i = 0; i < N; i++) {
        put(reg, s, order[i], (double)(order[i] - T0), 1);
        assert_int_equal(s->n, i + 1);
    }
    assert_head_sorted(s);
    assert_int_equal(reg->head_samples, N);
    assert_int_equal(s->max_ts_ms, T0 + (N - 1) * 1000);
    for (int i = 0; i < N; i++) {
        assert_int_equal(s->head[i].ts_ms, T0 + i * 1000);
        assert_true(s->head[i].value == (double)(i * 1000));
    }
    const struct {
        int64_t ts_ms;
        long want;
    } finds[] = {
        {T0, 0},         {T0 + 1000, 1}, {T0 + (N - 1) * 1000, N - 1}, {T0 - 1, -1},
        {T0 + 1, -1},    {T0 + 999, -1}, {T0 + N * 1000, -1},          {INT64_MIN, -1},
        {INT64_MAX, -1},
    };
    for (size_t i = 0; i < ARRAY_LEN(finds); i++)
        assert_int_equal(series_head_find(s, finds[i].ts_ms), finds[i].want);

    /* Before the first, between two, and at the extremes. */
    put(reg, s, T0 - 1, -1, 1);
    put(reg, s, T0 + 500, 0.5, 1);
    put(reg, s, INT64_MIN, -2, 1);
    put(reg, s, INT64_MAX, 2, 1);
    assert_int_equal(s->n, N + 4);
    assert_head_sorted(s);
    assert_int_equal(s->head[0].ts_ms, INT64_MIN);
    assert_int_equal(s->head[1].ts_ms, T0 - 1);
    assert_int_equal(s->head[3].ts_ms, T0 + 500);
    assert_int_equal(s->head[N + 3].ts_ms, INT64_MAX);
    assert_int_equal(s->max_ts_ms, INT64_MAX);
    assert_int_equal(reg->head_samples, N + 4);

    struct series *empty = add(reg, 2, "h" SEP "n" SEP SEP);
    assert_int_equal(series_head_find(empty, T0), -1);
}

static void replaces_the_value_at_an_equal_timestamp(void **state)
{
    struct series_registry *reg = *state;
    struct series *s = add(reg, 1, "h" SEP "m" SEP SEP);
    put(reg, s, T0 + 10, 1, 1);
    put(reg, s, T0 + 20, 2, 1);
    put(reg, s, T0 + 30, 3, 1);
    const struct {
        int64_t ts_ms;
        double value;
        uint32_t index;
    } rows[] = {
        {T0 + 20, 99, 1},   /* the middle */
        {T0 + 10, -0.0, 0}, /* the first */
        {T0 + 30, NAN, 2},  /* the last, the appending fast path's boundary */
        {T0 + 20, 98, 1},   /* again */
    };
    for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
        put(reg, s, rows[i].ts_ms, rows[i].value, 1);
        assert_int_equal(s->n, 3);
        assert_int_equal(reg->head_samples, 3);
        assert_int_equal(s->head[rows[i].index].ts_ms, rows[i].ts_ms);
        assert_int_equal(test_bits_of(s->head[rows[i].index].value), test_bits_of(rows[i].value));
    }
    assert_head_sorted(s);
    assert_true(s->head[0].value == 0 && signbit(s->head[0].value));
    assert_true(s->head[1].value == 98);
    assert_true(isnan(s->head[2].value));
    assert_int_equal(s->max_ts_ms, T0 + 30);
}

static void tracks_wal_rows_and_the_newest_timestamp(void **state)
{
    struct series_registry *reg = *state;
    struct series *s = add(reg, 1, "h" SEP "m" SEP SEP);
    const struct {
        int64_t ts_ms, wal_id, now_ms;
        int64_t min_wal, max_wal, max_ts, since;
    } rows[] = {
        {T0 + 100, 5, NOW_MS, 5, 5, T0 + 100, NOW_MS},     /* the first sets both */
        {T0 + 50, 3, NOW_MS + 1, 3, 5, T0 + 100, NOW_MS},  /* older ts, older row */
        {T0 + 200, 9, NOW_MS + 2, 3, 9, T0 + 200, NOW_MS}, /* newer ts, newer row */
        {T0 + 100, 1, NOW_MS + 3, 1, 9, T0 + 200, NOW_MS}, /* a replace counts too */
        {T0 + 200, 12, NOW_MS + 4, 1, 12, T0 + 200, NOW_MS},
        {T0 - 100, 7, NOW_MS + 5, 1, 12, T0 + 200, NOW_MS}, /* old ts does not lower max_ts */
    };
    for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
        assert_int_equal(
            series_head_put(reg, s, rows[i].ts_ms, 1.0, rows[i].wal_id, rows[i].now_ms), 0);
        if (s->head_min_wal != rows[i].min_wal || s->head_max_wal != rows[i].max_wal ||
            s->max_ts_ms != rows[i].max_ts || s->head_since_ms != rows[i].since)
            fail_msg("after put %zu: wal %lld..%lld, max_ts %lld, since %lld; want %lld..%lld, "
                     "%lld, %lld",
                     i, (long long)s->head_min_wal, (long long)s->head_max_wal,
                     (long long)s->max_ts_ms, (long long)s->head_since_ms,
                     (long long)rows[i].min_wal, (long long)rows[i].max_wal,
                     (long long)rows[i].max_ts, (long long)rows[i].since);
    }
    assert_int_equal(s->n, 4);

    s->folding = true;
    series_head_clear(reg, s);
    assert_int_equal(s->n, 0);
    assert_int_equal(s->cap, 0);
    assert_null(s->head);
    assert_false(s->folding);
    assert_int_equal(s->head_min_wal, 0);
    assert_int_equal(s->head_max_wal, 0);
    assert_int_equal(s->head_since_ms, 0);
    assert_int_equal(s->max_ts_ms, T0 + 200); /* the newest seen, not only in the head */
    assert_int_equal(reg->head_samples, 0);

    /* After a clear the next sample starts the bookkeeping again, even with a larger row. */
    assert_int_equal(series_head_put(reg, s, T0 + 300, 2.0, 40, NOW_MS + 9), 0);
    assert_int_equal(s->head_min_wal, 40);
    assert_int_equal(s->head_max_wal, 40);
    assert_int_equal(s->head_since_ms, NOW_MS + 9);
    assert_int_equal(s->max_ts_ms, T0 + 300);
}

static void keeps_head_samples_equal_to_the_sum_over_all_heads(void **state)
{
    struct series_registry *reg = *state;
    struct series *a = add(reg, 1, "h" SEP "a" SEP SEP);
    struct series *b = add(reg, 2, "h" SEP "b" SEP SEP);
    struct series *c = add(reg, 3, "h" SEP "c" SEP SEP);
    for (int i = 0; i < 3; i++)
        put(reg, a, T0 + i, i, 1);
    for (int i = 0; i < 50; i++) /* grows b's head several times */
        put(reg, b, T0 - i, i, 1);
    assert_int_equal(reg->head_samples, 53);
    put(reg, a, T0 + 1, 7, 2); /* replace */
    assert_int_equal(reg->head_samples, 53);
    series_head_clear(reg, c); /* empty */
    assert_int_equal(reg->head_samples, 53);
    series_head_clear(reg, a);
    assert_int_equal(reg->head_samples, 50);
    series_head_clear(reg, a); /* twice */
    assert_int_equal(reg->head_samples, 50);
    put(reg, a, T0, 1, 3);
    assert_int_equal(reg->head_samples, 51);
    series_head_clear(reg, b);
    series_head_clear(reg, a);
    assert_int_equal(reg->head_samples, 0);
    /* Heads left full are freed by deinit (the sanitizer checks for leaks). */
    for (int i = 0; i < 20; i++)
        put(reg, c, T0 + i, i, 1);
    assert_int_equal(reg->head_samples, 20);
}

static void copies_the_head_samples_in_a_closed_range(void **state)
{
    struct series_registry *reg = *state;
    struct series *s = add(reg, 1, "h" SEP "m" SEP SEP);
    struct series_sample out[16];
    assert_int_equal(series_head_copy(s, INT64_MIN, INT64_MAX, out, 16), 0); /* empty */
    for (int i = 10; i >= 1; i--)
        put(reg, s, i * 10, i, 1); /* 10, 20, ..., 100 */
    const struct {
        int64_t from, to;
        size_t max, n;
        int64_t first;
    } rows[] = {
        {INT64_MIN, INT64_MAX, 16, 10, 10},
        {10, 100, 16, 10, 10}, /* both ends inclusive */
        {20, 50, 16, 4, 20},
        {21, 49, 16, 2, 30},
        {15, 15, 16, 0, 0},
        {50, 50, 16, 1, 50},
        {100, 100, 16, 1, 100},
        {101, 200, 16, 0, 0},
        {0, 9, 16, 0, 0},
        {60, 40, 16, 0, 0},  /* from after to */
        {10, 100, 3, 3, 10}, /* max stops it */
        {35, 100, 1, 1, 40},
        {10, 100, 0, 0, 0},
    };
    for (size_t r = 0; r < ARRAY_LEN(rows); r++) {
        memset(out, 0, sizeof out);
        size_t n = series_head_copy(s, rows[r].from, rows[r].to, out, rows[r].max);
        if (n != rows[r].n)
            fail_msg("[%lld, %lld] max %zu: %zu samples, want %zu", (long long)rows[r].from,
                     (long long)rows[r].to, rows[r].max, n, rows[r].n);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(out[i].ts_ms, rows[r].first + 10 * (int64_t)i);
            assert_true(out[i].value == (double)(out[i].ts_ms / 10));
        }
        if (n < 16)
            assert_int_equal(out[n].ts_ms, 0); /* nothing written past n */
    }
}

/* ---- allocation failure --------------------------------------------------------------- */

/* The n-th allocation fails, for every n: series_add returns -ENOMEM and a retry succeeds;
 * series_head_put returns -ENOMEM with the head and its bookkeeping unchanged; deinit frees
 * everything. */
static void fails_cleanly_when_any_allocation_fails(void **state)
{
    (void)state;
#if FAULT_INJECTION
    enum { N = 40 };
    long fail_at;
    char key[64];
    if (!alloc_fail_works())
        skip();
    for (fail_at = 0;; fail_at++) {
        struct series_registry reg;
        int failures = 0;
        alloc_fail_arm(fail_at);
        assert_int_equal(series_registry_init(&reg), 0);
        for (int i = 0; i < N; i++) {
            struct series *s = NULL;
            snprintf(key, sizeof key, "h%d" SEP "m%d" SEP SEP, i % 3, i);
            int rc = series_add(&reg, i + 1, key, 0, &s);
            if (rc != 0) {
                assert_int_equal(rc, -ENOMEM);
                assert_null(series_find(&reg, key));
                assert_null(series_by_id(&reg, i + 1));
                failures++;
                assert_int_equal(series_add(&reg, i + 1, key, 0, &s), 0);
            }
            assert_ptr_equal(series_find(&reg, key), s);
            for (int j = 0; j < 20; j++) {
                uint32_t n = s->n;
                int64_t min_wal = s->head_min_wal, max_wal = s->head_max_wal;
                int64_t max_ts = s->max_ts_ms;
                uint64_t head_samples = reg.head_samples;
                rc = series_head_put(&reg, s, T0 + j, j, 100 + j, NOW_MS);
                if (rc != 0) {
                    assert_int_equal(rc, -ENOMEM);
                    assert_int_equal(s->n, n);
                    assert_int_equal(s->head_min_wal, min_wal);
                    assert_int_equal(s->head_max_wal, max_wal);
                    assert_int_equal(s->max_ts_ms, max_ts);
                    assert_int_equal(reg.head_samples, head_samples);
                    failures++;
                    put(&reg, s, T0 + j, j, 100 + j);
                }
            }
            assert_int_equal(s->n, 20);
            assert_head_sorted(s);
        }
        for (int h = 0; h < 3; h++) {
            snprintf(key, sizeof key, "h%d", h);
            assert_int_equal(series_host_count(&reg, key, strlen(key)), N / 3 + (h < N % 3));
        }
        assert_int_equal(reg.head_samples, N * 20);
        series_registry_deinit(&reg);
        alloc_fail_disarm();
        assert_int_equal(alloc_fail_live(), 0);
        if (failures == 0)
            break;
    }
    print_message("  %ld allocations, each made to fail in turn\n", fail_at);
    assert_true(fail_at > N);
#else
    skip();
#endif
}

/* Ids come from the store's database; an id past what the id index can address must be
 * refused, leaving the registry as it was. (Kept last: a broken index takes the process.) */
static void refuses_an_id_too_large_to_index_and_stays_usable(void **state)
{
    struct series_registry *reg = *state;
    struct series *first = add(reg, 1, "h" SEP "a" SEP SEP);
    const int64_t ids[] = {(INT64_C(1) << 61) + 1, INT64_MAX};
    for (size_t i = 0; i < ARRAY_LEN(ids); i++) {
        struct series *s = NULL;
        int rc = series_add(reg, ids[i], "h" SEP "huge" SEP SEP, 0, &s);
        if (rc != -ENOMEM && rc != -EINVAL)
            fail_msg("id %lld: got %d, want -ENOMEM or -EINVAL", (long long)ids[i], rc);
        assert_ptr_equal(series_by_id(reg, 1), first);
        assert_ptr_equal(series_find(reg, "h" SEP "a" SEP SEP), first);
    }
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(builds_keys_from_four_parts_and_refuses_what_does_not_fit),
        TEST(finds_series_by_key_and_by_id),
        TEST(starts_a_series_empty_with_nothing_flushed),
        TEST(refuses_ids_that_are_not_positive),
        TEST(counts_series_per_host_without_confusing_prefixes),
        TEST(keeps_host_counts_apart_across_many_hosts_with_common_prefixes),
        TEST(host_slot_names_the_host_after_the_host_table_grows),
        TEST(grows_past_several_thousand_series_and_finds_every_one),
        TEST(puts_samples_in_time_order_and_counts_them),
        TEST(sorts_samples_that_arrive_out_of_order),
        TEST(replaces_the_value_at_an_equal_timestamp),
        TEST(tracks_wal_rows_and_the_newest_timestamp),
        TEST(keeps_head_samples_equal_to_the_sum_over_all_heads),
        TEST(copies_the_head_samples_in_a_closed_range),
        cmocka_unit_test(fails_cleanly_when_any_allocation_fails),
        TEST(refuses_an_id_too_large_to_index_and_stays_usable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
