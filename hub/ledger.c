/* Loss ledger (see ledger.h): notes, bounds, transactions and loading; the reports are in
 * ledger_report.c. A transaction keeps a deep copy of every host it changed, to revert to. */
#include "hub/ledger.h"
#include "hub/ledger_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ledger_options_default(struct ledger_options *o)
{
    *o = (struct ledger_options){.settle_ms = LEDGER_SETTLE_MS,
                                 .max_ranges = LEDGER_MAX_RANGES,
                                 .max_boots = LEDGER_MAX_BOOTS};
}

int ledger_new(const struct ledger_options *opts, struct ledger **out)
{
    struct ledger_options o;
    if (opts != NULL)
        o = *opts;
    else
        ledger_options_default(&o);
    if (o.settle_ms < 1 || o.max_ranges < 2 || o.max_boots < 1)
        return -EINVAL;
    struct ledger *l = calloc(1, sizeof *l);
    if (l == NULL)
        return -ENOMEM;
    l->opts = o;
    pthread_mutex_init(&l->lock, NULL);
    *out = l;
    return 0;
}

static void boots_free(struct ledger_boot_entry *boots, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(boots[i].ranges);
    free(boots);
}

static void host_free(struct ledger_host_entry *h)
{
    if (h == NULL)
        return;
    host_free(h->undo);
    boots_free(h->boots, h->n_boots);
    free(h);
}

void ledger_free(struct ledger *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n_hosts; i++)
        host_free(l->hosts[i]);
    free(l->hosts);
    free(l->pending);
    free(l->view);
    pthread_mutex_destroy(&l->lock);
    free(l);
}

/* Index of id, or -(insertion point) - 1. */
long ledger_find_locked(const struct ledger *l, const char *id)
{
    size_t lo = 0, hi = l->n_hosts;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(l->hosts[mid]->rec.host, id);
        if (cmp == 0)
            return (long)mid;
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(long)lo - 1;
}

static int grow(void **items, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : need;
    while (n < need)
        n *= 2;
    void *grown = realloc(*items, n * size);
    if (grown == NULL)
        return -ENOMEM;
    *items = grown;
    *cap = n;
    return 0;
}

/* A new host at insertion point pos (not yet pending). */
static struct ledger_host_entry *host_insert_locked(struct ledger *l, const char *id, size_t pos)
{
    /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
    if (grow((void **)&l->hosts, &l->cap, l->n_hosts + 1, sizeof l->hosts[0]) != 0)
        return NULL;
    struct ledger_host_entry *h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    snprintf(h->rec.host, sizeof h->rec.host, "%s", id);
    /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
    memmove(&l->hosts[pos + 1], &l->hosts[pos], (l->n_hosts - pos) * sizeof l->hosts[0]);
    l->hosts[pos] = h;
    l->n_hosts++;
    return h;
}

static struct ledger_host_entry *host_copy(const struct ledger_host_entry *h)
{
    struct ledger_host_entry *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->rec = h->rec;
    c->boots = calloc(h->n_boots ? h->n_boots : 1, sizeof *c->boots);
    if (c->boots == NULL) {
        free(c);
        return NULL;
    }
    c->cap = h->n_boots ? h->n_boots : 1;
    for (size_t i = 0; i < h->n_boots; i++) {
        const struct ledger_boot_entry *b = &h->boots[i];
        struct ledger_boot_entry *d = &c->boots[i];
        d->rec = b->rec;
        d->ranges = malloc((b->n_ranges ? b->n_ranges : 1) * sizeof *d->ranges);
        if (d->ranges == NULL) {
            c->n_boots = i;
            host_free(c);
            return NULL;
        }
        if (b->n_ranges > 0)
            memcpy(d->ranges, b->ranges, b->n_ranges * sizeof *d->ranges);
        d->n_ranges = b->n_ranges;
        d->cap = b->n_ranges ? b->n_ranges : 1;
    }
    c->n_boots = h->n_boots;
    return c;
}

/* The host, made pending (created, or copied for a rollback) before it is changed. */
static struct ledger_host_entry *host_for_change_locked(struct ledger *l, const char *id)
{
    /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
    if (grow((void **)&l->pending, &l->pending_cap, l->n_pending + 1, sizeof l->pending[0]) != 0)
        return NULL;
    long at = ledger_find_locked(l, id);
    struct ledger_host_entry *h = at >= 0 ? l->hosts[at] : NULL;
    if (h != NULL && h->pending)
        return h;
    if (h == NULL) {
        h = host_insert_locked(l, id, (size_t)(-at - 1));
        if (h == NULL)
            return NULL;
        h->created = true;
    } else {
        h->undo = host_copy(h);
        if (h->undo == NULL)
            return NULL;
    }
    h->pending = true;
    l->pending[l->n_pending++] = h;
    return h;
}

