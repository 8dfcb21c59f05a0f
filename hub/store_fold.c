/* The store's background work (see store.h): replay of the WAL at open, the janitor slice
 * (fold old heads, merge sealed windows into final chunks and rollups, retention, WAL trim)
 * and the full flush. Writer thread only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "hub/rollup.h"
#include "hub/store_internal.h"

#define REPLAY_ROWS_PER_TXN 2000
#define RETENTION_EVERY_MS (3600LL * 1000)

static const enum store_stmt put_rollup[ROLLUP_TIER_COUNT] = {
    STMT_PUT_ROLLUP_1M, STMT_PUT_ROLLUP_5M, STMT_PUT_ROLLUP_1H};
static const enum store_stmt delete_old_rollup[ROLLUP_TIER_COUNT] = {
    STMT_ROLLUP_OLD_DELETE_1M, STMT_ROLLUP_OLD_DELETE_5M, STMT_ROLLUP_OLD_DELETE_1H};

struct replay_ctx {
    struct store *st;
    int64_t row_id, now_ms;
    uint64_t applied;
};

static int replay_sample(void *user, const struct wal_sample *w)
{
    struct replay_ctx *c = user;
    struct store *st = c->st;
    struct series *s = series_by_id(&st->shared->reg, w->series_id);
    if (s == NULL || c->row_id <= s->folded_wal)
        return 0; /* already in a chunk */
    struct store_append_result ignored = {0};
    bool changed;
    int rc = store_apply_numeric(st, s, w->ts_ms, w->kind, w->value, c->row_id, c->now_ms, true,
                                 &ignored, &changed);
    if (rc == 0 && !s->touched) {
        rc = store_list_push(&st->touched, s);
        s->touched = rc == 0;
    }
    c->applied++;
    return rc;
}

int store_replay(struct store *st, int64_t now_ms)
{
    struct replay_ctx c = {.st = st, .now_ms = now_ms};
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT id, data FROM wal WHERE id > ? ORDER BY id LIMIT ?",
                           -1, &q, NULL) != SQLITE_OK)
        return store_fail(st, "replay");
    int64_t after = 0;
    int rc = 0;
    for (;;) {
        size_t rows = 0;
        if ((rc = store_begin(st)) != 0)
            break;
        sqlite3_bind_int64(q, 1, after);
        sqlite3_bind_int(q, 2, REPLAY_ROWS_PER_TXN);
        pthread_rwlock_wrlock(&st->shared->reg.lock);
        while (rc == 0 && sqlite3_step(q) == SQLITE_ROW) {
            c.row_id = sqlite3_column_int64(q, 0);
            after = c.row_id;
            rows++;
            int drc = wal_decode(sqlite3_column_blob(q, 1), (size_t)sqlite3_column_bytes(q, 1),
                                 replay_sample, &c);
            if (drc == -EBADMSG)
                snprintf(st->errmsg, sizeof st->errmsg, "wal row %lld is corrupt; skipped",
                         (long long)c.row_id);
            else
                rc = drc;
        }
        pthread_rwlock_unlock(&st->shared->reg.lock);
        sqlite3_reset(q);
        if (rc == 0)
            rc = store_commit(st);
        if (rc != 0 || rows < REPLAY_ROWS_PER_TXN)
            break;
    }
    if (rc != 0 && st->in_txn)
        (void)store_rollback(st);
    sqlite3_finalize(q);
    atomic_store(&st->shared->replayed, c.applied);
    return rc;
}

