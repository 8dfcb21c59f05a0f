/* Metric endpoints of the API (see api_internal.h): raw points or step-aligned aggregates of
 * one series, metric names, and one host with its main series. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "hub/api_internal.h"
#include "hub/query.h"
#include "hub/store.h"

#define API_MAX_POINTS 100000

/* The series a host shows on its detail page, when it has them (without labels). */
static const char *const main_metrics[] = {"cpu.utilization", "mem.used_pct", "cpu.load1",
                                           "disk.used_pct",   "net.rx_mbps",  "net.tx_mbps",
                                           "gpu.utilization"};

static json_t *point_value(const struct store_point *p)
{
    switch (p->kind) {
    case STORE_KIND_BOOL:
        return json_boolean(p->value != 0.0);
    case STORE_KIND_STRING:
    case STORE_KIND_DATA:
        return json_string(p->text != NULL ? p->text : "");
    case STORE_KIND_NUMBER:
    case STORE_KIND_SUM:
        break;
    }
    return json_real(p->value);
}

static json_t *point_json(int64_t ts_ms, json_t *value)
{
    char text[40];
    return json_pack("{s:s,s:o}", "ts", clock_format_rfc3339(ts_ms, text, sizeof text), "value",
                     value);
}

static int collect_point(void *user, const struct store_point *p)
{
    return json_array_append_new(user, point_json(p->ts_ms, point_value(p))) == 0 ? 0 : -ENOMEM;
}

static int collect_bucket(void *user, int64_t bucket_ms, double value)
{
    return json_array_append_new(user, point_json(bucket_ms, json_real(value))) == 0 ? 0
                                                                                    : -ENOMEM;
}

/* step= and agg=: 0 (with *step_ms 0 for raw points), or -EINVAL with a 400 sent. */
static int parse_step(const struct http_request *req, struct http_response *resp,
                      const struct api_window *w, int64_t *step_ms, enum query_agg_kind *agg)
{
    const char *step = req->param(req, "step"), *agg_text = req->param(req, "agg");
    *step_ms = 0;
    *agg = QUERY_AGG_AVG;
    if (agg_text != NULL && query_agg_parse(agg_text, agg) != 0) {
        api_respond_error(resp, 400, "BAD_REQUEST",
                          "parameter agg: \"%.20s\" is not one of avg, min, max, sum, count, "
                          "last, p95", agg_text);
        return -EINVAL;
    }
    if (step == NULL) {
        if (agg_text != NULL) {
            api_respond_error(resp, 400, "BAD_REQUEST", "parameter agg needs step (e.g. step=1m)");
            return -EINVAL;
        }
        return 0;
    }
    if (clock_parse_duration_ms(step, step_ms) != 0 || *step_ms < 1000) {
        api_respond_error(resp, 400, "BAD_REQUEST",
                          "parameter step: \"%.40s\" is not a duration of at least 1s", step);
        return -EINVAL;
    }
    if ((w->to_ms - w->from_ms) / *step_ms > API_MAX_POINTS) {
        api_respond_error(resp, 400, "BAD_REQUEST",
                          "parameter step: too small for the window (more than %d points)",
                          API_MAX_POINTS);
        return -EINVAL;
    }
    return 0;
}

