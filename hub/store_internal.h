/* Internals shared by the store's files: store.c (connection, schema, statements,
 * transactions, hosts, stats), store_append.c (the write path and the head fold),
 * store_fold.c (replay, window merges with rollups, retention, WAL trim), store_read.c
 * (queries) and store_ledger.c (the loss ledger's rows). Not part of the store's interface. */
#ifndef UPDRAFT_HUB_STORE_INTERNAL_H
#define UPDRAFT_HUB_STORE_INTERNAL_H

#include <sqlite3.h>
#include <stdatomic.h>

#include "hub/chunk.h"
#include "hub/series.h"
#include "hub/store.h"
#include "hub/wal.h"

/* Keys of final chunks and rollup rows, window-major so that each merge appends to the end of
 * the b-tree (full pages) and retention deletes a prefix: window index (window start /
 * STORE_WINDOW_MS) in the high bits, then the series id, then the part within the window. */
#define STORE_KEY_PART_BITS 12
#define STORE_KEY_SERIES_BITS 27
#define STORE_KEY_PART_MAX ((INT64_C(1) << STORE_KEY_PART_BITS) - 1)
#define STORE_MAX_SERIES_ID ((INT64_C(1) << STORE_KEY_SERIES_BITS) - 1)

#define STORE_SLICE_ROWS 20000 /* rows one retention statement deletes at most */

static inline int64_t store_key(int64_t window_ms, int64_t series_id, int64_t part)
{
    return (int64_t)(((uint64_t)(window_ms / STORE_WINDOW_MS)
                      << (STORE_KEY_SERIES_BITS + STORE_KEY_PART_BITS)) |
                     ((uint64_t)series_id << STORE_KEY_PART_BITS) | (uint64_t)part);
}

static inline int64_t store_key_window_ms(int64_t key)
{
    return (key >> (STORE_KEY_SERIES_BITS + STORE_KEY_PART_BITS)) * STORE_WINDOW_MS;
}

static inline int64_t store_window_of(int64_t ts_ms)
{
    int64_t r = ts_ms % STORE_WINDOW_MS;
    return r < 0 ? ts_ms - r - STORE_WINDOW_MS : ts_ms - r;
}

enum store_stmt {
    STMT_INSERT_WAL,
    STMT_TRIM_WAL,
    STMT_INSERT_SERIES,
    STMT_UPDATE_SERIES_FOLD,
    STMT_UPDATE_SERIES_KIND,
    STMT_ADD_COUNT,
    STMT_INSERT_L0,
    STMT_L0_OVERLAP,   /* series, to, from: rows that may hold samples in [from, to] */
    STMT_L0_MIN,
    STMT_DELETE_L0_WINDOW, /* series, window start, window end */
    STMT_CHUNKS_RANGE, /* key range */
    STMT_CHUNKS_SPAN,  /* min and max key */
    STMT_ROLLUP_SPAN_1M,
    STMT_ROLLUP_SPAN_5M,
    STMT_ROLLUP_SPAN_1H,
    STMT_CHUNKS_OLD_COUNT,  /* key: samples in the next slice below it */
    STMT_CHUNKS_OLD_DELETE, /* key: the next slice below it */
    STMT_DELETE_CHUNKS,
    STMT_INSERT_CHUNK,
    STMT_ROLLUP_RANGE_1M,
    STMT_ROLLUP_RANGE_5M,
    STMT_ROLLUP_RANGE_1H,
    STMT_PUT_ROLLUP_1M,
    STMT_PUT_ROLLUP_5M,
    STMT_PUT_ROLLUP_1H,
    STMT_ROLLUP_OLD_DELETE_1M,
    STMT_ROLLUP_OLD_DELETE_5M,
    STMT_ROLLUP_OLD_DELETE_1H,
    STMT_TEXT_INSERT,
    STMT_TEXT_SELECT,
    STMT_TEXT_UPDATE,
    STMT_TEXT_RANGE,
    STMT_TEXT_DELETE_OLD,
    STMT_SAVE_HOST,
    STMT_LEDGER_PUT_HOST,
    STMT_LEDGER_DELETE_BOOTS,  /* host */
    STMT_LEDGER_DELETE_RANGES, /* host */
    STMT_LEDGER_INSERT_BOOT,
    STMT_LEDGER_INSERT_RANGE,
    STMT_COUNT
};

