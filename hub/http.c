/* libmicrohttpd adapter (see http.h). One internal polling thread (no thread per connection,
 * no pool): requests are answered on the handler's second call (after the body), which keeps
 * connections alive, and streamed bodies are read by the same thread. */
#include "hub/http.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LOG_MODULE "http"
#include "common/log.h"

/* Bytes asked of a stream at most per call (MHD may ask for less). */
#define HTTP_STREAM_BLOCK_BYTES ((size_t)32 * 1024)

struct http_server {
    struct MHD_Daemon *daemon;
    int fd;
    int port;
    size_t max_body;
    http_handler_fn handler;
    void *user;
    bool thread_known; /* the serving thread, recorded by its first request */
    pthread_t thread;
};

/* A streamed body in flight. */
struct stream_state {
    struct http_server *srv;
    struct http_stream stream;
};

/* Per-request state: the body collected so far. */
struct request_state {
    char *body;
    size_t len;
    bool too_large;
};

static const char *lookup_param(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->impl, MHD_GET_ARGUMENT_KIND, name);
}

/* Handlers and stream reads share state without locks because libmicrohttpd runs them all on
 * its one internal thread (MHD_USE_INTERNAL_POLLING_THREAD without THREAD_PER_CONNECTION or
 * a thread pool). A change of those flags must fail loudly here, not corrupt the store handle. */
static void assert_server_thread(struct http_server *srv)
{
    if (!srv->thread_known) {
        srv->thread = pthread_self();
        srv->thread_known = true;
    }
    assert(pthread_equal(srv->thread, pthread_self()));
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct stream_state *ss = cls;
    assert_server_thread(ss->srv);
    ssize_t n = ss->stream.read(ss->stream.ctx, buf, max);
    if (n == 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (n < 0) {
        log_warn("streamed response cut short: %s", strerror((int)-n));
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    return n;
}

static void stream_free(void *cls)
{
    struct stream_state *ss = cls;
    if (ss->stream.close != NULL)
        ss->stream.close(ss->stream.ctx);
    free(ss);
}

static struct MHD_Response *stream_response(struct http_server *srv, struct http_response *resp)
{
    struct stream_state *ss = malloc(sizeof *ss);
    struct MHD_Response *r = NULL;
    if (ss != NULL) {
        ss->srv = srv;
        ss->stream = resp->stream;
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, HTTP_STREAM_BLOCK_BYTES,
                                              stream_read, ss, stream_free);
    }
    if (r == NULL) {
        free(ss);
        if (resp->stream.close != NULL)
            resp->stream.close(resp->stream.ctx);
    }
    return r;
}

/* Content-Disposition for a download, the file name kept to safe characters. */
static void add_attachment(struct MHD_Response *r, const char *name)
{
    char value[HTTP_ATTACHMENT_MAX + 40];
    size_t n = (size_t)snprintf(value, sizeof value, "attachment; filename=\"");
    for (const char *c = name; *c && n + 3 < sizeof value; c++) {
        bool safe = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                    (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-';
        value[n++] = *c;
        if (!safe)
            value[n - 1] = '_';
    }
    value[n++] = '"';
    value[n] = '\0';
    MHD_add_response_header(r, "Content-Disposition", value);
}

static enum MHD_Result queue(struct http_server *srv, struct MHD_Connection *conn,
                             struct http_response *resp)
{
    struct MHD_Response *r;
    if (resp->stream.read != NULL) {
        free(resp->body);
        r = stream_response(srv, resp);
    } else {
        r = MHD_create_response_from_buffer(resp->body_len, resp->body, MHD_RESPMEM_MUST_FREE);
        if (r == NULL)
            free(resp->body);
    }
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", resp->content_type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (resp->allow != NULL)
        MHD_add_response_header(r, "Allow", resp->allow);
    if (resp->attachment[0] != '\0')
        add_attachment(r, resp->attachment);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result too_large(struct http_server *srv, struct MHD_Connection *conn,
                                 size_t limit)
{
    struct http_response resp = {.status = 413, .content_type = "application/json"};
    char buf[160];
    int n = snprintf(buf, sizeof buf,
                     "{\"error\":{\"code\":\"PAYLOAD_TOO_LARGE\",\"message\":\"request body "
                     "exceeds %zu bytes\"}}",
                     limit);
    resp.body = strndup(buf, (size_t)n);
    resp.body_len = resp.body ? (size_t)n : 0;
    return queue(srv, conn, &resp);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)version;
    struct http_server *srv = cls;
    struct request_state *rs = *con_cls;
    assert_server_thread(srv);
    if (rs == NULL) {
        rs = calloc(1, sizeof *rs);
        if (rs == NULL)
            return MHD_NO;
        *con_cls = rs;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl != NULL && strtoull(cl, NULL, 10) > srv->max_body)
            rs->too_large = true;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (!rs->too_large && rs->len + *upload_size <= srv->max_body) {
            char *grown = realloc(rs->body, rs->len + *upload_size + 1);
            if (grown == NULL)
                return MHD_NO;
            memcpy(grown + rs->len, upload_data, *upload_size);
            rs->body = grown;
            rs->len += *upload_size;
            rs->body[rs->len] = '\0';
        } else {
            rs->too_large = true;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (rs->too_large)
        return too_large(srv, conn, srv->max_body);
    struct http_request req = {.method = method, .path = url, .param = lookup_param,
                               .impl = conn, .body = rs->body, .body_len = rs->len};
    struct http_response resp = {.status = 500, .content_type = "application/json"};
    srv->handler(srv->user, &req, &resp);
    return queue(srv, conn, &resp);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct request_state *rs = *con_cls;
    if (rs != NULL) {
        free(rs->body);
        free(rs);
        *con_cls = NULL;
    }
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    log_warn("libmicrohttpd: %s", line);
}

/* Binds the listening socket ourselves for a precise error and port 0 support. */
static int bind_socket(const struct http_options *opts, int *fd_out, int *port_out, char *errmsg,
                       size_t errmsg_size)
{
    struct sockaddr_storage ss = {0};
    socklen_t ss_len;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, opts->address, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)opts->port);
        ss_len = sizeof *v4;
    } else if (inet_pton(AF_INET6, opts->address, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)opts->port);
        ss_len = sizeof *v6;
    } else {
        snprintf(errmsg, errmsg_size, "http address \"%s\" is not an IP address", opts->address);
        return -EINVAL;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(errmsg, errmsg_size, "socket: %s", strerror(errno));
        return -errno;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, ss_len) != 0 || listen(fd, 128) != 0) {
        int e = errno;
        snprintf(errmsg, errmsg_size, "cannot listen on %s:%d: %s%s", opts->address, opts->port,
                 strerror(e), e == EADDRINUSE ? " (another updraft-hub running?)" : "");
        close(fd);
        return -e;
    }
    ss_len = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &ss_len);
    *port_out = ntohs(ss.ss_family == AF_INET ? v4->sin_port : v6->sin6_port);
    *fd_out = fd;
    return 0;
}

