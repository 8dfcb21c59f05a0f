/* The bridge's CoAP server (libcoap 4.3.1): endpoints, DTLS-PSK, the per-host resources,
 * and the answer rule — 2.04 only after the broker's PUBACK. The handler of a POST publishes
 * and leaves no response (code 0, type NON: libcoap sends nothing, not even an empty ACK);
 * when the PUBACK comes (typically well under a millisecond on a local broker, at most
 * [coap] puback_timeout, far inside the device's retransmission window), the bridge sends the
 * answer itself, piggybacked on the ACK of the request's message id. One datagram each way,
 * no separate response to acknowledge. A retransmission while we wait is dropped (the answer
 * will ACK it); one after the answer gets the same answer again from the dedupe cache. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "bridge/bridge_internal.h"
#include "common/clock.h"

#define LOG_MODULE "coap"
#include "common/log.h"

#define CF_TEXT 0
#define STATUS_MAX 1024

/* libcoap 4.3.1 has no per-context user pointer: one bridge per process. */
static struct bridge *the_bridge;
static coap_bin_const_t *psk_keys; /* one per PSK entry, pointing into b->psk */

static coap_pdu_code_t code_of(int code)
{
    return (coap_pdu_code_t)COAP_RESPONSE_CODE(code);
}

static void add_uint_option(coap_pdu_t *pdu, uint16_t opt, unsigned value)
{
    uint8_t buf[4];
    coap_add_option(pdu, opt, coap_encode_var_safe(buf, sizeof buf, value), buf);
}

/* A refusal or a plain answer: code, Max-Age for 5.03, Size1 for 4.13, a text diagnostic. */
static void answer(coap_pdu_t *response, int code, int max_age_s, const char *diag)
{
    coap_pdu_set_code(response, code_of(code));
    if (max_age_s > 0)
        add_uint_option(response, COAP_OPTION_MAXAGE, (unsigned)max_age_s);
    if (code == 413)
        add_uint_option(response, COAP_OPTION_SIZE1, (unsigned)the_bridge->cfg->coap_max_body);
    if (diag != NULL && diag[0] != '\0') {
        add_uint_option(response, COAP_OPTION_CONTENT_FORMAT, CF_TEXT);
        coap_add_data(response, strlen(diag), (const uint8_t *)diag);
    }
}

static void refuse(coap_pdu_t *response, enum bridge_reject why, int code, const char *what,
                   const char *diag)
{
    struct bridge *b = the_bridge;
    int max_age = code == 503 ? (int)(b->cfg->coap_retry_after_ms / 1000) : 0;
    bridge_reject(b, why, what, diag);
    answer(response, code, max_age, diag);
}

static size_t peer_key(coap_session_t *session, uint8_t out[DEDUPE_PEER_MAX])
{
    const coap_address_t *a = coap_session_get_addr_remote(session);
    size_t n = a->size < DEDUPE_PEER_MAX ? a->size : DEDUPE_PEER_MAX;
    memcpy(out, &a->addr, n);
    return n;
}

static int content_format(const coap_pdu_t *request)
{
    coap_opt_iterator_t it;
    coap_opt_t *opt = coap_check_option(request, COAP_OPTION_CONTENT_FORMAT, &it);
    if (opt == NULL)
        return PAYLOAD_CF_NONE;
    return (int)coap_decode_var_bytes(coap_opt_value(opt), coap_opt_length(opt));
}

/* Over DTLS a session may act only for the host its identity is bound to. */
static bool allowed_for(coap_session_t *session, const char *host, char *diag, size_t size)
{
    if (coap_session_get_proto(session) != COAP_PROTO_DTLS)
        return true;
    const coap_bin_const_t *id = coap_session_get_psk_identity(session);
    const struct psk_entry *e = id ? psk_find(&the_bridge->psk, id->s, id->length) : NULL;
    if (e != NULL && strcmp(e->host, host) == 0)
        return true;
    snprintf(diag, size, "identity \"%.*s\" may not act for host \"%s\"", id ? (int)id->length : 0,
             id ? (const char *)id->s : "", host);
    return false;
}

/* --- POST /t/<host>/<kind> ------------------------------------------------------------ */

