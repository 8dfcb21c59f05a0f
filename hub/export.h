/* CSV export of one series, produced in bounded slices: the header row, then one row per
 * point (timestamp, host_id, metric, unit, labels, value; see docs/api.md). Each time the
 * reader has taken every byte produced so far, the next slice of points comes from
 * store_query starting 1 ms after the last row, at most slice_points points and about
 * EXPORT_SLICE_BYTES of text, so memory stays bounded whatever the window; no store query
 * stays open between reads. An export borrows a read-only store handle and must be used on
 * the thread that owns that handle; one owner per export. */
#ifndef UPDRAFT_HUB_EXPORT_H
#define UPDRAFT_HUB_EXPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hub/store.h"

/* A slice stops once it has produced this much text (one row may go beyond it). */
#define EXPORT_SLICE_BYTES ((size_t)64 * 1024)
#define EXPORT_HEADER "timestamp,host_id,metric,unit,labels,value\r\n"

struct export;

/* What to export: the series (as store_series gave it), its host and the window
 * [from_ms, to_ms] (both inclusive). Strings are copied. */
struct export_query {
    const char *host;
    const struct store_series_info *series;
    int64_t from_ms, to_ms;
};

/* Starts an export and produces its first slice now, so that a failing store shows before
 * any byte is sent. reader is borrowed and must outlive the export. slice_points >= 1.
 * Returns 0 and *out, -ENOMEM, or -EIO (store_errmsg(reader) says why). */
int export_open(struct store *reader, const struct export_query *q, size_t slice_points,
                struct export **out) __attribute__((warn_unused_result));

/* Copies up to max (>= 1) bytes of CSV to buf. Returns the count (> 0), 0 once everything
 * was read, -EIO when the store failed (store_errmsg) or -ENOMEM. */
ssize_t export_read(struct export *ex, char *buf, size_t max) __attribute__((warn_unused_result));

/* Rows produced so far (the header not counted). */
uint64_t export_rows(const struct export *ex);

void export_close(struct export *ex); /* accepts NULL */

#endif
