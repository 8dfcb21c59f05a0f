/* The store's connection, schema, prepared statements, transactions, hosts and counters
 * (see store.h; internals in store_internal.h). A handle owns its connection and statements;
 * the writer handle also owns the shared registry its readers borrow. */
#include "hub/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hub/store_internal.h"

#define DAY_MS (86400LL * 1000)
#define SLICE_ROWS_TEXT STORE_STRINGIFY(STORE_SLICE_ROWS)
#define STORE_STRINGIFY(x) STORE_STRINGIFY2(x)
#define STORE_STRINGIFY2(x) #x

/* The layout this code writes (meta 'layout'). SCHEMA creates layout 2 (a new file says so);
 * upgrade() then brings any file to STORE_LAYOUT, one step at a time, each in a transaction. */
#define STORE_LAYOUT 3

/* page_size and auto_vacuum take effect only while the file is empty (a new store). */
static const char SCHEMA[] =
    "PRAGMA page_size=16384;"
    "PRAGMA auto_vacuum=INCREMENTAL;"
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO meta(key, value) VALUES('samples', 0), ('layout', 2);"
    "CREATE TABLE IF NOT EXISTS series(id INTEGER PRIMARY KEY, host TEXT NOT NULL,"
    " metric TEXT NOT NULL, unit TEXT NOT NULL, labels TEXT NOT NULL, kind INTEGER NOT NULL,"
    " folded_wal INTEGER NOT NULL DEFAULT 0, flushed_max_ms INTEGER,"
    " UNIQUE(host, metric, unit, labels));"
    "CREATE TABLE IF NOT EXISTS wal(id INTEGER PRIMARY KEY AUTOINCREMENT, data BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS l0(id INTEGER PRIMARY KEY, series_id INTEGER NOT NULL,"
    " start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, n INTEGER NOT NULL,"
    " data BLOB NOT NULL);"
    "CREATE INDEX IF NOT EXISTS l0_by_series ON l0(series_id, start_ms);"
    "CREATE TABLE IF NOT EXISTS chunks(id INTEGER PRIMARY KEY, end_ms INTEGER NOT NULL,"
    " n INTEGER NOT NULL, data BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS rollup_1m(id INTEGER PRIMARY KEY, data BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS rollup_5m(id INTEGER PRIMARY KEY, data BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS rollup_1h(id INTEGER PRIMARY KEY, data BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS texts(series_id INTEGER NOT NULL, ts_ms INTEGER NOT NULL,"
    " kind INTEGER NOT NULL, text TEXT NOT NULL, PRIMARY KEY(series_id, ts_ms)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS hosts(id TEXT PRIMARY KEY, first_seen_ms INTEGER, last_seen_ms"
    " INTEGER, state TEXT, state_ms INTEGER, boot_id TEXT, last_seq INTEGER, agent_version TEXT);";

/* Layout 3: the loss ledger (store_ledger.c). Boots that were running when an older store
 * was upgraded start with the range [1, last sequence seen]: those packs predate the ledger,
 * so they count as assumed, neither committed nor missing. */
static const char UPGRADE_TO_3[] =
    "CREATE TABLE IF NOT EXISTS ledger_hosts(host TEXT PRIMARY KEY, gaps_filled INTEGER NOT NULL,"
    " lost_gaps INTEGER NOT NULL, lost_packs INTEGER NOT NULL, dropped_before INTEGER NOT NULL,"
    " dropped_changed_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS ledger_boots(host TEXT NOT NULL, boot_id TEXT NOT NULL,"
    " last_seen_ms INTEGER NOT NULL, assumed INTEGER NOT NULL, dropped INTEGER NOT NULL,"
    " dropped_changed_ms INTEGER NOT NULL, PRIMARY KEY(host, boot_id)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS seq_ranges(host TEXT NOT NULL, boot_id TEXT NOT NULL,"
    " first INTEGER NOT NULL, last INTEGER NOT NULL, gap_since_ms INTEGER NOT NULL,"
    " PRIMARY KEY(host, boot_id, first)) WITHOUT ROWID;"
    "INSERT OR IGNORE INTO ledger_hosts SELECT id, 0, 0, 0, 0, 0 FROM hosts"
    " WHERE coalesce(boot_id, '') <> '' AND last_seq > 0;"
    "INSERT OR IGNORE INTO ledger_boots SELECT id, boot_id, coalesce(last_seen_ms, 0), last_seq,"
    " 0, 0 FROM hosts WHERE coalesce(boot_id, '') <> '' AND last_seq > 0;"
    "INSERT OR IGNORE INTO seq_ranges SELECT id, boot_id, 1, last_seq, 0 FROM hosts"
    " WHERE coalesce(boot_id, '') <> '' AND last_seq > 0;"
    "UPDATE meta SET value=3 WHERE key='layout';";

