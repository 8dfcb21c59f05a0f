/* Unit tests for the disk, net and gpu collectors, against fixture copies of /proc
 * (tests/fixtures/proc, or $FIXTURES_DIR/proc), fixture /sys/block trees, a fake statvfs, a
 * fake NVML shared object (tests/fakes/fake_nvml.c) and this machine's /proc. Expected
 * values are literals worked out by hand (awk) from the fixture files. Single-threaded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/clock.h"
#include "edge-agent/batch.h"
#include "edge-agent/collector.h"
#include "tests/support/alloc_fail.h"
#include "tests/support/fixture_tree.h"

/* The sources the collectors read, relative to proc_root. */
static const char *const proc_files[] = {"self/mountinfo", "mounts",       "diskstats",
                                         "net/dev",        "net/sockstat", "net/sockstat6"};

struct test_state {
    char dir[64];            /* a temporary proc_root */
    char sys_root[PATH_MAX]; /* a fixture /sys tree, or a path that does not exist */
    struct collector_env env;
    struct metric_batch *batch;
};

/* ---- the fake statvfs ---- */

struct fake_fs {
    const char *mount_point;
    unsigned long blocks;
    unsigned long bfree;
    unsigned long bavail;
    int error; /* statvfs fails with this errno when not 0 */
};

/* vm-io's "/" is this VM's statvfs("/") taken with the capture (stat -f /); the others are
 * made up for server-a, container-host and edge-board. */
static const struct fake_fs fake_filesystems[] = {
    {"/", 66053021, 60964128, 19995404, 0},
    {"/boot", 249830, 180000, 166000, 0},
    {"/data", 2000000000, 500000000, 500000000, 0},
    {"/var/lib/postgresql", 100, 100, 95, 0},
    {"/srv/backup", 1000, 50, 0, 0},
    {"/mnt/media library", 7, 4, 4, 0},
    {"/srv/q4", 1000, 250, 250, 0},
    {"/mnt/nas", 0, 0, 0, EACCES},
    {"/home", 1, 1, 1, 0},
    {"/srv/nfs", 1, 1, 1, 0},
    {"/boot/efi", 130812, 120000, 120000, 0},
    {"/var/lib/containerd", 52428800, 13107200, 13107200, 0},
    {"/media/usb stick", 0, 0, 0, 0}, /* no blocks: skipped */
    {"/mnt/usb", 1, 1, 1, 0},
};
static char fake_statvfs_calls[64][AGENT_LABEL_MAX];
static size_t fake_statvfs_call_count;

static int fake_statvfs(const char *path, struct statvfs *out)
{
    if (fake_statvfs_call_count < sizeof(fake_statvfs_calls) / sizeof(fake_statvfs_calls[0]))
        (void)snprintf(fake_statvfs_calls[fake_statvfs_call_count++], AGENT_LABEL_MAX, "%s", path);
    for (size_t i = 0; i < sizeof(fake_filesystems) / sizeof(fake_filesystems[0]); i++) {
        const struct fake_fs *fs = &fake_filesystems[i];

        if (strcmp(fs->mount_point, path) != 0)
            continue;
        if (fs->error != 0) {
            errno = fs->error;
            return -1;
        }
        memset(out, 0, sizeof(*out));
        out->f_bsize = 4096;
        out->f_frsize = 4096;
        out->f_blocks = fs->blocks;
        out->f_bfree = fs->bfree;
        out->f_bavail = fs->bavail;
        return 0;
    }
    errno = ENOENT;
    return -1;
}

static bool fake_statvfs_was_called_for(const char *path)
{
    for (size_t i = 0; i < fake_statvfs_call_count; i++) {
        if (strcmp(fake_statvfs_calls[i], path) == 0)
            return true;
    }
    return false;
}

/* ---- fixtures ---- */

static void tmp_path(const struct test_state *ts, const char *file, char *out, size_t size)
{
    (void)snprintf(out, size, "%s/%s", ts->dir, file);
}

static int state_setup(void **state)
{
    struct test_state *ts = calloc(1, sizeof(*ts));
    char path[128];

    if (ts == NULL || fixture_tree_open(ts->dir, sizeof(ts->dir), "collectors-sys", 1796146252000,
                                        &ts->batch) != 0) {
        free(ts);
        return -1;
    }
    tmp_path(ts, "self", path, sizeof(path));
    (void)mkdir(path, 0700);
    tmp_path(ts, "net", path, sizeof(path));
    (void)mkdir(path, 0700);
    (void)snprintf(ts->sys_root, sizeof(ts->sys_root), "/nonexistent/updraft-sys");
    ts->env.proc_root = ts->dir;
    ts->env.sys_root = ts->sys_root;
    ts->env.top_n = 10;
    ts->env.statvfs_fn = fake_statvfs;
    fake_statvfs_call_count = 0;
    *state = ts;
    return 0;
}

static int state_teardown(void **state)
{
    struct test_state *ts = *state;

    fixture_tree_close(ts->dir, ts->batch);
    free(ts);
    return 0;
}

/* Makes the temporary proc_root hold exactly the files fixture tree `tree` has. */
static void use_fixture(const struct test_state *ts, const char *tree)
{
    fixture_tree_copy(ts->dir, tree, proc_files, sizeof(proc_files) / sizeof(proc_files[0]), true);
}

/* Replaces one file of the temporary proc_root with tree `tree`'s. */
static void use_fixture_file(const struct test_state *ts, const char *tree, const char *file)
{
    char from[512];
    char to[128];

    (void)snprintf(from, sizeof(from), "%s/proc/%s/%s", fixture_tree_dir(), tree, file);
    tmp_path(ts, file, to, sizeof(to));
    fixture_tree_copy_file(from, to);
}

/* Points sys_root at tests/fixtures/sys/<tree>. */
static void use_sys_fixture(struct test_state *ts, const char *tree)
{
    char block[PATH_MAX + 8];

    (void)snprintf(ts->sys_root, sizeof(ts->sys_root), "%s/sys/%s", fixture_tree_dir(), tree);
    (void)snprintf(block, sizeof(block), "%s/block", ts->sys_root);
    if (access(block, F_OK) != 0)
        fail_msg("fixture tree %s not found", block);
}

static void write_text(const struct test_state *ts, const char *file, const char *text)
{
    fixture_tree_write(ts->dir, file, text, strlen(text));
}

static void remove_file(const struct test_state *ts, const char *file)
{
    char path[128];

    tmp_path(ts, file, path, sizeof(path));
    assert_int_equal(unlink(path), 0);
}

/* ---- batch lookups ---- */

static const struct batch_sample *find_labeled(const struct metric_batch *batch, const char *name,
                                               const char *label_value)
{
    for (size_t i = 0; i < batch->count; i++) {
        const struct batch_sample *sample = &batch->samples[i];

        if (strcmp(sample->name, name) == 0 &&
            (label_value == NULL || strcmp(sample->label_value, label_value) == 0))
            return sample;
    }
    return NULL;
}

static size_t count_metric(const struct metric_batch *batch, const char *name)
{
    size_t count = 0;

    for (size_t i = 0; i < batch->count; i++)
        count += strcmp(batch->samples[i].name, name) == 0;
    return count;
}

static size_t count_label(const struct metric_batch *batch, const char *label_value)
{
    size_t count = 0;

    for (size_t i = 0; i < batch->count; i++)
        count += strcmp(batch->samples[i].label_value, label_value) == 0;
    return count;
}

