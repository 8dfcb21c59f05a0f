/* The store's in-memory series registry: every series (host, metric, unit, labels) by key and
 * by id, series counts per host (for the cardinality guard), and each series' head — the
 * newest samples not yet folded into a chunk, sorted by timestamp, one per timestamp.
 * Pure: no I/O, no clock, no logging. Not thread-safe by itself: the store guards it with
 * the rwlock kept here (the writer thread writes under wrlock, readers copy under rdlock). */
#ifndef UPDRAFT_HUB_SERIES_H
#define UPDRAFT_HUB_SERIES_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SERIES_KEY_SEP '\x1f' /* key = host SEP metric SEP unit SEP labels */
#define SERIES_NONE_MS INT64_MIN

struct series_sample {
    int64_t ts_ms;
    double value;
};

struct series {
    int64_t id;
    uint32_t host_slot;   /* index into the registry's host table */
    uint8_t kind;         /* enum store_kind of the first numeric (or, until one, text) sample */
    bool touched;         /* on the store's list of series appended to in this transaction */
    bool folding;         /* head folded in this transaction, cleared once it commits */
    uint32_t n, cap;      /* head samples / capacity */
    struct series_sample *head;
    int64_t head_min_wal, head_max_wal; /* WAL rows the head's samples came from */
    int64_t head_since_ms;              /* wall clock when the head got its first sample */
    int64_t max_ts_ms;      /* newest sample timestamp seen, SERIES_NONE_MS when none */
    int64_t flushed_max_ms; /* newest timestamp in a written chunk, SERIES_NONE_MS when none */
    int64_t folded_wal;     /* every WAL sample of this series up to this row is in a chunk */
    int64_t l0_min_ms;      /* earliest start of its unmerged (level-0) chunks, INT64_MAX none */
    char key[];             /* host SEP metric SEP unit SEP labels */
};

struct series_registry {
    pthread_rwlock_t lock;   /* see the file comment */
    struct series **slots;   /* open addressing by key hash, power-of-two size */
    size_t n_slots, count;
    struct series **by_id;   /* index id -> series (NULL where none) */
    size_t n_by_id;
    struct series_host *hosts; /* open addressing by host name */
    size_t n_hosts_slots, n_hosts;
    uint64_t head_samples;   /* samples in all heads */
};

struct series_host {
    char *name;     /* NULL: free slot */
    uint64_t series;
};

int series_registry_init(struct series_registry *reg) __attribute__((warn_unused_result));
void series_registry_deinit(struct series_registry *reg);

/* Builds the key of (host, metric, unit, labels) into out. -ENAMETOOLONG when it does not fit. */
int series_key(char *out, size_t out_size, const char *host, const char *metric,
               const char *unit, const char *labels) __attribute__((warn_unused_result));

struct series *series_find(const struct series_registry *reg, const char *key);
struct series *series_by_id(const struct series_registry *reg, int64_t id);

/* Series of host (the part of key before the first SEP) registered so far. */
uint64_t series_host_count(const struct series_registry *reg, const char *host, size_t host_len);

/* Registers a new series (id > 0, key not present). Returns 0 and *out, or -ENOMEM. */
int series_add(struct series_registry *reg, int64_t id, const char *key, uint8_t kind,
               struct series **out) __attribute__((warn_unused_result));

/* Index of the head sample at ts_ms, or -1. */
long series_head_find(const struct series *s, int64_t ts_ms);

/* Puts a sample into the head in timestamp order, replacing one at the same timestamp.
 * wal_id and now_ms are bookkeeping for the fold. Returns 0 or -ENOMEM (head unchanged). */
int series_head_put(struct series_registry *reg, struct series *s, int64_t ts_ms, double value,
                    int64_t wal_id, int64_t now_ms) __attribute__((warn_unused_result));

/* Empties the head and frees its memory. */
void series_head_clear(struct series_registry *reg, struct series *s);

/* Copies head samples in [from_ms, to_ms] into out (up to max). Returns how many. */
size_t series_head_copy(const struct series *s, int64_t from_ms, int64_t to_ms,
                        struct series_sample *out, size_t max);

#endif
