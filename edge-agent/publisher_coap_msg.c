/* The CoAP publisher's pure part (see publisher_coap_msg.h): topics to resources, SenML JSON
 * to SenML CBOR, the checks of the options and of the PSK key. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/senml_cbor.h"
#include "common/senml_json.h"
#include "edge-agent/publisher_coap_msg.h"

int publisher_coap_route(const char *root, const char *topic, struct publisher_coap_route *out)
{
    struct publisher_coap_route r = {0};
    if (root == NULL || topic == NULL || topic_parse(topic, root, r.host, &r.kind) != 0)
        return -EINVAL;
    int n = snprintf(r.path, sizeof r.path, "t/%s/%s", r.host, topic_kind_name(r.kind));
    if (n < 0 || (size_t)n >= sizeof r.path)
        return -EINVAL;
    r.content_format = r.kind == TOPIC_KIND_METRICS || r.kind == TOPIC_KIND_HEARTBEAT
                           ? PUBLISHER_COAP_CF_SENML_CBOR
                           : PUBLISHER_COAP_CF_JSON;
    *out = r;
    return 0;
}

static int copy_body(const void *payload, size_t len, uint8_t **body, size_t *body_len)
{
    uint8_t *copy = malloc(len > 0 ? len : 1);
    if (copy == NULL)
        return -ENOMEM;
    if (len > 0)
        memcpy(copy, payload, len);
    *body = copy;
    *body_len = len;
    return 0;
}

int publisher_coap_body(const struct publisher_coap_route *route, const void *payload, size_t len,
                        int64_t now_wall_ms, uint8_t **body, size_t *body_len, char *why,
                        size_t why_size)
{
    if (route->content_format != PUBLISHER_COAP_CF_SENML_CBOR)
        return copy_body(payload, len, body, body_len);
    struct senml_pack *pack = NULL;
    struct senml_error err;
    int rc = senml_json_decode(payload, len, now_wall_ms, &pack, &err);
    if (rc != 0) {
        if (rc == -EBADMSG || rc == -E2BIG)
            senml_error_format(&err, why, why_size);
        return rc;
    }
    char base[TOPIC_HOST_MAX + 2];
    snprintf(base, sizeof base, "%s/", route->host);
    struct senml_buf buf = {0};
    rc = senml_cbor_encode(pack, base, &buf);
    senml_pack_free(pack);
    if (rc == -EINVAL) {
        snprintf(why, why_size, "a record the CBOR encoder refuses (a name outside \"%s\"?)", base);
        rc = -EBADMSG;
    }
    if (rc != 0) {
        senml_buf_free(&buf);
        return rc;
    }
    *body = (uint8_t *)buf.data; /* ownership moves to the caller */
    *body_len = buf.len;
    return 0;
}

/* The subscriptions must be resources the bridge lets us observe. */
static bool observable(const char *root, const char *topic)
{
    struct publisher_coap_route r;
    return publisher_coap_route(root, topic, &r) == 0 &&
           (r.kind == TOPIC_KIND_ACK || r.kind == TOPIC_KIND_CONFIG);
}

static int fail(char *why, size_t why_size, const char *reason)
{
    snprintf(why, why_size, "%s", reason);
    return -EINVAL;
}

static bool empty(const char *s)
{
    return s == NULL || *s == '\0';
}

