/* MQTT publisher over paho-mqtt-c's synchronous client (MQTTClient, MQTT v5), single-threaded:
 * the only file that includes <MQTTClient.h>. The plain build of paho is linked statically
 * (libpaho-mqtt3c.a: only what we call, no library to map); the TLS build, which pulls in
 * OpenSSL, is loaded with dlopen only when TLS is configured, so a plain agent never maps
 * OpenSSL (see publisher.h). Both fill the same table of functions. No
 * callbacks are set, so paho starts no thread: incoming PUBACKs, acks and config arrive in
 * MQTTClient_receive, called from poll on the agent's thread. A persistent session (clean
 * start off, session expiry) keeps our subscriptions and queues the hub's acks while we are
 * away. Reconnects back off exponentially with +-25 % jitter. */
#include <MQTTClient.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/clock.h"
#include "edge-agent/publisher.h"

#define LOG_MODULE "mqtt"
#include "common/log.h"

/* The paho functions we call, resolved from the library dlopen'ed at start. */
struct paho {
    void *dl;
    __typeof__(MQTTClient_createWithOptions) *create;
    __typeof__(MQTTClient_destroy) *destroy;
    __typeof__(MQTTClient_connect5) *connect5;
    __typeof__(MQTTClient_disconnect5) *disconnect5;
    __typeof__(MQTTClient_isConnected) *is_connected;
    __typeof__(MQTTClient_subscribe5) *subscribe5;
    __typeof__(MQTTClient_publishMessage5) *publish5;
    __typeof__(MQTTClient_receive) *receive;
    __typeof__(MQTTClient_freeMessage) *free_message;
    __typeof__(MQTTClient_free) *free_mem;
    __typeof__(MQTTResponse_free) *response_free;
    __typeof__(MQTTClient_strerror) *strerror_fn;
    __typeof__(MQTTProperties_add) *props_add;
    __typeof__(MQTTProperties_free) *props_free;
};

struct mqtt_pub {
    struct paho paho;
    MQTTClient client;
    struct publisher_mqtt_options opts; /* strings below are our copies */
    char *state_topic, *birth, *will, *username, *password, *ca, *cert, *key;
    char *subs[PUBLISHER_MAX_SUBSCRIPTIONS];
    char server[300];
    bool connected;
    int64_t retry_at_mono_ms;
    int64_t backoff_ms;
    struct publisher_stats stats;
};

/* The statically linked plain build. Its symbols are not exported by the executable, so a
 * TLS build loaded later (RTLD_LOCAL) binds to its own copies, never to these. */
static void paho_static(struct paho *p)
{
    *p = (struct paho){
        .create = MQTTClient_createWithOptions, .destroy = MQTTClient_destroy,
        .connect5 = MQTTClient_connect5, .disconnect5 = MQTTClient_disconnect5,
        .is_connected = MQTTClient_isConnected, .subscribe5 = MQTTClient_subscribe5,
        .publish5 = MQTTClient_publishMessage5, .receive = MQTTClient_receive,
        .free_message = MQTTClient_freeMessage, .free_mem = MQTTClient_free,
        .response_free = MQTTResponse_free, .strerror_fn = MQTTClient_strerror,
        .props_add = MQTTProperties_add, .props_free = MQTTProperties_free};
}

static int paho_load(struct paho *p, bool tls)
{
    if (!tls) {
        paho_static(p);
        return 0;
    }
    const char *lib = "libpaho-mqtt3cs.so.1";
    p->dl = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (p->dl == NULL) {
        log_error("cannot load %s (paho-mqtt-c): %s", lib, dlerror());
        return -ENOENT;
    }
#define SYM(field, name)                                                                          \
    do {                                                                                          \
        *(void **)&p->field = dlsym(p->dl, name);                                                 \
        if (p->field == NULL) {                                                                   \
            log_error("%s has no %s", lib, name);                                                 \
            return -ENOENT;                                                                       \
        }                                                                                         \
    } while (0)
    SYM(create, "MQTTClient_createWithOptions");
    SYM(destroy, "MQTTClient_destroy");
    SYM(connect5, "MQTTClient_connect5");
    SYM(disconnect5, "MQTTClient_disconnect5");
    SYM(is_connected, "MQTTClient_isConnected");
    SYM(subscribe5, "MQTTClient_subscribe5");
    SYM(publish5, "MQTTClient_publishMessage5");
    SYM(receive, "MQTTClient_receive");
    SYM(free_message, "MQTTClient_freeMessage");
    SYM(free_mem, "MQTTClient_free");
    SYM(response_free, "MQTTResponse_free");
    SYM(strerror_fn, "MQTTClient_strerror");
    SYM(props_add, "MQTTProperties_add");
    SYM(props_free, "MQTTProperties_free");
#undef SYM
    return 0;
}

