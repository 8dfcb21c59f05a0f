/* Export endpoints of the API (see api_internal.h): a series as streamed CSV, either at once
 * (GET /api/v1/export) or through a signed, expiring link (POST /api/v1/reports/export, then
 * GET /api/v1/export/download?token=). Both validate the same way; the link fixes the window
 * to absolute times when it is made, so it downloads the same rows each time. */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "hub/api_internal.h"
#include "hub/export.h"
#include "hub/export_token.h"
#include "hub/store.h"

#define LOG_MODULE "api"
#include "common/log.h"

/* Points per store query while streaming: bounds the memory of one export. */
#define API_EXPORT_SLICE_POINTS 2000

/* What a request asks for, as texts (NULL when absent): query parameters or body fields. */
struct export_ask {
    const char *format, *host, *metric, *range, *from, *to, *labels;
};

/* A validated export: the host, its series and the absolute window. */
struct export_plan {
    char host[65];
    struct store_series_info series;
    struct api_window window;
};

/* Validates ask like GET /api/v1/metrics/query does: 0 and *plan, or -errno with the 400, 404
 * or 500 sent. */
static int export_resolve(struct api *api, const struct export_ask *ask, int64_t now_ms,
                          struct http_response *resp, struct export_plan *plan)
{
    char labels[API_LABELS_MAX];
    if (ask->host == NULL || *ask->host == '\0' || ask->metric == NULL || *ask->metric == '\0') {
        api_respond_error(resp, 400, "BAD_REQUEST", "parameter %s is required",
                          ask->host == NULL || *ask->host == '\0' ? "host_id" : "metric");
        return -EINVAL;
    }
    if (ask->format != NULL && strcmp(ask->format, "csv") != 0) {
        api_respond_error(resp, 400, "BAD_REQUEST",
                          "parameter format: \"%.20s\" is not supported (csv is)", ask->format);
        return -EINVAL;
    }
    if (api_window_parse(api, ask->range, ask->from, ask->to, now_ms, resp, &plan->window) != 0)
        return -EINVAL;
    if (api_labels_parse(ask->labels, labels, sizeof labels) != 0) {
        api_respond_error(resp, 400, "BAD_REQUEST",
                          "parameter labels: expected k=v,k2=v2 or a JSON object of strings");
        return -EINVAL;
    }
    int rc = api_series_select(api, ask->host, ask->metric, labels, resp, &plan->series);
    if (rc != 0)
        return rc;
    snprintf(plan->host, sizeof plan->host, "%s", ask->host); /* a known host fits */
    return 0;
}

static ssize_t export_stream_read(void *ctx, char *buf, size_t max)
{
    return export_read(ctx, buf, max);
}

static void export_stream_close(void *ctx)
{
    log_debug("export done: %llu rows", (unsigned long long)export_rows(ctx));
    export_close(ctx);
}

/* "<host>_<metric>_<from>.csv", from as 20261122T040000Z. */
static void attachment_name(const struct export_plan *plan, char *out, size_t out_size)
{
    char rfc[40], compact[24];
    size_t n = 0;
    clock_format_rfc3339(plan->window.from_ms, rfc, sizeof rfc);
    for (const char *c = rfc; *c && *c != '.' && *c != 'Z' && n + 2 < sizeof compact; c++)
        if (*c != '-' && *c != ':')
            compact[n++] = *c;
    compact[n++] = 'Z';
    compact[n] = '\0';
    snprintf(out, out_size, "%.64s_%.150s_%s.csv", plan->host, plan->series.metric, compact);
}

