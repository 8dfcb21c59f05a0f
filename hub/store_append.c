/* The store's write path (see store.h): series lookup and creation under the cardinality
 * limits, classification of each sample (new, duplicate, conflict, too old) against the
 * head and the written chunks, the write-ahead row of the batch, text samples, and the fold
 * of heads into level-0 chunks. Writer thread only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub/store_internal.h"

/* Bit-identical (NaN payloads and the sign of zero count). */
static bool same_value(double a, double b)
{
    uint64_t x, y;
    memcpy(&x, &a, sizeof x);
    memcpy(&y, &b, sizeof y);
    return x == y;
}

/* Finds the newest written version of (s, ts): level-0 chunks (the newest row wins), then
 * the final chunks of its window. */
static int lookup_written(struct store *st, const struct series *s, int64_t ts_ms, bool *found,
                          double *value)
{
    *found = false;
    sqlite3_stmt *q = st->stmt[STMT_L0_OVERLAP];
    sqlite3_bind_int64(q, 1, s->id);
    sqlite3_bind_int64(q, 2, ts_ms);
    sqlite3_bind_int64(q, 3, ts_ms);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct chunk_iter it;
        if (chunk_iter_init(&it, sqlite3_column_blob(q, 1), (size_t)sqlite3_column_bytes(q, 1)) != 0)
            continue;
        int64_t t;
        double v;
        while (chunk_iter_next(&it, &t, &v) == 1 && t <= ts_ms) {
            if (t == ts_ms) {
                *found = true;
                *value = v;
            }
        }
    }
    sqlite3_reset(q);
    if (step != SQLITE_DONE)
        return store_fail(st, "lookup l0");
    if (*found)
        return 0;
    int64_t window_ms = store_window_of(ts_ms);
    q = st->stmt[STMT_CHUNKS_RANGE];
    sqlite3_bind_int64(q, 1, store_key(window_ms, s->id, 0));
    sqlite3_bind_int64(q, 2, store_key(window_ms, s->id, STORE_KEY_PART_MAX));
    while (!*found && (step = sqlite3_step(q)) == SQLITE_ROW) {
        struct chunk_iter it;
        if (chunk_iter_init(&it, sqlite3_column_blob(q, 1), (size_t)sqlite3_column_bytes(q, 1)) != 0 ||
            it.info.count == 0 || it.info.first_ts_ms > ts_ms || it.info.last_ts_ms < ts_ms)
            continue;
        int64_t t;
        double v;
        while (chunk_iter_next(&it, &t, &v) == 1 && t <= ts_ms) {
            if (t == ts_ms) {
                *found = true;
                *value = v;
            }
        }
    }
    sqlite3_reset(q);
    return step == SQLITE_DONE || step == SQLITE_ROW ? 0 : store_fail(st, "lookup chunks");
}

/* Late samples are welcome (an agent backfills its spool behind live data): a sample for a
 * window already merged lands in a level-0 chunk and the janitor merges that window again.
 * Only what raw retention would delete at once is refused. */
static bool too_old(const struct store *st, int64_t ts_ms, int64_t now_ms)
{
    int64_t keep = st->opts.retention_ms[STORE_TIER_RAW];
    return keep > 0 && ts_ms < now_ms - keep;
}

int store_apply_numeric(struct store *st, struct series *s, int64_t ts_ms, uint8_t kind,
                        double value, int64_t wal_id, int64_t now_ms, bool replay,
                        struct store_append_result *res, bool *changed)
{
    *changed = false;
    if (s->kind == STORE_KIND_STRING || s->kind == STORE_KIND_DATA) {
        /* A series that began with text takes the kind of its first number (or boolean). */
        s->kind = kind;
        if (!replay) {
            sqlite3_stmt *q = st->stmt[STMT_UPDATE_SERIES_KIND];
            sqlite3_bind_int(q, 1, kind);
            sqlite3_bind_int64(q, 2, s->id);
            int step = sqlite3_step(q);
            sqlite3_reset(q);
            if (step != SQLITE_DONE)
                return store_fail(st, "update series kind");
        }
    }
    long at = series_head_find(s, ts_ms);
    bool found = at >= 0, late = too_old(st, ts_ms, now_ms);
    double old = found ? s->head[at].value : 0;
    if (!found && s->flushed_max_ms != SERIES_NONE_MS && ts_ms <= s->flushed_max_ms) {
        int rc = lookup_written(st, s, ts_ms, &found, &old);
        if (rc != 0)
            return rc;
    }
    if (found && same_value(old, value)) {
        res->duplicates++;
        return 0;
    }
    if (late && !replay) {
        res->too_old++;
        return 0;
    }
    int rc = series_head_put(&st->shared->reg, s, ts_ms, value, wal_id, now_ms);
    if (rc != 0)
        return rc;
    *changed = true;
    if (found) {
        res->conflicts++;
    } else {
        res->added++;
        if (!replay)
            st->txn_added++;
    }
    return 0;
}

