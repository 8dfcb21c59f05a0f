/* Benchmark: the baseline the store is measured against, a plain row-per-sample SQLite store.
 * Reads SenML JSON packs, one per line (tools/hostmetrics_gen.py --senml), maps each
 * (host, metric without "<host>/", sorted labels) to a series id, loads up to MAX samples into
 * memory, then times only INSERT + COMMIT (every 50,000 samples, one prepared statement) into
 * samples(series_id, ts_ms, value) WITHOUT ROWID in a WAL file (synchronous=NORMAL) under DIR.
 * Prints "name value unit" lines. usage: sqlite_rows FILE.senml.jsonl [MAX_SAMPLES] [DIR]
 * (sqlite3.h outside hub/store*.c: a bench of SQLite itself, as allowed in bench/). */
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "common/senml_json.h"

#define NOW_MS INT64_C(1800000000000) /* packs carry absolute times; now only resolves relative */
#define DEFAULT_MAX_SAMPLES 2000000
#define COMMIT_EVERY 50000
#define KEY_MAX 1024

struct sample {
    int64_t series_id, ts_ms;
    double value;
};

struct series_table {
    char **keys; /* open addressing, NULL = free; the id is ids[slot] */
    int64_t *ids;
    size_t slots, used;
};

struct dataset {
    struct series_table series;
    struct sample *samples;
    size_t count, cap, max;
};

static size_t slot_of(const struct series_table *t, const char *key)
{
    size_t i = (size_t)hash(key) & (t->slots - 1);
    while (t->keys[i] != NULL && strcmp(t->keys[i], key) != 0)
        i = (i + 1) & (t->slots - 1);
    return i;
}

static void grow(struct series_table *t)
{
    char **old_keys = t->keys;
    int64_t *old_ids = t->ids;
    size_t old_slots = t->slots;
    t->slots = old_slots ? old_slots * 2 : 1024;
    t->keys = xrealloc(NULL, t->slots * sizeof *t->keys);
    t->ids = xrealloc(NULL, t->slots * sizeof *t->ids);
    memset(t->keys, 0, t->slots * sizeof *t->keys);
    for (size_t i = 0; i < old_slots; i++) {
        if (old_keys[i] != NULL) {
            size_t s = slot_of(t, old_keys[i]);
            t->keys[s] = old_keys[i];
            t->ids[s] = old_ids[i];
        }
    }
    free(old_keys);
    free(old_ids);
}

/* The id of key, 1, 2, ... in order of first appearance. */
static int64_t series_id(struct series_table *t, const char *key)
{
    if (2 * (t->used + 1) > t->slots)
        grow(t);
    size_t s = slot_of(t, key);
    if (t->keys[s] == NULL) {
        t->keys[s] = strdup(key);
        if (t->keys[s] == NULL)
            exit(1);
        t->ids[s] = (int64_t)++t->used;
    }
    return t->ids[s];
}

/* "host\x1fmetric,k1=v1,k2=v2": host is the resolved name up to its first '/' (the hub takes
 * it from the topic, which the agent names the same), labels sorted by key. */
static void series_key(const struct senml_record *r, char *key, size_t size)
{
    const char *slash = strchr(r->name, '/');
    int host_len = slash != NULL ? (int)(slash - r->name) : 0;
    const char *metric = slash != NULL ? slash + 1 : r->name;
    size_t len = (size_t)snprintf(key, size, "%.*s\x1f%s", host_len, r->name, metric);
    append_sorted_labels(r, key, size, len);
}

static void add_pack(struct dataset *ds, const struct senml_pack *pack)
{
    char key[KEY_MAX];
    for (size_t i = 0; i < pack->count && ds->count < ds->max; i++) {
        const struct senml_record *r = &pack->records[i];
        if (r->kind != SENML_KIND_NUMBER)
            continue;
        series_key(r, key, sizeof key);
        if (ds->count == ds->cap) {
            ds->cap = ds->cap ? ds->cap * 2 : 65536;
            ds->samples = xrealloc(ds->samples, ds->cap * sizeof *ds->samples);
        }
        ds->samples[ds->count++] = (struct sample){
            .series_id = series_id(&ds->series, key),
            .ts_ms = llround(r->time_s * 1000.0),
            .value = r->value,
        };
    }
}

static int load_senml(struct dataset *ds, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "sqlite_rows: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t line_cap = 0, refused = 0;
    ssize_t n;
    while (ds->count < ds->max && (n = getline(&line, &line_cap, f)) > 0) {
        struct senml_pack *pack = NULL;
        if (senml_json_decode(line, (size_t)n, NOW_MS, &pack, NULL) != 0) {
            refused++;
            continue;
        }
        add_pack(ds, pack);
        senml_pack_free(pack);
    }
    free(line);
    fclose(f);
    if (refused > 0)
        fprintf(stderr, "sqlite_rows: %zu packs refused by the decoder\n", refused);
    return 0;
}

