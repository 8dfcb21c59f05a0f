/* Shared between the API's files (api.c: routing, health, hosts, stats; api_params.c: the
 * parameters the data endpoints share; api_metrics.c: metric queries, names, host detail;
 * api_ledger.c: the loss ledger; api_export.c: CSV export and its signed download links).
 * Same thread rules as api.h. */
#ifndef UPDRAFT_HUB_API_INTERNAL_H
#define UPDRAFT_HUB_API_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub/api.h"
#include "hub/hosts.h"
#include "hub/store.h"

/* Canonical labels text: at most this many bytes with the NUL (as store_series_info). */
#define API_LABELS_MAX 513

/* Sends body (taken) as JSON with status. */
void api_respond_json(struct http_response *resp, int status, json_t *body);
/* Sends {"error":{"code":code,"message":...}} with status. */
void api_respond_error(struct http_response *resp, int status, const char *code, const char *fmt,
                       ...) __attribute__((format(printf, 4, 5)));
/* RFC 3339 string, or null for 0. */
json_t *api_time_json(int64_t wall_ms);
/* One host as GET /api/v1/hosts lists it. */
json_t *api_host_json(const struct host_view *view);

/* A time window, both ends inclusive (wall clock). */
struct api_window {
    int64_t from_ms, to_ms;
    const char *range_text; /* the range it came from (borrowed), NULL when from/to were given */
};

/* The window from the texts of range, from and to (each NULL when absent): range (default
 * 1h, 1 s to api->max_range_ms) ending at now_ms, or from and optional to (default now_ms),
 * RFC 3339 or unix seconds; range with from/to is refused. Returns 0, or -EINVAL with a 400
 * naming the parameter sent on resp. */
int api_window_parse(const struct api *api, const char *range, const char *from, const char *to,
                     int64_t now_ms, struct http_response *resp, struct api_window *w)
    __attribute__((warn_unused_result));

/* labels as a request gives them: NULL or "" (none), "k=v,k2=v2" in the stored form (',',
 * '=' and '%' inside keys and values as %2C, %3D, %25), or a JSON object of strings (taken
 * as they are and escaped here). Writes the canonical text (keys sorted) to out. Returns 0 or
 * -EINVAL (not such text, more than 16 labels, longer than out_size - 1). */
int api_labels_parse(const char *text, char *out, size_t out_size)
    __attribute__((warn_unused_result));

/* True when the host registry knows host. */
bool api_host_exists(struct api *api, const char *host);

/* The series (host, metric, labels), preferring the one without a unit. 0 and *out, -ENOENT,
 * or -EIO (store_errmsg(api->reader)). */
int api_series_find(struct api *api, const char *host, const char *metric, const char *labels,
                    struct store_series_info *out) __attribute__((warn_unused_result));

/* As api_series_find, and answers the failure: 404 for an unknown host or a series the host
 * does not have (-ENOENT), 500 when the store fails (-EIO). */
int api_series_select(struct api *api, const char *host, const char *metric, const char *labels,
                      struct http_response *resp, struct store_series_info *out)
    __attribute__((warn_unused_result));

/* GET /api/v1/metrics/query, GET /api/v1/metrics/names, GET /api/v1/hosts/{id}. */
void api_metrics_query(struct api *api, const struct http_request *req, struct http_response *resp);
void api_metric_names(struct api *api, const struct http_request *req, struct http_response *resp);
void api_host_detail(struct api *api, const struct http_request *req, struct http_response *resp,
                     const char *host_id);

/* GET /api/v1/hosts/{id}/gaps: the host's loss ledger (404 for an unknown host). */
void api_host_gaps(struct api *api, const struct http_request *req, struct http_response *resp,
                   const char *host_id);
/* The "ledger" object of /api/v1/query/stats: the totals of every host. */
json_t *api_ledger_totals_json(struct api *api);

/* GET /api/v1/export (streamed CSV), POST /api/v1/reports/export (a signed download link),
 * GET /api/v1/export/download?token= (the CSV the link names). */
void api_export(struct api *api, const struct http_request *req, struct http_response *resp);
void api_export_link(struct api *api, const struct http_request *req, struct http_response *resp);
void api_export_download(struct api *api, const struct http_request *req,
                         struct http_response *resp);

#endif
