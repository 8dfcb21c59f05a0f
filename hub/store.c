/* SQLite time-series store, first slice (see store.h): series table + one row per sample
 * keyed (series_id, ts_ms) WITHOUT ROWID, a meta table with the running sample count, and
 * hosts. A handle owns its connection, prepared statements and series-id cache. */
#include "hub/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct series_slot {
    char *key; /* "host\x1fmetric\x1funit\x1flabels" */
    int64_t id;
};

struct store {
    sqlite3 *db;
    char *path;
    bool read_only;
    char errmsg[256];
    sqlite3_stmt *insert_sample, *select_sample, *update_sample, *find_series, *insert_series,
        *add_count, *save_host;
    struct series_slot *slots; /* open addressing, power-of-two capacity */
    size_t n_slots, n_used;
};

static const char SCHEMA[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS series(id INTEGER PRIMARY KEY, host TEXT NOT NULL,"
    " metric TEXT NOT NULL, unit TEXT NOT NULL, labels TEXT NOT NULL,"
    " UNIQUE(host, metric, unit, labels));"
    "CREATE TABLE IF NOT EXISTS samples(series_id INTEGER NOT NULL, ts_ms INTEGER NOT NULL,"
    " kind INTEGER NOT NULL, value REAL, text TEXT, PRIMARY KEY(series_id, ts_ms)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO meta(key, value) VALUES('samples', 0);"
    "CREATE TABLE IF NOT EXISTS hosts(id TEXT PRIMARY KEY, first_seen_ms INTEGER, last_seen_ms"
    " INTEGER, state TEXT, state_ms INTEGER, boot_id TEXT, last_seq INTEGER, agent_version TEXT);";

static int fail(struct store *st, const char *what)
{
    snprintf(st->errmsg, sizeof st->errmsg, "%s: %s", what, sqlite3_errmsg(st->db));
    return -EIO;
}

const char *store_errmsg(const struct store *st)
{
    return st->errmsg;
}

static int prepare(struct store *st, sqlite3_stmt **stmt, const char *sql)
{
    if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL) != SQLITE_OK)
        return fail(st, "prepare");
    return 0;
}

static int prepare_writer(struct store *st)
{
    int rc = prepare(st, &st->insert_sample,
                     "INSERT OR IGNORE INTO samples(series_id, ts_ms, kind, value, text)"
                     " VALUES(?,?,?,?,?)");
    if (rc == 0)
        rc = prepare(st, &st->select_sample,
                     "SELECT kind, value, text FROM samples WHERE series_id=? AND ts_ms=?");
    if (rc == 0)
        rc = prepare(st, &st->update_sample,
                     "UPDATE samples SET kind=?, value=?, text=? WHERE series_id=? AND ts_ms=?");
    if (rc == 0)
        rc = prepare(st, &st->find_series,
                     "SELECT id FROM series WHERE host=? AND metric=? AND unit=? AND labels=?");
    if (rc == 0)
        rc = prepare(st, &st->insert_series,
                     "INSERT INTO series(host, metric, unit, labels) VALUES(?,?,?,?)");
    if (rc == 0)
        rc = prepare(st, &st->add_count, "UPDATE meta SET value = value + ? WHERE key='samples'");
    if (rc == 0)
        rc = prepare(st, &st->save_host,
                     "INSERT INTO hosts(id, first_seen_ms, last_seen_ms, state, state_ms, boot_id,"
                     " last_seq, agent_version) VALUES(?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE"
                     " SET last_seen_ms=excluded.last_seen_ms, state=excluded.state,"
                     " state_ms=excluded.state_ms, boot_id=excluded.boot_id,"
                     " last_seq=excluded.last_seq, agent_version=excluded.agent_version");
    return rc;
}

