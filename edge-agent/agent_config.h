/* updraft-agent's configuration: the struct and its option table (defaults < file <
 * UPDRAFT_* environment < flags; see config/agent.conf). */
#ifndef UPDRAFT_AGENT_AGENT_CONFIG_H
#define UPDRAFT_AGENT_AGENT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"

struct agent_config {
    char *host_id;         /* "" = derive from hostname / machine id */
    int64_t interval_ms;
    int64_t heartbeat_interval_ms;
    char *collectors;      /* "cpu,mem" */
    char *proc_root;
    char *mqtt_host;
    int64_t mqtt_port;
    char *mqtt_client_id;  /* "" = "updraft-agent-<host>" */
    int64_t mqtt_keepalive_ms;
    char *mqtt_topic_root;
    char *mqtt_username;
    char *mqtt_password;
    int64_t mqtt_max_buffered;
    char *log_level;
    char *log_format;
};

extern const struct config_option agent_config_options[];
extern const size_t agent_config_option_count;

#endif