static void schedule_retry(struct mqtt_pub *p, int64_t now_mono_ms)
{
    unsigned short r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
        r = (unsigned short)now_mono_ms;
    int64_t jitter = (p->backoff_ms / 4) * ((int64_t)(r % 2001) - 1000) / 1000;
    p->retry_at_mono_ms = now_mono_ms + p->backoff_ms + jitter;
    log_info("retrying %s in %.1fs", p->server,
             (double)(p->retry_at_mono_ms - now_mono_ms) / 1000.0);
    p->backoff_ms = p->backoff_ms * 2 > p->opts.reconnect_max_ms ? p->opts.reconnect_max_ms
                                                                 : p->backoff_ms * 2;
}

static int send_message(struct mqtt_pub *p, const char *topic, const void *payload, size_t len,
                        bool retain)
{
    MQTTClient_message msg = MQTTClient_message_initializer;
    msg.payload = (void *)payload;
    msg.payloadlen = (int)len;
    msg.qos = 1;
    msg.retained = retain;
    MQTTClient_deliveryToken token = 0;
    MQTTResponse r = p->paho.publish5(p->client, topic, &msg, &token);
    int rc = r.reasonCode;
    p->paho.response_free(r);
    if (rc == MQTTCLIENT_SUCCESS)
        return 0;
    if (rc == MQTTCLIENT_MAX_MESSAGES_INFLIGHT)
        return -EAGAIN;
    log_debug("publish on %s failed: %s", topic, p->paho.strerror_fn(rc));
    return -EIO;
}

static bool try_connect(struct mqtt_pub *p)
{
    MQTTClient_willOptions will = MQTTClient_willOptions_initializer;
    will.topicName = p->state_topic;
    will.message = p->will;
    will.retained = 1;
    will.qos = 1;
    MQTTClient_SSLOptions ssl = MQTTClient_SSLOptions_initializer;
    MQTTClient_connectOptions co = MQTTClient_connectOptions_initializer5;
    co.keepAliveInterval = p->opts.keepalive_s;
    co.cleanstart = 0;
    co.reliable = 0;
    co.maxInflightMessages = p->opts.max_inflight;
    co.connectTimeout = p->opts.connect_timeout_s;
    co.will = &will;
    co.username = p->username;
    co.password = p->password;
    if (p->opts.tls.enabled) {
        ssl.trustStore = p->ca;
        ssl.keyStore = p->cert;
        ssl.privateKey = p->key;
        ssl.enableServerCertAuth = p->opts.tls.verify;
        ssl.verify = p->opts.tls.verify;
        ssl.sslVersion = MQTT_SSL_VERSION_TLS_1_2;
        co.ssl = &ssl;
    }
    MQTTProperties props = MQTTProperties_initializer;
    MQTTProperty expiry = {.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL};
    expiry.value.integer4 = (unsigned)p->opts.session_expiry_s;
    if (p->paho.props_add(&props, &expiry) != 0)
        return false;
    MQTTResponse r = p->paho.connect5(p->client, &co, &props, NULL);
    int rc = r.reasonCode;
    p->paho.response_free(r);
    p->paho.props_free(&props);
    if (rc != MQTTCLIENT_SUCCESS) {
        /* paho reports every socket or TLS error as -1 "Failure" (its trace, not its API,
         * has the detail): say what it could be. */
        if (rc == MQTTCLIENT_FAILURE)
            log_warn("cannot connect to %s: no broker answering there, or the %s failed",
                     p->server, p->opts.tls.enabled ? "TLS handshake" : "connection");
        else if (rc < 0)
            log_warn("cannot connect to %s: %s", p->server, p->paho.strerror_fn(rc));
        else
            log_warn("cannot connect to %s: refused by the broker (reason code %d: %s)",
                     p->server, rc, rc == 0x86 || rc == 0x87 ? "not authorized" : "see MQTT v5");
        return false;
    }
    p->connected = true;
    p->backoff_ms = p->opts.reconnect_min_ms;
    p->stats.connects++;
    log_info("connected to %s", p->server);
    if (send_message(p, p->state_topic, p->birth, strlen(p->birth), true) != 0)
        log_warn("birth message not sent");
    for (size_t i = 0; i < PUBLISHER_MAX_SUBSCRIPTIONS && p->subs[i] != NULL; i++) {
        MQTTResponse sr = p->paho.subscribe5(p->client, p->subs[i], 1, NULL, NULL);
        if (sr.reasonCode > 1) /* granted QoS 0 or 1, else a failure code */
            log_warn("subscribe %s: %s", p->subs[i],
                     sr.reasonCode < 0 ? p->paho.strerror_fn(sr.reasonCode) : "refused");
        p->paho.response_free(sr);
    }
    return true;
}

static void lost(struct mqtt_pub *p, int64_t now_mono_ms, int rc)
{
    p->connected = false;
    log_warn("connection to %s lost (%s); reconnecting with backoff", p->server,
             p->paho.strerror_fn(rc));
    schedule_retry(p, now_mono_ms);
}

static int mqtt_publish(void *ctx, const char *topic, const void *payload, size_t len,
                        bool retain)
{
    struct mqtt_pub *p = ctx;
    int rc = p->connected ? send_message(p, topic, payload, len, retain) : -ENOTCONN;
    if (rc == 0)
        p->stats.published++;
    else
        p->stats.failed++;
    return rc;
}

