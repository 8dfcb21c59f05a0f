/* Connection collector: counts of established TCP connections and listening sockets from the
 * shared connscan (borrowed; connscan_count, the cheap path). Keeps nothing of its own. Not
 * thread-safe: one agent thread calls it. */
#include "edge-agent/collector.h"

#include <errno.h>
#include <stdlib.h>

#include "edge-agent/connscan.h"

static int conn_collect(void *ctx, int64_t now_mono_ms, struct metric_batch *batch)
{
    struct connscan *scan = ctx;
    struct conn_counts counts;
    int rc = connscan_count(scan, now_mono_ms, &counts);

    if (rc < 0)
        return rc;
    rc = metric_batch_add(batch, "conn.established", (double)counts.established);
    if (rc == 0)
        rc = metric_batch_add(batch, "conn.listening", (double)counts.listening);
    return rc;
}

static void conn_destroy(void *ctx)
{
    (void)ctx; /* the scan belongs to the agent */
}

int collector_conn_new(struct connscan *scan, struct collector *out)
{
    if (scan == NULL || out == NULL)
        return -EINVAL;
    out->name = "conn";
    out->ctx = scan;
    out->collect = conn_collect;
    out->destroy = conn_destroy;
    return 0;
}
