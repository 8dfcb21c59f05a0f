/* Benchmark: the agent's spool (edge-agent/spool.c) in a temporary directory on the disk
 * that holds $TMPDIR (default /tmp): durable appends (write + fdatasync each), appends without
 * fsync, acks one pack at a time against a backlog, recovery at open, and the index's bytes
 * per held pack. Packs are PACK_BYTES of SenML-like text. Prints "name value unit" lines.
 * usage: spool [FSYNC_PACKS] */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "edge-agent/spool.h"
#include "edge-agent/spool_internal.h"

#define PACK_BYTES 1200
#define NOFSYNC_PACKS 100000
#define BOOT "0123456789abcdef"
#define T0 INT64_C(1735689600000)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void clear(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *de;
    char path[600];
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        unlink(path);
    }
    closedir(d);
}

static struct spool *open_or_die(const char *dir, bool no_fsync)
{
    struct spool_options o = {.dir = dir, .no_fsync = no_fsync, .max_bytes = UINT64_C(1) << 30};
    struct spool *sp = NULL;
    char msg[256];
    if (spool_open(&o, &sp, msg, sizeof msg) != 0) {
        fprintf(stderr, "bench spool: %s\n", msg);
        exit(1);
    }
    return sp;
}

static double append_packs(struct spool *sp, uint64_t first, uint64_t n, const char *pack)
{
    double t = now_s();
    for (uint64_t s = first; s < first + n; s++)
        if (spool_append(sp, BOOT, s, T0 + (int64_t)s, pack, PACK_BYTES, NULL) != 0) {
            fprintf(stderr, "bench spool: append: %s\n", spool_errmsg(sp));
            exit(1);
        }
    return now_s() - t;
}

int main(int argc, char **argv)
{
    uint64_t fsync_packs = argc > 1 ? strtoull(argv[1], NULL, 10) : 300;
    const char *tmp = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
    char root[400], dir[500];
    snprintf(root, sizeof root, "%s/updraft-bench-spool.XXXXXX", tmp);
    if (mkdtemp(root) == NULL) {
        perror("bench spool: mkdtemp");
        return 1;
    }
    snprintf(dir, sizeof dir, "%s/spool", root);
    char pack[PACK_BYTES];
    for (size_t i = 0; i < sizeof pack; i++)
        pack[i] = "[{\"n\":\"cpu.utilization\",\"v\":12.5}]"[i % 36];

    struct spool *sp = open_or_die(dir, false);
    double dt = append_packs(sp, 1, fsync_packs, pack);
    printf("spool_append_fsync_per_s %.0f packs/s\n", (double)fsync_packs / dt);
    printf("spool_append_fsync_latency_ms %.3f ms\n", dt * 1e3 / (double)fsync_packs);
    spool_close(sp);
    clear(dir);

    sp = open_or_die(dir, true);
    dt = append_packs(sp, 1, NOFSYNC_PACKS, pack);
    printf("spool_append_nofsync_per_s %.0f packs/s\n", NOFSYNC_PACKS / dt);
    printf("spool_append_nofsync_mb_per_s %.1f MB/s\n",
           (double)NOFSYNC_PACKS * (PACK_BYTES + SPOOL_HDR_LEN) / dt / 1e6);
    printf("spool_index_bytes_per_pack %.1f B\n",
           (double)(sp->idx.cap * sizeof *sp->idx.e) / NOFSYNC_PACKS);
    spool_close(sp);

    double t = now_s();
    sp = open_or_die(dir, true); /* recovery: every record's CRCs checked */
    dt = now_s() - t;
    struct spool_stats st;
    spool_stats(sp, &st);
    printf("spool_recover_per_s %.0f packs/s\n", (double)st.records / dt);

    /* Acks as the hub sends them at worst: one pack per ack, out of a 100k backlog. */
    t = now_s();
    for (uint64_t s = 1; s <= NOFSYNC_PACKS; s++)
        if (spool_ack(sp, BOOT, s, s) != 1) {
            fprintf(stderr, "bench spool: ack %" PRIu64 " failed\n", s);
            return 1;
        }
    dt = now_s() - t;
    printf("spool_ack_per_s %.0f acks/s\n", NOFSYNC_PACKS / dt);
    spool_close(sp);
    clear(dir);
    rmdir(dir);
    rmdir(root);
    return 0;
}
