/* Bench tool (driven by bench/e2e.sh, not run on its own): floods a broker with realistic agent
 * packs, or counts them as a do-nothing subscriber. MQTT v5, QoS 1, on 127.0.0.1 only.
 *   mqtt_flood publish   --port P [--packs 20000] [--hosts 50] [--samples 100] [--window 1000]
 *                        [--timeout-s 120] [--root updraft]
 *   mqtt_flood subscribe --port P --count N [--timeout-s 120] [--ready-file F]
 *                        [--receive-max 20] [--root updraft]
 * publish: builds every pack first (SenML JSON by common/senml_json_encode.c as the agent sends
 * it: bn "<host>/", bt, bid, sq, one host's records, labels on some), then publishes them with
 * at most --window unacknowledged; each host's packs are 1 s apart, ending now, so every sample
 * is distinct and recent (bench/flood_packs.h, the packs bench/coap_flood.c sends as CBOR).
 * subscribe: counts messages on <root>/v1/+/metrics until --count, with the hub's client
 * settings (receive maximum 20 is libmosquitto's default, which the hub keeps), and the distinct
 * packs among them (topic + bid + sq: a duplicate or a lost pack shows as distinct < --count).
 * Prints "name value unit" lines; rates are timed with the monotonic clock; *_cpu_s is the
 * process' CPU time (all threads) from the first publish, or from the SUBACK, to the end.
 * Exit 1 on timeout.
 * (<mosquitto.h> outside common/mqtt_client.c: a bench of the broker itself, allowed in bench/.) */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <mosquitto.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "bench/flood_packs.h"
#include "common/clock.h"
#include "common/topic.h"

#define CONNECT_TIMEOUT_MS 10000

struct flood {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool connected, subscribed, lost;
    int connect_reason;
    uint64_t inflight, acked, refused, received, distinct, target;
    int64_t first_ms, last_ms; /* monotonic */
    uint64_t *seen;            /* subscribe: open-addressing set of pack keys (0: empty slot) */
    size_t seen_mask;
};

struct options {
    const char *root, *ready_file;
    int port;
    int64_t packs, hosts, samples, window, count, timeout_s, receive_max;
};

/* The packs (bench/flood_packs.h) and each host's topic. */
struct packs {
    struct flood_packs packs;
    char (*topics)[TOPIC_MAX]; /* per host */
};

__attribute__((noreturn)) static void fail(const char *what)
{
    fprintf(stderr, "mqtt_flood: %s\n", what);
    exit(2);
}

static void packs_build(struct packs *p, const struct options *o)
{
    size_t hosts = (size_t)o->hosts;
    p->topics = xrealloc(NULL, hosts * sizeof *p->topics);
    for (size_t h = 0; h < hosts; h++) {
        char host[32];
        flood_host_name(host, sizeof host, h);
        if (topic_build(p->topics[h], TOPIC_MAX, o->root, host, TOPIC_KIND_METRICS) != 0)
            fail("bad --root");
    }
    if (flood_packs_build(&p->packs, (size_t)o->packs, hosts, (size_t)o->samples,
                          FLOOD_SENML_JSON) != 0)
        fail("cannot encode a pack");
}

static void packs_free(struct packs *p)
{
    flood_packs_free(&p->packs);
    free(p->topics);
}

/* CPU seconds of the process so far (all threads: libmosquitto's network thread included). */
static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int64_t mono_ms(void)
{
    return clock_mono_ms();
}

static struct timespec deadline_in(int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    return ts;
}

static void on_connect(struct mosquitto *mosq, void *obj, int reason, int flags,
                       const mosquitto_property *props)
{
    (void)mosq;
    (void)flags;
    (void)props;
    struct flood *f = obj;
    pthread_mutex_lock(&f->lock);
    f->connected = reason == 0;
    f->connect_reason = reason;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int reason,
                          const mosquitto_property *props)
{
    (void)mosq;
    (void)props;
    (void)reason;
    struct flood *f = obj;
    pthread_mutex_lock(&f->lock);
    f->lost = f->connected;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid, int reason,
                       const mosquitto_property *props)
{
    (void)mosq;
    (void)mid;
    (void)props;
    struct flood *f = obj;
    pthread_mutex_lock(&f->lock);
    f->inflight--;
    f->acked++;
    f->refused += reason >= 0x80; /* v5 PUBACK reason: e.g. quota exceeded */
    f->last_ms = mono_ms();
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
                         const int *granted)
{
    (void)mosq;
    (void)mid;
    struct flood *f = obj;
    pthread_mutex_lock(&f->lock);
    f->subscribed = qos_count == 1 && granted[0] == 1;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
}