/* Exact comparison: both sides are the double nearest to the same 2-decimal number. */
#define assert_labeled(batch, name, key, label, expected)                                          \
    do {                                                                                           \
        const struct batch_sample *found_ = find_labeled((batch), (name), (label));                \
        if (found_ == NULL)                                                                        \
            fail_msg("metric %s{%s} missing", (name), (label));                                    \
        assert_string_equal(found_->label_key, (key));                                             \
        if (found_->value != (expected))                                                           \
            fail_msg("metric %s{%s} is %.17g, expected %.17g", (name), (label), found_->value,     \
                     (double)(expected));                                                          \
    } while (0)

#define assert_disk(batch, name, device, expected)                                                 \
    assert_labeled(batch, name, "device", device, expected)
#define assert_mount(batch, mount, expected)                                                       \
    assert_labeled(batch, "disk.used_pct", "mount", mount, expected)
#define assert_iface(batch, name, iface, expected)                                                 \
    assert_labeled(batch, name, "interface", iface, expected)
#define assert_gpu(batch, name, index, expected)                                                   \
    assert_labeled(batch, name, "gpu_index", index, expected)

static void assert_sockets(const struct metric_batch *batch, double expected)
{
    const struct batch_sample *found = find_labeled(batch, "net.sockets_active", NULL);

    assert_non_null(found);
    assert_string_equal(found->label_key, "");
    if (found->value != expected)
        fail_msg("net.sockets_active is %g, expected %g", found->value, expected);
}

/* Creates the collector on tree `before`, takes a reading of it again at t = 0 (the
 * constructor's reading carries the real monotonic time, later than 0, so this only moves
 * the base to t = 0), then collects tree `after` at interval_ms. */
static void collect_pair(struct test_state *ts,
                         int (*ctor)(const struct collector_env *, struct collector *),
                         const char *before, const char *after, int64_t interval_ms)
{
    struct collector c;

    use_fixture(ts, before);
    assert_int_equal(ctor(&ts->env, &c), 0);
    assert_int_equal(c.collect(c.ctx, 0, ts->batch), 0);
    metric_batch_reset(ts->batch, 0);
    fake_statvfs_call_count = 0;
    use_fixture(ts, after);
    assert_int_equal(c.collect(c.ctx, interval_ms, ts->batch), 0);
    c.destroy(c.ctx);
}

/* ---- disk ---- */

/* vm-io -> vm-io-later: captured 2874 ms apart (1796146249.693 -> .252.567) around
 * `dd bs=1M count=200 conv=fsync`. vda deltas (awk): reads 3, sectors read 24, writes 54,
 * sectors written 409624. */
static void disk_rates_of_the_captured_vm_follow_the_diskstats_deltas(void **state)
{
    struct test_state *ts = *state;

    use_sys_fixture(ts, "vm-io");
    collect_pair(ts, collector_disk_new, "vm-io", "vm-io-later", 2874);
    assert_disk(ts->batch, "disk.iops_read", "vda", 1.04);   /* 3/2.874 = 1.0438 */
    assert_disk(ts->batch, "disk.iops_write", "vda", 18.79); /* 54/2.874 = 18.7891 */
    /* 24*512*8/1e6/2.874 = 0.0342; 409624*512*8/1e6/2.874 = 583.7926 Mbit/s */
    assert_disk(ts->batch, "disk.throughput_read_mbps", "vda", 0.03);
    assert_disk(ts->batch, "disk.throughput_write_mbps", "vda", 583.79);
    /* loop0-7 and zram0 are whole disks in /sys/block but virtual: skipped. */
    assert_int_equal(count_metric(ts->batch, "disk.iops_read"), 1);
    /* "/" (ext4 on 254:0) is the only real filesystem; statvfs from the capture: used
     * 66053021-60964128 = 5088893, 100*5088893/(5088893+19995404) = 20.2872 % */
    assert_mount(ts->batch, "/", 20.29);
    assert_int_equal(count_metric(ts->batch, "disk.used_pct"), 1);
    assert_int_equal(ts->batch->count, 5);
    /* Every pseudo filesystem (proc, sysfs, devtmpfs, tmpfs, devpts, cgroup, cgroup2) was
     * left out before statvfs. */
    assert_int_equal(fake_statvfs_call_count, 1);
}

/* server-a -> server-a-later, 10 s. Deltas (awk): sda reads 1500, sectors read 96000, writes
 * 2500, sectors written 400000; sdb 0 0 10 80; md0 33 264 125 1000; sr0 0; nvme0n1 all
 * negative (reset). */
static void disk_whole_disks_only_from_sys_block(void **state)
{
    struct test_state *ts = *state;

    use_sys_fixture(ts, "server-a");
    collect_pair(ts, collector_disk_new, "server-a", "server-a-later", 10000);
    assert_disk(ts->batch, "disk.iops_read", "sda", 150.0);              /* 1500/10 */
    assert_disk(ts->batch, "disk.iops_write", "sda", 250.0);             /* 2500/10 */
    assert_disk(ts->batch, "disk.throughput_read_mbps", "sda", 39.32);   /* 39.3216 */
    assert_disk(ts->batch, "disk.throughput_write_mbps", "sda", 163.84); /* 163.84 */
    assert_disk(ts->batch, "disk.iops_read", "sdb", 0.0);
    assert_disk(ts->batch, "disk.iops_write", "sdb", 1.0);             /* 10/10 */
    assert_disk(ts->batch, "disk.throughput_write_mbps", "sdb", 0.03); /* 0.032768 */
    assert_disk(ts->batch, "disk.iops_read", "md0", 3.3);              /* 33/10 */
    assert_disk(ts->batch, "disk.iops_write", "md0", 12.5);            /* 125/10 */
    assert_disk(ts->batch, "disk.throughput_read_mbps", "md0", 0.11);  /* 0.108134 */
    assert_disk(ts->batch, "disk.throughput_write_mbps", "md0", 0.41); /* 0.4096 */
    assert_disk(ts->batch, "disk.iops_read", "sr0", 0.0);
    /* Partitions (not entries of /sys/block), loop0 and dm-0 (virtual), sdc (new: no
     * previous reading) and nvme0n1 (counters went back) have no rates. */
    assert_int_equal(count_metric(ts->batch, "disk.iops_read"), 4);
    assert_int_equal(count_metric(ts->batch, "disk.throughput_write_mbps"), 4);
    assert_int_equal(count_label(ts->batch, "nvme0n1"), 0);
    assert_int_equal(count_label(ts->batch, "sdc"), 0);
    assert_int_equal(count_label(ts->batch, "sda1"), 0);
    assert_int_equal(count_label(ts->batch, "dm-0"), 0);
}

