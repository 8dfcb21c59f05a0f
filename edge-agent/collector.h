/* The collector contract: one file per family (collector_cpu.c, collector_mem.c, ...), each
 * behind the same small struct. A collector reads its sources under proc_root (normally
 * "/proc"; tests point it at fixture copies), keeps what it needs between calls (previous
 * counters for rates) and appends samples to a batch. A missing or unreadable source is not
 * fatal: collect returns -ENOENT (or -EIO) and the agent logs it once and skips it.
 * Not thread-safe: the agent calls collectors from its one thread. */
#ifndef UPDRAFT_AGENT_COLLECTOR_H
#define UPDRAFT_AGENT_COLLECTOR_H

#include <stdbool.h>
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

/* Disk: the used share of every real filesystem and the I/O rates of whole disks (formulas in
 * docs/metrics.md). Reads <proc_root>/self/mountinfo (<proc_root>/mounts when it is absent),
 * <proc_root>/diskstats and <sys_root>/block, and calls env->statvfs_fn on the mount points.
 * Emits disk.used_pct (label mount; pseudo filesystems and further bind mounts of a device
 * left out, as are mount points longer than AGENT_LABEL_MAX - 1 bytes) and, per whole disk
 * (label device; partitions, loop, ram, zram and dm devices left out), disk.iops_read,
 * disk.iops_write (operations/s), disk.throughput_read_mbps and disk.throughput_write_mbps
 * (megabits/s, 10^6 bit/s) over the interval since the previous call. The constructor takes
 * the first diskstats reading (stamped with clock_mono_ms()), so the first collect already
 * has rates; a device whose counters went backwards gets none that cycle. env->proc_root and
 * env->sys_root must not be NULL (-EINVAL). */
int collector_disk_new(const struct collector_env *env, struct collector *out)
    __attribute__((warn_unused_result));

/* Network: per interface of <proc_root>/net/dev except lo (label interface) net.rx_mbps and
 * net.tx_mbps (megabits/s, 10^6 bit/s), net.errors and net.drops (receive + transmit errors
 * and drops during the interval since the previous call), and net.sockets_active, the TCP +
 * UDP sockets in use from <proc_root>/net/sockstat plus TCP6 + UDP6 from net/sockstat6 (0
 * when that file is absent). The constructor takes the first net/dev reading (stamped with
 * clock_mono_ms()); an interface whose counters went backwards (reset or 32-bit wrap) gets
 * nothing that cycle. env->proc_root must not be NULL (-EINVAL). */
int collector_net_new(const struct collector_env *env, struct collector *out)
    __attribute__((warn_unused_result));

/* GPU: per NVIDIA GPU (label gpu_index, NVML's index) gpu.utilization (%), gpu.memory_used_mb
 * and gpu.memory_total_mb (MiB), gpu.temperature_c (degrees Celsius) and gpu.power_w (watts);
 * a query a GPU does not support is left out. NVML is loaded by the constructor with
 * dlopen("libnvidia-ml.so.1"), or the library named by the environment variable
 * UPDRAFT_NVML_LIBRARY when set and not empty (read with secure_getenv; for tests and for
 * drivers installed off the library path), initialized, and its device handles taken; it is
 * shut down and unloaded by destroy. It is looked for once: without the library, a driver or
 * a GPU the constructor still succeeds and collect returns -ENOENT (-EIO when every query
 * of every GPU fails). env is not read otherwise but must not be NULL (-EINVAL). */
int collector_gpu_new(const struct collector_env *env, struct collector *out)
    __attribute__((warn_unused_result));

/* Whether c is a GPU collector that found at least one GPU (has_gpu for the inventory). False
 * for NULL and for collectors of other kinds. */
bool collector_gpu_present(const struct collector *c);

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