static int write_final(struct store *st, int64_t series_id, int64_t window_ms,
                       const struct series_sample *samples, size_t n)
{
    int64_t part = 0;
    for (size_t first = 0; first < n; part++) {
        size_t end = n - first > CHUNK_MAX_SAMPLES ? first + CHUNK_MAX_SAMPLES : n;
        chunk_encoder_reset(st->enc);
        int rc = 0;
        for (size_t i = first; i < end && rc == 0; i++)
            rc = chunk_encoder_append(st->enc, samples[i].ts_ms, samples[i].value);
        const uint8_t *blob = NULL;
        size_t len = 0;
        if (rc == 0)
            rc = chunk_encoder_finish(st->enc, &blob, &len);
        if (rc != 0)
            return rc;
        sqlite3_stmt *q = st->stmt[STMT_INSERT_CHUNK];
        sqlite3_bind_int64(q, 1, store_key(window_ms, series_id, part));
        sqlite3_bind_int64(q, 2, samples[end - 1].ts_ms);
        sqlite3_bind_int64(q, 3, (int64_t)(end - first));
        sqlite3_bind_blob(q, 4, blob, (int)len, SQLITE_STATIC);
        int step = sqlite3_step(q);
        sqlite3_reset(q);
        if (step != SQLITE_DONE)
            return store_fail(st, "insert chunk");
        atomic_fetch_add(&st->shared->chunks, 1);
        first = end;
    }
    return 0;
}

static int write_rollups(struct store *st, int64_t series_id, int64_t window_ms,
                         const struct series_sample *samples, size_t n)
{
    struct rollup_bucket *buckets = malloc((n ? n : 1) * sizeof *buckets);
    if (buckets == NULL)
        return -ENOMEM;
    int rc = 0;
    for (int tier = 0; tier < ROLLUP_TIER_COUNT && rc == 0; tier++) {
        size_t nb = rollup_compute(samples, n, rollup_tier_step_ms((enum rollup_tier)tier),
                                   buckets);
        uint8_t *row = NULL;
        size_t len = 0;
        if ((rc = rollup_row_encode(buckets, nb, &row, &len)) != 0)
            break;
        sqlite3_stmt *q = st->stmt[put_rollup[tier]];
        sqlite3_bind_int64(q, 1, store_key(window_ms, series_id, 0));
        sqlite3_bind_blob(q, 2, row, (int)len, free);
        int step = sqlite3_step(q);
        sqlite3_reset(q);
        if (step != SQLITE_DONE)
            rc = store_fail(st, "insert rollup");
        else if (sqlite3_changes(st->db) == 1)
            atomic_fetch_add(&st->shared->rollup_rows, 1);
    }
    free(buckets);
    return rc;
}

static int step_range(struct store *st, enum store_stmt which, int64_t a, int64_t b, int64_t c,
                      int nbind)
{
    sqlite3_stmt *q = st->stmt[which];
    sqlite3_bind_int64(q, 1, a);
    sqlite3_bind_int64(q, 2, b);
    if (nbind > 2)
        sqlite3_bind_int64(q, 3, c);
    int step = sqlite3_step(q);
    sqlite3_reset(q);
    return step == SQLITE_DONE ? sqlite3_changes(st->db) : store_fail(st, "delete");
}

static void update_l0_min(struct store *st, struct series *s)
{
    sqlite3_stmt *q = st->stmt[STMT_L0_MIN];
    sqlite3_bind_int64(q, 1, s->id);
    s->l0_min_ms = INT64_MAX;
    if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL)
        s->l0_min_ms = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
}