int store_open(const char *path, bool read_only, struct store **out, char *errmsg,
               size_t errmsg_size)
{
    struct store *st = calloc(1, sizeof *st);
    if (st == NULL)
        return -ENOMEM;
    int rc = -EIO;
    st->read_only = read_only;
    st->path = strdup(path);
    int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    if (st->path == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    if (sqlite3_open_v2(path, &st->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        rc = fail(st, path);
        goto out;
    }
    sqlite3_busy_timeout(st->db, 5000);
    if (!read_only) {
        char *err = NULL;
        if (sqlite3_exec(st->db, SCHEMA, NULL, NULL, &err) != SQLITE_OK) {
            snprintf(st->errmsg, sizeof st->errmsg, "%s: schema: %s", path, err ? err : "?");
            sqlite3_free(err);
            goto out;
        }
        if (prepare_writer(st) != 0)
            goto out;
    }
    *out = st;
    st = NULL;
    rc = 0;
out:
    if (st != NULL)
        snprintf(errmsg, errmsg_size, "%s", st->errmsg[0] ? st->errmsg : "out of memory");
    store_close(st);
    return rc;
}

void store_close(struct store *st)
{
    if (st == NULL)
        return;
    sqlite3_stmt *stmts[] = {st->insert_sample, st->select_sample, st->update_sample,
                             st->find_series,   st->insert_series, st->add_count,
                             st->save_host};
    for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++)
        sqlite3_finalize(stmts[i]);
    for (size_t i = 0; i < st->n_slots; i++)
        free(st->slots[i].key);
    free(st->slots);
    sqlite3_close(st->db);
    free(st->path);
    free(st);
}

static int exec(struct store *st, const char *sql)
{
    if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return fail(st, sql);
    return 0;
}

int store_begin(struct store *st)
{
    return exec(st, "BEGIN");
}

int store_commit(struct store *st)
{
    return exec(st, "COMMIT");
}

int store_rollback(struct store *st)
{
    return exec(st, "ROLLBACK");
}

/* Series-id cache: FNV-1a over the key, linear probing, grown at 70 % load. */
static uint64_t key_hash(const char *key)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *key != '\0'; key++)
        h = (h ^ (unsigned char)*key) * 1099511628211ULL;
    return h;
}

static bool cache_get(const struct store *st, const char *key, int64_t *id)
{
    if (st->n_slots == 0)
        return false;
    for (size_t i = key_hash(key) & (st->n_slots - 1);; i = (i + 1) & (st->n_slots - 1)) {
        if (st->slots[i].key == NULL)
            return false;
        if (strcmp(st->slots[i].key, key) == 0) {
            *id = st->slots[i].id;
            return true;
        }
    }
}

static void cache_insert(struct series_slot *slots, size_t n_slots, char *key, int64_t id)
{
    size_t i = key_hash(key) & (n_slots - 1);
    while (slots[i].key != NULL)
        i = (i + 1) & (n_slots - 1);
    slots[i].key = key;
    slots[i].id = id;
}

static int cache_put(struct store *st, const char *key, int64_t id)
{
    if ((st->n_used + 1) * 10 > st->n_slots * 7) {
        size_t n = st->n_slots ? st->n_slots * 2 : 1024;
        struct series_slot *slots = calloc(n, sizeof *slots);
        if (slots == NULL)
            return -ENOMEM;
        for (size_t i = 0; i < st->n_slots; i++)
            if (st->slots[i].key != NULL)
                cache_insert(slots, n, st->slots[i].key, st->slots[i].id);
        free(st->slots);
        st->slots = slots;
        st->n_slots = n;
    }
    char *copy = strdup(key);
    if (copy == NULL)
        return -ENOMEM;
    cache_insert(st->slots, st->n_slots, copy, id);
    st->n_used++;
    return 0;
}

static int series_id(struct store *st, const char *host, const struct store_sample *s,
                     int64_t *id)
{
    char key[1024];
    int n = snprintf(key, sizeof key, "%s\x1f%s\x1f%s\x1f%s", host, s->metric, s->unit, s->labels);
    if (n < 0 || (size_t)n >= sizeof key) {
        snprintf(st->errmsg, sizeof st->errmsg, "series key too long");
        return -EINVAL;
    }
    if (cache_get(st, key, id))
        return 0;
    const char *parts[] = {host, s->metric, s->unit, s->labels};
    sqlite3_stmt *q = st->find_series;
    for (int i = 0; i < 4; i++)
        sqlite3_bind_text(q, i + 1, parts[i], -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    if (step == SQLITE_ROW) {
        *id = sqlite3_column_int64(q, 0);
    } else {
        sqlite3_reset(q);
        sqlite3_stmt *ins = st->insert_series;
        for (int i = 0; i < 4; i++)
            sqlite3_bind_text(ins, i + 1, parts[i], -1, SQLITE_STATIC);
        step = sqlite3_step(ins);
        sqlite3_reset(ins);
        if (step != SQLITE_DONE)
            return fail(st, "insert series");
        *id = sqlite3_last_insert_rowid(st->db);
    }
    sqlite3_reset(q);
    return cache_put(st, key, *id);
}

static void bind_value(sqlite3_stmt *q, int first, const struct store_sample *s)
{
    sqlite3_bind_int(q, first, (int)s->kind);
    if (s->text != NULL) {
        sqlite3_bind_null(q, first + 1);
        sqlite3_bind_text(q, first + 2, s->text, -1, SQLITE_STATIC);
    } else {
        sqlite3_bind_double(q, first + 1, s->value);
        sqlite3_bind_null(q, first + 2);
    }
}

/* The sample already exists: same value is a duplicate, another value replaces it. */
static int resolve_existing(struct store *st, int64_t id, const struct store_sample *s,
                            struct store_append_result *res)
{
    sqlite3_stmt *q = st->select_sample;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, s->ts_ms);
    bool same = false;
    if (sqlite3_step(q) == SQLITE_ROW) {
        const unsigned char *text = sqlite3_column_text(q, 2);
        same = sqlite3_column_int(q, 0) == (int)s->kind &&
               (s->text != NULL ? (text != NULL && strcmp((const char *)text, s->text) == 0)
                                : (text == NULL && sqlite3_column_double(q, 1) == s->value));
    }
    sqlite3_reset(q);
    if (same) {
        res->duplicates++;
        return 0;
    }
    sqlite3_stmt *u = st->update_sample;
    bind_value(u, 1, s);
    sqlite3_bind_int64(u, 4, id);
    sqlite3_bind_int64(u, 5, s->ts_ms);
    int step = sqlite3_step(u);
    sqlite3_reset(u);
    if (step != SQLITE_DONE)
        return fail(st, "update sample");
    res->conflicts++;
    return 0;
}