/* FNV-1a of len bytes, continuing from h. */
static uint64_t fnv1a(uint64_t h, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)s[i]) * 0x100000001b3u;
    return h;
}

/* The value after `"key":` in the payload (a string's text without its quotes, or a number),
 * or NULL; *len is its length. */
static const char *json_field(const char *payload, size_t size, const char *key, size_t *len)
{
    const char *v = memmem(payload, size, key, strlen(key));
    if (v == NULL)
        return NULL;
    v += strlen(key);
    const char *end = payload + size;
    bool quoted = v < end && *v == '"';
    v += quoted;
    const char *e = v;
    while (e < end && (quoted ? *e != '"' : (*e != ',' && *e != '}')))
        e++;
    *len = (size_t)(e - v);
    return v;
}

/* A pack's identity: its topic (the host), bid and sq (which the bridge carries unchanged);
 * the whole payload when it has neither. Never 0. */
static uint64_t pack_key(const struct mosquitto_message *msg)
{
    const char *payload = msg->payload;
    size_t size = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0, bid_len = 0, sq_len = 0;
    const char *bid = json_field(payload, size, "\"bid\":", &bid_len);
    const char *sq = json_field(payload, size, "\"sq\":", &sq_len);
    uint64_t h = fnv1a(0xcbf29ce484222325u, msg->topic, strlen(msg->topic));
    if (bid == NULL && sq == NULL) {
        h = fnv1a(h, payload, size);
    } else {
        h = fnv1a(h, bid != NULL ? bid : "", bid_len);
        h = fnv1a(h, "/", 1);
        h = fnv1a(h, sq != NULL ? sq : "", sq_len);
    }
    return h != 0 ? h : 1;
}

/* Adds key to the set (lock held); true when it was not there. A full set counts all. */
static bool seen_add(struct flood *f, uint64_t key)
{
    if (f->seen == NULL)
        return true;
    for (size_t i = (size_t)key & f->seen_mask, n = 0; n <= f->seen_mask;
         i = (i + 1) & f->seen_mask, n++) {
        if (f->seen[i] == key)
            return false;
        if (f->seen[i] == 0) {
            f->seen[i] = key;
            return true;
        }
    }
    return true;
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
    (void)mosq;
    struct flood *f = obj;
    uint64_t key = pack_key(msg);
    pthread_mutex_lock(&f->lock);
    f->distinct += seen_add(f, key);
    int64_t now = mono_ms();
    if (f->received++ == 0)
        f->first_ms = now;
    f->last_ms = now;
    if (f->received >= f->target)
        pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
}

/* Waits (lock held) until *flag or the deadline; returns *flag. */
static bool wait_flag(struct flood *f, const bool *flag, const struct timespec *deadline)
{
    while (!*flag && !f->lost)
        if (pthread_cond_timedwait(&f->cond, &f->lock, deadline) == ETIMEDOUT)
            break;
    return *flag;
}

static struct mosquitto *flood_connect(struct flood *f, const struct options *o, const char *id)
{
    struct mosquitto *mosq = mosquitto_new(id, true, f);
    if (mosq == NULL)
        fail("mosquitto_new failed");
    mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    if (o->window > 0)
        mosquitto_int_option(mosq, MOSQ_OPT_SEND_MAXIMUM, (int)o->window);
    mosquitto_int_option(mosq, MOSQ_OPT_RECEIVE_MAXIMUM, (int)o->receive_max);
    mosquitto_connect_v5_callback_set(mosq, on_connect);
    mosquitto_disconnect_v5_callback_set(mosq, on_disconnect);
    mosquitto_publish_v5_callback_set(mosq, on_publish);
    mosquitto_subscribe_callback_set(mosq, on_subscribe);
    mosquitto_message_callback_set(mosq, on_message);
    if (mosquitto_connect(mosq, "127.0.0.1", o->port, 30) != MOSQ_ERR_SUCCESS ||
        mosquitto_loop_start(mosq) != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "mqtt_flood: cannot connect to 127.0.0.1:%d\n", o->port);
        exit(1);
    }
    struct timespec deadline = deadline_in(CONNECT_TIMEOUT_MS);
    pthread_mutex_lock(&f->lock);
    bool up = wait_flag(f, &f->connected, &deadline);
    pthread_mutex_unlock(&f->lock);
    if (!up) {
        fprintf(stderr, "mqtt_flood: no CONNACK from 127.0.0.1:%d (reason %d)\n", o->port,
                f->connect_reason);
        exit(1);
    }
    return mosq;
}

