/* Network collector: per-interface throughput, errors and drops from the deltas of
 * <proc_root>/net/dev between two calls, and the sockets in use from <proc_root>/net/sockstat
 * and net/sockstat6. Owns its interface table and a fixed read buffer: no allocation after
 * construction. Not thread-safe: one agent thread calls it. */
#include "edge-agent/collector.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "edge-agent/counter_rate.h"
#include "edge-agent/proc_lines.h"

/* Interfaces beyond this are not reported (the batch could not hold them anyway). */
#define NET_MAX_IFACES 256
/* net/dev lines are about 130 bytes, sockstat lines under 80. */
#define NET_READ_CHUNK (16 * 1024)
/* After "name:": 8 receive and 8 transmit counters. */
#define NET_DEV_COUNTERS 16
#define NET_DEV_HEADER_LINES 2

enum net_dev_column {
    NET_RX_BYTES = 0,
    NET_RX_ERRS = 2,
    NET_RX_DROP = 3,
    NET_TX_BYTES = 8,
    NET_TX_ERRS = 10,
    NET_TX_DROP = 11,
};

struct net_counters {
    uint64_t rx_bytes;
    uint64_t rx_errs;
    uint64_t rx_drop;
    uint64_t tx_bytes;
    uint64_t tx_errs;
    uint64_t tx_drop;
};

struct net_iface {
    char name[AGENT_LABEL_MAX];
    bool has_prev; /* prev holds the reading of the last successful cycle */
    bool seen;     /* cur was filled by the reading in progress */
    struct net_counters prev;
    struct net_counters cur;
};

/* The "inuse" counts of the sockstat lines the formula adds up. */
enum net_sock_kind { NET_SOCK_TCP, NET_SOCK_UDP, NET_SOCK_TCP6, NET_SOCK_UDP6, NET_SOCK_COUNT };
static const char *const net_sock_keys[NET_SOCK_COUNT] = {"TCP", "UDP", "TCP6", "UDP6"};

struct net_sockets {
    uint64_t inuse[NET_SOCK_COUNT];
    bool found[NET_SOCK_COUNT];
};

struct net_collector {
    char dev_path[PATH_MAX];
    char sockstat_path[PATH_MAX];
    char sockstat6_path[PATH_MAX];
    struct net_iface ifaces[NET_MAX_IFACES];
    size_t iface_count;
    struct counter_rate_clock clock; /* of the interfaces' prev reading */
    size_t dev_lines; /* lines of net/dev read so far in the reading in progress */
    char buf[NET_READ_CHUNK];
};

static bool net_is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* The next blank-separated unsigned decimal number from text[*pos..len). */
static bool net_next_u64(const char *text, size_t len, size_t *pos, uint64_t *out)
{
    uint64_t number = 0;
    size_t digits = 0;

    while (*pos < len && net_is_blank(text[*pos]))
        (*pos)++;
    while (*pos < len && text[*pos] >= '0' && text[*pos] <= '9') {
        unsigned digit = (unsigned)(text[*pos] - '0');

        if (number > (UINT64_MAX - digit) / 10)
            return false;
        number = number * 10 + digit;
        digits++;
        (*pos)++;
    }
    if (digits == 0 || (*pos < len && !net_is_blank(text[*pos])))
        return false;
    *out = number;
    return true;
}

/* The interface's slot, added when it is new; NULL when the table is full. */
static struct net_iface *net_iface_find(struct net_collector *net, const char *name,
                                        size_t name_len)
{
    struct net_iface *iface;

    for (size_t i = 0; i < net->iface_count; i++) {
        iface = &net->ifaces[i];
        if (strlen(iface->name) == name_len && memcmp(iface->name, name, name_len) == 0)
            return iface;
    }
    if (net->iface_count == NET_MAX_IFACES)
        return NULL;
    iface = &net->ifaces[net->iface_count++];
    memset(iface, 0, sizeof(*iface));
    memcpy(iface->name, name, name_len);
    iface->name[name_len] = '\0';
    return iface;
}

/* Two header lines ("Inter-|   Receive ...", " face |bytes ..."), then one line per
 * interface: "  eth0: 251867808 5814 0 0 0 0 0 0 290500 3631 0 0 0 0 0 0". Old kernels
 * wrote no blank after the colon. Interface names cannot contain ':' or blanks. */
