/* CoAP publisher to updraft-bridge (see publisher.h, docs/coap.md) over libcoap loaded with
 * dlopen (libcoap_dl.h): its lifecycle, the publisher contract and the link's states
 * (publisher_coap_internal.h). Nothing here blocks: a connection attempt posts the birth and
 * later polls look for its answer, so collection goes on while the bridge does not answer.
 * What goes over the wire is publisher_coap_exchange.c. One thread: the agent's. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/clock.h"
#include "edge-agent/publisher_coap_internal.h"

#define LOG_MODULE "coap"
#include "common/log.h"

static int resolve(struct coap_pub *p, coap_address_t *dst)
{
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_family = AF_UNSPEC}, *ai = NULL;
    char port[8];
    snprintf(port, sizeof port, "%d", p->opts.port);
    int rc = getaddrinfo(p->host, port, &hints, &ai);
    if (rc != 0) {
        log_warn("cannot resolve %s: %s", p->host, gai_strerror(rc));
        return -EIO;
    }
    p->lib.address_init(dst);
    dst->size = ai->ai_addrlen;
    memcpy(&dst->addr, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    return 0;
}

static int open_session(struct coap_pub *p)
{
    coap_address_t dst;
    if (resolve(p, &dst) != 0)
        return -EIO;
    if (p->identity != NULL) {
        coap_dtls_cpsk_t psk = {.version = COAP_DTLS_CPSK_SETUP_VERSION};
        psk.psk_info.identity =
            (coap_bin_const_t){strlen(p->identity), (const uint8_t *)p->identity};
        psk.psk_info.key = (coap_bin_const_t){p->key_len, p->key};
        p->session = p->lib.new_client_session_psk2(p->ctx, NULL, &dst, COAP_PROTO_DTLS, &psk);
    } else {
        p->session = p->lib.new_client_session(p->ctx, NULL, &dst, COAP_PROTO_UDP);
    }
    if (p->session == NULL)
        return -EIO;
    int64_t ms = p->opts.ack_timeout_ms;
    p->lib.session_set_ack_timeout(
        p->session, (coap_fixed_point_t){(uint16_t)(ms / 1000), (uint16_t)(ms % 1000)});
    p->lib.session_set_max_retransmit(p->session, (uint16_t)p->opts.max_retransmit);
    /* NSTART 1 would hold each CON until the one before is acknowledged. */
    p->lib.session_set_nstart(p->session, (uint16_t)(p->opts.max_inflight + 1));
    return 0;
}

/* A released session lingers in libcoap while it has CONs to retransmit; one given up on
 * (lost: the bridge is gone) drops them at once and cancels no observation. The handlers
 * ignore it from here on (p->session no longer names it). */
static void close_session(struct coap_pub *p, bool lost)
{
    coap_session_t *s = p->session;
    p->session = NULL;
    if (s != NULL) {
        if (lost) {
            p->lib.session_set_no_observe_cancel(s);
            p->lib.session_disconnected(s, COAP_NACK_NOT_DELIVERABLE);
        }
        p->lib.session_release(s); /* frees the bodies still held */
    }
    publisher_coap_forget(p);
}

/* Down: a new session after backoff (doubling, +-25 % jitter). */
static void go_down(struct coap_pub *p, int64_t now_mono_ms, const char *why)
{
    unsigned r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
        r = (unsigned)now_mono_ms;
    int64_t delay = publisher_coap_jitter_ms(p->backoff_ms, r);
    close_session(p, true);
    p->link = COAP_LINK_DOWN;
    p->retry_at_mono_ms = now_mono_ms + delay;
    log_warn("%s: %s; retrying in %.1fs", p->server, why, (double)delay / 1000.0);
    p->backoff_ms =
        p->backoff_ms * 2 > p->opts.reconnect_max_ms ? p->opts.reconnect_max_ms : p->backoff_ms * 2;
}

/* 5.03: the bridge is there, its broker is not. Paused for Max-Age, said once a pause. */
static void pause_for_broker(struct coap_pub *p, int64_t now_mono_ms)
{
    if (p->paused_since_mono_ms == 0) {
        p->paused_since_mono_ms = now_mono_ms;
        log_warn("%s cannot deliver (5.03: its broker is unavailable); packs stay in the "
                 "spool, asking again every %llds",
                 p->server, (long long)(p->unavailable_ms / 1000));
    }
    p->link = COAP_LINK_PAUSED;
    p->unavailable = false;
    p->retry_at_mono_ms = now_mono_ms + p->unavailable_ms;
}

