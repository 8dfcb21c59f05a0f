/* The store writer: the one thread that writes the store. Ingest hands it batches through a
 * bounded queue (submit blocks while the queue is full: backpressure to the MQTT thread,
 * never unbounded growth); it groups what is queued into one transaction (at most
 * commit_max_samples samples or commit_interval_ms of waiting), persists changed host
 * records in the same transaction, and counts what was added, duplicated, replaced or
 * refused (too old, too many series: logged at most once a minute). Between commits it runs
 * the store's janitor. A pack whose samples were refused is still acknowledged: resending
 * it would be refused again. Committed packs are noted in the loss ledger (ledger.h), whose
 * changed rows are saved in the same transaction.
 * submit and stats are thread-safe; new/start/stop/free belong to one owner thread. */
#ifndef UPDRAFT_HUB_WRITER_H
#define UPDRAFT_HUB_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub/hosts.h"
#include "hub/store.h"

struct ledger;
struct senml_pack;
struct writer;

/* One accepted pack of one host, ready to store. The batch owns everything it points to. */
struct writer_batch {
    char host[65];
    struct senml_pack *pack;      /* the decoded pack the samples' strings point into */
    struct store_sample *samples;
    size_t count;
    char **labels;                /* canonical label strings made for samples, owned */
    size_t n_labels;
    bool has_dropped;             /* a heartbeat that reported agent.dropped */
    uint64_t dropped;
    struct writer_batch *next;    /* queue link, owned by the writer while queued */
    bool stored;                  /* set by the writer: appended in a committed transaction */
};
void writer_batch_free(struct writer_batch *batch); /* accepts NULL */

struct writer_options {
    size_t queue_max_batches;
    size_t commit_max_samples;
    int64_t commit_interval_ms;
    /* After each commit, the packs that carried a boot id and sequence are acknowledged
     * through ack_send (see acks.h), at most every ack_interval_ms per host. ack_send may be
     * NULL (no acks); it runs on the writer thread. */
    int64_t ack_interval_ms;
    /* Every janitor_interval_ms the writer runs a janitor slice (store_maintain, at most
     * janitor_budget_ms) between commits: old heads, sealed windows, retention, WAL trim. */
    int64_t janitor_interval_ms;
    int64_t janitor_budget_ms;
    void (*ack_send)(void *user, const char *host, const char *payload, size_t len);
    void *ack_user;
    /* The loss ledger (borrowed; NULL: none): committed packs with a boot id and sequence,
     * and heartbeat drop counts, are noted in it and saved with the batch. */
    struct ledger *ledger;
};

struct writer_stats {
    uint64_t added, duplicates, conflicts; /* samples */
    uint64_t too_old;                       /* refused: beyond the out-of-order window */
    uint64_t too_many_series;               /* refused: a new series beyond a limit */
    uint64_t janitor_runs, janitor_errors;
    uint64_t commits, store_errors, batches_failed;
    uint64_t acks_sent;                     /* ack messages handed to ack_send */
    uint64_t ledger_errors;                 /* packs or drop counts the ledger could not note */
    uint64_t queued;                        /* batches waiting now */
};

int writer_new(const struct writer_options *opts, struct store *st, struct hosts *hosts,
               struct writer **out) __attribute__((warn_unused_result));
int writer_start(struct writer *w) __attribute__((warn_unused_result));

/* Queues a batch; the writer takes ownership on success. Blocks while the queue is full.
 * -ESHUTDOWN once stop has begun (the caller keeps ownership). */
int writer_submit(struct writer *w, struct writer_batch *batch) __attribute__((warn_unused_result));

/* Stops taking batches, commits everything queued, joins the thread. */
void writer_stop(struct writer *w);
void writer_free(struct writer *w); /* accepts NULL; stops first */

void writer_stats(struct writer *w, struct writer_stats *out);

#endif