static struct ledger_boot_entry *boot_find(struct ledger_host_entry *h, const char *boot_id)
{
    for (size_t i = 0; i < h->n_boots; i++)
        if (strcmp(h->boots[i].rec.boot_id, boot_id) == 0)
            return &h->boots[i];
    return NULL;
}

static void range_remove(struct ledger_boot_entry *b, size_t j)
{
    memmove(&b->ranges[j], &b->ranges[j + 1], (b->n_ranges - j - 1) * sizeof b->ranges[0]);
    b->n_ranges--;
}

/* Gives up the gap between two ranges noticed first (the gap below the first range takes no
 * range): counted lost, and merged into the ranges around it, which frees one range. */
static void give_up_oldest_gap(struct ledger_host_entry *h, struct ledger_boot_entry *b)
{
    size_t oldest = b->n_ranges;
    for (size_t j = 1; j < b->n_ranges; j++)
        if (ledger_gap_below(b, j) &&
            (oldest == b->n_ranges || b->ranges[j].gap_since_ms < b->ranges[oldest].gap_since_ms))
            oldest = j;
    if (oldest == b->n_ranges)
        return;
    uint64_t size = ledger_gap_size(b, oldest);
    h->rec.lost_gaps++;
    h->rec.lost_packs += size;
    b->rec.assumed += size;
    b->ranges[oldest - 1].last = b->ranges[oldest].last;
    range_remove(b, oldest);
}