/* Host bookkeeping for an accepted POST: heartbeat time, boot id, online state. */
static void note_post(struct bridge *b, struct bridge_host *h, enum payload_kind kind,
                      const struct payload_result *res)
{
    if (res->boot_id[0] != '\0')
        snprintf(h->boot_id, sizeof h->boot_id, "%s", res->boot_id);
    if (kind == PAYLOAD_HEARTBEAT) {
        h->heartbeat_seen = true;
        h->last_heartbeat_ms = clock_mono_ms();
    }
    if (kind == PAYLOAD_STATE)
        h->online = res->online;
    else if (!h->online)
        bridge_publish_state(b, h, true, NULL);
}

/* Leaves the response empty so libcoap sends nothing: code 0 on a NON is dropped. */
static void silence(coap_pdu_t *response)
{
    coap_pdu_set_code(response, COAP_EMPTY_CODE);
    coap_pdu_set_type(response, COAP_MESSAGE_NON);
}

/* Publishes res for h and parks the request until the PUBACK. */
static void publish_and_wait(struct bridge *b, struct bridge_host *h, enum payload_kind kind,
                             coap_session_t *session, const coap_pdu_t *request,
                             coap_pdu_t *response, const struct payload_result *res)
{
    char topic[TOPIC_MAX];
    int mid = 0;
    note_post(b, h, kind, res); /* a host coming online is announced before its first pack */
    if (topic_build(topic, sizeof topic, b->topic_root, h->id, payload_topic_kind(kind)) != 0 ||
        bridge_mqtt_publish(b, topic, res->out.data, res->out.len,
                            kind == PAYLOAD_INVENTORY || kind == PAYLOAD_STATE, &mid) != 0) {
        refuse(response, REJECT_BROKER_UNAVAILABLE, 503, h->id, "broker unavailable");
        return;
    }
    struct bridge_pending *p = bridge_pending_add(b, mid);
    if (p == NULL) { /* out of memory: published, but we cannot wait for it */
        refuse(response, REJECT_BROKER_UNAVAILABLE, 503, h->id, "bridge out of memory");
        return;
    }
    p->session = coap_session_reference(session);
    coap_bin_const_t token = coap_pdu_get_token(request);
    p->token_len = token.length < sizeof p->token ? token.length : sizeof p->token;
    memcpy(p->token, token.s, p->token_len);
    p->peer_len = peer_key(session, p->peer);
    p->coap_mid = (uint16_t)coap_pdu_get_mid(request);
    p->con = coap_pdu_get_type(request) == COAP_MESSAGE_CON;
    coap_opt_iterator_t it;
    coap_opt_t *block1 = coap_check_option(request, COAP_OPTION_BLOCK1, &it);
    if (block1 != NULL && coap_opt_length(block1) <= sizeof p->block1) {
        p->has_block1 = true;
        p->block1_len = coap_opt_length(block1);
        memcpy(p->block1, coap_opt_value(block1), p->block1_len);
    }
    p->host = h;
    p->kind = kind;
    (void)dedupe_insert(b->dedupe, p->peer, p->peer_len, p->coap_mid, clock_mono_ms());
    silence(response);
}

/* A retransmission (same peer, same message id): never published again. Returns true when
 * handled. */
static bool seen_before(struct bridge *b, coap_session_t *session, const coap_pdu_t *request,
                        coap_pdu_t *response)
{
    uint8_t peer[DEDUPE_PEER_MAX];
    size_t peer_len = peer_key(session, peer);
    struct dedupe_entry *e = dedupe_find(b->dedupe, peer, peer_len,
                                         (uint16_t)coap_pdu_get_mid(request), clock_mono_ms());
    if (e == NULL)
        return false;
    b->stats.duplicates++;
    if (e->state == DEDUPE_DONE)
        answer(response, e->code, e->max_age_s, e->code == 204 ? NULL : "broker unavailable");
    else
        silence(response); /* still waiting: the answer will ACK this copy too */
    return true;
}

/* One block of a transfer libcoap left to us: 0 and the whole body in *body (malloc'd) when
 * it was the last, else the request is answered here (2.31, 4.08, 4.13, 5.03) and -1. */