static int net_dev_line(void *arg, const char *line, size_t len)
{
    struct net_collector *net = arg;
    uint64_t counters[NET_DEV_COUNTERS];
    struct net_iface *iface;
    const char *colon;
    size_t start = 0;
    size_t pos;

    if (net->dev_lines++ < NET_DEV_HEADER_LINES)
        return memchr(line, '|', len) != NULL ? 0 : -EBADMSG;
    colon = memchr(line, ':', len);
    if (colon == NULL)
        return -EBADMSG;
    while (start < len && net_is_blank(line[start]))
        start++;
    pos = (size_t)(colon - line);
    if (pos == start || pos - start >= AGENT_LABEL_MAX)
        return -EBADMSG;
    for (size_t i = start; i < pos; i++) {
        if (net_is_blank(line[i]))
            return -EBADMSG;
    }
    pos++;
    for (int i = 0; i < NET_DEV_COUNTERS; i++) {
        if (!net_next_u64(line, len, &pos, &counters[i]))
            return -EBADMSG;
    }
    while (pos < len && net_is_blank(line[pos]))
        pos++;
    if (pos != len)
        return -EBADMSG;

    if ((size_t)(colon - line) - start == 2 && memcmp(line + start, "lo", 2) == 0)
        return 0; /* loopback traffic never leaves the host */
    iface = net_iface_find(net, line + start, (size_t)(colon - line) - start);
    if (iface == NULL)
        return 0;
    if (iface->seen)
        return -EBADMSG; /* the same interface twice */
    iface->cur.rx_bytes = counters[NET_RX_BYTES];
    iface->cur.rx_errs = counters[NET_RX_ERRS];
    iface->cur.rx_drop = counters[NET_RX_DROP];
    iface->cur.tx_bytes = counters[NET_TX_BYTES];
    iface->cur.tx_errs = counters[NET_TX_ERRS];
    iface->cur.tx_drop = counters[NET_TX_DROP];
    iface->seen = true;
    return 0;
}

static int net_read_dev(struct net_collector *net)
{
    int rc;

    for (size_t i = 0; i < net->iface_count; i++)
        net->ifaces[i].seen = false;
    net->dev_lines = 0;
    rc = proc_lines_read(net->dev_path, net->buf, sizeof(net->buf), net_dev_line, net);
    if (rc == 0 && net->dev_lines < NET_DEV_HEADER_LINES)
        rc = -EBADMSG;
    return rc;
}

/* "TCP: inuse 1 orphan 0 tw 0 alloc 1 mem 208": the inuse count of the lines in
 * net_sock_keys; other lines ("sockets: used 16", "RAW: inuse 0", ...) are skipped. */
static int net_sockstat_line(void *arg, const char *line, size_t len)
{
    struct net_sockets *sockets = arg;
    const char *colon = memchr(line, ':', len);
    size_t key_len;
    size_t pos;
    int kind;

    if (colon == NULL)
        return -EBADMSG;
    key_len = (size_t)(colon - line);
    for (kind = 0; kind < NET_SOCK_COUNT; kind++) {
        if (strlen(net_sock_keys[kind]) == key_len &&
            memcmp(net_sock_keys[kind], line, key_len) == 0)
            break;
    }
    if (kind == NET_SOCK_COUNT)
        return 0;
    if (sockets->found[kind])
        return -EBADMSG;
    pos = key_len + 1;
    while (pos < len && net_is_blank(line[pos]))
        pos++;
    if (len - pos < 6 || memcmp(line + pos, "inuse", 5) != 0 || !net_is_blank(line[pos + 5]))
        return -EBADMSG;
    pos += 5;
    if (!net_next_u64(line, len, &pos, &sockets->inuse[kind]))
        return -EBADMSG;
    sockets->found[kind] = true;
    return 0;
}

/* sockstat must have TCP and UDP; sockstat6 is absent when IPv6 is off (then its counts
 * are 0), and when present must have TCP6 and UDP6. */
static int net_read_sockets(struct net_collector *net, uint64_t *active)
{
    struct net_sockets sockets;
    int rc;

    memset(&sockets, 0, sizeof(sockets));
    rc = proc_lines_read(net->sockstat_path, net->buf, sizeof(net->buf), net_sockstat_line,
                         &sockets);
    if (rc < 0)
        return rc;
    if (!sockets.found[NET_SOCK_TCP] || !sockets.found[NET_SOCK_UDP])
        return -EBADMSG;
    rc = proc_lines_read(net->sockstat6_path, net->buf, sizeof(net->buf), net_sockstat_line,
                         &sockets);
    if (rc == 0 && (!sockets.found[NET_SOCK_TCP6] || !sockets.found[NET_SOCK_UDP6]))
        return -EBADMSG;
    if (rc < 0 && rc != -ENOENT)
        return rc;
    *active = 0;
    for (int kind = 0; kind < NET_SOCK_COUNT; kind++)
        *active += sockets.inuse[kind];
    return 0;
}

/* A counter that went backwards (the interface was re-created, the driver reset its
 * statistics, or a 32-bit counter wrapped): nothing for that interface this cycle. */
