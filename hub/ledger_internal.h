/* Internals shared by the loss ledger's files: ledger.c (notes, bounds, transactions, load)
 * and ledger_report.c (reports and totals). Hosts live in an array of pointers sorted by id,
 * each with a small array of boots, each with a sorted array of disjoint, non-adjacent ranges;
 * the gap just below a range carries the time it was noticed. Not part of the interface. */
#ifndef UPDRAFT_HUB_LEDGER_INTERNAL_H
#define UPDRAFT_HUB_LEDGER_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub/ledger.h"

struct ledger_boot_entry {
    struct store_ledger_boot rec; /* rec.ranges and rec.n_ranges unused: see below */
    struct store_ledger_range *ranges;
    size_t n_ranges, cap;
};

struct ledger_host_entry {
    struct store_ledger_host rec; /* rec.boots and rec.n_boots unused: see below */
    struct ledger_boot_entry *boots;
    size_t n_boots, cap;
    struct ledger_host_entry *undo; /* this host before the pending transaction changed it */
    bool created;                   /* new in the pending transaction */
    bool pending;
};

struct ledger {
    struct ledger_options opts;
    pthread_mutex_t lock;
    struct ledger_host_entry **hosts; /* sorted by id */
    size_t n_hosts, cap;
    struct ledger_host_entry **pending;
    size_t n_pending, pending_cap;
    struct store_ledger_boot *view; /* scratch of ledger_pending_foreach */
    size_t view_cap;
};

static inline uint64_t ledger_prev_end(const struct ledger_boot_entry *b, size_t j)
{
    return j > 0 ? b->ranges[j - 1].last : 0;
}

static inline bool ledger_gap_below(const struct ledger_boot_entry *b, size_t j)
{
    return b->ranges[j].first > ledger_prev_end(b, j) + 1;
}

static inline uint64_t ledger_gap_size(const struct ledger_boot_entry *b, size_t j)
{
    return b->ranges[j].first - ledger_prev_end(b, j) - 1;
}

static inline size_t ledger_boot_gaps(const struct ledger_boot_entry *b)
{
    size_t n = 0;
    for (size_t j = 0; j < b->n_ranges; j++)
        n += ledger_gap_below(b, j);
    return n;
}

/* ledger.c */
long ledger_find_locked(const struct ledger *ledger, const char *id);

#endif