static int reassemble(struct bridge *b, coap_session_t *session, const coap_pdu_t *request,
                      coap_pdu_t *response, struct bridge_host *h, enum payload_kind kind,
                      const coap_block_t *blk, uint8_t **body, size_t *body_len)
{
    uint8_t key[BLOCKWISE_KEY_MAX];
    size_t n = peer_key(session, key);
    int w = snprintf((char *)key + n, sizeof key - n, "%s/%d", h->id, (int)kind);
    n += w > 0 ? (size_t)w : 0;
    coap_opt_iterator_t it;
    coap_opt_t *tag = coap_check_option(request, COAP_OPTION_RTAG, &it);
    if (tag != NULL && n + coap_opt_length(tag) <= sizeof key) {
        memcpy(key + n, coap_opt_value(tag), coap_opt_length(tag));
        n += coap_opt_length(tag);
    }
    size_t len = 0;
    const uint8_t *data = NULL;
    (void)coap_get_data(request, &len, &data);
    size_t size = (size_t)1 << (blk->szx + 4);
    char diag[200];
    switch (blockwise_add(b->blocks, key, n, blk->num, blk->m, size, data, len, clock_mono_ms(),
                          body, body_len)) {
    case BLOCKWISE_COMPLETE:
        return 0;
    case BLOCKWISE_CONTINUE:
        coap_pdu_set_code(response, COAP_RESPONSE_CODE(231));
        add_uint_option(response, COAP_OPTION_BLOCK1, blk->num << 4 | 1u << 3 | blk->szx);
        return -1;
    case BLOCKWISE_INCOMPLETE:
        snprintf(diag, sizeof diag, "block %u out of order: blocks come in order from block 0",
                 blk->num);
        refuse(response, REJECT_INCOMPLETE, 408, h->id, diag);
        return -1;
    case BLOCKWISE_TOO_LARGE:
        snprintf(diag, sizeof diag, "body over %lld bytes", (long long)b->cfg->coap_max_body);
        refuse(response, REJECT_TOO_LARGE, 413, h->id, diag);
        return -1;
    case BLOCKWISE_BUSY:
        break;
    }
    refuse(response, REJECT_BROKER_UNAVAILABLE, 503, h->id, "too many block-wise transfers");
    return -1;
}

static void post_kind(coap_resource_t *resource, coap_session_t *session, const coap_pdu_t *request,
                      coap_pdu_t *response, enum payload_kind kind, struct bridge_host *h)
{
    (void)resource;
    struct bridge *b = the_bridge;
    if (seen_before(b, session, request, response))
        return;
    b->stats.requests++;
    char diag[200];
    if (!allowed_for(session, h->id, diag, sizeof diag)) {
        refuse(response, REJECT_FORBIDDEN, 403, h->id, diag);
        return;
    }
    size_t len = 0, offset = 0, total = 0;
    const uint8_t *data = NULL;
    uint8_t *assembled = NULL;
    (void)coap_get_data_large(request, &len, &data, &offset, &total);
    coap_block_t blk;
    if (coap_get_block(request, COAP_OPTION_BLOCK1, &blk)) {
        /* A block libcoap did not reassemble (no Size1, or a piece out of order). */
        int rc = reassemble(b, session, request, response, h, kind, &blk, &assembled, &len);
        if (rc != 0)
            return;
        data = assembled;
        total = len;
    }
    if (total > (size_t)b->cfg->coap_max_body || len > (size_t)b->cfg->coap_max_body) {
        snprintf(diag, sizeof diag, "body of %zu bytes; at most %lld", total > len ? total : len,
                 (long long)b->cfg->coap_max_body);
        refuse(response, REJECT_TOO_LARGE, 413, h->id, diag);
        free(assembled);
        return;
    }
    if (!b->mqtt_connected || b->pending_count >= (size_t)b->cfg->coap_max_pending) {
        refuse(response, REJECT_BROKER_UNAVAILABLE, 503, h->id,
               b->mqtt_connected ? "bridge busy" : "broker unavailable");
        free(assembled);
        return;
    }
    struct payload_result res;
    memset(&res, 0, sizeof res);
    int rc =
        payload_translate(kind, content_format(request), data, len, h->id, clock_wall_ms(), &res);
    if (rc == PAYLOAD_BAD_REQUEST)
        refuse(response, REJECT_BAD_REQUEST, 400, h->id, res.diag);
    else if (rc == PAYLOAD_UNSUPPORTED_FORMAT)
        refuse(response, REJECT_UNSUPPORTED_FORMAT, 415, h->id, res.diag);
    else if (rc != 0)
        refuse(response, REJECT_BROKER_UNAVAILABLE, 503, h->id, "bridge out of memory");
    else
        publish_and_wait(b, h, kind, session, request, response, &res);
    payload_result_free(&res);
    free(assembled);
}

