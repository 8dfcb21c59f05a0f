/* Disk collector: the used share of every real filesystem (statvfs of the mount points in
 * <proc_root>/self/mountinfo, else <proc_root>/mounts) and the I/O rates of whole disks from
 * the deltas of <proc_root>/diskstats between two calls. Owns its device table, the mount
 * list of the cycle in progress and a fixed read buffer: no allocation after construction.
 * Not thread-safe: one agent thread calls it. */
#include "edge-agent/collector.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/clock.h"
#include "edge-agent/counter_rate.h"
#include "edge-agent/proc_lines.h"

/* Mounts and devices beyond these are not reported (the batch could not hold them anyway). */
#define DISK_MAX_MOUNTS 256
#define DISK_MAX_DEVICES 256
/* The read buffer: a line of mountinfo or diskstats must fit (mount points are escaped, so
 * a PATH_MAX one can take 16 KiB). */
#define DISK_READ_CHUNK (64 * 1024)
#define DISK_SECTOR_BYTES 512.0
/* diskstats lines: major minor name, then 11 counters (2.6.25+), 15 (4.18+, discards) or 17
 * (5.5+, flushes). Partitions of kernels before 2.6.25 had only 4 counters. */
#define DISK_STATS_MIN_FIELDS 14
#define DISK_STATS_OLD_PARTITION_FIELDS 7
#define DISK_STATS_MAX_FIELDS 32
/* mountinfo: 6 fields, optional ones (shared:N master:N propagate_from:N unbindable), "-",
 * fstype, source, super options. */
#define DISK_MOUNTINFO_MIN_FIELDS 9
#define DISK_MOUNTINFO_MAX_FIELDS 32

/* Filesystems that hold no user data on a device; "cgroup" also covers "cgroup2". */
static const char *const disk_pseudo_fs[] = {
    "proc",        "sysfs",      "tmpfs",
    "devtmpfs",    "devpts",     "overlay",
    "aufs",        "squashfs",   "nsfs",
    "autofs",      "tracefs",    "debugfs",
    "securityfs",  "pstore",     "bpf",
    "fusectl",     "configfs",   "mqueue",
    "hugetlbfs",   "ramfs",      "binfmt_misc",
    "efivarfs",    "rpc_pipefs", "nfsd",
    "selinuxfs",   "fuse.lxcfs", "fuse.gvfsd-fuse",
    "fuse.portal",
};
static const char *const disk_virtual_prefixes[] = {"loop", "ram", "zram", "dm-"};

struct disk_mount {
    uint64_t device_key; /* maj:min (mountinfo) or a hash of the source (mounts) */
    char mount_point[AGENT_LABEL_MAX];
};

struct disk_counters {
    uint64_t reads;
    uint64_t sectors_read;
    uint64_t writes;
    uint64_t sectors_written;
};

struct disk_device {
    char name[AGENT_LABEL_MAX];
    bool whole_disk; /* reported: neither a partition nor a virtual device */
    bool has_prev;   /* prev holds the reading of the last successful cycle */
    bool seen;       /* cur was filled by the reading in progress */
    struct disk_counters prev;
    struct disk_counters cur;
};

struct disk_collector {
    char mountinfo_path[PATH_MAX];
    char mounts_path[PATH_MAX];
    char diskstats_path[PATH_MAX];
    char sys_block_path[PATH_MAX];
    int (*statvfs_fn)(const char *path, struct statvfs *out);
    struct disk_mount mounts[DISK_MAX_MOUNTS];
    size_t mount_count;
    struct disk_device devices[DISK_MAX_DEVICES];
    size_t device_count;
    struct counter_rate_clock clock; /* of the devices' prev reading */
    int sys_block_state; /* in the reading in progress: 0 not checked, 1 present, -1 absent */
    char buf[DISK_READ_CHUNK];
};

struct disk_field {
    const char *text;
    size_t len;
};

/* Splits line into blank-separated fields; returns how many (at most max), or max + 1 when
 * there are more. */
static size_t disk_split(const char *line, size_t len, struct disk_field *fields, size_t max)
{
    size_t count = 0;
    size_t pos = 0;

    for (;;) {
        size_t start;

        while (pos < len && (line[pos] == ' ' || line[pos] == '\t'))
            pos++;
        if (pos == len)
            return count;
        if (count == max)
            return max + 1;
        start = pos;
        while (pos < len && line[pos] != ' ' && line[pos] != '\t')
            pos++;
        fields[count].text = line + start;
        fields[count].len = pos - start;
        count++;
    }
}