static bool net_counters_went_back(const struct net_iface *iface)
{
    const struct net_counters *prev = &iface->prev;
    const struct net_counters *cur = &iface->cur;

    return cur->rx_bytes < prev->rx_bytes || cur->rx_errs < prev->rx_errs ||
           cur->rx_drop < prev->rx_drop || cur->tx_bytes < prev->tx_bytes ||
           cur->tx_errs < prev->tx_errs || cur->tx_drop < prev->tx_drop;
}

static int net_emit_iface(const struct net_iface *iface, double interval_s,
                          struct metric_batch *batch)
{
    const struct net_counters *prev = &iface->prev;
    const struct net_counters *cur = &iface->cur;
    uint64_t errors = (cur->rx_errs - prev->rx_errs) + (cur->tx_errs - prev->tx_errs);
    uint64_t drops = (cur->rx_drop - prev->rx_drop) + (cur->tx_drop - prev->tx_drop);
    int rc;

    rc = metric_batch_add_labeled(batch, "net.rx_mbps",
                                  counter_rate_mbps(cur->rx_bytes - prev->rx_bytes, 8.0, interval_s), "interface",
                                  iface->name);
    if (rc == 0)
        rc = metric_batch_add_labeled(batch, "net.tx_mbps",
                                      counter_rate_mbps(cur->tx_bytes - prev->tx_bytes, 8.0, interval_s),
                                      "interface", iface->name);
    if (rc == 0)
        rc = metric_batch_add_labeled(batch, "net.errors", metric_round((double)errors, 2),
                                      "interface", iface->name);
    if (rc == 0)
        rc = metric_batch_add_labeled(batch, "net.drops", metric_round((double)drops, 2),
                                      "interface", iface->name);
    return rc;
}

static int net_emit_ifaces(const struct net_collector *net, int64_t now_mono_ms,
                           struct metric_batch *batch)
{
    double interval_s;

    if (!counter_rate_interval(&net->clock, now_mono_ms, &interval_s))
        return 0;
    for (size_t i = 0; i < net->iface_count; i++) {
        const struct net_iface *iface = &net->ifaces[i];
        int rc;

        if (!iface->seen || !iface->has_prev || net_counters_went_back(iface))
            continue;
        rc = net_emit_iface(iface, interval_s, batch);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The reading just taken becomes the previous one; interfaces absent from it are
 * forgotten. */
static void net_commit(struct net_collector *net, int64_t now_mono_ms)
{
    size_t kept = 0;

    for (size_t i = 0; i < net->iface_count; i++) {
        struct net_iface *iface = &net->ifaces[i];

        if (!iface->seen)
            continue;
        iface->prev = iface->cur;
        iface->has_prev = true;
        if (kept != i)
            net->ifaces[kept] = *iface;
        kept++;
    }
    net->iface_count = kept;
    counter_rate_commit(&net->clock, now_mono_ms);
}

/* On a read or parse error nothing is appended and the previous reading is kept. When the
 * batch fills up, what fit stays and the reading is still taken over. */
static int net_collect(void *ctx, int64_t now_mono_ms, struct metric_batch *batch)
{
    struct net_collector *net = ctx;
    uint64_t sockets_active;
    int rc;

    rc = net_read_dev(net);
    if (rc < 0)
        return rc;
    rc = net_read_sockets(net, &sockets_active);
    if (rc < 0)
        return rc;
    rc = metric_batch_add(batch, "net.sockets_active", metric_round((double)sockets_active, 2));
    if (rc == 0)
        rc = net_emit_ifaces(net, now_mono_ms, batch);
    net_commit(net, now_mono_ms);
    return rc;
}

static void net_destroy(void *ctx)
{
    free(ctx);
}

static bool net_path(char *out, const char *root, const char *file)
{
    int len = snprintf(out, PATH_MAX, "%s/%s", root, file);

    return len >= 0 && len < PATH_MAX;
}

int collector_net_new(const struct collector_env *env, struct collector *out)
{
    struct net_collector *net;

    if (env == NULL || env->proc_root == NULL || out == NULL)
        return -EINVAL;
    net = calloc(1, sizeof(*net));
    if (net == NULL)
        return -ENOMEM;
    if (!net_path(net->dev_path, env->proc_root, "net/dev") ||
        !net_path(net->sockstat_path, env->proc_root, "net/sockstat") ||
        !net_path(net->sockstat6_path, env->proc_root, "net/sockstat6")) {
        free(net);
        return -EINVAL;
    }

    /* The first reading, so that the first collect already has rates. A missing or bad
     * source is not fatal here: collect reports it. */
    if (net_read_dev(net) == 0)
        net_commit(net, clock_mono_ms());

    out->name = "net";
    out->ctx = net;
    out->collect = net_collect;
    out->destroy = net_destroy;
    return 0;
}