#define POST_HANDLER(name, kind)                                                                   \
    static void name(coap_resource_t *r, coap_session_t *s, const coap_pdu_t *req,                 \
                     const coap_string_t *q, coap_pdu_t *resp)                                     \
    {                                                                                              \
        (void)q;                                                                                   \
        post_kind(r, s, req, resp, kind, coap_resource_get_userdata(r));                           \
    }
POST_HANDLER(post_metrics, PAYLOAD_METRICS)
POST_HANDLER(post_heartbeat, PAYLOAD_HEARTBEAT)
POST_HANDLER(post_inventory, PAYLOAD_INVENTORY)
POST_HANDLER(post_state, PAYLOAD_STATE)
static coap_method_handler_t const post_handlers[4] = {post_metrics, post_heartbeat, post_inventory,
                                                       post_state};

/* --- GET /t/<host>/ack, /t/<host>/config, /status ----------------------------------- */

static void get_relay(coap_resource_t *r, coap_session_t *session, const coap_pdu_t *request,
                      const coap_string_t *query, coap_pdu_t *response)
{
    (void)request, (void)query;
    struct bridge_host *h = coap_resource_get_userdata(r);
    char diag[200];
    if (!allowed_for(session, h->id, diag, sizeof diag)) {
        refuse(response, REJECT_FORBIDDEN, 403, h->id, diag);
        return;
    }
    bool ack = r == h->res_ack;
    const char *payload = ack ? h->ack : h->config;
    size_t len = ack ? h->ack_len : h->config_len;
    coap_pdu_set_code(response, COAP_RESPONSE_CODE_CONTENT);
    add_uint_option(response, COAP_OPTION_CONTENT_FORMAT, PAYLOAD_CF_JSON);
    if (payload != NULL && len > 0)
        coap_add_data(response, len, (const uint8_t *)payload);
}

static void get_status(coap_resource_t *r, coap_session_t *session, const coap_pdu_t *request,
                       const coap_string_t *query, coap_pdu_t *response)
{
    (void)r, (void)session, (void)request, (void)query;
    char json[STATUS_MAX];
    bridge_status_json(the_bridge, json, sizeof json);
    coap_pdu_set_code(response, COAP_RESPONSE_CODE_CONTENT);
    add_uint_option(response, COAP_OPTION_CONTENT_FORMAT, PAYLOAD_CF_JSON);
    coap_add_data(response, strlen(json), (const uint8_t *)json);
}

static void refuse_method(coap_pdu_t *response, bool post_only)
{
    the_bridge->stats.requests++;
    refuse(response, REJECT_METHOD, 405, "request", post_only ? "only POST here" : "only GET here");
}

/* On the POST resources (metrics, heartbeat, inventory, state). */
static void not_allowed_post(coap_resource_t *r, coap_session_t *session, const coap_pdu_t *request,
                             const coap_string_t *query, coap_pdu_t *response)
{
    (void)r, (void)session, (void)request, (void)query;
    refuse_method(response, true);
}

/* On the GET resources (ack, config, status). */
static void not_allowed_get(coap_resource_t *r, coap_session_t *session, const coap_pdu_t *request,
                            const coap_string_t *query, coap_pdu_t *response)
{
    (void)r, (void)session, (void)request, (void)query;
    refuse_method(response, false);
}

/* Splits "t/<host>/<kind>" (the whole Uri-Path). Returns 0 or -EINVAL. */
static int split_path(const coap_string_t *path, char host[TOPIC_HOST_MAX + 1], const char **kind,
                      size_t *kind_len)
{
    if (path == NULL || path->length < 3 || memcmp(path->s, "t/", 2) != 0)
        return -EINVAL;
    const char *h = (const char *)path->s + 2, *end = (const char *)path->s + path->length;
    const char *slash = memchr(h, '/', (size_t)(end - h));
    if (slash == NULL || !topic_host_valid(h, (size_t)(slash - h)))
        return -EINVAL;
    memcpy(host, h, (size_t)(slash - h));
    host[slash - h] = '\0';
    *kind = slash + 1;
    *kind_len = (size_t)(end - *kind);
    return memchr(*kind, '/', *kind_len) ? -EINVAL : 0;
}

