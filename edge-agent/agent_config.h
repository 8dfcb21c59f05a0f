/* updraft-agent's configuration: the struct and its option table (defaults < file <
 * UPDRAFT_* environment < flags; see config/agent.conf). */
#ifndef UPDRAFT_AGENT_AGENT_CONFIG_H
#define UPDRAFT_AGENT_AGENT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"

/* Every collector family, in the order they run. */
#define AGENT_DEFAULT_COLLECTORS "cpu,mem,disk,net,gpu,proc,container,conn"

struct agent_config {
    char *host_id;         /* "" = derive from hostname / machine id */
    int64_t interval_ms;
    int64_t heartbeat_interval_ms;
    char *collectors;      /* "cpu,mem,disk,..." */
    int64_t top_n;
    char *tags;            /* "k=v,k=v": host labels in the inventory */
    int64_t inventory_interval_ms;     /* scan connections / look for changes this often */
    int64_t inventory_max_interval_ms; /* republish unchanged inventory this often */
    char *proc_root;
    char *sys_root;
    char *spool_dir;
    int64_t spool_max_bytes;
    int64_t spool_max_age_ms;
    int64_t spool_resend_after_ms;
    int64_t spool_backfill_rate;       /* packs/s */
    bool spool_fsync;
    char *mqtt_host;
    int64_t mqtt_port;
    char *mqtt_client_id;  /* "" = "updraft-agent-<host>" */
    int64_t mqtt_keepalive_ms;
    char *mqtt_topic_root;
    char *mqtt_username;
    char *mqtt_password;
    int64_t mqtt_session_expiry_ms;
    int64_t mqtt_connect_timeout_ms;
    int64_t mqtt_reconnect_min_ms;
    int64_t mqtt_reconnect_max_ms;
    int64_t mqtt_max_inflight;
    bool mqtt_tls;
    char *mqtt_ca_file;
    char *mqtt_cert_file;
    char *mqtt_key_file;
    bool mqtt_tls_verify;
    char *transport;       /* "mqtt" | "coap" */
    char *coap_host;
    int64_t coap_port;     /* 0 = 5683, or 5684 with a PSK identity */
    char *coap_psk_identity;
    char *coap_psk_key_file;
    int64_t coap_max_inflight;
    int64_t coap_ack_timeout_ms;
    int64_t coap_max_retransmit;
    int64_t coap_response_timeout_ms;
    int64_t coap_connect_timeout_ms;
    int64_t coap_reconnect_min_ms;
    int64_t coap_reconnect_max_ms;
    char *log_level;
    char *log_format;
};

extern const struct config_option agent_config_options[];
extern const size_t agent_config_option_count;

#endif
