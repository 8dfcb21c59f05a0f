/* updraft-hub's option table (see hub_config.h). Read-only data. */
#include "hub/hub_config.h"

#include <stddef.h>

#define OPT(sec, key, type, field, min, max, def, help)                                            \
    {sec, key, type, offsetof(struct hub_config, field), min, max, def, NULL, false, help}
#define MS(n) ((int64_t)(n))
#define S(n) ((int64_t)(n) * 1000)
#define DAYS(n) ((int64_t)(n) * 86400 * 1000)

const struct config_option hub_config_options[] = {
    OPT("mqtt", "host", CONFIG_TYPE_STRING, mqtt_host, 1, 253, "127.0.0.1", "broker host"),
    OPT("mqtt", "port", CONFIG_TYPE_INT, mqtt_port, 1, 65535, "1883", "broker port"),
    OPT("mqtt", "client_id", CONFIG_TYPE_STRING, mqtt_client_id, 1, 64, "updraft-hub",
        "client id; the broker keeps the hub's session (queued messages) under it"),
    OPT("mqtt", "keepalive", CONFIG_TYPE_DURATION, mqtt_keepalive_ms, S(5), S(3600), "30s",
        "MQTT keepalive"),
    OPT("mqtt", "session_expiry", CONFIG_TYPE_DURATION, mqtt_session_expiry_ms, S(0),
        S(4294967295LL), "7d", "how long the broker queues for the hub while it is away"),
    OPT("mqtt", "reconnect_max", CONFIG_TYPE_DURATION, mqtt_reconnect_max_ms, S(1), S(3600), "30s",
        "longest delay between reconnect attempts (doubling from 1 s)"),
    OPT("mqtt", "topic_root", CONFIG_TYPE_STRING, mqtt_topic_root, 1, 64, "updraft",
        "first topic level: <root>/v1/<host>/<kind>"),
    OPT("mqtt", "username", CONFIG_TYPE_STRING, mqtt_username, 0, 256, "", "broker user name"),
    {"mqtt", "password", CONFIG_TYPE_STRING, offsetof(struct hub_config, mqtt_password), 0, 256, "",
     NULL, true, "broker password"},
    OPT("http", "address", CONFIG_TYPE_STRING, http_address, 1, 64, "127.0.0.1",
        "address the API listens on"),
    OPT("http", "port", CONFIG_TYPE_INT, http_port, 0, 65535, "8080", "API port (0: any free)"),
    OPT("http", "max_body", CONFIG_TYPE_SIZE, http_max_body, 1024, 64LL << 20, "1MiB",
        "largest request body (413 beyond)"),
    OPT("http", "connection_timeout", CONFIG_TYPE_DURATION, http_connection_timeout_ms, S(1),
        S(3600), "30s", "idle HTTP connections are closed after this"),
    OPT("store", "path", CONFIG_TYPE_STRING, store_path, 1, 4096, "updraft-hub.db",
        "SQLite file of the time-series store"),
    OPT("store", "commit_interval", CONFIG_TYPE_DURATION, store_commit_interval_ms, MS(0), S(10),
        "100ms", "longest wait to group packs into one commit"),
    OPT("store", "commit_max_samples", CONFIG_TYPE_INT, store_commit_max_samples, 1, 10000000,
        "50000", "most samples in one commit"),
    OPT("store", "queue_max_batches", CONFIG_TYPE_INT, store_queue_max_batches, 1, 1000000, "4096",
        "packs waiting for the writer before ingest blocks (backpressure)"),
    OPT("store", "out_of_order", CONFIG_TYPE_DURATION, store_out_of_order_ms, S(0), DAYS(7), "1h",
        "a 4 h window stays open this long after its end before it is merged; later samples "
        "are still accepted (their window is merged again)"),
    OPT("store", "max_series", CONFIG_TYPE_INT, store_max_series, 1, 100000000, "1000000",
        "series in all; new ones beyond are refused (too_many_series)"),
    OPT("store", "max_series_per_host", CONFIG_TYPE_INT, store_max_series_per_host, 1, 100000000,
        "10000", "series per host; new ones beyond are refused (too_many_series)"),
    OPT("store", "retention_raw", CONFIG_TYPE_DURATION, store_retention_raw_ms, MS(0), DAYS(36500),
        "7d", "raw samples are kept this long (0: forever)"),
    OPT("store", "retention_1m", CONFIG_TYPE_DURATION, store_retention_1m_ms, MS(0), DAYS(36500),
        "30d", "1-minute rollups are kept this long (0: forever)"),
    OPT("store", "retention_5m", CONFIG_TYPE_DURATION, store_retention_5m_ms, MS(0), DAYS(36500),
        "90d", "5-minute rollups are kept this long (0: forever)"),
    OPT("store", "retention_1h", CONFIG_TYPE_DURATION, store_retention_1h_ms, MS(0), DAYS(36500),
        "400d", "1-hour rollups are kept this long (0: forever)"),
    OPT("store", "head_max_samples", CONFIG_TYPE_INT, store_head_max_samples, 2, 4096, "64",
        "a series' in-memory head is folded into a chunk at this many samples"),
    OPT("store", "head_max_age", CONFIG_TYPE_DURATION, store_head_max_age_ms, S(1), DAYS(1), "5m",
        "... or when its first sample waited this long (bounds the write-ahead table)"),
    OPT("store", "janitor_interval", CONFIG_TYPE_DURATION, store_janitor_interval_ms, MS(100),
        S(3600), "1s", "how often the writer folds old heads, merges sealed windows, enforces "
                       "retention and trims the write-ahead table (in slices of at most 50ms)"),
    OPT("store", "fsync", CONFIG_TYPE_BOOL, store_fsync, 0, 0, "false",
        "fsync every commit (survives power loss; kill -9 is survived either way)"),
    OPT("ingest", "max_payload", CONFIG_TYPE_SIZE, ingest_max_payload, 64, 256LL << 20, "1MiB",
        "larger messages are rejected (oversize)"),
    OPT("ingest", "max_future", CONFIG_TYPE_DURATION, ingest_max_future_ms, S(0), DAYS(1), "10m",
        "samples stamped further ahead than this are rejected (bad_timestamp)"),
    OPT("ingest", "max_hosts", CONFIG_TYPE_INT, ingest_max_hosts, 1, 10000000, "100000",
        "new hosts beyond this are rejected (too_many_hosts)"),
    OPT("ingest", "ack_interval", CONFIG_TYPE_DURATION, ingest_ack_interval_ms, MS(0), S(60),
        "200ms", "acks of committed packs go to <root>/v1/<host>/ack at most this often per host"),
    OPT("hosts", "stale_after", CONFIG_TYPE_DURATION, hosts_stale_after_ms, S(1), DAYS(1), "90s",
        "a host with no message for this long is offline (3 heartbeats)"),
    OPT("ledger", "settle", CONFIG_TYPE_DURATION, ledger_settle_ms, S(1), DAYS(400), "24h",
        "a sequence gap still open after this long is counted lost (set it to the agents' spool "
        "age bound: nothing older is resent)"),
    OPT("api", "max_range", CONFIG_TYPE_DURATION, api_max_range_ms, S(1), DAYS(400), "400d",
        "longest range a query may ask"),
    OPT("api", "export_url_ttl", CONFIG_TYPE_DURATION, api_export_url_ttl_ms, S(1), DAYS(30),
        "1h", "how long a link from POST /api/v1/reports/export stays valid"),
    OPT("api", "export_secret_file", CONFIG_TYPE_STRING, api_export_secret_file, 0, 4096, "",
        "file whose bytes (16 or more) sign export links; empty: a random key per start, so "
        "links die with a restart"),
    {"log", "level", CONFIG_TYPE_ENUM, offsetof(struct hub_config, log_level), 0, 0, "info",
     "error|warn|info|debug", false, "log level"},
    {"log", "format", CONFIG_TYPE_ENUM, offsetof(struct hub_config, log_format), 0, 0, "text",
     "text|json", false, "text lines or JSON lines on stderr"},
};

const size_t hub_config_option_count = sizeof hub_config_options / sizeof hub_config_options[0];
