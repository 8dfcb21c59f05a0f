/* The REST API: routes requests to handlers that read the host registry, the ingest and
 * writer counters and a read-only store handle, and answer JSON (or stream CSV exports).
 * Errors are {"error":{"code":...,"message":...}} with the matching status. Runs on the HTTP
 * server's one thread, and so do the CSV streams its handlers return (the store handle is
 * used by that thread only). */
#ifndef UPDRAFT_HUB_API_H
#define UPDRAFT_HUB_API_H

#include <stddef.h>
#include <stdint.h>

#include "hub/http.h"

struct store;
struct hosts;
struct ledger;
struct ingest;
struct writer;
struct mqtt_client;

struct api {
    struct store *reader;           /* read-only handle */
    struct hosts *hosts;
    struct ledger *ledger;          /* the loss ledger (read-only here) */
    int64_t ledger_settle_ms;       /* shown with the gaps */
    struct ingest *ingest;
    struct writer *writer;
    struct mqtt_client *mqtt;       /* for /ready */
    int64_t started_mono_ms;
    int64_t max_range_ms;           /* longest range a query may ask */
    const char *version;
    const uint8_t *export_key;      /* signs export links (borrowed; export_key_len >= 1) */
    size_t export_key_len;
    int64_t export_url_ttl_ms;      /* how long an export link stays valid */
};

/* http_handler_fn: user is a struct api. */
void api_handle(void *user, const struct http_request *req, struct http_response *resp);

#endif
