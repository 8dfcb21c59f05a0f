/* updraft-hub's configuration: the struct every part reads and the option table that fills
 * it (defaults < file < UPDRAFT_* environment < flags; see config/hub.conf). */
#ifndef UPDRAFT_HUB_HUB_CONFIG_H
#define UPDRAFT_HUB_HUB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"

struct hub_config {
    char *mqtt_host;
    int64_t mqtt_port;
    char *mqtt_client_id;
    int64_t mqtt_keepalive_ms;
    int64_t mqtt_session_expiry_ms;
    int64_t mqtt_reconnect_max_ms;
    char *mqtt_topic_root;
    char *mqtt_username;
    char *mqtt_password;
    char *http_address;
    int64_t http_port;
    int64_t http_max_body;
    int64_t http_connection_timeout_ms;
    char *store_path;
    int64_t store_commit_interval_ms;
    int64_t store_commit_max_samples;
    int64_t store_queue_max_batches;
    int64_t store_out_of_order_ms;
    int64_t store_max_series;
    int64_t store_max_series_per_host;
    int64_t store_retention_raw_ms;
    int64_t store_retention_1m_ms;
    int64_t store_retention_5m_ms;
    int64_t store_retention_1h_ms;
    int64_t store_head_max_samples;
    int64_t store_head_max_age_ms;
    int64_t store_janitor_interval_ms;
    bool store_fsync;
    int64_t ingest_max_payload;
    int64_t ingest_max_future_ms;
    int64_t ingest_max_hosts;
    int64_t ingest_ack_interval_ms;
    int64_t hosts_stale_after_ms;
    int64_t ledger_settle_ms;
    int64_t api_max_range_ms;
    int64_t api_export_url_ttl_ms;
    char *api_export_secret_file;
    char *log_level;
    char *log_format;
};

extern const struct config_option hub_config_options[];
extern const size_t hub_config_option_count;

#endif