static void respond_csv(struct api *api, const struct export_plan *plan,
                        struct http_response *resp)
{
    struct export *ex = NULL;
    const struct export_query q = {.host = plan->host, .series = &plan->series,
                                   .from_ms = plan->window.from_ms, .to_ms = plan->window.to_ms};
    int rc = export_open(api->reader, &q, API_EXPORT_SLICE_POINTS, &ex);
    if (rc != 0) {
        api_respond_error(resp, 500, "INTERNAL", "%s%s",
                          rc == -ENOMEM ? "out of memory" : "store: ",
                          rc == -ENOMEM ? "" : store_errmsg(api->reader));
        return;
    }
    resp->status = 200;
    resp->content_type = "text/csv; charset=utf-8";
    resp->stream = (struct http_stream){.ctx = ex, .read = export_stream_read,
                                        .close = export_stream_close};
    attachment_name(plan, resp->attachment, sizeof resp->attachment);
}

void api_export(struct api *api, const struct http_request *req, struct http_response *resp)
{
    const struct export_ask ask = {
        .format = req->param(req, "format"), .host = req->param(req, "host_id"),
        .metric = req->param(req, "metric"), .range = req->param(req, "range"),
        .from = req->param(req, "from"), .to = req->param(req, "to"),
        .labels = req->param(req, "labels"),
    };
    struct export_plan plan;
    if (export_resolve(api, &ask, clock_wall_ms(), resp, &plan) == 0)
        respond_csv(api, &plan, resp);
}

/* Body fields: the names of the GET's parameters. Text buffers hold from/to given as
 * numbers and labels given as an object (owned: free labels_json). */
struct body_texts {
    char from[40], to[40];
    char *labels_json;
};

/* A time given as a number (unix seconds) becomes the text the window parser reads. */
static const char *time_text(json_t *val, char *buf, size_t size)
{
    if (json_is_string(val))
        return json_string_value(val);
    if (json_is_integer(val))
        snprintf(buf, size, "%lld", (long long)json_integer_value(val));
    else
        snprintf(buf, size, "%.3f", json_real_value(val));
    return buf;
}

/* Fills ask from a JSON object. 0, or -EINVAL with a 400 naming the field sent. */
static int ask_from_body(json_t *body, struct export_ask *ask, struct body_texts *texts,
                         struct http_response *resp)
{
    const char *key;
    json_t *val;
    json_object_foreach(body, key, val) {
        const char **text_field = strcmp(key, "format") == 0    ? &ask->format
                                  : strcmp(key, "host_id") == 0 ? &ask->host
                                  : strcmp(key, "metric") == 0  ? &ask->metric
                                  : strcmp(key, "range") == 0   ? &ask->range
                                                                : NULL;
        bool is_time = strcmp(key, "from") == 0 || strcmp(key, "to") == 0;
        if (text_field != NULL && json_is_string(val)) {
            *text_field = json_string_value(val);
        } else if (text_field != NULL) {
            api_respond_error(resp, 400, "BAD_REQUEST", "parameter %s: expected a string", key);
            return -EINVAL;
        } else if (is_time && (json_is_string(val) || json_is_number(val))) {
            bool from = key[0] == 'f';
            const char *text = time_text(val, from ? texts->from : texts->to, sizeof texts->from);
            *(from ? &ask->from : &ask->to) = text;
        } else if (is_time) {
            api_respond_error(resp, 400, "BAD_REQUEST",
                              "parameter %s: expected RFC 3339 text or a number of unix seconds",
                              key);
            return -EINVAL;
        } else if (strcmp(key, "labels") == 0 && json_is_string(val)) {
            ask->labels = json_string_value(val);
        } else if (strcmp(key, "labels") == 0 && json_is_object(val)) {
            texts->labels_json = json_dumps(val, JSON_COMPACT);
            if (texts->labels_json == NULL) {
                api_respond_error(resp, 500, "INTERNAL", "out of memory");
                return -ENOMEM;
            }
            ask->labels = texts->labels_json;
        } else if (strcmp(key, "labels") == 0) {
            api_respond_error(resp, 400, "BAD_REQUEST",
                              "parameter labels: expected k=v,k2=v2 or a JSON object of strings");
            return -EINVAL;
        } else {
            api_respond_error(resp, 400, "BAD_REQUEST",
                              "parameter %.64s: unknown (known: format, host_id, metric, range, "
                              "from, to, labels)",
                              key);
            return -EINVAL;
        }
    }
    return 0;
}

