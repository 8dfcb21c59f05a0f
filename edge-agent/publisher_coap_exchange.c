/* The CoAP publisher's traffic (see publisher_coap_internal.h): requests in slots keyed by
 * their token, Observe registrations, and libcoap's handlers. The handlers run inside libcoap
 * (coap_io_process, coap_send) and only record: answers in the slots and p->state_code,
 * losses in p->lost, 5.03 in p->unavailable, notifications in p->pending, which
 * publisher_coap_exchange hands to on_message once libcoap has returned. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "edge-agent/publisher_coap_internal.h"

#define LOG_MODULE "coap"
#include "common/log.h"

#define REREGISTER_MS ((int64_t)10 * 60 * 1000) /* observe again after this long without news */
#define UNSEEN_RETRY_MS ((int64_t)1000)         /* observe again when the answer lacked Observe */
#define REFUSED_RETRY_MS ((int64_t)60 * 1000)   /* observe again after a 4.xx on the GET */
#define REFUSED_LOG_PERIOD_MS ((int64_t)10000)
#define ACK_SILENCE_MIN_MS ((int64_t)30 * 1000) /* delivered packs, no ack: observe again */

/* libcoap's handlers get the session; its context leads back to us through the context's app
 * data, read with the table of the library loaded (one publisher per process). */
static const struct libcoap_dl *handler_lib;

static struct coap_pub *from_session(coap_session_t *s)
{
    if (handler_lib == NULL)
        return NULL;
    struct coap_pub *p = handler_lib->get_app_data(handler_lib->session_get_context(s));
    return p != NULL && p->session == s ? p : NULL; /* not an old session's leftovers */
}

static const char *code_text(int code, char *buf, size_t size)
{
    snprintf(buf, size, "%u.%02u", (unsigned)(code >> 5) & 7u, (unsigned)code & 0x1fu);
    return buf;
}

/* ---- requests --------------------------------------------------------------------------- */

static struct coap_request *find_request(struct coap_pub *p, const uint8_t *token, size_t len)
{
    for (size_t i = 0; i < sizeof p->req / sizeof p->req[0]; i++)
        if (p->req[i].used && p->req[i].token_len == len &&
            memcmp(p->req[i].token, token, len) == 0)
            return &p->req[i];
    return NULL;
}

static struct coap_request *free_slot(struct coap_pub *p, enum coap_role role)
{
    if (role == COAP_ROLE_PUBLISH && p->n_publish >= p->opts.max_inflight)
        return NULL;
    for (size_t i = 0; i < sizeof p->req / sizeof p->req[0]; i++)
        if (!p->req[i].used)
            return &p->req[i];
    return NULL;
}

static void request_done(struct coap_pub *p, struct coap_request *r)
{
    if (r->role == COAP_ROLE_PUBLISH)
        p->n_publish--;
    r->used = false;
}

static void release_body(coap_session_t *session, void *body)
{
    (void)session;
    free(body);
}

static int add_path(struct coap_pub *p, coap_pdu_t *pdu, const char *path)
{
    for (const char *seg = path; *seg != '\0';) {
        size_t n = strcspn(seg, "/");
        if (p->lib.add_option(pdu, COAP_OPTION_URI_PATH, n, (const uint8_t *)seg) == 0)
            return -ENOMEM;
        seg += n;
        if (*seg == '/')
            seg++;
    }
    return 0;
}

/* A CON request with a fresh token and its Uri-Path; a GET also asks to observe. */
static coap_pdu_t *new_request(struct coap_pub *p, coap_pdu_code_t code, const char *path,
                               uint8_t *token, size_t *token_len)
{
    coap_pdu_t *pdu = p->lib.new_pdu(COAP_MESSAGE_CON, code, p->session);
    if (pdu == NULL)
        return NULL;
    p->lib.session_new_token(p->session, token_len, token);
    uint8_t buf[4];
    if (p->lib.add_token(pdu, *token_len, token) == 0 ||
        (code == COAP_REQUEST_CODE_GET &&
         p->lib.add_option(pdu, COAP_OPTION_OBSERVE,
                           p->lib.encode_var_safe(buf, sizeof buf, COAP_OBSERVE_ESTABLISH),
                           buf) == 0) ||
        add_path(p, pdu, path) != 0) {
        p->lib.delete_pdu(pdu);
        return NULL;
    }
    return pdu;
}

/* Sends body (route's format) in slot r. libcoap owns body from the call on: release_body
 * runs once it is sent (all of its blocks), or at once on failure. */
