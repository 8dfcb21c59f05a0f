/* The loss ledger's rows (see store.h): ledger_hosts (counters), ledger_boots and seq_ranges.
 * A save replaces a host's rows; a load walks the three tables once each, in key order. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub/store.h"
#include "hub/store_internal.h"

static int step_done(struct store *st, sqlite3_stmt *q, const char *what)
{
    int step = sqlite3_step(q);
    sqlite3_reset(q);
    return step == SQLITE_DONE ? 0 : store_fail(st, what);
}

static int delete_host_rows(struct store *st, enum store_stmt which, const char *host)
{
    sqlite3_stmt *q = st->stmt[which];
    sqlite3_bind_text(q, 1, host, -1, SQLITE_STATIC);
    return step_done(st, q, "ledger: delete");
}

static int insert_boot(struct store *st, const char *host, const struct store_ledger_boot *b)
{
    sqlite3_stmt *q = st->stmt[STMT_LEDGER_INSERT_BOOT];
    sqlite3_bind_text(q, 1, host, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, b->boot_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, b->last_seen_ms);
    sqlite3_bind_int64(q, 4, (int64_t)b->assumed);
    sqlite3_bind_int64(q, 5, (int64_t)b->dropped);
    sqlite3_bind_int64(q, 6, b->dropped_changed_ms);
    int rc = step_done(st, q, "ledger: insert boot");
    q = st->stmt[STMT_LEDGER_INSERT_RANGE];
    for (size_t j = 0; rc == 0 && j < b->n_ranges; j++) {
        const struct store_ledger_range *r = &b->ranges[j];
        sqlite3_bind_text(q, 1, host, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, b->boot_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 3, (int64_t)r->first);
        sqlite3_bind_int64(q, 4, (int64_t)r->last);
        sqlite3_bind_int64(q, 5, r->gap_since_ms);
        rc = step_done(st, q, "ledger: insert range");
    }
    return rc;
}

int store_ledger_save(struct store *st, const struct store_ledger_host *h)
{
    sqlite3_stmt *q = st->stmt[STMT_LEDGER_PUT_HOST];
    sqlite3_bind_text(q, 1, h->host, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (int64_t)h->gaps_filled);
    sqlite3_bind_int64(q, 3, (int64_t)h->lost_gaps);
    sqlite3_bind_int64(q, 4, (int64_t)h->lost_packs);
    sqlite3_bind_int64(q, 5, (int64_t)h->dropped_before);
    sqlite3_bind_int64(q, 6, h->dropped_changed_ms);
    int rc = step_done(st, q, "ledger: save host");
    if (rc == 0)
        rc = delete_host_rows(st, STMT_LEDGER_DELETE_RANGES, h->host);
    if (rc == 0)
        rc = delete_host_rows(st, STMT_LEDGER_DELETE_BOOTS, h->host);
    for (size_t i = 0; rc == 0 && i < h->n_boots; i++)
        rc = insert_boot(st, h->host, &h->boots[i]);
    return rc;
}

/* One of the three ordered scans of a load, and whether it stands on a row. */
struct cursor {
    sqlite3_stmt *q;
    bool row;
    int error; /* a step that was neither a row nor the end */
};

static void cursor_next(struct cursor *c)
{
    int step = sqlite3_step(c->q);
    c->row = step == SQLITE_ROW;
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        c->error = step;
}

static const char *text(sqlite3_stmt *q, int col)
{
    const unsigned char *t = sqlite3_column_text(q, col);
    return t != NULL ? (const char *)t : "";
}

/* Order of the cursor's (host, boot) against (host, boot_id): <0, 0, >0 (boot_id NULL:
 * hosts only). SQLite's BINARY collation orders as strcmp does on text without NULs. */
static int cursor_cmp(const struct cursor *c, const char *host, const char *boot_id)
{
    int cmp = strcmp(text(c->q, 0), host);
    if (cmp != 0 || boot_id == NULL)
        return cmp;
    return strcmp(text(c->q, 1), boot_id);
}

struct load_buf {
    struct store_ledger_boot *boots;
    size_t n_boots, boots_cap;
    struct store_ledger_range *ranges;
    size_t n_ranges, ranges_cap;
    size_t *first_range; /* per boot: its first index in ranges */
    size_t first_cap;
};

static int push(void **items, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t grown_cap = *cap ? *cap * 2 : 16;
    void *grown = realloc(*items, grown_cap * size);
    if (grown == NULL)
        return -ENOMEM;
    *items = grown;
    *cap = grown_cap;
    return 0;
}