/* The signed link of a validated export, answered as JSON. */
static void respond_link(struct api *api, const struct export_plan *plan, int64_t now_ms,
                         struct http_response *resp)
{
    struct export_token t = {.format = EXPORT_FORMAT_CSV,
                             .from_ms = plan->window.from_ms,
                             .to_ms = plan->window.to_ms,
                             .expires_ms = now_ms + api->export_url_ttl_ms};
    snprintf(t.host, sizeof t.host, "%s", plan->host);
    snprintf(t.metric, sizeof t.metric, "%s", plan->series.metric);
    snprintf(t.labels, sizeof t.labels, "%s", plan->series.labels);
    char token[EXPORT_TOKEN_MAX], url[EXPORT_TOKEN_MAX + 64];
    if (export_token_sign(&t, api->export_key, api->export_key_len, token, sizeof token) != 0) {
        api_respond_error(resp, 500, "INTERNAL", "cannot sign the export link");
        return;
    }
    snprintf(url, sizeof url, "/api/v1/export/download?token=%s", token);
    api_respond_json(resp, 200,
                     json_pack("{s:s,s:o,s:s,s:o,s:o}", "url", url, "expires_at",
                               api_time_json(t.expires_ms), "format", "csv", "from",
                               api_time_json(t.from_ms), "to", api_time_json(t.to_ms)));
}

void api_export_link(struct api *api, const struct http_request *req, struct http_response *resp)
{
    struct export_ask ask = {0};
    struct body_texts texts = {.labels_json = NULL};
    struct export_plan plan;
    json_error_t jerr;
    int64_t now_ms = clock_wall_ms();
    json_t *body = json_loadb(req->body != NULL ? req->body : "", req->body_len,
                              JSON_REJECT_DUPLICATES, &jerr);
    if (body == NULL) {
        api_respond_error(resp, 400, "BAD_REQUEST",
                          "body: not valid JSON (line %d, column %d: %.100s)", jerr.line,
                          jerr.column, jerr.text);
        goto out;
    }
    if (!json_is_object(body)) {
        api_respond_error(resp, 400, "BAD_REQUEST",
                          "body: expected a JSON object like {\"host_id\":...,\"metric\":...}");
        goto out;
    }
    if (ask_from_body(body, &ask, &texts, resp) == 0 &&
        export_resolve(api, &ask, now_ms, resp, &plan) == 0)
        respond_link(api, &plan, now_ms, resp);
out:
    json_decref(body);
    free(texts.labels_json);
}

void api_export_download(struct api *api, const struct http_request *req,
                         struct http_response *resp)
{
    const char *text = req->param(req, "token");
    struct export_token t;
    if (text == NULL || *text == '\0') {
        api_respond_error(resp, 400, "BAD_REQUEST", "parameter token is required");
        return;
    }
    int rc = export_token_verify(text, api->export_key, api->export_key_len, clock_wall_ms(), &t);
    if (rc == -EKEYEXPIRED) {
        char at[40];
        api_respond_error(resp, 410, "GONE",
                          "the export link expired at %s (POST /api/v1/reports/export makes a "
                          "new one)",
                          clock_format_rfc3339(t.expires_ms, at, sizeof at));
        return;
    }
    if (rc != 0) {
        api_respond_error(resp, 403, "FORBIDDEN",
                          "parameter token: not a valid export link (altered, cut short, or "
                          "signed with another key)");
        return;
    }
    struct export_plan plan = {.window = {.from_ms = t.from_ms, .to_ms = t.to_ms}};
    if (api_series_select(api, t.host, t.metric, t.labels, resp, &plan.series) != 0)
        return;
    snprintf(plan.host, sizeof plan.host, "%s", t.host);
    respond_csv(api, &plan, resp);
}