static int send_post(struct coap_pub *p, struct coap_request *r,
                     const struct publisher_coap_route *route, uint8_t *body, size_t len)
{
    coap_pdu_t *pdu = new_request(p, COAP_REQUEST_CODE_POST, route->path, r->token, &r->token_len);
    uint8_t cf[4];
    if (pdu == NULL ||
        p->lib.add_option(pdu, COAP_OPTION_CONTENT_FORMAT,
                          p->lib.encode_var_safe(cf, sizeof cf, (unsigned)route->content_format),
                          cf) == 0) {
        if (pdu != NULL)
            p->lib.delete_pdu(pdu);
        free(body);
        return -EIO;
    }
    if (p->lib.add_data_large_request(p->session, pdu, len, body, release_body, body) == 0) {
        p->lib.delete_pdu(pdu);
        return -EIO;
    }
    return p->lib.send(p->session, pdu) == COAP_INVALID_MID ? -EIO : 0;
}

int publisher_coap_post(struct coap_pub *p, enum coap_role role, const char *topic,
                        const void *payload, size_t len)
{
    struct publisher_coap_route route;
    uint8_t *body = NULL;
    size_t body_len = 0;
    char why[160] = "";
    struct coap_request *r = free_slot(p, role);
    if (r == NULL)
        return -EAGAIN;
    if (publisher_coap_route(p->root, topic, &route) != 0) {
        log_warn("%s is not a topic under \"%s\": not sent", topic, p->root);
        return -EIO;
    }
    int rc = publisher_coap_body(&route, payload, len, clock_wall_ms(), &body, &body_len, why,
                                 sizeof why);
    if (rc != 0) {
        log_warn("/%s not sent: %s", route.path, rc == -ENOMEM ? "out of memory" : why);
        return -EIO;
    }
    if (send_post(p, r, &route, body, body_len) != 0)
        return -EIO;
    r->used = true; /* send_post has put the token in */
    r->role = role;
    r->kind = route.kind;
    r->sent_mono_ms = clock_mono_ms();
    snprintf(r->path, sizeof r->path, "%s", route.path);
    if (role == COAP_ROLE_PUBLISH)
        p->n_publish++;
    else
        p->state_code = 0;
    return 0;
}

/* ---- observations ----------------------------------------------------------------------- */

static struct coap_observation *find_observation(struct coap_pub *p, const uint8_t *token,
                                                 size_t len)
{
    for (size_t i = 0; i < p->n_obs; i++)
        if (p->obs[i].token_len == len && len > 0 && memcmp(p->obs[i].token, token, len) == 0)
            return &p->obs[i];
    return NULL;
}

static void observe(struct coap_pub *p, struct coap_observation *o, int64_t now_mono_ms)
{
    if (o->registered) { /* the bridge (and libcoap) forget the old registration */
        coap_binary_t old = {o->token_len, o->token};
        (void)p->lib.cancel_observe(p->session, &old, COAP_MESSAGE_NON);
    }
    o->registered = false;
    o->register_at_mono_ms = now_mono_ms + REREGISTER_MS; /* unless an answer says otherwise */
    coap_pdu_t *pdu = new_request(p, COAP_REQUEST_CODE_GET, o->route.path, o->token, &o->token_len);
    if (pdu == NULL || p->lib.send(p->session, pdu) == COAP_INVALID_MID) {
        log_warn("cannot observe /%s now; trying again in %llds", o->route.path,
                 (long long)(UNSEEN_RETRY_MS / 1000));
        o->register_at_mono_ms = now_mono_ms + UNSEEN_RETRY_MS;
    }
}

void publisher_coap_observe_due(struct coap_pub *p, int64_t now_mono_ms)
{
    if (p->ack_silence_ms == 0)
        p->ack_silence_ms = ACK_SILENCE_MIN_MS;
    if (p->unacked_since_mono_ms != 0 &&
        now_mono_ms - p->unacked_since_mono_ms > p->ack_silence_ms) {
        log_info("no ack %llds after a pack was delivered: observing again (a restarted "
                 "bridge forgets its observers)",
                 (long long)(p->ack_silence_ms / 1000));
        for (size_t i = 0; i < p->n_obs; i++)
            observe(p, &p->obs[i], now_mono_ms);
        p->unacked_since_mono_ms = now_mono_ms;
        p->ack_silence_ms = p->ack_silence_ms * 2 > REREGISTER_MS ? REREGISTER_MS
                                                                  : p->ack_silence_ms * 2;
        return;
    }
    for (size_t i = 0; i < p->n_obs; i++)
        if (p->obs[i].register_at_mono_ms != 0 && now_mono_ms >= p->obs[i].register_at_mono_ms)
            observe(p, &p->obs[i], now_mono_ms);
}