static void disk_used_pct_is_used_over_used_plus_available_per_real_filesystem(void **state)
{
    struct test_state *ts = *state;

    use_sys_fixture(ts, "server-a");
    collect_pair(ts, collector_disk_new, "server-a", "server-a-later", 10000);
    /* used = blocks - bfree, 100 * used / (used + bavail) */
    assert_mount(ts->batch, "/", 20.29);                  /* as in vm-io */
    assert_mount(ts->batch, "/boot", 29.61);              /* 69830/235830 = 29.6103 */
    assert_mount(ts->batch, "/data", 75.0);               /* 1.5e9/2e9 */
    assert_mount(ts->batch, "/var/lib/postgresql", 0.0);  /* 0/95 */
    assert_mount(ts->batch, "/srv/backup", 100.0);        /* 950/950: reserved blocks */
    assert_mount(ts->batch, "/mnt/media library", 42.86); /* \040 unescaped; 3/7 = 42.857 */
    assert_mount(ts->batch, "/srv/q4", 75.0);             /* 750/1000 */
    assert_int_equal(count_metric(ts->batch, "disk.used_pct"), 7);
    /* Bind mounts of 8:2 (/home) and 9:0 (/srv/nfs) are not asked about; neither are the
     * squashfs snap, the pseudo filesystems, or the 68-byte mount point of 259:2 (too long
     * for a label; its bind mount /srv/q4 stands for the device). /mnt/nas (nfs4) was asked
     * and failed with EACCES: skipped. */
    assert_false(fake_statvfs_was_called_for("/home"));
    assert_false(fake_statvfs_was_called_for("/srv/nfs"));
    assert_false(fake_statvfs_was_called_for("/snap/core20/2318"));
    assert_false(fake_statvfs_was_called_for("/run"));
    assert_true(fake_statvfs_was_called_for("/mnt/nas"));
    assert_int_equal(fake_statvfs_call_count, 8);
    /* The mounts come first, in mountinfo order. */
    assert_string_equal(ts->batch->samples[0].label_value, "/");
    assert_string_equal(ts->batch->samples[6].label_value, "/srv/q4");
}

static void disk_container_host_reports_three_filesystems_and_uses_the_name_rule(void **state)
{
    struct test_state *ts = *state;

    /* No sys tree: whole disks by name. The same reading twice: rates are all 0. */
    collect_pair(ts, collector_disk_new, "container-host", "container-host", 1000);
    assert_mount(ts->batch, "/", 20.29);
    assert_mount(ts->batch, "/boot/efi", 8.27);           /* 10812/130812 = 8.2653 */
    assert_mount(ts->batch, "/var/lib/containerd", 75.0); /* 39321600/52428800 */
    /* overlay, tmpfs, shm, nsfs, fuse.lxcfs, squashfs, efivarfs, ... left out; the kubelet
     * bind mounts of 259:1 deduplicated into "/". */
    assert_int_equal(count_metric(ts->batch, "disk.used_pct"), 3);
    assert_int_equal(fake_statvfs_call_count, 3);
    assert_disk(ts->batch, "disk.iops_read", "nvme0n1", 0.0);
    assert_disk(ts->batch, "disk.throughput_write_mbps", "nvme1n1", 0.0);
    assert_int_equal(count_metric(ts->batch, "disk.iops_write"), 2);
    assert_int_equal(ts->batch->count, 3 + 2 * 4);
}

static void disk_mount_points_are_unescaped_and_ones_with_nul_skipped(void **state)
{
    struct test_state *ts = *state;
    struct collector disk;

    write_text(ts, "diskstats", "");
    write_text(ts, "self/mountinfo",
               "1 0 8:1 / /mnt/back\\134slash rw - ext4 /dev/sda1 rw\n"
               "2 0 8:2 / /mnt/tab\\011and\\012newline rw - ext4 /dev/sda2 rw\n"
               "3 0 8:3 / /mnt/nul\\000byte rw - ext4 /dev/sda3 rw\n"
               "4 0 8:4 / /mnt/cut\\04 rw - ext4 /dev/sda4 rw\n"
               "5 0 8:5 / /mnt/not\\777octal rw - ext4 /dev/sda5 rw\n");
    assert_int_equal(collector_disk_new(&ts->env, &disk), 0);
    assert_int_equal(disk.collect(disk.ctx, 0, ts->batch), 0);
    assert_true(fake_statvfs_was_called_for("/mnt/back\\slash"));
    assert_true(fake_statvfs_was_called_for("/mnt/tab\tand\nnewline"));
    assert_true(fake_statvfs_was_called_for("/mnt/cut\\04"));       /* too short: literal */
    assert_true(fake_statvfs_was_called_for("/mnt/not\\777octal")); /* > \377: literal */
    assert_int_equal(fake_statvfs_call_count, 4);                   /* not the NUL one */
    disk.destroy(disk.ctx);
}

static void disk_reads_proc_mounts_without_mountinfo(void **state)
{
    struct test_state *ts = *state;

    /* edge-board has no self/mountinfo; sources dedupe: /dev/sda1 is mounted twice. */
    collect_pair(ts, collector_disk_new, "edge-board", "edge-board", 1000);
    assert_mount(ts->batch, "/", 20.29);
    assert_mount(ts->batch, "/boot", 29.61);
    assert_true(fake_statvfs_was_called_for("/media/usb stick")); /* no blocks: skipped */
    assert_false(fake_statvfs_was_called_for("/mnt/usb"));
    assert_int_equal(count_metric(ts->batch, "disk.used_pct"), 2);
    /* mmcblk0 and sda are whole disks by name; mmcblk0p1, mmcblk0p2, sda1, ram0-1 are not. */
    assert_disk(ts->batch, "disk.iops_read", "mmcblk0", 0.0);
    assert_disk(ts->batch, "disk.iops_read", "sda", 0.0);
    assert_int_equal(count_metric(ts->batch, "disk.iops_read"), 2);
}

static void disk_name_rule_tells_partitions_from_whole_disks(void **state)
{
    static const struct {
        const char *name;
        bool whole_disk;
    } cases[] = {
        {"sda", true},      {"sda1", false},      {"sdaa", true},          {"sdaa12", false},
        {"hdb2", false},    {"vda", true},        {"vdb3", false},         {"xvda", true},
        {"xvdf1", false},   {"nvme0n1", true},    {"nvme0n1p2", false},    {"nvme10n12", true},
        {"mmcblk0", true},  {"mmcblk0p1", false}, {"mmcblk0boot0", true},  {"md0", true},
        {"md127p1", false}, {"sr0", true},        {"nbd3", true},          {"nbd3p1", false},
        {"loop0", false},   {"loop0p1", false},   {"ram7", false},         {"zram0", false},
        {"dm-3", false},    {"cciss/c0d0", true}, {"cciss/c0d0p1", false},
    };
    struct test_state *ts = *state;
    char diskstats[4096] = "";
    struct collector disk;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char line[128];

        (void)snprintf(line, sizeof(line), " 8 %zu %s 1 0 8 0 2 0 16 0 0 0 0\n", i, cases[i].name);
        strcat(diskstats, line);
    }
    write_text(ts, "self/mountinfo", "");
    write_text(ts, "diskstats", diskstats);
    assert_int_equal(collector_disk_new(&ts->env, &disk), 0);
    assert_int_equal(disk.collect(disk.ctx, 0, ts->batch), 0);
    assert_int_equal(disk.collect(disk.ctx, 1000, ts->batch), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool reported = find_labeled(ts->batch, "disk.iops_read", cases[i].name) != NULL;

        if (reported != cases[i].whole_disk)
            fail_msg("%s: reported %d, expected %d", cases[i].name, reported, cases[i].whole_disk);
    }
    disk.destroy(disk.ctx);
}

