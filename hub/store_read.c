/* The store's reads (see store.h): raw points merged from final chunks, level-0 chunks, the
 * head and the text table; aggregates from the coarsest fitting rollup tier, with raw
 * samples for the windows that have no rollup yet. Any handle; one thread per handle. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub/rollup.h"
#include "hub/store_internal.h"

#define MAX_BUCKETS_PER_ROW (STORE_WINDOW_MS / 60000)

static const enum store_stmt rollup_range[ROLLUP_TIER_COUNT] = {
    STMT_ROLLUP_RANGE_1M, STMT_ROLLUP_RANGE_5M, STMT_ROLLUP_RANGE_1H};
static const enum store_stmt rollup_span[ROLLUP_TIER_COUNT] = {
    STMT_ROLLUP_SPAN_1M, STMT_ROLLUP_SPAN_5M, STMT_ROLLUP_SPAN_1H};

/* Narrows [*first_w, *last_w] (window starts) to the windows a keyed table has rows for.
 * Returns false when none are left. */
static bool clamp_windows(struct store *st, enum store_stmt span, int64_t *first_w,
                          int64_t *last_w)
{
    sqlite3_stmt *q = st->stmt[span];
    bool any = sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL;
    if (any) {
        int64_t lo = store_key_window_ms(sqlite3_column_int64(q, 0));
        int64_t hi = store_key_window_ms(sqlite3_column_int64(q, 1));
        *first_w = *first_w > lo ? *first_w : lo;
        *last_w = *last_w < hi ? *last_w : hi;
    }
    sqlite3_reset(q);
    return any && *first_w <= *last_w;
}

int store_scratch_push(struct store *st, int64_t ts_ms, double value, int64_t rank)
{
    struct store_read_buf *b = &st->scratch;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        struct store_merge_item *grown = realloc(b->items, cap * sizeof *grown);
        if (grown == NULL)
            return -ENOMEM;
        b->items = grown;
        b->cap = cap;
    }
    b->items[b->n++] = (struct store_merge_item){ts_ms, value, rank};
    return 0;
}

static int compare_items(const void *a, const void *b)
{
    const struct store_merge_item *x = a, *y = b;
    if (x->ts_ms != y->ts_ms)
        return x->ts_ms < y->ts_ms ? -1 : 1;
    return (x->rank > y->rank) - (x->rank < y->rank);
}

void store_scratch_settle(struct store *st)
{
    struct store_read_buf *b = &st->scratch;
    bool sorted = true;
    for (size_t i = 1; i < b->n && sorted; i++)
        sorted = b->items[i - 1].ts_ms < b->items[i].ts_ms;
    if (sorted)
        return;
    qsort(b->items, b->n, sizeof b->items[0], compare_items);
    size_t out = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (out > 0 && b->items[out - 1].ts_ms == b->items[i].ts_ms)
            b->items[out - 1] = b->items[i]; /* the higher rank: the newer version */
        else
            b->items[out++] = b->items[i];
    }
    b->n = out;
}

int store_scratch_add_chunk(struct store *st, const void *blob, int len, int64_t from_ms,
                            int64_t to_ms, int64_t rank)
{
    struct chunk_iter it;
    if (len <= 0 || chunk_iter_init(&it, blob, (size_t)len) != 0) {
        snprintf(st->errmsg, sizeof st->errmsg, "a chunk is corrupt (checksum or format)");
        return -EIO;
    }
    if (it.info.count == 0 || it.info.last_ts_ms < from_ms || it.info.first_ts_ms > to_ms)
        return 0;
    int64_t ts;
    double v;
    int rc;
    while ((rc = chunk_iter_next(&it, &ts, &v)) == 1 && ts <= to_ms)
        if (ts >= from_ms && (rc = store_scratch_push(st, ts, v, rank)) != 0)
            return rc;
    if (rc < 0) {
        snprintf(st->errmsg, sizeof st->errmsg, "a chunk is corrupt (samples)");
        return -EIO;
    }
    return 0;
}

static int add_rows(struct store *st, sqlite3_stmt *q, int64_t from_ms, int64_t to_ms,
                    bool rank_by_id)
{
    int step, rc = 0;
    while (rc == 0 && (step = sqlite3_step(q)) == SQLITE_ROW)
        rc = store_scratch_add_chunk(st, sqlite3_column_blob(q, 1), sqlite3_column_bytes(q, 1),
                                     from_ms, to_ms, rank_by_id ? sqlite3_column_int64(q, 0) : 0);
    sqlite3_reset(q);
    if (rc == 0 && step != SQLITE_DONE)
        rc = store_fail(st, "read chunks");
    return rc;
}

