/* CPU collector: busy shares from the deltas of <proc_root>/stat counters between two calls,
 * and load averages from <proc_root>/loadavg. Owns its previous reading and a fixed read
 * buffer; allocates only when a higher-numbered core appears (hotplug).
 * Not thread-safe: one agent thread calls it. */
#include "edge-agent/collector.h"

#include "edge-agent/proc_lines.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Cores numbered from here on are skipped: the batch could not hold their samples anyway. */
#define CPU_MAX_CORES 1024
/* /proc/stat is read in chunks of this size; only its leading "cpu" lines are needed, and
 * the file can be much longer on big machines (one "intr" line may be hundreds of KiB). */
#define CPU_READ_CHUNK (64 * 1024)
#define CPU_LOADAVG_MAX 256

/* Columns of a "cpu" line, in file order. guest and guest_nice follow steal in the file but
 * are already counted in user and nice, so they are not kept. */
enum cpu_field {
    CPU_FIELD_USER,
    CPU_FIELD_NICE,
    CPU_FIELD_SYSTEM,
    CPU_FIELD_IDLE,
    CPU_FIELD_IOWAIT,
    CPU_FIELD_IRQ,
    CPU_FIELD_SOFTIRQ,
    CPU_FIELD_STEAL,
    CPU_FIELD_COUNT
};
#define CPU_LINE_MIN_FIELDS 4  /* user nice system idle; later columns came with newer kernels */
#define CPU_LINE_MAX_FIELDS 10 /* ... steal guest guest_nice; more are ignored */

struct cpu_times {
    uint64_t ticks[CPU_FIELD_COUNT];
};

struct cpu_line {
    struct cpu_times prev;
    struct cpu_times cur;
    bool has_prev; /* prev holds the line from the last successful reading */
    bool has_cur;  /* cur was filled by the reading in progress */
};

struct cpu_collector {
    char stat_path[PATH_MAX];
    char loadavg_path[PATH_MAX];
    struct cpu_line total;
    struct cpu_line *cores; /* indexed by core number */
    size_t core_capacity;
    char buf[CPU_READ_CHUNK];
};

static int cpu_cores_reserve(struct cpu_collector *cpu, size_t core)
{
    struct cpu_line *grown;
    size_t capacity = cpu->core_capacity ? cpu->core_capacity : 8;

    if (core < cpu->core_capacity)
        return 0;
    while (capacity <= core)
        capacity *= 2;
    if (capacity > CPU_MAX_CORES)
        capacity = CPU_MAX_CORES;
    grown = realloc(cpu->cores, capacity * sizeof(*grown));
    if (grown == NULL)
        return -ENOMEM;
    memset(grown + cpu->core_capacity, 0, (capacity - cpu->core_capacity) * sizeof(*grown));
    cpu->cores = grown;
    cpu->core_capacity = capacity;
    return 0;
}

/* Parses the counters after the line's name: at least CPU_LINE_MIN_FIELDS unsigned decimal
 * numbers separated by blanks. */
static int cpu_parse_times(const char *text, size_t len, struct cpu_times *out)
{
    size_t pos = 0;
    int fields = 0;

    memset(out, 0, sizeof(*out));
    for (;;) {
        uint64_t number = 0;
        size_t digits = 0;

        while (pos < len && (text[pos] == ' ' || text[pos] == '\t'))
            pos++;
        if (pos == len)
            break;
        while (pos < len && text[pos] >= '0' && text[pos] <= '9') {
            unsigned digit = (unsigned)(text[pos] - '0');

            if (number > (UINT64_MAX - digit) / 10)
                return -EBADMSG;
            number = number * 10 + digit;
            digits++;
            pos++;
        }
        if (digits == 0 || (pos < len && text[pos] != ' ' && text[pos] != '\t'))
            return -EBADMSG;
        if (fields < CPU_FIELD_COUNT)
            out->ticks[fields] = number;
        if (++fields == CPU_LINE_MAX_FIELDS)
            break;
    }
    return fields >= CPU_LINE_MIN_FIELDS ? 0 : -EBADMSG;
}

/* Handles one line of /proc/stat. Returns 0 to go on, 1 at the first line after the cpu
 * lines (nothing more is needed), or -EBADMSG / -ENOMEM. */
