/* updraft-bridge's core: the event loop over the CoAP and MQTT sockets, the host table,
 * the requests waiting for a PUBACK, offline detection and the status counters. */
#include "bridge/bridge.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "bridge/bridge_internal.h"
#include "common/clock.h"

#define LOG_MODULE "bridge"
#include "common/log.h"

#define SWEEP_INTERVAL_MS 1000
/* Block1 transfers without Size1 open at once, and how long one may pause between blocks
 * (RFC 7252's EXCHANGE_LIFETIME is longer; a device sends its blocks back to back). */
#define BLOCKWISE_TRANSFERS 64
#define BLOCKWISE_IDLE_MS 60000
#define LOOP_MAX_WAIT_MS 250
#define COAP_READS_PER_WAKE 64
/* Under load, libcoap's timers are run this often: each run walks every session (~0.5 us
 * each), which at 800 devices and once a millisecond took half the bridge's time. */
#define PREPARE_INTERVAL_MS 10

static const char *const reject_names[REJECT_COUNT] = {
    "bad_request", "forbidden",          "not_found",          "method",
    "too_large",   "unsupported_format", "broker_unavailable", "incomplete",
};

static size_t hash_str(const char *s)
{
    size_t h = 5381;
    while (*s)
        h = h * 33 + (unsigned char)*s++;
    return h;
}

struct bridge_host *bridge_host_find(struct bridge *b, const char *id)
{
    for (struct bridge_host *h = b->host_buckets[hash_str(id) & (b->host_nbuckets - 1)]; h;
         h = h->next)
        if (strcmp(h->id, id) == 0)
            return h;
    return NULL;
}

struct bridge_host *bridge_host_get(struct bridge *b, const char *id)
{
    struct bridge_host *h = bridge_host_find(b, id);
    if (h != NULL)
        return h;
    if (b->host_count >= (size_t)b->cfg->coap_max_hosts)
        return NULL;
    h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    snprintf(h->id, sizeof h->id, "%s", id);
    if (bridge_coap_add_host(b, h) != 0) {
        free(h);
        return NULL;
    }
    size_t i = hash_str(id) & (b->host_nbuckets - 1);
    h->next = b->host_buckets[i];
    b->host_buckets[i] = h;
    b->host_count++;
    bridge_mqtt_subscribe_host(b, h);
    log_debug("host %s: resources created", id);
    return h;
}

void bridge_reject(struct bridge *b, enum bridge_reject why, const char *what, const char *diag)
{
    b->stats.rejected[why]++;
    uint64_t suppressed = 0;
    if (log_ratelimit_allow(&b->reject_rl, clock_mono_ms(), 100, &suppressed))
        log_warn("refused %s (%s): %s%s", what, reject_names[why], diag,
                 suppressed ? " (and others since the last such line)" : "");
}

void bridge_publish_state(struct bridge *b, struct bridge_host *h, bool online, const char *reason)
{
    char topic[TOPIC_MAX], payload[256];
    if (topic_build(topic, sizeof topic, b->topic_root, h->id, TOPIC_KIND_STATE) != 0)
        return;
    int n = snprintf(payload, sizeof payload, "{\"state\":\"%s\"", online ? "online" : "offline");
    if (h->boot_id[0] != '\0')
        n += snprintf(payload + n, sizeof payload - (size_t)n, ",\"boot_id\":\"%s\"", h->boot_id);
    n += snprintf(payload + n, sizeof payload - (size_t)n, ",\"via\":\"coap\"");
    if (reason != NULL)
        n += snprintf(payload + n, sizeof payload - (size_t)n, ",\"reason\":\"%s\"", reason);
    n += snprintf(payload + n, sizeof payload - (size_t)n, "}");
    int mid;
    if (bridge_mqtt_publish(b, topic, payload, (size_t)n, true, &mid) != 0)
        return; /* tried again: the next POST (online) or the next sweep (offline) */
    h->online = online;
    if (!online) {
        b->stats.offline_published++;
        log_info("host %s: offline (%s)", h->id, reason ? reason : "");
    }
}

