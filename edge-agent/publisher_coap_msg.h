/* The CoAP publisher's pure part: which request a topic becomes, the body it carries, the
 * checks of the options and of the PSK key, Max-Age, backoff jitter. No I/O, no clock, no
 * libcoap (that is publisher_coap.c): tests/unit/test_publisher_coap.c runs it in
 * microseconds. Thread-safe (no shared state). */
#ifndef UPDRAFT_AGENT_PUBLISHER_COAP_MSG_H
#define UPDRAFT_AGENT_PUBLISHER_COAP_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "common/topic.h"
#include "edge-agent/publisher.h"

#define PUBLISHER_COAP_CF_JSON 50           /* application/json */
#define PUBLISHER_COAP_CF_SENML_CBOR 112    /* application/senml+cbor */
#define PUBLISHER_COAP_PATH_MAX 96          /* "t/<host>/<kind>" and its NUL */
#define PUBLISHER_COAP_MAX_AGE_DEFAULT_S 60 /* RFC 7252 §5.10.5: no Max-Age option */

/* The resource a topic stands for. */
struct publisher_coap_route {
    enum topic_kind kind;
    char host[TOPIC_HOST_MAX + 1];
    char path[PUBLISHER_COAP_PATH_MAX]; /* "t/<host>/<kind>": no leading '/' */
    int content_format;                 /* of the POST body: 112 or 50 */
};

/* "<root>/v1/<host>/<kind>" -> /t/<host>/<kind>. Returns 0, or -EINVAL when the topic is not
 * one of root's. */
int publisher_coap_route(const char *root, const char *topic, struct publisher_coap_route *out)
    __attribute__((warn_unused_result));

/* The POST body for a payload published on route: metrics and heartbeat are SenML JSON,
 * decoded (relative times against now_wall_ms) and encoded as SenML CBOR with base name
 * "<host>/"; other kinds are copied as they are. Returns 0 and *body (malloc'd, the caller
 * frees it) and *body_len, -EBADMSG (why says what is wrong with the pack), -E2BIG, -ENOMEM. */
int publisher_coap_body(const struct publisher_coap_route *route, const void *payload, size_t len,
                        int64_t now_wall_ms, uint8_t **body, size_t *body_len, char *why,
                        size_t why_size) __attribute__((warn_unused_result));

/* Checks everything publisher_coap_new needs of opts except the key file's contents. Returns
 * 0, or -EINVAL with the reason in why ("[coap] max_inflight: ..."). */
int publisher_coap_check(const struct publisher_coap_options *opts, char *why, size_t why_size)
    __attribute__((warn_unused_result));

/* A PSK key file's text: surrounding white space dropped, then "hex:" and an even number of
 * hex digits, or the text itself; 1..PUBLISHER_COAP_PSK_KEY_MAX bytes (the bridge's psk_file
 * rules). Returns 0 with key and *key_len, or -EINVAL with the reason in why. */
int publisher_coap_psk_parse(const char *text, size_t len, uint8_t key[PUBLISHER_COAP_PSK_KEY_MAX],
                             size_t *key_len, char *why, size_t why_size)
    __attribute__((warn_unused_result));

/* A Max-Age option's value (len bytes, big-endian; NULL: no option, 60 s) in milliseconds,
 * at least 1 s and at most 1 h: a bridge cannot park the agent for longer. */
int64_t publisher_coap_max_age_ms(const uint8_t *value, size_t len);

/* backoff_ms with +-25 % jitter; random_value is any number from a random source. */
int64_t publisher_coap_jitter_ms(int64_t backoff_ms, unsigned random_value);

#endif