/* What the writer and its readers share: the registry with the heads, and counters. */
struct store_shared {
    struct series_registry reg;
    atomic_uint_fast64_t wal_rows, l0_chunks, chunks, rollup_rows;
    atomic_uint_fast64_t replayed, compactions, retention_deleted;
};

/* A growable list of series pointers. */
struct store_list {
    struct series **items;
    size_t n, cap;
};

struct store {
    sqlite3 *db;
    char *path;
    bool is_writer;
    struct store_options opts;
    struct store_shared *shared; /* owned by the writer handle */
    char errmsg[256];
    sqlite3_stmt *stmt[STMT_COUNT];
    /* writer only */
    bool in_txn;
    int64_t next_wal_id, next_series_id;
    int64_t txn_added;            /* samples added in this transaction */
    struct wal_buf wal;
    struct store_list touched;    /* series appended to in this transaction */
    struct store_list flushed;    /* heads folded in this transaction: cleared after commit */
    struct store_list created;    /* series created in this transaction */
    struct store_list unsaved;    /* created in a transaction that was rolled back */
    struct chunk_encoder *enc;
    size_t merge_cursor, retention_cursor;
    int64_t retention_due_ms;
    /* scratch of reads (samples of a window, merges) */
    struct store_read_buf {
        struct store_merge_item *items;
        size_t n, cap;
    } scratch;
};

/* One sample in a merge: the higher rank wins among equal timestamps (final chunks 0,
 * level-0 chunks by age, the head last). */
struct store_merge_item {
    int64_t ts_ms;
    double value;
    int64_t rank;
};

/* store.c */
int store_fail(struct store *st, const char *what);
int store_list_push(struct store_list *l, struct series *s) __attribute__((warn_unused_result));
int store_exec(struct store *st, const char *sql) __attribute__((warn_unused_result));

/* store_append.c */
/* Folds the heads of the listed series into level-0 chunks (inside a transaction). */
int store_fold_heads(struct store *st, struct series **list, size_t n)
    __attribute__((warn_unused_result));
/* Applies one numeric sample to the series (classifying it). replay: from the WAL at open
 * (no WAL write, no count). Adds to *res; *changed tells whether the head took it. */
int store_apply_numeric(struct store *st, struct series *s, int64_t ts_ms, uint8_t kind,
                        double value, int64_t wal_id, int64_t now_ms, bool replay,
                        struct store_append_result *res, bool *changed)
    __attribute__((warn_unused_result));

/* store_fold.c */
int store_replay(struct store *st, int64_t now_ms) __attribute__((warn_unused_result));
/* Merges window_ms of series s (level-0 and final chunks) into final chunks and rollups. */
int store_merge_window(struct store *st, struct series *s, int64_t window_ms)
    __attribute__((warn_unused_result));
int store_trim_wal(struct store *st) __attribute__((warn_unused_result));

/* store_read.c */
/* Collects the samples of series s in [from_ms, to_ms] from final chunks (with_final),
 * level-0 chunks and (with_head) the head into st->scratch, sorted, one per timestamp
 * (the newest version). Returns 0, -EIO, -ENOMEM. */
int store_collect(struct store *st, int64_t series_id, int64_t from_ms, int64_t to_ms,
                  bool with_final, bool with_head) __attribute__((warn_unused_result));
int store_scratch_push(struct store *st, int64_t ts_ms, double value, int64_t rank)
    __attribute__((warn_unused_result));
/* Sorts st->scratch by (timestamp, rank) and keeps the last of each timestamp. */
void store_scratch_settle(struct store *st);
/* Adds the samples of one chunk blob within [from_ms, to_ms] to the scratch. */
int store_scratch_add_chunk(struct store *st, const void *blob, int len, int64_t from_ms,
                            int64_t to_ms, int64_t rank) __attribute__((warn_unused_result));

#endif
