/* Process scanner (see procscan.h). Owns two process arrays (this scan and the previous one,
 * swapped after each scan, grown up to max_procs), the container table and fixed read
 * buffers; the path of each file is opened relative to one directory fd of proc_root.
 * Not thread-safe: the agent's one thread uses it. */
#include "edge-agent/procscan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define PS_STAT_READ_MAX 2048   /* a stat line is at most ~1.1 KiB (52 fields, 15-byte comm) */
#define PS_CGROUP_READ_MAX 8192 /* v1 hosts: a dozen lines of up to a few hundred bytes */
#define PS_INITIAL_CAPACITY 256

struct procscan {
    char proc_root[PATH_MAX];
    long ticks_per_s;
    long page_size;
    size_t max_procs;
    size_t max_kept_fds;
    bool precise_rss;
    /* cur: the scan in progress, then the published one; prev: the one before. *_fds run
     * parallel to them: the process's stat file kept open between scans, or -1. */
    struct proc_info *cur;
    int *cur_fds;
    size_t cur_count;
    size_t cur_capacity;
    struct proc_info *prev;
    int *prev_fds;
    size_t prev_count;
    size_t prev_capacity;
    size_t kept_fds;                   /* >= 0 entries of cur_fds */
    struct container_info *containers; /* sorted by id */
    size_t container_count;
    size_t container_capacity;
    struct proc_table table;
    bool has_scan;
    int64_t scanned_mono_ms;
    uint64_t cycle;
    char stat_buf[PS_STAT_READ_MAX];
    char cgroup_buf[PS_CGROUP_READ_MAX];
};

/* ---- reading ---- */

/* Reads fd from offset 0 into buf (size bytes at most); one pread is enough for a one-line
 * file (stat, statm: the kernel fills the whole line at once). Returns the length or -errno. */
static ssize_t ps_pread(int fd, char *buf, size_t size, bool one_line)
{
    size_t fill = 0;

    while (fill < size) {
        ssize_t got = pread(fd, buf + fill, size - fill, (off_t)fill);

        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -errno;
        if (got == 0)
            break;
        fill += (size_t)got;
        if (one_line && buf[fill - 1] == '\n')
            break;
    }
    return (ssize_t)fill;
}

/* Reads up to size bytes of dir_fd/path; returns the byte count or -errno. */
static ssize_t ps_read_at(int dir_fd, const char *path, char *buf, size_t size, bool one_line)
{
    int fd = openat(dir_fd, path, O_RDONLY | O_CLOEXEC);
    ssize_t len;

    if (fd < 0)
        return -errno;
    len = ps_pread(fd, buf, size, one_line);
    close(fd);
    return len;
}

static int ps_reserve(struct procscan *scan)
{
    struct proc_info *grown;
    int *grown_fds;
    size_t capacity;

    if (scan->cur_count < scan->cur_capacity)
        return 0;
    capacity = scan->cur_capacity ? scan->cur_capacity * 2 : PS_INITIAL_CAPACITY;
    if (capacity > scan->max_procs)
        capacity = scan->max_procs;
    grown = realloc(scan->cur, capacity * sizeof(*grown));
    if (grown == NULL)
        return -ENOMEM;
    scan->cur = grown;
    grown_fds = realloc(scan->cur_fds, capacity * sizeof(*grown_fds));
    if (grown_fds == NULL)
        return -ENOMEM;
    scan->cur_fds = grown_fds;
    scan->cur_capacity = capacity;
    return 0;
}

/* Index in prev of pid, or SIZE_MAX. *hint walks prev along the (ascending) readdir order;
 * out of order, a binary search. */