int http_server_start(const struct http_options *opts, http_handler_fn handler, void *user,
                      struct http_server **out, char *errmsg, size_t errmsg_size)
{
    struct http_server *srv = calloc(1, sizeof *srv);
    if (srv == NULL)
        return -ENOMEM;
    srv->handler = handler;
    srv->user = user;
    srv->max_body = opts->max_body_bytes;
    int rc = bind_socket(opts, &srv->fd, &srv->port, errmsg, errmsg_size);
    if (rc != 0) {
        free(srv);
        return rc;
    }
    unsigned timeout_s = (unsigned)((opts->connection_timeout_ms + 999) / 1000);
    srv->daemon = MHD_start_daemon(
        MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, srv,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv, MHD_OPTION_LISTEN_SOCKET, srv->fd,
        MHD_OPTION_CONNECTION_TIMEOUT, timeout_s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_END);
    if (srv->daemon == NULL) {
        snprintf(errmsg, errmsg_size, "libmicrohttpd failed to start on %s:%d", opts->address,
                 srv->port);
        close(srv->fd);
        free(srv);
        return -EIO;
    }
    *out = srv;
    return 0;
}

int http_server_port(const struct http_server *srv)
{
    return srv->port;
}

void http_server_stop(struct http_server *srv)
{
    if (srv == NULL)
        return;
    MHD_stop_daemon(srv->daemon);
    close(srv->fd);
    free(srv);
}