void publisher_coap_observe_all(struct coap_pub *p, int64_t now_mono_ms)
{
    for (size_t i = 0; i < p->n_obs; i++)
        if (!p->obs[i].registered)
            observe(p, &p->obs[i], now_mono_ms);
}

static void queue_message(struct coap_pub *p, size_t obs, const uint8_t *data, size_t len)
{
    if (p->n_pending == COAP_PENDING_MAX) {
        log_warn("more than %d notifications at once: the oldest dropped", COAP_PENDING_MAX);
        free(p->pending[0].payload);
        memmove(&p->pending[0], &p->pending[1], (COAP_PENDING_MAX - 1) * sizeof p->pending[0]);
        p->n_pending--;
    }
    uint8_t *copy = malloc(len);
    if (copy == NULL)
        return; /* an ack missed: the spool sends those packs again */
    memcpy(copy, data, len);
    p->pending[p->n_pending++] = (struct coap_pending){.obs = obs, .payload = copy, .len = len};
}

static void deliver(struct coap_pub *p)
{
    for (size_t i = 0; i < p->n_pending; i++) {
        struct coap_pending *m = &p->pending[i];
        const struct coap_observation *o = &p->obs[m->obs];
        p->stats.received++;
        if (p->opts.on_message != NULL)
            p->opts.on_message(p->opts.user, o->topic, m->payload, m->len,
                               o->route.kind == TOPIC_KIND_CONFIG);
        free(m->payload);
    }
    p->n_pending = 0;
}

/* ---- libcoap's handlers ----------------------------------------------------------------- */

/* A short diagnostic payload, printable only, for the log. */
static void diagnostic(struct coap_pub *p, const coap_pdu_t *pdu, char *out, size_t size)
{
    size_t len = 0, offset = 0, total = 0, n = 0;
    const uint8_t *data = NULL;
    if (p->lib.get_data_large(pdu, &len, &data, &offset, &total) != 0)
        for (size_t i = 0; i < len && n + 1 < size; i++) {
            char ch = '?';
            if (data[i] >= 0x20 && data[i] < 0x7f)
                ch = (char)data[i];
            out[n++] = ch;
        }
    out[n] = '\0';
}

static void on_notification(struct coap_pub *p, struct coap_observation *o, const coap_pdu_t *pdu,
                            int code)
{
    int64_t now = clock_mono_ms();
    char c[8], why[120];
    coap_opt_iterator_t it;
    if (code != COAP_RESPONSE_CODE_CONTENT) {
        diagnostic(p, pdu, why, sizeof why);
        log_warn("observing /%s refused: %s %s; trying again in %llds", o->route.path,
                 code_text(code, c, sizeof c), why, (long long)(REFUSED_RETRY_MS / 1000));
        o->registered = false;
        o->register_at_mono_ms = now + REFUSED_RETRY_MS;
        return;
    }
    o->registered = p->lib.check_option(pdu, COAP_OPTION_OBSERVE, &it) != NULL;
    /* Without Observe the bridge had not seen us yet (docs/coap.md): register again soon. */
    o->register_at_mono_ms = now + (o->registered ? REREGISTER_MS : UNSEEN_RETRY_MS);
    size_t len = 0, offset = 0, total = 0;
    const uint8_t *data = NULL;
    if (p->lib.get_data_large(pdu, &len, &data, &offset, &total) == 0 || len == 0)
        return;
    queue_message(p, (size_t)(o - p->obs), data, len);
    if (o->route.kind == TOPIC_KIND_ACK) {
        p->unacked_since_mono_ms = 0;
        p->ack_silence_ms = ACK_SILENCE_MIN_MS;
    }
}

static void on_answer(struct coap_pub *p, struct coap_request *r, const coap_pdu_t *pdu, int code)
{
    char c[8], why[160];
    coap_opt_iterator_t it;
    uint64_t suppressed = 0;
    if (r->role != COAP_ROLE_PUBLISH)
        p->state_code = code;
    if (code == COAP_RESPONSE_CODE(503)) {
        coap_opt_t *age = p->lib.check_option(pdu, COAP_OPTION_MAXAGE, &it);
        p->unavailable = true;
        p->unavailable_ms = publisher_coap_max_age_ms(age != NULL ? p->lib.opt_value(age) : NULL,
                                                      age != NULL ? p->lib.opt_length(age) : 0);
        p->stats.failed++;
    } else if (COAP_RESPONSE_CLASS(code) == 2) {
        if (r->kind == TOPIC_KIND_METRICS && p->unacked_since_mono_ms == 0)
            p->unacked_since_mono_ms = clock_mono_ms();
    } else {
        p->stats.failed++;
        diagnostic(p, pdu, why, sizeof why);
        if (log_ratelimit_allow(&p->refused_rl, clock_mono_ms(), REFUSED_LOG_PERIOD_MS,
                                &suppressed))
            log_warn("bridge refused POST /%s: %s %s%s", r->path, code_text(code, c, sizeof c), why,
                     suppressed > 0 ? " (and more since, not logged)" : "");
    }
    request_done(p, r);
}

