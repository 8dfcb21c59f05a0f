/* updraft-agent start-up: config (defaults < file < env < flags), --once, --dry-run, then
 * the loop until SIGINT/SIGTERM. */
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/config.h"
#include "edge-agent/agent.h"
#include "edge-agent/agent_config.h"

#define LOG_MODULE "agent"
#include "common/log.h"

extern char **environ;

int main(int argc, char **argv)
{
    /* Buffers of 64 KiB and more (the collectors' tables, sized for big hosts and mostly
     * empty) come from mmap: only the pages used are resident, and freed ones go back at
     * once. About 120 KiB of resident memory on a small host. */
    (void)mallopt(M_MMAP_THRESHOLD, 64 * 1024);
    bool once = false, dry_run = false;
    const struct config_flag flags[] = {
        {"once", &once, "print one collection as SenML JSON on stdout and exit"},
        {"dry-run", &dry_run, "check the configuration and exit"},
    };
    const struct config_program prog = {
        .name = "updraft-agent",
        .version = UPDRAFT_VERSION,
        .summary = "collects this machine's metrics and publishes them to an MQTT broker",
        .opts = agent_config_options,
        .n_opts = agent_config_option_count,
        .flags = flags,
        .n_flags = sizeof flags / sizeof flags[0],
    };
    struct agent_config cfg;
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
    log_setup("updraft-agent", level, format);

    /* Blocked before the MQTT library starts its threads, taken with sigtimedwait. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct agent *agent = NULL;
    int exit_code = 2;
    if (agent_new(&cfg, &agent) != 0)
        goto out;
    if (dry_run) {
        printf("updraft-agent: configuration is valid\n");
        exit_code = 0;
    } else if (once) {
        exit_code = agent_print_once(agent) == 0 ? 0 : 1;
    } else {
        exit_code = agent_run(agent, &stop_signals) == 0 ? 0 : 1;
    }
out:
    agent_free(agent);
    config_free(prog.opts, prog.n_opts, &cfg);
    return exit_code;
}