/* A path no resource has yet: a host's first request creates its resources. */
static void unknown(coap_resource_t *r, coap_session_t *session, const coap_pdu_t *request,
                    const coap_string_t *query, coap_pdu_t *response)
{
    (void)r;
    struct bridge *b = the_bridge;
    coap_string_t *path = coap_get_uri_path(request);
    char host[TOPIC_HOST_MAX + 1], diag[200];
    const char *kind;
    size_t kind_len = 0;
    enum payload_kind pk;
    bool get = coap_pdu_get_code(request) == COAP_REQUEST_CODE_GET;
    bool post = coap_pdu_get_code(request) == COAP_REQUEST_CODE_POST;
    int rc = split_path(path, host, &kind, &kind_len);
    bool relay = rc == 0 && ((kind_len == 3 && memcmp(kind, "ack", 3) == 0) ||
                             (kind_len == 6 && memcmp(kind, "config", 6) == 0));
    bool postable = rc == 0 && payload_kind_parse(kind, kind_len, &pk) == 0;
    snprintf(diag, sizeof diag, "no resource /%.*s", path ? (int)path->length : 0,
             path ? (const char *)path->s : "");
    coap_delete_string(path);
    if (!relay && !postable) {
        b->stats.requests++;
        refuse(response, REJECT_NOT_FOUND, 404, "request", diag);
        return;
    }
    if ((relay && !get) || (postable && !post)) {
        refuse_method(response, postable);
        return;
    }
    if (!allowed_for(session, host, diag, sizeof diag)) {
        b->stats.requests++;
        refuse(response, REJECT_FORBIDDEN, 403, host, diag);
        return;
    }
    struct bridge_host *h = bridge_host_get(b, host);
    if (h == NULL) {
        b->stats.requests++;
        refuse(response, REJECT_BROKER_UNAVAILABLE, 503, host, "bridge full: [coap] max_hosts");
        return;
    }
    if (postable)
        post_handlers[pk](h->res_post[pk], session, request, query, response);
    else /* answered, but not registered as an observer: the client asks again */
        get_relay(kind_len == 3 ? h->res_ack : h->res_config, session, request, query, response);
}

static coap_resource_t *add_resource(struct bridge *b, const char *host, const char *kind,
                                     void *userdata)
{
    char path[TOPIC_HOST_MAX + 16];
    snprintf(path, sizeof path, "t/%s/%s", host, kind);
    coap_str_const_t *name = coap_new_str_const((const uint8_t *)path, strlen(path));
    if (name == NULL)
        return NULL;
    coap_resource_t *r = coap_resource_init(name, COAP_RESOURCE_FLAGS_RELEASE_URI);
    if (r == NULL) {
        coap_delete_str_const(name);
        return NULL;
    }
    coap_resource_set_userdata(r, userdata);
    coap_add_resource(b->coap, r);
    return r;
}

int bridge_coap_add_host(struct bridge *b, struct bridge_host *h)
{
    static const char *const kinds[4] = {"metrics", "heartbeat", "inventory", "state"};
    for (int k = 0; k < 4; k++) {
        coap_resource_t *r = add_resource(b, h->id, kinds[k], h);
        if (r == NULL)
            return -ENOMEM;
        coap_register_handler(r, COAP_REQUEST_POST, post_handlers[k]);
        coap_register_handler(r, COAP_REQUEST_GET, not_allowed_post);
        coap_register_handler(r, COAP_REQUEST_PUT, not_allowed_post);
        coap_register_handler(r, COAP_REQUEST_DELETE, not_allowed_post);
        h->res_post[k] = r;
    }
    h->res_ack = add_resource(b, h->id, "ack", h);
    h->res_config = add_resource(b, h->id, "config", h);
    if (h->res_ack == NULL || h->res_config == NULL)
        return -ENOMEM;
    coap_resource_t *relays[2] = {h->res_ack, h->res_config};
    for (int i = 0; i < 2; i++) {
        coap_register_handler(relays[i], COAP_REQUEST_GET, get_relay);
        coap_register_handler(relays[i], COAP_REQUEST_POST, not_allowed_get);
        coap_register_handler(relays[i], COAP_REQUEST_PUT, not_allowed_get);
        coap_register_handler(relays[i], COAP_REQUEST_DELETE, not_allowed_get);
        coap_resource_set_get_observable(relays[i], 1);
    }
    return 0;
}

