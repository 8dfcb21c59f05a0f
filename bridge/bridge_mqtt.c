/* The bridge's broker connection: libmosquitto in manual-loop mode on the bridge's one
 * thread (its socket is polled beside libcoap's), MQTT v5, QoS 1. A PUBACK answers the
 * request waiting for it. On a lost connection every waiting request gets 5.03 and the
 * client is destroyed with what it still held, so nothing answered 5.03 is sent later; the
 * next attempt starts a new one (backoff doubling from 1 s to [mqtt] reconnect_max).
 * (<mosquitto.h> here rather than through common/mqtt_client.c: that adapter runs
 * libmosquitto's own thread, and the bridge's loop must own the socket.) */
#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bridge/bridge_internal.h"
#include "common/clock.h"

#define LOG_MODULE "mqtt"
#include "common/log.h"

#define MQTT_SEND_MAXIMUM 65535

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                       const mosquitto_property *props)
{
    (void)mosq, (void)flags, (void)props;
    struct bridge *b = obj;
    if (rc != 0) {
        log_warn("broker %s:%lld refused the connection: %s", b->cfg->mqtt_host,
                 (long long)b->cfg->mqtt_port, mosquitto_reason_string(rc));
        return;
    }
    b->mqtt_connected = true;
    b->mqtt_backoff_ms = 0;
    log_info("connected to %s:%lld", b->cfg->mqtt_host, (long long)b->cfg->mqtt_port);
    for (size_t i = 0; i < b->host_nbuckets; i++)
        for (struct bridge_host *h = b->host_buckets[i]; h; h = h->next) {
            h->subscribed = false;
            bridge_mqtt_subscribe_host(b, h);
        }
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc,
                          const mosquitto_property *props)
{
    (void)mosq, (void)props;
    struct bridge *b = obj;
    if (b->mqtt_connected)
        log_warn("connection to the broker lost (%s)", rc == 0 ? "closed" : mosquitto_strerror(rc));
    b->mqtt_connected = false;
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid, int reason,
                       const mosquitto_property *props)
{
    (void)mosq, (void)props;
    struct bridge *b = obj;
    if (reason >= 0x80)
        log_warn("the broker refused message %d: %s", mid, mosquitto_reason_string(reason));
    bridge_pending_answer_mid(b, mid, reason >= 0x80 ? 503 : 204);
}

/* ack and config for the hosts we know: kept and shown to their observers. */
static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m,
                       const mosquitto_property *props)
{
    (void)mosq, (void)props;
    struct bridge *b = obj;
    char host[TOPIC_HOST_MAX + 1];
    enum topic_kind kind;
    if (topic_parse(m->topic, b->topic_root, host, &kind) != 0 ||
        (kind != TOPIC_KIND_ACK && kind != TOPIC_KIND_CONFIG))
        return;
    struct bridge_host *h = bridge_host_find(b, host);
    if (h == NULL)
        return;
    char *copy = malloc((size_t)m->payloadlen + 1);
    if (copy == NULL)
        return;
    memcpy(copy, m->payload, (size_t)m->payloadlen);
    copy[m->payloadlen] = '\0';
    if (kind == TOPIC_KIND_ACK) {
        free(h->ack);
        h->ack = copy;
        h->ack_len = (size_t)m->payloadlen;
        coap_resource_notify_observers(h->res_ack, NULL);
    } else {
        free(h->config);
        h->config = copy;
        h->config_len = (size_t)m->payloadlen;
        coap_resource_notify_observers(h->res_config, NULL);
    }
    b->stats.notifications++;
}

static void drop_client(struct bridge *b, int64_t now_ms)
{
    bool was = b->mqtt_connected;
    b->mqtt_connected = false;
    bridge_pending_answer_all(b, 503);
    if (b->mosq != NULL) {
        mosquitto_destroy(b->mosq);
        b->mosq = NULL;
    }
    b->mqtt_backoff_ms = b->mqtt_backoff_ms == 0 ? 1000 : b->mqtt_backoff_ms * 2;
    if (b->mqtt_backoff_ms > b->cfg->mqtt_reconnect_max_ms)
        b->mqtt_backoff_ms = b->cfg->mqtt_reconnect_max_ms;
    b->mqtt_next_attempt_ms = now_ms + (was ? 0 : b->mqtt_backoff_ms);
}