static void disk_old_kernel_partition_lines_are_skipped(void **state)
{
    struct test_state *ts = *state;
    struct collector disk;

    /* Before 2.6.25 partitions had 4 counters: reads sectors-read writes sectors-written. */
    write_text(ts, "self/mountinfo", "");
    write_text(ts, "diskstats",
               "   3    0 hda 446216 784926 9550688 4382310 424847 312726 "
               "5922052 19310380 0 3376340 23705160\n"
               "   3    1 hda1 35486 38030 38030 38030\n");
    assert_int_equal(collector_disk_new(&ts->env, &disk), 0);
    assert_int_equal(disk.collect(disk.ctx, 0, ts->batch), 0);
    metric_batch_reset(ts->batch, 0);
    write_text(ts, "diskstats",
               "   3    0 hda 446316 784926 9551488 4382310 424947 312726 "
               "5922852 19310380 0 3376340 23705160\n"
               "   3    1 hda1 35586 38830 38130 38830\n");
    assert_int_equal(disk.collect(disk.ctx, 2000, ts->batch), 0);
    assert_int_equal(ts->batch->count, 4);
    assert_disk(ts->batch, "disk.iops_read", "hda", 50.0);            /* 100/2 */
    assert_disk(ts->batch, "disk.throughput_read_mbps", "hda", 1.64); /* 800*4096/1e6/2 */
    disk.destroy(disk.ctx);
}

static void disk_first_collect_has_rates_from_the_constructor_reading(void **state)
{
    struct test_state *ts = *state;
    struct collector disk;
    const struct batch_sample *write_mbps;

    use_sys_fixture(ts, "vm-io");
    use_fixture(ts, "vm-io");
    assert_int_equal(collector_disk_new(&ts->env, &disk), 0);
    use_fixture(ts, "vm-io-later");
    /* The constructor stamped its reading a little before this clock read: the interval is
     * 2874 ms and a bit, so the rates are a bit below the exact ones. */
    assert_int_equal(disk.collect(disk.ctx, clock_mono_ms() + 2874, ts->batch), 0);
    write_mbps = find_labeled(ts->batch, "disk.throughput_write_mbps", "vda");
    assert_non_null(write_mbps);
    assert_true(write_mbps->value <= 583.79 && write_mbps->value > 575.0);
    disk.destroy(disk.ctx);
}

static void disk_counters_going_back_give_no_rates_then_restart_from_there(void **state)
{
    struct test_state *ts = *state;
    struct collector disk;

    use_sys_fixture(ts, "server-a");
    use_fixture(ts, "server-a");
    assert_int_equal(collector_disk_new(&ts->env, &disk), 0);
    assert_int_equal(disk.collect(disk.ctx, 0, ts->batch), 0);
    use_fixture(ts, "server-a-later");
    metric_batch_reset(ts->batch, 0);
    assert_int_equal(disk.collect(disk.ctx, 10000, ts->batch), 0);
    assert_int_equal(count_label(ts->batch, "nvme0n1"), 0);

    /* Same reading 10 s later: nvme0n1 has a base again (all 0), sdc has one now. */
    metric_batch_reset(ts->batch, 0);
    assert_int_equal(disk.collect(disk.ctx, 20000, ts->batch), 0);
    assert_disk(ts->batch, "disk.iops_read", "nvme0n1", 0.0);
    assert_disk(ts->batch, "disk.iops_read", "sdc", 0.0);
    assert_int_equal(count_metric(ts->batch, "disk.iops_read"), 6);
    disk.destroy(disk.ctx);
}

static void disk_no_time_passed_gives_no_rates(void **state)
{
    struct test_state *ts = *state;
    struct collector disk;

    use_sys_fixture(ts, "server-a");
    use_fixture(ts, "server-a");
    assert_int_equal(collector_disk_new(&ts->env, &disk), 0);
    assert_int_equal(disk.collect(disk.ctx, 5000, ts->batch), 0);
    metric_batch_reset(ts->batch, 0);
    use_fixture(ts, "server-a-later");
    assert_int_equal(disk.collect(disk.ctx, 5000, ts->batch), 0);
    assert_int_equal(count_metric(ts->batch, "disk.iops_read"), 0);
    assert_int_equal(count_metric(ts->batch, "disk.used_pct"), 7);
    disk.destroy(disk.ctx);
}

static void disk_missing_sources_give_enoent_and_append_nothing(void **state)
{
    struct test_state *ts = *state;
    struct collector disk;

    ts->env.proc_root = "/nonexistent/updraft-proc";
    assert_int_equal(collector_disk_new(&ts->env, &disk), 0);
    assert_string_equal(disk.name, "disk");
    assert_int_equal(metric_batch_add(ts->batch, "before", 1.0), 0);
    assert_int_equal(disk.collect(disk.ctx, 0, ts->batch), -ENOENT);
    assert_int_equal(ts->batch->count, 1);
    disk.destroy(disk.ctx);

    /* A mount table but no diskstats. */
    ts->env.proc_root = ts->dir;
    use_fixture(ts, "server-a");
    remove_file(ts, "diskstats");
    assert_int_equal(collector_disk_new(&ts->env, &disk), 0);
    assert_int_equal(disk.collect(disk.ctx, 0, ts->batch), -ENOENT);
    assert_int_equal(ts->batch->count, 1);
    /* Neither mountinfo nor mounts. */
    use_fixture(ts, "server-a");
    remove_file(ts, "self/mountinfo");
    assert_int_equal(disk.collect(disk.ctx, 0, ts->batch), -ENOENT);
    assert_int_equal(ts->batch->count, 1);
    disk.destroy(disk.ctx);
}

static void disk_malformed_sources_give_ebadmsg_and_append_nothing(void **state)
{
    static const struct {
        const char *file;
        const char *text;
    } bad[] = {
        {"self/mountinfo", "21 1 8:2 / / rw shared:1 ext4 /dev/sda2 rw\n"}, /* no "-" */
        {"self/mountinfo", "21 1 8:2 / / rw - ext4\n"},                     /* no source */
        {"self/mountinfo", "21 1 8-2 / / rw - ext4 /dev/sda2 rw\n"},        /* maj:min */
        {"self/mountinfo", "x 1 8:2 / / rw - ext4 /dev/sda2 rw\n"},         /* id */
        {"self/mountinfo", "21 1 8:99999999999 / / rw - ext4 /dev/sda2 rw\n"},
        {"self/mountinfo", "21 1 8:2 / relative rw - ext4 /dev/sda2 rw\n"},
        {"mounts", "/dev/sda1 /boot\n"}, /* too few fields */
        {"mounts", "/dev/sda1 /boot ext4 rw 0 0 extra\n"},
        {"diskstats", "   8 0 sda 1 2 3 4 5 6 7 8 9 10\n"},                      /* 10 counters */
        {"diskstats", "   8 0 sda 1 2 3 4 5 6 7 8 9 10 x\n"},                    /* not a number */
        {"diskstats", "   8 0 sda 1 2 3 4 5 6 7 8 9 10 -11\n"},                  /* negative */
        {"diskstats", "   8 0 sda 1 2 3 4 5 6 7 8 9 10 99999999999999999999\n"}, /* > 64 bits */
        {"diskstats", "   8 0 sda 1 2 3 4 5 6 7 8 9 10 11\n   8 0 sda 1 2 3 4 5 6 7 8 9 10 11\n"},
        {"diskstats", "   8 0 sda 1 2 3 4 5 6 7 8 9 10 11\n   8 1 sda1 1 2 3\n"},
    };
    struct test_state *ts = *state;
    struct collector disk;

    use_sys_fixture(ts, "server-a");
    use_fixture(ts, "bad-sys"); /* mountinfo line 4 has no "-" separator */
    assert_int_equal(collector_disk_new(&ts->env, &disk), 0);
    assert_int_equal(disk.collect(disk.ctx, 0, ts->batch), -EBADMSG);
    assert_int_equal(ts->batch->count, 0);
    /* bad-sys/diskstats is cut off in the sda2 line. */
    write_text(ts, "self/mountinfo", "");
    assert_int_equal(disk.collect(disk.ctx, 0, ts->batch), -EBADMSG);
    assert_int_equal(ts->batch->count, 0);
    disk.destroy(disk.ctx);

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        use_fixture(ts, "server-a");
        if (strcmp(bad[i].file, "mounts") == 0)
            remove_file(ts, "self/mountinfo");
        write_text(ts, bad[i].file, bad[i].text);
        assert_int_equal(collector_disk_new(&ts->env, &disk), 0);
        if (disk.collect(disk.ctx, 1000, ts->batch) != -EBADMSG)
            fail_msg("case %zu (%s) was accepted", i, bad[i].text);
        assert_int_equal(ts->batch->count, 0);
        disk.destroy(disk.ctx);
    }
}

