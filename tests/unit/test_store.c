/* Unit tests of the store (hub/store*.c) on a real SQLite file in a temporary directory:
 * identity (duplicates, conflicts) in the head, in level-0 and in final chunks, the
 * out-of-order window, the cardinality guard, WAL replay after a crash, folding and merging,
 * rollup tiers and their choice, retention, text samples. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hub/store.h"
#include "tests/support/temp_dir.h"

#define MIN_MS 60000LL
#define HOUR_MS 3600000LL
#define DAY_MS 86400000LL
/* A minute boundary far from now, so windows are sealed when the test says so. */
#define T0 (1700000000000LL - 1700000000000LL % (4 * HOUR_MS))

struct fixture {
    char dir[64], path[96];
    struct store_options opts;
    struct store *st;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    temp_dir_make("store", f->dir, sizeof f->dir, "s.db", f->path, sizeof f->path);
    store_options_default(&f->opts);
    f->opts.head_max_samples = 8;
    f->opts.retention_ms[STORE_TIER_RAW] = 0;
    f->opts.retention_ms[STORE_TIER_1M] = 0;
    f->opts.retention_ms[STORE_TIER_5M] = 0;
    f->opts.retention_ms[STORE_TIER_1H] = 0;
    *state = f;
    return 0;
}

static void open_store(struct fixture *f)
{
    char err[300];
    int rc = store_open(f->path, &f->opts, &f->st, err, sizeof err);
    if (rc != 0)
        fail_msg("store_open: %s", err);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->st);
    temp_dir_remove(f->dir);
    free(f);
    return 0;
}

/* Appends n samples of one series in one transaction; returns the counts. */
static struct store_append_result put(struct fixture *f, const char *host, const char *metric,
                                      const int64_t *ts, const double *v, size_t n)
{
    struct store_sample s[64];
    assert_true(n <= 64);
    for (size_t i = 0; i < n; i++)
        s[i] = (struct store_sample){metric, "", "", ts[i], STORE_KIND_NUMBER, v[i], NULL};
    struct store_append_result res = {0};
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(store_append(f->st, host, s, n, T0, &res), 0);
    assert_int_equal(store_commit(f->st), 0);
    return res;
}

static struct store_append_result put1(struct fixture *f, const char *metric, int64_t ts, double v)
{
    return put(f, "h", metric, &ts, &v, 1);
}

struct points {
    size_t n;
    int64_t ts[4096];
    double v[4096];
};

static int collect(void *user, const struct store_point *p)
{
    struct points *c = user;
    if (c->n < 4096) {
        c->ts[c->n] = p->ts_ms;
        c->v[c->n] = p->value;
    }
    c->n++;
    return 0;
}

static int64_t series_id(struct fixture *f, const char *host, const char *metric)
{
    struct store_series_info info[4];
    size_t n = 0;
    assert_int_equal(store_series(f->st, host, metric, info, 4, &n), 0);
    assert_int_equal(n, 1);
    return info[0].id;
}

static void read_all(struct fixture *f, const char *metric, struct points *c)
{
    memset(c, 0, sizeof *c);
    bool truncated;
    assert_int_equal(store_query(f->st, series_id(f, "h", metric), 0, INT64_MAX / 2, 100000,
                                 collect, c, &truncated), 0);
    assert_false(truncated);
}

static struct store_stats stats(struct fixture *f)
{
    struct store_stats s;
    assert_int_equal(store_stats(f->st, &s), 0);
    return s;
}

static void maintain_until_done(struct fixture *f, int64_t now_ms)
{
    bool more = true;
    for (int i = 0; i < 1000 && more; i++)
        assert_int_equal(store_maintain(f->st, now_ms, 1000, &more), 0);
    assert_false(more);
}