static int new_client(struct bridge *b)
{
    const struct bridge_config *c = b->cfg;
    b->mosq = mosquitto_new(c->mqtt_client_id, true, b);
    if (b->mosq == NULL)
        return -ENOMEM;
    mosquitto_int_option(b->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(b->mosq, MOSQ_OPT_SEND_MAXIMUM, MQTT_SEND_MAXIMUM);
    /* Each PUBLISH is written at once: with Nagle on, a PUBLISH written in two pieces waits for
     * the broker's delayed ACK (40 ms), and so does the device's 2.04. */
    mosquitto_int_option(b->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_connect_v5_callback_set(b->mosq, on_connect);
    mosquitto_disconnect_v5_callback_set(b->mosq, on_disconnect);
    mosquitto_publish_v5_callback_set(b->mosq, on_publish);
    mosquitto_message_v5_callback_set(b->mosq, on_message);
    if (c->mqtt_username[0] != '\0' &&
        mosquitto_username_pw_set(b->mosq, c->mqtt_username,
                                  c->mqtt_password[0] ? c->mqtt_password : NULL) != 0)
        return -EINVAL;
    return 0;
}

static void attempt(struct bridge *b, int64_t now_ms)
{
    if (b->mosq == NULL && new_client(b) != 0) {
        drop_client(b, now_ms);
        return;
    }
    /* Non-blocking: the TCP handshake completes in bridge_mqtt_io (the socket turns writable). */
    int rc = mosquitto_connect_bind_async(b->mosq, b->cfg->mqtt_host, (int)b->cfg->mqtt_port,
                                          (int)(b->cfg->mqtt_keepalive_ms / 1000), NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        static struct log_ratelimit rl;
        uint64_t suppressed;
        if (log_ratelimit_allow(&rl, now_ms, 30000, &suppressed))
            log_warn("cannot connect to %s:%lld: %s (retrying)", b->cfg->mqtt_host,
                     (long long)b->cfg->mqtt_port,
                     rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
        drop_client(b, now_ms);
    }
}

int bridge_mqtt_start(struct bridge *b)
{
    mosquitto_lib_init();
    attempt(b, clock_mono_ms());
    return 0;
}

int bridge_mqtt_fd(const struct bridge *b)
{
    return b->mosq ? mosquitto_socket(b->mosq) : -1;
}

bool bridge_mqtt_want_write(const struct bridge *b)
{
    return b->mosq && mosquitto_want_write(b->mosq);
}

void bridge_mqtt_io(struct bridge *b, int64_t now_ms, bool readable, bool writable)
{
    if (b->mosq == NULL || mosquitto_socket(b->mosq) < 0) {
        if (now_ms >= b->mqtt_next_attempt_ms)
            attempt(b, now_ms);
        return;
    }
    int rc = MOSQ_ERR_SUCCESS;
    if (readable)
        rc = mosquitto_loop_read(b->mosq, 1);
    if (rc == MOSQ_ERR_SUCCESS && (writable || mosquitto_want_write(b->mosq)))
        rc = mosquitto_loop_write(b->mosq, 1);
    if (rc == MOSQ_ERR_SUCCESS)
        rc = mosquitto_loop_misc(b->mosq);
    if (rc != MOSQ_ERR_SUCCESS)
        drop_client(b, now_ms);
}

int bridge_mqtt_publish(struct bridge *b, const char *topic, const void *payload, size_t len,
                        bool retain, int *mid)
{
    if (b->mosq == NULL || !b->mqtt_connected)
        return -ENOTCONN;
    int rc = mosquitto_publish_v5(b->mosq, mid, topic, (int)len, payload, 1, retain, NULL);
    if (rc == MOSQ_ERR_NO_CONN)
        return -ENOTCONN;
    return rc == MOSQ_ERR_SUCCESS ? 0 : -EIO;
}

void bridge_mqtt_subscribe_host(struct bridge *b, struct bridge_host *h)
{
    if (!b->mqtt_connected || h->subscribed)
        return;
    char ack[TOPIC_MAX], config[TOPIC_MAX];
    if (topic_build(ack, sizeof ack, b->topic_root, h->id, TOPIC_KIND_ACK) != 0 ||
        topic_build(config, sizeof config, b->topic_root, h->id, TOPIC_KIND_CONFIG) != 0)
        return;
    char *subs[2] = {ack, config};
    if (mosquitto_subscribe_multiple(b->mosq, NULL, 2, subs, 1, 0, NULL) == MOSQ_ERR_SUCCESS)
        h->subscribed = true;
}

void bridge_mqtt_cork(struct bridge *b, bool on)
{
    int fd = b->mosq && b->mqtt_connected ? mosquitto_socket(b->mosq) : -1;
    int v = on;
    if (fd >= 0)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_CORK, &v, sizeof v);
}

void bridge_mqtt_stop(struct bridge *b)
{
    if (b->mosq != NULL) {
        if (b->mqtt_connected) {
            b->mqtt_connected = false; /* our own disconnect: not a loss to log */
            mosquitto_disconnect_v5(b->mosq, 0, NULL);
        }
        mosquitto_destroy(b->mosq);
        b->mosq = NULL;
    }
    b->mqtt_connected = false;
    mosquitto_lib_cleanup();
}
