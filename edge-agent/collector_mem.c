/* Memory collector: used/available/cache and swap use from <proc_root>/meminfo, formulas as
 * in docs/metrics.md. Keeps nothing between calls but its path and a fixed read buffer.
 * Not thread-safe: one agent thread calls it. */
#include "edge-agent/collector.h"

#include "edge-agent/proc_lines.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* meminfo is about 1.5 KiB with a fixed set of fields, the ones needed near the top; lines
 * beyond the buffer are not read. */
#define MEM_READ_MAX ((size_t)16 * 1024)

enum mem_field {
    MEM_FIELD_TOTAL,
    MEM_FIELD_FREE,
    MEM_FIELD_AVAILABLE,
    MEM_FIELD_BUFFERS,
    MEM_FIELD_CACHED,
    MEM_FIELD_SRECLAIMABLE,
    MEM_FIELD_SWAP_TOTAL,
    MEM_FIELD_SWAP_FREE,
    MEM_FIELD_COUNT
};

static const char *const mem_field_keys[MEM_FIELD_COUNT] = {
    [MEM_FIELD_TOTAL] = "MemTotal",         [MEM_FIELD_FREE] = "MemFree",
    [MEM_FIELD_AVAILABLE] = "MemAvailable", [MEM_FIELD_BUFFERS] = "Buffers",
    [MEM_FIELD_CACHED] = "Cached",          [MEM_FIELD_SRECLAIMABLE] = "SReclaimable",
    [MEM_FIELD_SWAP_TOTAL] = "SwapTotal",   [MEM_FIELD_SWAP_FREE] = "SwapFree",
};

struct mem_info {
    uint64_t kib[MEM_FIELD_COUNT];
    bool found[MEM_FIELD_COUNT];
};

struct mem_collector {
    char meminfo_path[PATH_MAX];
    char buf[MEM_READ_MAX + 1]; /* and a NUL */
};

/* Parses "Key:   12345 kB"; lines with other keys are skipped unread. */
static int mem_parse_line(const char *line, size_t len, struct mem_info *info)
{
    const char *colon = memchr(line, ':', len);
    size_t key_len;
    size_t pos;
    uint64_t number = 0;
    size_t digits = 0;
    int field;

    if (colon == NULL)
        return -EBADMSG;
    key_len = (size_t)(colon - line);
    for (field = 0; field < MEM_FIELD_COUNT; field++) {
        if (strlen(mem_field_keys[field]) == key_len &&
            memcmp(mem_field_keys[field], line, key_len) == 0)
            break;
    }
    if (field == MEM_FIELD_COUNT)
        return 0;
    if (info->found[field])
        return -EBADMSG;

    pos = key_len + 1;
    while (pos < len && line[pos] == ' ')
        pos++;
    while (pos < len && line[pos] >= '0' && line[pos] <= '9') {
        unsigned digit = (unsigned)(line[pos] - '0');

        if (number > (UINT64_MAX - digit) / 10)
            return -EBADMSG;
        number = number * 10 + digit;
        digits++;
        pos++;
    }
    if (digits == 0)
        return -EBADMSG;
    if (!(len - pos == 3 && memcmp(line + pos, " kB", 3) == 0))
        return -EBADMSG;
    info->kib[field] = number;
    info->found[field] = true;
    return 0;
}

static int mem_line_read(void *arg, const char *line, size_t len)
{
    return mem_parse_line(line, len, arg);
}

static int mem_parse(const char *text, size_t len, struct mem_info *info)
{
    int rc;

    memset(info, 0, sizeof(*info));
    /* The last line counts without its newline only if the whole file was read. */
    if (len == MEM_READ_MAX) {
        while (len > 0 && text[len - 1] != '\n')
            len--;
    }
    rc = proc_lines_each(text, len, mem_line_read, info);
    if (rc < 0)
        return rc;
    /* MemTotal is needed to make sense of the rest; MemFree, Buffers and Cached have been
     * there since 2.6 (MemAvailable since 3.14, SReclaimable since 2.6.19). */
    if (!info->found[MEM_FIELD_TOTAL] || info->kib[MEM_FIELD_TOTAL] == 0 ||
        !info->found[MEM_FIELD_FREE] || !info->found[MEM_FIELD_BUFFERS] ||
        !info->found[MEM_FIELD_CACHED])
        return -EBADMSG;
    return 0;
}

static double mem_percent(uint64_t part, uint64_t whole)
{
    double percent = 100.0 * (double)part / (double)whole;

    return metric_round(percent > 100.0 ? 100.0 : percent, 2);
}

static double mem_mib(uint64_t kib)
{
    return metric_round((double)kib / 1024.0, 0);
}

static int mem_collect(void *ctx, int64_t now_mono_ms, struct metric_batch *batch)
{
    struct mem_collector *mem = ctx;
    struct mem_info info;
    uint64_t total;
    uint64_t available;
    uint64_t used;
    uint64_t cache;
    uint64_t swap_used;
    double swap_pct = 0.0;
    size_t len;
    int rc;

    (void)now_mono_ms;
    rc = proc_lines_read_text(mem->meminfo_path, mem->buf, sizeof(mem->buf), &len);
    if (rc < 0)
        return rc;
    rc = mem_parse(mem->buf, len, &info);
    if (rc < 0)
        return rc;

    total = info.kib[MEM_FIELD_TOTAL];
    cache =
        info.kib[MEM_FIELD_BUFFERS] + info.kib[MEM_FIELD_CACHED] + info.kib[MEM_FIELD_SRECLAIMABLE];
    /* Old kernels have no MemAvailable: estimate it as free plus reclaimable caches. */
    available = info.found[MEM_FIELD_AVAILABLE] ? info.kib[MEM_FIELD_AVAILABLE]
                                                : info.kib[MEM_FIELD_FREE] + cache;
    if (available > total)
        available = total;
    used = total - available;
    if (info.kib[MEM_FIELD_SWAP_TOTAL] > 0) {
        uint64_t swap_total = info.kib[MEM_FIELD_SWAP_TOTAL];
        uint64_t swap_free = info.kib[MEM_FIELD_SWAP_FREE];

        swap_used = swap_free < swap_total ? swap_total - swap_free : 0;
        swap_pct = mem_percent(swap_used, swap_total);
    }

    rc = metric_batch_add(batch, "mem.used_pct", mem_percent(used, total));
    if (rc == 0)
        rc = metric_batch_add(batch, "mem.used_mb", mem_mib(used));
    if (rc == 0)
        rc = metric_batch_add(batch, "mem.available_mb", mem_mib(available));
    if (rc == 0)
        rc = metric_batch_add(batch, "mem.cache_mb", mem_mib(cache));
    if (rc == 0)
        rc = metric_batch_add(batch, "mem.swap_pct", swap_pct);
    return rc;
}

static void mem_destroy(void *ctx)
{
    free(ctx);
}

int collector_mem_new(const char *proc_root, struct collector *out)
{
    struct mem_collector *mem;
    int len;

    if (proc_root == NULL || out == NULL)
        return -EINVAL;
    mem = calloc(1, sizeof(*mem));
    if (mem == NULL)
        return -ENOMEM;
    len = snprintf(mem->meminfo_path, sizeof(mem->meminfo_path), "%s/meminfo", proc_root);
    if (len < 0 || (size_t)len >= sizeof(mem->meminfo_path)) {
        free(mem);
        return -EINVAL;
    }
    out->name = "mem";
    out->ctx = mem;
    out->collect = mem_collect;
    out->destroy = mem_destroy;
    return 0;
}
