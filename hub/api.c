/* REST handlers (see api.h). JSON is built with jansson; times are RFC 3339 UTC strings. */
#include "hub/api.h"
#include "hub/api_internal.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/mqtt_client.h"
#include "common/topic.h"
#include "hub/hosts.h"
#include "hub/ingest.h"
#include "hub/store.h"
#include "hub/writer.h"

void api_respond_json(struct http_response *resp, int status, json_t *body)
{
    resp->status = status;
    resp->content_type = "application/json";
    /* 15 significant digits give back every value that arrived as decimal text of up to
     * 15 digits (all an agent sends) without printing 0.1 as 0.10000000000000001. */
    resp->body = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15));
    resp->body_len = resp->body != NULL ? strlen(resp->body) : 0;
    json_decref(body);
    if (resp->body == NULL)
        resp->status = 500;
}

void api_respond_error(struct http_response *resp, int status, const char *code,
                       const char *fmt, ...)
{
    char message[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    api_respond_json(resp, status,
                 json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message));
}

json_t *api_time_json(int64_t wall_ms)
{
    char text[40];
    return wall_ms > 0 ? json_string(clock_format_rfc3339(wall_ms, text, sizeof text))
                       : json_null();
}

static void handle_health(struct api *api, const struct http_request *req,
                          struct http_response *resp)
{
    (void)api;
    (void)req;
    api_respond_json(resp, 200, json_pack("{s:s}", "status", "ok"));
}

static void handle_ready(struct api *api, const struct http_request *req,
                         struct http_response *resp)
{
    (void)req;
    bool store_ok = store_ping(api->reader) == 0;
    bool broker_ok = mqtt_client_connected(api->mqtt);
    if (store_ok && broker_ok) {
        api_respond_json(resp, 200,
                     json_pack("{s:s,s:s,s:s}", "status", "ready", "store", "ok", "broker",
                               "connected"));
        return;
    }
    api_respond_error(resp, 503, "NOT_READY", "store %s, broker %s",
                  store_ok ? "ok" : "failing", broker_ok ? "connected" : "disconnected");
}

static void handle_ping(struct api *api, const struct http_request *req,
                        struct http_response *resp)
{
    (void)req;
    api_respond_json(resp, 200,
                 json_pack("{s:s,s:o,s:s}", "message", "pong", "time",
                           api_time_json(clock_wall_ms()), "version", api->version));
}

json_t *api_host_json(const struct host_view *v)
{
    json_t *summary = json_pack("{s:o,s:o}", "cpu_pct",
                                v->has_cpu ? json_real(v->cpu_pct) : json_null(), "mem_pct",
                                v->has_mem ? json_real(v->mem_pct) : json_null());
    return json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:s,s:I,s:s,s:o,s:I,s:I}", "id", v->rec.id,
                     "status", v->online ? "online" : "offline", "state",
                     v->rec.state[0] ? v->rec.state : "unknown", "last_seen_at",
                     api_time_json(v->rec.last_seen_ms), "first_seen_at",
                     api_time_json(v->rec.first_seen_ms), "last_seen_age_s",
                     v->age_ms >= 0 ? json_real((double)v->age_ms / 1000.0) : json_null(),
                     "boot_id", v->rec.boot_id, "last_seq", (json_int_t)v->rec.last_seq,
                     "agent_version", v->rec.agent_version, "metrics_summary", summary,
                     "packs", (json_int_t)v->packs, "samples", (json_int_t)v->samples);
}

static void handle_hosts(struct api *api, const struct http_request *req,
                         struct http_response *resp)
{
    (void)req;
    struct host_view *views = NULL;
    size_t n = 0;
    if (hosts_snapshot(api->hosts, clock_mono_ms(), &views, &n) != 0) {
        api_respond_error(resp, 500, "INTERNAL", "out of memory");
        return;
    }
    json_t *list = json_array();
    size_t online = 0;
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(list, api_host_json(&views[i]));
        online += views[i].online;
    }
    free(views);
    api_respond_json(resp, 200,
                 json_pack("{s:o,s:I,s:I}", "hosts", list, "total", (json_int_t)n, "online",
                           (json_int_t)online));
}