static void disk_full_batch_gives_enospc_and_keeps_what_fit(void **state)
{
    struct test_state *ts = *state;
    struct collector disk;

    use_sys_fixture(ts, "server-a");
    use_fixture(ts, "server-a");
    assert_int_equal(collector_disk_new(&ts->env, &disk), 0);
    while (ts->batch->count < AGENT_BATCH_MAX - 3)
        assert_int_equal(metric_batch_add(ts->batch, "filler", 0.0), 0);
    assert_int_equal(disk.collect(disk.ctx, 0, ts->batch), -ENOSPC);
    assert_int_equal(ts->batch->count, AGENT_BATCH_MAX);
    assert_mount(ts->batch, "/", 20.29);
    assert_mount(ts->batch, "/boot", 29.61);
    assert_mount(ts->batch, "/data", 75.0);

    /* The reading was still taken over: 10 s later the rates are there. */
    metric_batch_reset(ts->batch, 0);
    use_fixture(ts, "server-a-later");
    assert_int_equal(disk.collect(disk.ctx, 10000, ts->batch), 0);
    assert_disk(ts->batch, "disk.iops_read", "sda", 150.0);
    disk.destroy(disk.ctx);
}

static void disk_constructor_rejects_bad_arguments(void **state)
{
    struct test_state *ts = *state;
    struct collector disk = {0};
    char long_root[5000];

    memset(long_root, 'a', sizeof(long_root) - 1);
    long_root[sizeof(long_root) - 1] = '\0';
    assert_int_equal(collector_disk_new(NULL, &disk), -EINVAL);
    assert_int_equal(collector_disk_new(&ts->env, NULL), -EINVAL);
    ts->env.sys_root = NULL;
    assert_int_equal(collector_disk_new(&ts->env, &disk), -EINVAL);
    ts->env.sys_root = long_root;
    assert_int_equal(collector_disk_new(&ts->env, &disk), -EINVAL);
    ts->env.sys_root = ts->sys_root;
    ts->env.proc_root = long_root;
    assert_int_equal(collector_disk_new(&ts->env, &disk), -EINVAL);
    assert_null(disk.ctx); /* *out untouched on failure */
}

static void disk_collector_reads_the_real_proc_and_statvfs(void **state)
{
    struct test_state *ts = *state;
    struct collector_env env = {.proc_root = "/proc", .sys_root = "/sys", .statvfs_fn = NULL};
    struct collector disk;

    assert_int_equal(collector_disk_new(&env, &disk), 0);
    assert_int_equal(disk.collect(disk.ctx, clock_mono_ms() + 1000, ts->batch), 0);
    /* What is there depends on the machine (in a container "/" is overlay): check ranges. */
    for (size_t i = 0; i < ts->batch->count; i++) {
        const struct batch_sample *sample = &ts->batch->samples[i];

        assert_true(sample->label_value[0] != '\0');
        assert_true(sample->value >= 0.0);
        if (strcmp(sample->name, "disk.used_pct") == 0)
            assert_true(sample->value <= 100.0);
    }
    disk.destroy(disk.ctx);
}

/* ---- net ---- */

static void net_captured_vm_has_idle_interfaces_and_one_socket(void **state)
{
    struct test_state *ts = *state;

    collect_pair(ts, collector_net_new, "vm-io", "vm-io-later", 2874);
    /* TCP 1 + UDP 0 + TCP6 0 + UDP6 0 */
    assert_sockets(ts->batch, 1.0);
    /* eth0, ifb0 and ifb1 did not change in the 2.874 s; lo is left out. */
    assert_iface(ts->batch, "net.rx_mbps", "eth0", 0.0);
    assert_iface(ts->batch, "net.tx_mbps", "ifb1", 0.0);
    assert_int_equal(count_label(ts->batch, "lo"), 0);
    assert_int_equal(ts->batch->count, 1 + 3 * 4);
}

/* server-a -> server-a-later, 10 s. eno1: rx bytes +125000000, tx +12500000, errs rx +3 tx
 * +1, drop rx +5 tx +0. bond0: rx +1234567, tx +7654321. eno2: counters went back (driver
 * reset). docker0 unchanged; vethab12cd3 new. */
static void net_rates_errors_and_drops_follow_net_dev_deltas(void **state)
{
    struct test_state *ts = *state;

    collect_pair(ts, collector_net_new, "server-a", "server-a-later", 10000);
    assert_iface(ts->batch, "net.rx_mbps", "eno1", 100.0); /* 125e6*8/1e6/10 */
    assert_iface(ts->batch, "net.tx_mbps", "eno1", 10.0);  /* 12.5e6*8/1e6/10 */
    assert_iface(ts->batch, "net.errors", "eno1", 4.0);    /* 3 + 1 */
    assert_iface(ts->batch, "net.drops", "eno1", 5.0);     /* 5 + 0 */
    assert_iface(ts->batch, "net.rx_mbps", "bond0", 0.99); /* 0.9876536 */
    assert_iface(ts->batch, "net.tx_mbps", "bond0", 6.12); /* 6.1234568 */
    assert_iface(ts->batch, "net.errors", "bond0", 0.0);
    assert_iface(ts->batch, "net.drops", "docker0", 0.0);
    assert_int_equal(count_label(ts->batch, "eno2"), 0);
    assert_int_equal(count_label(ts->batch, "vethab12cd3"), 0);
    assert_int_equal(count_label(ts->batch, "lo"), 0);
    /* server-a-later: TCP 42 + UDP 7 + TCP6 12 + UDP6 3 */
    assert_sockets(ts->batch, 64.0);
    assert_int_equal(ts->batch->count, 1 + 3 * 4);
    assert_string_equal(ts->batch->samples[0].name, "net.sockets_active");
}

static void net_counter_reset_gives_nothing_then_restarts_from_there(void **state)
{
    struct test_state *ts = *state;
    struct collector net;

    use_fixture(ts, "server-a");
    assert_int_equal(collector_net_new(&ts->env, &net), 0);
    assert_int_equal(net.collect(net.ctx, 0, ts->batch), 0);
    use_fixture(ts, "server-a-later");
    metric_batch_reset(ts->batch, 0);
    assert_int_equal(net.collect(net.ctx, 10000, ts->batch), 0);
    assert_int_equal(count_label(ts->batch, "eno2"), 0);

    /* 5 s later eno2 moved on from its reset value: rx +204800, tx +10240 bytes. */
    write_text(ts, "net/dev",
               "Inter-|   Receive |  Transmit\n"
               " face |bytes    packets errs drop fifo frame compressed multicast|bytes ...\n"
               "  eno2:   409600     300    0    0    0     0          0         0    20480 "
               "    160    0    0    0     0       0          0\n");
    metric_batch_reset(ts->batch, 0);
    assert_int_equal(net.collect(net.ctx, 15000, ts->batch), 0);
    assert_iface(ts->batch, "net.rx_mbps", "eno2", 0.33); /* 204800*8/1e6/5 = 0.32768 */
    assert_iface(ts->batch, "net.tx_mbps", "eno2", 0.02); /* 10240*8/1e6/5 = 0.016384 */
    assert_int_equal(ts->batch->count, 1 + 4);
    net.destroy(net.ctx);
}