static void returns_samples_in_time_order_whatever_the_arrival_order(void **state)
{
    struct fixture *f = *state;
    open_store(f);
    const int64_t ts[] = {T0 + 3000, T0 + 1000, T0 + 2000};
    const double v[] = {3, 1, 2};
    struct store_append_result r = put(f, "h", "m", ts, v, 3);
    assert_int_equal(r.added, 3);
    struct points c;
    read_all(f, "m", &c);
    assert_int_equal(c.n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(c.ts[i], T0 + 1000 * (int64_t)(i + 1));
        assert_true(c.v[i] == (double)(i + 1));
    }
    assert_int_equal(stats(f).samples, 3);
}

/* The same identity, sent again, wherever the first copy lives by now. */
static void a_resent_sample_is_a_duplicate_and_another_value_a_conflict_in_every_layer(void **state)
{
    struct fixture *f = *state;
    open_store(f);
    /* Head. */
    assert_int_equal(put1(f, "m", T0, 1.5).added, 1);
    assert_int_equal(put1(f, "m", T0, 1.5).duplicates, 1);
    assert_int_equal(put1(f, "m", T0, 2.5).conflicts, 1);
    /* Fill the head past head_max_samples: it folds into a level-0 chunk at commit. */
    for (int i = 1; i < 10; i++)
        assert_int_equal(put1(f, "m", T0 + i * 1000, i).added, 1);
    assert_true(stats(f).l0_chunks >= 1);
    assert_int_equal(put1(f, "m", T0, 2.5).duplicates, 1);
    assert_int_equal(put1(f, "m", T0 + 1000, 7.25).conflicts, 1);
    /* Merge the window into final chunks, then resend again. */
    assert_int_equal(store_flush(f->st, T0 + DAY_MS), 0);
    assert_int_equal(stats(f).l0_chunks, 0);
    assert_true(stats(f).chunks >= 1);
    assert_int_equal(put1(f, "m", T0 + 2000, 2).duplicates, 1);
    assert_int_equal(put1(f, "m", T0 + 2000, 9).conflicts, 1);
    assert_int_equal(store_flush(f->st, T0 + DAY_MS), 0);
    struct points c;
    read_all(f, "m", &c);
    assert_int_equal(c.n, 10);
    assert_true(c.v[0] == 2.5);
    assert_true(c.v[1] == 7.25);
    assert_true(c.v[2] == 9);
    assert_true(c.v[9] == 9);
    assert_int_equal(stats(f).samples, 10);
}

/* An agent backfills its spool behind live data: late samples go in, even into windows
 * already merged (the window is merged again); only what raw retention would delete at once
 * is refused, unless it is an exact resend. */
static void accepts_late_samples_into_merged_windows_and_refuses_only_beyond_retention(void **state)
{
    struct fixture *f = *state;
    f->opts.out_of_order_ms = HOUR_MS;
    f->opts.retention_ms[STORE_TIER_RAW] = 7 * DAY_MS;
    open_store(f);
    assert_int_equal(put1(f, "m", T0, 1).added, 1);
    assert_int_equal(put1(f, "m", T0 + 9 * HOUR_MS, 2).added, 1);
    /* Two days behind the newest, within retention (appends run at now = T0): accepted. */
    assert_int_equal(put1(f, "m", T0 - 2 * DAY_MS, 3).added, 1);
    struct store_append_result r = put1(f, "m", T0 - 7 * DAY_MS - 1, 4);
    assert_int_equal(r.too_old, 1);
    assert_int_equal(r.added, 0);
    /* Merge the sealed windows, then write into one of them again. */
    maintain_until_done(f, T0 + 14 * HOUR_MS);
    assert_true(stats(f).compactions >= 2);
    uint64_t merged = stats(f).compactions;
    assert_int_equal(put1(f, "m", T0 + 1000, 5).added, 1);
    assert_int_equal(put1(f, "m", T0, 1).duplicates, 1);     /* resend of a merged sample */
    assert_int_equal(put1(f, "m", T0 + 1000, 6).conflicts, 1); /* newest value wins */
    maintain_until_done(f, T0 + 14 * HOUR_MS);
    assert_true(stats(f).compactions > merged);
    assert_int_equal(put1(f, "m", T0 + 1000, 6).duplicates, 1);
    struct points c;
    read_all(f, "m", &c);
    assert_int_equal(c.n, 4);
    assert_int_equal(c.ts[0], T0 - 2 * DAY_MS);
    assert_true(c.v[0] == 3);
    assert_int_equal(c.ts[1], T0);
    assert_int_equal(c.ts[2], T0 + 1000);
    assert_true(c.v[2] == 6);
    assert_int_equal(c.ts[3], T0 + 9 * HOUR_MS);
}

