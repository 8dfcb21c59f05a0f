/* updraft-bridge's state, shared by its parts (bridge.c: the loop, hosts and status;
 * bridge_coap.c: the CoAP server; bridge_mqtt.c: the broker connection). One thread owns
 * all of it: libcoap 4.3.1 is not thread-safe, and libmosquitto runs in manual-loop mode. */
#ifndef UPDRAFT_BRIDGE_BRIDGE_INTERNAL_H
#define UPDRAFT_BRIDGE_BRIDGE_INTERNAL_H

#include <coap3/coap.h>
#include <stdbool.h>
#include <stdint.h>

#include "bridge/blockwise.h"
#include "bridge/bridge_config.h"
#include "bridge/dedupe.h"
#include "bridge/payload.h"
#include "bridge/psk.h"
#include "common/log.h"
#include "common/topic.h"

struct mosquitto;

/* Why requests were refused, as counted in /status. */
enum bridge_reject {
    REJECT_BAD_REQUEST,
    REJECT_FORBIDDEN,
    REJECT_NOT_FOUND,
    REJECT_METHOD,
    REJECT_TOO_LARGE,
    REJECT_UNSUPPORTED_FORMAT,
    REJECT_BROKER_UNAVAILABLE,
    REJECT_INCOMPLETE,
    REJECT_COUNT,
};

/* A host the bridge has seen: its observable resources and what it relays to them. */
struct bridge_host {
    char id[TOPIC_HOST_MAX + 1];
    coap_resource_t *res_post[4]; /* by enum payload_kind */
    coap_resource_t *res_ack, *res_config;
    char *ack, *config; /* latest payloads (NUL-terminated), NULL none */
    size_t ack_len, config_len;
    bool heartbeat_seen, online, subscribed;
    int64_t last_heartbeat_ms; /* monotonic */
    char boot_id[33];
    struct bridge_host *next; /* hash chain */
};

/* A request published and waiting for its PUBACK. libcoap sent nothing for it (the handler
 * left no response); the answer goes out when the PUBACK comes: an ACK with the request's
 * message id (piggybacked) for a CON, a NON for a NON. */
struct bridge_pending {
    coap_session_t *session; /* referenced while we wait */
    uint8_t token[8];
    size_t token_len;
    bool con;          /* the request was confirmable */
    uint8_t block1[4]; /* the last block's Block1 option, echoed in the answer */
    size_t block1_len;
    bool has_block1;
    uint8_t peer[DEDUPE_PEER_MAX];
    size_t peer_len;
    uint16_t coap_mid; /* the request's message id (the dedupe key) */
    int mqtt_mid;
    int code; /* 0 while waiting; then the answer (204, 503) */
    int64_t deadline_ms;
    struct bridge_host *host;
    enum payload_kind kind;
    bool online, has_state;             /* PAYLOAD_STATE: what was posted */
    struct bridge_pending *prev, *next; /* oldest first */
    struct bridge_pending *hnext;       /* by mqtt_mid */
};

struct bridge_stats {
    uint64_t requests, published, duplicates, notifications, offline_published, dtls_failures;
    uint64_t rejected[REJECT_COUNT];
};

struct bridge {
    struct bridge_config *cfg;
    coap_context_t *coap;
    struct mosquitto *mosq;
    int mqtt_fd_polled; /* the MQTT socket as registered in the loop's epoll set, or -1 */
    bool mqtt_fd_pollout;
    int udp_fds[2]; /* libcoap's endpoint sockets (found by their port) */
    size_t udp_fd_count;
    bool mqtt_connected;
    int64_t mqtt_next_attempt_ms, mqtt_backoff_ms;
    struct psk_table psk;
    struct dedupe *dedupe;
    struct blockwise *blocks; /* Block1 transfers libcoap leaves to us (no Size1) */
    struct bridge_host **host_buckets;
    size_t host_nbuckets, host_count;
    struct bridge_pending *pending_head, *pending_tail;
    struct bridge_pending **pending_buckets;
    size_t pending_nbuckets, pending_count;
    struct bridge_stats stats;
    struct log_ratelimit reject_rl;
    int64_t next_status_ms, next_sweep_ms;
    char topic_root[TOPIC_ROOT_MAX + 1];
};

/* bridge.c */
struct bridge_host *bridge_host_find(struct bridge *b, const char *id);
/* Finds or creates the host (its resources and subscriptions). NULL when max_hosts is
 * reached or memory ran out. */
struct bridge_host *bridge_host_get(struct bridge *b, const char *id);
void bridge_reject(struct bridge *b, enum bridge_reject why, const char *what, const char *diag);
/* Publishes the host's state (retained) when it changed; boot_id may be "". */
void bridge_publish_state(struct bridge *b, struct bridge_host *h, bool online, const char *reason);
void bridge_status_json(const struct bridge *b, char *out, size_t size);

/* bridge_coap.c */
int bridge_coap_start(struct bridge *b) __attribute__((warn_unused_result));
int bridge_coap_add_host(struct bridge *b, struct bridge_host *h)
    __attribute__((warn_unused_result));
/* A pending request got its answer (code set): sends it and frees p. */
void bridge_coap_complete(struct bridge *b, struct bridge_pending *p);
void bridge_coap_stop(struct bridge *b);
/* True when an endpoint socket holds a datagram not read yet. */
bool bridge_coap_more_to_read(const struct bridge *b);

/* bridge_mqtt.c */
int bridge_mqtt_start(struct bridge *b) __attribute__((warn_unused_result));
/* Drives the connection: reconnects when due, reads and writes what the socket allows. */
void bridge_mqtt_io(struct bridge *b, int64_t now_ms, bool readable, bool writable);
int bridge_mqtt_fd(const struct bridge *b);
bool bridge_mqtt_want_write(const struct bridge *b);
/* QoS 1 publish; *mid set. 0, -ENOTCONN, -EIO. */
int bridge_mqtt_publish(struct bridge *b, const char *topic, const void *payload, size_t len,
                        bool retain, int *mid) __attribute__((warn_unused_result));
void bridge_mqtt_subscribe_host(struct bridge *b, struct bridge_host *h);
void bridge_mqtt_stop(struct bridge *b);
/* TCP_CORK on the broker socket while a batch of requests is handled: their PUBLISHes leave
 * in as few segments as fit, and the broker wakes once for them. */
void bridge_mqtt_cork(struct bridge *b, bool on);

/* Pending requests (bridge.c). */
struct bridge_pending *bridge_pending_add(struct bridge *b, int mqtt_mid);
void bridge_pending_answer_mid(struct bridge *b, int mqtt_mid, int code);
void bridge_pending_answer_all(struct bridge *b, int code);
void bridge_pending_free(struct bridge *b, struct bridge_pending *p);

#endif