int store_append(struct store *st, const char *host, const struct store_sample *samples, size_t n,
                 struct store_append_result *res)
{
    uint64_t added = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t id;
        int rc = series_id(st, host, &samples[i], &id);
        if (rc != 0)
            return rc;
        sqlite3_stmt *q = st->insert_sample;
        sqlite3_bind_int64(q, 1, id);
        sqlite3_bind_int64(q, 2, samples[i].ts_ms);
        bind_value(q, 3, &samples[i]);
        int step = sqlite3_step(q);
        sqlite3_reset(q);
        if (step != SQLITE_DONE)
            return fail(st, "insert sample");
        if (sqlite3_changes(st->db) == 1) {
            added++;
        } else if ((rc = resolve_existing(st, id, &samples[i], res)) != 0) {
            return rc;
        }
    }
    if (added > 0) {
        sqlite3_bind_int64(st->add_count, 1, (sqlite3_int64)added);
        int step = sqlite3_step(st->add_count);
        sqlite3_reset(st->add_count);
        if (step != SQLITE_DONE)
            return fail(st, "count samples");
    }
    res->added += added;
    return 0;
}

int store_host_save(struct store *st, const struct store_host *h)
{
    sqlite3_stmt *q = st->save_host;
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
    return step == SQLITE_DONE ? 0 : fail(st, "save host");
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
        return fail(st, "load hosts");
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
    int rc = step == SQLITE_DONE ? 0 : fail(st, "load hosts");
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
        return fail(st, "series");
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
    int rc = step == SQLITE_DONE ? 0 : fail(st, "series");
    sqlite3_finalize(q);
    *count = found;
    return rc;
}

int store_query(struct store *st, int64_t series_id, int64_t from_ms, int64_t to_ms,
                size_t max_points, int (*fn)(void *user, const struct store_point *point),
                void *user, bool *truncated)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT ts_ms, kind, value, text FROM samples WHERE series_id=? AND"
                           " ts_ms BETWEEN ? AND ? ORDER BY ts_ms",
                           -1, &q, NULL) != SQLITE_OK)
        return fail(st, "query");
    sqlite3_bind_int64(q, 1, series_id);
    sqlite3_bind_int64(q, 2, from_ms);
    sqlite3_bind_int64(q, 3, to_ms);
    size_t n = 0;
    int step, rc = 0;
    *truncated = false;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        if (n == max_points) {
            *truncated = true;
            break;
        }
        struct store_point p = {
            .ts_ms = sqlite3_column_int64(q, 0),
            .kind = (enum store_kind)sqlite3_column_int(q, 1),
            .value = sqlite3_column_double(q, 2),
            .text = (const char *)sqlite3_column_text(q, 3),
        };
        n++;
        if ((rc = fn(user, &p)) != 0)
            break;
    }
    if (rc == 0 && step != SQLITE_DONE && step != SQLITE_ROW)
        rc = fail(st, "query");
    sqlite3_finalize(q);
    return rc;
}

int store_stats(struct store *st, struct store_stats *out)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT (SELECT count(*) FROM series),"
                           " (SELECT value FROM meta WHERE key='samples')",
                           -1, &q, NULL) != SQLITE_OK)
        return fail(st, "stats");
    int rc = 0;
    if (sqlite3_step(q) == SQLITE_ROW) {
        out->series = (uint64_t)sqlite3_column_int64(q, 0);
        out->samples = (uint64_t)sqlite3_column_int64(q, 1);
    } else {
        rc = fail(st, "stats");
    }
    sqlite3_finalize(q);
    struct stat sb;
    out->file_bytes = stat(st->path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    char wal[4096];
    snprintf(wal, sizeof wal, "%s-wal", st->path);
    if (stat(wal, &sb) == 0)
        out->file_bytes += (uint64_t)sb.st_size;
    return rc;
}

int store_ping(struct store *st)
{
    return exec(st, "SELECT 1 FROM meta LIMIT 1");
}