static void refuses_new_series_beyond_the_limits_but_keeps_existing_ones(void **state)
{
    struct fixture *f = *state;
    f->opts.max_series_per_host = 2;
    f->opts.max_series = 3;
    open_store(f);
    int64_t ts = T0;
    double v = 1;
    assert_int_equal(put(f, "a", "m1", &ts, &v, 1).added, 1);
    assert_int_equal(put(f, "a", "m2", &ts, &v, 1).added, 1);
    assert_int_equal(put(f, "a", "m3", &ts, &v, 1).too_many_series, 1);
    assert_int_equal(put(f, "b", "m1", &ts, &v, 1).added, 1);
    assert_int_equal(put(f, "c", "m1", &ts, &v, 1).too_many_series, 1);
    ts += 1000;
    assert_int_equal(put(f, "a", "m2", &ts, &v, 1).added, 1);
    assert_int_equal(stats(f).series, 3);
}

static void a_committed_sample_survives_a_crash_and_an_uncommitted_one_does_not(void **state)
{
    struct fixture *f = *state;
    f->opts.head_max_samples = 1000; /* everything stays in heads and the WAL */
    open_store(f);
    for (int i = 0; i < 50; i++)
        assert_int_equal(put1(f, "m", T0 + i * 1000, i * 0.5).added, 1);
    struct store_sample s = {"m", "", "", T0 + 999000, STORE_KIND_NUMBER, 42, NULL};
    struct store_append_result r = {0};
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(store_append(f->st, "h", &s, 1, T0, &r), 0);
    /* Closing now is what kill -9 does: the heads are lost, the open transaction too. */
    store_close(f->st);
    f->st = NULL;
    open_store(f);
    assert_int_equal(stats(f).replayed, 50);
    struct points c;
    read_all(f, "m", &c);
    assert_int_equal(c.n, 50);
    for (int i = 0; i < 50; i++)
        assert_true(c.v[i] == i * 0.5);
    assert_int_equal(stats(f).samples, 50);
    /* The replayed samples still deduplicate. */
    assert_int_equal(put1(f, "m", T0 + 7000, 3.5).duplicates, 1);
}

static void replay_skips_what_was_folded_and_keeps_what_was_not(void **state)
{
    struct fixture *f = *state;
    open_store(f); /* head_max_samples 8 */
    for (int i = 0; i < 20; i++)
        assert_int_equal(put1(f, "m", T0 + i * 1000, i).added, 1);
    const int64_t ts[] = {T0 + 100000, T0 + 101000};
    const double v[] = {100, 101};
    assert_int_equal(put(f, "h", "other", ts, v, 2).added, 2);
    store_close(f->st);
    f->st = NULL;
    open_store(f);
    struct points c;
    read_all(f, "m", &c);
    assert_int_equal(c.n, 20);
    for (int i = 0; i < 20; i++)
        assert_true(c.v[i] == i);
    read_all(f, "other", &c);
    assert_int_equal(c.n, 2);
    /* Only what was still in heads came back from the WAL. */
    assert_true(stats(f).replayed < 22);
    assert_true(stats(f).replayed >= 2);
    assert_int_equal(stats(f).samples, 22);
}