static void start_connecting(struct coap_pub *p, int64_t now_mono_ms)
{
    if (p->session == NULL && open_session(p) != 0) {
        go_down(p, now_mono_ms, "cannot create a session");
        return;
    }
    if (publisher_coap_post(p, COAP_ROLE_BIRTH, p->state_topic, p->birth, strlen(p->birth)) != 0) {
        go_down(p, now_mono_ms, "cannot send the birth message");
        return;
    }
    p->link = COAP_LINK_CONNECTING;
    p->connecting_since_mono_ms = now_mono_ms;
}

static unsigned connected(struct coap_pub *p, int64_t now_mono_ms)
{
    p->link = COAP_LINK_UP;
    p->unavailable = false; /* a late 5.03 for a request from before the pause */
    p->backoff_ms = p->opts.reconnect_min_ms;
    p->stats.connects++;
    if (p->paused_since_mono_ms != 0)
        log_info("%s delivers again (after %.0fs of 5.03)", p->server,
                 (double)(now_mono_ms - p->paused_since_mono_ms) / 1000.0);
    else
        log_info("connected to %s", p->server);
    p->paused_since_mono_ms = 0;
    publisher_coap_observe_all(p, now_mono_ms); /* a new session's, or lost registrations */
    return PUBLISHER_POLL_CONNECTED;
}

/* The birth's answer decides: 2.xx connected, 5.03 paused, anything else down. */
static unsigned poll_connecting(struct coap_pub *p, int64_t now_mono_ms)
{
    char why[64];
    int code = p->state_code;
    if (p->lost != NULL) {
        go_down(p, now_mono_ms, p->lost);
    } else if (COAP_RESPONSE_CLASS(code) == 2) {
        return connected(p, now_mono_ms);
    } else if (code == COAP_RESPONSE_CODE(503)) {
        pause_for_broker(p, now_mono_ms);
    } else if (code != 0) {
        snprintf(why, sizeof why, "the birth message was answered %u.%02u",
                 (unsigned)(code >> 5) & 7u, (unsigned)code & 0x1fu);
        go_down(p, now_mono_ms, why);
    } else if (now_mono_ms - p->connecting_since_mono_ms > p->opts.connect_timeout_ms) {
        bool handshake = p->identity != NULL &&
                         p->lib.session_get_state(p->session) != COAP_SESSION_STATE_ESTABLISHED;
        go_down(p, now_mono_ms,
                handshake ? "the DTLS handshake did not complete (PSK identity or key refused?)"
                          : "no answer to the birth message");
    }
    return 0;
}

static unsigned poll_up(struct coap_pub *p, int64_t wait_ms)
{
    publisher_coap_observe_due(p, clock_mono_ms());
    publisher_coap_exchange(p, wait_ms);
    int64_t now = clock_mono_ms();
    if (p->lost != NULL)
        go_down(p, now, p->lost);
    else if (p->unavailable)
        pause_for_broker(p, now);
    return p->link == COAP_LINK_UP ? 0 : PUBLISHER_POLL_LOST;
}

/* Not connected, poll returns at once (the agent sleeps meanwhile): what libcoap has ready
 * is read, the next step taken when due. */
static unsigned pub_poll(void *ctx, int64_t now_mono_ms, int64_t wait_ms)
{
    struct coap_pub *p = ctx;
    if (p->link == COAP_LINK_UP)
        return poll_up(p, wait_ms);
    if (p->session != NULL)
        publisher_coap_exchange(p, 0);
    if (p->link == COAP_LINK_CONNECTING)
        return poll_connecting(p, now_mono_ms);
    if (p->lost != NULL) /* paused, and now worse */
        go_down(p, now_mono_ms, p->lost);
    else if (now_mono_ms >= p->retry_at_mono_ms)
        start_connecting(p, now_mono_ms);
    return 0;
}

static int pub_publish(void *ctx, const char *topic, const void *payload, size_t len, bool retain)
{
    struct coap_pub *p = ctx;
    (void)retain; /* the bridge retains state and inventory itself (docs/coap.md) */
    int rc = p->link == COAP_LINK_UP
                 ? publisher_coap_post(p, COAP_ROLE_PUBLISH, topic, payload, len)
                 : -ENOTCONN;
    if (rc == 0)
        p->stats.published++;
    else
        p->stats.failed++;
    return rc;
}

static bool pub_connected(void *ctx)
{
    const struct coap_pub *p = ctx;
    return p->link == COAP_LINK_UP;
}

static void pub_stats(void *ctx, struct publisher_stats *out)
{
    const struct coap_pub *p = ctx;
    *out = p->stats;
}