static void net_sockstat6_absent_counts_as_zero(void **state)
{
    struct test_state *ts = *state;

    /* edge-board has no IPv6: TCP 5 + UDP 3. */
    collect_pair(ts, collector_net_new, "edge-board", "edge-board", 1000);
    assert_sockets(ts->batch, 8.0);
    assert_iface(ts->batch, "net.rx_mbps", "wlan0", 0.0);
    assert_int_equal(ts->batch->count, 1 + 2 * 4);
}

static void net_container_host_reports_every_interface_but_lo(void **state)
{
    struct test_state *ts = *state;

    collect_pair(ts, collector_net_new, "container-host", "container-host", 1000);
    assert_sockets(ts->batch, 288.0); /* 214 + 9 + 61 + 4 */
    assert_iface(ts->batch, "net.drops", "flannel.1", 0.0);
    assert_iface(ts->batch, "net.rx_mbps", "veth9f8e7d6c", 0.0);
    assert_int_equal(ts->batch->count, 1 + 6 * 4);
}

static void net_old_kernel_lines_without_blank_after_the_colon_parse(void **state)
{
    struct test_state *ts = *state;
    struct collector net;

    write_text(ts, "net/sockstat", "TCP: inuse 2 orphan 0\nUDP: inuse 1\n");
    write_text(ts, "net/dev", "Inter-|\n face |\n  eth0:1000 1 0 0 0 0 0 0 2000 2 0 0 0 0 0 0\n");
    assert_int_equal(collector_net_new(&ts->env, &net), 0);
    assert_int_equal(net.collect(net.ctx, 0, ts->batch), 0);
    write_text(ts, "net/dev",
               "Inter-|\n face |\n  eth0:126000 90 1 2 0 0 0 0 2000 2 0 3 0 0 0 0\n");
    metric_batch_reset(ts->batch, 0);
    assert_int_equal(net.collect(net.ctx, 1000, ts->batch), 0);
    assert_iface(ts->batch, "net.rx_mbps", "eth0", 1.0); /* 125000*8/1e6/1 */
    assert_iface(ts->batch, "net.tx_mbps", "eth0", 0.0);
    assert_iface(ts->batch, "net.errors", "eth0", 1.0);
    assert_iface(ts->batch, "net.drops", "eth0", 5.0); /* 2 + 3 */
    assert_sockets(ts->batch, 3.0);
    net.destroy(net.ctx);
}

static void net_missing_sources_give_enoent_and_append_nothing(void **state)
{
    struct test_state *ts = *state;
    struct collector net;

    ts->env.proc_root = "/nonexistent/updraft-proc";
    assert_int_equal(collector_net_new(&ts->env, &net), 0);
    assert_string_equal(net.name, "net");
    assert_int_equal(net.collect(net.ctx, 0, ts->batch), -ENOENT);
    assert_int_equal(ts->batch->count, 0);
    net.destroy(net.ctx);

    ts->env.proc_root = ts->dir;
    use_fixture(ts, "server-a");
    remove_file(ts, "net/sockstat");
    assert_int_equal(collector_net_new(&ts->env, &net), 0);
    assert_int_equal(net.collect(net.ctx, 0, ts->batch), -ENOENT);
    assert_int_equal(ts->batch->count, 0);
    net.destroy(net.ctx);
}

static void net_malformed_sources_give_ebadmsg_and_append_nothing(void **state)
{
    static const struct {
        const char *file;
        const char *text;
    } bad[] = {
        {"net/dev", ""},          /* no header */
        {"net/dev", "Inter-|\n"}, /* one header line */
        {"net/dev", "eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n face |\n"},
        {"net/dev", "Inter-|\n face |\n  eth0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"},
        {"net/dev", "Inter-|\n face |\n  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n"},
        {"net/dev", "Inter-|\n face |\n  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n"},
        {"net/dev", "Inter-|\n face |\n  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 x\n"},
        {"net/dev", "Inter-|\n face |\n  eth0: 1 2 3 4 5 6 7 8 9 -1 11 12 13 14 15 16\n"},
        {"net/dev", "Inter-|\n face |\n  : 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"},
        {"net/dev", "Inter-|\n face |\n  et h0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"},
        {"net/dev", "Inter-|\n face |\n  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
                    "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"},
        {"net/sockstat", ""},                           /* no TCP, UDP */
        {"net/sockstat", "TCP: inuse 1\n"},             /* no UDP */
        {"net/sockstat", "TCP: inuse 1\nUDP: mem 4\n"}, /* no inuse */
        {"net/sockstat", "TCP: inuse\nUDP: inuse 1\n"},
        {"net/sockstat", "TCP: inuse x\nUDP: inuse 1\n"},
        {"net/sockstat", "TCP: inuse 1\nUDP: inuse 1\nTCP: inuse 1\n"},
        {"net/sockstat", "TCP inuse 1\nUDP: inuse 1\n"},
        {"net/sockstat6", "TCP6: inuse 1\n"}, /* no UDP6 */
    };
    struct test_state *ts = *state;
    struct collector net;

    use_fixture(ts, "bad-sys"); /* net/dev: a line without its colon */
    assert_int_equal(collector_net_new(&ts->env, &net), 0);
    assert_int_equal(net.collect(net.ctx, 0, ts->batch), -EBADMSG);
    assert_int_equal(ts->batch->count, 0);
    /* bad-sys/net/sockstat: the UDP line has no inuse. */
    use_fixture(ts, "server-a");
    use_fixture_file(ts, "bad-sys", "net/sockstat");
    assert_int_equal(net.collect(net.ctx, 0, ts->batch), -EBADMSG);
    assert_int_equal(ts->batch->count, 0);
    net.destroy(net.ctx);

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        use_fixture(ts, "server-a");
        write_text(ts, bad[i].file, bad[i].text);
        assert_int_equal(collector_net_new(&ts->env, &net), 0);
        if (net.collect(net.ctx, 1000, ts->batch) != -EBADMSG)
            fail_msg("case %zu (%s) was accepted", i, bad[i].text);
        assert_int_equal(ts->batch->count, 0);
        net.destroy(net.ctx);
    }
}

static void net_full_batch_gives_enospc_and_keeps_what_fit(void **state)
{
    struct test_state *ts = *state;
    struct collector net;

    use_fixture(ts, "server-a");
    assert_int_equal(collector_net_new(&ts->env, &net), 0);
    assert_int_equal(net.collect(net.ctx, 0, ts->batch), 0);
    metric_batch_reset(ts->batch, 0);
    use_fixture(ts, "server-a-later");
    while (ts->batch->count < AGENT_BATCH_MAX - 3)
        assert_int_equal(metric_batch_add(ts->batch, "filler", 0.0), 0);
    assert_int_equal(net.collect(net.ctx, 10000, ts->batch), -ENOSPC);
    assert_int_equal(ts->batch->count, AGENT_BATCH_MAX);
    assert_sockets(ts->batch, 64.0);
    assert_iface(ts->batch, "net.rx_mbps", "eno1", 100.0);
    assert_iface(ts->batch, "net.tx_mbps", "eno1", 10.0);
    net.destroy(net.ctx);
}

