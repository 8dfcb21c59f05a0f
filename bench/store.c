/* Benchmark: the store alone (hub/store*.c), in-process, on realistic host metrics.
 * Reads SenML JSON packs, one per line (tools/hostmetrics_gen.py --senml), moves their times
 * so the data ends now, then (timed) appends them pack by pack in transactions of about
 * 50,000 samples as the hub's writer does, with a janitor slice every 2 s of data-time, and
 * flushes everything into final chunks and rollups. Then: bytes per sample on disk (whole file
 * and per table), query latencies (1 h raw, 7 d at 5 m, 100 series x 7 d at 5 m), and memory
 * per active series for 100,000 series. Prints "name value unit" lines.
 * usage: store FILE.senml.jsonl [all|ingest|queries] [MAX_SAMPLES]
 *   ingest: only the append, fold and bytes figures; queries: only queries and memory (the
 *   data is still loaded, unprinted), so bench/run.sh can run ingest on the data set the
 *   peers use and queries on a longer one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bench/bench_util.h"
#include "common/senml.h"
#include "common/senml_json.h"
#include "hub/ingest.h"
#include "hub/store.h"

#define COMMIT_SAMPLES 50000
#define QUERY_RUNS 200

struct pack {
    char host[65];
    struct store_sample *samples;
    size_t n;
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void die(const char *what)
{
    fprintf(stderr, "store bench: %s\n", what);
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        die("out of memory");
    return p;
}

/* Interns metric/label strings so millions of samples share them. */
static const char *intern(const char *s)
{
    static char **table;
    static size_t slots, used;
    if ((used + 1) * 2 > slots) {
        size_t n = slots ? slots * 2 : 4096;
        char **t = calloc(n, sizeof *t);
        if (t == NULL)
            die("out of memory");
        for (size_t i = 0; i < slots; i++) {
            if (table[i] == NULL)
                continue;
            uint64_t h = 1469598103934665603ULL;
            for (const char *p = table[i]; *p; p++)
                h = (h ^ (unsigned char)*p) * 1099511628211ULL;
            size_t j = h & (n - 1);
            while (t[j] != NULL)
                j = (j + 1) & (n - 1);
            t[j] = table[i];
        }
        free(table);
        table = t;
        slots = n;
    }
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = s; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    size_t j = h & (slots - 1);
    while (table[j] != NULL && strcmp(table[j], s) != 0)
        j = (j + 1) & (slots - 1);
    if (table[j] == NULL) {
        table[j] = strdup(s);
        if (table[j] == NULL)
            die("out of memory");
        used++;
    }
    return table[j];
}

static struct pack *load(const char *path, size_t max_samples, size_t *n_packs, size_t *n_samples,
                         int64_t *max_ts)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        die("cannot open the data file");
    size_t cap = 1024, n = 0, total = 0;
    struct pack *packs = xmalloc(cap * sizeof *packs);
    char *line = NULL;
    size_t line_cap = 0;
    ssize_t len;
    *max_ts = 0;
    while (total < max_samples && (len = getline(&line, &line_cap, f)) > 0) {
        struct senml_pack *sp = NULL;
        struct senml_error err = {0};
        if (senml_json_decode(line, (size_t)len, INT64_C(1800000000000), &sp, &err) != 0)
            die("a pack does not decode");
        if (n == cap)
            packs = realloc(packs, (cap *= 2) * sizeof *packs);
        if (packs == NULL)
            die("out of memory");
        struct pack *p = &packs[n++];
        p->samples = xmalloc(sp->count * sizeof *p->samples);
        p->n = sp->count;
        const char *slash = strchr(sp->records[0].name, '/');
        snprintf(p->host, sizeof p->host, "%.*s", (int)(slash - sp->records[0].name),
                 sp->records[0].name);
        for (size_t i = 0; i < sp->count; i++) {
            const struct senml_record *r = &sp->records[i];
            char *labels = ingest_labels_canonical(r);
            if (labels == NULL)
                die("out of memory");
            int64_t ts = (int64_t)(r->time_s * 1000.0 + 0.5);
            p->samples[i] = (struct store_sample){.metric = intern(strchr(r->name, '/') + 1),
                                                  .unit = "", .labels = intern(labels),
                                                  .ts_ms = ts, .kind = STORE_KIND_NUMBER,
                                                  .value = r->value};
            free(labels);
            if (ts > *max_ts)
                *max_ts = ts;
        }
        total += sp->count;
        senml_pack_free(sp);
    }
    free(line);
    fclose(f);
    *n_packs = n;
    *n_samples = total;
    return packs;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void print_latency(const char *name, double *ms, size_t n)
{
    qsort(ms, n, sizeof *ms, compare_double);
    printf("%s_p50 %.3f ms\n", name, ms[n / 2]);
    printf("%s_p99 %.3f ms\n", name, ms[(n * 99) / 100]);
}

