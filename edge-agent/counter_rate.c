/* Rates of cumulative counters between two readings (counter_rate.h). Pure; owns nothing. */
#include "edge-agent/counter_rate.h"

#include "edge-agent/batch.h"

bool counter_rate_interval(const struct counter_rate_clock *clock, int64_t now_mono_ms,
                           double *interval_s)
{
    if (!clock->has_prev_ms || now_mono_ms <= clock->prev_ms)
        return false;
    *interval_s = (double)(now_mono_ms - clock->prev_ms) / 1000.0;
    return true;
}

void counter_rate_commit(struct counter_rate_clock *clock, int64_t now_mono_ms)
{
    clock->prev_ms = now_mono_ms;
    clock->has_prev_ms = true;
}

double counter_rate_per_s(uint64_t increase, double interval_s)
{
    return metric_round((double)increase / interval_s, 2);
}

double counter_rate_mbps(uint64_t increase, double bits_per_unit, double interval_s)
{
    return metric_round((double)increase * bits_per_unit / 1e6 / interval_s, 2);
}