void api_metrics_query(struct api *api, const struct http_request *req, struct http_response *resp)
{
    const char *host = req->param(req, "host_id"), *metric = req->param(req, "metric");
    struct api_window w;
    int64_t step_ms;
    enum query_agg_kind agg;
    char labels[API_LABELS_MAX];
    if (host == NULL || *host == '\0' || metric == NULL || *metric == '\0') {
        api_respond_error(resp, 400, "BAD_REQUEST", "parameter %s is required",
                          host == NULL || *host == '\0' ? "host_id" : "metric");
        return;
    }
    if (api_window_parse(api, req->param(req, "range"), req->param(req, "from"),
                         req->param(req, "to"), clock_wall_ms(), resp, &w) != 0 ||
        parse_step(req, resp, &w, &step_ms, &agg) != 0)
        return;
    if (api_labels_parse(req->param(req, "labels"), labels, sizeof labels) != 0) {
        api_respond_error(resp, 400, "BAD_REQUEST",
                          "parameter labels: expected k=v,k2=v2 or a JSON object of strings");
        return;
    }
    struct store_series_info series;
    int rc = api_series_select(api, host, metric, labels, resp, &series);
    if (rc != 0)
        return;
    json_t *points = json_array();
    bool truncated = false;
    enum store_tier tier = STORE_TIER_RAW;
    if (step_ms == 0) {
        rc = store_query(api->reader, series.id, w.from_ms, w.to_ms, API_MAX_POINTS,
                         collect_point, points, &truncated);
    } else {
        rc = store_aggregate(api->reader, series.id, w.from_ms, w.to_ms, step_ms, agg,
                             collect_bucket, points, &tier);
    }
    if (rc != 0) {
        json_decref(points);
        api_respond_error(resp, 500, "INTERNAL", "store: %s", store_errmsg(api->reader));
        return;
    }
    json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:s,s:b,s:o}", "host_id", host, "metric",
                             metric, "unit", series.unit, "labels", series.labels, "from",
                             api_time_json(w.from_ms), "to", api_time_json(w.to_ms),
                             "resolution", store_tier_name(tier), "truncated", truncated, "datapoints", points);
    if (w.range_text != NULL)
        json_object_set_new(body, "range", json_string(w.range_text));
    if (step_ms > 0) {
        json_object_set_new(body, "step_s", json_real((double)step_ms / 1000.0));
        json_object_set_new(body, "agg", json_string(query_agg_name(agg)));
    }
    api_respond_json(resp, 200, body);
}

void api_metric_names(struct api *api, const struct http_request *req, struct http_response *resp)
{
    const char *host = req->param(req, "host_id");
    if (host == NULL || *host == '\0') {
        api_respond_error(resp, 400, "BAD_REQUEST", "parameter host_id is required");
        return;
    }
    if (!api_host_exists(api, host)) {
        api_respond_error(resp, 404, "NOT_FOUND", "unknown host \"%.64s\"", host);
        return;
    }
    size_t max = 4096, n = 0;
    struct store_series_info *series = calloc(max, sizeof *series);
    if (series == NULL || store_series(api->reader, host, NULL, series, max, &n) != 0) {
        free(series);
        api_respond_error(resp, 500, "INTERNAL", "store: %s", store_errmsg(api->reader));
        return;
    }
    json_t *names = json_array(), *list = json_array();
    for (size_t i = 0; i < n && i < max; i++) {
        if (i == 0 || strcmp(series[i].metric, series[i - 1].metric) != 0)
            json_array_append_new(names, json_string(series[i].metric));
        json_array_append_new(list, json_pack("{s:s,s:s,s:s}", "metric", series[i].metric,
                                              "unit", series[i].unit, "labels", series[i].labels));
    }
    free(series);
    api_respond_json(resp, 200,
                     json_pack("{s:s,s:o,s:o,s:b}", "host_id", host, "names", names, "series",
                               list, "truncated", n > max));
}

void api_host_detail(struct api *api, const struct http_request *req, struct http_response *resp,
                     const char *host_id)
{
    struct host_view view;
    struct api_window w;
    if (hosts_get(api->hosts, host_id, clock_mono_ms(), &view) != 0) {
        api_respond_error(resp, 404, "NOT_FOUND", "unknown host \"%.64s\"", host_id);
        return;
    }
    if (api_window_parse(api, req->param(req, "range"), req->param(req, "from"),
                         req->param(req, "to"), clock_wall_ms(), resp, &w) != 0)
        return;
    json_t *metrics = json_object();
    for (size_t i = 0; i < sizeof main_metrics / sizeof main_metrics[0]; i++) {
        struct store_series_info series;
        if (api_series_find(api, host_id, main_metrics[i], "", &series) != 0)
            continue;
        json_t *points = json_array();
        bool truncated = false;
        if (store_query(api->reader, series.id, w.from_ms, w.to_ms, API_MAX_POINTS, collect_point,
                        points, &truncated) != 0) {
            json_decref(points);
            json_decref(metrics);
            api_respond_error(resp, 500, "INTERNAL", "store: %s", store_errmsg(api->reader));
            return;
        }
        json_object_set_new(metrics, main_metrics[i], points);
    }
    json_t *body = json_pack("{s:o,s:o,s:o,s:o}", "host", api_host_json(&view), "metrics", metrics,
                             "from", api_time_json(w.from_ms), "to", api_time_json(w.to_ms));
    if (w.range_text != NULL)
        json_object_set_new(body, "range", json_string(w.range_text));
    api_respond_json(resp, 200, body);
}
