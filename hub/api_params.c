/* Request parameters every data endpoint of the API shares (see api_internal.h): the time
 * window (range, or from/to), labels, and finding the one series they select. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "hub/api_internal.h"
#include "hub/store.h"

#define API_MAX_SERIES 256
#define API_MAX_LABELS 16

int api_window_parse(const struct api *api, const char *range, const char *from, const char *to,
                     int64_t now_ms, struct http_response *resp, struct api_window *w)
{
    int64_t range_ms;
    if (from == NULL && to == NULL) {
        w->range_text = range != NULL ? range : "1h";
        if (clock_parse_duration_ms(w->range_text, &range_ms) != 0 || range_ms < 1000 ||
            range_ms > api->max_range_ms) {
            api_respond_error(resp, 400, "BAD_REQUEST",
                              "parameter range: \"%.40s\" is not a duration between 1s and %lldd "
                              "(e.g. 15m, 1h, 6h, 24h, 7d, 30d)",
                              w->range_text, (long long)(api->max_range_ms / 86400000));
            return -EINVAL;
        }
        w->from_ms = now_ms - range_ms;
        w->to_ms = now_ms;
        return 0;
    }
    w->range_text = NULL;
    w->to_ms = now_ms;
    const char *bad = NULL;
    if (range != NULL)
        bad = "range (give either range or from/to)";
    else if (from == NULL || clock_parse_time_ms(from, &w->from_ms) != 0)
        bad = "from (RFC 3339 like 2026-11-22T04:00:00Z, or unix seconds)";
    else if (to != NULL && clock_parse_time_ms(to, &w->to_ms) != 0)
        bad = "to (RFC 3339 like 2026-11-22T05:00:00Z, or unix seconds)";
    else if (w->from_ms >= w->to_ms)
        bad = "from (must be before to)";
    else if (w->to_ms - w->from_ms > api->max_range_ms)
        bad = "from (the window is longer than [api] max_range)";
    if (bad != NULL) {
        api_respond_error(resp, 400, "BAD_REQUEST", "parameter %s", bad);
        return -EINVAL;
    }
    return 0;
}

/* Appends c to out at *used (keeping a NUL after it). */
static int put_char(char *out, size_t out_size, size_t *used, char c)
{
    if (*used + 1 >= out_size)
        return -EINVAL;
    out[(*used)++] = c;
    out[*used] = '\0';
    return 0;
}

/* Appends text with ',', '=' and '%' escaped as %2C, %3D, %25: what ingest stores. */
static int put_escaped(char *out, size_t out_size, size_t *used, const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;
    for (const char *s = text; rc == 0 && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == ',' || c == '=' || c == '%') {
            rc = put_char(out, out_size, used, '%');
            if (rc == 0)
                rc = put_char(out, out_size, used, hex[c >> 4]);
            if (rc == 0)
                rc = put_char(out, out_size, used, hex[c & 15]);
        } else {
            rc = put_char(out, out_size, used, (char)c);
        }
    }
    return rc;
}

/* A JSON object of strings as "k=v,k2=v2", keys sorted. */
static int labels_from_object(json_t *obj, char *out, size_t out_size)
{
    const char *keys[API_MAX_LABELS] = {0};
    size_t n = 0, used = 0;
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val) {
        if (n == API_MAX_LABELS || !json_is_string(val))
            return -EINVAL;
        size_t j = n++;
        for (; j > 0 && strcmp(keys[j - 1], key) > 0; j--)
            keys[j] = keys[j - 1];
        keys[j] = key;
    }
    out[0] = '\0';
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (i > 0)
            rc = put_char(out, out_size, &used, ',');
        if (rc == 0)
            rc = put_escaped(out, out_size, &used, keys[i]);
        if (rc == 0)
            rc = put_char(out, out_size, &used, '=');
        if (rc == 0)
            rc = put_escaped(out, out_size, &used,
                             json_string_value(json_object_get(obj, keys[i])));
    }
    return rc;
}

int api_labels_parse(const char *text, char *out, size_t out_size)
{
    out[0] = '\0';
    if (text == NULL || *text == '\0')
        return 0;
    if (text[0] != '{') {
        snprintf(out, out_size, "%s", text);
        return strlen(text) < out_size ? 0 : -EINVAL;
    }
    json_t *obj = json_loads(text, 0, NULL);
    int rc = json_is_object(obj) ? labels_from_object(obj, out, out_size) : -EINVAL;
    json_decref(obj);
    if (rc != 0)
        out[0] = '\0';
    return rc;
}

bool api_host_exists(struct api *api, const char *host)
{
    struct host_view v;
    return hosts_get(api->hosts, host, clock_mono_ms(), &v) == 0;
}

int api_series_find(struct api *api, const char *host, const char *metric, const char *labels,
                    struct store_series_info *out)
{
    struct store_series_info *series = calloc(API_MAX_SERIES, sizeof *series);
    size_t n = 0;
    if (series == NULL ||
        store_series(api->reader, host, metric, series, API_MAX_SERIES, &n) != 0) {
        free(series);
        return -EIO;
    }
    int rc = -ENOENT;
    for (size_t i = 0; i < n && i < API_MAX_SERIES; i++) {
        if (strcmp(series[i].labels, labels) == 0 && (rc != 0 || series[i].unit[0] == '\0')) {
            *out = series[i];
            rc = 0;
        }
    }
    free(series);
    return rc;
}

int api_series_select(struct api *api, const char *host, const char *metric, const char *labels,
                      struct http_response *resp, struct store_series_info *out)
{
    if (!api_host_exists(api, host)) {
        api_respond_error(resp, 404, "NOT_FOUND", "unknown host \"%.64s\"", host);
        return -ENOENT;
    }
    int rc = api_series_find(api, host, metric, labels, out);
    if (rc == -ENOENT)
        api_respond_error(resp, 404, "NOT_FOUND", "host \"%.64s\" has no metric \"%.100s\"%s%.100s",
                          host, metric, labels[0] ? " with labels " : "", labels);
    else if (rc != 0)
        api_respond_error(resp, 500, "INTERNAL", "store: %s", store_errmsg(api->reader));
    return rc;
}