static void flood_close(struct mosquitto *mosq)
{
    mosquitto_disconnect(mosq);
    mosquitto_loop_stop(mosq, false);
    mosquitto_destroy(mosq);
}

static int run_publish(struct flood *f, const struct options *o)
{
    struct packs p = {0};
    packs_build(&p, o);
    struct mosquitto *mosq = flood_connect(f, o, NULL);
    struct timespec deadline = deadline_in(o->timeout_s * 1000);
    int64_t first_wall_ms = clock_wall_ms(), first_ms = mono_ms();
    double cpu0 = cpu_s();
    size_t start = 0, i = 0, host = 0; /* pack i is host i % hosts' */
    pthread_mutex_lock(&f->lock);
    for (; i < p.packs.count; i++, host = host + 1 == p.packs.hosts ? 0 : host + 1) {
        while (f->inflight >= (uint64_t)o->window && !f->lost)
            if (pthread_cond_timedwait(&f->cond, &f->lock, &deadline) == ETIMEDOUT)
                break;
        if (f->inflight >= (uint64_t)o->window || f->lost)
            break;
        f->inflight++;
        pthread_mutex_unlock(&f->lock);
        int rc = mosquitto_publish(mosq, NULL, p.topics[host], (int)(p.packs.ends[i] - start),
                                   p.packs.bytes + start, 1, false);
        pthread_mutex_lock(&f->lock);
        if (rc != MOSQ_ERR_SUCCESS) {
            f->inflight--;
            fprintf(stderr, "mqtt_flood: publish: %s\n", mosquitto_strerror(rc));
            break;
        }
        start = p.packs.ends[i];
    }
    while (f->acked < i && !f->lost)
        if (pthread_cond_timedwait(&f->cond, &f->lock, &deadline) == ETIMEDOUT)
            break;
    uint64_t acked = f->acked, refused = f->refused;
    double seconds = acked > 0 ? (double)(f->last_ms - first_ms) / 1000.0 : 0;
    bool lost = f->lost;
    pthread_mutex_unlock(&f->lock);
    flood_close(mosq);

    double samples = (double)acked * (double)o->samples;
    printf("publish_messages %" PRIu64 " msgs\n", acked);
    printf("publish_bytes_per_message %.0f B\n", (double)p.packs.len / (double)p.packs.count);
    printf("publish_first_wall_ms %" PRId64 " ms\n", first_wall_ms);
    printf("publish_seconds %.3f s\n", seconds);
    printf("publish_messages_per_s %.0f msgs/s\n", seconds > 0 ? (double)acked / seconds : 0);
    printf("publish_samples_per_s %.0f samples/s\n", seconds > 0 ? samples / seconds : 0);
    printf("publish_cpu_s %.3f s\n", cpu_s() - cpu0);
    packs_free(&p);
    if (acked != (uint64_t)o->packs || refused > 0 || lost) {
        fprintf(stderr,
                "mqtt_flood: %" PRIu64 " of %" PRId64 " packs acknowledged, %" PRIu64
                " refused%s\n",
                acked, o->packs, refused, lost ? ", connection lost" : ", timeout");
        return 1;
    }
    return 0;
}

