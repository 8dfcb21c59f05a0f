/* MQTT publisher over paho-mqtt-c (MQTTAsync, MQTT v5): the only file that includes
 * <MQTTAsync.h>. Paho runs its own threads; what they share with the agent's thread is the
 * atomics below. Birth on every connect (setConnected), retained Last Will, paho's automatic
 * reconnect once connected and our own backoff-with-jitter for a first connection that fails.
 * While disconnected, paho buffers up to max_buffered messages; beyond that a pack is
 * refused and counted (the on-disk spool of the agent issue replaces this buffer). */
#include <MQTTAsync.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/clock.h"
#include "edge-agent/publisher.h"

#define LOG_MODULE "mqtt"
#include "common/log.h"

struct mqtt_pub {
    MQTTAsync client;
    struct publisher_mqtt_options opts; /* strings copied below */
    char *state_topic, *birth, *will, *username, *password;
    char server[300];
    MQTTAsync_willOptions will_opts;
    MQTTProperty session_prop;
    MQTTProperties connect_props;
    atomic_bool connected;
    atomic_bool connecting;
    atomic_bool first_failed;
    int64_t retry_at_mono_ms;
    int64_t backoff_ms;
    atomic_uint_fast64_t published, dropped, connects;
};

static void on_connected(void *context, char *cause)
{
    struct mqtt_pub *p = context;
    atomic_store(&p->connected, true);
    atomic_store(&p->connecting, false);
    atomic_fetch_add(&p->connects, 1);
    (void)cause;
    log_info("connected to %s", p->server);
    MQTTAsync_message msg = MQTTAsync_message_initializer;
    msg.payload = p->birth;
    msg.payloadlen = (int)strlen(p->birth);
    msg.qos = 1;
    msg.retained = 1;
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    int rc = MQTTAsync_sendMessage(p->client, p->state_topic, &msg, &ro);
    if (rc != MQTTASYNC_SUCCESS)
        log_warn("birth message not sent: %s", MQTTAsync_strerror(rc));
}

static void on_connection_lost(void *context, char *cause)
{
    struct mqtt_pub *p = context;
    atomic_store(&p->connected, false);
    log_warn("connection to %s lost (%s); reconnecting with backoff", p->server,
             cause ? cause : "no reason given");
}

static int on_message(void *context, char *topic, int topic_len, MQTTAsync_message *msg)
{
    (void)context;
    (void)topic_len;
    MQTTAsync_freeMessage(&msg);
    MQTTAsync_free(topic);
    return 1;
}

static void on_connect_failure(void *context, MQTTAsync_failureData5 *resp)
{
    struct mqtt_pub *p = context;
    atomic_store(&p->connecting, false);
    atomic_store(&p->first_failed, true);
    log_warn("cannot connect to %s: %s", p->server,
             resp && resp->message ? resp->message
                                   : (resp ? MQTTAsync_strerror(resp->code) : "unknown error"));
}

static int start_connect(struct mqtt_pub *p)
{
    MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer5;
    co.keepAliveInterval = p->opts.keepalive_s;
    co.cleanstart = 1;
    co.automaticReconnect = 1;
    co.minRetryInterval = 1;
    co.maxRetryInterval = 60;
    co.will = &p->will_opts;
    co.connectProperties = &p->connect_props;
    co.onFailure5 = on_connect_failure;
    co.context = p;
    if (p->username != NULL) {
        co.username = p->username;
        co.password = p->password;
    }
    atomic_store(&p->connecting, true);
    atomic_store(&p->first_failed, false);
    int rc = MQTTAsync_connect(p->client, &co);
    if (rc != MQTTASYNC_SUCCESS) {
        atomic_store(&p->connecting, false);
        atomic_store(&p->first_failed, true);
        log_warn("connect to %s failed to start: %s", p->server, MQTTAsync_strerror(rc));
    }
    return rc;
}

static int mqtt_publish(void *ctx, const char *topic, const void *payload, size_t len,
                        bool retain)
{
    struct mqtt_pub *p = ctx;
    MQTTAsync_message msg = MQTTAsync_message_initializer;
    msg.payload = (void *)payload;
    msg.payloadlen = (int)len;
    msg.qos = 1;
    msg.retained = retain;
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    int rc = MQTTAsync_sendMessage(p->client, topic, &msg, &ro);
    if (rc == MQTTASYNC_SUCCESS) {
        atomic_fetch_add(&p->published, 1);
        return 0;
    }
    atomic_fetch_add(&p->dropped, 1);
    return rc == MQTTASYNC_MAX_BUFFERED_MESSAGES ? -ENOSPC : -EIO;
}

static bool mqtt_connected(void *ctx)
{
    struct mqtt_pub *p = ctx;
    return atomic_load(&p->connected);
}

/* A first connection that failed is retried here: exponential backoff 1 s .. 60 s with
 * +-25 % jitter, so many agents coming back together do not arrive in step. */
