/* The publisher contract: how packs leave the agent and how the hub's acks and pushed config
 * come back. One implementation per transport (publisher_mqtt.c: MQTT to the broker;
 * publisher_coap.c: CoAP to updraft-bridge), behind the same small struct. A publisher
 * announces the host (birth) on each connection, leaves a Last Will where the transport has
 * one, subscribes to what the agent listens to, and reconnects with exponential backoff and
 * jitter when poll is called. Everything runs on the agent's one thread: incoming messages are
 * delivered from inside poll. */
#ifndef UPDRAFT_AGENT_PUBLISHER_H
#define UPDRAFT_AGENT_PUBLISHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct publisher_stats {
    uint64_t published;   /* handed to the transport */
    uint64_t failed;      /* refused: not connected, in-flight window full, or an error */
    uint64_t connects;    /* successful connections */
    uint64_t received;    /* messages delivered to on_message */
};

/* Result bits of poll. */
#define PUBLISHER_POLL_CONNECTED 1u /* a new connection was made during this call */
#define PUBLISHER_POLL_LOST 2u      /* the connection was lost during this call */

struct publisher {
    void *ctx;
    /* Sends one message at QoS 1 now. Returns 0, -ENOTCONN (not connected), -EAGAIN (the
     * in-flight window is full: poll, then retry), -EIO. Nothing is buffered by the
     * publisher: the agent's spool keeps what must survive. */
    int (*publish)(void *ctx, const char *topic, const void *payload, size_t len, bool retain);
    bool (*connected)(void *ctx);
    /* Drives the connection. Disconnected: attempts a (re)connection when its backoff has
     * passed (blocking up to the connect timeout), returns at once otherwise. Connected:
     * waits up to wait_ms for incoming traffic, delivers messages, returns. Returns
     * PUBLISHER_POLL_* bits. */
    unsigned (*poll)(void *ctx, int64_t now_mono_ms, int64_t wait_ms);
    void (*stats)(void *ctx, struct publisher_stats *out);
    /* Publishes the offline state, waits up to timeout_ms for what is in flight,
     * disconnects, frees. */
    void (*close)(void *ctx, int64_t timeout_ms);
};

/* Called from poll for each message on a subscribed topic; payload borrowed for the call. */
typedef void (*publisher_message_fn)(void *user, const char *topic, const void *payload,
                                     size_t len, bool retained);

struct publisher_tls {
    bool enabled;
    const char *ca_file;    /* PEM CA bundle; NULL or "": the system's trust store */
    const char *cert_file;  /* client certificate (PEM); NULL or "": none */
    const char *key_file;   /* its private key (PEM) */
    bool verify;            /* verify the broker's certificate and host name */
};

#define PUBLISHER_MAX_SUBSCRIPTIONS 4

struct publisher_mqtt_options {
    const char *host;
    int port;
    const char *client_id;
    int keepalive_s;
    int connect_timeout_s;
    int64_t reconnect_min_ms, reconnect_max_ms; /* backoff bounds (+-25 % jitter) */
    int64_t session_expiry_s;                   /* persistent session: the broker keeps our
                                                 * subscriptions and queues acks meanwhile */
    int max_inflight;                           /* QoS 1 messages awaiting PUBACK */
    const char *username, *password;            /* NULL or "" for none */
    const char *state_topic;                    /* birth and Last Will, retained */
    const char *birth_payload;                  /* published on every connect */
    const char *will_payload;                   /* left with the broker; also sent on close */
    const char *subscriptions[PUBLISHER_MAX_SUBSCRIPTIONS]; /* QoS 1; NULL-terminated */
    publisher_message_fn on_message;
    void *user;
    struct publisher_tls tls;
};

/* Uses paho-mqtt-c's plain build (linked statically), or loads its TLS build
 * libpaho-mqtt3cs.so.1 with dlopen when TLS is enabled (so an agent without TLS never maps
 * OpenSSL: 2 MiB of resident memory saved). -ENOENT with a logged reason when the TLS
 * library is missing, -EINVAL bad options. */
int publisher_mqtt_new(const struct publisher_mqtt_options *opts, struct publisher *out)
    __attribute__((warn_unused_result));

/* CoAP to updraft-bridge (docs/coap.md). Topics map to resources: <root>/v1/<host>/<kind> is
 * /t/<host>/<kind>. publish sends one CON POST: metrics and heartbeat as SenML CBOR (the SenML
 * JSON payload re-encoded, Content-Format 112), inventory and state as JSON (50), Block1 when
 * larger than a datagram. The subscriptions become Observe GETs (ack, config), whose
 * notifications arrive through on_message (retained for config). Connected means the bridge
 * answered the birth POST with 2.04 (its broker has it); a 5.03 (the bridge's broker is
 * away) makes it not connected (poll says PUBLISHER_POLL_LOST) for the answer's Max-Age,
 * then the birth is posted again; a request unanswered after libcoap's retransmissions (or
 * response_timeout) loses the session, and a new one follows with backoff. Connecting never
 * blocks: the birth's answer is looked for by later polls. CoAP has no Last Will: close posts
 * will_payload. */
#define PUBLISHER_COAP_MAX_INFLIGHT 32
#define PUBLISHER_COAP_PSK_KEY_MAX 64

struct publisher_coap_options {
    const char *host;              /* the bridge: a name or an address */
    int port;                      /* its UDP port (5683; DTLS usually 5684) */
    const char *topic_root;        /* <root> of the topics handed to publish */
    const char *psk_identity;      /* DTLS with this PSK identity; NULL or "": plain CoAP */
    const char *psk_key_file;      /* its key: text, or "hex:" and hex digits; 1..64 bytes */
    int max_inflight;              /* requests awaiting their answer (1..32) */
    int64_t ack_timeout_ms;        /* first retransmission of a CON; doubles after each */
    int max_retransmit;            /* retransmissions before the bridge counts as gone */
    int64_t response_timeout_ms;   /* an acknowledged request's (separate) answer */
    int64_t connect_timeout_ms;    /* poll waits this long for the birth POST's answer */
    int64_t reconnect_min_ms, reconnect_max_ms; /* backoff bounds (+-25 % jitter) */
    const char *state_topic;       /* birth and will are posted here */
    const char *birth_payload;     /* posted on every connection */
    const char *will_payload;      /* posted by close */
    const char *subscriptions[PUBLISHER_MAX_SUBSCRIPTIONS]; /* observed; NULL-terminated */
    publisher_message_fn on_message;
    void *user;
};

/* Loads libcoap with dlopen (libcoap-3-notls.so.3, or libcoap-3-openssl.so.3 with a PSK
 * identity), so an agent that does not use CoAP maps none of it, and reads the PSK key file.
 * Nothing is sent before the first poll. -ENOENT with a logged reason when the library is
 * missing, -EINVAL (logged) for bad options or an unreadable or bad key file, -ENOMEM. */
int publisher_coap_new(const struct publisher_coap_options *opts, struct publisher *out)
    __attribute__((warn_unused_result));

#endif
