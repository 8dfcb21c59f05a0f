/* Bench tool (driven by bench/e2e.sh, not run on its own): floods a broker with realistic agent
 * packs, or counts them as a do-nothing subscriber. MQTT v5, QoS 1, on 127.0.0.1 only.
 *   mqtt_flood publish   --port P [--packs 20000] [--hosts 50] [--samples 100] [--window 1000]
 *                        [--timeout-s 120] [--root updraft]
 *   mqtt_flood subscribe --port P --count N [--timeout-s 120] [--ready-file F]
 *                        [--receive-max 20] [--root updraft]
 * publish: builds every pack first (SenML JSON by common/senml_json_encode.c as the agent sends
 * it: bn "<host>/", bt, bid, sq, one host's records, labels on some), then publishes them with
 * at most --window unacknowledged; each host's packs are 1 s apart, ending now, so every sample
 * is distinct and recent. subscribe: counts messages on <root>/v1/+/metrics until --count, with
 * the hub's client settings (receive maximum 20 is libmosquitto's default, which the hub keeps).
 * Prints "name value unit" lines; rates are timed with the monotonic clock. Exit 1 on timeout.
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
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/senml_json.h"
#include "common/topic.h"

#define CONNECT_TIMEOUT_MS 10000

struct flood {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool connected, subscribed, lost;
    int connect_reason;
    uint64_t inflight, acked, refused, received, target;
    int64_t first_ms, last_ms; /* monotonic */
};

struct options {
    const char *root, *ready_file;
    int port;
    int64_t packs, hosts, samples, window, count, timeout_s, receive_max;
};

/* One host's series as our agent reports them (docs/metrics.md, hostmetrics_gen.py): 100. */
struct family {
    const char *name;
    const char *label_key; /* NULL: the values go into the name ("cpu.core.3"), if any */
    const char *label_values[8];
    bool integer;
};

static const struct family FAMILIES[] = {
    {"cpu.utilization", NULL, {NULL}, false},
    {"cpu.core", NULL, {"0", "1", "2", "3", "4", "5", "6", "7"}, false},
    {"cpu.core", NULL, {"8", "9", "10", "11", "12", "13", "14", "15"}, false},
    {"cpu.core", NULL, {"16", "17", "18", "19", "20", "21", "22", "23"}, false},
    {"cpu.core", NULL, {"24", "25", "26", "27", "28", "29", "30", "31"}, false},
    {"cpu.user_pct", NULL, {NULL}, false},
    {"cpu.system_pct", NULL, {NULL}, false},
    {"cpu.iowait_pct", NULL, {NULL}, false},
    {"cpu.steal_pct", NULL, {NULL}, false},
    {"cpu.load1", NULL, {NULL}, false},
    {"cpu.load5", NULL, {NULL}, false},
    {"cpu.load15", NULL, {NULL}, false},
    {"mem.used_pct", NULL, {NULL}, false},
    {"mem.swap_pct", NULL, {NULL}, false},
    {"mem.used_mb", NULL, {NULL}, true},
    {"mem.available_mb", NULL, {NULL}, true},
    {"mem.cache_mb", NULL, {NULL}, true},
    {"disk.used_pct", "mount", {"/", "/var", "/data", "/home"}, false},
    {"disk.inodes_used_pct", "mount", {"/", "/var", "/data", "/home"}, false},
    {"disk.iops_read", "device", {"sda", "sdb", "nvme0n1"}, false},
    {"disk.iops_write", "device", {"sda", "sdb", "nvme0n1"}, false},
    {"disk.throughput_read_mbps", "device", {"sda", "sdb", "nvme0n1"}, false},
    {"disk.throughput_write_mbps", "device", {"sda", "sdb", "nvme0n1"}, false},
    {"disk.await_ms", "device", {"sda", "sdb", "nvme0n1"}, false},
    {"net.rx_mbps", "iface", {"eth0", "eth1", "eth2"}, false},
    {"net.tx_mbps", "iface", {"eth0", "eth1", "eth2"}, false},
    {"net.rx_pps", "iface", {"eth0", "eth1", "eth2"}, false},
    {"net.tx_pps", "iface", {"eth0", "eth1", "eth2"}, false},
    {"net.errors", "iface", {"eth0", "eth1", "eth2"}, true},
    {"net.drops", "iface", {"eth0", "eth1", "eth2"}, true},
    {"net.sockets_active", NULL, {NULL}, true},
    {"proc.top.cpu_pct", "rank", {"1", "2", "3", "4", "5"}, false},
    {"proc.top.mem_mb", "rank", {"1", "2", "3", "4", "5"}, true},
    {"gpu.utilization_pct", "gpu", {"0"}, false},
    {"gpu.mem_used_mb", "gpu", {"0"}, true},
    {"gpu.temp_c", "gpu", {"0"}, true},
};