static void handle_stats(struct api *api, const struct http_request *req,
                         struct http_response *resp)
{
    (void)req;
    struct ingest_stats is;
    struct writer_stats ws;
    struct store_stats ss = {0};
    ingest_stats(api->ingest, &is);
    writer_stats(api->writer, &ws);
    if (store_stats(api->reader, &ss) != 0) {
        api_respond_error(resp, 500, "INTERNAL", "store: %s", store_errmsg(api->reader));
        return;
    }
    json_t *rejected = json_object();
    for (int i = 0; i < INGEST_REASON_COUNT; i++)
        json_object_set_new(rejected, ingest_reason_name((enum ingest_reason)i),
                            json_integer((json_int_t)is.rejected[i]));
    /* Samples the store refused inside accepted packs count as rejections too. */
    json_object_set_new(rejected, "too_old", json_integer((json_int_t)ws.too_old));
    json_object_set_new(rejected, "too_many_series",
                        json_integer((json_int_t)ws.too_many_series));
    uint64_t rejected_total = is.rejected_total + ws.too_old + ws.too_many_series;
    struct ingest_rejection recent[INGEST_RECENT_MAX];
    size_t n_recent = ingest_recent(api->ingest, recent, INGEST_RECENT_MAX);
    json_t *recent_list = json_array();
    for (size_t i = 0; i < n_recent; i++)
        json_array_append_new(recent_list,
                              json_pack("{s:o,s:s,s:s,s:s}", "at", api_time_json(recent[i].at_ms),
                                        "reason", ingest_reason_name(recent[i].reason), "topic",
                                        recent[i].topic, "detail", recent[i].detail));
    int64_t uptime_ms = clock_mono_ms() - api->started_mono_ms;
    json_t *body = json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:s,s:{s:I,s:I,s:I,s:I},s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I},s:o,s:I,s:o}",
        "hosts", (json_int_t)hosts_count(api->hosts), "series", (json_int_t)ss.series, "samples",
        (json_int_t)ss.samples, "store_bytes", (json_int_t)ss.file_bytes, "uptime_s",
        (json_int_t)(uptime_ms / 1000), "broker",
        mqtt_client_connected(api->mqtt) ? "connected" : "disconnected", "ingest", "messages",
        (json_int_t)is.messages, "packs", (json_int_t)is.packs, "samples",
        (json_int_t)is.samples, "states", (json_int_t)is.states, "writer", "added",
        (json_int_t)ws.added, "duplicates", (json_int_t)ws.duplicates, "conflicts",
        (json_int_t)ws.conflicts, "commits", (json_int_t)ws.commits, "store_errors",
        (json_int_t)ws.store_errors, "queued", (json_int_t)ws.queued, "acks_sent",
        (json_int_t)ws.acks_sent, "rejected", rejected,
        "rejected_total", (json_int_t)rejected_total, "recent_rejections", recent_list);
    json_object_set_new(
        body, "store",
        json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "head_samples",
                  (json_int_t)ss.head_samples, "wal_rows", (json_int_t)ss.wal_rows, "l0_chunks",
                  (json_int_t)ss.l0_chunks, "chunks", (json_int_t)ss.chunks, "rollup_rows",
                  (json_int_t)ss.rollup_rows, "replayed", (json_int_t)ss.replayed, "compactions",
                  (json_int_t)ss.compactions, "retention_deleted",
                  (json_int_t)ss.retention_deleted, "janitor_runs", (json_int_t)ws.janitor_runs,
                  "janitor_errors", (json_int_t)ws.janitor_errors));
    json_t *ledger = api_ledger_totals_json(api);
    json_object_set_new(ledger, "not_recorded", json_integer((json_int_t)ws.ledger_errors));
    json_object_set_new(body, "ledger", ledger);
    api_respond_json(resp, 200, body);
}

static void handle_index(struct api *api, const struct http_request *req,
                         struct http_response *resp)
{
    (void)req;
    api_respond_json(resp, 200,
                 json_pack("{s:s,s:s,s:[s,s,s,s,s,s,s,s,s,s,s,s]}", "name", "updraft-hub",
                           "version", api->version, "endpoints", "/health", "/ready",
                           "/api/v1/ping", "/api/v1/hosts", "/api/v1/hosts/{id}",
                           "/api/v1/hosts/{id}/gaps",
                           "/api/v1/metrics/query", "/api/v1/metrics/names",
                           "/api/v1/query/stats", "/api/v1/export", "/api/v1/reports/export",
                           "/api/v1/export/download"));
}

struct route {
    const char *path;
    void (*fn)(struct api *, const struct http_request *, struct http_response *);
    bool post; /* POST only; else GET and HEAD */
};

static const struct route routes[] = {
    {"/", handle_index, false},
    {"/health", handle_health, false},
    {"/ready", handle_ready, false},
    {"/api/v1/ping", handle_ping, false},
    {"/api/v1/hosts", handle_hosts, false},
    {"/api/v1/metrics/query", api_metrics_query, false},
    {"/api/v1/metrics/names", api_metric_names, false},
    {"/api/v1/query/stats", handle_stats, false},
    {"/api/v1/export", api_export, false},
    {"/api/v1/export/download", api_export_download, false},
    {"/api/v1/reports/export", api_export_link, true},
};

void api_handle(void *user, const struct http_request *req, struct http_response *resp)
{
    struct api *api = user;
    bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    const char *host_prefix = "/api/v1/hosts/";
    if (strncmp(req->path, host_prefix, strlen(host_prefix)) == 0) {
        /* {id} or {id}/gaps */
        const char *id_text = req->path + strlen(host_prefix);
        const char *slash = strchr(id_text, '/');
        size_t id_len = slash != NULL ? (size_t)(slash - id_text) : strlen(id_text);
        bool gaps = slash != NULL && strcmp(slash, "/gaps") == 0;
        char id[TOPIC_HOST_MAX + 1];
        bool valid = (slash == NULL || gaps) && topic_host_valid(id_text, id_len);
        if (valid)
            snprintf(id, sizeof id, "%.*s", (int)id_len, id_text);
        if (!valid) {
            api_respond_error(resp, 404, "NOT_FOUND", "no such endpoint: %.200s", req->path);
        } else if (!get) {
            resp->allow = "GET, HEAD";
            api_respond_error(resp, 405, "METHOD_NOT_ALLOWED", "%.16s is not allowed on %.100s",
                              req->method, req->path);
        } else if (gaps) {
            api_host_gaps(api, req, resp, id);
        } else {
            api_host_detail(api, req, resp, id);
        }
        return;
    }
    bool post = strcmp(req->method, "POST") == 0;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strcmp(req->path, routes[i].path) != 0)
            continue;
        if (routes[i].post ? !post : !get) {
            resp->allow = routes[i].post ? "POST" : "GET, HEAD";
            api_respond_error(resp, 405, "METHOD_NOT_ALLOWED", "%.16s is not allowed on %.100s",
                          req->method, req->path);
            return;
        }
        routes[i].fn(api, req, resp);
        return;
    }
    api_respond_error(resp, 404, "NOT_FOUND", "no such endpoint: %.200s", req->path);
}