static void free_pub(struct coap_pub *p)
{
    if (p == NULL)
        return;
    close_session(p, false);
    publisher_coap_handlers_clear(p);
    if (p->ctx != NULL)
        p->lib.free_context(p->ctx);
    libcoap_dl_unload(&p->lib);
    for (size_t i = 0; i < p->n_pending; i++)
        free(p->pending[i].payload);
    char *owned[] = {p->host, p->root, p->state_topic, p->birth, p->will, p->identity};
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
        free(owned[i]);
    for (size_t i = 0; i < p->n_obs; i++)
        free(p->obs[i].topic);
    explicit_bzero(p->key, sizeof p->key);
    free(p);
}

/* CoAP has no Last Will: the offline state is posted, and its answer awaited. */
static void pub_close(void *ctx, int64_t timeout_ms)
{
    struct coap_pub *p = ctx;
    if (p->link == COAP_LINK_UP &&
        publisher_coap_post(p, COAP_ROLE_WILL, p->state_topic, p->will, strlen(p->will)) == 0) {
        int64_t until = clock_mono_ms() + timeout_ms;
        for (int64_t now = clock_mono_ms(); p->state_code == 0 && p->lost == NULL && now < until;
             now = clock_mono_ms())
            publisher_coap_exchange(p, until - now < 100 ? until - now : 100);
        if (COAP_RESPONSE_CLASS(p->state_code) != 2)
            log_warn("the offline state did not reach %s", p->server);
    }
    free_pub(p);
}

static int read_key(struct coap_pub *p, const char *path)
{
    char text[1024], why[120] = "";
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        log_error("[coap] psk_key_file \"%s\": %s", path, strerror(errno));
        return -EINVAL;
    }
    size_t n = fread(text, 1, sizeof text, f);
    bool too_long = n == sizeof text, failed = ferror(f) != 0;
    fclose(f);
    int rc = too_long || failed
                 ? -EINVAL
                 : publisher_coap_psk_parse(text, n, p->key, &p->key_len, why, sizeof why);
    explicit_bzero(text, sizeof text);
    if (rc != 0)
        log_error("[coap] psk_key_file \"%s\": %s", path,
                  too_long ? "longer than a key can be"
                  : failed ? "read error"
                           : why);
    return rc;
}

static int copy_options(struct coap_pub *p, const struct publisher_coap_options *o)
{
    p->opts = *o;
    p->host = strdup(o->host);
    p->root = strdup(o->topic_root);
    p->state_topic = strdup(o->state_topic);
    p->birth = strdup(o->birth_payload);
    p->will = strdup(o->will_payload);
    if (p->host == NULL || p->root == NULL || p->state_topic == NULL || p->birth == NULL ||
        p->will == NULL)
        return -ENOMEM;
    if (o->psk_identity != NULL && o->psk_identity[0] != '\0' &&
        (p->identity = strdup(o->psk_identity)) == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < PUBLISHER_MAX_SUBSCRIPTIONS && o->subscriptions[i] != NULL; i++) {
        struct coap_observation *ob = &p->obs[p->n_obs];
        if (publisher_coap_route(o->topic_root, o->subscriptions[i], &ob->route) != 0)
            return -EINVAL; /* publisher_coap_check has refused it already */
        if ((ob->topic = strdup(o->subscriptions[i])) == NULL)
            return -ENOMEM;
        p->n_obs++;
    }
    snprintf(p->server, sizeof p->server, "%s://%s:%d", p->identity != NULL ? "coaps" : "coap",
             o->host, o->port);
    p->backoff_ms = o->reconnect_min_ms;
    p->link = COAP_LINK_DOWN; /* the first poll connects */
    return 0;
}

static int make_context(struct coap_pub *p)
{
    p->ctx = p->lib.new_context(NULL);
    if (p->ctx == NULL) {
        log_error("libcoap cannot create a context");
        return -ENOMEM;
    }
    p->lib.set_block_mode(p->ctx, COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);
    publisher_coap_handlers_set(p);
    return 0;
}

int publisher_coap_new(const struct publisher_coap_options *opts, struct publisher *out)
{
    char why[160];
    if (publisher_coap_check(opts, why, sizeof why) != 0) {
        log_error("%s", why);
        return -EINVAL;
    }
    struct coap_pub *p = calloc(1, sizeof *p);
    if (p == NULL)
        return -ENOMEM;
    int rc = copy_options(p, opts);
    if (rc == 0 && p->identity != NULL)
        rc = read_key(p, opts->psk_key_file);
    if (rc == 0)
        rc = libcoap_dl_load(&p->lib, p->identity != NULL);
    if (rc == 0)
        rc = make_context(p);
    if (rc != 0) {
        free_pub(p);
        return rc;
    }
    *out = (struct publisher){.ctx = p,
                              .publish = pub_publish,
                              .connected = pub_connected,
                              .poll = pub_poll,
                              .stats = pub_stats,
                              .close = pub_close};
    return 0;
}
