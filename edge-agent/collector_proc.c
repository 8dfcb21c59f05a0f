/* Process collector: the top N processes by CPU and by memory from the shared procscan.
 * Owns only its two rank arrays; the scan is borrowed. Not thread-safe: one agent thread
 * calls it. */
#include "edge-agent/collector.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "edge-agent/procscan.h"

#define PROC_DEFAULT_TOP 10
#define PROC_LABEL_KEY "process"

struct proc_collector {
    struct procscan *scan;
    unsigned top_n;
    const struct proc_info **ranked; /* top_n slots */
};

typedef bool (*proc_better_fn)(const struct proc_info *a, const struct proc_info *b);

/* Ties go to the lower pid, so the ranking is the same for the same scan. */
static bool proc_cpu_better(const struct proc_info *a, const struct proc_info *b)
{
    return a->cpu_pct > b->cpu_pct || (a->cpu_pct == b->cpu_pct && a->pid < b->pid);
}

static bool proc_mem_better(const struct proc_info *a, const struct proc_info *b)
{
    return a->rss_bytes > b->rss_bytes || (a->rss_bytes == b->rss_bytes && a->pid < b->pid);
}

/* Insertion into a short sorted array: O(count * top_n), with top_n small. Returns how many
 * of the ranked slots are used. */
static size_t proc_rank(struct proc_collector *pc, const struct proc_table *table, bool by_cpu)
{
    proc_better_fn better = by_cpu ? proc_cpu_better : proc_mem_better;
    size_t used = 0;

    for (size_t i = 0; i < table->count; i++) {
        const struct proc_info *info = &table->procs[i];
        size_t at;

        if (by_cpu ? (!info->has_cpu || metric_round(info->cpu_pct, 2) <= 0.0)
                   : info->rss_bytes == 0)
            continue;
        if (used == pc->top_n && !better(info, pc->ranked[used - 1]))
            continue;
        at = used < pc->top_n ? used++ : used - 1;
        while (at > 0 && better(info, pc->ranked[at - 1])) {
            pc->ranked[at] = pc->ranked[at - 1];
            at--;
        }
        pc->ranked[at] = info;
    }
    return used;
}

static int proc_emit(struct proc_collector *pc, const struct proc_table *table, bool by_cpu,
                     struct metric_batch *batch)
{
    size_t used = proc_rank(pc, table, by_cpu);

    for (size_t i = 0; i < used; i++) {
        const struct proc_info *info = pc->ranked[i];
        char label[AGENT_LABEL_MAX];
        int rc;

        (void)snprintf(label, sizeof(label), "%s:%d", info->name, info->pid);
        if (by_cpu)
            rc = metric_batch_add_labeled(batch, "proc.top.cpu_pct", metric_round(info->cpu_pct, 2),
                                          PROC_LABEL_KEY, label);
        else
            rc = metric_batch_add_labeled(batch, "proc.top.mem_mb", metric_round(info->mem_mb, 0),
                                          PROC_LABEL_KEY, label);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int proc_collect(void *ctx, int64_t now_mono_ms, struct metric_batch *batch)
{
    struct proc_collector *pc = ctx;
    const struct proc_table *table;
    int rc = procscan_update(pc->scan, now_mono_ms);

    if (rc < 0)
        return rc;
    table = procscan_table(pc->scan);
    if (table->count == 0)
        return table->procs_malformed > 0 ? -EBADMSG : -ENOENT;
    rc = proc_emit(pc, table, true, batch);
    if (rc == 0)
        rc = proc_emit(pc, table, false, batch);
    return rc;
}

static void proc_destroy(void *ctx)
{
    struct proc_collector *pc = ctx;

    if (pc == NULL)
        return;
    free(pc->ranked);
    free(pc);
}

int collector_proc_new(const struct collector_env *env, struct procscan *scan,
                       struct collector *out)
{
    struct proc_collector *pc;

    if (env == NULL || scan == NULL || out == NULL || env->top_n > COLLECTOR_PROC_MAX_TOP)
        return -EINVAL;
    pc = calloc(1, sizeof(*pc));
    if (pc == NULL)
        return -ENOMEM;
    pc->scan = scan;
    pc->top_n = env->top_n ? env->top_n : PROC_DEFAULT_TOP;
    pc->ranked = calloc(pc->top_n, sizeof(const struct proc_info *));
    if (pc->ranked == NULL) {
        proc_destroy(pc);
        return -ENOMEM;
    }
    out->name = "proc";
    out->ctx = pc;
    out->collect = proc_collect;
    out->destroy = proc_destroy;
    return 0;
}
