/* Process scanner: one pass over <proc_root>/[0-9]* per cycle gives every process's name,
 * CPU share over the interval, resident memory, start time and container, and the containers
 * those processes run in. The proc and container collectors and the topology inventory all
 * read the same scan.
 *
 * Ownership: the agent creates one procscan (procscan_new) and lends it to the "proc" and
 * "container" collectors (collector_proc_new / collector_container_new); both call
 * procscan_update with the cycle's now_mono_ms, and only the first call of a cycle scans.
 * The inventory builder reads procscan_table() after the collectors ran. The agent frees the
 * scan after the collectors. Not thread-safe: the agent's one thread uses it.
 *
 * Cost per cycle: one getdents pass over <proc_root> and one pread of <pid>/stat per process
 * through an fd kept open between scans (up to kept_fds of them; the RSS comes from stat's
 * rss field unless precise_rss asks for statm).
 * <pid>/cgroup is read when a pid (or a reused pid) is first seen and then once every
 * PROCSCAN_CGROUP_REFRESH_CYCLES cycles, spread over the cycles by pid. No fd is looked at
 * (socket owners: connscan_map_pids, at inventory cadence). */
#ifndef UPDRAFT_AGENT_PROCSCAN_H
#define UPDRAFT_AGENT_PROCSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge-agent/cgroup_path.h"
#include "edge-agent/proc_stat.h"

#define PROCSCAN_NAME_MAX PROC_STAT_NAME_MAX
#define PROCSCAN_DEFAULT_MAX_PROCS 32768  /* processes tracked; more are counted in procs_dropped  \
                                           */
#define PROCSCAN_MAX_CONTAINERS 1024      /* containers tracked; more: containers_dropped */
#define PROCSCAN_CGROUP_REFRESH_CYCLES 12 /* a process's cgroup is re-read this often */
#define PROCSCAN_DEFAULT_KEPT_FDS 256     /* stat files kept open between scans */

/* One process (thread group). Units in the names; all values from the same scan. */
struct proc_info {
    int pid;
    int ppid;
    char state;                   /* 'R', 'S', 'D', 'Z', ... from stat */
    char name[PROCSCAN_NAME_MAX]; /* comm, made printable (see proc_stat.h) */
    unsigned threads;
    uint64_t cpu_ticks;   /* utime + stime, in clock ticks (USER_HZ) */
    uint64_t start_ticks; /* start time in clock ticks after boot */
    uint64_t rss_bytes;   /* resident set size: stat rss pages * page size */
    bool has_cpu;         /* cpu_pct covers an interval: the process was in the previous scan */
    double cpu_pct;       /* % of one CPU over the interval (can exceed 100 with threads); 0
                           * when !has_cpu */
    double mem_mb;        /* rss_bytes in MiB (not rounded) */
    double gpu_mem_mb;    /* GPU memory in MiB: a hook for a GPU source; always 0 (unknown) */
    char container_id[CGROUP_ID_MAX]; /* "" outside containers */
    char runtime[CGROUP_RUNTIME_MAX]; /* "docker", "containerd", "cri-o", "podman", "" */
    char pod_uid[CGROUP_POD_UID_MAX]; /* Kubernetes pod uid, "" when none */
    int container;                    /* index into proc_table.containers, -1 when none */
};

/* One container with at least one process in the scan. */
struct container_info {
    char id[CGROUP_ID_MAX];                 /* 64 hex */
    char short_id[CGROUP_SHORT_ID_LEN + 1]; /* its first 12 hex digits */
    char runtime[CGROUP_RUNTIME_MAX];
    char pod_uid[CGROUP_POD_UID_MAX];
    bool cgroup_v1;
    char cpu_dir[CGROUP_DIR_MAX]; /* under <sys_root>/fs/cgroup, see cgroup_path.h; "" unknown */
    char mem_dir[CGROUP_DIR_MAX];
    unsigned procs;       /* its processes in this scan */
    double procs_cpu_pct; /* sum of its processes' cpu_pct */
    double procs_mem_mb;  /* sum of its processes' mem_mb (shared pages count twice) */
};

/* The latest scan. Borrowed from the procscan: valid until the next procscan_update or
 * procscan_free. Arrays are plain and sorted: procs by pid, containers by id. */
struct proc_table {
    const struct proc_info *procs;
    size_t count;
    const struct container_info *containers;
    size_t container_count;
    int64_t scanned_mono_ms;   /* now_mono_ms of the scan; meaningful once scans > 0 */
    uint64_t scans;            /* successful scans so far */
    size_t procs_dropped;      /* pids beyond max_procs, not in procs */
    size_t procs_malformed;    /* pids whose stat did not parse (skipped) */
    size_t containers_dropped; /* processes whose container did not fit the table */
};

struct procscan_config {
    const char *proc_root; /* "/proc"; copied */
    long ticks_per_s;      /* clock ticks per second; 0: sysconf(_SC_CLK_TCK) */
    long page_size;        /* bytes; 0: sysconf(_SC_PAGESIZE) */
    size_t max_procs;      /* 0: PROCSCAN_DEFAULT_MAX_PROCS */
    /* <pid>/stat files kept open between scans (a pread instead of open+read+close halves
     * the cost per process). 0: PROCSCAN_DEFAULT_KEPT_FDS, at most a quarter of
     * RLIMIT_NOFILE; -1: none. Processes beyond the budget are opened each scan. */
    int kept_fds;
    /* RSS from <pid>/statm (exact) instead of stat's rss field, at one more open and read per
     * process. stat's rss is the same counter read without summing the per-CPU caches: on
     * kernels from 6.16 it can lag by up to a few pages per CPU (seen: 3699 vs 3751). */
    bool precise_rss;
};

struct procscan;

/* -EINVAL (NULL, proc_root too long, negative tick rate or page size, kept_fds below -1),
 * -ENOMEM. Scans nothing yet. */
int procscan_new(const struct procscan_config *config, struct procscan **out)
    __attribute__((warn_unused_result));
void procscan_free(struct procscan *scan); /* accepts NULL */

/* Scans once per cycle: a second call with the same now_mono_ms keeps the scan it made.
 * cpu_pct is (Δcpu_ticks / ticks_per_s) / Δt over the time since the previous successful scan,
 * for processes (same pid and start time) in both. Returns 0 (unreadable or malformed pid
 * entries are skipped and counted), -ENOENT (proc_root missing), -EIO (unreadable), -ENOMEM;
 * on an error the previous table is kept. */
int procscan_update(struct procscan *scan, int64_t now_mono_ms) __attribute__((warn_unused_result));

/* The latest scan (count 0 before the first). Never NULL. */
const struct proc_table *procscan_table(const struct procscan *scan);

/* The process with this pid in table, or NULL (binary search). */
const struct proc_info *proc_table_find(const struct proc_table *table, int pid);

#endif
