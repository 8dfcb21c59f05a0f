/* Loss ledger reports (see ledger.h): copies made under the ledger's lock, gaps judged open
 * or lost against now_ms. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub/ledger.h"
#include "hub/ledger_internal.h"

/* Adds the gaps of boot b at now_ms to *t; fills out (may be NULL) with them. */
static size_t boot_report_gaps(const struct ledger *l, const struct ledger_boot_entry *b,
                               int64_t now_ms, struct ledger_gap *out, struct ledger_totals *t)
{
    size_t n = 0;
    for (size_t j = 0; j < b->n_ranges; j++) {
        if (!ledger_gap_below(b, j))
            continue;
        struct ledger_gap g = {.first = ledger_prev_end(b, j) + 1,
                               .last = b->ranges[j].first - 1,
                               .since_ms = b->ranges[j].gap_since_ms};
        g.age_ms = now_ms > g.since_ms ? now_ms - g.since_ms : 0;
        g.lost = g.age_ms >= l->opts.settle_ms;
        uint64_t size = g.last - g.first + 1;
        if (g.lost) {
            t->lost_gaps++;
            t->lost_packs += size;
        } else {
            t->open_gaps++;
            t->missing_packs += size;
        }
        if (out != NULL)
            out[n] = g;
        n++;
    }
    return n;
}

static void host_totals(const struct ledger *l, const struct ledger_host_entry *h, int64_t now_ms,
                        struct ledger_totals *t)
{
    t->lost_gaps += h->rec.lost_gaps;
    t->lost_packs += h->rec.lost_packs;
    t->gaps_filled += h->rec.gaps_filled;
    t->agent_dropped += h->rec.dropped_before;
    for (size_t i = 0; i < h->n_boots; i++) {
        t->agent_dropped += h->boots[i].rec.dropped;
        (void)boot_report_gaps(l, &h->boots[i], now_ms, NULL, t);
    }
}

static int by_last_seen_desc(const void *a, const void *b)
{
    const struct ledger_boot_report *x = a, *y = b;
    return (x->last_seen_ms < y->last_seen_ms) - (x->last_seen_ms > y->last_seen_ms);
}

static void boot_report(const struct ledger *l, const struct ledger_boot_entry *b, int64_t now_ms,
                        struct ledger_gap *gaps, struct ledger_boot_report *r)
{
    snprintf(r->boot_id, sizeof r->boot_id, "%s", b->rec.boot_id);
    r->has_seqs = b->n_ranges > 0;
    r->last_seen_ms = b->rec.last_seen_ms;
    r->dropped = b->rec.dropped;
    uint64_t in_ranges = 0;
    for (size_t j = 0; j < b->n_ranges; j++)
        in_ranges += b->ranges[j].last - b->ranges[j].first + 1;
    r->committed = in_ranges > b->rec.assumed ? in_ranges - b->rec.assumed : 0;
    if (r->has_seqs) {
        r->first_seq = b->ranges[0].first;
        r->last_seq = b->ranges[b->n_ranges - 1].last;
    }
    struct ledger_totals unused = {0};
    r->gaps = gaps;
    r->n_gaps = boot_report_gaps(l, b, now_ms, gaps, &unused);
}

int ledger_report(struct ledger *l, const char *host, int64_t now_ms, struct ledger_report **out)
{
    int rc = -ENOMEM;
    struct ledger_report *r = NULL;
    pthread_mutex_lock(&l->lock);
    long at = ledger_find_locked(l, host);
    if (at < 0) {
        rc = -ENOENT;
        goto out;
    }
    const struct ledger_host_entry *h = l->hosts[at];
    size_t n_gaps = 0;
    for (size_t i = 0; i < h->n_boots; i++)
        n_gaps += ledger_boot_gaps(&h->boots[i]);
    /* One block: the report, its boots, then all their gaps. */
    size_t size = sizeof *r + h->n_boots * sizeof r->boots[0] + n_gaps * sizeof(struct ledger_gap);
    r = calloc(1, size);
    if (r == NULL)
        goto out;
    snprintf(r->host, sizeof r->host, "%s", h->rec.host);
    r->boots = (struct ledger_boot_report *)(r + 1);
    struct ledger_gap *gaps = (struct ledger_gap *)(r->boots + h->n_boots);
    for (size_t i = 0; i < h->n_boots; i++) {
        boot_report(l, &h->boots[i], now_ms, gaps, &r->boots[i]);
        gaps += r->boots[i].n_gaps;
    }
    r->n_boots = h->n_boots;
    qsort(r->boots, r->n_boots, sizeof r->boots[0], by_last_seen_desc);
    host_totals(l, h, now_ms, &r->totals);
    r->agent_dropped = r->totals.agent_dropped;
    r->agent_dropped_changed_ms = h->rec.dropped_changed_ms;
    *out = r;
    r = NULL;
    rc = 0;
out:
    pthread_mutex_unlock(&l->lock);
    free(r);
    return rc;
}

void ledger_report_free(struct ledger_report *r)
{
    free(r);
}

void ledger_totals(struct ledger *l, int64_t now_ms, struct ledger_totals *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&l->lock);
    for (size_t i = 0; i < l->n_hosts; i++)
        host_totals(l, l->hosts[i], now_ms, out);
    pthread_mutex_unlock(&l->lock);
}
