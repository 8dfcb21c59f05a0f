/* The time-series store behind a narrow interface (so a server database can take its place).
 * This implementation keeps everything in one SQLite file (WAL mode):
 *   - a write-ahead table gets one row per appended batch (the samples it added or changed),
 *     committed with the batch: that commit is what "accepted" means;
 *   - each series keeps its newest samples in an in-memory head, folded (at commit, when
 *     full or old) into a compressed level-0 chunk (hub/chunk.h), after which the WAL rows
 *     holding only folded samples are deleted; on open, WAL rows not yet folded are replayed;
 *   - once a time window (STORE_WINDOW_MS, aligned to the epoch) is sealed (ended more than
 *     the out-of-order allowance ago), its level-0 chunks are merged into final chunks and its
 *     rollups (1 m, 5 m, 1 h: min/max/sum/count/last, hub/rollup.h) are written;
 *   - a janitor step enforces retention per tier and trims the WAL, in bounded slices.
 * A sample's identity is (series, timestamp): a resent sample is stored once; another value
 * for it replaces the old (counted as a conflict); samples older than the out-of-order window
 * behind the series' newest are refused unless they are exact duplicates. Text samples
 * (SenML vs/vd) are kept one row each. Series beyond the per-host or total limits are refused.
 * The same file keeps the host records and the loss ledger's rows (store_ledger.c); a file of
 * an older layout is upgraded in place when opened.
 * Threads: one writer handle (store_open; one thread) and any number of reader handles
 * (store_reader_open; one thread each) that share the writer's heads under its lock. Only
 * hub/store*.c include <sqlite3.h>. */
#ifndef UPDRAFT_HUB_STORE_H
#define UPDRAFT_HUB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub/query.h"

#define STORE_WINDOW_MS (4LL * 3600 * 1000) /* final chunks and rollup rows cover one window */

struct store;

enum store_kind {
    STORE_KIND_NUMBER = 0, /* value */
    STORE_KIND_BOOL = 1,   /* value 0 or 1 */
    STORE_KIND_STRING = 2, /* text */
    STORE_KIND_DATA = 3,   /* text (base64url, as received) */
    STORE_KIND_SUM = 4,    /* value is a SenML sum */
};

enum store_tier {
    STORE_TIER_RAW = 0,
    STORE_TIER_1M = 1,
    STORE_TIER_5M = 2,
    STORE_TIER_1H = 3,
};
#define STORE_TIER_COUNT 4
const char *store_tier_name(enum store_tier tier); /* "raw", "1m", "5m", "1h" */

struct store_options {
    int64_t out_of_order_ms;       /* a window is merged this long after its end; later
                                    * samples still go in (the window is merged again) */
    uint64_t max_series;           /* in all */
    uint64_t max_series_per_host;
    int64_t retention_ms[STORE_TIER_COUNT]; /* per tier; 0 keeps forever */
    uint32_t head_max_samples;     /* a head this full is folded at the next commit */
    int64_t head_max_age_ms;       /* a head older than this is folded by the janitor */
    bool synchronous_full;         /* fsync every commit (power loss), else on checkpoints */
};
/* 1 h, 1,000,000, 10,000, {7 d, 30 d, 90 d, 400 d}, 64, 5 min, false. */
void store_options_default(struct store_options *opts);

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
    uint64_t added;           /* new samples */
    uint64_t duplicates;      /* same identity and value: already stored */
    uint64_t conflicts;       /* same identity, other value: replaced by the newer */
    uint64_t too_old;         /* older than raw retention, refused */
    uint64_t too_many_series; /* would create a series beyond a limit, refused */
};

/* Opens the writer handle (creating the file and schema), then replays the WAL rows not yet
 * folded. opts NULL means the defaults. Returns 0 and *out, or -EIO / -ENOMEM with the reason
 * in errmsg (size errmsg_size). */
int store_open(const char *path, const struct store_options *opts, struct store **out,
               char *errmsg, size_t errmsg_size) __attribute__((warn_unused_result));
/* A read-only handle on writer's file that also sees writer's heads. It must be closed
 * before the writer. */
int store_reader_open(struct store *writer, struct store **out, char *errmsg,
                      size_t errmsg_size) __attribute__((warn_unused_result));
void store_close(struct store *st); /* accepts NULL; commits nothing that was not committed */

/* Last error text of this handle (valid until the next call). */
const char *store_errmsg(const struct store *st);

/* Writer: transactions group appends: begin, any number of appends, commit. Commit also
 * folds the heads that reached head_max_samples. After a failed commit, roll back. */
int store_begin(struct store *st) __attribute__((warn_unused_result));
int store_commit(struct store *st) __attribute__((warn_unused_result));
int store_rollback(struct store *st);

/* Writer: appends n samples of one host (inside a transaction); now_ms is the wall clock.
 * Adds to *res. -EIO on failure, -ENOMEM. */
