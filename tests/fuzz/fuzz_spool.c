/* libFuzzer target for the spool's recovery (edge-agent/spool_open.c, spool_file.c): any bytes
 * as a segment file must open without a crash, sanitizer report or error; every pack it then
 * holds must read back whole (CRCs checked) in increasing id order, as many as the stats say;
 * a second open must find the same packs and nothing more to truncate; acking every boot
 * seen must empty it. Files go to one temporary directory, reused, removed at exit. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edge-agent/spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_BOOTS 64

static char root[64];
static char dir[96];

static void clear_dir(void)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *de;
    char path[400];
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        unlink(path);
    }
    closedir(d);
}

static void remove_all(void)
{
    clear_dir();
    rmdir(dir);
    rmdir(root);
}

static struct spool *open_or_abort(void)
{
    struct spool_options o = {.dir = dir, .no_fsync = true};
    struct spool *sp = NULL;
    char msg[256];
    if (spool_open(&o, &sp, msg, sizeof msg) != 0) {
        fprintf(stderr, "fuzz_spool: %s\n", msg);
        abort();
    }
    return sp;
}

/* Reads every held pack once; returns how many, noting their boots. */
static uint64_t read_all(struct spool *sp, uint8_t *buf, size_t size,
                         char boots[MAX_BOOTS][SPOOL_BOOT_ID_LEN + 1], size_t *n_boots)
{
    uint64_t n = 0, last_id = 0;
    struct spool_record rec;
    for (;;) {
        int rc = spool_next_due(sp, 0, 1000, &rec, buf, size);
        if (rc == 0)
            break;
        if (rc != 1 || (n > 0 && rec.id <= last_id) || rec.len > size)
            abort();
        if (spool_mark_sent(sp, rec.id, 0) != 0)
            abort();
        last_id = rec.id;
        n++;
        size_t b = 0;
        while (b < *n_boots && strcmp(boots[b], rec.boot_id) != 0)
            b++;
        if (b == *n_boots && b < MAX_BOOTS)
            memcpy(boots[(*n_boots)++], rec.boot_id, sizeof boots[0]);
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (root[0] == '\0') {
        snprintf(root, sizeof root, "/tmp/updraft-fuzz-spool.XXXXXX");
        if (mkdtemp(root) == NULL)
            abort();
        snprintf(dir, sizeof dir, "%s/spool", root);
        atexit(remove_all);
    }
    clear_dir();
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        abort();
    char path[160];
    snprintf(path, sizeof path, "%s/seg-0000000000000000.log", dir);
    FILE *fp = fopen(path, "wb");
    if (fp == NULL || fwrite(data, 1, size, fp) != size || fclose(fp) != 0)
        abort();

    uint8_t *buf = malloc(size + 1);
    if (buf == NULL)
        return 0;
    char boots[MAX_BOOTS][SPOOL_BOOT_ID_LEN + 1];
    size_t n_boots = 0;
    struct spool *sp = open_or_abort();
    struct spool_stats st;
    spool_stats(sp, &st);
    if (st.disk_bytes > size || st.truncated_bytes > size)
        abort();
    uint64_t held = read_all(sp, buf, size + 1, boots, &n_boots);
    if (held != st.records)
        abort();
    spool_close(sp);

    sp = open_or_abort(); /* recovery is idempotent */
    spool_stats(sp, &st);
    if (st.records != held || st.truncated_bytes != 0)
        abort();
    if (n_boots < MAX_BOOTS) {
        uint64_t acked = 0;
        for (size_t b = 0; b < n_boots; b++) {
            int rc = spool_ack(sp, boots[b], 0, UINT64_MAX);
            if (rc < 0)
                abort();
            acked += (uint64_t)rc;
        }
        spool_stats(sp, &st);
        if (acked != held || st.records != 0)
            abort();
    }
    spool_close(sp);
    free(buf);
    return 0;
}
