/* The HTTP server adapter: the only file that includes <microhttpd.h>. It owns the listening
 * socket (bound here, so a busy port gives a clear error), keeps connections alive, enforces
 * a request-body limit (413) and a connection timeout, and hands each complete request to one
 * handler function on its single internal thread (so the handler's state needs no lock
 * against other requests). */
#ifndef UPDRAFT_HUB_HTTP_H
#define UPDRAFT_HUB_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct http_request {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* "/api/v1/hosts" (no query string) */
    /* Value of query parameter name, NULL when absent. */
    const char *(*param)(const struct http_request *req, const char *name);
    void *impl;
    const char *body; /* request body (may be NULL), body_len bytes */
    size_t body_len;
};

struct http_response {
    int status;               /* 200, 404, ... */
    const char *content_type; /* static string */
    char *body;               /* malloc'd, taken by the server */
    size_t body_len;
    const char *allow;        /* "GET" for a 405, else NULL */
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