static int cpu_parse_line(struct cpu_collector *cpu, const char *line, size_t len)
{
    struct cpu_line *target;
    size_t pos = 3;
    size_t core = 0;
    int rc;

    if (len < 3 || memcmp(line, "cpu", 3) != 0)
        return cpu->total.has_cur ? 1 : -EBADMSG;
    if (pos < len && line[pos] == ' ') {
        target = &cpu->total;
    } else {
        if (pos == len || line[pos] < '0' || line[pos] > '9')
            return -EBADMSG;
        while (pos < len && line[pos] >= '0' && line[pos] <= '9') {
            /* Saturates: any number from CPU_MAX_CORES on is skipped below. */
            if (core < CPU_MAX_CORES)
                core = core * 10 + (size_t)(line[pos] - '0');
            pos++;
        }
        if (pos == len || line[pos] != ' ')
            return -EBADMSG;
        if (core >= CPU_MAX_CORES)
            return 0;
        rc = cpu_cores_reserve(cpu, core);
        if (rc < 0)
            return rc;
        target = &cpu->cores[core];
    }
    if (target->has_cur)
        return -EBADMSG; /* the same line twice */
    rc = cpu_parse_times(line + pos, len - pos, &target->cur);
    if (rc < 0)
        return rc;
    target->has_cur = true;
    return 0;
}

static int cpu_line_read(void *arg, const char *line, size_t len)
{
    return cpu_parse_line(arg, line, len);
}

/* A line longer than the whole buffer cannot be a cpu line: it is garbage, or the first
 * line after them (which ends the part we need). */
static int cpu_line_too_long(void *arg, const char *start, size_t len)
{
    struct cpu_collector *cpu = arg;

    (void)len;
    return memcmp(start, "cpu", 3) == 0 || !cpu->total.has_cur ? -EBADMSG : 1;
}

/* Reads the cpu lines of /proc/stat into the .cur fields, chunk by chunk. */
static int cpu_read_stat(struct cpu_collector *cpu)
{
    int rc;

    cpu->total.has_cur = false;
    for (size_t i = 0; i < cpu->core_capacity; i++)
        cpu->cores[i].has_cur = false;

    rc = proc_lines_read_long(cpu->stat_path, cpu->buf, sizeof(cpu->buf), cpu_line_read,
                              cpu_line_too_long, cpu);
    if (rc == 0 && !cpu->total.has_cur)
        rc = -EBADMSG;
    return rc;
}

/* Reads the three load averages: "0.11 0.06 0.01 1/84 3734". */
static int cpu_read_loadavg(struct cpu_collector *cpu, double load[3])
{
    char text[CPU_LOADAVG_MAX];
    const char *pos = text;
    size_t len;
    int rc;

    rc = proc_lines_read_text(cpu->loadavg_path, text, sizeof(text), &len);
    if (rc < 0)
        return rc;

    for (int i = 0; i < 3; i++) {
        char *end;

        if (*pos != ' ' && i > 0)
            return -EBADMSG;
        while (*pos == ' ')
            pos++;
        if (*pos < '0' || *pos > '9')
            return -EBADMSG;
        load[i] = strtod(pos, &end);
        if (end == pos || !isfinite(load[i]))
            return -EBADMSG;
        pos = end;
    }
    return (*pos == ' ' || *pos == '\n' || *pos == '\0') ? 0 : -EBADMSG;
}

static double cpu_percent(double part, double whole)
{
    double percent = 100.0 * part / whole;

    if (percent < 0.0)
        percent = 0.0;
    if (percent > 100.0)
        percent = 100.0;
    return metric_round(percent, 2);
}

/* Sums of the tick deltas since the previous reading. A counter that went backwards (iowait
 * can, and everything does after a reset) contributes nothing rather than a huge number. */
struct cpu_delta {
    double ticks[CPU_FIELD_COUNT];
    double total;
};

static struct cpu_delta cpu_line_delta(const struct cpu_line *line)
{
    struct cpu_delta delta = {.total = 0.0};

    for (int i = 0; i < CPU_FIELD_COUNT; i++) {
        uint64_t before = line->prev.ticks[i];
        uint64_t after = line->cur.ticks[i];

        delta.ticks[i] = after > before ? (double)(after - before) : 0.0;
        delta.total += delta.ticks[i];
    }
    return delta;
}

static double cpu_busy(const struct cpu_delta *delta)
{
    return delta->total - delta->ticks[CPU_FIELD_IDLE] - delta->ticks[CPU_FIELD_IOWAIT];
}

