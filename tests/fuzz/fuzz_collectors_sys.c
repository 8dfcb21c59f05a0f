/* libFuzzer target for the disk and net collectors' parsers (mountinfo, mounts, diskstats,
 * net/dev, sockstat, sockstat6): the first byte picks the file, the rest is its content; the
 * other files hold valid text. Each input is collected by fresh collectors three times (the
 * last with a positive interval, so the rate paths run). Beyond "no crash, no sanitizer
 * report": the return code is 0, -EBADMSG or -ENOSPC, and every sample has a name, a label
 * and a finite value >= 0 (a percentage <= 100), else abort. Single-threaded. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "edge-agent/batch.h"
#include "edge-agent/collector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const files[] = {"self/mountinfo", "mounts",       "diskstats",
                                    "net/dev",        "net/sockstat", "net/sockstat6"};
static const char *const defaults[] = {
    "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n",
    "/dev/vda / ext4 rw 0 0\n",
    " 254 0 vda 1 0 8 0 2 0 16 0 0 0 0 0 0 0 0 0 0\n",
    "Inter-|\n face |\n  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",
    "TCP: inuse 1 orphan 0\nUDP: inuse 2\n",
    "TCP6: inuse 3\nUDP6: inuse 4\n",
};
#define FILE_COUNT (sizeof(files) / sizeof(files[0]))

static char root[64];
static struct metric_batch batch;

static int fuzz_statvfs(const char *path, struct statvfs *out)
{
    memset(out, 0, sizeof(*out));
    out->f_blocks = 1000 + strlen(path);
    out->f_bfree = 400;
    out->f_bavail = 300;
    return 0;
}

static void write_file(const char *file, const void *text, size_t len)
{
    char path[128];
    FILE *out;

    (void)snprintf(path, sizeof(path), "%s/%s", root, file);
    out = fopen(path, "wb");
    if (out == NULL || fwrite(text, 1, len, out) != len || fclose(out) != 0)
        abort();
}

/* Removes the temporary proc_root when the fuzzer exits. */
static void cleanup(void)
{
    char path[128];

    for (size_t i = 0; i < FILE_COUNT; i++) {
        (void)snprintf(path, sizeof(path), "%s/%s", root, files[i]);
        (void)unlink(path);
    }
    (void)snprintf(path, sizeof(path), "%s/self", root);
    (void)rmdir(path);
    (void)snprintf(path, sizeof(path), "%s/net", root);
    (void)rmdir(path);
    (void)rmdir(root);
}

static void setup(void)
{
    char path[128];

    (void)snprintf(root, sizeof(root), "/tmp/updraft-fuzz-collectors-XXXXXX");
    if (mkdtemp(root) == NULL)
        abort();
    (void)snprintf(path, sizeof(path), "%s/self", root);
    (void)mkdir(path, 0700);
    (void)snprintf(path, sizeof(path), "%s/net", root);
    (void)mkdir(path, 0700);
    (void)atexit(cleanup);
}

static void check(int rc)
{
    if (rc != 0 && rc != -EBADMSG && rc != -ENOSPC)
        abort();
    for (size_t i = 0; i < batch.count; i++) {
        const struct batch_sample *sample = &batch.samples[i];

        if (sample->name[0] == '\0' || !isfinite(sample->value) || sample->value < 0.0)
            abort();
        if (strcmp(sample->name, "net.sockets_active") != 0 && sample->label_value[0] == '\0')
            abort();
        if (strcmp(sample->name, "disk.used_pct") == 0 && sample->value > 100.0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct collector_env env = {.sys_root = "/nonexistent", .statvfs_fn = fuzz_statvfs};
    int (*const ctors[])(const struct collector_env *, struct collector *) = {collector_disk_new,
                                                                              collector_net_new};
    size_t chosen;

    if (size == 0)
        return 0;
    if (root[0] == '\0')
        setup();
    env.proc_root = root;
    chosen = data[0] % FILE_COUNT;
    for (size_t i = 0; i < FILE_COUNT; i++) {
        if (i == chosen)
            write_file(files[i], data + 1, size - 1);
        else
            write_file(files[i], defaults[i], strlen(defaults[i]));
    }
    for (size_t i = 0; i < sizeof(ctors) / sizeof(ctors[0]); i++) {
        struct collector c;

        if (ctors[i](&env, &c) != 0)
            abort();
        for (int64_t now_ms = 0; now_ms <= 2000; now_ms += 1000) {
            metric_batch_reset(&batch, 0);
            check(c.collect(c.ctx, now_ms, &batch));
        }
        c.destroy(c.ctx);
    }
    return 0;
}