static int apply_text(struct store *st, struct series *s, const struct store_sample *smp,
                      int64_t now_ms, struct store_append_result *res)
{
    bool late = too_old(st, smp->ts_ms, now_ms);
    sqlite3_stmt *q = st->stmt[late ? STMT_TEXT_SELECT : STMT_TEXT_INSERT];
    int step;
    if (!late) {
        sqlite3_bind_int64(q, 1, s->id);
        sqlite3_bind_int64(q, 2, smp->ts_ms);
        sqlite3_bind_int(q, 3, (int)smp->kind);
        sqlite3_bind_text(q, 4, smp->text, -1, SQLITE_STATIC);
        step = sqlite3_step(q);
        sqlite3_reset(q);
        if (step != SQLITE_DONE)
            return store_fail(st, "insert text");
        if (sqlite3_changes(st->db) == 1) {
            res->added++;
            st->txn_added++;
            if (smp->ts_ms > s->max_ts_ms)
                s->max_ts_ms = smp->ts_ms;
            return 0;
        }
        q = st->stmt[STMT_TEXT_SELECT];
    }
    sqlite3_bind_int64(q, 1, s->id);
    sqlite3_bind_int64(q, 2, smp->ts_ms);
    bool same = false, exists = false;
    if (sqlite3_step(q) == SQLITE_ROW) {
        const unsigned char *text = sqlite3_column_text(q, 1);
        exists = true;
        same = sqlite3_column_int(q, 0) == (int)smp->kind && text != NULL &&
               strcmp((const char *)text, smp->text) == 0;
    }
    sqlite3_reset(q);
    if (same) {
        res->duplicates++;
        return 0;
    }
    if (late || !exists) {
        res->too_old += late ? 1 : 0;
        return late ? 0 : store_fail(st, "text sample vanished");
    }
    q = st->stmt[STMT_TEXT_UPDATE];
    sqlite3_bind_int(q, 1, (int)smp->kind);
    sqlite3_bind_text(q, 2, smp->text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, s->id);
    sqlite3_bind_int64(q, 4, smp->ts_ms);
    step = sqlite3_step(q);
    sqlite3_reset(q);
    if (step != SQLITE_DONE)
        return store_fail(st, "update text");
    res->conflicts++;
    return 0;
}

/* The series of (host, sample), created (and written) when new and within the limits.
 * *s is NULL when a limit refused it. */
static int series_get(struct store *st, const char *host, const struct store_sample *smp,
                      struct series **s)
{
    struct series_registry *reg = &st->shared->reg;
    char key[1024];
    int rc = series_key(key, sizeof key, host, smp->metric, smp->unit, smp->labels);
    if (rc != 0) {
        snprintf(st->errmsg, sizeof st->errmsg, "series key too long");
        return -EINVAL;
    }
    *s = series_find(reg, key);
    if (*s != NULL)
        return 0;
    if (reg->count >= st->opts.max_series ||
        series_host_count(reg, host, strlen(host)) >= st->opts.max_series_per_host ||
        st->next_series_id > STORE_MAX_SERIES_ID)
        return 0;
    int64_t id = st->next_series_id;
    sqlite3_stmt *q = st->stmt[STMT_INSERT_SERIES];
    const char *parts[4] = {host, smp->metric, smp->unit, smp->labels};
    sqlite3_bind_int64(q, 1, id);
    for (int i = 0; i < 4; i++)
        sqlite3_bind_text(q, 2 + i, parts[i], -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 6, (int)smp->kind);
    int step = sqlite3_step(q);
    sqlite3_reset(q);
    if (step != SQLITE_DONE)
        return store_fail(st, "insert series");
    if ((rc = series_add(reg, id, key, (uint8_t)smp->kind, s)) != 0)
        return rc;
    st->next_series_id++;
    return store_list_push(&st->created, *s);
}

