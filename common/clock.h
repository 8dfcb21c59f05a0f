/* Clocks, in int64_t milliseconds. Wall clock for sample timestamps, monotonic clock for
 * intervals, timeouts and staleness: never mix them. Thread-safe. */
#ifndef UPDRAFT_COMMON_CLOCK_H
#define UPDRAFT_COMMON_CLOCK_H

#include <stddef.h>
#include <stdint.h>

int64_t clock_wall_ms(void);
int64_t clock_mono_ms(void);

/* Formats a wall-clock time as RFC 3339 UTC ("2026-11-22T04:32:48Z", or with ".123" when
 * the milliseconds are not zero). Returns out. out_size >= 32. */
char *clock_format_rfc3339(int64_t wall_ms, char *out, size_t out_size);
/* The same with the milliseconds always written ("2026-11-22T04:32:48.000Z"): fixed width,
 * for columns. Returns out. out_size >= 32. */
char *clock_format_rfc3339_ms(int64_t wall_ms, char *out, size_t out_size);

/* Parses a duration with a unit: "500ms", "5s", "15m", "1h", "7d" (a bare number is
 * seconds). Returns 0 or -EINVAL. */
int clock_parse_duration_ms(const char *text, int64_t *out_ms) __attribute__((warn_unused_result));

/* Parses a point in time: unix seconds ("1795322939" or "1795322939.5") or RFC 3339
 * ("2026-11-22T04:32:48Z", "2026-11-22T04:32:48.123+01:00"). Returns 0 or -EINVAL. */
int clock_parse_time_ms(const char *text, int64_t *out_ms) __attribute__((warn_unused_result));

#endif