static void net_constructor_rejects_bad_arguments(void **state)
{
    struct test_state *ts = *state;
    struct collector net = {0};
    char long_root[5000];

    memset(long_root, 'a', sizeof(long_root) - 1);
    long_root[sizeof(long_root) - 1] = '\0';
    assert_int_equal(collector_net_new(NULL, &net), -EINVAL);
    assert_int_equal(collector_net_new(&ts->env, NULL), -EINVAL);
    ts->env.proc_root = long_root;
    assert_int_equal(collector_net_new(&ts->env, &net), -EINVAL);
    ts->env.proc_root = NULL;
    assert_int_equal(collector_net_new(&ts->env, &net), -EINVAL);
    assert_null(net.ctx);
}

static void net_collector_reads_the_real_proc(void **state)
{
    struct test_state *ts = *state;
    struct collector_env env = {.proc_root = "/proc", .sys_root = "/sys"};
    struct collector net;

    assert_int_equal(collector_net_new(&env, &net), 0);
    assert_int_equal(net.collect(net.ctx, clock_mono_ms() + 1000, ts->batch), 0);
    assert_non_null(find_labeled(ts->batch, "net.sockets_active", NULL));
    for (size_t i = 0; i < ts->batch->count; i++)
        assert_true(ts->batch->samples[i].value >= 0.0);
    assert_int_equal(count_label(ts->batch, "lo"), 0);
    net.destroy(net.ctx);
}

/* ---- gpu ---- */

/* The fake NVML next to this binary: <dir of /proc/self/exe>/fake-nvml/libnvidia-ml.so.1. */
static bool fake_nvml_path(char *out, size_t size)
{
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *slash;

    if (len <= 0)
        return false;
    exe[len] = '\0';
    slash = strrchr(exe, '/');
    if (slash == NULL)
        return false;
    *slash = '\0';
    len = snprintf(out, size, "%s/fake-nvml/libnvidia-ml.so.1", exe);
    return len > 0 && (size_t)len < size && access(out, R_OK) == 0;
}

/* Points UPDRAFT_NVML_LIBRARY at the fake, and keeps the fake loaded (so its call counts
 * survive the collector's dlclose). Skips the test when the fake was not built. */
static void *use_fake_nvml(void)
{
    char path[PATH_MAX];
    void *library;

    if (!fake_nvml_path(path, sizeof(path))) {
        skip();
        return NULL;
    }
    assert_int_equal(setenv("UPDRAFT_NVML_LIBRARY", path, 1), 0);
    library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    assert_non_null(library);
    return library;
}

static void fake_nvml_calls(void *library, int *init_calls, int *shutdown_calls)
{
    void (*calls)(int *, int *);
    void *symbol = dlsym(library, "fake_nvml_calls");

    assert_non_null(symbol);
    memcpy(&calls, &symbol, sizeof(calls));
    calls(init_calls, shutdown_calls);
}

static int gpu_teardown(void **state)
{
    (void)unsetenv("UPDRAFT_NVML_LIBRARY");
    (void)unsetenv("FAKE_NVML_DEVICES");
    (void)unsetenv("FAKE_NVML_FAIL");
    return state_teardown(state);
}

static void gpu_without_nvml_constructs_and_collect_gives_enoent(void **state)
{
    struct test_state *ts = *state;
    struct collector gpu;

    assert_int_equal(setenv("UPDRAFT_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1", 1), 0);
    assert_int_equal(collector_gpu_new(&ts->env, &gpu), 0);
    assert_string_equal(gpu.name, "gpu");
    assert_false(collector_gpu_present(&gpu));
    assert_int_equal(gpu.collect(gpu.ctx, 0, ts->batch), -ENOENT);
    assert_int_equal(gpu.collect(gpu.ctx, 1000, ts->batch), -ENOENT);
    assert_int_equal(ts->batch->count, 0);
    gpu.destroy(gpu.ctx);
}

static void gpu_library_without_nvml_symbols_counts_as_no_nvml(void **state)
{
    struct test_state *ts = *state;
    struct collector gpu;

    /* A real shared object that is not NVML. */
    assert_int_equal(setenv("UPDRAFT_NVML_LIBRARY", "libm.so.6", 1), 0);
    assert_int_equal(collector_gpu_new(&ts->env, &gpu), 0);
    assert_false(collector_gpu_present(&gpu));
    assert_int_equal(gpu.collect(gpu.ctx, 0, ts->batch), -ENOENT);
    gpu.destroy(gpu.ctx);
}

static void gpu_fake_nvml_readings_become_samples_per_gpu(void **state)
{
    struct test_state *ts = *state;
    void *library = use_fake_nvml();
    struct collector gpu;
    int init_calls;
    int shutdown_calls;

    assert_int_equal(collector_gpu_new(&ts->env, &gpu), 0);
    assert_true(collector_gpu_present(&gpu));
    assert_int_equal(gpu.collect(gpu.ctx, 0, ts->batch), 0);
    assert_gpu(ts->batch, "gpu.utilization", "0", 37.0);
    assert_gpu(ts->batch, "gpu.memory_used_mb", "0", 5238.0);   /* 5492165909 B = 5237.74 MiB */
    assert_gpu(ts->batch, "gpu.memory_total_mb", "0", 16384.0); /* 17179869184 B */
    assert_gpu(ts->batch, "gpu.temperature_c", "0", 61.0);
    assert_gpu(ts->batch, "gpu.power_w", "0", 123.46); /* 123456 mW */
    assert_gpu(ts->batch, "gpu.utilization", "1", 100.0);
    assert_gpu(ts->batch, "gpu.memory_used_mb", "1", 513.0); /* 537395200 B = 512.5 MiB */
    assert_gpu(ts->batch, "gpu.memory_total_mb", "1", 24576.0);
    assert_gpu(ts->batch, "gpu.temperature_c", "1", 45.0);
    /* GPU 1 does not support power readings. */
    assert_null(find_labeled(ts->batch, "gpu.power_w", "1"));
    assert_int_equal(ts->batch->count, 9);
    gpu.destroy(gpu.ctx);

    fake_nvml_calls(library, &init_calls, &shutdown_calls);
    assert_int_equal(init_calls, 1);
    assert_int_equal(shutdown_calls, 1);
    (void)dlclose(library);
}

static void gpu_nvml_without_gpus_or_driver_is_not_present(void **state)
{
    struct test_state *ts = *state;
    void *library = use_fake_nvml();
    struct collector gpu;
    int init_calls;
    int shutdown_calls;

    assert_int_equal(setenv("FAKE_NVML_DEVICES", "0", 1), 0);
    assert_int_equal(collector_gpu_new(&ts->env, &gpu), 0);
    assert_false(collector_gpu_present(&gpu));
    assert_int_equal(gpu.collect(gpu.ctx, 0, ts->batch), -ENOENT);
    gpu.destroy(gpu.ctx);
    fake_nvml_calls(library, &init_calls, &shutdown_calls);
    assert_int_equal(init_calls, 1);
    assert_int_equal(shutdown_calls, 1); /* shut down at once, not left initialized */

    assert_int_equal(unsetenv("FAKE_NVML_DEVICES"), 0);
    assert_int_equal(setenv("FAKE_NVML_FAIL", "init", 1), 0);
    assert_int_equal(collector_gpu_new(&ts->env, &gpu), 0);
    assert_false(collector_gpu_present(&gpu));
    assert_int_equal(gpu.collect(gpu.ctx, 0, ts->batch), -ENOENT);
    gpu.destroy(gpu.ctx);
    fake_nvml_calls(library, &init_calls, &shutdown_calls);
    assert_int_equal(init_calls, 2);
    assert_int_equal(shutdown_calls, 1); /* a failed init owes no shutdown */
    assert_int_equal(ts->batch->count, 0);
    (void)dlclose(library);
}