static const char *const STMT_SQL[STMT_COUNT] = {
    [STMT_INSERT_WAL] = "INSERT INTO wal(id, data) VALUES(?,?)",
    [STMT_TRIM_WAL] = "DELETE FROM wal WHERE id < ?",
    [STMT_INSERT_SERIES] = "INSERT INTO series(id, host, metric, unit, labels, kind)"
                           " VALUES(?,?,?,?,?,?)",
    [STMT_UPDATE_SERIES_FOLD] = "UPDATE series SET folded_wal=?, flushed_max_ms=? WHERE id=?",
    [STMT_UPDATE_SERIES_KIND] = "UPDATE series SET kind=? WHERE id=?",
    [STMT_ADD_COUNT] = "UPDATE meta SET value = value + ? WHERE key='samples'",
    [STMT_INSERT_L0] = "INSERT INTO l0(series_id, start_ms, end_ms, n, data) VALUES(?,?,?,?,?)",
    [STMT_L0_OVERLAP] = "SELECT id, data FROM l0 WHERE series_id=? AND start_ms<=? AND end_ms>=?"
                        " ORDER BY id",
    [STMT_L0_MIN] = "SELECT min(start_ms) FROM l0 WHERE series_id=?",
    [STMT_DELETE_L0_WINDOW] = "DELETE FROM l0 WHERE series_id=? AND start_ms>=? AND start_ms<?",
    /* Two subqueries: min() and max() together in one SELECT would scan the whole table. */
    [STMT_CHUNKS_SPAN] = "SELECT (SELECT min(id) FROM chunks), (SELECT max(id) FROM chunks)",
    [STMT_ROLLUP_SPAN_1M] = "SELECT (SELECT min(id) FROM rollup_1m), (SELECT max(id) FROM rollup_1m)",
    [STMT_ROLLUP_SPAN_5M] = "SELECT (SELECT min(id) FROM rollup_5m), (SELECT max(id) FROM rollup_5m)",
    [STMT_ROLLUP_SPAN_1H] = "SELECT (SELECT min(id) FROM rollup_1h), (SELECT max(id) FROM rollup_1h)",
    [STMT_CHUNKS_RANGE] = "SELECT id, data FROM chunks WHERE id BETWEEN ? AND ? ORDER BY id",
    [STMT_CHUNKS_OLD_COUNT] = "SELECT coalesce(sum(n), 0) FROM (SELECT n FROM chunks WHERE id < ?"
                              " ORDER BY id LIMIT " SLICE_ROWS_TEXT ")",
    [STMT_CHUNKS_OLD_DELETE] = "DELETE FROM chunks WHERE id IN (SELECT id FROM chunks WHERE id < ?"
                               " ORDER BY id LIMIT " SLICE_ROWS_TEXT ")",
    [STMT_DELETE_CHUNKS] = "DELETE FROM chunks WHERE id BETWEEN ? AND ?",
    [STMT_INSERT_CHUNK] = "INSERT INTO chunks(id, end_ms, n, data) VALUES(?,?,?,?)",
    [STMT_ROLLUP_RANGE_1M] = "SELECT id, data FROM rollup_1m WHERE id BETWEEN ? AND ? ORDER BY id",
    [STMT_ROLLUP_RANGE_5M] = "SELECT id, data FROM rollup_5m WHERE id BETWEEN ? AND ? ORDER BY id",
    [STMT_ROLLUP_RANGE_1H] = "SELECT id, data FROM rollup_1h WHERE id BETWEEN ? AND ? ORDER BY id",
    [STMT_PUT_ROLLUP_1M] = "INSERT OR REPLACE INTO rollup_1m(id, data) VALUES(?,?)",
    [STMT_PUT_ROLLUP_5M] = "INSERT OR REPLACE INTO rollup_5m(id, data) VALUES(?,?)",
    [STMT_PUT_ROLLUP_1H] = "INSERT OR REPLACE INTO rollup_1h(id, data) VALUES(?,?)",
    [STMT_ROLLUP_OLD_DELETE_1M] = "DELETE FROM rollup_1m WHERE id IN (SELECT id FROM rollup_1m"
                                  " WHERE id < ? ORDER BY id LIMIT " SLICE_ROWS_TEXT ")",
    [STMT_ROLLUP_OLD_DELETE_5M] = "DELETE FROM rollup_5m WHERE id IN (SELECT id FROM rollup_5m"
                                  " WHERE id < ? ORDER BY id LIMIT " SLICE_ROWS_TEXT ")",
    [STMT_ROLLUP_OLD_DELETE_1H] = "DELETE FROM rollup_1h WHERE id IN (SELECT id FROM rollup_1h"
                                  " WHERE id < ? ORDER BY id LIMIT " SLICE_ROWS_TEXT ")",
    [STMT_TEXT_INSERT] = "INSERT OR IGNORE INTO texts(series_id, ts_ms, kind, text) VALUES(?,?,?,?)",
    [STMT_TEXT_SELECT] = "SELECT kind, text FROM texts WHERE series_id=? AND ts_ms=?",
    [STMT_TEXT_UPDATE] = "UPDATE texts SET kind=?, text=? WHERE series_id=? AND ts_ms=?",
    [STMT_TEXT_RANGE] = "SELECT ts_ms, kind, text FROM texts WHERE series_id=? AND ts_ms"
                        " BETWEEN ? AND ? ORDER BY ts_ms",
    [STMT_TEXT_DELETE_OLD] = "DELETE FROM texts WHERE series_id=? AND ts_ms<?",
    [STMT_SAVE_HOST] = "INSERT INTO hosts(id, first_seen_ms, last_seen_ms, state, state_ms,"
                       " boot_id, last_seq, agent_version) VALUES(?,?,?,?,?,?,?,?) ON CONFLICT(id)"
                       " DO UPDATE SET last_seen_ms=excluded.last_seen_ms, state=excluded.state,"
                       " state_ms=excluded.state_ms, boot_id=excluded.boot_id,"
                       " last_seq=excluded.last_seq, agent_version=excluded.agent_version",
    [STMT_LEDGER_PUT_HOST] = "INSERT OR REPLACE INTO ledger_hosts(host, gaps_filled, lost_gaps,"
                             " lost_packs, dropped_before, dropped_changed_ms) VALUES(?,?,?,?,?,?)",
    [STMT_LEDGER_DELETE_BOOTS] = "DELETE FROM ledger_boots WHERE host=?",
    [STMT_LEDGER_DELETE_RANGES] = "DELETE FROM seq_ranges WHERE host=?",
    [STMT_LEDGER_INSERT_BOOT] = "INSERT INTO ledger_boots(host, boot_id, last_seen_ms, assumed,"
                                " dropped, dropped_changed_ms) VALUES(?,?,?,?,?,?)",
    [STMT_LEDGER_INSERT_RANGE] = "INSERT INTO seq_ranges(host, boot_id, first, last, gap_since_ms)"
                                 " VALUES(?,?,?,?,?)",
};

