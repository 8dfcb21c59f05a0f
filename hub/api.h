/* The REST API: routes requests to handlers that read the host registry, the ingest and
 * writer counters and a read-only store handle, and answer JSON. Errors are
 * {"error":{"code":...,"message":...}} with the matching status. Runs on the HTTP server's
 * one thread (the store handle is used by that thread only). */
#ifndef UPDRAFT_HUB_API_H
#define UPDRAFT_HUB_API_H

#include <stdint.h>

#include "hub/http.h"

struct store;
struct hosts;
struct ingest;
struct writer;
struct mqtt_client;

struct api {
    struct store *reader;           /* read-only handle */
    struct hosts *hosts;
    struct ingest *ingest;
    struct writer *writer;
    struct mqtt_client *mqtt;       /* for /ready */
    int64_t started_mono_ms;
    int64_t max_range_ms;           /* longest range a query may ask */
    const char *version;
};

/* http_handler_fn: user is a struct api. */
void api_handle(void *user, const struct http_request *req, struct http_response *resp);

#endif