int store_append(struct store *st, const char *host, const struct store_sample *samples, size_t n,
                 int64_t now_ms, struct store_append_result *res)
    __attribute__((warn_unused_result));

/* Writer, outside a transaction: one janitor slice of at most about budget_ms — folds old
 * heads, merges sealed windows (with their rollups), enforces retention, trims the WAL —
 * in its own transaction. *more is set when work is left. Returns 0 or -EIO. */
int store_maintain(struct store *st, int64_t now_ms, int64_t budget_ms, bool *more)
    __attribute__((warn_unused_result));
/* Writer, outside a transaction: folds every head and merges every window now, sealed or not,
 * then checkpoints the file (benchmarks, tests, and a clean shutdown). */
int store_flush(struct store *st, int64_t now_ms) __attribute__((warn_unused_result));

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

/* The loss ledger's rows (hub/ledger.h holds the logic): per host, its counters and the agent
 * boots it keeps, each with the ranges of pack sequence numbers committed. The writer saves a
 * host's rows in the transaction of the packs that changed them, so the ledger and the
 * samples never disagree after a crash. Sequence numbers and counts are below 2^63. */
struct store_ledger_range {
    uint64_t first, last; /* committed, inclusive */
    int64_t gap_since_ms; /* wall clock: when the gap just below first was noticed; 0: none */
};
struct store_ledger_boot {
    char boot_id[65];
    int64_t last_seen_ms;       /* wall clock: its latest pack or heartbeat */
    uint64_t assumed;           /* sequence numbers inside the ranges never seen committed */
    uint64_t dropped;           /* highest agent.dropped its heartbeats reported */
    int64_t dropped_changed_ms; /* when that last went up; 0: never */
    const struct store_ledger_range *ranges; /* ascending, disjoint, not adjacent; borrowed */
    size_t n_ranges;
};
struct store_ledger_host {
    char host[65];
    uint64_t gaps_filled;
    uint64_t lost_gaps, lost_packs; /* given up: merged away by a bound, or with a dropped boot */
    uint64_t dropped_before;        /* agent.dropped of boots no longer kept */
    int64_t dropped_changed_ms;     /* when any boot's agent.dropped last went up; 0: never */
    const struct store_ledger_boot *boots; /* borrowed */
    size_t n_boots;
};
/* Writer, inside a transaction: replaces everything stored for h->host with h. 0 or -EIO. */
int store_ledger_save(struct store *st, const struct store_ledger_host *h)
    __attribute__((warn_unused_result));
/* Calls fn for every host with its boots and their ranges (borrowed for the call). A non-zero
 * result of fn stops the walk and is returned. 0, -EIO or -ENOMEM. */
int store_ledger_load(struct store *st, int (*fn)(void *user, const struct store_ledger_host *h),
                      void *user) __attribute__((warn_unused_result));

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

/* Raw points of one series in [from_ms, to_ms], oldest first, one per timestamp, at most
 * max_points (the newest are dropped beyond it, *truncated set). fn returns 0 to go on; a
 * non-zero result stops the query and is returned. Numeric points carry the series' kind
 * (that of its first numeric sample; a value other than 0/1 in a boolean series comes back
 * as a number); text points their own. Nothing stays open between calls. */
int store_query(struct store *st, int64_t series_id, int64_t from_ms, int64_t to_ms,
                size_t max_points, int (*fn)(void *user, const struct store_point *point),
                void *user, bool *truncated) __attribute__((warn_unused_result));

/* One value per step-aligned bucket of [from_ms, to_ms] (numeric samples only). Uses the
 * coarsest rollup tier whose step divides step_ms (not for p95), falling back to raw samples
 * for windows that have no rollup yet; *tier says which tier served it. emit returns 0. */
int store_aggregate(struct store *st, int64_t series_id, int64_t from_ms, int64_t to_ms,
                    int64_t step_ms, enum query_agg_kind agg, query_emit_fn emit, void *user,
                    enum store_tier *tier) __attribute__((warn_unused_result));

struct store_stats {
    uint64_t series;
    uint64_t samples;        /* distinct stored samples */
    uint64_t file_bytes;     /* database + its SQLite WAL file */
    uint64_t head_samples;   /* in memory, not yet folded */
    uint64_t wal_rows;       /* write-ahead rows not yet trimmed */
    uint64_t l0_chunks, chunks, rollup_rows;
    uint64_t replayed;       /* samples replayed from the WAL at open */
    uint64_t compactions;    /* windows merged */
    uint64_t retention_deleted; /* samples dropped by retention */
};
int store_stats(struct store *st, struct store_stats *out) __attribute__((warn_unused_result));

/* Cheap liveness check for /ready: 0 when the store answers. */
int store_ping(struct store *st) __attribute__((warn_unused_result));

#endif
