/* CSV export in slices (see export.h). The pending buffer holds the text of the current
 * slice; once it is read out, the next slice is fetched from the cursor (last row + 1 ms). */
#include "hub/export.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "hub/csv.h"

/* A buffer grown past this by one huge text value is given back before the next slice. */
#define EXPORT_KEEP_BYTES (4 * EXPORT_SLICE_BYTES)

struct export {
    struct store *reader;
    int64_t series_id;
    char host[65], metric[257], unit[65], labels[513];
    int64_t cursor_ms, to_ms; /* the next slice starts at cursor_ms */
    size_t slice_points;
    bool done;                /* no point is left after the cursor */
    char *pending;            /* text not yet read: [pending_pos, pending_len) */
    size_t pending_pos, pending_len, pending_cap;
    /* The slice being fetched. */
    size_t slice_rows;
    int64_t last_ts_ms;
    bool slice_full;          /* stopped by us at EXPORT_SLICE_BYTES */
    int row_error;            /* -ENOMEM from a row */
    uint64_t rows;
};

static int reserve(struct export *ex, size_t more)
{
    size_t need = ex->pending_len + more;
    if (need <= ex->pending_cap)
        return 0;
    size_t cap = ex->pending_cap ? ex->pending_cap : EXPORT_SLICE_BYTES + 4096;
    while (cap < need)
        cap *= 2;
    char *grown = realloc(ex->pending, cap);
    if (grown == NULL)
        return -ENOMEM;
    ex->pending = grown;
    ex->pending_cap = cap;
    return 0;
}

static int append_row(struct export *ex, const struct csv_field *fields, size_t n)
{
    size_t size = csv_row_size(fields, n);
    int rc = reserve(ex, size);
    if (rc == 0)
        ex->pending_len += csv_row_write(ex->pending + ex->pending_len, fields, n);
    return rc;
}

static struct csv_field text_field(const char *text)
{
    return (struct csv_field){.text = text, .len = text != NULL ? strlen(text) : 0};
}

/* store_query callback: one row; stops the slice (non-zero) once it holds enough text. */
static int on_point(void *user, const struct store_point *p)
{
    struct export *ex = user;
    char ts[40], number[CSV_NUMBER_MAX];
    struct csv_field value = {0};
    switch (p->kind) {
    case STORE_KIND_BOOL:
        value = text_field(p->value != 0.0 ? "true" : "false");
        break;
    case STORE_KIND_STRING:
    case STORE_KIND_DATA:
        value = text_field(p->text);
        break;
    case STORE_KIND_NUMBER:
    case STORE_KIND_SUM:
        value = text_field(csv_number_format(p->value, number, sizeof number));
        break;
    }
    const struct csv_field fields[] = {
        text_field(clock_format_rfc3339_ms(p->ts_ms, ts, sizeof ts)),
        text_field(ex->host),
        text_field(ex->metric),
        text_field(ex->unit),
        text_field(ex->labels),
        value,
    };
    ex->row_error = append_row(ex, fields, sizeof fields / sizeof fields[0]);
    if (ex->row_error != 0)
        return ex->row_error;
    ex->rows++;
    ex->slice_rows++;
    ex->last_ts_ms = p->ts_ms;
    if (ex->pending_len - ex->pending_pos >= EXPORT_SLICE_BYTES) {
        ex->slice_full = true;
        return 1;
    }
    return 0;
}

/* Appends the next slice to the pending text; sets done when the window is exhausted. */
static int fetch_slice(struct export *ex)
{
    if (ex->pending_pos == ex->pending_len) {
        ex->pending_pos = ex->pending_len = 0;
        if (ex->pending_cap > EXPORT_KEEP_BYTES) {
            free(ex->pending);
            ex->pending = NULL;
            ex->pending_cap = 0;
        }
    }
    if (ex->cursor_ms > ex->to_ms) {
        ex->done = true;
        return 0;
    }
    ex->slice_rows = 0;
    ex->slice_full = false;
    ex->row_error = 0;
    bool truncated = false;
    int rc = store_query(ex->reader, ex->series_id, ex->cursor_ms, ex->to_ms, ex->slice_points,
                         on_point, ex, &truncated);
    if (ex->row_error != 0)
        return ex->row_error;
    /* When we stopped the query, rc is our 1 (or whatever the store makes of it). */
    if (rc != 0 && !ex->slice_full)
        return -EIO;
    if (ex->slice_rows == 0) {
        ex->done = true;
        return 0;
    }
    /* Identity is (series, ts): nothing else can share the last row's millisecond. A slice
     * that was cut (by us, the store, or at slice_points) may have more behind it. */
    if (ex->last_ts_ms == INT64_MAX ||
        (!ex->slice_full && !truncated && ex->slice_rows < ex->slice_points))
        ex->done = true;
    else
        ex->cursor_ms = ex->last_ts_ms + 1;
    return 0;
}

int export_open(struct store *reader, const struct export_query *q, size_t slice_points,
                struct export **out)
{
    struct export *ex = calloc(1, sizeof *ex);
    if (ex == NULL)
        return -ENOMEM;
    ex->reader = reader;
    ex->series_id = q->series->id;
    snprintf(ex->host, sizeof ex->host, "%s", q->host);
    snprintf(ex->metric, sizeof ex->metric, "%s", q->series->metric);
    snprintf(ex->unit, sizeof ex->unit, "%s", q->series->unit);
    snprintf(ex->labels, sizeof ex->labels, "%s", q->series->labels);
    ex->cursor_ms = q->from_ms;
    ex->to_ms = q->to_ms;
    ex->slice_points = slice_points > 0 ? slice_points : 1;
    static const struct csv_field header[] = {
        {"timestamp", 9}, {"host_id", 7}, {"metric", 6}, {"unit", 4}, {"labels", 6}, {"value", 5},
    }; /* EXPORT_HEADER */
    int rc = append_row(ex, header, sizeof header / sizeof header[0]);
    if (rc == 0)
        rc = fetch_slice(ex);
    if (rc != 0) {
        export_close(ex);
        return rc;
    }
    *out = ex;
    return 0;
}

ssize_t export_read(struct export *ex, char *buf, size_t max)
{
    while (ex->pending_pos == ex->pending_len) {
        if (ex->done)
            return 0;
        int rc = fetch_slice(ex);
        if (rc != 0)
            return rc;
    }
    size_t n = ex->pending_len - ex->pending_pos;
    if (n > max)
        n = max;
    memcpy(buf, ex->pending + ex->pending_pos, n);
    ex->pending_pos += n;
    return (ssize_t)n;
}

uint64_t export_rows(const struct export *ex)
{
    return ex->rows;
}

void export_close(struct export *ex)
{
    if (ex == NULL)
        return;
    free(ex->pending);
    free(ex);
}