static bool disk_field_is(const struct disk_field *field, const char *text)
{
    return field->len == strlen(text) && memcmp(field->text, text, field->len) == 0;
}

/* An unsigned decimal number, all of text[0..len). */
static bool disk_parse_u64(const char *text, size_t len, uint64_t *out)
{
    uint64_t number = 0;

    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned digit = (unsigned)(text[i] - '0');

        if (text[i] < '0' || text[i] > '9' || number > (UINT64_MAX - digit) / 10)
            return false;
        number = number * 10 + digit;
    }
    *out = number;
    return true;
}

static bool disk_is_pseudo_fs(const struct disk_field *fstype)
{
    if (fstype->len >= 6 && memcmp(fstype->text, "cgroup", 6) == 0)
        return true;
    for (size_t i = 0; i < sizeof(disk_pseudo_fs) / sizeof(disk_pseudo_fs[0]); i++) {
        if (disk_field_is(fstype, disk_pseudo_fs[i]))
            return true;
    }
    return false;
}

/* Undoes the kernel's octal escapes (\040 space, \011 tab, \012 newline, \134 backslash)
 * into out. Returns false when the result does not fit out_size bytes with its NUL, or would
 * hold a NUL (it could not be a label). */
static bool disk_unescape(const struct disk_field *field, char *out, size_t out_size)
{
    size_t used = 0;

    for (size_t i = 0; i < field->len; i++) {
        char c = field->text[i];

        if (c == '\\' && i + 3 < field->len && field->text[i + 1] >= '0' &&
            field->text[i + 1] <= '3' && field->text[i + 2] >= '0' && field->text[i + 2] <= '7' &&
            field->text[i + 3] >= '0' && field->text[i + 3] <= '7') {
            c = (char)(((field->text[i + 1] - '0') << 6) | ((field->text[i + 2] - '0') << 3) |
                       (field->text[i + 3] - '0'));
            i += 3;
        }
        if (c == '\0' || used + 1 >= out_size)
            return false;
        out[used++] = c;
    }
    out[used] = '\0';
    return true;
}

/* FNV-1a: the key of a /proc/mounts source ("/dev/sda1", "server:/export"). */
static uint64_t disk_hash(const struct disk_field *field)
{
    uint64_t hash = 14695981039346656037ULL;

    for (size_t i = 0; i < field->len; i++) {
        hash ^= (unsigned char)field->text[i];
        hash *= 1099511628211ULL;
    }
    return hash;
}

/* Adds a mount unless its filesystem is a pseudo one, its device is already listed (a bind
 * mount: the first one stays), its mount point does not fit a label, or the list is full. */
static int disk_mount_add(struct disk_collector *disk, uint64_t device_key,
                          const struct disk_field *mount_point, const struct disk_field *fstype)
{
    struct disk_mount *mount;

    if (mount_point->len == 0 || mount_point->text[0] != '/')
        return -EBADMSG;
    if (disk_is_pseudo_fs(fstype) || disk->mount_count == DISK_MAX_MOUNTS)
        return 0;
    for (size_t i = 0; i < disk->mount_count; i++) {
        if (disk->mounts[i].device_key == device_key)
            return 0;
    }
    mount = &disk->mounts[disk->mount_count];
    if (!disk_unescape(mount_point, mount->mount_point, sizeof(mount->mount_point)))
        return 0;
    mount->device_key = device_key;
    disk->mount_count++;
    return 0;
}

/* "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue":
 * id parent maj:min root mount-point options [optional fields...] - fstype source super. */