void bridge_coap_complete(struct bridge *b, struct bridge_pending *p)
{
    int max_age = p->code == 503 ? (int)(b->cfg->coap_retry_after_ms / 1000) : 0;
    coap_pdu_t *pdu = coap_pdu_init(p->con ? COAP_MESSAGE_ACK : COAP_MESSAGE_NON, 0,
                                    p->con ? p->coap_mid : coap_new_message_id(p->session),
                                    coap_session_max_pdu_size(p->session));
    if (pdu != NULL && coap_add_token(pdu, p->token_len, p->token)) {
        if (p->has_block1)
            coap_add_option(pdu, COAP_OPTION_BLOCK1, p->block1_len, p->block1);
        if (p->code == 204) {
            b->stats.published++;
            answer(pdu, 204, 0, NULL);
        } else {
            bridge_reject(b, REJECT_BROKER_UNAVAILABLE, p->host->id, "broker unavailable");
            answer(pdu, p->code, max_age, "broker unavailable");
        }
        if (coap_send(p->session, pdu) == COAP_INVALID_MID)
            log_debug("answer to %s could not be sent", p->host->id);
    } else if (pdu != NULL) {
        coap_delete_pdu(pdu);
    }
    dedupe_done(b->dedupe, p->peer, p->peer_len, p->coap_mid, p->code, max_age, clock_mono_ms());
    bridge_pending_free(b, p);
}

/* --- set-up ------------------------------------------------------------------------- */

static void coap_log_to_ours(coap_log_t level, const char *message)
{
    size_t n = strlen(message);
    while (n > 0 && message[n - 1] == '\n')
        n--;
    if (level <= LOG_ERR)
        log_error("libcoap: %.*s", (int)n, message);
    else if (level <= LOG_WARNING)
        log_warn("libcoap: %.*s", (int)n, message);
    else
        log_debug("libcoap: %.*s", (int)n, message);
}

static const coap_bin_const_t *psk_for(coap_bin_const_t *identity, coap_session_t *session,
                                       void *arg)
{
    (void)session;
    struct bridge *b = arg;
    const struct psk_entry *e = identity ? psk_find(&b->psk, identity->s, identity->length) : NULL;
    if (e == NULL) {
        log_info("DTLS handshake refused: unknown PSK identity \"%.*s\"",
                 identity ? (int)identity->length : 0, identity ? (const char *)identity->s : "");
        return NULL;
    }
    return &psk_keys[e - b->psk.entries];
}

static int on_event(coap_session_t *session, const coap_event_t event)
{
    (void)session;
    if (event == COAP_EVENT_DTLS_ERROR) {
        the_bridge->stats.dtls_failures++;
        log_info("a DTLS handshake failed (wrong key or unknown identity)");
    }
    return 0;
}

static int parse_address(const char *text, uint16_t port, coap_address_t *out)
{
    coap_address_init(out);
    if (inet_pton(AF_INET, text, &out->addr.sin.sin_addr) == 1) {
        out->addr.sin.sin_family = AF_INET;
        out->addr.sin.sin_port = htons(port);
        out->size = sizeof out->addr.sin;
        return 0;
    }
    if (inet_pton(AF_INET6, text, &out->addr.sin6.sin6_addr) == 1) {
        out->addr.sin6.sin6_family = AF_INET6;
        out->addr.sin6.sin6_port = htons(port);
        out->size = sizeof out->addr.sin6;
        return 0;
    }
    return -EINVAL;
}

static int listen_on(struct bridge *b, uint16_t port, coap_proto_t proto)
{
    coap_address_t addr;
    if (parse_address(b->cfg->coap_address, port, &addr) != 0) {
        log_error("[coap] address \"%s\" is not an IPv4 or IPv6 address", b->cfg->coap_address);
        return -EINVAL;
    }
    if (coap_new_endpoint(b->coap, &addr, proto) == NULL) {
        log_error("cannot listen on %s udp/%u (%s): in use, or not an address of this host",
                  b->cfg->coap_address, port, proto == COAP_PROTO_DTLS ? "coaps" : "coap");
        return -EADDRINUSE;
    }
    log_info("listening on %s://%s%s%s:%u", proto == COAP_PROTO_DTLS ? "coaps" : "coap",
             strchr(b->cfg->coap_address, ':') ? "[" : "", b->cfg->coap_address,
             strchr(b->cfg->coap_address, ':') ? "]" : "", port);
    return 0;
}

#define UDP_RCVBUF (4 << 20)

/* libcoap 4.3.1 does not hand out its endpoint sockets: find them by their bound port, to
 * give them a receive buffer that holds a burst (capped by net.core.rmem_max) and to know
 * when a datagram still waits. */
