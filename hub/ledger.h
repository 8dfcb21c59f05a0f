/* The loss ledger: per host and agent boot (boot id), the pack sequence numbers committed, as
 * merged ranges. A gap is a run of sequence numbers between 1 and the highest committed one
 * of a boot that is not committed; it stays open (an agent backfilling its spool sends old
 * packs after new ones) until filled (counted in gaps_filled) or until it has been open for
 * settle_ms: then it is lost. Bounds: at most max_ranges ranges per boot (the oldest gap is
 * given up first: counted lost and merged away) and max_boots boots per host (the least
 * recently seen one is given up with its gaps); a boot other than the newest that has no gap
 * and was not seen for settle_ms is forgotten. Heartbeats add the agent's own drop count.
 * Changes are grouped in transactions that mirror the store's: the writer notes the packs of
 * a commit, saves the pending hosts (ledger_pending_foreach, store_ledger_save) in the same
 * transaction, then keeps (ledger_commit) or reverts (ledger_rollback) them.
 * Pure: no I/O, no clock (times come in as wall-clock now_ms), no logging. Thread-safe: one
 * mutex. Only one thread (the store writer) changes it; any thread may read reports. */
#ifndef UPDRAFT_HUB_LEDGER_H
#define UPDRAFT_HUB_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub/store.h"

#define LEDGER_ID_MAX 64                  /* bytes in a host or boot id */
#define LEDGER_MAX_RANGES 256             /* default max_ranges */
#define LEDGER_MAX_BOOTS 8                /* default max_boots */
#define LEDGER_SETTLE_MS (86400LL * 1000) /* default settle_ms: the agent's spool age bound */

struct ledger_options {
    int64_t settle_ms; /* a gap open this long is lost (>= 1) */
    size_t max_ranges; /* per boot (>= 2) */
    size_t max_boots;  /* per host (>= 1) */
};
void ledger_options_default(struct ledger_options *opts);

struct ledger;

/* opts NULL means the defaults. -EINVAL for options out of range, -ENOMEM. */
int ledger_new(const struct ledger_options *opts, struct ledger **out)
    __attribute__((warn_unused_result));
void ledger_free(struct ledger *ledger); /* accepts NULL */

/* At start, before any note: adds one host as the store saved it (copied). -EEXIST when the
 * host is there already, -EBADMSG for ranges that are not ascending and disjoint, -ENOMEM. */
int ledger_load(struct ledger *ledger, const struct store_ledger_host *host)
    __attribute__((warn_unused_result));

/* Writer: pack seq (>= 1) of boot_id of host is committed at now_ms. A sequence number already
 * recorded changes nothing. -EINVAL (seq 0, an id empty or longer than LEDGER_ID_MAX),
 * -ENOMEM (nothing changed). */
int ledger_note_pack(struct ledger *ledger, const char *host, const char *boot_id, uint64_t seq,
                     int64_t now_ms) __attribute__((warn_unused_result));
/* Writer: a heartbeat of boot_id reported dropped packs (agent.dropped, cumulative per boot).
 * -EINVAL, -ENOMEM as ledger_note_pack. */
int ledger_note_dropped(struct ledger *ledger, const char *host, const char *boot_id,
                        uint64_t dropped, int64_t now_ms) __attribute__((warn_unused_result));

/* Writer: calls fn for every host changed since the last commit or rollback, as rows to save
 * (borrowed for the call). A non-zero result of fn stops and is returned. */
int ledger_pending_foreach(struct ledger *ledger,
                           int (*fn)(void *user, const struct store_ledger_host *host), void *user)
    __attribute__((warn_unused_result));
/* Writer: keeps the pending changes (the store committed them) or reverts them (it did not). */
void ledger_commit(struct ledger *ledger);
void ledger_rollback(struct ledger *ledger);

struct ledger_totals {
    uint64_t open_gaps, missing_packs; /* gaps open for less than settle_ms, and their packs */
    uint64_t lost_gaps, lost_packs;    /* gaps open longer, or given up by a bound */
    uint64_t gaps_filled;
    uint64_t agent_dropped; /* what the agents reported, summed over boots */
};

struct ledger_gap {
    uint64_t first, last; /* inclusive */
    int64_t since_ms;     /* wall clock: when it was noticed */
    int64_t age_ms;
    bool lost;
};

struct ledger_boot_report {
    char boot_id[LEDGER_ID_MAX + 1];
    bool has_seqs;                /* false: only heartbeats so far */
    uint64_t first_seq, last_seq; /* lowest and highest committed */
    uint64_t committed;           /* sequence numbers committed (seen) */
    int64_t last_seen_ms;
    uint64_t dropped;
    const struct ledger_gap *gaps; /* ascending */
    size_t n_gaps;
};

struct ledger_report {
    char host[LEDGER_ID_MAX + 1];
    struct ledger_boot_report *boots; /* most recently seen first */
    size_t n_boots;
    uint64_t agent_dropped;
    int64_t agent_dropped_changed_ms; /* 0: never went up */
    struct ledger_totals totals;
};

/* A copy of one host's ledger at now_ms (*out, ledger_report_free). -ENOENT when the ledger
 * has nothing of host, -ENOMEM. */
int ledger_report(struct ledger *ledger, const char *host, int64_t now_ms,
                  struct ledger_report **out) __attribute__((warn_unused_result));
void ledger_report_free(struct ledger_report *report); /* accepts NULL */

/* The totals of every host at now_ms. */
void ledger_totals(struct ledger *ledger, int64_t now_ms, struct ledger_totals *out);

#endif