static int disk_mountinfo_line(void *arg, const char *line, size_t len)
{
    struct disk_field fields[DISK_MOUNTINFO_MAX_FIELDS];
    size_t count = disk_split(line, len, fields, DISK_MOUNTINFO_MAX_FIELDS);
    const char *colon;
    uint64_t id;
    uint64_t major;
    uint64_t minor;
    size_t dash = 6;

    if (count < DISK_MOUNTINFO_MIN_FIELDS || count > DISK_MOUNTINFO_MAX_FIELDS)
        return -EBADMSG;
    colon = memchr(fields[2].text, ':', fields[2].len);
    if (!disk_parse_u64(fields[0].text, fields[0].len, &id) ||
        !disk_parse_u64(fields[1].text, fields[1].len, &id) || colon == NULL ||
        !disk_parse_u64(fields[2].text, (size_t)(colon - fields[2].text), &major) ||
        !disk_parse_u64(colon + 1, fields[2].len - (size_t)(colon - fields[2].text) - 1, &minor) ||
        major > UINT32_MAX || minor > UINT32_MAX)
        return -EBADMSG;
    while (dash < count && !disk_field_is(&fields[dash], "-"))
        dash++;
    if (dash + 2 >= count)
        return -EBADMSG; /* no separator, or no fstype and source after it */
    return disk_mount_add(arg, (major << 32) | minor, &fields[4], &fields[dash + 1]);
}

/* "/dev/sda1 /boot ext4 rw,relatime 0 0": source mount-point fstype options dump pass. */
static int disk_mounts_line(void *arg, const char *line, size_t len)
{
    struct disk_field fields[8];
    size_t count = disk_split(line, len, fields, 8);

    if (count < 4 || count > 6)
        return -EBADMSG;
    return disk_mount_add(arg, disk_hash(&fields[0]), &fields[1], &fields[2]);
}

/* Fills disk->mounts from mountinfo, or from mounts on kernels without mountinfo. */
static int disk_read_mounts(struct disk_collector *disk)
{
    int rc;

    disk->mount_count = 0;
    rc = proc_lines_read(disk->mountinfo_path, disk->buf, sizeof(disk->buf), disk_mountinfo_line,
                         disk);
    if (rc == -ENOENT) {
        disk->mount_count = 0;
        rc = proc_lines_read(disk->mounts_path, disk->buf, sizeof(disk->buf), disk_mounts_line,
                             disk);
    }
    return rc;
}

/* Without <sys_root>/block: a name ending in digits is a partition when the digits follow
 * "<digit>p" (nvme0n1p2, mmcblk0p1) or when it is sd/hd/vd/xvd + letters + digits (sda1,
 * xvdb3); anything else (sda, nvme0n1, mmcblk0, md0, sr0) is a whole disk. */
static bool disk_name_is_partition(const char *name)
{
    static const char *const lettered[] = {"sd", "hd", "vd", "xvd"};
    size_t len = strlen(name);
    size_t end = len;

    while (end > 0 && name[end - 1] >= '0' && name[end - 1] <= '9')
        end--;
    if (end == len || end == 0)
        return false;
    if (end >= 2 && name[end - 1] == 'p' && name[end - 2] >= '0' && name[end - 2] <= '9')
        return true;
    for (size_t i = 0; i < sizeof(lettered) / sizeof(lettered[0]); i++) {
        size_t prefix = strlen(lettered[i]);
        size_t pos = prefix;

        if (strncmp(name, lettered[i], prefix) != 0 || end == prefix)
            continue;
        while (pos < end && name[pos] >= 'a' && name[pos] <= 'z')
            pos++;
        if (pos == end)
            return true;
    }
    return false;
}

/* Whether a device newly seen in diskstats is reported. */
static bool disk_is_whole_disk(struct disk_collector *disk, const char *name)
{
    char path[PATH_MAX];
    struct stat st;
    int len;

    for (size_t i = 0; i < sizeof(disk_virtual_prefixes) / sizeof(disk_virtual_prefixes[0]); i++) {
        if (strncmp(name, disk_virtual_prefixes[i], strlen(disk_virtual_prefixes[i])) == 0)
            return false;
    }
    if (disk->sys_block_state == 0)
        disk->sys_block_state =
            (stat(disk->sys_block_path, &st) == 0 && S_ISDIR(st.st_mode)) ? 1 : -1;
    if (disk->sys_block_state < 0)
        return !disk_name_is_partition(name);
    /* Only whole disks are entries of /sys/block; a '/' in a name ("cciss/c0d0") is a '!'
     * there. */
    len = snprintf(path, sizeof(path), "%s/%s", disk->sys_block_path, name);
    if (len < 0 || (size_t)len >= sizeof(path))
        return false;
    for (char *slash = strchr(path + strlen(disk->sys_block_path) + 1, '/'); slash != NULL;
         slash = strchr(slash, '/'))
        *slash = '!';
    return access(path, F_OK) == 0;
}

