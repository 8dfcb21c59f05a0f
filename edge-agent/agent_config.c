/* updraft-agent's option table (see agent_config.h). Read-only data. */
#include "edge-agent/agent_config.h"

#include <stdbool.h>
#include <stddef.h>

#define OPT(sec, key, type, field, min, max, def, help)                                            \
    {sec, key, type, offsetof(struct agent_config, field), min, max, def, NULL, false, help}
#define S(n) ((int64_t)(n) * 1000)

const struct config_option agent_config_options[] = {
    OPT("agent", "host_id", CONFIG_TYPE_STRING, host_id, 0, 64, "",
        "host id in topics ([A-Za-z0-9._-]); empty: this machine's hostname, else machine id"),
    OPT("agent", "interval", CONFIG_TYPE_DURATION, interval_ms, 100, S(3600), "5s",
        "time between collections"),
    OPT("agent", "heartbeat_interval", CONFIG_TYPE_DURATION, heartbeat_interval_ms, S(1),
        S(3600), "30s", "time between heartbeats"),
    OPT("agent", "collectors", CONFIG_TYPE_STRING, collectors, 0, 256, "cpu,mem",
        "comma-separated collector families to run (cpu, mem)"),
    OPT("agent", "proc_root", CONFIG_TYPE_STRING, proc_root, 1, 4096, "/proc",
        "where /proc is (tests point it at fixtures)"),
    OPT("mqtt", "host", CONFIG_TYPE_STRING, mqtt_host, 1, 253, "127.0.0.1", "broker host"),
    OPT("mqtt", "port", CONFIG_TYPE_INT, mqtt_port, 1, 65535, "1883", "broker port"),
    OPT("mqtt", "client_id", CONFIG_TYPE_STRING, mqtt_client_id, 0, 64, "",
        "client id; empty: updraft-agent-<host id>"),
    OPT("mqtt", "keepalive", CONFIG_TYPE_DURATION, mqtt_keepalive_ms, S(5), S(3600), "30s",
        "MQTT keepalive; the broker sends the Last Will after 1.5 x this of silence"),
    OPT("mqtt", "topic_root", CONFIG_TYPE_STRING, mqtt_topic_root, 1, 64, "updraft",
        "first topic level: <root>/v1/<host>/<kind>"),
    OPT("mqtt", "username", CONFIG_TYPE_STRING, mqtt_username, 0, 256, "", "broker user name"),
    {"mqtt", "password", CONFIG_TYPE_STRING, offsetof(struct agent_config, mqtt_password), 0, 256,
     "", NULL, true, "broker password"},
    OPT("mqtt", "max_buffered", CONFIG_TYPE_INT, mqtt_max_buffered, 0, 100000, "1000",
        "packs kept in memory while the broker is unreachable (oldest dropped, counted)"),
    {"log", "level", CONFIG_TYPE_ENUM, offsetof(struct agent_config, log_level), 0, 0, "info",
     "error|warn|info|debug", false, "log level"},
    {"log", "format", CONFIG_TYPE_ENUM, offsetof(struct agent_config, log_format), 0, 0, "text",
     "text|json", false, "text lines or JSON lines on stderr"},
};

const size_t agent_config_option_count =
    sizeof agent_config_options / sizeof agent_config_options[0];
