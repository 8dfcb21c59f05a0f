/* updraft-bridge's configuration: the struct every part reads and the option table that fills
 * it (defaults < file < UPDRAFT_* environment < flags; see config/bridge.conf). */
#ifndef UPDRAFT_BRIDGE_BRIDGE_CONFIG_H
#define UPDRAFT_BRIDGE_BRIDGE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"

struct bridge_config {
    char *coap_address;
    int64_t coap_port;
    int64_t coap_dtls_port;
    char *coap_psk_file;
    int64_t coap_max_body;
    int64_t coap_max_pending;
    int64_t coap_retry_after_ms;
    int64_t coap_puback_timeout_ms;
    int64_t coap_dedupe_window_ms;
    int64_t coap_dedupe_max;
    int64_t coap_max_hosts;
    char *mqtt_host;
    int64_t mqtt_port;
    char *mqtt_client_id;
    int64_t mqtt_keepalive_ms;
    int64_t mqtt_reconnect_max_ms;
    char *mqtt_topic_root;
    char *mqtt_username;
    char *mqtt_password;
    int64_t bridge_offline_after_ms;
    int64_t bridge_status_interval_ms;
    char *log_level;
    char *log_format;
};

extern const struct config_option bridge_config_options[];
extern const size_t bridge_config_option_count;

#endif