static int cpu_emit_total(const struct cpu_line *line, struct metric_batch *batch)
{
    struct cpu_delta delta;
    int rc;

    if (!line->has_prev)
        return 0;
    delta = cpu_line_delta(line);
    if (delta.total <= 0.0)
        return 0;
    rc = metric_batch_add(batch, "cpu.utilization", cpu_percent(cpu_busy(&delta), delta.total));
    if (rc == 0)
        rc = metric_batch_add(
            batch, "cpu.user_pct",
            cpu_percent(delta.ticks[CPU_FIELD_USER] + delta.ticks[CPU_FIELD_NICE], delta.total));
    if (rc == 0)
        rc = metric_batch_add(batch, "cpu.system_pct",
                              cpu_percent(delta.ticks[CPU_FIELD_SYSTEM] +
                                              delta.ticks[CPU_FIELD_IRQ] +
                                              delta.ticks[CPU_FIELD_SOFTIRQ],
                                          delta.total));
    if (rc == 0)
        rc = metric_batch_add(batch, "cpu.iowait_pct",
                              cpu_percent(delta.ticks[CPU_FIELD_IOWAIT], delta.total));
    if (rc == 0)
        rc = metric_batch_add(batch, "cpu.steal_pct",
                              cpu_percent(delta.ticks[CPU_FIELD_STEAL], delta.total));
    return rc;
}

static int cpu_emit_cores(const struct cpu_collector *cpu, struct metric_batch *batch)
{
    for (size_t core = 0; core < cpu->core_capacity; core++) {
        const struct cpu_line *line = &cpu->cores[core];
        char name[AGENT_METRIC_NAME_MAX];
        struct cpu_delta delta;
        int rc;

        if (!line->has_prev || !line->has_cur)
            continue;
        delta = cpu_line_delta(line);
        if (delta.total <= 0.0)
            continue;
        (void)snprintf(name, sizeof(name), "cpu.core.%zu", core);
        rc = metric_batch_add(batch, name, cpu_percent(cpu_busy(&delta), delta.total));
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int cpu_emit_load(const double load[3], struct metric_batch *batch)
{
    static const char *const names[3] = {"cpu.load1", "cpu.load5", "cpu.load15"};

    for (int i = 0; i < 3; i++) {
        int rc = metric_batch_add(batch, names[i], metric_round(load[i], 2));

        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The reading just taken becomes the previous one. Cores absent from it lose their history:
 * when they come back online their first interval is unknown. */
static void cpu_commit(struct cpu_collector *cpu)
{
    cpu->total.prev = cpu->total.cur;
    cpu->total.has_prev = true;
    for (size_t i = 0; i < cpu->core_capacity; i++) {
        struct cpu_line *line = &cpu->cores[i];

        line->prev = line->cur;
        line->has_prev = line->has_cur;
    }
}

/* On a read error nothing is appended and the previous reading is kept, so the next good
 * reading covers the whole interval. When the batch fills up, what fit stays in it and the
 * reading is still taken over. */
static int cpu_collect(void *ctx, int64_t now_mono_ms, struct metric_batch *batch)
{
    struct cpu_collector *cpu = ctx;
    double load[3];
    int rc;

    (void)now_mono_ms; /* the kernel's tick counters already measure the interval */
    rc = cpu_read_stat(cpu);
    if (rc < 0)
        return rc;
    rc = cpu_read_loadavg(cpu, load);
    if (rc < 0)
        return rc;

    rc = cpu_emit_total(&cpu->total, batch);
    if (rc == 0)
        rc = cpu_emit_cores(cpu, batch);
    if (rc == 0)
        rc = cpu_emit_load(load, batch);
    cpu_commit(cpu);
    return rc;
}

static void cpu_destroy(void *ctx)
{
    struct cpu_collector *cpu = ctx;

    if (cpu == NULL)
        return;
    free(cpu->cores);
    free(cpu);
}

int collector_cpu_new(const char *proc_root, struct collector *out)
{
    struct cpu_collector *cpu;
    int len_stat;
    int len_loadavg;
    int rc;

    if (proc_root == NULL || out == NULL)
        return -EINVAL;
    cpu = calloc(1, sizeof(*cpu));
    if (cpu == NULL)
        return -ENOMEM;
    len_stat = snprintf(cpu->stat_path, sizeof(cpu->stat_path), "%s/stat", proc_root);
    len_loadavg = snprintf(cpu->loadavg_path, sizeof(cpu->loadavg_path), "%s/loadavg", proc_root);
    if (len_stat < 0 || (size_t)len_stat >= sizeof(cpu->stat_path) || len_loadavg < 0 ||
        (size_t)len_loadavg >= sizeof(cpu->loadavg_path)) {
        cpu_destroy(cpu);
        return -EINVAL;
    }

    /* The first reading, so that the first collect already has a delta. A missing or bad
     * source is not fatal here: collect reports it, and picks the source up once it is
     * there. */
    rc = cpu_read_stat(cpu);
    if (rc == -ENOMEM) {
        cpu_destroy(cpu);
        return rc;
    }
    if (rc == 0)
        cpu_commit(cpu);

    out->name = "cpu";
    out->ctx = cpu;
    out->collect = cpu_collect;
    out->destroy = cpu_destroy;
    return 0;
}
