/* Per-second rates of cumulative counters between two readings, shared by the counter
 * collectors (disk, net): when the previous reading was taken, and the rate arithmetic.
 * Pure: time comes in as now_mono_ms. Owns nothing; one collector uses one clock. */
#ifndef UPDRAFT_AGENT_COUNTER_RATE_H
#define UPDRAFT_AGENT_COUNTER_RATE_H

#include <stdbool.h>
#include <stdint.h>

/* When the previous reading was taken. Zeroed: there is none yet. */
struct counter_rate_clock {
    int64_t prev_ms; /* monotonic time of the previous reading */
    bool has_prev_ms;
};

/* true with the seconds since the previous reading in *interval_s; false when there is none
 * or it is not older than now_mono_ms (no rates then). */
bool counter_rate_interval(const struct counter_rate_clock *clock, int64_t now_mono_ms,
                           double *interval_s);

/* The reading taken at now_mono_ms becomes the previous one. */
void counter_rate_commit(struct counter_rate_clock *clock, int64_t now_mono_ms);

/* A counter's increase per second over interval_s (> 0), rounded to 2 decimals. */
double counter_rate_per_s(uint64_t increase, double interval_s);

/* Megabits per second of an increase counted in units of bits_per_unit bits (8 for bytes,
 * 4096 for 512-byte sectors) over interval_s (> 0), rounded to 2 decimals. */
double counter_rate_mbps(uint64_t increase, double bits_per_unit, double interval_s);

#endif
