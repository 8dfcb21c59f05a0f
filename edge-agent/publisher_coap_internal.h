/* What the CoAP publisher's two files share: publisher_coap.c (lifecycle, the publisher
 * contract, the link's states) and publisher_coap_exchange.c (requests, observations and
 * libcoap's handlers). The agent's one thread owns all of it. */
#ifndef UPDRAFT_AGENT_PUBLISHER_COAP_INTERNAL_H
#define UPDRAFT_AGENT_PUBLISHER_COAP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/log.h"
#include "edge-agent/libcoap_dl.h"
#include "edge-agent/publisher.h"
#include "edge-agent/publisher_coap_msg.h"

#define COAP_TOKEN_MAX 8
#define COAP_PENDING_MAX 16 /* notifications held until libcoap returns */

/* Where the link to the bridge stands. */
enum coap_link {
    COAP_LINK_DOWN,       /* no session; a new one at retry_at_mono_ms */
    COAP_LINK_CONNECTING, /* the birth is posted, its answer awaited */
    COAP_LINK_PAUSED,     /* a 5.03: the birth is posted again at retry_at_mono_ms */
    COAP_LINK_UP,         /* the birth got 2.04: connected */
};

enum coap_role { COAP_ROLE_PUBLISH, COAP_ROLE_BIRTH, COAP_ROLE_WILL };

struct coap_request {
    bool used;
    enum coap_role role;
    enum topic_kind kind;
    uint8_t token[COAP_TOKEN_MAX];
    size_t token_len;
    char path[PUBLISHER_COAP_PATH_MAX];
    int64_t sent_mono_ms;
};

struct coap_observation {
    char *topic; /* the subscription: on_message's topic */
    struct publisher_coap_route route;
    uint8_t token[COAP_TOKEN_MAX];
    size_t token_len;            /* 0: no GET on this session yet */
    bool registered;             /* the last answer carried Observe */
    int64_t register_at_mono_ms; /* next GET; 0: none planned */
};

struct coap_pending {
    size_t obs; /* index in obs[] */
    uint8_t *payload;
    size_t len;
};

struct coap_pub {
    struct libcoap_dl lib;
    coap_context_t *ctx;
    coap_session_t *session;
    struct publisher_coap_options opts; /* the strings below are our copies */
    char *host, *root, *state_topic, *birth, *will, *identity;
    uint8_t key[PUBLISHER_COAP_PSK_KEY_MAX];
    size_t key_len;
    char server[300]; /* "coap://host:port", for the log */
    enum coap_link link;
    int64_t retry_at_mono_ms, backoff_ms, connecting_since_mono_ms;
    int64_t paused_since_mono_ms; /* first 5.03 of this pause; 0: not paused */
    struct coap_request req[PUBLISHER_COAP_MAX_INFLIGHT + 1]; /* + the birth or the will */
    int n_publish;                                            /* COAP_ROLE_PUBLISH in use */
    struct coap_observation obs[PUBLISHER_MAX_SUBSCRIPTIONS];
    size_t n_obs;
    struct coap_pending pending[COAP_PENDING_MAX];
    size_t n_pending;
    /* A restarted bridge has forgotten our registrations and says nothing: acks stop while
     * packs are delivered. The first 2.04 for a pack since the last ack, and how long such
     * a silence may last before the observations are made again (doubling, up to 10 min). */
    int64_t unacked_since_mono_ms; /* 0: none */
    int64_t ack_silence_ms;
    /* Set by the handlers (and expiry), acted on by poll. */
    const char *lost;       /* why the session is no good; NULL while it is */
    int state_code;         /* the answer to the birth or the will; 0: none yet */
    bool unavailable;       /* a 5.03 came */
    int64_t unavailable_ms; /* its Max-Age */
    struct log_ratelimit refused_rl;
    struct publisher_stats stats;
};

/* publisher_coap_exchange.c */
/* Registers libcoap's handlers on p->ctx (and points them at p); _clear undoes it. */
void publisher_coap_handlers_set(struct coap_pub *p);
void publisher_coap_handlers_clear(struct coap_pub *p);
/* A CON POST of payload (published on topic) in a free slot. 0, -EAGAIN (no slot), -EIO. */
int publisher_coap_post(struct coap_pub *p, enum coap_role role, const char *topic,
                        const void *payload, size_t len) __attribute__((warn_unused_result));
/* Sends the Observe GETs that are due; _all: every one not registered now. */
void publisher_coap_observe_due(struct coap_pub *p, int64_t now_mono_ms);
void publisher_coap_observe_all(struct coap_pub *p, int64_t now_mono_ms);
/* Runs libcoap for up to wait_ms (0: what is ready), then hands the notifications it
 * brought to on_message and flags requests unanswered for response_timeout in p->lost. */
void publisher_coap_exchange(struct coap_pub *p, int64_t wait_ms);
/* After the session is released: no request in flight, nothing observed. */
void publisher_coap_forget(struct coap_pub *p);

#endif