static size_t ps_prev_find(const struct procscan *scan, int pid, size_t *hint)
{
    size_t lo = 0;
    size_t hi = scan->prev_count;

    while (*hint < scan->prev_count && scan->prev[*hint].pid < pid)
        (*hint)++;
    if (*hint < scan->prev_count && scan->prev[*hint].pid == pid)
        return *hint;
    if (*hint == 0 || scan->prev[*hint - 1].pid < pid)
        return SIZE_MAX;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (scan->prev[mid].pid < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < scan->prev_count && scan->prev[lo].pid == pid ? lo : SIZE_MAX;
}

/* Reads the stat of pid into stat_buf: through its kept fd (taken over from prev_fds[at]),
 * else freshly opened (and kept while the budget allows). The fd ends up in *fd_out or
 * closed. A kept fd of a process that exited reads ESRCH; a new process with the same pid
 * is then opened afresh. */
static ssize_t ps_read_stat(struct procscan *scan, int dir_fd, int pid, size_t at, int *fd_out)
{
    int fd = -1;
    ssize_t len = -ENOENT;
    char path[32];

    *fd_out = -1;
    if (at != SIZE_MAX) {
        fd = scan->prev_fds[at];
        scan->prev_fds[at] = -1;
    }
    if (fd >= 0) {
        len = ps_pread(fd, scan->stat_buf, sizeof(scan->stat_buf), true);
        if (len <= 0) {
            close(fd);
            fd = -1;
        }
    }
    if (fd < 0) {
        (void)snprintf(path, sizeof(path), "%d/stat", pid);
        fd = openat(dir_fd, path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return -errno;
        len = ps_pread(fd, scan->stat_buf, sizeof(scan->stat_buf), true);
    }
    if (len > 0 && scan->kept_fds < scan->max_kept_fds) {
        *fd_out = fd;
        scan->kept_fds++;
    } else {
        close(fd);
    }
    return len;
}

/* statm's second field, resident pages. */
static int ps_read_statm(struct procscan *scan, int dir_fd, int pid, uint64_t *pages)
{
    char path[32];
    char *end;
    const char *field;
    ssize_t len;

    (void)snprintf(path, sizeof(path), "%d/statm", pid);
    len = ps_read_at(dir_fd, path, scan->stat_buf, sizeof(scan->stat_buf) - 1, true);
    if (len <= 0)
        return -EBADMSG;
    scan->stat_buf[len] = '\0';
    field = strchr(scan->stat_buf, ' ');
    if (field == NULL || field[1] < '0' || field[1] > '9')
        return -EBADMSG;
    errno = 0;
    *pages = strtoull(field + 1, &end, 10);
    return (errno == 0 && (*end == ' ' || *end == '\n')) ? 0 : -EBADMSG;
}

/* Reads one pid into a new entry of cur. Vanished, unreadable or malformed pids are skipped
 * (the malformed ones counted). */
static int ps_read_pid(struct procscan *scan, int dir_fd, int pid, size_t *hint)
{
    struct proc_stat fields;
    struct proc_info *info;
    size_t at = ps_prev_find(scan, pid, hint);
    ssize_t len;
    int fd;
    int rc;

    if (scan->cur_count >= scan->max_procs) {
        scan->table.procs_dropped++;
        return 0;
    }
    rc = ps_reserve(scan);
    if (rc < 0)
        return rc;
    len = ps_read_stat(scan, dir_fd, pid, at, &fd);
    if (len < 0)
        return 0; /* exited since readdir, or not ours to read */
    if ((size_t)len == sizeof(scan->stat_buf) ||
        proc_stat_parse(scan->stat_buf, (size_t)len, &fields) < 0 || fields.pid != pid ||
        (scan->precise_rss && ps_read_statm(scan, dir_fd, pid, &fields.rss_pages) < 0)) {
        scan->table.procs_malformed++;
        if (fd >= 0) {
            close(fd);
            scan->kept_fds--;
        }
        return 0;
    }
    scan->cur_fds[scan->cur_count] = fd;
    info = &scan->cur[scan->cur_count++];
    memset(info, 0, sizeof(*info));
    info->pid = pid;
    info->ppid = fields.ppid;
    info->state = fields.state;
    memcpy(info->name, fields.name, sizeof(info->name));
    info->threads = fields.threads;
    info->cpu_ticks = fields.utime_ticks + fields.stime_ticks;
    info->start_ticks = fields.start_ticks;
    info->rss_bytes = fields.rss_pages * (uint64_t)scan->page_size;
    info->mem_mb = (double)info->rss_bytes / (1024.0 * 1024.0);
    info->container = -1;
    return 0;
}

/* Closes the kept fds of an array's first count entries. */
static void ps_close_fds(int *fds, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (fds[i] >= 0)
            close(fds[i]);
        fds[i] = -1;
    }
}

/* ---- containers ---- */

static int ps_container_cmp(const void *key, const void *element)
{
    return strcmp(key, ((const struct container_info *)element)->id);
}

static struct container_info *ps_container_find(const struct procscan *scan, const char *id)
{
    if (scan->container_count == 0)
        return NULL;
    return bsearch(id, scan->containers, scan->container_count, sizeof(*scan->containers),
                   ps_container_cmp);
}

/* Adds the container of cg unless known; false when the table is full. */
static bool ps_container_add(struct procscan *scan, const struct cgroup_container *cg)
{
    struct container_info *entry;
    size_t at = 0;

    if (ps_container_find(scan, cg->id) != NULL)
        return true;
    if (scan->container_count == scan->container_capacity) {
        size_t capacity = scan->container_capacity ? scan->container_capacity * 2 : 16;
        struct container_info *grown;

        if (capacity > PROCSCAN_MAX_CONTAINERS)
            capacity = PROCSCAN_MAX_CONTAINERS;
        if (capacity == scan->container_count)
            return false;
        grown = realloc(scan->containers, capacity * sizeof(*grown));
        if (grown == NULL)
            return false;
        scan->containers = grown;
        scan->container_capacity = capacity;
    }
    while (at < scan->container_count && strcmp(scan->containers[at].id, cg->id) < 0)
        at++;
    memmove(scan->containers + at + 1, scan->containers + at,
            (scan->container_count - at) * sizeof(*entry));
    scan->container_count++;
    entry = &scan->containers[at];
    memset(entry, 0, sizeof(*entry));
    memcpy(entry->id, cg->id, sizeof(entry->id));
    memcpy(entry->short_id, cg->id, CGROUP_SHORT_ID_LEN);
    memcpy(entry->runtime, cg->runtime, sizeof(entry->runtime));
    memcpy(entry->pod_uid, cg->pod_uid, sizeof(entry->pod_uid));
    entry->cgroup_v1 = cg->v1;
    memcpy(entry->cpu_dir, cg->cpu_dir, sizeof(entry->cpu_dir));
    memcpy(entry->mem_dir, cg->mem_dir, sizeof(entry->mem_dir));
    return true;
}

/* (Re-)reads the cgroup of info. An unreadable or malformed file leaves it outside
 * containers: a cgroup is no reason to drop the process. */
static void ps_read_cgroup(struct procscan *scan, int dir_fd, struct proc_info *info)
{
    struct cgroup_container cg;
    char path[32];
    ssize_t len;

    info->container_id[0] = info->runtime[0] = info->pod_uid[0] = '\0';
    (void)snprintf(path, sizeof(path), "%d/cgroup", info->pid);
    len = ps_read_at(dir_fd, path, scan->cgroup_buf, sizeof(scan->cgroup_buf), false);
    if (len <= 0)
        return;
    if ((size_t)len == sizeof(scan->cgroup_buf)) {
        /* Longer than the buffer: the complete lines it holds. */
        while (len > 0 && scan->cgroup_buf[len - 1] != '\n')
            len--;
    }
    if (cgroup_path_parse(scan->cgroup_buf, (size_t)len, &cg) < 0 || cg.id[0] == '\0')
        return;
    memcpy(info->container_id, cg.id, sizeof(info->container_id));
    memcpy(info->runtime, cg.runtime, sizeof(info->runtime));
    memcpy(info->pod_uid, cg.pod_uid, sizeof(info->pod_uid));
    (void)ps_container_add(scan, &cg);
}

/* Counts each container's processes, drops containers left without any, and points every
 * process at its container. */
static void ps_containers_settle(struct procscan *scan)
{
    size_t kept = 0;

    for (size_t i = 0; i < scan->container_count; i++) {
        scan->containers[i].procs = 0;
        scan->containers[i].procs_cpu_pct = 0.0;
        scan->containers[i].procs_mem_mb = 0.0;
    }
    for (size_t i = 0; i < scan->cur_count; i++) {
        struct proc_info *info = &scan->cur[i];
        struct container_info *c;

        if (info->container_id[0] == '\0')
            continue;
        c = ps_container_find(scan, info->container_id);
        if (c == NULL) {
            scan->table.containers_dropped++;
            continue;
        }
        c->procs++;
        c->procs_cpu_pct += info->cpu_pct;
        c->procs_mem_mb += info->mem_mb;
    }
    for (size_t i = 0; i < scan->container_count; i++) {
        if (scan->containers[i].procs > 0)
            scan->containers[kept++] = scan->containers[i];
    }
    scan->container_count = kept;
    for (size_t i = 0; i < scan->cur_count; i++) {
        struct proc_info *info = &scan->cur[i];
        struct container_info *c;

        if (info->container_id[0] == '\0')
            continue;
        c = ps_container_find(scan, info->container_id);
        info->container = c ? (int)(c - scan->containers) : -1;
    }
}

/* ---- one scan ---- */

static int ps_pid_cmp(const void *a, const void *b)
{
    int pa = ((const struct proc_info *)a)->pid;
    int pb = ((const struct proc_info *)b)->pid;

    return (pa > pb) - (pa < pb);
}

static void ps_swap_entries(struct procscan *scan, size_t a, size_t b)
{
    struct proc_info info = scan->cur[a];
    int fd = scan->cur_fds[a];

    scan->cur[a] = scan->cur[b];
    scan->cur_fds[a] = scan->cur_fds[b];
    scan->cur[b] = info;
    scan->cur_fds[b] = fd;
}

static void ps_sift_down(struct procscan *scan, size_t root, size_t count)
{
    for (;;) {
        size_t child = 2 * root + 1;

        if (child >= count)
            return;
        if (child + 1 < count && scan->cur[child + 1].pid > scan->cur[child].pid)
            child++;
        if (scan->cur[root].pid >= scan->cur[child].pid)
            return;
        ps_swap_entries(scan, root, child);
        root = child;
    }
}

/* Heapsort of cur by pid, moving each kept fd along with its process; needed only for a
 * proc_root that lists pids out of order (not the kernel's /proc). */
static void ps_sort(struct procscan *scan)
{
    size_t count = scan->cur_count;

    for (size_t i = count / 2; i-- > 0;)
        ps_sift_down(scan, i, count);
    for (size_t end = count; end-- > 1;) {
        ps_swap_entries(scan, 0, end);
        ps_sift_down(scan, 0, end);
    }
}

/* Rates against the previous scan (both arrays sorted by pid), the container of each
 * process: carried over, or read for new processes and on their refresh cycle. */
static void ps_merge(struct procscan *scan, int dir_fd, int64_t now_mono_ms)
{
    int64_t elapsed_ms = scan->has_scan ? now_mono_ms - scan->scanned_mono_ms : 0;
    size_t p = 0;

    for (size_t i = 0; i < scan->cur_count; i++) {
        struct proc_info *info = &scan->cur[i];
        const struct proc_info *before = NULL;

        while (p < scan->prev_count && scan->prev[p].pid < info->pid)
            p++;
        if (p < scan->prev_count && scan->prev[p].pid == info->pid &&
            scan->prev[p].start_ticks == info->start_ticks)
            before = &scan->prev[p];
        if (before == NULL || (uint64_t)info->pid % PROCSCAN_CGROUP_REFRESH_CYCLES ==
                                  scan->cycle % PROCSCAN_CGROUP_REFRESH_CYCLES) {
            ps_read_cgroup(scan, dir_fd, info);
        } else {
            memcpy(info->container_id, before->container_id, sizeof(info->container_id));
            memcpy(info->runtime, before->runtime, sizeof(info->runtime));
            memcpy(info->pod_uid, before->pod_uid, sizeof(info->pod_uid));
        }
        if (before != NULL && elapsed_ms > 0) {
            uint64_t ticks =
                info->cpu_ticks > before->cpu_ticks ? info->cpu_ticks - before->cpu_ticks : 0;

            info->has_cpu = true;
            info->cpu_pct =
                (double)ticks * 100000.0 / ((double)scan->ticks_per_s * (double)elapsed_ms);
        }
    }
}

static void ps_publish(struct procscan *scan)
{
    scan->table.procs = scan->cur;
    scan->table.count = scan->cur_count;
    scan->table.containers = scan->containers;
    scan->table.container_count = scan->container_count;
}

/* Exchanges the cur and prev arrays with their capacities and counts. */
static void ps_exchange(struct procscan *scan)
{
    struct proc_info *procs = scan->prev;
    int *fds = scan->prev_fds;
    size_t capacity = scan->prev_capacity;
    size_t count = scan->prev_count;

    scan->prev = scan->cur;
    scan->prev_fds = scan->cur_fds;
    scan->prev_capacity = scan->cur_capacity;
    scan->prev_count = scan->cur_count;
    scan->cur = procs;
    scan->cur_fds = fds;
    scan->cur_capacity = capacity;
    scan->cur_count = count;
}

/* The published arrays become prev, and the spare ones cur, empty. */
static void ps_swap(struct procscan *scan)
{
    ps_exchange(scan);
    scan->cur_count = 0;
}

/* Undoes ps_swap after a failed scan: the published table comes back; fds taken over so far
 * are closed (only a cost: they are reopened next time). */
static void ps_unswap(struct procscan *scan)
{
    ps_close_fds(scan->cur_fds, scan->cur_count);
    ps_exchange(scan);
    scan->prev_count = 0;
    scan->kept_fds = 0;
    for (size_t i = 0; i < scan->cur_count; i++)
        scan->kept_fds += scan->cur_fds[i] >= 0;
}

int procscan_update(struct procscan *scan, int64_t now_mono_ms)
{
    struct proc_table saved;
    struct dirent *entry;
    bool sorted = true;
    int last_pid = 0;
    size_t hint = 0;
    DIR *dir;
    int rc = 0;

    if (scan->has_scan && now_mono_ms == scan->scanned_mono_ms)
        return 0;
    dir = opendir(scan->proc_root);
    if (dir == NULL)
        return (errno == ENOENT || errno == ENOTDIR) ? -ENOENT : errno == ENOMEM ? -ENOMEM : -EIO;

    ps_swap(scan);
    scan->kept_fds = 0;
    saved = scan->table;
    scan->table.procs_dropped = scan->table.procs_malformed = 0;
    scan->table.containers_dropped = 0;
    while ((entry = readdir(dir)) != NULL) {
        int pid = proc_stat_entry_pid(entry->d_name);

        if (pid == 0)
            continue;
        rc = ps_read_pid(scan, dirfd(dir), pid, &hint);
        if (rc < 0)
            break;
        /* The kernel lists pids in ascending order; sort only when it did not. */
        if (pid < last_pid)
            sorted = false;
        last_pid = pid;
    }
    if (rc < 0) {
        ps_unswap(scan);
        scan->table = saved;
        closedir(dir);
        return rc;
    }
    /* Processes gone since the previous scan. */
    ps_close_fds(scan->prev_fds, scan->prev_count);
    if (!sorted)
        ps_sort(scan);
    ps_merge(scan, dirfd(dir), now_mono_ms);
    closedir(dir);
    ps_containers_settle(scan);

    scan->has_scan = true;
    scan->scanned_mono_ms = now_mono_ms;
    scan->cycle++;
    scan->table.scanned_mono_ms = now_mono_ms;
    scan->table.scans++;
    ps_publish(scan);
    return 0;
}

/* ---- lifecycle and lookups ---- */

int procscan_new(const struct procscan_config *config, struct procscan **out)
{
    struct procscan *scan;
    int len;

    if (config == NULL || out == NULL || config->proc_root == NULL || config->ticks_per_s < 0 ||
        config->page_size < 0 || config->kept_fds < -1)
        return -EINVAL;
    scan = calloc(1, sizeof(*scan));
    if (scan == NULL)
        return -ENOMEM;
    len = snprintf(scan->proc_root, sizeof(scan->proc_root), "%s", config->proc_root);
    if (len <= 0 || (size_t)len >= sizeof(scan->proc_root)) {
        free(scan);
        return -EINVAL;
    }
    scan->ticks_per_s = config->ticks_per_s ? config->ticks_per_s : sysconf(_SC_CLK_TCK);
    scan->page_size = config->page_size ? config->page_size : sysconf(_SC_PAGESIZE);
    if (scan->ticks_per_s <= 0)
        scan->ticks_per_s = 100;
    if (scan->page_size <= 0)
        scan->page_size = 4096;
    scan->max_procs = config->max_procs ? config->max_procs : PROCSCAN_DEFAULT_MAX_PROCS;
    scan->precise_rss = config->precise_rss;
    if (config->kept_fds < 0) {
        scan->max_kept_fds = 0;
    } else if (config->kept_fds > 0) {
        scan->max_kept_fds = (size_t)config->kept_fds;
    } else {
        struct rlimit limit;

        scan->max_kept_fds = PROCSCAN_DEFAULT_KEPT_FDS;
        if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY &&
            limit.rlim_cur / 4 < scan->max_kept_fds)
            scan->max_kept_fds = (size_t)(limit.rlim_cur / 4);
    }
    ps_publish(scan);
    *out = scan;
    return 0;
}

void procscan_free(struct procscan *scan)
{
    if (scan == NULL)
        return;
    ps_close_fds(scan->cur_fds, scan->cur_count);
    free(scan->cur);
    free(scan->cur_fds);
    free(scan->prev);
    free(scan->prev_fds);
    free(scan->containers);
    free(scan);
}

const struct proc_table *procscan_table(const struct procscan *scan)
{
    return &scan->table;
}

const struct proc_info *proc_table_find(const struct proc_table *table, int pid)
{
    struct proc_info key = {.pid = pid};

    if (table->count == 0)
        return NULL;
    return bsearch(&key, table->procs, table->count, sizeof(*table->procs), ps_pid_cmp);
}
