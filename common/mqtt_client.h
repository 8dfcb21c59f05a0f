/* The one libmosquitto adapter (hub and bridge): an MQTT v5 client with a persistent
 * session, automatic reconnect (libmosquitto's network thread, exponential backoff), and
 * subscriptions renewed on every connect. Callbacks run on the network thread.
 * publish and connected are thread-safe; new/start/stop/free belong to one owner thread. */
#ifndef UPDRAFT_COMMON_MQTT_CLIENT_H
#define UPDRAFT_COMMON_MQTT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mqtt_client;

struct mqtt_client_options {
    const char *host;             /* "127.0.0.1" */
    int port;                     /* 1883 */
    const char *client_id;        /* stable id: the broker keeps the session under it */
    int keepalive_s;
    bool clean_start;             /* false: resume the broker's session (queued messages) */
    uint32_t session_expiry_s;    /* how long the broker keeps the session while we are away */
    const char *username;         /* NULL for none */
    const char *password;
    int reconnect_min_s, reconnect_max_s;
};

/* Called for each message (retained ones at subscribe time included). topic and payload are
 * borrowed for the call. Runs on the network thread; may block (that is backpressure). */
typedef void (*mqtt_client_message_fn)(void *user, const char *topic, const void *payload,
                                       size_t len, bool retained);
/* Called on each connect (connected = true) and disconnect (false). May be NULL. */
typedef void (*mqtt_client_status_fn)(void *user, bool connected, const char *reason);

int mqtt_client_new(const struct mqtt_client_options *opts, mqtt_client_message_fn on_message,
                    mqtt_client_status_fn on_status, void *user, struct mqtt_client **out)
    __attribute__((warn_unused_result));

/* Adds a subscription (QoS qos) made at every connect. Call before start. -ENOSPC when full. */
int mqtt_client_subscribe(struct mqtt_client *client, const char *filter, int qos)
    __attribute__((warn_unused_result));

/* Starts the network thread and the first connection attempt (which retries in the
 * background when the broker is not there yet). -EIO when the thread cannot start. */
int mqtt_client_start(struct mqtt_client *client) __attribute__((warn_unused_result));

/* Queues a message. Returns 0, -ENOTCONN (not connected: nothing queued), -EIO. */
int mqtt_client_publish(struct mqtt_client *client, const char *topic, const void *payload,
                        size_t len, int qos, bool retain) __attribute__((warn_unused_result));

bool mqtt_client_connected(const struct mqtt_client *client);

/* Disconnects and joins the network thread: no callback runs after it returns. */
void mqtt_client_stop(struct mqtt_client *client);

void mqtt_client_free(struct mqtt_client *client); /* accepts NULL; stops first if needed */

#endif