static void the_janitor_merges_sealed_windows_and_trims_the_wal(void **state)
{
    struct fixture *f = *state;
    open_store(f);
    /* Two windows of 5 s samples for one series. */
    for (int64_t t = T0; t < T0 + 8 * HOUR_MS; t += 5 * 64 * 1000) {
        int64_t ts[64];
        double v[64];
        for (int i = 0; i < 64; i++) {
            ts[i] = t + i * 5000;
            v[i] = (double)((ts[i] / 5000) % 1000) / 100;
        }
        put(f, "h", "m", ts, v, 64);
    }
    struct store_stats before = stats(f);
    assert_true(before.l0_chunks > 0);
    assert_int_equal(before.chunks, 0);
    /* Not sealed yet: the second window ends at T0 + 8 h, plus one hour out of order. */
    maintain_until_done(f, T0 + 8 * HOUR_MS);
    struct store_stats mid = stats(f);
    assert_true(mid.chunks >= 1);
    assert_true(mid.l0_chunks > 0);
    maintain_until_done(f, T0 + 9 * HOUR_MS + 1);
    struct store_stats after = stats(f);
    assert_int_equal(after.l0_chunks, 0);
    assert_int_equal(after.head_samples, 0);
    assert_int_equal(after.wal_rows, 0);
    assert_int_equal(after.compactions, 2);
    assert_int_equal(after.rollup_rows, 6);
    struct points c;
    read_all(f, "m", &c);
    assert_int_equal(c.n, 8 * 720);
    for (size_t i = 0; i < c.n && i < 4096; i++) {
        assert_int_equal(c.ts[i], T0 + (int64_t)i * 5000);
        assert_true(c.v[i] == (double)(((T0 + (int64_t)i * 5000) / 5000) % 1000) / 100);
    }
}

struct buckets {
    size_t n;
    int64_t ts[512];
    double v[512];
};

static int collect_bucket(void *user, int64_t ts, double v)
{
    struct buckets *b = user;
    if (b->n < 512) {
        b->ts[b->n] = ts;
        b->v[b->n] = v;
    }
    b->n++;
    return 0;
}

static struct buckets aggregate(struct fixture *f, int64_t from, int64_t to, int64_t step,
                                enum query_agg_kind agg, enum store_tier *tier)
{
    struct buckets b = {0};
    assert_int_equal(store_aggregate(f->st, series_id(f, "h", "m"), from, to, step, agg,
                                     collect_bucket, &b, tier), 0);
    return b;
}

/* One sample every 10 s, value = its index within the hour (0..359) / 4. */
static void fill_one_window(struct fixture *f)
{
    for (int64_t i = 0; i < 4 * 360; i += 60) {
        int64_t ts[60];
        double v[60];
        for (int k = 0; k < 60; k++) {
            ts[k] = T0 + (i + k) * 10000;
            v[k] = (double)((i + k) % 360) / 4;
        }
        put(f, "h", "m", ts, v, 60);
    }
}

