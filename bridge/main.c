/* updraft-bridge start-up: configuration, logging, signals, then the bridge's loop until
 * SIGINT/SIGTERM (requests still waiting get 5.03 on the way out). */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "bridge/bridge.h"
#include "bridge/bridge_config.h"
#include "common/topic.h"

#define LOG_MODULE "bridge"
#include "common/log.h"

extern char **environ;

int main(int argc, char **argv)
{
    const struct config_program prog = {
        .name = "updraft-bridge",
        .version = UPDRAFT_VERSION,
        .summary = "carries CoAP devices' posts into updraft's MQTT topics, and acks and config "
                   "back",
        .opts = bridge_config_options,
        .n_opts = bridge_config_option_count,
    };
    struct bridge_config cfg;
    memset(&cfg, 0, sizeof cfg);
    enum config_cli_result res = config_cli(&prog, argc, argv, environ, &cfg);
    if (res != CONFIG_CLI_RUN) {
        config_free(prog.opts, prog.n_opts, &cfg);
        return res == CONFIG_CLI_EXIT_OK ? 0 : 2;
    }
    enum log_level level = LOG_LEVEL_INFO;
    enum log_format format = LOG_FORMAT_TEXT;
    if (log_level_parse(cfg.log_level, &level) != 0)
        level = LOG_LEVEL_INFO;
    if (log_format_parse(cfg.log_format, &format) != 0)
        format = LOG_FORMAT_TEXT;
    log_setup("updraft-bridge", level, format);
    if (!topic_root_valid(cfg.mqtt_topic_root)) {
        fprintf(stderr, "updraft-bridge: [mqtt] topic_root \"%s\" is not a valid topic prefix\n",
                cfg.mqtt_topic_root);
        config_free(prog.opts, prog.n_opts, &cfg);
        return 2;
    }
    if (cfg.coap_port == 0 && (cfg.coap_psk_file[0] == '\0' || cfg.coap_dtls_port == 0)) {
        fprintf(stderr, "updraft-bridge: no port to listen on: [coap] port is 0 and DTLS is off\n");
        config_free(prog.opts, prog.n_opts, &cfg);
        return 2;
    }

    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct bridge *b = NULL;
    int exit_code = 1;
    if (bridge_new(&cfg, &b) == 0) {
        log_info("updraft-bridge %s: broker mqtt://%s:%lld, topics %s/v1/<host>/...",
                 UPDRAFT_VERSION, cfg.mqtt_host, (long long)cfg.mqtt_port, cfg.mqtt_topic_root);
        exit_code = bridge_run(b, &stop_signals) == 0 ? 0 : 1;
        bridge_free(b);
        if (exit_code == 0)
            log_info("stopped cleanly");
    }
    config_free(prog.opts, prog.n_opts, &cfg);
    return exit_code;
}
