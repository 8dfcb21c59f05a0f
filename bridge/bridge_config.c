/* updraft-bridge's option table (see bridge_config.h). Read-only data. */
#include "bridge/bridge_config.h"

#include <stddef.h>

#define OPT(sec, key, type, field, min, max, def, help)                                            \
    {                                                                                              \
        sec, key, type, offsetof(struct bridge_config, field), min, max, def, NULL, false, help    \
    }
#define MS(n) ((int64_t)(n))
#define S(n) ((int64_t)(n)*1000)

const struct config_option bridge_config_options[] = {
    OPT("coap", "address", CONFIG_TYPE_STRING, coap_address, 1, 64, "127.0.0.1",
        "address both CoAP ports listen on (0.0.0.0 or :: for every interface)"),
    OPT("coap", "port", CONFIG_TYPE_INT, coap_port, 0, 65535, "5683", "CoAP UDP port (0: off)"),
    OPT("coap", "dtls_port", CONFIG_TYPE_INT, coap_dtls_port, 0, 65535, "5684",
        "CoAPS (DTLS-PSK) UDP port, open when psk_file is set (0: off)"),
    OPT("coap", "psk_file", CONFIG_TYPE_STRING, coap_psk_file, 0, 4096, "",
        "lines \"<identity> <host> <key>\": who may post for which host over DTLS"),
    OPT("coap", "max_body", CONFIG_TYPE_SIZE, coap_max_body, 1024, 16LL << 20, "64KiB",
        "largest request body, block-wise included (4.13 beyond)"),
    OPT("coap", "max_pending", CONFIG_TYPE_INT, coap_max_pending, 1, 1000000, "4096",
        "requests waiting for the broker's PUBACK before new ones get 5.03"),
    OPT("coap", "retry_after", CONFIG_TYPE_DURATION, coap_retry_after_ms, S(1), S(3600), "10s",
        "Max-Age of a 5.03: when a device should try again"),
    OPT("coap", "puback_timeout", CONFIG_TYPE_DURATION, coap_puback_timeout_ms, MS(100), S(60),
        "10s", "a request whose PUBACK has not come by then gets 5.03"),
    OPT("coap", "dedupe_window", CONFIG_TYPE_DURATION, coap_dedupe_window_ms, S(1), S(3600), "247s",
        "how long a (peer, message id) is remembered to answer retransmissions"),
    OPT("coap", "dedupe_max", CONFIG_TYPE_INT, coap_dedupe_max, 16, 10000000, "262144",
        "most exchanges remembered (the oldest go first)"),
    OPT("coap", "max_hosts", CONFIG_TYPE_INT, coap_max_hosts, 1, 1000000, "10000",
        "hosts the bridge keeps resources for; requests for new ones beyond get 5.03"),
    OPT("mqtt", "host", CONFIG_TYPE_STRING, mqtt_host, 1, 253, "127.0.0.1", "broker host"),
    OPT("mqtt", "port", CONFIG_TYPE_INT, mqtt_port, 1, 65535, "1883", "broker port"),
    OPT("mqtt", "client_id", CONFIG_TYPE_STRING, mqtt_client_id, 1, 64, "updraft-bridge",
        "client id (one per bridge)"),
    OPT("mqtt", "keepalive", CONFIG_TYPE_DURATION, mqtt_keepalive_ms, S(5), S(3600), "30s",
        "MQTT keepalive"),
    OPT("mqtt", "reconnect_max", CONFIG_TYPE_DURATION, mqtt_reconnect_max_ms, S(1), S(3600), "30s",
        "longest delay between reconnect attempts (doubling from 1 s)"),
    OPT("mqtt", "topic_root", CONFIG_TYPE_STRING, mqtt_topic_root, 1, 64, "updraft",
        "first topic level: <root>/v1/<host>/<kind>"),
    OPT("mqtt", "username", CONFIG_TYPE_STRING, mqtt_username, 0, 256, "", "broker user name"),
    {"mqtt", "password", CONFIG_TYPE_STRING, offsetof(struct bridge_config, mqtt_password), 0, 256,
     "", NULL, true, "broker password"},
    OPT("bridge", "offline_after", CONFIG_TYPE_DURATION, bridge_offline_after_ms, S(1), S(86400),
        "90s", "a host with no heartbeat for this long is published offline"),
    OPT("bridge", "status_interval", CONFIG_TYPE_DURATION, bridge_status_interval_ms, S(1),
        S(86400), "60s", "how often the counters are logged"),
    {"log", "level", CONFIG_TYPE_ENUM, offsetof(struct bridge_config, log_level), 0, 0, "info",
     "error|warn|info|debug", false, "log threshold"},
    {"log", "format", CONFIG_TYPE_ENUM, offsetof(struct bridge_config, log_format), 0, 0, "text",
     "text|json", false, "log lines as text or JSON"},
};

const size_t bridge_config_option_count =
    sizeof bridge_config_options / sizeof bridge_config_options[0];