static int count_point(void *user, const struct store_point *p)
{
    (void)p;
    (*(size_t *)user)++;
    return 0;
}

static int count_bucket(void *user, int64_t ts, double v)
{
    (void)ts;
    (void)v;
    (*(size_t *)user)++;
    return 0;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmRSS: %ld", &kib) == 1)
            break;
    if (f != NULL)
        fclose(f);
    return kib;
}

static void table_bytes(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC",
                           -1, &q, NULL) != SQLITE_OK) {
        printf("# dbstat not available: %s\n", sqlite3_errmsg(db));
    } else {
        while (sqlite3_step(q) == SQLITE_ROW)
            printf("# table %-24s %12lld bytes\n", sqlite3_column_text(q, 0),
                   (long long)sqlite3_column_int64(q, 1));
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
}

/* Bytes of the tables that hold raw samples: chunks, their level-0 rest, series, wal. */
static long long raw_bytes(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    long long bytes = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db,
                           "SELECT sum(pgsize) FROM dbstat WHERE name IN ('chunks', 'l0',"
                           " 'l0_by_series', 'series', 'sqlite_autoindex_series_1', 'wal', 'meta',"
                           " 'sqlite_master', 'sqlite_sequence')",
                           -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        bytes = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return bytes;
}

static void bench_queries(struct store *st, int64_t end_ms, size_t n_series)
{
    double *ms = xmalloc(QUERY_RUNS * sizeof *ms);
    size_t points = 0;
    bool truncated;
    enum store_tier tier;
    for (int i = 0; i < QUERY_RUNS; i++) {
        int64_t id = 1 + i % (int64_t)n_series;
        double t0 = now_s();
        if (store_query(st, id, end_ms - 3600000, end_ms, 100000, count_point, &points,
                        &truncated) != 0)
            die(store_errmsg(st));
        ms[i] = (now_s() - t0) * 1000;
    }
    printf("store_query_1h_raw_points %zu points\n", points / QUERY_RUNS);
    print_latency("store_query_1h_raw", ms, QUERY_RUNS);
    points = 0;
    for (int i = 0; i < QUERY_RUNS; i++) {
        int64_t id = 1 + i % (int64_t)n_series;
        double t0 = now_s();
        if (store_aggregate(st, id, end_ms - 7 * 86400000LL, end_ms, 300000, QUERY_AGG_AVG,
                            count_bucket, &points, &tier) != 0)
            die(store_errmsg(st));
        ms[i] = (now_s() - t0) * 1000;
    }
    printf("store_query_7d_5m_points %zu points (tier %s)\n", points / QUERY_RUNS,
           store_tier_name(tier));
    print_latency("store_query_7d_5m", ms, QUERY_RUNS);
    int runs = 20;
    size_t fan = n_series < 100 ? n_series : 100;
    for (int r = 0; r < runs; r++) {
        double t0 = now_s();
        for (size_t i = 0; i < fan; i++)
            if (store_aggregate(st, (int64_t)(1 + (i + (size_t)r * 7) % n_series),
                                end_ms - 7 * 86400000LL, end_ms, 300000, QUERY_AGG_MAX,
                                count_bucket, &points, &tier) != 0)
                die(store_errmsg(st));
        ms[r] = (now_s() - t0) * 1000;
    }
    printf("store_query_series_fanout %zu series\n", fan);
    print_latency("store_query_100x7d_5m", ms, (size_t)runs);
    free(ms);
}

