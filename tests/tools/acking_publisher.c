/* Test tool: a publisher that behaves as a spooling agent must. It sends a known set of SenML
 * packs (bid + sq) at QoS 1, keeps each until the hub's ack on <root>/v1/<host>/ack covers
 * it, and resends what stays unacknowledged after --resend-ms. Exits 0 once every pack is
 * acknowledged, 1 on --timeout-s. Used by the crash tests (tests/integration/).
 *   acking_publisher --port P --host H --packs N --samples K [--rate PACKS_PER_S]
 *                    [--resend-ms MS] [--timeout-s S] [--base-ms MS]
 * Sample i (0 <= i < N*K) of metric "crash.value" has time base + i*1000 ms and value i. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/mqtt_client.h"
#include "common/topic.h"

struct pub {
    const char *host;
    char boot_id[17];
    uint64_t packs, samples_per_pack;
    int64_t base_ms;
    pthread_mutex_t lock;
    bool *acked;        /* [packs], index seq - 1 */
    int64_t *sent_ms;   /* last send, monotonic; 0 = never */
    uint64_t n_acked, resent, acks_seen;
};

static void on_message(void *user, const char *topic, const void *payload, size_t len, bool retained)
{
    (void)topic;
    (void)retained;
    struct pub *p = user;
    json_t *root = json_loadb(payload, len, 0, NULL);
    const char *boot = json_string_value(json_object_get(root, "boot_id"));
    json_t *ranges = json_object_get(root, "ranges");
    if (boot != NULL && strcmp(boot, p->boot_id) == 0 && json_is_array(ranges)) {
        pthread_mutex_lock(&p->lock);
        p->acks_seen++;
        size_t i;
        json_t *r;
        json_array_foreach(ranges, i, r) {
            json_int_t first = json_integer_value(json_array_get(r, 0));
            json_int_t last = json_integer_value(json_array_get(r, 1));
            for (json_int_t s = first; s <= last; s++) {
                if (s >= 1 && (uint64_t)s <= p->packs && !p->acked[s - 1]) {
                    p->acked[s - 1] = true;
                    p->n_acked++;
                }
            }
        }
        pthread_mutex_unlock(&p->lock);
    }
    json_decref(root);
}

static size_t build_pack(const struct pub *p, uint64_t seq, char *buf, size_t size)
{
    uint64_t first = (seq - 1) * p->samples_per_pack;
    int64_t t0 = p->base_ms + (int64_t)first * 1000;
    size_t n = (size_t)snprintf(buf, size,
                                "[{\"bn\":\"%s/\",\"bt\":%" PRId64 ".%03" PRId64
                                ",\"n\":\"crash.value\",\"v\":%" PRIu64
                                ",\"bid\":\"%s\",\"sq\":%" PRIu64 "}",
                                p->host, t0 / 1000, t0 % 1000, first, p->boot_id, seq);
    for (uint64_t k = 1; k < p->samples_per_pack && n < size; k++)
        n += (size_t)snprintf(buf + n, size - n, ",{\"n\":\"crash.value\",\"t\":%" PRIu64
                                                 ",\"v\":%" PRIu64 "}",
                              k, first + k);
    if (n < size)
        n += (size_t)snprintf(buf + n, size - n, "]");
    return n;
}

static int64_t arg_int(int argc, char **argv, const char *name, int64_t def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return strtoll(argv[i + 1], NULL, 10);
    return def;
}

static const char *arg_str(int argc, char **argv, const char *name, const char *def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return def;
}

int main(int argc, char **argv)
{
    struct pub p = {.host = arg_str(argc, argv, "--host", "crash-host")};
    p.packs = (uint64_t)arg_int(argc, argv, "--packs", 200);
    p.samples_per_pack = (uint64_t)arg_int(argc, argv, "--samples", 10);
    int64_t rate = arg_int(argc, argv, "--rate", 50);
    int64_t resend_ms = arg_int(argc, argv, "--resend-ms", 2000);
    int64_t timeout_ms = arg_int(argc, argv, "--timeout-s", 120) * 1000;
    p.base_ms = arg_int(argc, argv, "--base-ms", clock_wall_ms() - 3000 * 1000);
    snprintf(p.boot_id, sizeof p.boot_id, "%016" PRIx64, (uint64_t)clock_wall_ms());
    pthread_mutex_init(&p.lock, NULL);
    p.acked = calloc(p.packs, sizeof *p.acked);
    p.sent_ms = calloc(p.packs, sizeof *p.sent_ms);
    char ack_topic[TOPIC_MAX], metrics_topic[TOPIC_MAX], client_id[96];
    if (p.acked == NULL || p.sent_ms == NULL ||
        topic_build(ack_topic, sizeof ack_topic, "updraft", p.host, TOPIC_KIND_ACK) != 0 ||
        topic_build(metrics_topic, sizeof metrics_topic, "updraft", p.host, TOPIC_KIND_METRICS) != 0)
        return 2;
    snprintf(client_id, sizeof client_id, "acking-publisher-%s", p.host);
    struct mqtt_client_options mo = {.host = "127.0.0.1",
                                     .port = (int)arg_int(argc, argv, "--port", 1883),
                                     .client_id = client_id, .keepalive_s = 30,
                                     .clean_start = true, .reconnect_min_s = 1,
                                     .reconnect_max_s = 2};
    struct mqtt_client *c = NULL;
    if (mqtt_client_new(&mo, on_message, NULL, &p, &c) != 0 ||
        mqtt_client_subscribe(c, ack_topic, 1) != 0 || mqtt_client_start(c) != 0)
        return 2;
    size_t cap = 256 + p.samples_per_pack * 64;
    char *buf = malloc(cap);
    int64_t start = clock_mono_ms(), gap_ms = rate > 0 ? 1000 / rate : 0;
    uint64_t next = 1;
    int rc = 1;
    while (clock_mono_ms() - start < timeout_ms) {
        int64_t now = clock_mono_ms();
        pthread_mutex_lock(&p.lock);
        bool done = p.n_acked == p.packs;
        pthread_mutex_unlock(&p.lock);
        if (done) {
            rc = 0;
            break;
        }
        for (uint64_t s = 1; s <= p.packs && mqtt_client_connected(c); s++) {
            pthread_mutex_lock(&p.lock);
            bool acked = p.acked[s - 1];
            pthread_mutex_unlock(&p.lock);
            int64_t sent = p.sent_ms[s - 1];
            bool first_time = sent == 0 && s == next;
            bool resend = sent != 0 && !acked && now - sent >= resend_ms;
            if (!first_time && !resend)
                continue;
            size_t len = build_pack(&p, s, buf, cap);
            if (mqtt_client_publish(c, metrics_topic, buf, len, 1, false) != 0)
                break;
            p.sent_ms[s - 1] = now;
            if (first_time)
                next++;
            else
                p.resent++;
            if (first_time)
                break; /* new packs go out at --rate; resends all at once */
        }
        nanosleep(&(struct timespec){0, (long)(gap_ms > 0 ? gap_ms : 1) * 1000000}, NULL);
    }
    pthread_mutex_lock(&p.lock);
    printf("acking_publisher: boot %s: %" PRIu64 "/%" PRIu64 " packs acknowledged, %" PRIu64
           " resent, %" PRIu64 " ack messages, %s\n",
           p.boot_id, p.n_acked, p.packs, p.resent, p.acks_seen, rc == 0 ? "done" : "TIMEOUT");
    pthread_mutex_unlock(&p.lock);
    mqtt_client_free(c);
    free(buf);
    free(p.acked);
    free(p.sent_ms);
    pthread_mutex_destroy(&p.lock);
    return rc;
}