int store_merge_window(struct store *st, struct series *s, int64_t window_ms)
{
    int64_t last_ms = window_ms + STORE_WINDOW_MS - 1;
    int rc = store_collect(st, s->id, window_ms, last_ms, true, false);
    if (rc != 0)
        return rc;
    size_t n = st->scratch.n;
    struct series_sample *samples = malloc((n ? n : 1) * sizeof *samples);
    if (samples == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        samples[i] = (struct series_sample){st->scratch.items[i].ts_ms, st->scratch.items[i].value};
    int64_t first_key = store_key(window_ms, s->id, 0);
    int64_t last_key = store_key(window_ms, s->id, STORE_KEY_PART_MAX);
    int deleted = step_range(st, STMT_DELETE_CHUNKS, first_key, last_key, 0, 2);
    if (deleted < 0)
        rc = deleted;
    else
        atomic_fetch_sub(&st->shared->chunks, (uint64_t)deleted);
    if (rc == 0 && (deleted = step_range(st, STMT_DELETE_L0_WINDOW, s->id, window_ms,
                                         window_ms + STORE_WINDOW_MS, 3)) < 0)
        rc = deleted;
    else if (rc == 0)
        atomic_fetch_sub(&st->shared->l0_chunks, (uint64_t)deleted);
    if (rc == 0 && n > 0)
        rc = write_final(st, s->id, window_ms, samples, n);
    if (rc == 0 && n > 0)
        rc = write_rollups(st, s->id, window_ms, samples, n);
    free(samples);
    if (rc == 0) {
        update_l0_min(st, s);
        atomic_fetch_add(&st->shared->compactions, 1);
    }
    return rc;
}

int store_trim_wal(struct store *st)
{
    struct series_registry *reg = &st->shared->reg;
    int64_t keep_from = st->next_wal_id;
    for (size_t id = 1; id < reg->n_by_id; id++) {
        const struct series *s = reg->by_id[id];
        if (s != NULL && s->n > 0 && !s->folding && s->head_min_wal < keep_from)
            keep_from = s->head_min_wal;
    }
    sqlite3_stmt *q = st->stmt[STMT_TRIM_WAL];
    sqlite3_bind_int64(q, 1, keep_from);
    int step = sqlite3_step(q);
    sqlite3_reset(q);
    if (step != SQLITE_DONE)
        return store_fail(st, "trim wal");
    atomic_fetch_sub(&st->shared->wal_rows, (uint64_t)sqlite3_changes(st->db));
    return 0;
}

/* Heads that waited longer than head_max_age are folded even when not full. */
static int fold_old_heads(struct store *st, int64_t now_ms, bool all)
{
    struct series_registry *reg = &st->shared->reg;
    for (size_t id = 1; id < reg->n_by_id; id++) {
        struct series *s = reg->by_id[id];
        if (s == NULL || s->n == 0 || s->folding)
            continue;
        if (!all && now_ms - s->head_since_ms < st->opts.head_max_age_ms)
            continue;
        int rc = store_fold_heads(st, &s, 1);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int step_one(struct store *st, enum store_stmt which, int64_t a, int64_t *column)
{
    sqlite3_stmt *q = st->stmt[which];
    sqlite3_bind_int64(q, 1, a);
    int step = sqlite3_step(q);
    if (column != NULL)
        *column = step == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    sqlite3_reset(q);
    if (step != SQLITE_DONE && step != SQLITE_ROW)
        return store_fail(st, "retention");
    return sqlite3_changes(st->db);
}

/* One retention step: deletes up to a slice of rows below the cutoff of one tier (chunks or
 * rollup rows), or, for texts, one series' old texts. Returns 1 when that tier has more to
 * delete now, 0 when done, or -EIO. */
static int retain_tier(struct store *st, int tier, int64_t now_ms)
{
    int64_t keep_ms = st->opts.retention_ms[tier];
    if (keep_ms <= 0 || now_ms <= keep_ms)
        return 0;
    /* Whole windows that ended before the cutoff. */
    int64_t below = store_key(store_window_of(now_ms - keep_ms), 0, 0);
    int deleted;
    if (tier == STORE_TIER_RAW) {
        int64_t removed = 0;
        if (step_one(st, STMT_CHUNKS_OLD_COUNT, below, &removed) < 0 ||
            (deleted = step_one(st, STMT_CHUNKS_OLD_DELETE, below, NULL)) < 0)
            return -EIO;
        atomic_fetch_sub(&st->shared->chunks, (uint64_t)deleted);
        st->txn_added -= removed;
        atomic_fetch_add(&st->shared->retention_deleted, (uint64_t)removed);
    } else {
        if ((deleted = step_one(st, delete_old_rollup[tier - STORE_TIER_1M], below, NULL)) < 0)
            return -EIO;
        atomic_fetch_sub(&st->shared->rollup_rows, (uint64_t)deleted);
    }
    return deleted >= STORE_SLICE_ROWS ? 1 : 0;
}

/* Old text samples of one series (they are few; one statement per series). */
static int retain_texts(struct store *st, const struct series *s, int64_t now_ms)
{
    int64_t keep_ms = st->opts.retention_ms[STORE_TIER_RAW];
    if (keep_ms <= 0 || now_ms <= keep_ms)
        return 0;
    int deleted = step_range(st, STMT_TEXT_DELETE_OLD, s->id, now_ms - keep_ms, 0, 2);
    if (deleted < 0)
        return deleted;
    st->txn_added -= deleted;
    atomic_fetch_add(&st->shared->retention_deleted, (uint64_t)deleted);
    return 0;
}

static bool sealed(const struct store *st, const struct series *s, int64_t now_ms, bool all)
{
    if (s->l0_min_ms == INT64_MAX)
        return false;
    return all || store_window_of(s->l0_min_ms) + STORE_WINDOW_MS + st->opts.out_of_order_ms <=
                      now_ms;
}

static int janitor(struct store *st, int64_t now_ms, int64_t deadline_mono, bool *more)
{
    struct series_registry *reg = &st->shared->reg;
    int rc = fold_old_heads(st, now_ms, false);
    size_t visited = 0;
    while (rc == 0 && visited < reg->n_by_id) {
        if (st->merge_cursor >= reg->n_by_id)
            st->merge_cursor = 1;
        struct series *s = reg->by_id[st->merge_cursor];
        if (s != NULL && sealed(st, s, now_ms, false)) {
            rc = store_merge_window(st, s, store_window_of(s->l0_min_ms));
            if (clock_mono_ms() >= deadline_mono) {
                *more = true;
                break;
            }
            continue; /* the same series may have more sealed windows */
        }
        st->merge_cursor++;
        visited++;
    }
    if (rc == 0 && now_ms >= st->retention_due_ms) {
        bool left = false;
        for (int tier = 0; rc == 0 && tier < STORE_TIER_COUNT; tier++) {
            int r;
            while ((r = retain_tier(st, tier, now_ms)) == 1 && clock_mono_ms() < deadline_mono)
                ;
            rc = r < 0 ? r : 0;
            left = left || r == 1;
        }
        while (rc == 0 && !left && st->retention_cursor < reg->n_by_id) {
            struct series *s = reg->by_id[st->retention_cursor++];
            if (s != NULL)
                rc = retain_texts(st, s, now_ms);
            left = clock_mono_ms() >= deadline_mono && st->retention_cursor < reg->n_by_id;
            if (left)
                break;
        }
        if (rc == 0 && !left) {
            st->retention_cursor = 1;
            st->retention_due_ms = now_ms + RETENTION_EVERY_MS;
        }
        *more = *more || left;
    }
    if (rc == 0)
        rc = store_trim_wal(st);
    return rc;
}

int store_maintain(struct store *st, int64_t now_ms, int64_t budget_ms, bool *more)
{
    *more = false;
    int64_t deadline = clock_mono_ms() + budget_ms;
    int rc = store_begin(st);
    if (rc != 0)
        return rc;
    pthread_rwlock_wrlock(&st->shared->reg.lock);
    rc = janitor(st, now_ms, deadline, more);
    pthread_rwlock_unlock(&st->shared->reg.lock);
    if (rc == 0)
        rc = store_commit(st);
    if (rc != 0)
        (void)store_rollback(st);
    return rc;
}

int store_flush(struct store *st, int64_t now_ms)
{
    struct series_registry *reg = &st->shared->reg;
    int rc = store_begin(st);
    if (rc == 0) {
        pthread_rwlock_wrlock(&reg->lock);
        rc = fold_old_heads(st, now_ms, true);
        pthread_rwlock_unlock(&reg->lock);
    }
    if (rc == 0)
        rc = store_commit(st);
    if (rc == 0 && (rc = store_begin(st)) == 0) {
        pthread_rwlock_wrlock(&reg->lock);
        for (size_t id = 1; rc == 0 && id < reg->n_by_id; id++) {
            struct series *s = reg->by_id[id];
            while (rc == 0 && s != NULL && sealed(st, s, now_ms, true))
                rc = store_merge_window(st, s, store_window_of(s->l0_min_ms));
        }
        if (rc == 0)
            rc = store_trim_wal(st);
        pthread_rwlock_unlock(&reg->lock);
        if (rc == 0)
            rc = store_commit(st);
    }
    if (rc != 0) {
        if (st->in_txn)
            (void)store_rollback(st);
        return rc;
    }
    if ((rc = store_exec(st, "PRAGMA wal_checkpoint(TRUNCATE)")) == 0)
        rc = store_exec(st, "PRAGMA incremental_vacuum");
    return rc;
}
