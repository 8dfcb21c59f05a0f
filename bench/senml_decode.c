/* Benchmark: SenML JSON decoding on the hub's ingest path. Decodes realistic agent packs
 * (60 records, 2-decimal values, labels on some) with our single-pass decoder and, in the
 * same run, parses them with jansson and walks the records (the baseline a naive ingest would
 * use). Prints "name value unit" lines. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/senml_pack_gen.h"
#include "common/senml_json.h"

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
