/* The agent's loop (see agent.h). */
#include "edge-agent/agent.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/senml_json.h"
#include "common/topic.h"
#include "edge-agent/collector.h"
#include "edge-agent/identity.h"
#include "edge-agent/pack.h"
#include "edge-agent/publisher.h"

#define LOG_MODULE "agent"
#include "common/log.h"

#define AGENT_MAX_COLLECTORS 16

struct collector_slot {
    struct collector c;
    int last_rc;                /* to log a failure once, and its recovery */
};

struct agent {
    const struct agent_config *cfg;
    char host[TOPIC_HOST_MAX + 1];
    char boot_id[17];
    char metrics_topic[TOPIC_MAX], heartbeat_topic[TOPIC_MAX], state_topic[TOPIC_MAX];
    struct collector_slot collectors[AGENT_MAX_COLLECTORS];
    size_t n_collectors;
    struct metric_batch *batch;
    struct senml_buf buf;
    uint64_t seq;               /* last pack sequence used in this boot */
    int64_t started_mono_ms;
    uint64_t encode_failures;
    struct publisher pub;
    bool has_pub;
};

typedef int (*collector_ctor)(const char *proc_root, struct collector *out);
static const struct {
    const char *name;
    collector_ctor ctor;
} known_collectors[] = {{"cpu", collector_cpu_new}, {"mem", collector_mem_new}};

static int add_collectors(struct agent *a, const char *list)
{
    char copy[257];
    snprintf(copy, sizeof copy, "%s", list);
    char *save = NULL;
    for (char *name = strtok_r(copy, ", ", &save); name; name = strtok_r(NULL, ", ", &save)) {
        size_t k = 0;
        while (k < sizeof known_collectors / sizeof known_collectors[0] &&
               strcmp(known_collectors[k].name, name) != 0)
            k++;
        if (k == sizeof known_collectors / sizeof known_collectors[0]) {
            fprintf(stderr, "updraft-agent: [agent] collectors: unknown collector \"%s\" "
                            "(known: cpu, mem)\n", name);
            return -EINVAL;
        }
        if (a->n_collectors == AGENT_MAX_COLLECTORS)
            return -EINVAL;
        struct collector_slot *slot = &a->collectors[a->n_collectors];
        if (known_collectors[k].ctor(a->cfg->proc_root, &slot->c) != 0) {
            fprintf(stderr, "updraft-agent: collector %s could not start\n", name);
            return -EINVAL;
        }
        a->n_collectors++;
    }
    return 0;
}

int agent_new(const struct agent_config *cfg, struct agent **out)
{
    struct agent *a = calloc(1, sizeof *a);
    if (a == NULL)
        return -ENOMEM;
    int rc = -EINVAL;
    a->cfg = cfg;
    a->batch = malloc(sizeof *a->batch);
    if (a->batch == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    if (cfg->host_id[0] != '\0') {
        if (!topic_host_valid(cfg->host_id, strlen(cfg->host_id))) {
            fprintf(stderr, "updraft-agent: [agent] host_id \"%s\": use 1..64 of "
                            "[A-Za-z0-9._-]\n", cfg->host_id);
            goto out;
        }
        snprintf(a->host, sizeof a->host, "%s", cfg->host_id);
    } else if (identity_default_host(a->host, sizeof a->host) != 0) {
        fprintf(stderr, "updraft-agent: no usable hostname or machine id: set [agent] host_id\n");
        goto out;
    }
    if (identity_new_boot_id(a->boot_id, sizeof a->boot_id) != 0) {
        fprintf(stderr, "updraft-agent: cannot read random bytes for the boot id\n");
        goto out;
    }
    if (topic_build(a->metrics_topic, TOPIC_MAX, cfg->mqtt_topic_root, a->host,
                    TOPIC_KIND_METRICS) != 0 ||
        topic_build(a->heartbeat_topic, TOPIC_MAX, cfg->mqtt_topic_root, a->host,
                    TOPIC_KIND_HEARTBEAT) != 0 ||
        topic_build(a->state_topic, TOPIC_MAX, cfg->mqtt_topic_root, a->host,
                    TOPIC_KIND_STATE) != 0) {
        fprintf(stderr, "updraft-agent: [mqtt] topic_root \"%s\" is not a valid topic prefix\n",
                cfg->mqtt_topic_root);
        goto out;
    }
    if (add_collectors(a, cfg->collectors) != 0)
        goto out;
    a->started_mono_ms = clock_mono_ms();
    *out = a;
    a = NULL;
    rc = 0;
out:
    agent_free(a);
    return rc;
}

void agent_free(struct agent *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->n_collectors; i++)
        a->collectors[i].c.destroy(a->collectors[i].c.ctx);
    senml_buf_free(&a->buf);
    free(a->batch);
    free(a);
}

/* Runs every collector into a->batch; a failing source is logged once, not fatal. */
static void collect(struct agent *a)
{
    metric_batch_reset(a->batch, clock_wall_ms());
    int64_t now = clock_mono_ms();
    for (size_t i = 0; i < a->n_collectors; i++) {
        struct collector_slot *s = &a->collectors[i];
        int rc = s->c.collect(s->c.ctx, now, a->batch);
        if (rc != 0 && rc != s->last_rc)
            log_warn("collector %s: %s; skipping it until it recovers", s->c.name,
                     rc == -ENOSPC ? "batch full" : strerror(-rc));
        else if (rc == 0 && s->last_rc != 0)
            log_info("collector %s recovered", s->c.name);
        s->last_rc = rc;
    }
}

