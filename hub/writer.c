/* Store writer thread (see writer.h): a mutex + two condition variables around a FIFO. */
#include "hub/writer.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/senml.h"
#include "hub/acks.h"
#include "hub/ledger.h"

#define LOG_MODULE "writer"
#include "common/clock.h"
#include "common/log.h"

struct writer {
    struct writer_options opts;
    struct store *st;
    struct hosts *hosts;
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    struct writer_batch *head, *tail;
    size_t queued;
    bool stopping;
    struct writer_stats stats;
    struct log_ratelimit error_rl, refused_rl, ledger_rl;
    int64_t janitor_due_ms; /* monotonic */
    struct acks *acks; /* owned by the writer thread */
};

void writer_batch_free(struct writer_batch *b)
{
    if (b == NULL)
        return;
    senml_pack_free(b->pack);
    for (size_t i = 0; i < b->n_labels; i++)
        free(b->labels[i]);
    free(b->labels);
    free(b->samples);
    free(b);
}

int writer_new(const struct writer_options *opts, struct store *st, struct hosts *hosts,
               struct writer **out)
{
    struct writer *w = calloc(1, sizeof *w);
    if (w == NULL)
        return -ENOMEM;
    w->opts = *opts;
    w->st = st;
    w->hosts = hosts;
    if (acks_new(opts->ack_interval_ms, &w->acks) != 0) {
        free(w);
        return -ENOMEM;
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->not_empty, NULL);
    pthread_cond_init(&w->not_full, NULL);
    *out = w;
    return 0;
}

/* Takes up to commit_max_samples worth of batches off the queue (at least one). */
static struct writer_batch *take_locked(struct writer *w)
{
    struct writer_batch *first = w->head, *last = w->head;
    size_t samples = last->count;
    w->queued--;
    while (last->next != NULL && samples + last->next->count <= w->opts.commit_max_samples) {
        last = last->next;
        samples += last->count;
        w->queued--;
    }
    w->head = last->next;
    if (w->head == NULL)
        w->tail = NULL;
    last->next = NULL;
    pthread_cond_broadcast(&w->not_full);
    return first;
}

static void save_hosts(struct writer *w)
{
    struct store_host *recs = NULL;
    size_t n = 0;
    if (hosts_take_dirty(w->hosts, &recs, &n) != 0)
        return;
    for (size_t i = 0; i < n; i++)
        if (store_host_save(w->st, &recs[i]) != 0)
            log_error("saving host %s failed: %s", recs[i].id, store_errmsg(w->st));
    free(recs);
}

static void send_acks(struct writer *w, bool force)
{
    if (w->opts.ack_send == NULL)
        return;
    size_t sent = acks_flush(w->acks, clock_mono_ms(), force, w->opts.ack_send, w->opts.ack_user);
    if (sent > 0) {
        pthread_mutex_lock(&w->lock);
        w->stats.acks_sent += sent;
        pthread_mutex_unlock(&w->lock);
    }
}

/* Committed packs that name themselves (boot id + sequence) are acknowledged. */
static void note_acks(struct writer *w, const struct writer_batch *b)
{
    if (w->opts.ack_send == NULL || b->pack == NULL || !b->pack->has_seq ||
        b->pack->boot_id == NULL)
        return;
    int rc = acks_note(w->acks, b->host, b->pack->boot_id, b->pack->seq);
    if (rc == -ENOSPC) {
        send_acks(w, true);
        rc = acks_note(w->acks, b->host, b->pack->boot_id, b->pack->seq);
    }
    if (rc != 0)
        log_error("ack for %s pack %llu not recorded: %s", b->host,
                  (unsigned long long)b->pack->seq, strerror(-rc));
}

