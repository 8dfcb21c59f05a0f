/* Query aggregation: turns a time-ordered stream of points into one value per step-aligned
 * bucket (bucket start = floor(ts / step) * step, so the same step always gives the same
 * bucket edges). Aggregates: avg, min, max, sum, count, last, p95 (nearest rank).
 * Pure: no I/O, no clock; one owner per struct. */
#ifndef UPDRAFT_HUB_QUERY_H
#define UPDRAFT_HUB_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum query_agg_kind {
    QUERY_AGG_AVG,
    QUERY_AGG_MIN,
    QUERY_AGG_MAX,
    QUERY_AGG_SUM,
    QUERY_AGG_COUNT,
    QUERY_AGG_LAST,
    QUERY_AGG_P95,
};

/* "avg", "min", ... -> 0 and *out, else -EINVAL. */
int query_agg_parse(const char *text, enum query_agg_kind *out) __attribute__((warn_unused_result));
const char *query_agg_name(enum query_agg_kind kind);

/* Receives each finished bucket: its start and aggregated value. Returns 0 to go on. */
typedef int (*query_emit_fn)(void *user, int64_t bucket_start_ms, double value);

struct query_agg {
    enum query_agg_kind kind;
    int64_t step_ms;
    bool open;             /* a bucket has points */
    int64_t bucket_ms;
    double sum, min, max, last;
    uint64_t count;
    double *values;        /* p95 only: this bucket's values */
    size_t n_values, cap_values;
    query_emit_fn emit;
    void *user;
};

void query_agg_init(struct query_agg *q, enum query_agg_kind kind, int64_t step_ms,
                    query_emit_fn emit, void *user);
/* Adds a point (ts not before the previous one). Returns 0, the emit callback's non-zero
 * result, or -ENOMEM. */
int query_agg_add(struct query_agg *q, int64_t ts_ms, double value) __attribute__((warn_unused_result));
/* Adds a pre-aggregated bucket (a rollup) starting at ts_ms that lies within one step
 * bucket: its min, max, sum, count and last. Not for p95. Same results as query_agg_add. */
int query_agg_add_bucket(struct query_agg *q, int64_t ts_ms, double min, double max, double sum,
                         uint64_t count, double last) __attribute__((warn_unused_result));
/* Emits the last open bucket. Returns 0 or the callback's result. */
int query_agg_finish(struct query_agg *q) __attribute__((warn_unused_result));
void query_agg_deinit(struct query_agg *q);

/* Floor of ts to a multiple of step (correct for negative ts too). */
int64_t query_bucket_start(int64_t ts_ms, int64_t step_ms);

#endif