/* The device's slot, added when it is new; NULL when it is not kept (name too long, table
 * full). */
static struct disk_device *disk_device_find(struct disk_collector *disk,
                                            const struct disk_field *name)
{
    struct disk_device *device;

    if (name->len >= AGENT_LABEL_MAX)
        return NULL;
    for (size_t i = 0; i < disk->device_count; i++) {
        device = &disk->devices[i];
        if (strlen(device->name) == name->len && memcmp(device->name, name->text, name->len) == 0)
            return device;
    }
    if (disk->device_count == DISK_MAX_DEVICES)
        return NULL;
    device = &disk->devices[disk->device_count++];
    memset(device, 0, sizeof(*device));
    memcpy(device->name, name->text, name->len);
    device->name[name->len] = '\0';
    device->whole_disk = disk_is_whole_disk(disk, device->name);
    return device;
}

/* "   8       0 sda 2370 0 90210 ...": major minor name reads reads-merged sectors-read
 * ms-reading writes writes-merged sectors-written ... */
static int disk_diskstats_line(void *arg, const char *line, size_t len)
{
    struct disk_collector *disk = arg;
    struct disk_field fields[DISK_STATS_MAX_FIELDS];
    size_t count = disk_split(line, len, fields, DISK_STATS_MAX_FIELDS);
    uint64_t counters[DISK_STATS_MAX_FIELDS];
    struct disk_device *device;

    if (count > DISK_STATS_MAX_FIELDS ||
        (count < DISK_STATS_MIN_FIELDS && count != DISK_STATS_OLD_PARTITION_FIELDS))
        return -EBADMSG;
    for (size_t i = 0; i < count; i++) {
        if (i != 2 && !disk_parse_u64(fields[i].text, fields[i].len, &counters[i]))
            return -EBADMSG;
    }
    if (count == DISK_STATS_OLD_PARTITION_FIELDS)
        return 0;
    device = disk_device_find(disk, &fields[2]);
    if (device == NULL)
        return 0;
    if (device->seen)
        return -EBADMSG; /* the same device twice */
    device->cur.reads = counters[3];
    device->cur.sectors_read = counters[5];
    device->cur.writes = counters[7];
    device->cur.sectors_written = counters[9];
    device->seen = true;
    return 0;
}

static int disk_read_diskstats(struct disk_collector *disk)
{
    for (size_t i = 0; i < disk->device_count; i++)
        disk->devices[i].seen = false;
    disk->sys_block_state = 0;
    return proc_lines_read(disk->diskstats_path, disk->buf, sizeof(disk->buf), disk_diskstats_line,
                           disk);
}

/* df's Use%: used / (used + available to unprivileged users), here with 2 decimals. A mount
 * whose statvfs fails (it went away, no permission) or that has no blocks is skipped. */