/* Collects the boots of host (and their ranges) from the boots and ranges cursors. */
static int collect_host(struct cursor *boots, struct cursor *ranges, const char *host,
                        struct load_buf *buf)
{
    buf->n_boots = buf->n_ranges = 0;
    while (boots->row && cursor_cmp(boots, host, NULL) < 0)
        cursor_next(boots); /* a boot without its host row: skipped */
    while (boots->row && cursor_cmp(boots, host, NULL) == 0) {
        if (push((void **)&buf->boots, &buf->boots_cap, buf->n_boots, sizeof buf->boots[0]) != 0 ||
            push((void **)&buf->first_range, &buf->first_cap, buf->n_boots,
                 sizeof buf->first_range[0]) != 0)
            return -ENOMEM;
        struct store_ledger_boot *b = &buf->boots[buf->n_boots];
        memset(b, 0, sizeof *b);
        snprintf(b->boot_id, sizeof b->boot_id, "%s", text(boots->q, 1));
        b->last_seen_ms = sqlite3_column_int64(boots->q, 2);
        b->assumed = (uint64_t)sqlite3_column_int64(boots->q, 3);
        b->dropped = (uint64_t)sqlite3_column_int64(boots->q, 4);
        b->dropped_changed_ms = sqlite3_column_int64(boots->q, 5);
        buf->first_range[buf->n_boots] = buf->n_ranges;
        const char *boot_id = text(boots->q, 1);
        while (ranges->row && cursor_cmp(ranges, host, boot_id) < 0)
            cursor_next(ranges);
        for (; ranges->row && cursor_cmp(ranges, host, boot_id) == 0; cursor_next(ranges)) {
            if (push((void **)&buf->ranges, &buf->ranges_cap, buf->n_ranges,
                     sizeof buf->ranges[0]) != 0)
                return -ENOMEM;
            buf->ranges[buf->n_ranges++] = (struct store_ledger_range){
                (uint64_t)sqlite3_column_int64(ranges->q, 2),
                (uint64_t)sqlite3_column_int64(ranges->q, 3), sqlite3_column_int64(ranges->q, 4)};
        }
        b->n_ranges = buf->n_ranges - buf->first_range[buf->n_boots];
        buf->n_boots++;
        cursor_next(boots);
    }
    for (size_t i = 0; i < buf->n_boots; i++)
        buf->boots[i].ranges = buf->ranges + buf->first_range[i];
    return 0;
}

int store_ledger_load(struct store *st, int (*fn)(void *user, const struct store_ledger_host *h),
                      void *user)
{
    static const char *const sql[3] = {
        "SELECT host, gaps_filled, lost_gaps, lost_packs, dropped_before, dropped_changed_ms"
        " FROM ledger_hosts ORDER BY host",
        "SELECT host, boot_id, last_seen_ms, assumed, dropped, dropped_changed_ms"
        " FROM ledger_boots ORDER BY host, boot_id",
        "SELECT host, boot_id, first, last, gap_since_ms FROM seq_ranges"
        " ORDER BY host, boot_id, first",
    };
    struct cursor c[3] = {0};
    struct load_buf buf = {0};
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++) {
        if (sqlite3_prepare_v2(st->db, sql[i], -1, &c[i].q, NULL) != SQLITE_OK)
            rc = store_fail(st, "ledger: load");
        else
            cursor_next(&c[i]);
    }
    for (; rc == 0 && c[0].row; cursor_next(&c[0])) {
        struct store_ledger_host h = {0};
        snprintf(h.host, sizeof h.host, "%s", text(c[0].q, 0));
        h.gaps_filled = (uint64_t)sqlite3_column_int64(c[0].q, 1);
        h.lost_gaps = (uint64_t)sqlite3_column_int64(c[0].q, 2);
        h.lost_packs = (uint64_t)sqlite3_column_int64(c[0].q, 3);
        h.dropped_before = (uint64_t)sqlite3_column_int64(c[0].q, 4);
        h.dropped_changed_ms = sqlite3_column_int64(c[0].q, 5);
        rc = collect_host(&c[1], &c[2], text(c[0].q, 0), &buf);
        if (rc == 0) {
            h.boots = buf.boots;
            h.n_boots = buf.n_boots;
            rc = fn(user, &h);
        }
    }
    for (int i = 0; i < 3; i++)
        if (rc == 0 && c[i].error != 0)
            rc = store_fail(st, "ledger: load");
    for (int i = 0; i < 3; i++)
        sqlite3_finalize(c[i].q);
    free(buf.boots);
    free(buf.ranges);
    free(buf.first_range);
    return rc;
}
