/* The time-series store behind a narrow interface (so the compressed store of issue 3, or
 * a server database, can take its place). This implementation: one SQLite file in WAL mode,
 * a series table and one row per sample keyed by (series, timestamp) — a sample's identity:
 * a resent sample is stored once, a different value for it replaces the old and counts a
 * conflict. One writer handle (the writer thread) and any number of read-only handles (one
 * per reading thread); a handle is not thread-safe. Only hub/store*.c include <sqlite3.h>. */
#ifndef UPDRAFT_HUB_STORE_H
#define UPDRAFT_HUB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

enum store_kind {
    STORE_KIND_NUMBER = 0, /* value */
    STORE_KIND_BOOL = 1,   /* value 0 or 1 */
    STORE_KIND_STRING = 2, /* text */
    STORE_KIND_DATA = 3,   /* text (base64url, as received) */
    STORE_KIND_SUM = 4,    /* value is a SenML sum */
};

/* A series is (host, metric, unit, labels). Strings are borrowed for the call. */
struct store_sample {
    const char *metric; /* "cpu.utilization" */
    const char *unit;   /* "" when none */
    const char *labels; /* canonical "k=v,k2=v2" sorted by key, "" when none */
    int64_t ts_ms;      /* wall clock, ms since the epoch */
    enum store_kind kind;
    double value;
    const char *text;   /* STORE_KIND_STRING / STORE_KIND_DATA, else NULL */
};

struct store_append_result {
    uint64_t added;      /* new samples */
    uint64_t duplicates; /* same identity and value: already stored */
    uint64_t conflicts;  /* same identity, other value: replaced by the newer */
};

/* Opens (creating it and its schema when read_only is false) the store at path.
 * Returns 0 and *out, -EIO with the reason in errmsg (size errmsg_size). */
int store_open(const char *path, bool read_only, struct store **out, char *errmsg,
               size_t errmsg_size) __attribute__((warn_unused_result));
void store_close(struct store *st); /* accepts NULL; commits nothing that was not committed */

/* Last error text of this handle (valid until the next call). */
const char *store_errmsg(const struct store *st);

/* Transactions group appends: begin, any number of appends, commit. */
int store_begin(struct store *st) __attribute__((warn_unused_result));
int store_commit(struct store *st) __attribute__((warn_unused_result));
int store_rollback(struct store *st);

/* Appends n samples of one host (inside a transaction). Adds to *res. -EIO on failure. */
int store_append(struct store *st, const char *host, const struct store_sample *samples, size_t n,
                 struct store_append_result *res) __attribute__((warn_unused_result));

/* Host records (persisted so a restarted hub knows its fleet). */
struct store_host {
    char id[65];
    int64_t first_seen_ms, last_seen_ms; /* wall clock */
    char state[16];                      /* "online", "offline", "" (unknown) */
    int64_t state_ms;
    char boot_id[65];
    int64_t last_seq;
    char agent_version[33];
};
int store_host_save(struct store *st, const struct store_host *host)
    __attribute__((warn_unused_result));
/* Calls fn for every saved host. Returns 0 or -EIO. */
int store_hosts_load(struct store *st, void (*fn)(void *user, const struct store_host *host),
                     void *user) __attribute__((warn_unused_result));

/* Query: the points of one series in [from_ms, to_ms], oldest first, at most max_points
 * (the newest are dropped beyond it, *truncated set). fn returns 0 to go on. */
struct store_point {
    int64_t ts_ms;
    enum store_kind kind;
    double value;
    const char *text; /* borrowed for the callback */
};
struct store_series_info {
    int64_t id;
    char metric[257];
    char unit[65];
    char labels[513];
};
/* Lists the series of host whose metric equals metric (all metrics when metric is NULL).
 * Fills up to max entries; *count gets the number found (may exceed max). */
int store_series(struct store *st, const char *host, const char *metric,
                 struct store_series_info *out, size_t max, size_t *count)
    __attribute__((warn_unused_result));
int store_query(struct store *st, int64_t series_id, int64_t from_ms, int64_t to_ms,
                size_t max_points, int (*fn)(void *user, const struct store_point *point),
                void *user, bool *truncated) __attribute__((warn_unused_result));

struct store_stats {
    uint64_t series;
    uint64_t samples;
    uint64_t file_bytes;
};
int store_stats(struct store *st, struct store_stats *out) __attribute__((warn_unused_result));

/* Cheap liveness check for /ready: 0 when the store answers. */
int store_ping(struct store *st) __attribute__((warn_unused_result));

#endif