static int run_subscribe(struct flood *f, const struct options *o)
{
    char filter[TOPIC_MAX], id[64];
    snprintf(id, sizeof id, "mqtt-flood-sub-%d", (int)getpid());
    f->target = (uint64_t)o->count;
    size_t slots = 1024;
    while (slots < 2 * (size_t)o->count && slots < ((size_t)1 << 30))
        slots *= 2;
    f->seen = xrealloc(NULL, slots * sizeof *f->seen);
    memset(f->seen, 0, slots * sizeof *f->seen);
    f->seen_mask = slots - 1;
    if (topic_filter(filter, sizeof filter, o->root, TOPIC_KIND_METRICS) != 0)
        fail("bad --root");
    struct mosquitto *mosq = flood_connect(f, o, id);
    struct timespec deadline = deadline_in(CONNECT_TIMEOUT_MS);
    if (mosquitto_subscribe(mosq, NULL, filter, 1) != MOSQ_ERR_SUCCESS)
        fail("subscribe failed");
    pthread_mutex_lock(&f->lock);
    bool subscribed = wait_flag(f, &f->subscribed, &deadline);
    pthread_mutex_unlock(&f->lock);
    if (!subscribed)
        fail("no SUBACK granting QoS 1");
    if (o->ready_file != NULL) {
        FILE *ready = fopen(o->ready_file, "w");
        if (ready == NULL || fclose(ready) != 0)
            fail("cannot write --ready-file");
    }
    deadline = deadline_in(o->timeout_s * 1000);
    double cpu0 = cpu_s();
    pthread_mutex_lock(&f->lock);
    while (f->received < f->target && !f->lost)
        if (pthread_cond_timedwait(&f->cond, &f->lock, &deadline) == ETIMEDOUT)
            break;
    uint64_t received = f->received, distinct = f->distinct;
    double seconds = (double)(f->last_ms - f->first_ms) / 1000.0;
    pthread_mutex_unlock(&f->lock);
    flood_close(mosq);
    free(f->seen);
    f->seen = NULL;
    printf("subscribe_messages %" PRIu64 " msgs\n", received);
    printf("subscribe_distinct_packs %" PRIu64 " packs\n", distinct);
    printf("subscribe_seconds %.3f s\n", seconds);
    printf("subscribe_messages_per_s %.0f msgs/s\n", seconds > 0 ? (double)received / seconds : 0);
    printf("subscribe_cpu_s %.3f s\n", cpu_s() - cpu0);
    if (received < f->target) {
        fprintf(stderr, "mqtt_flood: %" PRIu64 " of %" PRId64 " messages (timeout)\n", received,
                o->count);
        return 1;
    }
    return 0;
}

static const char *arg_str(int argc, char **argv, const char *name, const char *def)
{
    for (int i = 2; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return def;
}

int main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "publish") != 0 && strcmp(argv[1], "subscribe") != 0)) {
        fprintf(stderr,
                "usage: mqtt_flood publish|subscribe --port P [options] (see the source)\n");
        return 2;
    }
    bool publish = strcmp(argv[1], "publish") == 0;
    struct options o = {
        .root = arg_str(argc, argv, "--root", "updraft"),
        .ready_file = arg_str(argc, argv, "--ready-file", NULL),
        .port = (int)arg_int("mqtt_flood", argc, argv, 2, "--port", 0, 1, 65535),
        .packs = arg_int("mqtt_flood", argc, argv, 2, "--packs", 20000, 1, 10000000),
        .hosts = arg_int("mqtt_flood", argc, argv, 2, "--hosts", 50, 1, 999),
        .samples = arg_int("mqtt_flood", argc, argv, 2, "--samples", 100, 1, 100),
        .window = publish ? arg_int("mqtt_flood", argc, argv, 2, "--window", 1000, 1, 65535) : 0,
        .count = arg_int("mqtt_flood", argc, argv, 2, "--count", 0, 0, INT64_MAX),
        .timeout_s = arg_int("mqtt_flood", argc, argv, 2, "--timeout-s", 120, 1, 86400),
        .receive_max = arg_int("mqtt_flood", argc, argv, 2, "--receive-max", 20, 1, 65535),
    };
    if (o.port == 0 || (!publish && o.count == 0)) {
        fprintf(stderr, "mqtt_flood: --port is required (and --count for subscribe)\n");
        return 2;
    }
    struct flood f = {0};
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&f.cond, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&f.lock, NULL);
    mosquitto_lib_init();
    int rc = publish ? run_publish(&f, &o) : run_subscribe(&f, &o);
    mosquitto_lib_cleanup();
    pthread_cond_destroy(&f.cond);
    pthread_mutex_destroy(&f.lock);
    return rc;
}