static void mqtt_poll(void *ctx, int64_t now_mono_ms)
{
    struct mqtt_pub *p = ctx;
    if (atomic_load(&p->connected) || atomic_load(&p->connecting) ||
        MQTTAsync_isConnected(p->client))
        return;
    if (!atomic_load(&p->first_failed))
        return;
    if (p->retry_at_mono_ms == 0) {
        unsigned short r = 0;
        if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
            r = (unsigned short)now_mono_ms;
        int64_t jitter = (p->backoff_ms / 4) * ((int64_t)(r % 2001) - 1000) / 1000;
        p->retry_at_mono_ms = now_mono_ms + p->backoff_ms + jitter;
        log_info("retrying %s in %.1fs", p->server,
                 (double)(p->retry_at_mono_ms - now_mono_ms) / 1000.0);
        return;
    }
    if (now_mono_ms < p->retry_at_mono_ms)
        return;
    p->retry_at_mono_ms = 0;
    p->backoff_ms = p->backoff_ms * 2 > 60000 ? 60000 : p->backoff_ms * 2;
    (void)start_connect(p);
}

static void mqtt_stats(void *ctx, struct publisher_stats *out)
{
    struct mqtt_pub *p = ctx;
    out->published = atomic_load(&p->published);
    out->dropped = atomic_load(&p->dropped);
    out->connects = atomic_load(&p->connects);
}

static void free_pub(struct mqtt_pub *p)
{
    if (p == NULL)
        return;
    if (p->client != NULL)
        MQTTAsync_destroy(&p->client);
    MQTTProperties_free(&p->connect_props);
    free(p->state_topic);
    free(p->birth);
    free(p->will);
    free(p->username);
    free(p->password);
    free(p);
}

/* Clean stop: an explicit offline state (a clean disconnect discards the Last Will), then
 * wait for paho to hand over what it holds, then disconnect. */
static void mqtt_close(void *ctx, int64_t timeout_ms)
{
    struct mqtt_pub *p = ctx;
    if (atomic_load(&p->connected)) {
        (void)mqtt_publish(p, p->state_topic, p->will, strlen(p->will), true);
        int64_t until = clock_mono_ms() + timeout_ms;
        MQTTAsync_token *pending = NULL;
        while (clock_mono_ms() < until) {
            pending = NULL;
            if (MQTTAsync_getPendingTokens(p->client, &pending) != MQTTASYNC_SUCCESS ||
                pending == NULL || pending[0] == -1)
                break;
            MQTTAsync_free(pending);
            pending = NULL;
            nanosleep(&(struct timespec){0, 20L * 1000000}, NULL);
        }
        MQTTAsync_free(pending);
        MQTTAsync_disconnectOptions dopts = MQTTAsync_disconnectOptions_initializer5;
        dopts.timeout = (int)timeout_ms;
        (void)MQTTAsync_disconnect(p->client, &dopts);
        nanosleep(&(struct timespec){0, 50L * 1000000}, NULL);
    }
    free_pub(p);
}

static char *dup_or_null(const char *s)
{
    return s != NULL && *s != '\0' ? strdup(s) : NULL;
}

int publisher_mqtt_new(const struct publisher_mqtt_options *opts, struct publisher *out)
{
    struct mqtt_pub *p = calloc(1, sizeof *p);
    if (p == NULL)
        return -ENOMEM;
    int rc = -ENOMEM;
    p->opts = *opts;
    p->state_topic = strdup(opts->state_topic);
    p->birth = strdup(opts->birth_payload);
    p->will = strdup(opts->will_payload);
    p->username = dup_or_null(opts->username);
    p->password = dup_or_null(opts->password);
    if (p->state_topic == NULL || p->birth == NULL || p->will == NULL)
        goto out;
    snprintf(p->server, sizeof p->server, "tcp://%s:%d", opts->host, opts->port);
    p->backoff_ms = 1000;
    MQTTAsync_createOptions cro = MQTTAsync_createOptions_initializer5;
    cro.sendWhileDisconnected = 1;
    cro.allowDisconnectedSendAtAnyTime = 1;
    cro.maxBufferedMessages = opts->max_buffered > 0 ? opts->max_buffered : 1;
    cro.deleteOldestMessages = 0;
    cro.restoreMessages = 0;
    if (MQTTAsync_createWithOptions(&p->client, p->server, opts->client_id,
                                    MQTTCLIENT_PERSISTENCE_NONE, NULL, &cro) != MQTTASYNC_SUCCESS) {
        rc = -EINVAL;
        goto out;
    }
    MQTTAsync_setCallbacks(p->client, p, on_connection_lost, on_message, NULL);
    MQTTAsync_setConnected(p->client, p, on_connected);
    MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
    will.topicName = p->state_topic;
    will.message = p->will;
    will.retained = 1;
    will.qos = 1;
    p->will_opts = will;
    p->connect_props = (MQTTProperties)MQTTProperties_initializer;
    p->session_prop.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
    p->session_prop.value.integer4 = 0;
    if (MQTTProperties_add(&p->connect_props, &p->session_prop) != 0)
        goto out;
    if (start_connect(p) != MQTTASYNC_SUCCESS)
        atomic_store(&p->first_failed, true);
    *out = (struct publisher){.ctx = p, .publish = mqtt_publish, .connected = mqtt_connected,
                              .poll = mqtt_poll, .stats = mqtt_stats, .close = mqtt_close};
    p = NULL;
    rc = 0;
out:
    free_pub(p);
    return rc;
}
