/* Container collector: CPU and memory of each container of the shared procscan (borrowed),
 * read from its cgroup files under <sys_root>/fs/cgroup. Owns the previous CPU usage of each
 * container (two arrays sorted by id, swapped each cycle) and a fixed read buffer.
 * Not thread-safe: one agent thread calls it. */
#include "edge-agent/collector.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge-agent/proc_lines.h"
#include "edge-agent/procscan.h"

#define CT_READ_MAX 4096 /* cpu.stat is 6 to 12 short lines; the other files one number */
#define CT_LABEL_KEY "container"

struct ct_usage {
    char id[CGROUP_ID_MAX];
    uint64_t usage_usec; /* cumulative CPU time of the container's cgroup */
    int64_t read_mono_ms;
};

struct container_collector {
    struct procscan *scan;
    char cgroup_root[PATH_MAX]; /* <sys_root>/fs/cgroup */
    struct ct_usage *prev;      /* sorted by id */
    size_t prev_count;
    struct ct_usage *next;
    size_t capacity; /* of both arrays */
    char buf[CT_READ_MAX];
};

/* Reads <cgroup_root>/<dir>/<file> into buf (NUL-terminated); -1 when missing or too big. */
static int ct_read(struct container_collector *cc, const char *dir, const char *file)
{
    char path[PATH_MAX + CGROUP_DIR_MAX + 32];
    size_t len;

    if (snprintf(path, sizeof(path), "%s/%s/%s", cc->cgroup_root, dir, file) >= (int)sizeof(path))
        return -1;
    if (proc_lines_read_text(path, cc->buf, sizeof(cc->buf), &len) < 0)
        return -1;
    return len < sizeof(cc->buf) - 1 ? 0 : -1;
}

/* A decimal number ending the text or followed by a newline. */
static bool ct_parse_number(const char *text, uint64_t *out)
{
    uint64_t value = 0;
    const char *p = text;

    if (*p < '0' || *p > '9')
        return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned digit = (unsigned)(*p - '0');

        if (value > (UINT64_MAX - digit) / 10)
            return false;
        value = value * 10 + digit;
    }
    *out = value;
    return *p == '\0' || (*p == '\n' && p[1] == '\0');
}

/* v2 cpu.stat: the "usage_usec N" line. */
static bool ct_parse_cpu_stat(const char *text, uint64_t *usec)
{
    static const char key[] = "usage_usec ";

    for (const char *line = text; *line != '\0';) {
        const char *newline = strchr(line, '\n');
        size_t len = newline ? (size_t)(newline - line) : strlen(line);

        if (len > sizeof(key) - 1 && memcmp(line, key, sizeof(key) - 1) == 0) {
            char number[24];
            size_t digits = len - (sizeof(key) - 1);

            if (digits >= sizeof(number))
                return false;
            memcpy(number, line + sizeof(key) - 1, digits);
            number[digits] = '\0';
            return ct_parse_number(number, usec);
        }
        line += len + (newline ? 1 : 0);
    }
    return false;
}

static bool ct_read_cpu(struct container_collector *cc, const struct container_info *c,
                        uint64_t *usec)
{
    uint64_t ns;

    if (c->cpu_dir[0] == '\0')
        return false;
    if (!c->cgroup_v1)
        return ct_read(cc, c->cpu_dir, "cpu.stat") == 0 && ct_parse_cpu_stat(cc->buf, usec);
    if (ct_read(cc, c->cpu_dir, "cpuacct.usage") != 0 || !ct_parse_number(cc->buf, &ns))
        return false;
    *usec = ns / 1000;
    return true;
}

static bool ct_read_mem(struct container_collector *cc, const struct container_info *c,
                        uint64_t *bytes)
{
    if (c->mem_dir[0] == '\0')
        return false;
    return ct_read(cc, c->mem_dir, c->cgroup_v1 ? "memory.usage_in_bytes" : "memory.current") ==
               0 &&
           ct_parse_number(cc->buf, bytes);
}

