/* The publisher contract: how a pack leaves the agent. One implementation per transport
 * (publisher_mqtt.c now; CoAP later), behind the same small struct. A publisher announces
 * the host (birth) on each connection, leaves a Last Will where the transport has one, and
 * reconnects by itself when poll is called. Called from the agent's one thread. */
#ifndef UPDRAFT_AGENT_PUBLISHER_H
#define UPDRAFT_AGENT_PUBLISHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct publisher_stats {
    uint64_t published;   /* handed to the transport */
    uint64_t dropped;     /* refused: transport buffer full while disconnected */
    uint64_t connects;    /* successful connections */
};

struct publisher {
    void *ctx;
    /* Queues one message (QoS 1). Returns 0, -ENOSPC (buffer full: counted as dropped),
     * -EIO. */
    int (*publish)(void *ctx, const char *topic, const void *payload, size_t len, bool retain);
    bool (*connected)(void *ctx);
    /* Drives (re)connection attempts; cheap when connected. */
    void (*poll)(void *ctx, int64_t now_mono_ms);
    void (*stats)(void *ctx, struct publisher_stats *out);
    /* Publishes the offline state, flushes for up to timeout_ms, disconnects, frees. */
    void (*close)(void *ctx, int64_t timeout_ms);
};

struct publisher_mqtt_options {
    const char *host;
    int port;
    const char *client_id;
    int keepalive_s;
    const char *username, *password; /* NULL or "" for none */
    const char *state_topic;         /* birth and Last Will, retained */
    const char *birth_payload;       /* published on every connect */
    const char *will_payload;        /* left with the broker; also sent on close */
    int max_buffered;                /* messages kept while disconnected */
};

int publisher_mqtt_new(const struct publisher_mqtt_options *opts, struct publisher *out)
    __attribute__((warn_unused_result));

#endif