/* Hosts whose heartbeats stopped go offline. */
static void sweep_hosts(struct bridge *b, int64_t now_ms)
{
    int64_t after = b->cfg->bridge_offline_after_ms;
    char reason[64];
    snprintf(reason, sizeof reason, "no heartbeat for %" PRId64 "s", after / 1000);
    for (size_t i = 0; i < b->host_nbuckets; i++)
        for (struct bridge_host *h = b->host_buckets[i]; h; h = h->next)
            if (h->online && h->heartbeat_seen && now_ms - h->last_heartbeat_ms > after)
                bridge_publish_state(b, h, false, reason);
}

/* --- requests waiting for their PUBACK ------------------------------------------------ */

struct bridge_pending *bridge_pending_add(struct bridge *b, int mqtt_mid)
{
    struct bridge_pending *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->mqtt_mid = mqtt_mid;
    p->deadline_ms = clock_mono_ms() + b->cfg->coap_puback_timeout_ms;
    p->prev = b->pending_tail;
    if (b->pending_tail)
        b->pending_tail->next = p;
    else
        b->pending_head = p;
    b->pending_tail = p;
    size_t i = (size_t)mqtt_mid & (b->pending_nbuckets - 1);
    p->hnext = b->pending_buckets[i];
    b->pending_buckets[i] = p;
    b->pending_count++;
    return p;
}

void bridge_pending_free(struct bridge *b, struct bridge_pending *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        b->pending_head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    else
        b->pending_tail = p->prev;
    size_t i = (size_t)p->mqtt_mid & (b->pending_nbuckets - 1);
    struct bridge_pending *before = NULL;
    for (struct bridge_pending *q = b->pending_buckets ? b->pending_buckets[i] : NULL; q != NULL;
         before = q, q = q->hnext) {
        if (q == p) {
            if (before)
                before->hnext = q->hnext;
            else
                b->pending_buckets[i] = q->hnext;
            break;
        }
    }
    b->pending_count--;
    if (p->session)
        coap_session_release(p->session);
    free(p);
}

void bridge_pending_answer_mid(struct bridge *b, int mqtt_mid, int code)
{
    for (struct bridge_pending *p =
             b->pending_buckets[(size_t)mqtt_mid & (b->pending_nbuckets - 1)];
         p; p = p->hnext) {
        if (p->mqtt_mid == mqtt_mid && p->code == 0) {
            p->code = code;
            bridge_coap_complete(b, p);
            return;
        }
    }
}

void bridge_pending_answer_all(struct bridge *b, int code)
{
    struct bridge_pending *p = b->pending_head;
    while (p) {
        struct bridge_pending *next = p->next;
        if (p->code == 0) {
            p->code = code;
            bridge_coap_complete(b, p); /* may free p */
        }
        p = next;
    }
}

static void sweep_pending(struct bridge *b, int64_t now_ms)
{
    struct bridge_pending *p = b->pending_head;
    while (p && p->deadline_ms <= now_ms) {
        struct bridge_pending *next = p->next;
        if (p->code == 0) {
            log_warn("no PUBACK within %" PRId64 " ms for a %s message of host %s: 5.03",
                     b->cfg->coap_puback_timeout_ms, topic_kind_name(payload_topic_kind(p->kind)),
                     p->host->id);
            p->code = 503;
            bridge_coap_complete(b, p);
        }
        p = next;
    }
}

/* --- status ------------------------------------------------------------------------- */

void bridge_status_json(const struct bridge *b, char *out, size_t size)
{
    const struct bridge_stats *s = &b->stats;
    int n =
        snprintf(out, size,
                 "{\"broker\":\"%s\",\"hosts\":%zu,\"pending\":%zu,\"requests\":%" PRIu64
                 ",\"published\":%" PRIu64 ",\"duplicates\":%" PRIu64 ",\"notifications\":%" PRIu64
                 ",\"offline_published\":%" PRIu64 ",\"dtls_failures\":%" PRIu64 ",\"rejected\":{",
                 b->mqtt_connected ? "connected" : "disconnected", b->host_count, b->pending_count,
                 s->requests, s->published, s->duplicates, s->notifications, s->offline_published,
                 s->dtls_failures);
    for (int i = 0; i < REJECT_COUNT && n > 0 && (size_t)n < size; i++)
        n += snprintf(out + n, size - (size_t)n, "%s\"%s\":%" PRIu64, i ? "," : "", reject_names[i],
                      s->rejected[i]);
    if (n > 0 && (size_t)n < size)
        snprintf(out + n, size - (size_t)n, "}}");
}