static void aggregates_come_from_the_coarsest_tier_that_divides_the_step(void **state)
{
    struct fixture *f = *state;
    open_store(f);
    fill_one_window(f);
    enum store_tier tier;
    /* Before the merge: computed from raw samples whatever the step. */
    struct buckets raw = aggregate(f, T0, T0 + 4 * HOUR_MS - 1, HOUR_MS, QUERY_AGG_SUM, &tier);
    assert_int_equal(tier, STORE_TIER_1H);
    assert_int_equal(raw.n, 4);
    maintain_until_done(f, T0 + 6 * HOUR_MS);
    assert_int_equal(stats(f).rollup_rows, 3);
    struct buckets hourly = aggregate(f, T0, T0 + 4 * HOUR_MS - 1, HOUR_MS, QUERY_AGG_SUM, &tier);
    assert_int_equal(tier, STORE_TIER_1H);
    assert_int_equal(hourly.n, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(hourly.ts[i], T0 + (int64_t)i * HOUR_MS);
        /* sum of k/4 for k = 0..359 = 359 * 360 / 8 = 16155, exactly */
        assert_true(hourly.v[i] == 16155.0);
        assert_true(raw.v[i] == hourly.v[i]);
    }
    struct buckets b = aggregate(f, T0, T0 + HOUR_MS - 1, 10 * MIN_MS, QUERY_AGG_AVG, &tier);
    assert_int_equal(tier, STORE_TIER_5M);
    assert_int_equal(b.n, 6);
    assert_true(b.v[0] == (0 + 59) / 2.0 / 4);
    b = aggregate(f, T0, T0 + HOUR_MS - 1, 2 * MIN_MS, QUERY_AGG_MAX, &tier);
    assert_int_equal(tier, STORE_TIER_1M);
    assert_int_equal(b.n, 30);
    assert_true(b.v[0] == 11.0 / 4);
    b = aggregate(f, T0, T0 + HOUR_MS - 1, 5 * MIN_MS, QUERY_AGG_COUNT, &tier);
    assert_int_equal(tier, STORE_TIER_5M);
    assert_true(b.v[0] == 30);
    b = aggregate(f, T0, T0 + HOUR_MS - 1, 5 * MIN_MS, QUERY_AGG_LAST, &tier);
    assert_true(b.v[0] == 29.0 / 4);
    b = aggregate(f, T0, T0 + HOUR_MS - 1, 5 * MIN_MS, QUERY_AGG_MIN, &tier);
    assert_true(b.v[1] == 30.0 / 4);
    /* A step no tier divides, and p95, are served raw. */
    b = aggregate(f, T0, T0 + HOUR_MS - 1, 90000, QUERY_AGG_AVG, &tier);
    assert_int_equal(tier, STORE_TIER_RAW);
    assert_int_equal(b.n, 40);
    b = aggregate(f, T0, T0 + HOUR_MS - 1, 5 * MIN_MS, QUERY_AGG_P95, &tier);
    assert_int_equal(tier, STORE_TIER_RAW);
    assert_int_equal(b.n, 12);
    assert_true(b.v[0] == 28.0 / 4); /* nearest rank: ceil(0.95 * 30) = 29th of 0..29 */
}

static void retention_drops_raw_windows_and_keeps_rollups_for_their_own_time(void **state)
{
    struct fixture *f = *state;
    f->opts.retention_ms[STORE_TIER_RAW] = DAY_MS;
    f->opts.retention_ms[STORE_TIER_1M] = 3 * DAY_MS;
    open_store(f);
    fill_one_window(f);
    maintain_until_done(f, T0 + 6 * HOUR_MS);
    assert_int_equal(stats(f).samples, 1440);
    /* Two days later the raw window is gone; its 1 m and coarser rollups remain. */
    maintain_until_done(f, T0 + 2 * DAY_MS);
    struct points c;
    read_all(f, "m", &c);
    assert_int_equal(c.n, 0);
    assert_int_equal(stats(f).samples, 0);
    assert_int_equal(stats(f).retention_deleted, 1440);
    enum store_tier tier;
    struct buckets b = aggregate(f, T0, T0 + HOUR_MS - 1, MIN_MS, QUERY_AGG_COUNT, &tier);
    assert_int_equal(tier, STORE_TIER_1M);
    assert_int_equal(b.n, 60);
    /* Four days later the 1 m tier is gone too, the 5 m tier (90 d) is not. */
    maintain_until_done(f, T0 + 4 * DAY_MS);
    b = aggregate(f, T0, T0 + HOUR_MS - 1, MIN_MS, QUERY_AGG_COUNT, &tier);
    assert_int_equal(b.n, 0);
    b = aggregate(f, T0, T0 + HOUR_MS - 1, 5 * MIN_MS, QUERY_AGG_COUNT, &tier);
    assert_int_equal(b.n, 12);
}

static int collect_text(void *user, const struct store_point *p)
{
    char *out = user;
    size_t used = strlen(out);
    snprintf(out + used, 256 - used, "%s%lld=%s", used ? "," : "",
             (long long)((p->ts_ms - T0) / 1000), p->text ? p->text : "#");
    return 0;
}