int store_collect(struct store *st, int64_t series_id, int64_t from_ms, int64_t to_ms,
                  bool with_final, bool with_head)
{
    st->scratch.n = 0;
    if (from_ms < 0)
        from_ms = 0;
    if (to_ms < from_ms)
        return 0;
    int rc = 0;
    int64_t first_w = store_window_of(from_ms), last_w = store_window_of(to_ms);
    if (with_final && !clamp_windows(st, STMT_CHUNKS_SPAN, &first_w, &last_w))
        with_final = false;
    for (int64_t w = first_w; with_final && rc == 0 && w <= last_w; w += STORE_WINDOW_MS) {
        sqlite3_stmt *q = st->stmt[STMT_CHUNKS_RANGE];
        sqlite3_bind_int64(q, 1, store_key(w, series_id, 0));
        sqlite3_bind_int64(q, 2, store_key(w, series_id, STORE_KEY_PART_MAX));
        rc = add_rows(st, q, from_ms, to_ms, false);
    }
    if (rc == 0) {
        sqlite3_stmt *q = st->stmt[STMT_L0_OVERLAP];
        sqlite3_bind_int64(q, 1, series_id);
        sqlite3_bind_int64(q, 2, to_ms);
        sqlite3_bind_int64(q, 3, from_ms);
        rc = add_rows(st, q, from_ms, to_ms, true);
    }
    if (rc == 0 && with_head) {
        struct series_registry *reg = &st->shared->reg;
        pthread_rwlock_rdlock(&reg->lock);
        const struct series *s = series_by_id(reg, series_id);
        for (uint32_t i = 0; s != NULL && i < s->n && rc == 0; i++)
            if (s->head[i].ts_ms >= from_ms && s->head[i].ts_ms <= to_ms)
                rc = store_scratch_push(st, s->head[i].ts_ms, s->head[i].value, INT64_MAX);
        pthread_rwlock_unlock(&reg->lock);
    }
    if (rc == 0)
        store_scratch_settle(st);
    return rc;
}

static enum store_kind series_kind(struct store *st, int64_t series_id)
{
    struct series_registry *reg = &st->shared->reg;
    pthread_rwlock_rdlock(&reg->lock);
    const struct series *s = series_by_id(reg, series_id);
    enum store_kind kind = s != NULL ? (enum store_kind)s->kind : STORE_KIND_NUMBER;
    pthread_rwlock_unlock(&reg->lock);
    return kind == STORE_KIND_STRING || kind == STORE_KIND_DATA ? STORE_KIND_NUMBER : kind;
}

int store_query(struct store *st, int64_t series_id, int64_t from_ms, int64_t to_ms,
                size_t max_points, int (*fn)(void *user, const struct store_point *point),
                void *user, bool *truncated)
{
    *truncated = false;
    int rc = store_collect(st, series_id, from_ms, to_ms, true, true);
    if (rc != 0)
        return rc;
    enum store_kind kind = series_kind(st, series_id);
    sqlite3_stmt *texts = st->stmt[STMT_TEXT_RANGE];
    sqlite3_bind_int64(texts, 1, series_id);
    sqlite3_bind_int64(texts, 2, from_ms);
    sqlite3_bind_int64(texts, 3, to_ms);
    int step = sqlite3_step(texts);
    size_t i = 0, emitted = 0;
    while (rc == 0 && (i < st->scratch.n || step == SQLITE_ROW)) {
        struct store_point p;
        bool take_text = step == SQLITE_ROW &&
                         (i == st->scratch.n ||
                          sqlite3_column_int64(texts, 0) <= st->scratch.items[i].ts_ms);
        if (take_text) {
            p = (struct store_point){.ts_ms = sqlite3_column_int64(texts, 0),
                                     .kind = (enum store_kind)sqlite3_column_int(texts, 1),
                                     .text = (const char *)sqlite3_column_text(texts, 2)};
        } else {
            double v = st->scratch.items[i].value;
            p = (struct store_point){.ts_ms = st->scratch.items[i].ts_ms,
                                     .kind = kind == STORE_KIND_BOOL && v != 0 && v != 1
                                                 ? STORE_KIND_NUMBER
                                                 : kind,
                                     .value = v};
        }
        if (emitted == max_points) {
            *truncated = true;
            break;
        }
        rc = fn(user, &p);
        emitted++;
        if (take_text)
            step = sqlite3_step(texts);
        else
            i++;
    }
    if (rc == 0 && step != SQLITE_DONE && step != SQLITE_ROW)
        rc = store_fail(st, "read texts");
    sqlite3_reset(texts);
    return rc;
}