static void gpu_every_query_failing_gives_eio(void **state)
{
    struct test_state *ts = *state;
    void *library = use_fake_nvml();
    struct collector gpu;

    assert_int_equal(collector_gpu_new(&ts->env, &gpu), 0);
    assert_true(collector_gpu_present(&gpu));
    assert_int_equal(setenv("FAKE_NVML_FAIL", "queries", 1), 0);
    assert_int_equal(gpu.collect(gpu.ctx, 0, ts->batch), -EIO);
    assert_int_equal(ts->batch->count, 0);
    assert_int_equal(unsetenv("FAKE_NVML_FAIL"), 0);
    assert_int_equal(gpu.collect(gpu.ctx, 1000, ts->batch), 0); /* the GPUs came back */
    assert_int_equal(ts->batch->count, 9);
    gpu.destroy(gpu.ctx);
    (void)dlclose(library);
}

static void gpu_full_batch_gives_enospc_and_keeps_what_fit(void **state)
{
    struct test_state *ts = *state;
    void *library = use_fake_nvml();
    struct collector gpu;

    assert_int_equal(collector_gpu_new(&ts->env, &gpu), 0);
    while (ts->batch->count < AGENT_BATCH_MAX - 2)
        assert_int_equal(metric_batch_add(ts->batch, "filler", 0.0), 0);
    assert_int_equal(gpu.collect(gpu.ctx, 0, ts->batch), -ENOSPC);
    assert_int_equal(ts->batch->count, AGENT_BATCH_MAX);
    assert_gpu(ts->batch, "gpu.utilization", "0", 37.0);
    assert_gpu(ts->batch, "gpu.memory_used_mb", "0", 5238.0);
    gpu.destroy(gpu.ctx);
    (void)dlclose(library);
}

static void gpu_present_is_false_for_other_collectors_and_null(void **state)
{
    struct test_state *ts = *state;
    struct collector net;
    struct collector gpu;

    assert_false(collector_gpu_present(NULL));
    assert_int_equal(collector_net_new(&ts->env, &net), 0);
    assert_false(collector_gpu_present(&net));
    net.destroy(net.ctx);
    assert_int_equal(collector_gpu_new(NULL, &gpu), -EINVAL);
    /* The default library name: whatever this machine has, construction succeeds. */
    assert_int_equal(unsetenv("UPDRAFT_NVML_LIBRARY"), 0);
    assert_int_equal(collector_gpu_new(&ts->env, &gpu), 0);
    if (!collector_gpu_present(&gpu))
        assert_int_equal(gpu.collect(gpu.ctx, 0, ts->batch), -ENOENT);
    gpu.destroy(gpu.ctx);
    gpu.destroy(NULL);
}

/* ---- all three ---- */

static void constructors_fail_cleanly_when_allocation_fails(void **state)
{
#if ALLOC_FAIL_AVAILABLE
    static int (*const ctors[])(const struct collector_env *, struct collector *) = {
        collector_disk_new, collector_net_new, collector_gpu_new};
    struct test_state *ts = *state;

    if (!alloc_fail_works())
        skip();
    use_fixture(ts, "server-a");
    assert_int_equal(setenv("UPDRAFT_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1", 1), 0);
    for (size_t i = 0; i < sizeof(ctors) / sizeof(ctors[0]); i++) {
        struct collector c = {0};

        /* Each constructor allocates once (its context); dlopen's own allocations, which
         * glibc keeps for dlerror, are not made to fail. */
        alloc_fail_arm(0);
        assert_int_equal(ctors[i](&ts->env, &c), -ENOMEM);
        alloc_fail_disarm();
        assert_int_equal(alloc_fail_live(), 0);
        assert_null(c.ctx);
        if (ctors[i] == collector_gpu_new)
            continue;
        alloc_fail_arm(1);
        assert_int_equal(ctors[i](&ts->env, &c), 0);
        c.destroy(c.ctx);
        alloc_fail_disarm();
        assert_int_equal(alloc_fail_live(), 0);
    }
#else
    (void)state;
    skip();
#endif
}

#define SYS_TEST(fn) cmocka_unit_test_setup_teardown(fn, state_setup, state_teardown)
#define GPU_TEST(fn) cmocka_unit_test_setup_teardown(fn, state_setup, gpu_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        SYS_TEST(disk_rates_of_the_captured_vm_follow_the_diskstats_deltas),
        SYS_TEST(disk_whole_disks_only_from_sys_block),
        SYS_TEST(disk_used_pct_is_used_over_used_plus_available_per_real_filesystem),
        SYS_TEST(disk_container_host_reports_three_filesystems_and_uses_the_name_rule),
        SYS_TEST(disk_mount_points_are_unescaped_and_ones_with_nul_skipped),
        SYS_TEST(disk_reads_proc_mounts_without_mountinfo),
        SYS_TEST(disk_name_rule_tells_partitions_from_whole_disks),
        SYS_TEST(disk_old_kernel_partition_lines_are_skipped),
        SYS_TEST(disk_first_collect_has_rates_from_the_constructor_reading),
        SYS_TEST(disk_counters_going_back_give_no_rates_then_restart_from_there),
        SYS_TEST(disk_no_time_passed_gives_no_rates),
        SYS_TEST(disk_missing_sources_give_enoent_and_append_nothing),
        SYS_TEST(disk_malformed_sources_give_ebadmsg_and_append_nothing),
        SYS_TEST(disk_full_batch_gives_enospc_and_keeps_what_fit),
        SYS_TEST(disk_constructor_rejects_bad_arguments),
        SYS_TEST(disk_collector_reads_the_real_proc_and_statvfs),
        SYS_TEST(net_captured_vm_has_idle_interfaces_and_one_socket),
        SYS_TEST(net_rates_errors_and_drops_follow_net_dev_deltas),
        SYS_TEST(net_counter_reset_gives_nothing_then_restarts_from_there),
        SYS_TEST(net_sockstat6_absent_counts_as_zero),
        SYS_TEST(net_container_host_reports_every_interface_but_lo),
        SYS_TEST(net_old_kernel_lines_without_blank_after_the_colon_parse),
        SYS_TEST(net_missing_sources_give_enoent_and_append_nothing),
        SYS_TEST(net_malformed_sources_give_ebadmsg_and_append_nothing),
        SYS_TEST(net_full_batch_gives_enospc_and_keeps_what_fit),
        SYS_TEST(net_constructor_rejects_bad_arguments),
        SYS_TEST(net_collector_reads_the_real_proc),
        GPU_TEST(gpu_without_nvml_constructs_and_collect_gives_enoent),
        GPU_TEST(gpu_library_without_nvml_symbols_counts_as_no_nvml),
        GPU_TEST(gpu_fake_nvml_readings_become_samples_per_gpu),
        GPU_TEST(gpu_nvml_without_gpus_or_driver_is_not_present),
        GPU_TEST(gpu_every_query_failing_gives_eio),
        GPU_TEST(gpu_full_batch_gives_enospc_and_keeps_what_fit),
        GPU_TEST(gpu_present_is_false_for_other_collectors_and_null),
        GPU_TEST(constructors_fail_cleanly_when_allocation_fails),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