const char *store_tier_name(enum store_tier tier)
{
    switch (tier) {
    case STORE_TIER_RAW:
        return "raw";
    case STORE_TIER_1M:
        return "1m";
    case STORE_TIER_5M:
        return "5m";
    case STORE_TIER_1H:
        return "1h";
    }
    return "?";
}

void store_options_default(struct store_options *o)
{
    *o = (struct store_options){
        .out_of_order_ms = 3600LL * 1000,
        .max_series = 1000000,
        .max_series_per_host = 10000,
        .retention_ms = {7 * DAY_MS, 30 * DAY_MS, 90 * DAY_MS, 400 * DAY_MS},
        .head_max_samples = 64,
        .head_max_age_ms = 5LL * 60 * 1000,
        .synchronous_full = false,
    };
}

int store_fail(struct store *st, const char *what)
{
    snprintf(st->errmsg, sizeof st->errmsg, "%s: %s", what, sqlite3_errmsg(st->db));
    return -EIO;
}

const char *store_errmsg(const struct store *st)
{
    return st->errmsg;
}

int store_exec(struct store *st, const char *sql)
{
    if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return store_fail(st, sql);
    return 0;
}

int store_list_push(struct store_list *l, struct series *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        struct series **grown = realloc(l->items, cap * sizeof(struct series *));
        if (grown == NULL)
            return -ENOMEM;
        l->items = grown;
        l->cap = cap;
    }
    l->items[l->n++] = s;
    return 0;
}