/* The packs, encoded back to back before the clock starts. */
struct packs {
    char *bytes;
    size_t len, cap;
    size_t *ends;
    char (*topics)[TOPIC_MAX]; /* per host */
    size_t count, hosts;
};

static void fail(const char *what)
{
    fprintf(stderr, "mqtt_flood: %s\n", what);
    exit(2);
}

static void *xrealloc(void *p, size_t size)
{
    p = realloc(p, size);
    if (p == NULL)
        fail("out of memory");
    return p;
}

static uint64_t xorshift(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/* Fills recs[0..max) with one host's records (names "<host>/<metric>", freed by the caller)
 * and integer[] with which are integer series; returns how many. */
static size_t host_records(const char *host, struct senml_record *recs, bool *integer, size_t max)
{
    size_t n = 0;
    for (size_t f = 0; f < sizeof FAMILIES / sizeof FAMILIES[0]; f++) {
        const struct family *fam = &FAMILIES[f];
        for (size_t l = 0; l < 8 && (l == 0 || fam->label_values[l] != NULL) && n < max; l++) {
            struct senml_record *r = &recs[n];
            const char *value = fam->label_values[l];
            memset(r, 0, sizeof *r);
            r->kind = SENML_KIND_NUMBER;
            size_t size = strlen(host) + strlen(fam->name) + 8;
            r->name = xrealloc(NULL, size);
            if (fam->label_key == NULL && value != NULL) {
                snprintf(r->name, size, "%s/%s.%s", host, fam->name, value);
            } else {
                snprintf(r->name, size, "%s/%s", host, fam->name);
            }
            if (fam->label_key != NULL) { /* the encoder only reads labels */
                r->labels[0].key = (char *)fam->label_key;
                r->labels[0].value = (char *)value;
                r->label_count = 1;
            }
            integer[n++] = fam->integer;
        }
    }
    return n;
}

/* A bounded random walk, 2 decimals (or integers), as collected values look. */
static double next_value(double previous, bool integer, uint64_t *rng)
{
    double step = (double)(xorshift(rng) % 2001) / 1000.0 - 1.0;
    double v = fabs(previous + step * (integer ? 40.0 : 1.5));
    if (v > (integer ? 65536.0 : 100.0))
        v = integer ? 32768.0 : 50.0;
    return integer ? round(v) : round(v * 100.0) / 100.0;
}

static void packs_add(struct packs *p, const struct senml_buf *buf)
{
    if (p->bytes == NULL || p->len + buf->len > p->cap) {
        p->cap = (p->len + buf->len) * 2;
        p->bytes = xrealloc(p->bytes, p->cap);
    }
    memcpy(p->bytes + p->len, buf->data, buf->len);
    p->len += buf->len;
    p->ends[p->count++] = p->len;
}

/* Pack i goes to host i % hosts as that host's sequence i / hosts + 1. */
static void packs_build(struct packs *p, const struct options *o)
{
    size_t hosts = (size_t)o->hosts, per_host = ((size_t)o->packs + hosts - 1) / hosts;
    size_t k = (size_t)o->samples;
    struct senml_record *recs = xrealloc(NULL, hosts * k * sizeof *recs);
    bool *integer = xrealloc(NULL, hosts * k * sizeof *integer);
    char(*boot_ids)[17] = xrealloc(NULL, hosts * sizeof *boot_ids);
    p->topics = xrealloc(NULL, hosts * sizeof *p->topics);
    p->ends = xrealloc(NULL, (size_t)o->packs * sizeof *p->ends);
    p->hosts = hosts;
    int64_t base_ms = clock_wall_ms() - (int64_t)per_host * 1000;
    uint64_t rng = 88172645463325252u ^ (uint64_t)base_ms;
    for (size_t h = 0; h < hosts; h++) {
        char host[TOPIC_HOST_MAX + 1];
        snprintf(host, sizeof host, "bench-%03zu", h);
        if (topic_build(p->topics[h], TOPIC_MAX, o->root, host, TOPIC_KIND_METRICS) != 0 ||
            host_records(host, &recs[h * k], &integer[h * k], k) != k)
            fail("bad --root, or --samples beyond the records a host has");
        snprintf(boot_ids[h], sizeof boot_ids[h], "%016" PRIx64, xorshift(&rng));
        for (size_t r = 0; r < k; r++)
            recs[h * k + r].value = (double)(xorshift(&rng) % 5000) / 100.0;
    }
    struct senml_buf buf = {0};
    for (size_t i = 0; i < (size_t)o->packs; i++) {
        size_t h = i % hosts, seq = i / hosts + 1;
        struct senml_record *host_recs = &recs[h * k];
        for (size_t r = 0; r < k; r++) {
            host_recs[r].time_s = (double)(base_ms + (int64_t)(seq - 1) * 1000) / 1000.0;
            host_recs[r].value = next_value(host_recs[r].value, integer[h * k + r], &rng);
        }
        struct senml_pack pack = {
            .records = host_recs, .count = k, .boot_id = boot_ids[h], .has_seq = true, .seq = seq};
        char base_name[TOPIC_HOST_MAX + 2];
        snprintf(base_name, sizeof base_name, "bench-%03zu/", h);
        buf.len = 0;
        if (senml_json_encode(&pack, base_name, &buf) != 0)
            fail("cannot encode a pack");
        packs_add(p, &buf);
    }
    senml_buf_free(&buf);
    for (size_t i = 0; i < hosts * k; i++)
        free(recs[i].name);
    free(recs);
    free(integer);
    free(boot_ids);
}

static void packs_free(struct packs *p)
{
    free(p->bytes);
    free(p->ends);
    free(p->topics);
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

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
    (void)mosq;
    (void)msg;
    struct flood *f = obj;
    pthread_mutex_lock(&f->lock);
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
    size_t start = 0, i = 0;
    pthread_mutex_lock(&f->lock);
    for (; i < p.count; i++) {
        while (f->inflight >= (uint64_t)o->window && !f->lost)
            if (pthread_cond_timedwait(&f->cond, &f->lock, &deadline) == ETIMEDOUT)
                break;
        if (f->inflight >= (uint64_t)o->window || f->lost)
            break;
        f->inflight++;
        pthread_mutex_unlock(&f->lock);
        int rc = mosquitto_publish(mosq, NULL, p.topics[i % p.hosts], (int)(p.ends[i] - start),
                                   p.bytes + start, 1, false);
        pthread_mutex_lock(&f->lock);
        if (rc != MOSQ_ERR_SUCCESS) {
            f->inflight--;
            fprintf(stderr, "mqtt_flood: publish: %s\n", mosquitto_strerror(rc));
            break;
        }
        start = p.ends[i];
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
    printf("publish_bytes_per_message %.0f B\n", (double)p.len / (double)p.count);
    printf("publish_first_wall_ms %" PRId64 " ms\n", first_wall_ms);
    printf("publish_seconds %.3f s\n", seconds);
    printf("publish_messages_per_s %.0f msgs/s\n", seconds > 0 ? (double)acked / seconds : 0);
    printf("publish_samples_per_s %.0f samples/s\n", seconds > 0 ? samples / seconds : 0);
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
    pthread_mutex_lock(&f->lock);
    while (f->received < f->target && !f->lost)
        if (pthread_cond_timedwait(&f->cond, &f->lock, &deadline) == ETIMEDOUT)
            break;
    uint64_t received = f->received;
    double seconds = (double)(f->last_ms - f->first_ms) / 1000.0;
    pthread_mutex_unlock(&f->lock);
    flood_close(mosq);
    printf("subscribe_messages %" PRIu64 " msgs\n", received);
    printf("subscribe_seconds %.3f s\n", seconds);
    printf("subscribe_messages_per_s %.0f msgs/s\n", seconds > 0 ? (double)received / seconds : 0);
    if (received < f->target) {
        fprintf(stderr, "mqtt_flood: %" PRIu64 " of %" PRId64 " messages (timeout)\n", received,
                o->count);
        return 1;
    }
    return 0;
}

static int64_t arg_int(int argc, char **argv, const char *name, int64_t def, int64_t min,
                       int64_t max)
{
    for (int i = 2; i + 1 < argc; i++) {
        if (strcmp(argv[i], name) != 0)
            continue;
        char *end;
        errno = 0;
        long long v = strtoll(argv[i + 1], &end, 10);
        if (errno != 0 || *end != '\0' || v < min || v > max) {
            fprintf(stderr, "mqtt_flood: %s must be %" PRId64 "..%" PRId64 "\n", name, min, max);
            exit(2);
        }
        return v;
    }
    return def;
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
        .port = (int)arg_int(argc, argv, "--port", 0, 1, 65535),
        .packs = arg_int(argc, argv, "--packs", 20000, 1, 10000000),
        .hosts = arg_int(argc, argv, "--hosts", 50, 1, 999),
        .samples = arg_int(argc, argv, "--samples", 100, 1, 100),
        .window = publish ? arg_int(argc, argv, "--window", 1000, 1, 65535) : 0,
        .count = arg_int(argc, argv, "--count", 0, 0, INT64_MAX),
        .timeout_s = arg_int(argc, argv, "--timeout-s", 120, 1, 86400),
        .receive_max = arg_int(argc, argv, "--receive-max", 20, 1, 65535),
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