static int append_locked(struct store *st, const char *host, const struct store_sample *samples,
                         size_t n, int64_t now_ms, struct store_append_result *res)
{
    for (size_t i = 0; i < n; i++) {
        const struct store_sample *smp = &samples[i];
        struct series *s;
        int rc = series_get(st, host, smp, &s);
        if (rc != 0)
            return rc;
        if (s == NULL) {
            res->too_many_series++;
            continue;
        }
        if (!s->touched) {
            if ((rc = store_list_push(&st->touched, s)) != 0)
                return rc;
            s->touched = true;
        }
        if (smp->kind == STORE_KIND_STRING || smp->kind == STORE_KIND_DATA) {
            if ((rc = apply_text(st, s, smp, now_ms, res)) != 0)
                return rc;
            continue;
        }
        bool changed;
        rc = store_apply_numeric(st, s, smp->ts_ms, (uint8_t)smp->kind, smp->value,
                                 st->next_wal_id, now_ms, false, res, &changed);
        if (rc == 0 && changed) {
            struct wal_sample w = {s->id, smp->ts_ms, (uint8_t)smp->kind, smp->value};
            rc = wal_buf_add(&st->wal, &w);
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

int store_append(struct store *st, const char *host, const struct store_sample *samples, size_t n,
                 int64_t now_ms, struct store_append_result *res)
{
    struct series_registry *reg = &st->shared->reg;
    wal_buf_reset(&st->wal);
    pthread_rwlock_wrlock(&reg->lock);
    int rc = append_locked(st, host, samples, n, now_ms, res);
    pthread_rwlock_unlock(&reg->lock);
    if (rc != 0 || st->wal.count == 0)
        return rc;
    sqlite3_stmt *q = st->stmt[STMT_INSERT_WAL];
    sqlite3_bind_int64(q, 1, st->next_wal_id);
    sqlite3_bind_blob(q, 2, st->wal.out.buf, (int)st->wal.out.len, SQLITE_STATIC);
    int step = sqlite3_step(q);
    sqlite3_reset(q);
    if (step != SQLITE_DONE)
        return store_fail(st, "insert wal");
    st->next_wal_id++;
    atomic_fetch_add(&st->shared->wal_rows, 1);
    return 0;
}

/* Writes samples [first, last) of s's head (one window, ts ascending) as level-0 chunks. */
static int write_l0(struct store *st, struct series *s, uint32_t first, uint32_t last)
{
    while (first < last) {
        uint32_t end = last - first > CHUNK_MAX_SAMPLES ? first + CHUNK_MAX_SAMPLES : last;
        chunk_encoder_reset(st->enc);
        int rc = 0;
        for (uint32_t i = first; i < end && rc == 0; i++)
            rc = chunk_encoder_append(st->enc, s->head[i].ts_ms, s->head[i].value);
        const uint8_t *blob = NULL;
        size_t len = 0;
        if (rc == 0)
            rc = chunk_encoder_finish(st->enc, &blob, &len);
        if (rc != 0)
            return rc;
        sqlite3_stmt *q = st->stmt[STMT_INSERT_L0];
        sqlite3_bind_int64(q, 1, s->id);
        sqlite3_bind_int64(q, 2, s->head[first].ts_ms);
        sqlite3_bind_int64(q, 3, s->head[end - 1].ts_ms);
        sqlite3_bind_int64(q, 4, end - first);
        sqlite3_bind_blob(q, 5, blob, (int)len, SQLITE_STATIC);
        int step = sqlite3_step(q);
        sqlite3_reset(q);
        if (step != SQLITE_DONE)
            return store_fail(st, "insert l0");
        atomic_fetch_add(&st->shared->l0_chunks, 1);
        if (s->head[first].ts_ms < s->l0_min_ms)
            s->l0_min_ms = s->head[first].ts_ms;
        first = end;
    }
    return 0;
}

static int fold_one(struct store *st, struct series *s)
{
    uint32_t first = 0;
    while (first < s->n) {
        int64_t window_end = store_window_of(s->head[first].ts_ms) + STORE_WINDOW_MS;
        uint32_t last = first;
        while (last < s->n && s->head[last].ts_ms < window_end)
            last++;
        int rc = write_l0(st, s, first, last);
        if (rc != 0)
            return rc;
        first = last;
    }
    int64_t newest = s->head[s->n - 1].ts_ms;
    int64_t flushed_max = newest > s->flushed_max_ms ? newest : s->flushed_max_ms;
    int64_t folded = s->head_max_wal > s->folded_wal ? s->head_max_wal : s->folded_wal;
    sqlite3_stmt *q = st->stmt[STMT_UPDATE_SERIES_FOLD];
    sqlite3_bind_int64(q, 1, folded);
    sqlite3_bind_int64(q, 2, flushed_max);
    sqlite3_bind_int64(q, 3, s->id);
    int step = sqlite3_step(q);
    sqlite3_reset(q);
    if (step != SQLITE_DONE)
        return store_fail(st, "update series");
    /* Safe before the commit: only the writer reads these, and a rollback keeps the head,
     * which is folded again with the same (or a newer) bound. */
    s->flushed_max_ms = flushed_max;
    s->folded_wal = folded;
    s->folding = true;
    return store_list_push(&st->flushed, s);
}

int store_fold_heads(struct store *st, struct series **list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct series *s = list[i];
        if (s->n == 0 || s->folding)
            continue;
        int rc = fold_one(st, s);
        if (rc != 0)
            return rc;
    }
    return 0;
}