static void find_udp_fds(struct bridge *b)
{
    for (int fd = 3; fd < 1024 && b->udp_fd_count < 2; fd++) {
        int type = 0;
        socklen_t tl = sizeof type;
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof ss);
        socklen_t sl = sizeof ss;
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_DGRAM ||
            getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
            continue;
        unsigned port = ss.ss_family == AF_INET    ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                        : ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                                   : 0;
        if (port == 0 || (port != b->cfg->coap_port && port != b->cfg->coap_dtls_port))
            continue;
        int size = UDP_RCVBUF;
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        b->udp_fds[b->udp_fd_count++] = fd;
    }
}

bool bridge_coap_more_to_read(const struct bridge *b)
{
    for (size_t i = 0; i < b->udp_fd_count; i++) {
        int pending = 0;
        if (ioctl(b->udp_fds[i], FIONREAD, &pending) == 0 && pending > 0)
            return true;
    }
    return false;
}

static int setup_dtls(struct bridge *b)
{
    if (!coap_dtls_is_supported()) {
        log_error("[coap] psk_file is set but this libcoap has no DTLS (use libcoap-3-openssl)");
        return -EINVAL;
    }
    psk_keys = calloc(b->psk.count ? b->psk.count : 1, sizeof *psk_keys);
    if (psk_keys == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < b->psk.count; i++) {
        psk_keys[i].s = b->psk.entries[i].key;
        psk_keys[i].length = b->psk.entries[i].key_len;
    }
    coap_dtls_spsk_t setup;
    memset(&setup, 0, sizeof setup);
    setup.version = COAP_DTLS_SPSK_SETUP_VERSION;
    setup.validate_id_call_back = psk_for;
    setup.id_call_back_arg = b;
    if (!coap_context_set_psk2(b->coap, &setup)) {
        log_error("cannot set up DTLS-PSK");
        return -EINVAL;
    }
    log_info("DTLS-PSK: %zu identities from %s", b->psk.count, b->cfg->coap_psk_file);
    return 0;
}

int bridge_coap_start(struct bridge *b)
{
    the_bridge = b;
    coap_startup();
    coap_set_log_handler(coap_log_to_ours);
    coap_set_log_level(log_threshold >= LOG_LEVEL_DEBUG ? LOG_INFO : LOG_WARNING);
    coap_dtls_set_log_level(log_threshold >= LOG_LEVEL_DEBUG ? LOG_INFO : LOG_ERR);
    b->coap = coap_new_context(NULL);
    if (b->coap == NULL)
        return -ENOMEM;
    coap_context_set_block_mode(b->coap, COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);
    coap_register_event_handler(b->coap, on_event);
    bool dtls = b->cfg->coap_psk_file[0] != '\0' && b->cfg->coap_dtls_port != 0;
    int rc = dtls ? setup_dtls(b) : 0;
    if (rc == 0 && b->cfg->coap_port != 0)
        rc = listen_on(b, (uint16_t)b->cfg->coap_port, COAP_PROTO_UDP);
    if (rc == 0 && dtls)
        rc = listen_on(b, (uint16_t)b->cfg->coap_dtls_port, COAP_PROTO_DTLS);
    if (rc != 0)
        return rc;
    find_udp_fds(b);
    coap_resource_t *u = coap_resource_unknown_init2(unknown, 0);
    coap_register_handler(u, COAP_REQUEST_GET, unknown);
    coap_register_handler(u, COAP_REQUEST_POST, unknown);
    coap_register_handler(u, COAP_REQUEST_DELETE, unknown);
    coap_add_resource(b->coap, u);
    coap_resource_t *s = coap_resource_init(coap_make_str_const("status"), 0);
    coap_register_handler(s, COAP_REQUEST_GET, get_status);
    coap_register_handler(s, COAP_REQUEST_POST, not_allowed_get);
    coap_register_handler(s, COAP_REQUEST_PUT, not_allowed_get);
    coap_register_handler(s, COAP_REQUEST_DELETE, not_allowed_get);
    coap_add_resource(b->coap, s);
    return 0;
}

void bridge_coap_stop(struct bridge *b)
{
    if (b->coap != NULL)
        coap_free_context(b->coap);
    b->coap = NULL;
    free(psk_keys);
    psk_keys = NULL;
    coap_cleanup();
    the_bridge = NULL;
}
