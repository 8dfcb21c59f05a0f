/* libFuzzer target for the agent's parsers of what the hub sends (edge-agent/control.c): the
 * ack and the pushed config, from arbitrary bytes. Beyond "no crash": an accepted ack has
 * 1 <= first <= last in every range and a 16-hex boot id; an accepted config has a version
 * and only values within their documented ranges; a refusal always says why. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edge-agent/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[200];
    struct control_ack ack;
    why[0] = '\0';
    if (control_ack_parse(data, size, &ack, why, sizeof why) == 0) {
        if (strlen(ack.boot_id) != 16 || ack.n_ranges > CONTROL_ACK_MAX_RANGES)
            abort();
        for (size_t i = 0; i < ack.n_ranges; i++)
            if (ack.first[i] < 1 || ack.last[i] < ack.first[i])
                abort();
    } else if (why[0] == '\0') {
        abort();
    }
    struct control_config cfg;
    why[0] = '\0';
    if (control_config_parse(data, size, &cfg, why, sizeof why) == 0) {
        if (cfg.version < 1 || (cfg.has_interval && (cfg.interval_ms < 100 ||
                                                     cfg.interval_ms > 3600000)) ||
            (cfg.has_top_n && (cfg.top_n < 1 || cfg.top_n > 100)) ||
            strlen(cfg.collectors) >= sizeof cfg.collectors || strlen(cfg.labels) >= sizeof cfg.labels)
            abort();
    } else if (why[0] == '\0') {
        abort();
    }
    return 0;
}