/* --- life cycle and loop -------------------------------------------------------------- */

int bridge_new(struct bridge_config *cfg, struct bridge **out)
{
    struct bridge *b = calloc(1, sizeof *b);
    if (b == NULL)
        return -ENOMEM;
    b->cfg = cfg;
    snprintf(b->topic_root, sizeof b->topic_root, "%s", cfg->mqtt_topic_root);
    b->host_nbuckets = 1024;
    while (b->host_nbuckets < (size_t)cfg->coap_max_hosts)
        b->host_nbuckets <<= 1;
    b->pending_nbuckets = 4096;
    /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
    b->host_buckets = calloc(b->host_nbuckets, sizeof *b->host_buckets);
    /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
    b->pending_buckets = calloc(b->pending_nbuckets, sizeof *b->pending_buckets);
    b->dedupe = dedupe_new((size_t)cfg->coap_dedupe_max, cfg->coap_dedupe_window_ms);
    b->blocks = blockwise_new(BLOCKWISE_TRANSFERS, (size_t)cfg->coap_max_body, BLOCKWISE_IDLE_MS);
    if (b->host_buckets == NULL || b->pending_buckets == NULL || b->dedupe == NULL ||
        b->blocks == NULL) {
        bridge_free(b);
        return -ENOMEM;
    }
    if (cfg->coap_psk_file[0] != '\0') {
        char err[300];
        int rc = psk_load(cfg->coap_psk_file, &b->psk, err, sizeof err);
        if (rc != 0) {
            log_error("[coap] psk_file: %s", err);
            bridge_free(b);
            return rc == -ENOMEM ? rc : -EINVAL;
        }
    }
    int rc = bridge_coap_start(b);
    if (rc == 0)
        rc = bridge_mqtt_start(b);
    if (rc != 0) {
        bridge_free(b);
        return rc;
    }
    /* Hosts bound to a PSK identity are known from the start: they can observe at once. */
    for (size_t i = 0; i < b->psk.count; i++)
        (void)bridge_host_get(b, b->psk.entries[i].host);
    *out = b;
    return 0;
}

static void periodic(struct bridge *b, int64_t now)
{
    if (now >= b->next_sweep_ms) {
        sweep_pending(b, now);
        sweep_hosts(b, now);
        b->next_sweep_ms = now + SWEEP_INTERVAL_MS;
    }
    if (now >= b->next_status_ms) {
        if (b->next_status_ms != 0) {
            char status[768];
            bridge_status_json(b, status, sizeof status);
            log_info("status %s", status);
        }
        b->next_status_ms = now + b->cfg->bridge_status_interval_ms;
    }
}

/* The loop's own descriptors share libcoap's epoll set (coap_context_get_coap_fd); their
 * events carry these markers, every other event is libcoap's (coap_io_do_epoll). */
static char mark_signal, mark_mqtt;

/* Keeps the broker socket (new with each connection) registered, with EPOLLOUT while
 * libmosquitto has bytes to write. */
static void sync_mqtt_fd(struct bridge *b, int epfd)
{
    int fd = bridge_mqtt_fd(b);
    bool out = fd >= 0 && bridge_mqtt_want_write(b);
    if (fd == b->mqtt_fd_polled && out == b->mqtt_fd_pollout)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = &mark_mqtt};
    if (fd == b->mqtt_fd_polled)
        (void)epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
    else {
        if (b->mqtt_fd_polled >= 0)
            (void)epoll_ctl(epfd, EPOLL_CTL_DEL, b->mqtt_fd_polled, NULL);
        if (fd >= 0)
            (void)epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
    }
    b->mqtt_fd_polled = fd;
    b->mqtt_fd_pollout = out;
}