static int encode(struct agent *a, bool has_seq, uint64_t seq)
{
    a->buf.len = 0;
    int rc = agent_pack_encode(a->batch, a->host, a->boot_id, has_seq, seq, &a->buf);
    if (rc != 0) {
        a->encode_failures++;
        log_error("encoding a pack failed: %s", strerror(-rc));
    }
    return rc;
}

int agent_print_once(struct agent *a)
{
    nanosleep(&(struct timespec){1, 0}, NULL);
    collect(a);
    if (encode(a, true, 1) != 0)
        return -EIO;
    fwrite(a->buf.data, 1, a->buf.len, stdout);
    fputc('\n', stdout);
    return fflush(stdout) == 0 ? 0 : -EIO;
}

static void publish_metrics(struct agent *a)
{
    collect(a);
    if (a->batch->count == 0)
        return;
    uint64_t seq = a->seq + 1;
    if (encode(a, true, seq) != 0)
        return;
    a->seq = seq; /* a sequence number is used once its pack exists, even if it is dropped */
    int rc = a->pub.publish(a->pub.ctx, a->metrics_topic, a->buf.data, a->buf.len, false);
    if (rc != 0)
        log_warn("pack %" PRIu64 " dropped: %s", seq,
                 rc == -ENOSPC ? "buffer full while the broker is unreachable" : "publish failed");
}

static void publish_heartbeat(struct agent *a)
{
    struct publisher_stats ps = {0};
    a->pub.stats(a->pub.ctx, &ps);
    metric_batch_reset(a->batch, clock_wall_ms());
    double uptime_s = (double)(clock_mono_ms() - a->started_mono_ms) / 1000.0;
    if (metric_batch_add(a->batch, "agent.uptime_s", metric_round(uptime_s, 1)) != 0 ||
        metric_batch_add(a->batch, "agent.seq", (double)a->seq) != 0 ||
        metric_batch_add(a->batch, "agent.dropped", (double)ps.dropped) != 0 ||
        encode(a, false, 0) != 0)
        return;
    if (a->pub.publish(a->pub.ctx, a->heartbeat_topic, a->buf.data, a->buf.len, false) != 0)
        log_debug("heartbeat not sent (not connected)");
}

static int start_publisher(struct agent *a)
{
    char client_id[96], birth[256], will[160];
    const struct agent_config *cfg = a->cfg;
    if (cfg->mqtt_client_id[0] != '\0')
        snprintf(client_id, sizeof client_id, "%s", cfg->mqtt_client_id);
    else
        snprintf(client_id, sizeof client_id, "updraft-agent-%s", a->host);
    snprintf(birth, sizeof birth,
             "{\"state\":\"online\",\"agent_version\":\"%s\",\"boot_id\":\"%s\"}",
             UPDRAFT_VERSION, a->boot_id);
    snprintf(will, sizeof will, "{\"state\":\"offline\",\"boot_id\":\"%s\"}", a->boot_id);
    struct publisher_mqtt_options po = {
        .host = cfg->mqtt_host, .port = (int)cfg->mqtt_port, .client_id = client_id,
        .keepalive_s = (int)(cfg->mqtt_keepalive_ms / 1000), .username = cfg->mqtt_username,
        .password = cfg->mqtt_password, .state_topic = a->state_topic, .birth_payload = birth,
        .will_payload = will, .max_buffered = (int)cfg->mqtt_max_buffered};
    int rc = publisher_mqtt_new(&po, &a->pub);
    if (rc == 0)
        a->has_pub = true;
    return rc;
}

int agent_run(struct agent *a, const sigset_t *stop_signals)
{
    if (start_publisher(a) != 0) {
        log_error("cannot create the MQTT client for %s:%lld", a->cfg->mqtt_host,
                  (long long)a->cfg->mqtt_port);
        return -EIO;
    }
    log_info("updraft-agent %s: host %s, boot %s, every %.1fs to mqtt://%s:%lld (%s)",
             UPDRAFT_VERSION, a->host, a->boot_id, (double)a->cfg->interval_ms / 1000.0,
             a->cfg->mqtt_host, (long long)a->cfg->mqtt_port, a->metrics_topic);
    int64_t next_collect = clock_mono_ms(), next_heartbeat = next_collect;
    for (;;) {
        int64_t now = clock_mono_ms();
        if (now >= next_collect) {
            publish_metrics(a);
            next_collect += a->cfg->interval_ms;
            if (next_collect <= now) /* fell behind (suspend, stall): skip, don't burst */
                next_collect = now + a->cfg->interval_ms;
        }
        if (now >= next_heartbeat) {
            publish_heartbeat(a);
            next_heartbeat = now + a->cfg->heartbeat_interval_ms;
        }
        a->pub.poll(a->pub.ctx, now);
        int64_t wake = next_collect < next_heartbeat ? next_collect : next_heartbeat;
        int64_t wait_ms = wake - clock_mono_ms();
        if (wait_ms > 1000)
            wait_ms = 1000; /* poll reconnects at least every second */
        if (wait_ms < 0)
            wait_ms = 0;
        struct timespec ts = {wait_ms / 1000, (wait_ms % 1000) * 1000000};
        int sig = sigtimedwait(stop_signals, NULL, &ts);
        if (sig > 0) {
            log_info("%s: stopping", strsignal(sig));
            break;
        }
    }
    a->pub.close(a->pub.ctx, 2000);
    a->has_pub = false;
    return 0;
}
