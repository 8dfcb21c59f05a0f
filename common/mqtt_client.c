/* libmosquitto adapter (see mqtt_client.h). The network thread is libmosquitto's own
 * (mosquitto_loop_start); our state shared with it is atomics and the immutable options. */
#include "common/mqtt_client.h"

#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "mqtt"
#include "common/log.h"

#define MQTT_CLIENT_MAX_SUBS 16

struct mqtt_client {
    struct mosquitto *mosq;
    char *host;
    int port;
    int keepalive_s;
    uint32_t session_expiry_s;
    char *filters[MQTT_CLIENT_MAX_SUBS];
    int qos[MQTT_CLIENT_MAX_SUBS];
    size_t n_subs;
    mqtt_client_message_fn on_message;
    mqtt_client_status_fn on_status;
    void *user;
    atomic_bool connected;
    bool started;
};

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static void lib_init(void)
{
    mosquitto_lib_init();
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                       const mosquitto_property *props)
{
    (void)props;
    struct mqtt_client *c = obj;
    if (rc != 0) {
        log_warn("connection to %s:%d refused (%s); retrying", c->host, c->port,
                 mosquitto_reason_string(rc));
        return;
    }
    atomic_store(&c->connected, true);
    log_info("connected to %s:%d (session %s)", c->host, c->port,
             (flags & 1) ? "resumed" : "new");
    for (size_t i = 0; i < c->n_subs; i++) {
        int src = mosquitto_subscribe_v5(mosq, NULL, c->filters[i], c->qos[i], 0, NULL);
        if (src != MOSQ_ERR_SUCCESS)
            log_error("subscribe to %s failed: %s", c->filters[i], mosquitto_strerror(src));
    }
    if (c->on_status != NULL)
        c->on_status(c->user, true, NULL);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc,
                          const mosquitto_property *props)
{
    (void)mosq;
    (void)props;
    struct mqtt_client *c = obj;
    bool was = atomic_exchange(&c->connected, false);
    const char *reason = rc == 0 ? "disconnected" : mosquitto_strerror(rc);
    if (was && rc == 0)
        log_info("disconnected from %s:%d", c->host, c->port);
    else if (was)
        log_warn("connection to %s:%d lost (%s); reconnecting", c->host, c->port, reason);
    if (c->on_status != NULL)
        c->on_status(c->user, false, reason);
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
    (void)mosq;
    (void)props;
    struct mqtt_client *c = obj;
    c->on_message(c->user, msg->topic, msg->payload, (size_t)msg->payloadlen, msg->retain);
}

static void on_log(struct mosquitto *mosq, void *obj, int level, const char *text)
{
    (void)mosq;
    (void)obj;
    if (level == MOSQ_LOG_ERR)
        log_debug("libmosquitto: %s", text);
}

int mqtt_client_new(const struct mqtt_client_options *opts, mqtt_client_message_fn on_msg,
                    mqtt_client_status_fn on_status, void *user, struct mqtt_client **out)
{
    pthread_once(&lib_once, lib_init);
    struct mqtt_client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return -ENOMEM;
    int rc = -ENOMEM;
    c->host = strdup(opts->host);
    if (c->host == NULL)
        goto out;
    c->port = opts->port;
    c->keepalive_s = opts->keepalive_s;
    c->session_expiry_s = opts->session_expiry_s;
    c->on_message = on_msg;
    c->on_status = on_status;
    c->user = user;
    c->mosq = mosquitto_new(opts->client_id, opts->clean_start, c);
    if (c->mosq == NULL)
        goto out;
    mosquitto_int_option(c->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    if (opts->username != NULL && opts->username[0] != '\0' &&
        mosquitto_username_pw_set(c->mosq, opts->username, opts->password) != MOSQ_ERR_SUCCESS) {
        rc = -EINVAL;
        goto out;
    }
    mosquitto_reconnect_delay_set(c->mosq, (unsigned)opts->reconnect_min_s,
                                  (unsigned)opts->reconnect_max_s, true);
    mosquitto_connect_v5_callback_set(c->mosq, on_connect);
    mosquitto_disconnect_v5_callback_set(c->mosq, on_disconnect);
    mosquitto_message_v5_callback_set(c->mosq, on_message);
    mosquitto_log_callback_set(c->mosq, on_log);
    *out = c;
    c = NULL;
    rc = 0;
out:
    mqtt_client_free(c);
    return rc;
}

int mqtt_client_subscribe(struct mqtt_client *c, const char *filter, int qos)
{
    if (c->n_subs == MQTT_CLIENT_MAX_SUBS)
        return -ENOSPC;
    char *copy = strdup(filter);
    if (copy == NULL)
        return -ENOMEM;
    c->filters[c->n_subs] = copy;
    c->qos[c->n_subs] = qos;
    c->n_subs++;
    return 0;
}

int mqtt_client_start(struct mqtt_client *c)
{
    mosquitto_property *props = NULL;
    if (c->session_expiry_s > 0 &&
        mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
                                     c->session_expiry_s) != MOSQ_ERR_SUCCESS)
        return -ENOMEM;
    /* A refused first attempt is not fatal: libmosquitto keeps host, port and these
     * properties, and the network thread reconnects with backoff. */
    int rc = mosquitto_connect_bind_v5(c->mosq, c->host, c->port, c->keepalive_s, NULL, props);
    mosquitto_property_free_all(&props);
    if (rc != MOSQ_ERR_SUCCESS)
        log_warn("broker %s:%d not reachable yet (%s); retrying in the background", c->host,
                 c->port, rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
    if (mosquitto_loop_start(c->mosq) != MOSQ_ERR_SUCCESS)
        return -EIO;
    c->started = true;
    return 0;
}

int mqtt_client_publish(struct mqtt_client *c, const char *topic, const void *payload, size_t len,
                        int qos, bool retain)
{
    if (!atomic_load(&c->connected))
        return -ENOTCONN;
    int rc = mosquitto_publish_v5(c->mosq, NULL, topic, (int)len, payload, qos, retain, NULL);
    if (rc == MOSQ_ERR_NO_CONN)
        return -ENOTCONN;
    return rc == MOSQ_ERR_SUCCESS ? 0 : -EIO;
}

bool mqtt_client_connected(const struct mqtt_client *c)
{
    return atomic_load(&((struct mqtt_client *)c)->connected);
}

void mqtt_client_stop(struct mqtt_client *c)
{
    if (!c->started)
        return;
    mosquitto_disconnect_v5(c->mosq, 0, NULL);
    mosquitto_loop_stop(c->mosq, false);
    atomic_store(&c->connected, false);
    c->started = false;
}

void mqtt_client_free(struct mqtt_client *c)
{
    if (c == NULL)
        return;
    if (c->mosq != NULL) {
        mqtt_client_stop(c);
        mosquitto_destroy(c->mosq);
    }
    for (size_t i = 0; i < c->n_subs; i++)
        free(c->filters[i]);
    free(c->host);
    free(c);
}