static int prepare_all(struct store *st)
{
    for (int i = 0; i < STMT_COUNT; i++)
        if (sqlite3_prepare_v3(st->db, STMT_SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[i],
                               NULL) != SQLITE_OK)
            return store_fail(st, STMT_SQL[i]);
    return 0;
}

static int open_connection(struct store *st, const char *path, bool read_only)
{
    int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    st->path = strdup(path);
    if (st->path == NULL)
        return -ENOMEM;
    if (sqlite3_open_v2(path, &st->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
        return store_fail(st, path);
    sqlite3_busy_timeout(st->db, 5000);
    /* 16 MiB of page cache per connection: a week of one series' rollups and chunks. */
    return store_exec(st, "PRAGMA cache_size=-16384");
}

/* A file of the first layout (one row per sample) is refused with a clear reason. */
static int check_layout(struct store *st)
{
    sqlite3_stmt *q = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM sqlite_master WHERE name='samples'", -1, &q,
                           NULL) != SQLITE_OK)
        return store_fail(st, "schema");
    if (sqlite3_step(q) == SQLITE_ROW) {
        snprintf(st->errmsg, sizeof st->errmsg,
                 "%s has the old row-per-sample layout of updraft 0.1; move it away (the hub "
                 "creates a new store)", st->path);
        rc = -EIO;
    }
    sqlite3_finalize(q);
    return rc;
}

static int load_series(struct store *st)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT id, host, metric, unit, labels, kind, folded_wal,"
                           " flushed_max_ms FROM series ORDER BY id",
                           -1, &q, NULL) != SQLITE_OK)
        return store_fail(st, "load series");
    int rc = 0;
    while (rc == 0 && sqlite3_step(q) == SQLITE_ROW) {
        char key[1024];
        const char *parts[4];
        for (int i = 0; i < 4; i++) {
            const unsigned char *t = sqlite3_column_text(q, 1 + i);
            parts[i] = t != NULL ? (const char *)t : "";
        }
        struct series *s;
        int64_t id = sqlite3_column_int64(q, 0);
        rc = series_key(key, sizeof key, parts[0], parts[1], parts[2], parts[3]);
        if (rc == 0)
            rc = series_add(&st->shared->reg, id, key, (uint8_t)sqlite3_column_int(q, 5), &s);
        if (rc == 0) {
            s->folded_wal = sqlite3_column_int64(q, 6);
            if (sqlite3_column_type(q, 7) != SQLITE_NULL)
                s->flushed_max_ms = sqlite3_column_int64(q, 7);
            s->max_ts_ms = s->flushed_max_ms;
            if (id >= st->next_series_id)
                st->next_series_id = id + 1;
        }
    }
    sqlite3_finalize(q);
    if (rc != 0)
        snprintf(st->errmsg, sizeof st->errmsg, "load series: %s", strerror(-rc));
    return rc;
}

static int64_t scalar(struct store *st, const char *sql, int64_t fallback)
{
    sqlite3_stmt *q = NULL;
    int64_t v = fallback;
    if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW &&
        sqlite3_column_type(q, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

/* Level-0 starts per series (to schedule merges) and the counters. */
static int load_state(struct store *st)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT series_id, min(start_ms) FROM l0 GROUP BY series_id",
                           -1, &q, NULL) != SQLITE_OK)
        return store_fail(st, "load l0");
    while (sqlite3_step(q) == SQLITE_ROW) {
        struct series *s = series_by_id(&st->shared->reg, sqlite3_column_int64(q, 0));
        if (s != NULL)
            s->l0_min_ms = sqlite3_column_int64(q, 1);
    }
    sqlite3_finalize(q);
    struct store_shared *sh = st->shared;
    atomic_store(&sh->wal_rows, (uint64_t)scalar(st, "SELECT count(*) FROM wal", 0));
    atomic_store(&sh->l0_chunks, (uint64_t)scalar(st, "SELECT count(*) FROM l0", 0));
    atomic_store(&sh->chunks, (uint64_t)scalar(st, "SELECT count(*) FROM chunks", 0));
    atomic_store(&sh->rollup_rows,
                 (uint64_t)scalar(st, "SELECT (SELECT count(*) FROM rollup_1m) + (SELECT count(*)"
                                      " FROM rollup_5m) + (SELECT count(*) FROM rollup_1h)", 0));
    int64_t seq = scalar(st, "SELECT seq FROM sqlite_sequence WHERE name='wal'", 0);
    int64_t max_id = scalar(st, "SELECT max(id) FROM wal", 0);
    st->next_wal_id = (seq > max_id ? seq : max_id) + 1;
    if (st->next_series_id == 0)
        st->next_series_id = 1;
    return 0;
}