int publisher_coap_check(const struct publisher_coap_options *o, char *why, size_t why_size)
{
    struct publisher_coap_route state;
    if (empty(o->host))
        return fail(why, why_size, "[coap] host: empty");
    if (o->port < 1 || o->port > 65535)
        return fail(why, why_size, "[coap] port: not a UDP port (1..65535)");
    if (o->max_inflight < 1 || o->max_inflight > PUBLISHER_COAP_MAX_INFLIGHT)
        return fail(why, why_size, "[coap] max_inflight: out of range 1..32");
    if (o->ack_timeout_ms < 100 || o->ack_timeout_ms > 60000)
        return fail(why, why_size, "[coap] ack_timeout: out of range 100ms..60s");
    if (o->max_retransmit < 0 || o->max_retransmit > 10)
        return fail(why, why_size, "[coap] max_retransmit: out of range 0..10");
    if (o->response_timeout_ms < 1000 || o->connect_timeout_ms < 100)
        return fail(why, why_size, "[coap] response_timeout or connect_timeout: too short");
    if (o->reconnect_min_ms < 1 || o->reconnect_max_ms < o->reconnect_min_ms)
        return fail(why, why_size,
                    "[coap] reconnect_min must be above 0 and reconnect_max "
                    "at least reconnect_min");
    if (empty(o->psk_identity) != empty(o->psk_key_file))
        return fail(why, why_size, "[coap] psk_identity and psk_key_file go together");
    if (!empty(o->psk_identity) && strlen(o->psk_identity) > 128)
        return fail(why, why_size, "[coap] psk_identity: longer than 128 bytes");
    if (o->topic_root == NULL || !topic_root_valid(o->topic_root))
        return fail(why, why_size, "topic root: not a valid topic prefix");
    if (empty(o->state_topic) || publisher_coap_route(o->topic_root, o->state_topic, &state) != 0 ||
        state.kind != TOPIC_KIND_STATE)
        return fail(why, why_size, "state topic: not <root>/v1/<host>/state");
    if (o->birth_payload == NULL || o->will_payload == NULL)
        return fail(why, why_size, "birth and will payloads are required");
    for (size_t i = 0; i < PUBLISHER_MAX_SUBSCRIPTIONS && o->subscriptions[i] != NULL; i++)
        if (!observable(o->topic_root, o->subscriptions[i]))
            return fail(why, why_size, "subscription: not <root>/v1/<host>/ack or .../config");
    return 0;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int publisher_coap_psk_parse(const char *text, size_t len, uint8_t key[PUBLISHER_COAP_PSK_KEY_MAX],
                             size_t *key_len, char *why, size_t why_size)
{
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        len--;
    while (len > 0 && isspace((unsigned char)*text)) {
        text++;
        len--;
    }
    if (len > 4 && memcmp(text, "hex:", 4) == 0) {
        text += 4;
        len -= 4;
        if (len % 2 != 0)
            return fail(why, why_size, "hex key has an odd number of digits");
        if (len / 2 > PUBLISHER_COAP_PSK_KEY_MAX)
            return fail(why, why_size, "key longer than 64 bytes");
        for (size_t i = 0; i < len; i += 2) {
            int hi = hex_digit(text[i]), lo = hex_digit(text[i + 1]);
            if (hi < 0 || lo < 0)
                return fail(why, why_size, "hex key has a character that is not a hex digit");
            key[i / 2] = (uint8_t)(hi << 4 | lo);
        }
        *key_len = len / 2;
        return 0;
    }
    if (len == 0)
        return fail(why, why_size, "empty key");
    if (len > PUBLISHER_COAP_PSK_KEY_MAX)
        return fail(why, why_size, "key longer than 64 bytes");
    memcpy(key, text, len);
    *key_len = len;
    return 0;
}

int64_t publisher_coap_max_age_ms(const uint8_t *value, size_t len)
{
    uint64_t s = PUBLISHER_COAP_MAX_AGE_DEFAULT_S;
    if (value != NULL) {
        s = 0;
        for (size_t i = 0; i < len && i < 8; i++)
            s = s << 8 | value[i];
    }
    if (s < 1)
        s = 1;
    if (s > 3600)
        s = 3600;
    return (int64_t)s * 1000;
}

int64_t publisher_coap_jitter_ms(int64_t backoff_ms, unsigned random_value)
{
    return backoff_ms + (backoff_ms / 4) * ((int64_t)(random_value % 2001) - 1000) / 1000;
}
