/* The agent's collector set: built from a comma-separated list of family names (the config
 * file's, or a pushed one), run once per interval. A failing source is logged once and
 * skipped until it recovers. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "edge-agent/agent_config.h"
#include "edge-agent/agent_internal.h"

#define LOG_MODULE "agent"
#include "common/log.h"

static int cpu_new(struct agent *a, struct collector *out)
{
    return collector_cpu_new(a->env.proc_root, out);
}

static int mem_new(struct agent *a, struct collector *out)
{
    return collector_mem_new(a->env.proc_root, out);
}

static int disk_new(struct agent *a, struct collector *out)
{
    return collector_disk_new(&a->env, out);
}

static int net_new(struct agent *a, struct collector *out)
{
    return collector_net_new(&a->env, out);
}

static int gpu_new(struct agent *a, struct collector *out)
{
    return collector_gpu_new(&a->env, out);
}

static int proc_new(struct agent *a, struct collector *out)
{
    return collector_proc_new(&a->env, a->procscan, out);
}

static int container_new(struct agent *a, struct collector *out)
{
    return collector_container_new(&a->env, a->procscan, out);
}

static int conn_new(struct agent *a, struct collector *out)
{
    return collector_conn_new(a->connscan, out);
}

typedef int (*collector_ctor)(struct agent *a, struct collector *out);
static const struct {
    const char *name;
    collector_ctor ctor;
} known_collectors[] = {
    {"cpu", cpu_new},   {"mem", mem_new},   {"disk", disk_new},           {"net", net_new},
    {"gpu", gpu_new},   {"proc", proc_new}, {"container", container_new}, {"conn", conn_new},
};

#define N_KNOWN (sizeof known_collectors / sizeof known_collectors[0])

static size_t known_index(const char *name)
{
    size_t k = 0;
    while (k < N_KNOWN && strcmp(known_collectors[k].name, name) != 0)
        k++;
    return k;
}

/* Checks every name first, so a bad list changes nothing. */
static int check_list(const char *list, char *why, size_t cap)
{
    char copy[CONTROL_COLLECTORS_MAX];
    snprintf(copy, sizeof copy, "%s", list);
    char *save = NULL;
    size_t n = 0;
    for (char *name = strtok_r(copy, ", ", &save); name; name = strtok_r(NULL, ", ", &save)) {
        if (known_index(name) == N_KNOWN) {
            snprintf(why, cap, "unknown collector \"%s\" (known: %s)", name,
                     AGENT_DEFAULT_COLLECTORS);
            return -EINVAL;
        }
        if (++n > AGENT_MAX_COLLECTORS) {
            snprintf(why, cap, "more than %d collectors", AGENT_MAX_COLLECTORS);
            return -EINVAL;
        }
    }
    return 0;
}

void agent_collectors_free(struct agent *a)
{
    for (size_t i = 0; i < a->n_collectors; i++)
        a->collectors[i].c.destroy(a->collectors[i].c.ctx);
    a->n_collectors = 0;
}

int agent_collectors_build(struct agent *a, const char *list, char *why, size_t cap)
{
    int rc = check_list(list, why, cap);
    if (rc != 0)
        return rc;
    agent_collectors_free(a);
    char copy[CONTROL_COLLECTORS_MAX];
    snprintf(copy, sizeof copy, "%s", list);
    char *save = NULL;
    for (char *name = strtok_r(copy, ", ", &save); name; name = strtok_r(NULL, ", ", &save)) {
        size_t k = known_index(name);
        bool dup = false;
        for (size_t i = 0; i < a->n_collectors; i++)
            dup = dup || strcmp(a->collectors[i].c.name, known_collectors[k].name) == 0;
        if (dup)
            continue;
        struct collector_slot *slot = &a->collectors[a->n_collectors];
        *slot = (struct collector_slot){0};
        if (known_collectors[k].ctor(a, &slot->c) != 0) {
            snprintf(why, cap, "collector %s could not start", name);
            agent_collectors_free(a);
            return -EINVAL;
        }
        a->n_collectors++;
    }
    snprintf(a->collectors_list, sizeof a->collectors_list, "%s", list);
    return 0;
}

struct collector *agent_collector_find(struct agent *a, const char *name)
{
    for (size_t i = 0; i < a->n_collectors; i++)
        if (strcmp(a->collectors[i].c.name, name) == 0)
            return &a->collectors[i].c;
    return NULL;
}

void agent_collect(struct agent *a)
{
    metric_batch_reset(a->batch, clock_wall_ms());
    int64_t now = clock_mono_ms();
    for (size_t i = 0; i < a->n_collectors; i++) {
        struct collector_slot *s = &a->collectors[i];
        int rc = s->c.collect(s->c.ctx, now, a->batch);
        if (rc == -ENOENT && rc != s->last_rc)
            log_info("collector %s: nothing to read here (%s); skipping it until it appears",
                     s->c.name, strerror(-rc));
        else if (rc != 0 && rc != s->last_rc)
            log_warn("collector %s: %s; skipping it until it recovers", s->c.name,
                     rc == -ENOSPC ? "batch full" : strerror(-rc));
        else if (rc == 0 && s->last_rc != 0)
            log_info("collector %s recovered", s->c.name);
        s->last_rc = rc;
    }
}
