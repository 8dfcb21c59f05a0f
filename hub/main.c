/* updraft-hub start-up and shutdown: wires store, hosts, writer, ingest, MQTT and HTTP, then
 * waits for SIGINT/SIGTERM and stops them in order (no new messages, commit, close). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/mqtt_client.h"
#include "common/topic.h"
#include "hub/api.h"
#include "hub/http.h"
#include "hub/hub_config.h"
#include "hub/hosts.h"
#include "hub/ingest.h"
#include "hub/ledger.h"
#include "hub/store.h"
#include "hub/writer.h"

#define LOG_MODULE "hub"
#include "common/log.h"

extern char **environ;

/* The export link key: 16..4096 bytes from [api] export_secret_file, or 32 random ones. */
#define EXPORT_KEY_MIN 16
#define EXPORT_KEY_MAX 4096
#define EXPORT_KEY_RANDOM 32

static void on_mqtt_message(void *user, const char *topic, const void *payload, size_t len,
                            bool retained)
{
    (void)retained;
    ingest_message(user, topic, payload, len, clock_wall_ms(), clock_mono_ms());
}

/* Writer thread: the end-to-end ack of committed packs, on <root>/v1/<host>/ack at QoS 1. */
static void send_ack(void *user, const char *host, const char *payload, size_t len);

static void load_host(void *user, const struct store_host *rec)
{
    if (hosts_load(user, rec, clock_wall_ms(), clock_mono_ms()) != 0)
        log_warn("host %s from the store not loaded (host limit)", rec->id);
}

static int load_ledger_host(void *user, const struct store_ledger_host *rec)
{
    int rc = ledger_load(user, rec);
    if (rc == -EBADMSG || rc == -EEXIST) {
        log_warn("loss ledger of host %s in the store is not valid; starting it afresh",
                 rec->host);
        return 0;
    }
    return rc;
}

struct hub {
    struct hub_config cfg;
    struct store *store, *reader;
    struct hosts *hosts;
    struct ledger *ledger;
    struct writer *writer;
    struct ingest *ingest;
    struct mqtt_client *mqtt;
    struct http_server *http;
    struct api api;
    uint8_t export_key[EXPORT_KEY_MAX + 1]; /* one more: to notice a longer file */
    size_t export_key_len;
};

