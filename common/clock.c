/* Clocks and time text (see clock.h). Stateless; thread-safe. */
#include "common/clock.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t clock_read_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_wall_ms(void)
{
    return clock_read_ms(CLOCK_REALTIME);
}

int64_t clock_mono_ms(void)
{
    return clock_read_ms(CLOCK_MONOTONIC);
}

char *clock_format_rfc3339(int64_t wall_ms, char *out, size_t out_size)
{
    int64_t secs = wall_ms / 1000;
    int64_t ms = wall_ms % 1000;
    if (ms < 0) {
        ms += 1000;
        secs -= 1;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    char date[24];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    if (ms != 0)
        snprintf(out, out_size, "%s.%03" PRId64 "Z", date, ms);
    else
        snprintf(out, out_size, "%sZ", date);
    return out;
}

int clock_parse_duration_ms(const char *text, int64_t *out_ms)
{
    if (text == NULL || *text == '\0')
        return -EINVAL;
    errno = 0;
    char *end = NULL;
    long long number = strtoll(text, &end, 10);
    if (errno != 0 || end == text || number < 0)
        return -EINVAL;
    int64_t scale;
    if (*end == '\0' || strcmp(end, "s") == 0)
        scale = 1000;
    else if (strcmp(end, "ms") == 0)
        scale = 1;
    else if (strcmp(end, "m") == 0)
        scale = (int64_t)60 * 1000;
    else if (strcmp(end, "h") == 0)
        scale = (int64_t)3600 * 1000;
    else if (strcmp(end, "d") == 0)
        scale = (int64_t)86400 * 1000;
    else
        return -EINVAL;
    if (number > INT64_MAX / scale)
        return -EINVAL;
    *out_ms = (int64_t)number * scale;
    return 0;
}
