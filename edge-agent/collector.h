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
struct procscan;
struct connscan;

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

/* Processes: the top env->top_n (0: 10; at most COLLECTOR_PROC_MAX_TOP) processes by CPU and
 * by resident memory, from the shared scan (borrowed: it must outlive the collector; collect
 * calls procscan_update, which scans once per now_mono_ms). Emits proc.top.cpu_pct and
 * proc.top.mem_mb with label process = "<name>:<pid>", ranked best first (ties: lower pid).
 * Processes at 0 (no CPU in the interval, or no resident memory) are left out; the first
 * cycle has no CPU ranking (a share needs two scans). An empty scan is -ENOENT, or -EBADMSG
 * when every pid entry was malformed. */
#define COLLECTOR_PROC_MAX_TOP 100
int collector_proc_new(const struct collector_env *env, struct procscan *scan,
                       struct collector *out) __attribute__((warn_unused_result));

/* Containers: for each container of the shared scan (borrowed, as above), CPU and memory from
 * its cgroup under <env->sys_root>/fs/cgroup: v2 cpu.stat usage_usec and memory.current, v1
 * cpuacct.usage (ns) and memory.usage_in_bytes. Emits container.cpu_pct (% of one CPU since
 * the previous collect; from the second sighting of a container on) and container.mem_mb,
 * label container = the 12-hex short id. A container whose cgroup files are missing or do not
 * parse is skipped silently. */
int collector_container_new(const struct collector_env *env, struct procscan *scan,
                            struct collector *out) __attribute__((warn_unused_result));

/* Connections: conn.established (TCP sockets in ESTABLISHED or CLOSE_WAIT, v4 + v6: the
 * kernel's CurrEstab) and conn.listening (TCP LISTEN plus unconnected bound UDP sockets), no
 * labels, from the shared connscan (borrowed; collect calls connscan_count, which does not read
 * tcp/tcp6 when the connscan has a tcp_listeners_fn; never connscan_map_pids). */
int collector_conn_new(struct connscan *scan, struct collector *out)
    __attribute__((warn_unused_result));

#endif
