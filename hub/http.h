/* The HTTP server adapter: the only file that includes <microhttpd.h>. It owns the listening
 * socket (bound here, so a busy port gives a clear error), keeps connections alive, enforces
 * a request-body limit (413) and a connection timeout, and hands each complete request to one
 * handler function on its single internal thread (so the handler's state needs no lock
 * against other requests). Streamed bodies are read on that same thread, so a stream may use
 * what the handler may use (the API's store handle); http.c asserts it. */
#ifndef UPDRAFT_HUB_HTTP_H
#define UPDRAFT_HUB_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct http_request {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* "/api/v1/hosts" (no query string) */
    /* Value of query parameter name, NULL when absent. */
    const char *(*param)(const struct http_request *req, const char *name);
    void *impl;
    const char *body; /* request body (may be NULL), body_len bytes */
    size_t body_len;
};

/* A body produced while it is sent (chunked; the length is not known up front). The server
 * calls read(ctx, buf, max) on its thread each time the client can take more: it returns the
 * bytes it wrote to buf (1..max), 0 at the end, or a negative errno to cut the connection
 * (the status line has gone out already). close(ctx) is called once, whatever happened
 * (also for HEAD, a client that went away, or a server stopping), maybe on another thread. */
struct http_stream {
    void *ctx;
    ssize_t (*read)(void *ctx, char *buf, size_t max);
    void (*close)(void *ctx);
};

#define HTTP_ATTACHMENT_MAX 256

struct http_response {
    int status;               /* 200, 404, ... */
    const char *content_type; /* static string */
    char *body;               /* malloc'd, taken by the server */
    size_t body_len;
    const char *allow;        /* "GET" for a 405, else NULL */
    struct http_stream stream; /* read != NULL: streamed instead of body (taken by the server) */
    /* Non-empty: sent as Content-Disposition: attachment; filename="..." (characters other
     * than A-Z a-z 0-9 . _ - become '_'). */
    char attachment[HTTP_ATTACHMENT_MAX];
};

typedef void (*http_handler_fn)(void *user, const struct http_request *req,
                                struct http_response *resp);

struct http_server;

struct http_options {
    const char *address; /* IPv4 or IPv6 literal: "127.0.0.1", "::1", "0.0.0.0" */
    int port;            /* 0 picks a free port (see http_server_port) */
    size_t max_body_bytes;
    int64_t connection_timeout_ms;
};

/* Binds and starts serving. On failure returns -errno with a one-line reason in errmsg
 * ("127.0.0.1:8080 is already in use"). */
int http_server_start(const struct http_options *opts, http_handler_fn handler, void *user,
                      struct http_server **out, char *errmsg, size_t errmsg_size)
    __attribute__((warn_unused_result));
int http_server_port(const struct http_server *srv);
void http_server_stop(struct http_server *srv); /* accepts NULL; joins the thread */

#endif