static bool mqtt_connected(void *ctx)
{
    struct mqtt_pub *p = ctx;
    return p->connected;
}

static unsigned mqtt_poll(void *ctx, int64_t now_mono_ms, int64_t wait_ms)
{
    struct mqtt_pub *p = ctx;
    if (!p->connected) {
        if (now_mono_ms < p->retry_at_mono_ms)
            return 0;
        if (try_connect(p))
            return PUBLISHER_POLL_CONNECTED;
        schedule_retry(p, clock_mono_ms());
        return 0;
    }
    /* At most 256 messages per call, so a flood of acks cannot starve collection. */
    for (int i = 0; i < 256; i++) {
        char *topic = NULL;
        int topic_len = 0;
        MQTTClient_message *msg = NULL;
        int rc = p->paho.receive(p->client, &topic, &topic_len, &msg,
                                 i == 0 && wait_ms > 0 ? (unsigned long)wait_ms : 0);
        if (rc != MQTTCLIENT_SUCCESS && rc != MQTTCLIENT_TOPICNAME_TRUNCATED) {
            lost(p, now_mono_ms, rc);
            return PUBLISHER_POLL_LOST;
        }
        if (msg == NULL) {
            if (!p->paho.is_connected(p->client)) {
                lost(p, now_mono_ms, MQTTCLIENT_DISCONNECTED);
                return PUBLISHER_POLL_LOST;
            }
            break;
        }
        p->stats.received++;
        if (p->opts.on_message != NULL && topic != NULL && rc == MQTTCLIENT_SUCCESS)
            p->opts.on_message(p->opts.user, topic, msg->payload, (size_t)msg->payloadlen,
                               msg->retained != 0);
        p->paho.free_message(&msg);
        p->paho.free_mem(topic);
    }
    return 0;
}

static void mqtt_stats(void *ctx, struct publisher_stats *out)
{
    struct mqtt_pub *p = ctx;
    *out = p->stats;
}

static void free_pub(struct mqtt_pub *p)
{
    if (p == NULL)
        return;
    if (p->client != NULL)
        p->paho.destroy(&p->client);
    if (p->paho.dl != NULL)
        dlclose(p->paho.dl);
    char *owned[] = {p->state_topic, p->birth, p->will, p->username, p->password,
                     p->ca,          p->cert,  p->key};
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
        free(owned[i]);
    for (size_t i = 0; i < PUBLISHER_MAX_SUBSCRIPTIONS; i++)
        free(p->subs[i]);
    free(p);
}

/* Clean stop: an explicit offline state (a clean disconnect discards the Last Will), then a
 * disconnect that lets paho finish what is in flight for up to timeout_ms. */
static void mqtt_close(void *ctx, int64_t timeout_ms)
{
    struct mqtt_pub *p = ctx;
    if (p->connected) {
        (void)send_message(p, p->state_topic, p->will, strlen(p->will), true);
        int64_t until = clock_mono_ms() + timeout_ms / 2;
        while (clock_mono_ms() < until) { /* let the PUBACKs in */
            char *topic = NULL;
            int topic_len = 0;
            MQTTClient_message *msg = NULL;
            if (p->paho.receive(p->client, &topic, &topic_len, &msg, 50) != MQTTCLIENT_SUCCESS ||
                msg == NULL)
                break;
            p->paho.free_message(&msg);
            p->paho.free_mem(topic);
        }
        MQTTProperties props = MQTTProperties_initializer;
        (void)p->paho.disconnect5(p->client, (int)(timeout_ms / 2), MQTTREASONCODE_SUCCESS,
                                  &props);
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
    p->ca = dup_or_null(opts->tls.ca_file);
    p->cert = dup_or_null(opts->tls.cert_file);
    p->key = dup_or_null(opts->tls.key_file);
    if (p->state_topic == NULL || p->birth == NULL || p->will == NULL)
        goto out;
    for (size_t i = 0; i < PUBLISHER_MAX_SUBSCRIPTIONS && opts->subscriptions[i] != NULL; i++)
        if ((p->subs[i] = strdup(opts->subscriptions[i])) == NULL)
            goto out;
    if ((rc = paho_load(&p->paho, opts->tls.enabled)) != 0)
        goto out;
    snprintf(p->server, sizeof p->server, "%s://%s:%d", opts->tls.enabled ? "ssl" : "tcp",
             opts->host, opts->port);
    p->backoff_ms = opts->reconnect_min_ms;
    MQTTClient_createOptions cro = MQTTClient_createOptions_initializer;
    cro.MQTTVersion = MQTTVERSION_5;
    if (p->paho.create(&p->client, p->server, opts->client_id, MQTTCLIENT_PERSISTENCE_NONE, NULL,
                       &cro) != MQTTCLIENT_SUCCESS) {
        p->client = NULL;
        rc = -EINVAL;
        goto out;
    }
    *out = (struct publisher){.ctx = p, .publish = mqtt_publish, .connected = mqtt_connected,
                              .poll = mqtt_poll, .stats = mqtt_stats, .close = mqtt_close};
    p = NULL;
    rc = 0;
out:
    free_pub(p);
    return rc;
}
