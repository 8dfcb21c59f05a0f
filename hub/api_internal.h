/* Shared between the API's files (api.c: routing, health, hosts, stats; api_metrics.c:
 * metric queries, names, host detail). Same thread rules as api.h. */
#ifndef UPDRAFT_HUB_API_INTERNAL_H
#define UPDRAFT_HUB_API_INTERNAL_H

#include <jansson.h>
#include <stdint.h>

#include "hub/api.h"
#include "hub/hosts.h"

/* Sends body (taken) as JSON with status. */
void api_respond_json(struct http_response *resp, int status, json_t *body);
/* Sends {"error":{"code":code,"message":...}} with status. */
void api_respond_error(struct http_response *resp, int status, const char *code, const char *fmt,
                       ...) __attribute__((format(printf, 4, 5)));
/* RFC 3339 string, or null for 0. */
json_t *api_time_json(int64_t wall_ms);
/* One host as GET /api/v1/hosts lists it. */
json_t *api_host_json(const struct host_view *view);

/* GET /api/v1/metrics/query, GET /api/v1/metrics/names, GET /api/v1/hosts/{id}. */
void api_metrics_query(struct api *api, const struct http_request *req, struct http_response *resp);
void api_metric_names(struct api *api, const struct http_request *req, struct http_response *resp);
void api_host_detail(struct api *api, const struct http_request *req, struct http_response *resp,
                     const char *host_id);

#endif