static int upgrade(struct store *st)
{
    int64_t layout = scalar(st, "SELECT value FROM meta WHERE key='layout'", -1);
    if (layout < 2 || layout > STORE_LAYOUT) {
        snprintf(st->errmsg, sizeof st->errmsg,
                 "%s has store layout %lld; this hub reads layouts 2 to %d (a newer updraft "
                 "made it?)", st->path, (long long)layout, STORE_LAYOUT);
        return -EIO;
    }
    if (layout == STORE_LAYOUT)
        return 0;
    char *err = NULL;
    if (sqlite3_exec(st->db, "BEGIN", NULL, NULL, &err) != SQLITE_OK ||
        sqlite3_exec(st->db, UPGRADE_TO_3, NULL, NULL, &err) != SQLITE_OK ||
        sqlite3_exec(st->db, "COMMIT", NULL, NULL, &err) != SQLITE_OK) {
        snprintf(st->errmsg, sizeof st->errmsg, "%s: upgrading the store to layout 3: %s",
                 st->path, err != NULL ? err : sqlite3_errmsg(st->db));
        sqlite3_free(err);
        (void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return -EIO;
    }
    return 0;
}

int store_open(const char *path, const struct store_options *opts, struct store **out,
               char *errmsg, size_t errmsg_size)
{
    struct store *st = calloc(1, sizeof *st);
    if (st == NULL)
        return -ENOMEM;
    int rc = -ENOMEM;
    st->is_writer = true;
    if (opts != NULL)
        st->opts = *opts;
    else
        store_options_default(&st->opts);
    st->shared = calloc(1, sizeof *st->shared);
    if (st->shared == NULL || series_registry_init(&st->shared->reg) != 0) {
        free(st->shared);
        st->shared = NULL;
        goto out;
    }
    if ((rc = chunk_encoder_new(CHUNK_MAX_SAMPLES, &st->enc)) != 0 ||
        (rc = open_connection(st, path, false)) != 0 || (rc = check_layout(st)) != 0)
        goto out;
    char *err = NULL;
    if (sqlite3_exec(st->db, SCHEMA, NULL, NULL, &err) != SQLITE_OK) {
        snprintf(st->errmsg, sizeof st->errmsg, "%s: schema: %s", path, err ? err : "?");
        sqlite3_free(err);
        rc = -EIO;
        goto out;
    }
    if ((rc = store_exec(st, st->opts.synchronous_full ? "PRAGMA synchronous=FULL"
                                                       : "PRAGMA synchronous=NORMAL")) != 0 ||
        (rc = upgrade(st)) != 0 || (rc = prepare_all(st)) != 0 || (rc = load_series(st)) != 0 ||
        (rc = load_state(st)) != 0 || (rc = store_replay(st, 0)) != 0)
        goto out;
    *out = st;
    st = NULL;
    rc = 0;
out:
    if (st != NULL)
        snprintf(errmsg, errmsg_size, "%s", st->errmsg[0] ? st->errmsg : "out of memory");
    store_close(st);
    return rc;
}

int store_reader_open(struct store *writer, struct store **out, char *errmsg,
                      size_t errmsg_size)
{
    struct store *st = calloc(1, sizeof *st);
    if (st == NULL)
        return -ENOMEM;
    st->opts = writer->opts;
    st->shared = writer->shared;
    int rc = open_connection(st, writer->path, true);
    if (rc == 0)
        rc = prepare_all(st);
    if (rc != 0) {
        snprintf(errmsg, errmsg_size, "%s", st->errmsg[0] ? st->errmsg : "out of memory");
        store_close(st);
        return rc;
    }
    *out = st;
    return 0;
}

void store_close(struct store *st)
{
    if (st == NULL)
        return;
    for (int i = 0; i < STMT_COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    sqlite3_close(st->db);
    if (st->is_writer && st->shared != NULL) {
        series_registry_deinit(&st->shared->reg);
        free(st->shared);
    }
    wal_buf_free(&st->wal);
    free(st->touched.items);
    free(st->flushed.items);
    free(st->created.items);
    free(st->unsaved.items);
    free(st->scratch.items);
    chunk_encoder_free(st->enc);
    free(st->path);
    free(st);
}

int store_begin(struct store *st)
{
    int rc = store_exec(st, "BEGIN");
    if (rc == 0) {
        st->in_txn = true;
        st->txn_added = 0;
    }
    return rc;
}

/* Series created in a rolled-back transaction are written again in the next one. */
static int save_unsaved(struct store *st)
{
    for (size_t i = 0; i < st->unsaved.n; i++) {
        struct series *s = st->unsaved.items[i];
        char key[1024];
        snprintf(key, sizeof key, "%s", s->key);
        const char *parts[4] = {key, "", "", ""};
        char *p = key;
        for (int k = 1; k < 4 && (p = strchr(p, SERIES_KEY_SEP)) != NULL; k++) {
            *p++ = '\0';
            parts[k] = p;
        }
        sqlite3_stmt *q = st->stmt[STMT_INSERT_SERIES];
        sqlite3_bind_int64(q, 1, s->id);
        for (int k = 0; k < 4; k++)
            sqlite3_bind_text(q, 2 + k, parts[k], -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(q, 6, s->kind);
        int step = sqlite3_step(q);
        sqlite3_reset(q);
        if (step != SQLITE_DONE && step != SQLITE_CONSTRAINT)
            return store_fail(st, "insert series");
        if (store_list_push(&st->created, s) != 0)
            return -ENOMEM;
    }
    st->unsaved.n = 0;
    return 0;
}

int store_commit(struct store *st)
{
    int rc = 0;
    if (st->is_writer) {
        struct series_registry *reg = &st->shared->reg;
        /* Heads that are full are folded in this same transaction. */
        size_t n = 0;
        for (size_t i = 0; i < st->touched.n; i++) {
            struct series *s = st->touched.items[i];
            s->touched = false;
            if (s->n >= st->opts.head_max_samples)
                st->touched.items[n++] = s;
        }
        st->touched.n = 0;
        rc = save_unsaved(st);
        if (rc == 0)
            rc = store_fold_heads(st, st->touched.items, n);
        if (rc == 0 && st->txn_added != 0) {
            sqlite3_stmt *q = st->stmt[STMT_ADD_COUNT];
            sqlite3_bind_int64(q, 1, st->txn_added);
            int step = sqlite3_step(q);
            sqlite3_reset(q);
            if (step != SQLITE_DONE)
                rc = store_fail(st, "count samples");
        }
        if (rc != 0)
            return rc;
        if ((rc = store_exec(st, "COMMIT")) != 0)
            return rc;
        st->in_txn = false;
        st->created.n = 0;
        /* Readers now see the folded chunks: the heads may go. */
        pthread_rwlock_wrlock(&reg->lock);
        for (size_t i = 0; i < st->flushed.n; i++)
            series_head_clear(reg, st->flushed.items[i]);
        pthread_rwlock_unlock(&reg->lock);
        st->flushed.n = 0;
        return 0;
    }
    return store_exec(st, "COMMIT");
}

int store_rollback(struct store *st)
{
    int rc = store_exec(st, "ROLLBACK");
    st->in_txn = false;
    for (size_t i = 0; i < st->touched.n; i++)
        st->touched.items[i]->touched = false;
    for (size_t i = 0; i < st->flushed.n; i++)
        st->flushed.items[i]->folding = false;
    st->touched.n = 0;
    st->flushed.n = 0; /* the heads keep their samples: folded again later */
    for (size_t i = 0; i < st->created.n; i++)
        if (store_list_push(&st->unsaved, st->created.items[i]) != 0)
            break;
    st->created.n = 0;
    st->txn_added = 0;
    return rc;
}

int store_host_save(struct store *st, const struct store_host *h)
{
    sqlite3_stmt *q = st->stmt[STMT_SAVE_HOST];
    sqlite3_bind_text(q, 1, h->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, h->first_seen_ms);
    sqlite3_bind_int64(q, 3, h->last_seen_ms);
    sqlite3_bind_text(q, 4, h->state, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, h->state_ms);
    sqlite3_bind_text(q, 6, h->boot_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 7, h->last_seq);
    sqlite3_bind_text(q, 8, h->agent_version, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    sqlite3_reset(q);
    return step == SQLITE_DONE ? 0 : store_fail(st, "save host");
}

static void copy_column(char *dst, size_t size, sqlite3_stmt *q, int col)
{
    const unsigned char *text = sqlite3_column_text(q, col);
    snprintf(dst, size, "%s", text != NULL ? (const char *)text : "");
}

int store_hosts_load(struct store *st, void (*fn)(void *user, const struct store_host *host),
                     void *user)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT id, first_seen_ms, last_seen_ms, state, state_ms, boot_id,"
                           " last_seq, agent_version FROM hosts ORDER BY id",
                           -1, &q, NULL) != SQLITE_OK)
        return store_fail(st, "load hosts");
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_host h = {0};
        copy_column(h.id, sizeof h.id, q, 0);
        h.first_seen_ms = sqlite3_column_int64(q, 1);
        h.last_seen_ms = sqlite3_column_int64(q, 2);
        copy_column(h.state, sizeof h.state, q, 3);
        h.state_ms = sqlite3_column_int64(q, 4);
        copy_column(h.boot_id, sizeof h.boot_id, q, 5);
        h.last_seq = sqlite3_column_int64(q, 6);
        copy_column(h.agent_version, sizeof h.agent_version, q, 7);
        fn(user, &h);
    }
    int rc = step == SQLITE_DONE ? 0 : store_fail(st, "load hosts");
    sqlite3_finalize(q);
    return rc;
}

