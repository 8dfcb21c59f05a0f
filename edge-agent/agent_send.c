/* How packs leave the agent without loss (see docs/operations.md, "No data lost"):
 *   1. every metrics pack is appended to the on-disk spool (fsync'd) before it is sent;
 *   2. the live pack is sent at once, so dashboards and alerts see the present first;
 *   3. the backlog (never sent on this connection, or sent and not acknowledged within
 *      resend_after) follows oldest first, at most backfill_rate packs per second, so a
 *      thousand agents coming back together do not flatten the broker;
 *   4. a pack leaves the spool only when the hub's ack on <root>/v1/<host>/ack covers its
 *      (boot id, sequence); a broker's PUBACK proves nothing.
 * A sent pack is resent after resend_after only while the hub shows it is alive (an ack came
 * within resend_after): a stopped hub gets its packs queued by the broker, and resending
 * them every 30 s would only pile copies into that queue. Without acks the resend waits ten
 * times longer; a new connection (the broker may have lost its queue) resends everything. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "edge-agent/agent_config.h"
#include "edge-agent/agent_internal.h"
#include "edge-agent/spool.h"

#define LOG_MODULE "agent"
#include "common/log.h"

int agent_spool_open(struct agent *a)
{
    const struct agent_config *cfg = a->cfg;
    /* Segments of at most a quarter of the bound, so dropping the oldest one frees room
     * without emptying a small spool. */
    uint64_t segment = (uint64_t)cfg->spool_max_bytes / 4;
    if (segment > SPOOL_DEFAULT_SEGMENT_BYTES)
        segment = SPOOL_DEFAULT_SEGMENT_BYTES;
    size_t record_max = (size_t)segment - 64;
    if (record_max > SPOOL_DEFAULT_RECORD_MAX_BYTES)
        record_max = SPOOL_DEFAULT_RECORD_MAX_BYTES;
    struct spool_options so = {
        .dir = cfg->spool_dir,
        .max_bytes = (uint64_t)cfg->spool_max_bytes,
        .max_age_ms = cfg->spool_max_age_ms,
        .segment_bytes = segment,
        .record_max_bytes = record_max,
        .no_fsync = !cfg->spool_fsync,
    };
    char why[256] = "";
    int rc = spool_open(&so, &a->spool, why, sizeof why);
    if (rc != 0) {
        log_error("cannot open the spool in %s: %s", cfg->spool_dir,
                  rc == -EBUSY ? "another agent is using it" : why);
        return rc;
    }
    struct spool_stats st;
    spool_stats(a->spool, &st);
    a->dropped_at_open = st.dropped_total; /* the heartbeat reports this run's drops */
    uint64_t expired = spool_expire(a->spool, clock_wall_ms());
    spool_stats(a->spool, &st);
    if (expired > 0)
        log_warn("spool %s: %" PRIu64 " packs older than [spool] max_age dropped", cfg->spool_dir,
                 expired);
    if (st.records > 0)
        log_info("spool %s holds %" PRIu64 " unacknowledged packs (%" PRIu64 " bytes) from "
                 "earlier runs: they will be sent behind live data", cfg->spool_dir, st.records,
                 st.disk_bytes);
    if (st.corrupt_total > 0)
        log_warn("spool %s: %" PRIu64 " damaged records skipped", cfg->spool_dir,
                 st.corrupt_total);
    a->backfill_at_mono_ms = clock_mono_ms();
    return 0;
}

void agent_spool_close(struct agent *a)
{
    spool_close(a->spool);
    a->spool = NULL;
}

void agent_spool_figures(struct agent *a, uint64_t *packs, uint64_t *bytes, uint64_t *dropped)
{
    if (a->spool == NULL)
        return;
    struct spool_stats st;
    spool_stats(a->spool, &st);
    *packs = st.records;
    *bytes = st.disk_bytes;
    *dropped = st.dropped_total - a->dropped_at_open;
}

