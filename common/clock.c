/* Clocks and time text (see clock.h). Stateless; thread-safe. */
#include "common/clock.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
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

/* Date and time to the second, and the milliseconds (0..999), of wall_ms. */
static void split_utc(int64_t wall_ms, char date[24], int64_t *ms_out)
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
    strftime(date, 24, "%Y-%m-%dT%H:%M:%S", &tm);
    *ms_out = ms;
}

char *clock_format_rfc3339(int64_t wall_ms, char *out, size_t out_size)
{
    char date[24];
    int64_t ms;
    split_utc(wall_ms, date, &ms);
    if (ms != 0)
        snprintf(out, out_size, "%s.%03" PRId64 "Z", date, ms);
    else
        snprintf(out, out_size, "%sZ", date);
    return out;
}

char *clock_format_rfc3339_ms(int64_t wall_ms, char *out, size_t out_size)
{
    char date[24];
    int64_t ms;
    split_utc(wall_ms, date, &ms);
    snprintf(out, out_size, "%s.%03" PRId64 "Z", date, ms);
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

/* Reads exactly n digits at *p into *out and advances *p. */
static bool read_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static int parse_unix_seconds(const char *text, int64_t *out_ms)
{
    errno = 0;
    char *end = NULL;
    double secs = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !(secs >= 0) || secs > 9.2e15 / 1000)
        return -EINVAL;
    *out_ms = (int64_t)llround(secs * 1000.0);
    return 0;
}

int clock_parse_time_ms(const char *text, int64_t *out_ms)
{
    if (text == NULL || *text == '\0')
        return -EINVAL;
    if (strchr(text, '-') == NULL || text[0] == '-')
        return parse_unix_seconds(text, out_ms);
    const char *p = text;
    int year, mon, day, hour, min, sec, ms = 0;
    if (!read_digits(&p, 4, &year) || *p++ != '-' || !read_digits(&p, 2, &mon) || *p++ != '-' ||
        !read_digits(&p, 2, &day) || (*p != 'T' && *p != 't' && *p != ' ') || !++p ||
        !read_digits(&p, 2, &hour) || *p++ != ':' || !read_digits(&p, 2, &min) ||
        *p++ != ':' || !read_digits(&p, 2, &sec))
        return -EINVAL;
    if (*p == '.') {
        p++;
        int digits = 0;
        for (; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 3)
                ms = ms * 10 + (*p - '0');
        if (digits == 0)
            return -EINVAL;
        for (; digits < 3; digits++)
            ms *= 10;
    }
    int offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if (!read_digits(&p, 2, &oh) || *p++ != ':' || !read_digits(&p, 2, &om) || oh > 23 ||
            om > 59)
            return -EINVAL;
        offset_min = sign * (oh * 60 + om);
    } else {
        return -EINVAL;
    }
    if (*p != '\0' || mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 ||
        sec > 60)
        return -EINVAL;
    struct tm tm = {.tm_year = year - 1900, .tm_mon = mon - 1, .tm_mday = day,
                    .tm_hour = hour, .tm_min = min, .tm_sec = sec};
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || tm.tm_mday != day) /* timegm normalises 31 Feb: refuse it */
        return -EINVAL;
    *out_ms = ((int64_t)t - (int64_t)offset_min * 60) * 1000 + ms;
    return 0;
}