int store_series(struct store *st, const char *host, const char *metric,
                 struct store_series_info *out, size_t max, size_t *count)
{
    sqlite3_stmt *q = NULL;
    const char *sql = metric != NULL
                          ? "SELECT id, metric, unit, labels FROM series WHERE host=? AND metric=?"
                            " ORDER BY metric, unit, labels"
                          : "SELECT id, metric, unit, labels FROM series WHERE host=?"
                            " ORDER BY metric, unit, labels";
    if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK)
        return store_fail(st, "series");
    sqlite3_bind_text(q, 1, host, -1, SQLITE_STATIC);
    if (metric != NULL)
        sqlite3_bind_text(q, 2, metric, -1, SQLITE_STATIC);
    size_t found = 0;
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        if (found < max) {
            out[found].id = sqlite3_column_int64(q, 0);
            copy_column(out[found].metric, sizeof out[found].metric, q, 1);
            copy_column(out[found].unit, sizeof out[found].unit, q, 2);
            copy_column(out[found].labels, sizeof out[found].labels, q, 3);
        }
        found++;
    }
    int rc = step == SQLITE_DONE ? 0 : store_fail(st, "series");
    sqlite3_finalize(q);
    *count = found;
    return rc;
}

int store_stats(struct store *st, struct store_stats *out)
{
    struct store_shared *sh = st->shared;
    memset(out, 0, sizeof *out);
    int64_t samples = scalar(st, "SELECT value FROM meta WHERE key='samples'", -1);
    if (samples < 0)
        return store_fail(st, "stats");
    out->samples = (uint64_t)samples;
    pthread_rwlock_rdlock(&sh->reg.lock);
    out->series = sh->reg.count;
    out->head_samples = sh->reg.head_samples;
    pthread_rwlock_unlock(&sh->reg.lock);
    out->wal_rows = atomic_load(&sh->wal_rows);
    out->l0_chunks = atomic_load(&sh->l0_chunks);
    out->chunks = atomic_load(&sh->chunks);
    out->rollup_rows = atomic_load(&sh->rollup_rows);
    out->replayed = atomic_load(&sh->replayed);
    out->compactions = atomic_load(&sh->compactions);
    out->retention_deleted = atomic_load(&sh->retention_deleted);
    struct stat sb;
    out->file_bytes = stat(st->path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    char wal[4096];
    snprintf(wal, sizeof wal, "%s-wal", st->path);
    if (stat(wal, &sb) == 0)
        out->file_bytes += (uint64_t)sb.st_size;
    return 0;
}

int store_ping(struct store *st)
{
    return store_exec(st, "SELECT 1 FROM meta LIMIT 1");
}
