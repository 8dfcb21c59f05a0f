/* The agent's inventory: every inventory_interval it scans processes, containers and sockets
 * (with their owning pids: the expensive fd walk happens only here), builds the document
 * (edge-agent/inventory.c) and publishes it retained on <root>/v1/<host>/inventory when it
 * changed (at most every 30 s) or is older than inventory_max_interval, and on every new
 * connection. */
#include <errno.h>
#include <ifaddrs.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "edge-agent/agent_config.h"
#include "edge-agent/agent_internal.h"
#include "edge-agent/connscan.h"
#include "edge-agent/hostfacts.h"
#include "edge-agent/inventory.h"
#include "edge-agent/procscan.h"

#define LOG_MODULE "inventory"
#include "common/log.h"

struct agent_inventory {
    struct inventory_policy policy;
    struct hostfacts facts;
    char *doc;
    int64_t next_scan_mono_ms;
    bool tags_warned;
};

int agent_inventory_new(struct agent *a)
{
    struct agent_inventory *inv = calloc(1, sizeof *inv);
    if (inv == NULL)
        return -ENOMEM;
    inventory_policy_init(&inv->policy);
    inv->policy.max_interval_ms = a->cfg->inventory_max_interval_ms;
    if (inv->policy.min_interval_ms > inv->policy.max_interval_ms)
        inv->policy.min_interval_ms = inv->policy.max_interval_ms;
    struct hostfacts_options fo = {.proc_root = a->cfg->proc_root};
    if (hostfacts_read(&fo, &inv->facts) != 0)
        memset(&inv->facts, 0, sizeof inv->facts);
    a->inventory = inv;
    return 0;
}

void agent_inventory_free(struct agent *a)
{
    if (a->inventory == NULL)
        return;
    free(a->inventory->doc);
    free(a->inventory);
    a->inventory = NULL;
}

/* Processes for the document, the top_n by CPU first (the inventory keeps those). */
static struct inventory_process *list_processes(const struct proc_table *t, size_t top_n,
                                                size_t *top_out)
{
    struct inventory_process *out = calloc(t->count ? t->count : 1, sizeof *out);
    bool *taken = calloc(t->count ? t->count : 1, sizeof *taken);
    size_t n = 0;
    if (out == NULL || taken == NULL) {
        free(out);
        free(taken);
        return NULL;
    }
    for (size_t k = 0; k < top_n && k < t->count; k++) {
        size_t best = t->count;
        for (size_t i = 0; i < t->count; i++)
            if (!taken[i] && (best == t->count || t->procs[i].cpu_pct > t->procs[best].cpu_pct))
                best = i;
        taken[best] = true;
        const struct proc_info *p = &t->procs[best];
        out[n].pid = p->pid;
        snprintf(out[n].name, sizeof out[n].name, "%s", p->name);
        snprintf(out[n].container_id, sizeof out[n].container_id, "%s", p->container_id);
        n++;
    }
    *top_out = n;
    for (size_t i = 0; i < t->count; i++) {
        if (taken[i])
            continue;
        out[n].pid = t->procs[i].pid;
        snprintf(out[n].name, sizeof out[n].name, "%s", t->procs[i].name);
        snprintf(out[n].container_id, sizeof out[n].container_id, "%s", t->procs[i].container_id);
        n++;
    }
    free(taken);
    return out;
}

static void to_socket(const struct conn_info *c, struct inventory_socket *s)
{
    bool v6 = c->family != 2; /* AF_INET */
    snprintf(s->proto, sizeof s->proto, "%s%s", c->proto == CONN_PROTO_TCP ? "tcp" : "udp",
             v6 ? "6" : "");
    snprintf(s->local_addr, sizeof s->local_addr, "%s", c->local_addr);
    s->local_port = c->local_port;
    snprintf(s->remote_addr, sizeof s->remote_addr, "%s", c->remote_addr);
    s->remote_port = c->remote_port;
    snprintf(s->state, sizeof s->state, "%s", conn_state_name(c->proto, c->state));
    s->pid = c->pid;
}

/* Splits the socket table: listening ones, and connections that carry traffic (TIME_WAIT
 * and closing sockets belong to no process and say nothing new about the topology). */