/* libcoap reads one datagram per event: read on (up to a batch) while more are queued, with
 * the broker socket corked so the batch's PUBLISHes leave together. */
static void coap_events(struct bridge *b, struct epoll_event *evs, int n)
{
    bridge_mqtt_cork(b, true);
    for (int i = 0; i < COAP_READS_PER_WAKE; i++) {
        coap_io_do_epoll(b->coap, evs, (size_t)n);
        if (!bridge_coap_more_to_read(b))
            break;
    }
    bridge_mqtt_cork(b, false);
}

int bridge_run(struct bridge *b, const sigset_t *stop_signals)
{
    int sfd = signalfd(-1, stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0)
        return -errno;
    int epfd = coap_context_get_coap_fd(b->coap);
    struct epoll_event sev = {.events = EPOLLIN, .data.ptr = &mark_signal};
    if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &sev) != 0) {
        log_error("libcoap has no epoll descriptor to wait on");
        close(sfd);
        return -ENOTSUP;
    }
    b->mqtt_fd_polled = -1;
    bool busy = false;
    int64_t last_prepare_ms = 0;
    unsigned wait_ms = 0;
    for (;;) {
        int64_t now = clock_mono_ms();
        periodic(b, now);
        sync_mqtt_fd(b, epfd);
        /* libcoap's timers (retransmissions, observe notifications, idle sessions) cost a walk
         * over every session: under load every PREPARE_INTERVAL_MS, always before going idle. */
        if (!busy || now - last_prepare_ms >= PREPARE_INTERVAL_MS) {
            coap_tick_t ticks;
            coap_ticks(&ticks);
            wait_ms = coap_io_prepare_epoll(b->coap, ticks);
            last_prepare_ms = now;
        }
        int timeout = wait_ms == 0 || wait_ms > LOOP_MAX_WAIT_MS ? LOOP_MAX_WAIT_MS : (int)wait_ms;
        if (busy && timeout > 1)
            timeout = 1;
        struct epoll_event evs[16], coap_evs[16];
        int n = epoll_wait(epfd, evs, 16, timeout);
        if (n < 0 && errno != EINTR) {
            int e = errno;
            close(sfd);
            return -e;
        }
        bool stop = false, mqtt_in = false, mqtt_out = false;
        int nc = 0;
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == &mark_signal)
                stop = true;
            else if (evs[i].data.ptr == &mark_mqtt) {
                mqtt_in = (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0;
                mqtt_out = (evs[i].events & EPOLLOUT) != 0;
            } else
                coap_evs[nc++] = evs[i];
        }
        if (stop) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
                log_info("signal %u: stopping", si.ssi_signo);
            break;
        }
        busy = n > 0;
        if (nc > 0)
            coap_events(b, coap_evs, nc);
        bridge_mqtt_io(b, clock_mono_ms(), mqtt_in, mqtt_out);
    }
    if (b->mqtt_fd_polled >= 0)
        (void)epoll_ctl(epfd, EPOLL_CTL_DEL, b->mqtt_fd_polled, NULL);
    (void)epoll_ctl(epfd, EPOLL_CTL_DEL, sfd, NULL);
    close(sfd);
    return 0;
}

void bridge_free(struct bridge *b)
{
    if (b == NULL)
        return;
    if (b->coap != NULL) {
        bridge_pending_answer_all(b, 503);
        coap_io_process(b->coap, COAP_IO_NO_WAIT); /* send those answers */
    }
    for (struct bridge_pending *p = b->pending_head, *next; p != NULL; p = next) {
        next = p->next;
        bridge_pending_free(b, p);
    }
    bridge_mqtt_stop(b);
    bridge_coap_stop(b);
    if (b->host_buckets) {
        for (size_t i = 0; i < b->host_nbuckets; i++) {
            struct bridge_host *h = b->host_buckets[i];
            while (h) {
                struct bridge_host *next = h->next;
                free(h->ack);
                free(h->config);
                free(h);
                h = next;
            }
        }
    }
    free(b->host_buckets);
    free(b->pending_buckets);
    dedupe_free(b->dedupe);
    blockwise_free(b->blocks);
    psk_free(&b->psk);
    free(b);
}
