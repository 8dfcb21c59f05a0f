/* Benchmark: SenML JSON decoding on the hub's ingest path. Decodes realistic agent packs
 * (60 records, 2-decimal values, labels on some) with our single-pass decoder and, in the
 * same run, parses them with jansson and walks the records (the baseline a naive ingest would
 * use). Prints "name value unit" lines. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/senml_json.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A pack as hostmetrics_gen.py / our agent write it. */
static size_t make_pack(char *out, size_t size, unsigned seed)
{
    size_t n = 0;
    n += (size_t)snprintf(out + n, size - n,
                          "[{\"bn\":\"web-%03u/\",\"bt\":1795322939.846,\"n\":\"cpu.utilization\","
                          "\"v\":%u.%02u,\"bid\":\"0006744996778f72\",\"sq\":%u}",
                          seed % 1000, seed % 100, seed % 97, seed);
    for (int i = 0; i < 8; i++)
        n += (size_t)snprintf(out + n, size - n, ",{\"n\":\"cpu.core.%d\",\"v\":%u.%02u}", i,
                              (seed + i) % 100, (seed * 7 + i) % 100);
    const char *mounts[] = {"/", "/var", "/data"};
    for (int i = 0; i < 3; i++)
        n += (size_t)snprintf(out + n, size - n,
                              ",{\"n\":\"disk.used_pct\",\"v\":%u.%02u,\"mount\":\"%s\"}",
                              40 + i, seed % 100, mounts[i]);
    for (int i = 0; i < 48; i++)
        n += (size_t)snprintf(out + n, size - n, ",{\"n\":\"m.metric_%02d\",\"v\":%u}", i,
                              (seed * 31 + (unsigned)i) % 100000);
    n += (size_t)snprintf(out + n, size - n, "]");
    return n;
}

int main(void)
{
    enum { PACKS = 64, ROUNDS = 600 };
    static char packs[PACKS][8192];
    size_t lens[PACKS], bytes = 0, records = 0;
    for (unsigned i = 0; i < PACKS; i++) {
        lens[i] = make_pack(packs[i], sizeof packs[i], i + 1);
        bytes += lens[i];
    }
    double t0 = now_s();
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < PACKS; i++) {
            struct senml_pack *pack = NULL;
            if (senml_json_decode(packs[i], lens[i], 1795322939000LL, &pack, NULL) != 0) {
                fprintf(stderr, "bench: decode failed\n");
                return 1;
            }
            records += pack->count;
            senml_pack_free(pack);
        }
    }
    double ours = now_s() - t0;
    size_t jrecords = 0;
    t0 = now_s();
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < PACKS; i++) {
            json_t *root = json_loadb(packs[i], lens[i], 0, NULL);
            size_t k;
            json_t *rec;
            json_array_foreach(root, k, rec) {
                if (json_object_get(rec, "n") != NULL && json_object_get(rec, "v") != NULL)
                    jrecords++;
            }
            json_decref(root);
        }
    }
    double theirs = now_s() - t0;
    printf("senml_json_decode_records_per_s %.0f records/s\n", (double)records / ours);
    printf("senml_json_decode_mb_per_s %.1f MB/s\n", (double)bytes * ROUNDS / ours / 1e6);
    printf("jansson_parse_records_per_s %.0f records/s\n", (double)jrecords / theirs);
    printf("senml_json_decode_vs_jansson %.2f x\n", theirs / ours);
    return records == jrecords ? 0 : 1;
}