static void text_samples_are_stored_deduplicated_and_replaced(void **state)
{
    struct fixture *f = *state;
    open_store(f);
    struct store_sample s[3] = {
        {"status", "", "", T0 + 2000, STORE_KIND_STRING, 0, "up"},
        {"status", "", "", T0 + 1000, STORE_KIND_STRING, 0, "starting"},
        {"status", "", "", T0 + 2000, STORE_KIND_STRING, 0, "up"},
    };
    struct store_append_result r = {0};
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(store_append(f->st, "h", s, 3, T0, &r), 0);
    assert_int_equal(store_commit(f->st), 0);
    assert_int_equal(r.added, 2);
    assert_int_equal(r.duplicates, 1);
    s[0].text = "down";
    memset(&r, 0, sizeof r);
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(store_append(f->st, "h", s, 1, T0, &r), 0);
    assert_int_equal(store_commit(f->st), 0);
    assert_int_equal(r.conflicts, 1);
    char out[256] = "";
    bool truncated;
    assert_int_equal(store_query(f->st, series_id(f, "h", "status"), 0, INT64_MAX / 2, 100,
                                 collect_text, out, &truncated), 0);
    assert_string_equal(out, "1=starting,2=down");
}

static void a_query_stops_at_max_points_and_says_so(void **state)
{
    struct fixture *f = *state;
    open_store(f);
    for (int i = 0; i < 30; i++)
        put1(f, "m", T0 + i * 1000, i);
    struct points c = {0};
    bool truncated = false;
    assert_int_equal(store_query(f->st, series_id(f, "h", "m"), T0 + 5000, T0 + 24000, 10,
                                 collect, &c, &truncated), 0);
    assert_true(truncated);
    assert_int_equal(c.n, 10);
    assert_int_equal(c.ts[0], T0 + 5000);
    assert_int_equal(c.ts[9], T0 + 14000);
}

static void a_reader_sees_the_writers_heads(void **state)
{
    struct fixture *f = *state;
    f->opts.head_max_samples = 1000;
    open_store(f);
    put1(f, "m", T0, 1);
    struct store *reader = NULL;
    char err[300];
    assert_int_equal(store_reader_open(f->st, &reader, err, sizeof err), 0);
    struct points c = {0};
    bool truncated;
    assert_int_equal(store_query(reader, series_id(f, "h", "m"), 0, INT64_MAX / 2, 10, collect,
                                 &c, &truncated), 0);
    assert_int_equal(c.n, 1);
    store_close(reader);
}

static void refuses_a_file_of_the_old_layout_with_a_reason(void **state)
{
    struct fixture *f = *state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "sqlite3 %s 'CREATE TABLE samples(x)' 2>/dev/null || "
             "python3 -c \"import sqlite3; sqlite3.connect('%s').execute('CREATE TABLE samples(x)')\"",
             f->path, f->path);
    assert_int_equal(system(cmd), 0);
    char err[300] = "";
    assert_int_equal(store_open(f->path, &f->opts, &f->st, err, sizeof err), -EIO);
    assert_non_null(strstr(err, "old row-per-sample layout"));
    f->st = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(returns_samples_in_time_order_whatever_the_arrival_order),
        T(a_resent_sample_is_a_duplicate_and_another_value_a_conflict_in_every_layer),
        T(accepts_late_samples_into_merged_windows_and_refuses_only_beyond_retention),
        T(refuses_new_series_beyond_the_limits_but_keeps_existing_ones),
        T(a_committed_sample_survives_a_crash_and_an_uncommitted_one_does_not),
        T(replay_skips_what_was_folded_and_keeps_what_was_not),
        T(the_janitor_merges_sealed_windows_and_trims_the_wal),
        T(aggregates_come_from_the_coarsest_tier_that_divides_the_step),
        T(retention_drops_raw_windows_and_keeps_rollups_for_their_own_time),
        T(text_samples_are_stored_deduplicated_and_replaced),
        T(a_query_stops_at_max_points_and_says_so),
        T(a_reader_sees_the_writers_heads),
        T(refuses_a_file_of_the_old_layout_with_a_reason),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
