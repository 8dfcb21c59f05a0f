/* The agent's lifecycle and loop (see agent.h): collect every interval, spool and send the
 * pack, backfill the spool's backlog, heartbeat, inventory, and the hub's acks and pushed
 * config arriving through the publisher's poll. */
#include "edge-agent/agent.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "edge-agent/agent_config.h"
#include "edge-agent/agent_internal.h"
#include "edge-agent/connscan.h"
#include "edge-agent/identity.h"
#include "edge-agent/pack.h"
#include "edge-agent/procscan.h"
#include "edge-agent/sockdiag.h"

#define LOG_MODULE "agent"
#include "common/log.h"

static int build_topics(struct agent *a)
{
    const char *root = a->cfg->mqtt_topic_root;
    struct {
        char *out;
        enum topic_kind kind;
    } t[] = {{a->metrics_topic, TOPIC_KIND_METRICS},     {a->heartbeat_topic, TOPIC_KIND_HEARTBEAT},
             {a->state_topic, TOPIC_KIND_STATE},         {a->inventory_topic, TOPIC_KIND_INVENTORY},
             {a->config_topic, TOPIC_KIND_CONFIG},       {a->ack_topic, TOPIC_KIND_ACK}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (topic_build(t[i].out, TOPIC_MAX, root, a->host, t[i].kind) != 0)
            return -EINVAL;
    return 0;
}

/* With TLS on, the files it names must be readable now: better a clear refusal at start than
 * an agent retrying a handshake that cannot work. */
static int check_tls_files(const struct agent_config *cfg)
{
    if (!cfg->mqtt_tls || strcmp(cfg->transport, "coap") == 0)
        return 0;
    const struct {
        const char *key, *path;
    } files[] = {{"ca_file", cfg->mqtt_ca_file},
                 {"cert_file", cfg->mqtt_cert_file},
                 {"key_file", cfg->mqtt_key_file}};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (files[i].path[0] != '\0' && access(files[i].path, R_OK) != 0) {
            fprintf(stderr, "updraft-agent: [mqtt] %s \"%s\": %s\n", files[i].key,
                    files[i].path, strerror(errno));
            return -EINVAL;
        }
    if ((cfg->mqtt_cert_file[0] != '\0') != (cfg->mqtt_key_file[0] != '\0')) {
        fprintf(stderr, "updraft-agent: [mqtt] cert_file and key_file go together\n");
        return -EINVAL;
    }
    return 0;
}

/* With DTLS on, the key file must be there too. */
static int check_psk_file(const struct agent_config *cfg)
{
    if (strcmp(cfg->transport, "coap") != 0 ||
        (cfg->coap_psk_identity[0] == '\0' && cfg->coap_psk_key_file[0] == '\0'))
        return 0;
    if (cfg->coap_psk_identity[0] == '\0' || cfg->coap_psk_key_file[0] == '\0') {
        fprintf(stderr, "updraft-agent: [coap] psk_identity and psk_key_file go together\n");
        return -EINVAL;
    }
    if (access(cfg->coap_psk_key_file, R_OK) != 0) {
        fprintf(stderr, "updraft-agent: [coap] psk_key_file \"%s\": %s\n", cfg->coap_psk_key_file,
                strerror(errno));
        return -EINVAL;
    }
    return 0;
}

int agent_new(const struct agent_config *cfg, struct agent **out)
{
    struct agent *a = calloc(1, sizeof *a);
    if (a == NULL)
        return -ENOMEM;
    int rc = -EINVAL;
    char why[200];
    a->cfg = cfg;
    a->interval_ms = cfg->interval_ms;
    a->env = (struct collector_env){.proc_root = cfg->proc_root, .sys_root = cfg->sys_root,
                                    .top_n = (unsigned)cfg->top_n};
    snprintf(a->labels, sizeof a->labels, "%s", cfg->tags);
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
    if (build_topics(a) != 0) {
        fprintf(stderr, "updraft-agent: [mqtt] topic_root \"%s\" is not a valid topic prefix\n",
                cfg->mqtt_topic_root);
        goto out;
    }
    struct procscan_config pc = {.proc_root = cfg->proc_root};
    /* Listeners come from netlink sock_diag: only for the real /proc of this kernel. */
    struct connscan_config cc = {
        .proc_root = cfg->proc_root,
        .tcp_listeners_fn = strcmp(cfg->proc_root, "/proc") == 0 ? sockdiag_tcp_listeners : NULL};
    if (procscan_new(&pc, &a->procscan) != 0 || connscan_new(&cc, &a->connscan) != 0) {
        fprintf(stderr, "updraft-agent: [agent] proc_root \"%s\" is too long\n", cfg->proc_root);
        goto out;
    }
    if (check_tls_files(cfg) != 0 || check_psk_file(cfg) != 0)
        goto out;
    if (agent_collectors_build(a, cfg->collectors, why, sizeof why) != 0) {
        fprintf(stderr, "updraft-agent: [agent] collectors: %s\n", why);
        goto out;
    }
    if ((rc = agent_inventory_new(a)) != 0) {
        fprintf(stderr, "updraft-agent: out of memory\n");
        goto out;
    }
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
    agent_collectors_free(a);
    procscan_free(a->procscan);
    connscan_free(a->connscan);
    agent_inventory_free(a);
    agent_spool_close(a);
    senml_buf_free(&a->buf);
    free(a->send_buf);
    free(a->batch);
    free(a);
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
    agent_collect(a); /* primes the rates the constructors cannot (processes, containers) */
    nanosleep(&(struct timespec){1, 0}, NULL);
    agent_collect(a);
    if (encode(a, true, 1) != 0)
        return -EIO;
    fwrite(a->buf.data, 1, a->buf.len, stdout);
    fputc('\n', stdout);
    return fflush(stdout) == 0 ? 0 : -EIO;
}

static void collect_and_send(struct agent *a)
{
    agent_collect(a);
    if (a->batch->count == 0)
        return;
    uint64_t seq = a->seq + 1;
    if (encode(a, true, seq) != 0)
        return;
    a->seq = seq; /* a sequence number is used once its pack exists, even if it is lost */
    agent_send_live(a, seq);
}

static void publish_heartbeat(struct agent *a)
{
    if (!a->pub.connected(a->pub.ctx))
        return; /* a heartbeat is news, not history: never spooled */
    uint64_t packs = 0, bytes = 0, dropped = 0;
    agent_spool_figures(a, &packs, &bytes, &dropped);
    metric_batch_reset(a->batch, clock_wall_ms());
    double uptime_s = (double)(clock_mono_ms() - a->started_mono_ms) / 1000.0;
    struct {
        const char *name;
        double value;
    } rec[] = {{"agent.uptime_s", metric_round(uptime_s, 1)},
               {"agent.seq", (double)a->seq},
               {"agent.dropped", (double)dropped},
               {"agent.spool_packs", (double)packs},
               {"agent.spool_bytes", (double)bytes},
               {"agent.config_version", (double)a->config_version},
               {"agent.config_rejected", (double)a->config_rejected}};
    for (size_t i = 0; i < sizeof rec / sizeof rec[0]; i++)
        if (metric_batch_add(a->batch, rec[i].name, rec[i].value) != 0)
            return;
    if (encode(a, false, 0) != 0)
        return;
    if (a->pub.publish(a->pub.ctx, a->heartbeat_topic, a->buf.data, a->buf.len, false) != 0)
        log_debug("heartbeat not sent");
}

/* A pushed config: everything is checked before anything changes. */
static void apply_config(struct agent *a, const void *payload, size_t len)
{
    if (len == 0)
        return; /* a cleared retained message: keep what runs */
    struct control_config c;
    char why[200];
    if (control_config_parse(payload, len, &c, why, sizeof why) != 0) {
        a->config_rejected++;
        log_warn("pushed config rejected: %s; keeping version %" PRId64, why, a->config_version);
        return;
    }
    if (c.version == a->config_version)
        return; /* the retained copy again, after a reconnect */
    unsigned top_n = c.has_top_n ? c.top_n : a->env.top_n;
    const char *list = c.has_collectors ? c.collectors : a->collectors_list;
    if (strcmp(list, a->collectors_list) != 0 || top_n != a->env.top_n) {
        char keep[CONTROL_COLLECTORS_MAX];
        unsigned old_top = a->env.top_n;
        snprintf(keep, sizeof keep, "%s", a->collectors_list);
        a->env.top_n = top_n;
        if (agent_collectors_build(a, list, why, sizeof why) != 0) {
            a->env.top_n = old_top;
            if (agent_collectors_build(a, keep, why, sizeof why) != 0)
                log_error("cannot restore collectors \"%s\"", keep);
            a->config_rejected++;
            log_warn("pushed config version %" PRId64 " rejected: collectors: %s; keeping "
                     "version %" PRId64, c.version, why, a->config_version);
            return;
        }
    }
    if (c.has_interval)
        a->interval_ms = c.interval_ms;
    if (c.has_labels)
        snprintf(a->labels, sizeof a->labels, "%s", c.labels);
    a->config_version = c.version;
    log_info("pushed config version %" PRId64 " applied: interval %.1fs, collectors %s, top %u",
             c.version, (double)a->interval_ms / 1000.0, a->collectors_list, a->env.top_n);
    if (c.has_labels)
        agent_inventory_tick(a, clock_mono_ms(), true);
}

static void on_message(void *user, const char *topic, const void *payload, size_t len,
                       bool retained)
{
    struct agent *a = user;
    (void)retained;
    if (strcmp(topic, a->ack_topic) == 0)
        agent_handle_ack(a, payload, len);
    else if (strcmp(topic, a->config_topic) == 0)
        apply_config(a, payload, len);
}

static int start_mqtt(struct agent *a, const char *birth, const char *will)
{
    char client_id[96];
    const struct agent_config *cfg = a->cfg;
    if (cfg->mqtt_client_id[0] != '\0')
        snprintf(client_id, sizeof client_id, "%s", cfg->mqtt_client_id);
    else
        snprintf(client_id, sizeof client_id, "updraft-agent-%s", a->host);
    struct publisher_mqtt_options po = {
        .host = cfg->mqtt_host,
        .port = (int)cfg->mqtt_port,
        .client_id = client_id,
        .keepalive_s = (int)(cfg->mqtt_keepalive_ms / 1000),
        .connect_timeout_s = (int)(cfg->mqtt_connect_timeout_ms / 1000),
        .reconnect_min_ms = cfg->mqtt_reconnect_min_ms,
        .reconnect_max_ms = cfg->mqtt_reconnect_max_ms,
        .session_expiry_s = cfg->mqtt_session_expiry_ms / 1000,
        .max_inflight = (int)cfg->mqtt_max_inflight,
        .username = cfg->mqtt_username,
        .password = cfg->mqtt_password,
        .state_topic = a->state_topic,
        .birth_payload = birth,
        .will_payload = will,
        .subscriptions = {a->ack_topic, a->config_topic, NULL},
        .on_message = on_message,
        .user = a,
        .tls = {.enabled = cfg->mqtt_tls, .ca_file = cfg->mqtt_ca_file,
                .cert_file = cfg->mqtt_cert_file, .key_file = cfg->mqtt_key_file,
                .verify = cfg->mqtt_tls_verify},
    };
    return publisher_mqtt_new(&po, &a->pub);
}

/* [coap] port 0: CoAP's default port, 5684 for CoAP over DTLS. */
static int coap_port(const struct agent_config *cfg)
{
    if (cfg->coap_port != 0)
        return (int)cfg->coap_port;
    return cfg->coap_psk_identity[0] != '\0' ? 5684 : 5683;
}

static int start_coap(struct agent *a, const char *birth, const char *will)
{
    const struct agent_config *cfg = a->cfg;
    struct publisher_coap_options po = {
        .host = cfg->coap_host,
        .port = coap_port(cfg),
        .topic_root = cfg->mqtt_topic_root,
        .psk_identity = cfg->coap_psk_identity,
        .psk_key_file = cfg->coap_psk_key_file,
        .max_inflight = (int)cfg->coap_max_inflight,
        .ack_timeout_ms = cfg->coap_ack_timeout_ms,
        .max_retransmit = (int)cfg->coap_max_retransmit,
        .response_timeout_ms = cfg->coap_response_timeout_ms,
        .connect_timeout_ms = cfg->coap_connect_timeout_ms,
        .reconnect_min_ms = cfg->coap_reconnect_min_ms,
        .reconnect_max_ms = cfg->coap_reconnect_max_ms,
        .state_topic = a->state_topic,
        .birth_payload = birth,
        .will_payload = will,
        .subscriptions = {a->ack_topic, a->config_topic, NULL},
        .on_message = on_message,
        .user = a,
    };
    return publisher_coap_new(&po, &a->pub);
}

static bool use_coap(const struct agent_config *cfg)
{
    return strcmp(cfg->transport, "coap") == 0;
}

static int start_publisher(struct agent *a)
{
    char birth[256], will[160];
    snprintf(birth, sizeof birth,
             "{\"state\":\"online\",\"agent_version\":\"%s\",\"boot_id\":\"%s\"}",
             UPDRAFT_VERSION, a->boot_id);
    snprintf(will, sizeof will, "{\"state\":\"offline\",\"boot_id\":\"%s\"}", a->boot_id);
    int rc = use_coap(a->cfg) ? start_coap(a, birth, will) : start_mqtt(a, birth, will);
    if (rc == 0)
        a->has_pub = true;
    return rc;
}

static int64_t min64(int64_t x, int64_t y)
{
    return x < y ? x : y;
}

/* A clean stop first gives the spool up to timeout_ms to empty: what is due is sent, what
 * is in flight gets its ack. What is left stays on disk for the next start. */
static void drain(struct agent *a, int64_t timeout_ms)
{
    int64_t until = clock_mono_ms() + timeout_ms;
    uint64_t packs = 1, bytes = 0, dropped = 0;
    while (a->pub.connected(a->pub.ctx) && clock_mono_ms() < until) {
        agent_spool_figures(a, &packs, &bytes, &dropped);
        if (packs == 0)
            break;
        (void)agent_send_backlog(a, clock_mono_ms());
        (void)a->pub.poll(a->pub.ctx, clock_mono_ms(), 50);
    }
}

int agent_run(struct agent *a, const sigset_t *stop_signals)
{
    if (agent_spool_open(a) != 0)
        return -EIO;
    const struct agent_config *cfg = a->cfg;
    bool coap = use_coap(cfg);
    char server[300];
    if (coap)
        snprintf(server, sizeof server, "%s://%s:%d (via updraft-bridge)",
                 cfg->coap_psk_identity[0] != '\0' ? "coaps" : "coap", cfg->coap_host,
                 coap_port(cfg));
    else
        snprintf(server, sizeof server, "%s://%s:%lld", cfg->mqtt_tls ? "mqtts" : "mqtt",
                 cfg->mqtt_host, (long long)cfg->mqtt_port);
    if (start_publisher(a) != 0) {
        log_error("cannot create the %s client for %s", coap ? "CoAP" : "MQTT", server);
        return -EIO;
    }
    log_info("updraft-agent %s: host %s, boot %s, every %.1fs to %s (%s), spool %s",
             UPDRAFT_VERSION, a->host, a->boot_id, (double)a->interval_ms / 1000.0, server,
             a->metrics_topic, cfg->spool_dir);
    int64_t next_collect = clock_mono_ms(), next_heartbeat = next_collect;
    int64_t interval = a->interval_ms;
    for (;;) {
        int64_t now = clock_mono_ms();
        if (a->interval_ms != interval) { /* a pushed config changed it */
            interval = a->interval_ms;
            next_collect = now + interval;
        }
        if (now >= next_collect) {
            collect_and_send(a);
            next_collect += interval;
            if (next_collect <= now) /* fell behind (suspend, stall): skip, don't burst */
                next_collect = now + interval;
        }
        if (now >= next_heartbeat) {
            publish_heartbeat(a);
            next_heartbeat = now + a->cfg->heartbeat_interval_ms;
        }
        agent_inventory_tick(a, now, false);
        int64_t backlog_in = agent_send_backlog(a, now);
        int64_t wait_ms = min64(min64(next_collect, next_heartbeat) - clock_mono_ms(), 500);
        if (backlog_in >= 0)
            wait_ms = min64(wait_ms, backlog_in);
        if (wait_ms < 0)
            wait_ms = 0;
        bool was_connected = a->pub.connected(a->pub.ctx);
        unsigned ev = a->pub.poll(a->pub.ctx, clock_mono_ms(), wait_ms);
        if (ev & PUBLISHER_POLL_CONNECTED) {
            agent_send_reconnected(a);
            agent_inventory_tick(a, clock_mono_ms(), true);
            publish_heartbeat(a);
        }
        /* Disconnected, poll returned at once: sleep here (and catch signals meanwhile). */
        int64_t sleep_ms = was_connected || (ev & PUBLISHER_POLL_CONNECTED) ? 0 : wait_ms;
        struct timespec ts = {sleep_ms / 1000, (sleep_ms % 1000) * 1000000};
        int sig = sigtimedwait(stop_signals, NULL, &ts);
        if (sig > 0) {
            log_info("%s: stopping", strsignal(sig));
            break;
        }
    }
    drain(a, 2000);
    a->pub.close(a->pub.ctx, 2000);
    a->has_pub = false;
    uint64_t packs = 0, bytes = 0, dropped = 0;
    agent_spool_figures(a, &packs, &bytes, &dropped);
    log_info("boot %s ends at pack %" PRIu64 " (sent live %" PRIu64 ", backlog %" PRIu64
             "; %" PRIu64 " acknowledged); %" PRIu64 " packs stay in the spool",
             a->boot_id, a->seq, a->live_sent, a->backlog_sent, a->acked, packs);
    agent_spool_close(a);
    return 0;
}