/* Reads up to size bytes (fewer at end of file). Returns the count or -errno. */
static ssize_t read_full(int fd, uint8_t *buf, size_t size)
{
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* The key that signs export links: the bytes of [api] export_secret_file (one trailing
 * newline dropped, so `openssl rand -hex 32 > file` works too), or, when that is empty, 32
 * bytes from /dev/urandom: links then end with this process. Never logged. */
static int hub_load_export_key(struct hub *h)
{
    const char *path = h->cfg.api_export_secret_file;
    bool random = path[0] == '\0';
    const char *source = random ? "/dev/urandom" : path;
    int fd = open(source, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        log_error("[api] export_secret_file: cannot open %s: %s", source, strerror(e));
        return -e;
    }
    struct stat sb;
    if (!random && fstat(fd, &sb) == 0 && (sb.st_mode & 077) != 0)
        log_warn("[api] export_secret_file %s can be read by other users (mode %03o): chmod "
                 "600 it", path, (unsigned)(sb.st_mode & 0777));
    ssize_t n = read_full(fd, h->export_key, random ? EXPORT_KEY_RANDOM : sizeof h->export_key);
    close(fd);
    if (n < 0) {
        log_error("[api] export_secret_file: cannot read %s: %s", source, strerror((int)-n));
        return (int)n;
    }
    size_t len = (size_t)n;
    if (!random && len > 0 && h->export_key[len - 1] == '\n')
        len -= len > 1 && h->export_key[len - 2] == '\r' ? 2 : 1;
    if (len < (random ? EXPORT_KEY_RANDOM : EXPORT_KEY_MIN) || len > EXPORT_KEY_MAX) {
        log_error("[api] export_secret_file: %s holds %zu bytes; a key is %d to %d bytes", source,
                  len, EXPORT_KEY_MIN, EXPORT_KEY_MAX);
        return -EINVAL;
    }
    h->export_key_len = len;
    if (random)
        log_info("export links are signed with a random key: they stop working when the hub "
                 "restarts (set [api] export_secret_file to keep them)");
    return 0;
}

static int hub_open_store(struct hub *h)
{
    char err[300];
    const struct hub_config *c = &h->cfg;
    struct store_options so;
    store_options_default(&so);
    so.out_of_order_ms = c->store_out_of_order_ms;
    so.max_series = (uint64_t)c->store_max_series;
    so.max_series_per_host = (uint64_t)c->store_max_series_per_host;
    so.retention_ms[STORE_TIER_RAW] = c->store_retention_raw_ms;
    so.retention_ms[STORE_TIER_1M] = c->store_retention_1m_ms;
    so.retention_ms[STORE_TIER_5M] = c->store_retention_5m_ms;
    so.retention_ms[STORE_TIER_1H] = c->store_retention_1h_ms;
    so.head_max_samples = (uint32_t)c->store_head_max_samples;
    so.head_max_age_ms = c->store_head_max_age_ms;
    so.synchronous_full = c->store_fsync;
    int64_t opened_ms = clock_mono_ms();
    if (store_open(h->cfg.store_path, &so, &h->store, err, sizeof err) != 0 ||
        store_reader_open(h->store, &h->reader, err, sizeof err) != 0) {
        log_error("cannot open the store: %s", err);
        return -EIO;
    }
    struct store_stats ss;
    if (store_stats(h->store, &ss) == 0 && ss.replayed > 0)
        log_info("store: replayed %llu samples from the write-ahead table in %lld ms",
                 (unsigned long long)ss.replayed, (long long)(clock_mono_ms() - opened_ms));
    if (hosts_new(h->cfg.hosts_stale_after_ms, (size_t)h->cfg.ingest_max_hosts, &h->hosts) != 0 ||
        store_hosts_load(h->store, load_host, h->hosts) != 0) {
        log_error("cannot load hosts: %s", store_errmsg(h->store));
        return -EIO;
    }
    struct ledger_options lo;
    ledger_options_default(&lo);
    lo.settle_ms = h->cfg.ledger_settle_ms;
    if (ledger_new(&lo, &h->ledger) != 0 ||
        store_ledger_load(h->store, load_ledger_host, h->ledger) != 0) {
        log_error("cannot load the loss ledger: %s", store_errmsg(h->store));
        return -EIO;
    }
    struct writer_options wo = {.queue_max_batches = (size_t)h->cfg.store_queue_max_batches,
                                .commit_max_samples = (size_t)h->cfg.store_commit_max_samples,
                                .commit_interval_ms = h->cfg.store_commit_interval_ms,
                                .ack_interval_ms = h->cfg.ingest_ack_interval_ms,
                                .janitor_interval_ms = h->cfg.store_janitor_interval_ms,
                                .janitor_budget_ms = 50,
                                .ack_send = send_ack,
                                .ack_user = h,
                                .ledger = h->ledger};
    if (writer_new(&wo, h->store, h->hosts, &h->writer) != 0 || writer_start(h->writer) != 0) {
        log_error("cannot start the store writer");
        return -EIO;
    }
    return 0;
}

static void send_ack(void *user, const char *host, const char *payload, size_t len)
{
    struct hub *h = user;
    char topic[TOPIC_MAX];
    if (h->mqtt == NULL)
        return;
    if (topic_build(topic, sizeof topic, h->cfg.mqtt_topic_root, host, TOPIC_KIND_ACK) != 0)
        return;
    int rc = mqtt_client_publish(h->mqtt, topic, payload, len, 1, false);
    if (rc != 0)
        log_debug("ack to %s not sent (%s): the agent resends and the store absorbs it", host,
                  rc == -ENOTCONN ? "broker disconnected" : "publish failed");
}

static int hub_open_mqtt(struct hub *h)
{
    struct ingest_options io = {.topic_root = h->cfg.mqtt_topic_root,
                                .max_payload_bytes = (size_t)h->cfg.ingest_max_payload,
                                .max_future_ms = h->cfg.ingest_max_future_ms};
    if (ingest_new(&io, h->hosts, h->writer, &h->ingest) != 0)
        return -ENOMEM;
    struct mqtt_client_options mo = {
        .host = h->cfg.mqtt_host,
        .port = (int)h->cfg.mqtt_port,
        .client_id = h->cfg.mqtt_client_id,
        .keepalive_s = (int)(h->cfg.mqtt_keepalive_ms / 1000),
        .clean_start = false,
        .session_expiry_s = (uint32_t)(h->cfg.mqtt_session_expiry_ms / 1000),
        .username = h->cfg.mqtt_username,
        .password = h->cfg.mqtt_password,
        .reconnect_min_s = 1,
        .reconnect_max_s = (int)(h->cfg.mqtt_reconnect_max_ms / 1000),
    };
    if (mqtt_client_new(&mo, on_mqtt_message, NULL, h->ingest, &h->mqtt) != 0)
        return -ENOMEM;
    const enum topic_kind kinds[] = {TOPIC_KIND_METRICS, TOPIC_KIND_HEARTBEAT, TOPIC_KIND_STATE};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        char filter[TOPIC_MAX];
        if (topic_filter(filter, sizeof filter, h->cfg.mqtt_topic_root, kinds[i]) != 0 ||
            mqtt_client_subscribe(h->mqtt, filter, 1) != 0) {
            log_error("invalid topic root \"%s\"", h->cfg.mqtt_topic_root);
            return -EINVAL;
        }
    }
    return 0;
}