static int disk_emit_mounts(const struct disk_collector *disk, struct metric_batch *batch)
{
    for (size_t i = 0; i < disk->mount_count; i++) {
        const char *mount_point = disk->mounts[i].mount_point;
        struct statvfs st;
        uint64_t used;
        uint64_t avail;
        double percent;
        int rc;

        if (disk->statvfs_fn(mount_point, &st) != 0 || st.f_blocks == 0)
            continue;
        used = st.f_blocks > st.f_bfree ? (uint64_t)(st.f_blocks - st.f_bfree) : 0;
        avail = (uint64_t)st.f_bavail;
        if (used + avail == 0)
            continue;
        percent = 100.0 * (double)used / (double)(used + avail);
        rc = metric_batch_add_labeled(batch, "disk.used_pct",
                                      metric_round(percent > 100.0 ? 100.0 : percent, 2), "mount",
                                      mount_point);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int disk_emit_device(const struct disk_device *device, double interval_s,
                            struct metric_batch *batch)
{
    const struct disk_counters *prev = &device->prev;
    const struct disk_counters *cur = &device->cur;
    double bits_per_sector = DISK_SECTOR_BYTES * 8.0;
    int rc;

    rc = metric_batch_add_labeled(batch, "disk.iops_read",
                                  counter_rate_per_s(cur->reads - prev->reads, interval_s),
                                  "device", device->name);
    if (rc == 0)
        rc = metric_batch_add_labeled(batch, "disk.iops_write",
                                      counter_rate_per_s(cur->writes - prev->writes, interval_s),
                                      "device", device->name);
    if (rc == 0)
        rc = metric_batch_add_labeled(batch, "disk.throughput_read_mbps",
                                      counter_rate_mbps(cur->sectors_read - prev->sectors_read,
                                                        bits_per_sector, interval_s),
                                      "device", device->name);
    if (rc == 0)
        rc = metric_batch_add_labeled(
            batch, "disk.throughput_write_mbps",
            counter_rate_mbps(cur->sectors_written - prev->sectors_written, bits_per_sector,
                              interval_s),
            "device", device->name);
    return rc;
}

/* A counter that went backwards (the device was re-created, or a 32-bit counter wrapped):
 * no rates for that device this cycle. */
static bool disk_counters_went_back(const struct disk_device *device)
{
    return device->cur.reads < device->prev.reads ||
           device->cur.sectors_read < device->prev.sectors_read ||
           device->cur.writes < device->prev.writes ||
           device->cur.sectors_written < device->prev.sectors_written;
}

static int disk_emit_devices(const struct disk_collector *disk, int64_t now_mono_ms,
                             struct metric_batch *batch)
{
    double interval_s;

    if (!counter_rate_interval(&disk->clock, now_mono_ms, &interval_s))
        return 0;
    for (size_t i = 0; i < disk->device_count; i++) {
        const struct disk_device *device = &disk->devices[i];
        int rc;

        if (!device->whole_disk || !device->seen || !device->has_prev ||
            disk_counters_went_back(device))
            continue;
        rc = disk_emit_device(device, interval_s, batch);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The reading just taken becomes the previous one; devices absent from it are forgotten. */
static void disk_commit(struct disk_collector *disk, int64_t now_mono_ms)
{
    size_t kept = 0;

    for (size_t i = 0; i < disk->device_count; i++) {
        struct disk_device *device = &disk->devices[i];

        if (!device->seen)
            continue;
        device->prev = device->cur;
        device->has_prev = true;
        if (kept != i)
            disk->devices[kept] = *device;
        kept++;
    }
    disk->device_count = kept;
    counter_rate_commit(&disk->clock, now_mono_ms);
}

/* On a read or parse error nothing is appended and the previous reading is kept. When the
 * batch fills up, what fit stays and the reading is still taken over. */
static int disk_collect(void *ctx, int64_t now_mono_ms, struct metric_batch *batch)
{
    struct disk_collector *disk = ctx;
    int rc;

    rc = disk_read_mounts(disk);
    if (rc < 0)
        return rc;
    rc = disk_read_diskstats(disk);
    if (rc < 0)
        return rc;
    rc = disk_emit_mounts(disk, batch);
    if (rc == 0)
        rc = disk_emit_devices(disk, now_mono_ms, batch);
    disk_commit(disk, now_mono_ms);
    return rc;
}

static void disk_destroy(void *ctx)
{
    free(ctx);
}

static bool disk_path(char *out, const char *root, const char *file)
{
    int len = snprintf(out, PATH_MAX, "%s/%s", root, file);

    return len >= 0 && len < PATH_MAX;
}

int collector_disk_new(const struct collector_env *env, struct collector *out)
{
    struct disk_collector *disk;

    if (env == NULL || env->proc_root == NULL || env->sys_root == NULL || out == NULL)
        return -EINVAL;
    disk = calloc(1, sizeof(*disk));
    if (disk == NULL)
        return -ENOMEM;
    if (!disk_path(disk->mountinfo_path, env->proc_root, "self/mountinfo") ||
        !disk_path(disk->mounts_path, env->proc_root, "mounts") ||
        !disk_path(disk->diskstats_path, env->proc_root, "diskstats") ||
        !disk_path(disk->sys_block_path, env->sys_root, "block")) {
        free(disk);
        return -EINVAL;
    }
    disk->statvfs_fn = env->statvfs_fn != NULL ? env->statvfs_fn : statvfs;

    /* The first reading, so that the first collect already has rates. A missing or bad
     * source is not fatal here: collect reports it. */
    if (disk_read_diskstats(disk) == 0)
        disk_commit(disk, clock_mono_ms());

    out->name = "disk";
    out->ctx = disk;
    out->collect = disk_collect;
    out->destroy = disk_destroy;
    return 0;
}