/* Notes the group's stored packs in the ledger (pending until the commit). */
static void note_ledger(struct writer *w, const struct writer_batch *group, int64_t now_ms)
{
    uint64_t errors = 0;
    int last_rc = 0;
    for (const struct writer_batch *b = group; b != NULL; b = b->next) {
        const char *boot_id = b->pack != NULL ? b->pack->boot_id : NULL;
        if (!b->stored || boot_id == NULL)
            continue;
        int rc = 0;
        if (b->pack->has_seq)
            rc = ledger_note_pack(w->opts.ledger, b->host, boot_id, b->pack->seq, now_ms);
        if (rc == 0 && b->has_dropped)
            rc = ledger_note_dropped(w->opts.ledger, b->host, boot_id, b->dropped, now_ms);
        if (rc != 0) {
            errors++;
            last_rc = rc;
        }
    }
    if (errors == 0)
        return;
    pthread_mutex_lock(&w->lock);
    w->stats.ledger_errors += errors;
    pthread_mutex_unlock(&w->lock);
    uint64_t suppressed = 0;
    if (log_ratelimit_allow(&w->ledger_rl, clock_mono_ms(), 60000, &suppressed))
        log_warn("loss ledger: %llu packs not recorded (%s; boot ids are 1..64 bytes, sequences "
                 "start at 1); %llu similar messages suppressed",
                 (unsigned long long)errors,
                 last_rc == -EINVAL ? "invalid boot id or sequence" : strerror(-last_rc),
                 (unsigned long long)suppressed);
}

static int save_ledger_host(void *user, const struct store_ledger_host *h)
{
    return store_ledger_save(user, h);
}

static void complain(struct writer *w, const char *what)
{
    uint64_t suppressed = 0;
    if (log_ratelimit_allow(&w->error_rl, clock_mono_ms(), 60000, &suppressed))
        log_error("%s: %s (%llu similar errors suppressed)", what, store_errmsg(w->st),
                  (unsigned long long)suppressed);
}

/* Writes one group in one transaction. A batch that fails is rolled back alone (savepoint
 * semantics would be nicer; a failing batch here means a broken store, which we report). */
static void write_group(struct writer *w, struct writer_batch *group)
{
    struct store_append_result res = {0};
    uint64_t failed = 0;
    bool began = store_begin(w->st) == 0, ok = began;
    for (struct writer_batch *b = group; ok && b != NULL; b = b->next) {
        b->stored = store_append(w->st, b->host, b->samples, b->count, clock_wall_ms(), &res) == 0;
        if (!b->stored) {
            complain(w, "append");
            failed++;
        }
    }
    int64_t now_ms = clock_wall_ms();
    if (ok && w->opts.ledger != NULL) {
        note_ledger(w, group, now_ms);
        ok = ledger_pending_foreach(w->opts.ledger, save_ledger_host, w->st) == 0;
    }
    if (ok) {
        save_hosts(w);
        ok = store_commit(w->st) == 0;
    }
    if (began && !ok)
        (void)store_rollback(w->st);
    if (w->opts.ledger != NULL) {
        if (ok)
            ledger_commit(w->opts.ledger);
        else
            ledger_rollback(w->opts.ledger);
    }
    if (!ok)
        complain(w, "commit");
    pthread_mutex_lock(&w->lock);
    if (ok) {
        w->stats.added += res.added;
        w->stats.duplicates += res.duplicates;
        w->stats.conflicts += res.conflicts;
        w->stats.too_old += res.too_old;
        w->stats.too_many_series += res.too_many_series;
        w->stats.commits++;
    } else {
        w->stats.store_errors++;
    }
    w->stats.batches_failed += failed;
    pthread_mutex_unlock(&w->lock);
    if (ok && (res.too_old > 0 || res.too_many_series > 0)) {
        uint64_t suppressed = 0;
        if (log_ratelimit_allow(&w->refused_rl, clock_mono_ms(), 60000, &suppressed))
            log_warn("refused %llu samples older than raw retention (too_old) and %llu "
                     "of new series beyond the series limits (too_many_series); %llu similar "
                     "messages suppressed",
                     (unsigned long long)res.too_old, (unsigned long long)res.too_many_series,
                     (unsigned long long)suppressed);
    }
    for (struct writer_batch *b = group; ok && b != NULL; b = b->next)
        if (b->stored)
            note_acks(w, b);
    send_acks(w, false);
    while (group != NULL) {
        struct writer_batch *next = group->next;
        writer_batch_free(group);
        group = next;
    }
}