static coap_response_t on_response(coap_session_t *session, const coap_pdu_t *sent,
                                   const coap_pdu_t *received, const coap_mid_t mid)
{
    (void)sent;
    (void)mid;
    struct coap_pub *p = from_session(session);
    if (p == NULL)
        return COAP_RESPONSE_OK;
    coap_bin_const_t token = p->lib.pdu_get_token(received);
    int code = p->lib.pdu_get_code(received);
    struct coap_observation *o = find_observation(p, token.s, token.length);
    if (o != NULL) {
        on_notification(p, o, received, code);
        return COAP_RESPONSE_OK;
    }
    struct coap_request *r = find_request(p, token.s, token.length);
    if (r == NULL)
        return COAP_RESPONSE_FAIL; /* not ours (an old registration): libcoap resets it */
    on_answer(p, r, received, code);
    return COAP_RESPONSE_OK;
}

static void on_nack(coap_session_t *session, const coap_pdu_t *sent,
                    const coap_nack_reason_t reason, const coap_mid_t mid)
{
    (void)mid;
    struct coap_pub *p = from_session(session);
    if (p == NULL)
        return;
    switch (reason) {
    case COAP_NACK_ICMP_ISSUE: /* libcoap keeps retransmitting: the retries decide */
        return;
    case COAP_NACK_RST:
        if (sent != NULL) { /* the bridge would not take it: the spool sends it again */
            coap_bin_const_t token = p->lib.pdu_get_token(sent);
            struct coap_request *r = find_request(p, token.s, token.length);
            if (r != NULL) {
                p->stats.failed++;
                request_done(p, r);
            }
        }
        return;
    case COAP_NACK_TLS_FAILED:
        p->lost = "the DTLS handshake failed (PSK identity or key refused?)";
        return;
    case COAP_NACK_TOO_MANY_RETRIES:
    case COAP_NACK_NOT_DELIVERABLE:
    default:
        p->lost = "no answer after all retransmissions";
        return;
    }
}

static int on_event(coap_session_t *session, const coap_event_t event)
{
    struct coap_pub *p = from_session(session);
    if (p == NULL)
        return 0;
    if (event == COAP_EVENT_DTLS_CLOSED)
        p->lost = "the bridge closed the DTLS session";
    else if (event == COAP_EVENT_DTLS_ERROR || event == COAP_EVENT_SESSION_FAILED)
        p->lost = "the DTLS handshake failed (PSK identity or key refused?)";
    return 0;
}

void publisher_coap_handlers_set(struct coap_pub *p)
{
    handler_lib = &p->lib;
    p->lib.set_app_data(p->ctx, p);
    p->lib.register_response_handler(p->ctx, on_response);
    p->lib.register_nack_handler(p->ctx, on_nack);
    p->lib.register_event_handler(p->ctx, on_event);
}

void publisher_coap_handlers_clear(struct coap_pub *p)
{
    if (p->ctx != NULL)
        p->lib.set_app_data(p->ctx, NULL);
    if (handler_lib == &p->lib)
        handler_lib = NULL;
}

/* ---- driving it ------------------------------------------------------------------------- */

void publisher_coap_exchange(struct coap_pub *p, int64_t wait_ms)
{
    (void)p->lib.io_process(p->ctx, wait_ms <= 0 ? COAP_IO_NO_WAIT : (uint32_t)wait_ms);
    deliver(p);
    int64_t now = clock_mono_ms();
    /* Answered with an ACK, then silence: the bridge went away while it waited. */
    for (size_t i = 0; i < sizeof p->req / sizeof p->req[0]; i++)
        if (p->req[i].used && now - p->req[i].sent_mono_ms > p->opts.response_timeout_ms)
            p->lost = "a request stayed unanswered";
}

void publisher_coap_forget(struct coap_pub *p)
{
    for (size_t i = 0; i < sizeof p->req / sizeof p->req[0]; i++)
        p->req[i].used = false;
    p->n_publish = 0;
    for (size_t i = 0; i < p->n_obs; i++) {
        p->obs[i].token_len = 0;
        p->obs[i].registered = false;
        p->obs[i].register_at_mono_ms = 0;
    }
    p->lost = NULL;
    p->unavailable = false;
    p->state_code = 0;
    p->unacked_since_mono_ms = 0;
}