static int hub_open_http(struct hub *h)
{
    h->api = (struct api){.reader = h->reader, .hosts = h->hosts, .ledger = h->ledger,
                          .ledger_settle_ms = h->cfg.ledger_settle_ms, .ingest = h->ingest,
                          .writer = h->writer, .mqtt = h->mqtt,
                          .started_mono_ms = clock_mono_ms(),
                          .max_range_ms = h->cfg.api_max_range_ms, .version = UPDRAFT_VERSION,
                          .export_key = h->export_key, .export_key_len = h->export_key_len,
                          .export_url_ttl_ms = h->cfg.api_export_url_ttl_ms};
    struct http_options ho = {.address = h->cfg.http_address, .port = (int)h->cfg.http_port,
                              .max_body_bytes = (size_t)h->cfg.http_max_body,
                              .connection_timeout_ms = h->cfg.http_connection_timeout_ms};
    char err[300];
    if (http_server_start(&ho, api_handle, &h->api, &h->http, err, sizeof err) != 0) {
        log_error("%s", err);
        return -EADDRINUSE;
    }
    return 0;
}

static void hub_close(struct hub *h)
{
    if (h->mqtt != NULL)
        mqtt_client_stop(h->mqtt); /* no more messages */
    if (h->writer != NULL)
        writer_stop(h->writer);    /* commits what it holds */
    http_server_stop(h->http);
    mqtt_client_free(h->mqtt);
    ingest_free(h->ingest);
    writer_free(h->writer);
    ledger_free(h->ledger);
    hosts_free(h->hosts);
    store_close(h->reader);
    store_close(h->store);
    explicit_bzero(h->export_key, sizeof h->export_key);
}

int main(int argc, char **argv)
{
    const struct config_program prog = {
        .name = "updraft-hub",
        .version = UPDRAFT_VERSION,
        .summary = "subscribes to updraft agents' topics, stores their samples, serves the API",
        .opts = hub_config_options,
        .n_opts = hub_config_option_count,
    };
    struct hub h;
    memset(&h, 0, sizeof h);
    enum config_cli_result res = config_cli(&prog, argc, argv, environ, &h.cfg);
    if (res != CONFIG_CLI_RUN) {
        config_free(prog.opts, prog.n_opts, &h.cfg);
        return res == CONFIG_CLI_EXIT_OK ? 0 : 2;
    }
    enum log_level level = LOG_LEVEL_INFO;
    enum log_format format = LOG_FORMAT_TEXT;
    if (log_level_parse(h.cfg.log_level, &level) != 0)
        level = LOG_LEVEL_INFO;
    if (log_format_parse(h.cfg.log_format, &format) != 0)
        format = LOG_FORMAT_TEXT;
    log_setup("updraft-hub", level, format);
    if (!topic_root_valid(h.cfg.mqtt_topic_root)) {
        fprintf(stderr, "updraft-hub: [mqtt] topic_root \"%s\" is not a valid topic prefix\n",
                h.cfg.mqtt_topic_root);
        config_free(prog.opts, prog.n_opts, &h.cfg);
        return 2;
    }

    /* Every thread inherits this mask; the main thread takes the signals with sigwait. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    int exit_code = 1;
    if (hub_load_export_key(&h) != 0 || hub_open_store(&h) != 0 || hub_open_mqtt(&h) != 0 ||
        hub_open_http(&h) != 0)
        goto out;
    if (mqtt_client_start(h.mqtt) != 0) {
        log_error("cannot start the MQTT client");
        goto out;
    }
    log_info("updraft-hub %s: API on http://%s:%d, broker mqtt://%s:%lld, store %s",
             UPDRAFT_VERSION, h.cfg.http_address, http_server_port(h.http), h.cfg.mqtt_host,
             (long long)h.cfg.mqtt_port, h.cfg.store_path);
    int sig = 0;
    sigwait(&stop_signals, &sig);
    log_info("%s: stopping (no new messages, committing what is queued)", strsignal(sig));
    exit_code = 0;
out:
    hub_close(&h);
    if (exit_code == 0)
        log_info("stopped cleanly");
    config_free(prog.opts, prog.n_opts, &h.cfg);
    return exit_code;
}
