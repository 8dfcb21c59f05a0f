/* Step-aligned aggregation (see query.h). */
#include "hub/query.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const agg_names[] = {
    [QUERY_AGG_AVG] = "avg",     [QUERY_AGG_MIN] = "min",   [QUERY_AGG_MAX] = "max",
    [QUERY_AGG_SUM] = "sum",     [QUERY_AGG_COUNT] = "count", [QUERY_AGG_LAST] = "last",
    [QUERY_AGG_P95] = "p95",
};

int query_agg_parse(const char *text, enum query_agg_kind *out)
{
    for (size_t i = 0; i < sizeof agg_names / sizeof agg_names[0]; i++) {
        if (strcmp(text, agg_names[i]) == 0) {
            *out = (enum query_agg_kind)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *query_agg_name(enum query_agg_kind kind)
{
    return agg_names[kind];
}

int64_t query_bucket_start(int64_t ts_ms, int64_t step_ms)
{
    int64_t r = ts_ms % step_ms;
    return r < 0 ? ts_ms - r - step_ms : ts_ms - r;
}

void query_agg_init(struct query_agg *q, enum query_agg_kind kind, int64_t step_ms,
                    query_emit_fn emit, void *user)
{
    memset(q, 0, sizeof *q);
    q->kind = kind;
    q->step_ms = step_ms;
    q->emit = emit;
    q->user = user;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double bucket_value(struct query_agg *q)
{
    switch (q->kind) {
    case QUERY_AGG_AVG:
        return q->sum / (double)q->count;
    case QUERY_AGG_MIN:
        return q->min;
    case QUERY_AGG_MAX:
        return q->max;
    case QUERY_AGG_SUM:
        return q->sum;
    case QUERY_AGG_COUNT:
        return (double)q->count;
    case QUERY_AGG_LAST:
        return q->last;
    case QUERY_AGG_P95:
        break;
    }
    /* Nearest rank: the smallest value with at least 95 % of the values at or below it. */
    qsort(q->values, q->n_values, sizeof q->values[0], compare_double);
    size_t rank = (size_t)ceil(0.95 * (double)q->n_values);
    return q->values[rank > 0 ? rank - 1 : 0];
}

static int close_bucket(struct query_agg *q)
{
    if (!q->open)
        return 0;
    int rc = q->emit(q->user, q->bucket_ms, bucket_value(q));
    q->open = false;
    q->count = 0;
    q->n_values = 0;
    return rc;
}

/* Moves to the bucket of ts_ms (emitting the previous one) and folds in a partial aggregate. */
static int fold(struct query_agg *q, int64_t ts_ms, double min, double max, double sum,
                uint64_t count, double last)
{
    int64_t bucket = query_bucket_start(ts_ms, q->step_ms);
    if (q->open && bucket != q->bucket_ms) {
        int rc = close_bucket(q);
        if (rc != 0)
            return rc;
    }
    if (!q->open) {
        q->open = true;
        q->bucket_ms = bucket;
        q->sum = 0;
        q->min = min;
        q->max = max;
    }
    q->sum += sum;
    q->min = min < q->min ? min : q->min;
    q->max = max > q->max ? max : q->max;
    q->last = last;
    q->count += count;
    return 0;
}

int query_agg_add(struct query_agg *q, int64_t ts_ms, double value)
{
    int rc = fold(q, ts_ms, value, value, value, 1, value);
    if (rc != 0 || q->kind != QUERY_AGG_P95)
        return rc;
    if (q->n_values == q->cap_values) {
        size_t cap = q->cap_values ? q->cap_values * 2 : 64;
        double *grown = realloc(q->values, cap * sizeof *grown);
        if (grown == NULL)
            return -ENOMEM;
        q->values = grown;
        q->cap_values = cap;
    }
    q->values[q->n_values++] = value;
    return 0;
}

int query_agg_add_bucket(struct query_agg *q, int64_t ts_ms, double min, double max, double sum,
                         uint64_t count, double last)
{
    return count == 0 ? 0 : fold(q, ts_ms, min, max, sum, count, last);
}

int query_agg_finish(struct query_agg *q)
{
    return close_bucket(q);
}

void query_agg_deinit(struct query_agg *q)
{
    free(q->values);
    q->values = NULL;
    q->cap_values = q->n_values = 0;
}