static int feed_raw(struct store *st, struct query_agg *q, int64_t series_id, int64_t from_ms,
                    int64_t to_ms)
{
    int rc = store_collect(st, series_id, from_ms, to_ms, true, true);
    for (size_t i = 0; rc == 0 && i < st->scratch.n; i++)
        rc = query_agg_add(q, st->scratch.items[i].ts_ms, st->scratch.items[i].value);
    return rc;
}

/* The coarsest tier whose buckets tile step_ms; raw when none does or for p95. */
static enum store_tier pick_tier(int64_t step_ms, enum query_agg_kind agg)
{
    if (agg == QUERY_AGG_P95)
        return STORE_TIER_RAW;
    for (int t = ROLLUP_TIER_COUNT - 1; t >= 0; t--)
        if (step_ms % rollup_tier_step_ms((enum rollup_tier)t) == 0)
            return (enum store_tier)(STORE_TIER_1M + t);
    return STORE_TIER_RAW;
}

/* Rollup buckets of one window, or 0 buckets when it has no rollup row (*found false). */
static int window_buckets(struct store *st, sqlite3_stmt *q, int64_t series_id, int64_t window_ms,
                          struct rollup_bucket *buckets, size_t *nb, bool *found)
{
    sqlite3_bind_int64(q, 1, store_key(window_ms, series_id, 0));
    sqlite3_bind_int64(q, 2, store_key(window_ms, series_id, 0));
    int step = sqlite3_step(q), rc = 0;
    *found = step == SQLITE_ROW;
    *nb = 0;
    if (*found && rollup_row_decode(sqlite3_column_blob(q, 1), (size_t)sqlite3_column_bytes(q, 1),
                                    buckets, MAX_BUCKETS_PER_ROW, nb) != 0) {
        snprintf(st->errmsg, sizeof st->errmsg, "a rollup row is corrupt");
        rc = -EIO;
    } else if (!*found && step != SQLITE_DONE) {
        rc = store_fail(st, "read rollups");
    }
    sqlite3_reset(q);
    return rc;
}

/* Window by window: its rollup row where it has one, else its raw samples (runs of windows
 * without rollups are read raw in one go). */
static int feed_rollups(struct store *st, struct query_agg *q, int64_t series_id, int64_t from_ms,
                        int64_t to_ms, int tier)
{
    struct rollup_bucket buckets[MAX_BUCKETS_PER_ROW];
    sqlite3_stmt *rows = st->stmt[rollup_range[tier]];
    int64_t raw_from = -1; /* start of the pending run without rollups */
    int rc = 0;
    int64_t first_w = store_window_of(from_ms), last_w = store_window_of(to_ms);
    if (!clamp_windows(st, rollup_span[tier], &first_w, &last_w))
        return feed_raw(st, q, series_id, from_ms, to_ms);
    if (first_w > from_ms)
        raw_from = from_ms; /* before the first rollup row anywhere */
    for (int64_t w = first_w; rc == 0 && w <= last_w; w += STORE_WINDOW_MS) {
        size_t nb;
        bool found;
        if ((rc = window_buckets(st, rows, series_id, w, buckets, &nb, &found)) != 0)
            break;
        if (!found) {
            if (raw_from < 0)
                raw_from = w > from_ms ? w : from_ms;
            continue;
        }
        if (raw_from >= 0 && (rc = feed_raw(st, q, series_id, raw_from, w - 1)) != 0)
            break;
        raw_from = -1;
        for (size_t i = 0; rc == 0 && i < nb; i++) {
            const struct rollup_bucket *b = &buckets[i];
            if (b->start_ms >= from_ms && b->start_ms <= to_ms)
                rc = query_agg_add_bucket(q, b->start_ms, b->min, b->max, b->sum, b->count,
                                          b->last);
        }
    }
    if (rc == 0 && raw_from < 0 && last_w + STORE_WINDOW_MS <= to_ms)
        raw_from = last_w + STORE_WINDOW_MS; /* after the last rollup row anywhere */
    if (rc == 0 && raw_from >= 0)
        rc = feed_raw(st, q, series_id, raw_from, to_ms);
    return rc;
}

int store_aggregate(struct store *st, int64_t series_id, int64_t from_ms, int64_t to_ms,
                    int64_t step_ms, enum query_agg_kind agg, query_emit_fn emit, void *user,
                    enum store_tier *tier)
{
    struct query_agg q;
    query_agg_init(&q, agg, step_ms, emit, user);
    *tier = pick_tier(step_ms, agg);
    if (from_ms < 0)
        from_ms = 0;
    int rc = *tier == STORE_TIER_RAW ? feed_raw(st, &q, series_id, from_ms, to_ms)
                                     : feed_rollups(st, &q, series_id, from_ms, to_ms,
                                                    (int)*tier - STORE_TIER_1M);
    if (rc == 0)
        rc = query_agg_finish(&q);
    query_agg_deinit(&q);
    return rc;
}