/* A janitor slice when one is due (called without the lock). */
static void run_janitor(struct writer *w)
{
    int64_t now = clock_mono_ms();
    if (w->opts.janitor_interval_ms <= 0 || now < w->janitor_due_ms)
        return;
    bool more = false;
    int rc = store_maintain(w->st, clock_wall_ms(), w->opts.janitor_budget_ms, &more);
    if (rc != 0)
        complain(w, "janitor");
    /* With work left, come back soon, but let ingest have the store in between. */
    w->janitor_due_ms = clock_mono_ms() + (more ? w->opts.janitor_interval_ms / 10 + 1
                                                : w->opts.janitor_interval_ms);
    pthread_mutex_lock(&w->lock);
    w->stats.janitor_runs++;
    w->stats.janitor_errors += rc != 0;
    pthread_mutex_unlock(&w->lock);
}

static int64_t min_positive(int64_t a, int64_t b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

/* Absolute CLOCK_REALTIME deadline ms from now, for pthread_cond_timedwait. */
static struct timespec deadline_after(int64_t ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    int64_t ns = until.tv_nsec + (ms % 1000) * 1000000;
    until.tv_sec += (time_t)(ms / 1000 + ns / 1000000000);
    until.tv_nsec = ns % 1000000000;
    return until;
}

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (w->head == NULL && !w->stopping) {
            int64_t now = clock_mono_ms();
            int64_t janitor_in = w->opts.janitor_interval_ms > 0
                                     ? (w->janitor_due_ms > now ? w->janitor_due_ms - now : 0)
                                     : -1;
            int64_t due = min_positive(acks_next_due_ms(w->acks, now), janitor_in);
            if (due < 0) {
                pthread_cond_wait(&w->not_empty, &w->lock);
                continue;
            }
            if (due > 0) {
                struct timespec until = deadline_after(due);
                pthread_cond_timedwait(&w->not_empty, &w->lock, &until);
            }
            if (w->head == NULL) {
                pthread_mutex_unlock(&w->lock);
                send_acks(w, false);
                run_janitor(w);
                pthread_mutex_lock(&w->lock);
            }
        }
        if (w->head == NULL && w->stopping)
            break;
        /* Let a little more arrive so one commit covers many packs. */
        if (w->queued < 4 && !w->stopping && w->opts.commit_interval_ms > 0) {
            struct timespec until = deadline_after(w->opts.commit_interval_ms);
            pthread_cond_timedwait(&w->not_empty, &w->lock, &until);
        }
        struct writer_batch *group = take_locked(w);
        pthread_mutex_unlock(&w->lock);
        write_group(w, group);
        run_janitor(w);
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    /* Host records changed after the last batch (a Last Will, say) are saved too, and
     * every pending ack goes out before the hub disconnects. */
    if (store_begin(w->st) == 0) {
        save_hosts(w);
        if (store_commit(w->st) != 0)
            complain(w, "final commit");
    }
    send_acks(w, true);
    return NULL;
}

int writer_start(struct writer *w)
{
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0)
        return -EIO;
    w->started = true;
    return 0;
}

int writer_submit(struct writer *w, struct writer_batch *batch)
{
    pthread_mutex_lock(&w->lock);
    while (w->queued >= w->opts.queue_max_batches && !w->stopping)
        pthread_cond_wait(&w->not_full, &w->lock);
    if (w->stopping) {
        pthread_mutex_unlock(&w->lock);
        return -ESHUTDOWN;
    }
    batch->next = NULL;
    if (w->tail != NULL)
        w->tail->next = batch;
    else
        w->head = batch;
    w->tail = batch;
    w->queued++;
    pthread_cond_signal(&w->not_empty);
    pthread_mutex_unlock(&w->lock);
    return 0;
}

void writer_stop(struct writer *w)
{
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_broadcast(&w->not_empty);
    pthread_cond_broadcast(&w->not_full);
    pthread_mutex_unlock(&w->lock);
    if (w->started) {
        pthread_join(w->thread, NULL);
        w->started = false;
    }
}

void writer_free(struct writer *w)
{
    if (w == NULL)
        return;
    writer_stop(w);
    while (w->head != NULL) {
        struct writer_batch *next = w->head->next;
        writer_batch_free(w->head);
        w->head = next;
    }
    acks_free(w->acks);
    pthread_cond_destroy(&w->not_empty);
    pthread_cond_destroy(&w->not_full);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

void writer_stats(struct writer *w, struct writer_stats *out)
{
    pthread_mutex_lock(&w->lock);
    *out = w->stats;
    out->queued = w->queued;
    pthread_mutex_unlock(&w->lock);
}