static int exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "sqlite_rows: %s: %s\n", sql, msg != NULL ? msg : "?");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* The series table a real store keeps beside its samples (untimed: a few hundred rows). */
static int write_series(sqlite3 *db, const struct series_table *t)
{
    sqlite3_stmt *q = NULL;
    if (exec(db, "CREATE TABLE series(id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE)") != 0 ||
        exec(db, "BEGIN") != 0 ||
        sqlite3_prepare_v2(db, "INSERT INTO series(id, key) VALUES(?, ?)", -1, &q, NULL) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < t->slots && rc == 0; i++) {
        if (t->keys[i] == NULL)
            continue;
        sqlite3_bind_int64(q, 1, t->ids[i]);
        sqlite3_bind_text(q, 2, t->keys[i], -1, SQLITE_STATIC);
        rc = sqlite3_step(q) == SQLITE_DONE ? 0 : -1;
        sqlite3_reset(q);
    }
    sqlite3_finalize(q);
    return rc == 0 ? exec(db, "COMMIT") : -1;
}

/* The timed part: every sample through one prepared INSERT, a commit every COMMIT_EVERY. */
static int insert_all(sqlite3 *db, const struct dataset *ds, size_t *duplicates)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, "INSERT INTO samples(series_id, ts_ms, value) VALUES(?, ?, ?)", -1,
                           &q, NULL) != SQLITE_OK ||
        exec(db, "BEGIN") != 0) {
        fprintf(stderr, "sqlite_rows: prepare: %s\n", sqlite3_errmsg(db));
        sqlite3_finalize(q);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < ds->count && rc == 0; i++) {
        sqlite3_bind_int64(q, 1, ds->samples[i].series_id);
        sqlite3_bind_int64(q, 2, ds->samples[i].ts_ms);
        sqlite3_bind_double(q, 3, ds->samples[i].value);
        int step = sqlite3_step(q);
        if (step == SQLITE_CONSTRAINT)
            (*duplicates)++; /* same (series, ts) twice in the data: not expected */
        else if (step != SQLITE_DONE)
            rc = -1;
        sqlite3_reset(q);
        if (rc == 0 && (i + 1) % COMMIT_EVERY == 0)
            rc = exec(db, "COMMIT; BEGIN");
    }
    if (rc != 0)
        fprintf(stderr, "sqlite_rows: insert: %s\n", sqlite3_errmsg(db));
    sqlite3_finalize(q);
    return rc == 0 ? exec(db, "COMMIT") : -1;
}

static long long file_bytes(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long long)sb.st_size : 0;
}

static void dataset_free(struct dataset *ds)
{
    for (size_t i = 0; i < ds->series.slots; i++)
        free(ds->series.keys[i]);
    free(ds->series.keys);
    free(ds->series.ids);
    free(ds->samples);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: sqlite_rows FILE.senml.jsonl [MAX_SAMPLES] [DIR]\n");
        return 2;
    }
    struct dataset ds = {.max = DEFAULT_MAX_SAMPLES};
    if (argc > 2) {
        char *end;
        errno = 0;
        long long max = strtoll(argv[2], &end, 10);
        if (errno != 0 || *end != '\0' || max < 1) {
            fprintf(stderr, "sqlite_rows: MAX_SAMPLES must be a positive number\n");
            return 2;
        }
        ds.max = (size_t)max;
    }
    char dir[4096], db_path[4200], wal_path[4300], shm_path[4300];
    snprintf(dir, sizeof dir, "%s/sqlite_rows.XXXXXX", argc > 3 ? argv[3] : "/tmp");
    if (load_senml(&ds, argv[1]) != 0 || ds.count == 0 || mkdtemp(dir) == NULL) {
        fprintf(stderr, "sqlite_rows: no samples, or cannot create a directory in %s\n",
                argc > 3 ? argv[3] : "/tmp");
        dataset_free(&ds);
        return 1;
    }
    snprintf(db_path, sizeof db_path, "%s/rows.db", dir);
    snprintf(wal_path, sizeof wal_path, "%s-wal", db_path);
    snprintf(shm_path, sizeof shm_path, "%s-shm", db_path);

    sqlite3 *db = NULL;
    size_t duplicates = 0;
    double insert_s = 0;
    int rc = 1;
    if (sqlite3_open(db_path, &db) != SQLITE_OK ||
        exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL") != 0 ||
        exec(db, "CREATE TABLE samples(series_id INTEGER, ts_ms INTEGER, value REAL,"
                 " PRIMARY KEY(series_id, ts_ms)) WITHOUT ROWID") != 0 ||
        write_series(db, &ds.series) != 0)
        goto out;
    double t0 = now_s();
    if (insert_all(db, &ds, &duplicates) != 0)
        goto out;
    insert_s = now_s() - t0;
    if (exec(db, "PRAGMA wal_checkpoint(TRUNCATE)") != 0)
        goto out;
    long long bytes = file_bytes(db_path) + file_bytes(wal_path);
    printf("store_baseline_sqlite_rows_samples_per_s %.0f samples/s\n",
           (double)ds.count / insert_s);
    printf("store_baseline_sqlite_rows_bytes_per_sample %.2f B/sample\n",
           (double)bytes / (double)ds.count);
    printf("store_baseline_sqlite_rows_samples %zu samples\n", ds.count);
    printf("store_baseline_sqlite_rows_series %zu series\n", ds.series.used);
    if (duplicates > 0)
        fprintf(stderr, "sqlite_rows: %zu samples refused as duplicates\n", duplicates);
    rc = 0;
out:
    if (rc != 0 && db != NULL)
        fprintf(stderr, "sqlite_rows: %s\n", sqlite3_errmsg(db));
    sqlite3_close(db);
    unlink(wal_path);
    unlink(shm_path);
    unlink(db_path);
    rmdir(dir);
    dataset_free(&ds);
    return rc;
}