/* Index of the first range that ends at seq - 1 or later (n_ranges when none). */
static size_t range_search(const struct ledger_boot_entry *b, uint64_t seq)
{
    size_t lo = 0, hi = b->n_ranges;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->ranges[mid].last + 1 < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool boot_has(const struct ledger_boot_entry *b, uint64_t seq)
{
    size_t i = range_search(b, seq);
    return i < b->n_ranges && b->ranges[i].first <= seq && seq <= b->ranges[i].last;
}

/* Adds seq (not yet recorded) to the boot's ranges. */
static int boot_add_seq(struct ledger *l, struct ledger_host_entry *h, struct ledger_boot_entry *b,
                        uint64_t seq, int64_t now_ms)
{
    if (grow((void **)&b->ranges, &b->cap, b->n_ranges + 1, sizeof b->ranges[0]) != 0 ||
        b->ranges == NULL)
        return -ENOMEM;
    for (;;) {
        size_t i = range_search(b, seq);
        struct store_ledger_range *r = i < b->n_ranges ? &b->ranges[i] : NULL;
        if (r != NULL && r->last + 1 == seq) {
            r->last = seq;
            if (i + 1 < b->n_ranges && b->ranges[i + 1].first == seq + 1) {
                r->last = b->ranges[i + 1].last;
                range_remove(b, i + 1);
                h->rec.gaps_filled++;
            }
            return 0;
        }
        if (r != NULL && r->first == seq + 1) {
            r->first = seq;
            if (!ledger_gap_below(b, i)) { /* only when seq is 1: ranges are never adjacent */
                r->gap_since_ms = 0;
                h->rec.gaps_filled++;
            }
            return 0;
        }
        if (b->n_ranges >= l->opts.max_ranges) {
            give_up_oldest_gap(h, b);
            continue;
        }
        if (b->ranges == NULL)
            return -ENOMEM; /* never: grown above (for the analyzer) */
        bool gap = seq > (i > 0 ? b->ranges[i - 1].last : 0) + 1;
        int64_t since = !gap ? 0 : r != NULL ? r->gap_since_ms : now_ms;
        memmove(&b->ranges[i + 1], &b->ranges[i], (b->n_ranges - i) * sizeof b->ranges[0]);
        b->ranges[i] = (struct store_ledger_range){seq, seq, since};
        b->n_ranges++;
        return 0;
    }
}

static size_t newest_boot(const struct ledger_host_entry *h)
{
    size_t newest = 0;
    for (size_t i = 1; i < h->n_boots; i++)
        if (h->boots[i].rec.last_seen_ms > h->boots[newest].rec.last_seen_ms)
            newest = i;
    return newest;
}

/* Removes boot i; its gaps, if any, are counted lost, its drops kept in the host's count. */
static void boot_remove(struct ledger_host_entry *h, size_t i)
{
    struct ledger_boot_entry *b = &h->boots[i];
    for (size_t j = 0; j < b->n_ranges; j++) {
        if (ledger_gap_below(b, j)) {
            h->rec.lost_gaps++;
            h->rec.lost_packs += ledger_gap_size(b, j);
        }
    }
    h->rec.dropped_before += b->rec.dropped;
    free(b->ranges);
    b->ranges = NULL;
    memmove(&h->boots[i], &h->boots[i + 1], (h->n_boots - i - 1) * sizeof h->boots[0]);
    h->n_boots--;
}

/* Boots other than the newest with no gap, unseen for settle_ms, are forgotten. */
static void forget_idle_boots(struct ledger *l, struct ledger_host_entry *h, int64_t now_ms)
{
    size_t keep = newest_boot(h);
    for (size_t i = h->n_boots; i-- > 0;) {
        if (i != keep && ledger_boot_gaps(&h->boots[i]) == 0 &&
            now_ms - h->boots[i].rec.last_seen_ms >= l->opts.settle_ms) {
            boot_remove(h, i);
            if (keep > i)
                keep--;
        }
    }
}

static struct ledger_boot_entry *boot_get(struct ledger *l, struct ledger_host_entry *h,
                                          const char *boot_id, int64_t now_ms)
{
    struct ledger_boot_entry *b = boot_find(h, boot_id);
    if (b != NULL)
        return b;
    if (grow((void **)&h->boots, &h->cap, h->n_boots + 1, sizeof h->boots[0]) != 0)
        return NULL;
    forget_idle_boots(l, h, now_ms);
    while (h->n_boots >= l->opts.max_boots) {
        size_t oldest = 0;
        for (size_t i = 1; i < h->n_boots; i++)
            if (h->boots[i].rec.last_seen_ms < h->boots[oldest].rec.last_seen_ms)
                oldest = i;
        boot_remove(h, oldest);
    }
    b = &h->boots[h->n_boots++];
    memset(b, 0, sizeof *b);
    snprintf(b->rec.boot_id, sizeof b->rec.boot_id, "%s", boot_id);
    b->rec.last_seen_ms = now_ms;
    return b;
}

static bool id_valid(const char *id)
{
    size_t len = id != NULL ? strlen(id) : 0;
    return len >= 1 && len <= LEDGER_ID_MAX;
}

int ledger_note_pack(struct ledger *l, const char *host, const char *boot_id, uint64_t seq,
                     int64_t now_ms)
{
    if (seq == 0 || !id_valid(host) || !id_valid(boot_id))
        return -EINVAL;
    int rc = -ENOMEM;
    pthread_mutex_lock(&l->lock);
    long at = ledger_find_locked(l, host);
    struct ledger_boot_entry *known = at >= 0 ? boot_find(l->hosts[at], boot_id) : NULL;
    if (known != NULL && boot_has(known, seq)) {
        rc = 0; /* a resend */
        goto out;
    }
    struct ledger_host_entry *h = host_for_change_locked(l, host);
    struct ledger_boot_entry *b = h != NULL ? boot_get(l, h, boot_id, now_ms) : NULL;
    if (b == NULL)
        goto out;
    rc = boot_add_seq(l, h, b, seq, now_ms);
    if (rc == 0 && now_ms > b->rec.last_seen_ms)
        b->rec.last_seen_ms = now_ms;
out:
    pthread_mutex_unlock(&l->lock);
    return rc;
}

int ledger_note_dropped(struct ledger *l, const char *host, const char *boot_id, uint64_t dropped,
                        int64_t now_ms)
{
    if (!id_valid(host) || !id_valid(boot_id))
        return -EINVAL;
    int rc = -ENOMEM;
    pthread_mutex_lock(&l->lock);
    struct ledger_host_entry *h = host_for_change_locked(l, host);
    struct ledger_boot_entry *b = h != NULL ? boot_get(l, h, boot_id, now_ms) : NULL;
    if (b != NULL) {
        if (now_ms > b->rec.last_seen_ms)
            b->rec.last_seen_ms = now_ms;
        if (dropped > b->rec.dropped) { /* cumulative: a late smaller report changes nothing */
            b->rec.dropped = dropped;
            b->rec.dropped_changed_ms = now_ms;
            h->rec.dropped_changed_ms = now_ms;
        }
        rc = 0;
    }
    pthread_mutex_unlock(&l->lock);
    return rc;
}

int ledger_load(struct ledger *l, const struct store_ledger_host *rec)
{
    if (!id_valid(rec->host))
        return -EBADMSG;
    for (size_t i = 0; i < rec->n_boots; i++) {
        const struct store_ledger_boot *b = &rec->boots[i];
        for (size_t j = 0; j < b->n_ranges; j++) {
            const struct store_ledger_range *r = &b->ranges[j];
            if (r->first < 1 || r->last < r->first ||
                (j > 0 && r->first <= b->ranges[j - 1].last + 1))
                return -EBADMSG;
        }
    }
    struct ledger_host_entry *h = calloc(1, sizeof *h);
    if (h == NULL)
        return -ENOMEM;
    int rc = -ENOMEM;
    h->rec = *rec;
    h->rec.boots = NULL;
    h->rec.n_boots = 0;
    h->cap = rec->n_boots ? rec->n_boots : 1;
    h->boots = calloc(h->cap, sizeof *h->boots);
    if (h->boots == NULL)
        goto out;
    for (size_t i = 0; i < rec->n_boots; i++) {
        const struct store_ledger_boot *src = &rec->boots[i];
        struct ledger_boot_entry *b = &h->boots[i];
        b->rec = *src;
        b->rec.ranges = NULL;
        b->rec.n_ranges = 0;
        b->cap = src->n_ranges ? src->n_ranges : 1;
        b->ranges = malloc(b->cap * sizeof *b->ranges);
        if (b->ranges == NULL)
            goto out;
        if (src->n_ranges > 0)
            memcpy(b->ranges, src->ranges, src->n_ranges * sizeof *b->ranges);
        b->n_ranges = src->n_ranges;
        h->n_boots++;
    }
    pthread_mutex_lock(&l->lock);
    long at = ledger_find_locked(l, rec->host);
    if (at >= 0) {
        rc = -EEXIST;
    /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
    } else if (grow((void **)&l->hosts, &l->cap, l->n_hosts + 1, sizeof l->hosts[0]) == 0) {
        size_t pos = (size_t)(-at - 1);
        /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
        memmove(&l->hosts[pos + 1], &l->hosts[pos], (l->n_hosts - pos) * sizeof l->hosts[0]);
        l->hosts[pos] = h;
        l->n_hosts++;
        h = NULL;
        rc = 0;
    }
    pthread_mutex_unlock(&l->lock);
out:
    host_free(h);
    return rc;
}

/* Read by the writer, the only thread that changes hosts: no lock needed. */
int ledger_pending_foreach(struct ledger *l,
                           int (*fn)(void *user, const struct store_ledger_host *host), void *user)
{
    for (size_t i = 0; i < l->n_pending; i++) {
        const struct ledger_host_entry *h = l->pending[i];
        if (grow((void **)&l->view, &l->view_cap, h->n_boots, sizeof l->view[0]) != 0)
            return -ENOMEM;
        struct store_ledger_host rec = h->rec;
        for (size_t k = 0; k < h->n_boots; k++) {
            l->view[k] = h->boots[k].rec;
            l->view[k].ranges = h->boots[k].ranges;
            l->view[k].n_ranges = h->boots[k].n_ranges;
        }
        rec.boots = l->view;
        rec.n_boots = h->n_boots;
        int rc = fn(user, &rec);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void ledger_commit(struct ledger *l)
{
    pthread_mutex_lock(&l->lock);
    for (size_t i = 0; i < l->n_pending; i++) {
        struct ledger_host_entry *h = l->pending[i];
        host_free(h->undo);
        h->undo = NULL;
        h->created = false;
        h->pending = false;
    }
    l->n_pending = 0;
    pthread_mutex_unlock(&l->lock);
}

void ledger_rollback(struct ledger *l)
{
    pthread_mutex_lock(&l->lock);
    for (size_t i = 0; i < l->n_pending; i++) {
        struct ledger_host_entry *h = l->pending[i];
        long at = ledger_find_locked(l, h->rec.host);
        if (h->created) {
            memmove(&l->hosts[at], &l->hosts[at + 1],
                    /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
                    (l->n_hosts - (size_t)at - 1) * sizeof l->hosts[0]);
            l->n_hosts--;
            host_free(h);
        } else {
            l->hosts[at] = h->undo;
            h->undo = NULL;
            host_free(h);
        }
    }
    l->n_pending = 0;
    pthread_mutex_unlock(&l->lock);
}