/* 100,000 active series (1,000 hosts x 100 metrics) with heads half full on average. */
static void bench_memory(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/mem.db", dir);
    struct store_options o;
    store_options_default(&o);
    o.max_series_per_host = 1000;
    struct store *st = NULL;
    char err[300];
    long before = rss_kib();
    if (store_open(path, &o, &st, err, sizeof err) != 0)
        die(err);
    const size_t hosts = 1000, metrics = 100;
    char names[100][32];
    for (size_t m = 0; m < metrics; m++)
        snprintf(names[m], sizeof names[m], "bench.metric_%zu", m);
    int64_t t0 = wall_ms() - 40 * 5000;
    struct store_sample batch[100];
    for (int tick = 0; tick < 40; tick++) {
        if (store_begin(st) != 0)
            die(store_errmsg(st));
        for (size_t h = 0; h < hosts; h++) {
            char host[32];
            snprintf(host, sizeof host, "host-%04zu", h);
            size_t n = 0;
            for (size_t m = 0; m < metrics; m++) {
                /* Stagger the heads: series m starts at tick m % 32, so fill is spread. */
                if ((size_t)tick < m % 32)
                    continue;
                batch[n++] = (struct store_sample){names[m], "", "", t0 + tick * 5000,
                                                   STORE_KIND_NUMBER, (double)(tick * 7 % 100) / 4,
                                                   NULL};
            }
            struct store_append_result res = {0};
            if (store_append(st, host, batch, n, wall_ms(), &res) != 0)
                die(store_errmsg(st));
        }
        if (store_commit(st) != 0)
            die(store_errmsg(st));
    }
    struct store_stats ss;
    if (store_stats(st, &ss) != 0)
        die(store_errmsg(st));
    long after = rss_kib();
    printf("store_memory_active_series %llu series\n", (unsigned long long)ss.series);
    printf("store_memory_head_samples_per_series %.1f samples\n",
           (double)ss.head_samples / (double)ss.series);
    printf("store_memory_per_active_series %.0f bytes\n",
           (double)(after - before) * 1024.0 / (double)ss.series);
    store_close(st);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 2 ? argv[2] : "all";
    if (argc < 2 || (strcmp(mode, "all") != 0 && strcmp(mode, "ingest") != 0 &&
                     strcmp(mode, "queries") != 0)) {
        fprintf(stderr, "usage: store FILE.senml.jsonl [all|ingest|queries] [MAX_SAMPLES]\n");
        return 2;
    }
    bool ingest = strcmp(mode, "queries") != 0, queries = strcmp(mode, "ingest") != 0;
    size_t max_samples = argc > 3 ? strtoull(argv[3], NULL, 10) : 40000000;
    size_t n_packs, n_samples;
    int64_t max_ts;
    struct pack *packs = load(argv[1], max_samples, &n_packs, &n_samples, &max_ts);
    int64_t shift = wall_ms() - 60000 - max_ts, end_ms = max_ts + shift + 1;
    for (size_t i = 0; i < n_packs; i++)
        for (size_t j = 0; j < packs[i].n; j++)
            packs[i].samples[j].ts_ms += shift;
    char dir[] = "/tmp/updraft-bench-store.XXXXXX", path[4096];
    if (mkdtemp(dir) == NULL)
        die("mkdtemp");
    snprintf(path, sizeof path, "%s/store.db", dir);
    struct store *st = NULL;
    char err[300];
    if (store_open(path, NULL, &st, err, sizeof err) != 0)
        die(err);
    struct store_append_result res = {0};
    double t0 = now_s();
    size_t in_txn = 0;
    int64_t next_janitor = packs[0].samples[0].ts_ms + 2000;
    if (store_begin(st) != 0)
        die(store_errmsg(st));
    for (size_t i = 0; i < n_packs; i++) {
        if (store_append(st, packs[i].host, packs[i].samples, packs[i].n,
                         packs[i].samples[0].ts_ms, &res) != 0)
            die(store_errmsg(st));
        in_txn += packs[i].n;
        if (in_txn >= COMMIT_SAMPLES || i + 1 == n_packs) {
            if (store_commit(st) != 0)
                die(store_errmsg(st));
            in_txn = 0;
            /* The janitor sees the data's own clock, as if it arrived live. */
            if (packs[i].samples[0].ts_ms >= next_janitor) {
                bool more = false;
                if (store_maintain(st, packs[i].samples[0].ts_ms, 50, &more) != 0)
                    die(store_errmsg(st));
                next_janitor = packs[i].samples[0].ts_ms + 2000;
            }
            if (i + 1 < n_packs && store_begin(st) != 0)
                die(store_errmsg(st));
        }
    }
    double t_append = now_s() - t0;
    if (store_flush(st, end_ms) != 0)
        die(store_errmsg(st));
    double t_total = now_s() - t0;
    struct store_stats ss;
    if (store_stats(st, &ss) != 0)
        die(store_errmsg(st));
    if (!ingest)
        goto queries;
    printf("store_samples %zu samples (%zu packs, %llu series)\n", n_samples, n_packs,
           (unsigned long long)ss.series);
    if (res.added != n_samples || ss.samples != n_samples)
        printf("# WARNING: added %llu, stored %llu of %zu (duplicates %llu, too old %llu)\n",
               (unsigned long long)res.added, (unsigned long long)ss.samples, n_samples,
               (unsigned long long)res.duplicates, (unsigned long long)res.too_old);
    printf("store_append_samples_per_s %.0f samples/s\n", (double)n_samples / t_append);
    printf("store_append_and_fold_samples_per_s %.0f samples/s\n", (double)n_samples / t_total);
    printf("store_file_bytes_per_sample %.3f B/sample\n",
           (double)ss.file_bytes / (double)n_samples);
    long long raw = raw_bytes(path);
    if (raw > 0)
        printf("store_raw_bytes_per_sample %.3f B/sample\n", (double)raw / (double)n_samples);
    table_bytes(path);
queries:
    if (queries)
        bench_queries(st, end_ms, (size_t)ss.series);
    store_close(st);
    if (queries)
        bench_memory(dir);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "store bench: could not remove %s\n", dir);
    for (size_t i = 0; i < n_packs; i++)
        free(packs[i].samples);
    free(packs);
    return 0;
}
