/* The collector contract: one file per family (collector_cpu.c, collector_mem.c, ...), each
 * behind the same small struct. A collector reads its sources under proc_root (normally
 * "/proc"; tests point it at fixture copies), keeps what it needs between calls (previous
 * counters for rates) and appends samples to a batch. A missing or unreadable source is not
 * fatal: collect returns -ENOENT (or -EIO) and the agent logs it once and skips it.
 * Not thread-safe: the agent calls collectors from its one thread. */
#ifndef UPDRAFT_AGENT_COLLECTOR_H
#define UPDRAFT_AGENT_COLLECTOR_H

#include <stdint.h>

#include "edge-agent/batch.h"

struct statvfs;

/* What a collector may read, and its knobs. The agent fills it from its config; tests point
 * the roots at fixture trees and may replace statvfs(3). Borrowed: the strings must outlive
 * the collector (constructors copy what they keep). */
struct collector_env {
    const char *proc_root; /* "/proc" */
    const char *sys_root;  /* "/sys": cgroups under <sys_root>/fs/cgroup, devices under
                            * <sys_root>/block */
    unsigned top_n;        /* processes per ranking (proc collector), default 10 */
    /* statvfs(3) of a mount point (the disk collector); NULL = the real statvfs. */
    int (*statvfs_fn)(const char *path, struct statvfs *out);
};

struct collector {
    const char *name; /* "cpu", "mem": the name used in config and logs */
    void *ctx;
    /* Appends this cycle's samples. now_mono_ms is the monotonic time of the call (for
     * rates). Returns 0, -ENOENT/-EIO (source missing or unreadable: nothing appended),
     * -EBADMSG (source has an unexpected format), or -ENOSPC (batch full). */
    int (*collect)(void *ctx, int64_t now_mono_ms, struct metric_batch *batch);
    void (*destroy)(void *ctx); /* accepts NULL */
};

/* CPU: /proc/stat and /proc/loadavg. Emits cpu.utilization, cpu.core.N, cpu.user_pct,
 * cpu.system_pct, cpu.iowait_pct, cpu.steal_pct (percent over the interval since the
 * previous call; the constructor takes the first reading, so the first collect already
 * has a delta when time has passed) and cpu.load1, cpu.load5, cpu.load15. */
int collector_cpu_new(const char *proc_root, struct collector *out) __attribute__((warn_unused_result));

/* Memory: /proc/meminfo. Emits mem.used_pct, mem.used_mb, mem.available_mb, mem.cache_mb,
 * mem.swap_pct (see docs/metrics.md for the formulas). */
int collector_mem_new(const char *proc_root, struct collector *out) __attribute__((warn_unused_result));

#endif