static int ct_reserve(struct container_collector *cc, size_t count)
{
    struct ct_usage *prev;
    struct ct_usage *next;

    if (count <= cc->capacity)
        return 0;
    prev = realloc(cc->prev, count * sizeof(*prev));
    if (prev == NULL)
        return -ENOMEM;
    cc->prev = prev;
    next = realloc(cc->next, count * sizeof(*next));
    if (next == NULL)
        return -ENOMEM;
    cc->next = next;
    cc->capacity = count;
    return 0;
}

/* Emits one container's samples and records its CPU usage in next[*kept]. *prev_at walks
 * the previous readings (both lists are sorted by id). */
static int ct_collect_one(struct container_collector *cc, const struct container_info *c,
                          int64_t now_mono_ms, size_t *prev_at, size_t *kept,
                          struct metric_batch *batch)
{
    uint64_t usec;
    uint64_t bytes;
    int rc = 0;

    while (*prev_at < cc->prev_count && strcmp(cc->prev[*prev_at].id, c->id) < 0)
        (*prev_at)++;
    if (ct_read_cpu(cc, c, &usec)) {
        const struct ct_usage *before = NULL;
        struct ct_usage *now = &cc->next[(*kept)++];

        if (*prev_at < cc->prev_count && strcmp(cc->prev[*prev_at].id, c->id) == 0)
            before = &cc->prev[*prev_at];
        memcpy(now->id, c->id, sizeof(now->id));
        now->usage_usec = usec;
        now->read_mono_ms = now_mono_ms;
        if (before != NULL && now_mono_ms > before->read_mono_ms) {
            uint64_t used = usec > before->usage_usec ? usec - before->usage_usec : 0;
            double pct = (double)used / (double)(now_mono_ms - before->read_mono_ms) / 10.0;

            rc = metric_batch_add_labeled(batch, "container.cpu_pct", metric_round(pct, 2),
                                          CT_LABEL_KEY, c->short_id);
        }
    }
    if (rc == 0 && ct_read_mem(cc, c, &bytes))
        rc = metric_batch_add_labeled(batch, "container.mem_mb",
                                      metric_round((double)bytes / (1024.0 * 1024.0), 0),
                                      CT_LABEL_KEY, c->short_id);
    return rc;
}

static int ct_collect(void *ctx, int64_t now_mono_ms, struct metric_batch *batch)
{
    struct container_collector *cc = ctx;
    const struct proc_table *table;
    struct ct_usage *swap;
    size_t prev_at = 0;
    size_t kept = 0;
    int rc = procscan_update(cc->scan, now_mono_ms);
    int batch_rc = 0;

    if (rc < 0)
        return rc;
    table = procscan_table(cc->scan);
    rc = ct_reserve(cc, table->container_count);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < table->container_count; i++) {
        rc = ct_collect_one(cc, &table->containers[i], now_mono_ms, &prev_at, &kept, batch);
        /* A full batch still takes every reading, so the next cycle has its deltas. */
        if (rc < 0 && batch_rc == 0)
            batch_rc = rc;
    }
    swap = cc->prev;
    cc->prev = cc->next;
    cc->next = swap;
    cc->prev_count = kept;
    return batch_rc;
}

static void ct_destroy(void *ctx)
{
    struct container_collector *cc = ctx;

    if (cc == NULL)
        return;
    free(cc->prev);
    free(cc->next);
    free(cc);
}

int collector_container_new(const struct collector_env *env, struct procscan *scan,
                            struct collector *out)
{
    struct container_collector *cc;
    int len;

    if (env == NULL || env->sys_root == NULL || scan == NULL || out == NULL)
        return -EINVAL;
    cc = calloc(1, sizeof(*cc));
    if (cc == NULL)
        return -ENOMEM;
    cc->scan = scan;
    len = snprintf(cc->cgroup_root, sizeof(cc->cgroup_root), "%s/fs/cgroup", env->sys_root);
    if (len < 0 || (size_t)len >= sizeof(cc->cgroup_root)) {
        free(cc);
        return -EINVAL;
    }
    out->name = "container";
    out->ctx = cc;
    out->collect = ct_collect;
    out->destroy = ct_destroy;
    return 0;
}