static int list_sockets(const struct conn_table *t, struct inventory_socket **listening,
                        size_t *n_listening, struct inventory_socket **conns, size_t *n_conns)
{
    *listening = calloc(t->count ? t->count : 1, sizeof **listening);
    *conns = calloc(t->count ? t->count : 1, sizeof **conns);
    if (*listening == NULL || *conns == NULL)
        return -ENOMEM;
    *n_listening = *n_conns = 0;
    for (size_t i = 0; i < t->count; i++) {
        const struct conn_info *c = &t->conns[i];
        if (c->listening)
            to_socket(c, &(*listening)[(*n_listening)++]);
        else if (c->state == CONN_STATE_ESTABLISHED || c->state == CONN_STATE_SYN_SENT)
            to_socket(c, &(*conns)[(*n_conns)++]);
    }
    return 0;
}

static bool has_gpu(struct agent *a)
{
    struct collector *gpu = agent_collector_find(a, "gpu");
    return gpu != NULL && collector_gpu_present(gpu);
}

static void publish(struct agent *a, const struct inventory_input *in, int64_t now, bool force)
{
    struct agent_inventory *inv = a->inventory;
    if (inv->doc == NULL && (inv->doc = malloc(INVENTORY_DEFAULT_MAX_BYTES)) == NULL)
        return;
    struct inventory_result res;
    int rc = inventory_build(in, inv->doc, INVENTORY_DEFAULT_MAX_BYTES, &res);
    if (rc != 0) {
        log_warn("inventory not built: %s", strerror(-rc));
        return;
    }
    if (!force && !inventory_due(&inv->policy, res.digest, now))
        return;
    if (!a->pub.connected(a->pub.ctx))
        return;
    if (a->pub.publish(a->pub.ctx, a->inventory_topic, inv->doc, res.len, true) == 0) {
        inventory_policy_published(&inv->policy, res.digest, now);
        log_debug("inventory published: %zu bytes, %zu processes, %zu connections%s", res.len,
                  res.processes_written, res.connections_written,
                  res.truncated ? " (truncated)" : "");
    }
}

void agent_inventory_tick(struct agent *a, int64_t now_mono_ms, bool force)
{
    struct agent_inventory *inv = a->inventory;
    if (inv == NULL || (!force && now_mono_ms < inv->next_scan_mono_ms))
        return;
    inv->next_scan_mono_ms = now_mono_ms + a->cfg->inventory_interval_ms;
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) == 0) {
        hostfacts_set_ips(&inv->facts, ifs);
        freeifaddrs(ifs);
    }
    if (procscan_update(a->procscan, now_mono_ms) != 0)
        log_debug("process scan failed: the inventory lists none");
    if (connscan_update(a->connscan, now_mono_ms) != 0 || connscan_map_pids(a->connscan, 0) != 0)
        log_debug("socket scan failed: the inventory lists none");
    struct inventory_tag tags[INVENTORY_MAX_TAGS];
    size_t n_tags = 0;
    if (inventory_tags_parse(a->labels, tags, INVENTORY_MAX_TAGS, &n_tags) != 0) {
        if (!inv->tags_warned)
            log_warn("[agent] tags \"%s\": not a k=v,k=v list; left out", a->labels);
        inv->tags_warned = true;
        n_tags = 0;
    }
    const struct proc_table *pt = procscan_table(a->procscan);
    struct inventory_container *containers =
        calloc(pt->container_count ? pt->container_count : 1, sizeof *containers);
    for (size_t i = 0; containers != NULL && i < pt->container_count; i++) {
        snprintf(containers[i].id, sizeof containers[i].id, "%s", pt->containers[i].id);
        snprintf(containers[i].runtime, sizeof containers[i].runtime, "%s",
                 pt->containers[i].runtime);
        snprintf(containers[i].pod_uid, sizeof containers[i].pod_uid, "%s",
                 pt->containers[i].pod_uid);
    }
    size_t top = 0, n_listening = 0, n_conns = 0;
    struct inventory_process *procs = list_processes(pt, a->env.top_n, &top);
    struct inventory_socket *listening = NULL, *conns = NULL;
    int rc = list_sockets(connscan_table(a->connscan), &listening, &n_listening, &conns, &n_conns);
    if (containers != NULL && procs != NULL && rc == 0) {
        struct inventory_input in = {
            .host = a->host, .agent_version = UPDRAFT_VERSION, .boot_id = a->boot_id,
            .ts_ms = clock_wall_ms(), .facts = &inv->facts, .has_gpu = has_gpu(a),
            .tags = tags, .tag_count = n_tags,
            .containers = containers, .container_count = pt->container_count,
            .processes = procs, .process_count = pt->count, .top_process_count = top,
            .listening = listening, .listening_count = n_listening,
            .connections = conns, .connection_count = n_conns,
        };
        publish(a, &in, now_mono_ms, force);
    }
    free(containers);
    free(procs);
    free(listening);
    free(conns);
}