void agent_send_live(struct agent *a, uint64_t seq)
{
    uint64_t dropped_before = 0, packs = 0, bytes = 0, dropped = 0;
    agent_spool_figures(a, &packs, &bytes, &dropped_before);
    uint64_t id = 0;
    uint64_t expired = spool_expire(a->spool, clock_wall_ms());
    if (expired > 0)
        log_warn("spool: %" PRIu64 " packs older than [spool] max_age dropped", expired);
    int rc = spool_append(a->spool, a->boot_id, seq, a->batch->time_ms, a->buf.data, a->buf.len,
                          &id);
    if (rc != 0) {
        /* Not durable: still try to send it (the hub may take it), but say so. */
        a->spool_errors++;
        log_error("pack %" PRIu64 " not spooled: %s", seq,
                  rc == -EIO ? spool_errmsg(a->spool) : strerror(-rc));
    }
    agent_spool_figures(a, &packs, &bytes, &dropped);
    dropped_before += expired;
    if (dropped > dropped_before)
        log_warn("spool full: %" PRIu64 " oldest packs dropped (%" PRIu64 " since start)",
                 dropped - dropped_before, dropped);
    if (!a->pub.connected(a->pub.ctx))
        return; /* stays in the spool: the backlog after reconnecting */
    int pr = a->pub.publish(a->pub.ctx, a->metrics_topic, a->buf.data, a->buf.len, false);
    if (pr == 0) {
        a->live_sent++;
        if (rc == 0 && spool_mark_sent(a->spool, id, clock_mono_ms()) != 0)
            log_debug("pack %" PRIu64 " stays due: it will be sent again", seq);
    } else {
        log_debug("pack %" PRIu64 " not sent now (%s): left to the backlog", seq, strerror(-pr));
    }
}

int64_t agent_send_backlog(struct agent *a, int64_t now_mono_ms)
{
    if (a->spool == NULL || !a->pub.connected(a->pub.ctx))
        return -1;
    double rate = (double)a->cfg->spool_backfill_rate;
    a->backfill_tokens += rate * (double)(now_mono_ms - a->backfill_at_mono_ms) / 1000.0;
    if (a->backfill_tokens > rate)
        a->backfill_tokens = rate; /* at most one second's worth in a burst */
    a->backfill_at_mono_ms = now_mono_ms;
    if (a->send_buf == NULL) { /* grown below when a pack needs more */
        if ((a->send_buf = malloc(4096)) == NULL)
            return 1000;
        a->send_cap = 4096;
    }
    int64_t resend = a->cfg->spool_resend_after_ms;
    if (a->last_ack_mono_ms == 0 || now_mono_ms - a->last_ack_mono_ms > resend)
        resend *= 10;
    while (a->backfill_tokens >= 1.0) {
        struct spool_record rec;
        int rc = spool_next_due(a->spool, now_mono_ms, resend, &rec, a->send_buf, a->send_cap);
        if (rc == -EMSGSIZE) {
            void *bigger = realloc(a->send_buf, rec.len);
            if (bigger == NULL)
                return 1000;
            a->send_buf = bigger;
            a->send_cap = rec.len;
            continue;
        }
        if (rc == 0)
            return spool_due_in_ms(a->spool, now_mono_ms, resend);
        if (rc < 0) {
            a->spool_errors++;
            log_warn("spool read failed: %s", rc == -EIO ? spool_errmsg(a->spool) : strerror(-rc));
            return 1000;
        }
        rc = a->pub.publish(a->pub.ctx, a->metrics_topic, a->send_buf, rec.len, false);
        if (rc == -EAGAIN)
            return 20; /* in-flight window full: poll lets PUBACKs in */
        if (rc != 0)
            return -1;
        if (spool_mark_sent(a->spool, rec.id, now_mono_ms) != 0)
            log_debug("pack %" PRIu64 " stays due: it will be sent again", rec.seq);
        a->backlog_sent++;
        a->backfill_tokens -= 1.0;
    }
    return (int64_t)(1000.0 / rate) + 1;
}

void agent_send_reconnected(struct agent *a)
{
    if (a->spool != NULL)
        spool_reset_sent(a->spool); /* unacknowledged packs go out again on this connection */
}

void agent_handle_ack(struct agent *a, const void *payload, size_t len)
{
    struct control_ack ack;
    char why[200];
    if (control_ack_parse(payload, len, &ack, why, sizeof why) != 0) {
        log_warn("ack ignored: %s", why);
        return;
    }
    a->last_ack_mono_ms = clock_mono_ms();
    for (size_t i = 0; i < ack.n_ranges && a->spool != NULL; i++) {
        int n = spool_ack(a->spool, ack.boot_id, ack.first[i], ack.last[i]);
        if (n > 0)
            a->acked += (uint64_t)n;
    }
}
