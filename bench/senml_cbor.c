/* Benchmark: SenML CBOR (common/senml_cbor_*.c) against SenML JSON on the same agent-like packs
 * as bench/senml_decode.c (bench/senml_pack_gen.h: 60 records, bn + bt + bid + sq, 2-decimal
 * values, a label on some): decode and encode rates of both codecs in the same run, and bytes
 * on the wire per sample. Prints "name value unit" lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/senml_pack_gen.h"
#include "common/senml_cbor.h"
#include "common/senml_json.h"

enum { PACKS = 64, ROUNDS = 400, WARM_UP_ROUNDS = 20 };

struct corpus {
    char json[PACKS][8192];
    size_t json_len[PACKS];
    struct senml_buf cbor[PACKS];
    struct senml_pack *packs[PACKS];
    char base_name[PACKS][16];
    size_t json_bytes, cbor_bytes, records;
};

static int corpus_build(struct corpus *c)
{
    for (unsigned i = 0; i < PACKS; i++) {
        c->json_len[i] = make_pack(c->json[i], sizeof c->json[i], i + 1);
        snprintf(c->base_name[i], sizeof c->base_name[i], "web-%03u/", (i + 1) % 1000);
        if (senml_json_decode(c->json[i], c->json_len[i], 1795322939000LL, &c->packs[i], NULL) !=
                0 ||
            senml_cbor_encode(c->packs[i], c->base_name[i], &c->cbor[i]) != 0)
            return -1;
        c->json_bytes += c->json_len[i];
        c->cbor_bytes += c->cbor[i].len;
        c->records += c->packs[i]->count;
    }
    return 0;
}

/* Decodes every pack `rounds` times with the CBOR (cbor true) or JSON decoder; seconds, or -1. */
static double time_decode(const struct corpus *c, int cbor, int rounds)
{
    double t0 = now_s();
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < PACKS; i++) {
            struct senml_pack *pack = NULL;
            int ret =
                cbor ? senml_cbor_decode((const uint8_t *)c->cbor[i].data, c->cbor[i].len,
                                         1795322939000LL, &pack, NULL)
                     : senml_json_decode(c->json[i], c->json_len[i], 1795322939000LL, &pack, NULL);
            if (ret != 0 || pack->count != c->packs[i]->count)
                return -1;
            senml_pack_free(pack);
        }
    }
    return now_s() - t0;
}

static double time_encode(const struct corpus *c, int cbor, int rounds)
{
    struct senml_buf buf = {0};
    double t0 = now_s();
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < PACKS; i++) {
            buf.len = 0;
            int ret = cbor ? senml_cbor_encode(c->packs[i], c->base_name[i], &buf)
                           : senml_json_encode(c->packs[i], c->base_name[i], &buf);
            if (ret != 0)
                return -1;
        }
    }
    double elapsed = now_s() - t0;
    senml_buf_free(&buf);
    return elapsed;
}

int main(void)
{
    static struct corpus c;
    int rc = 0;

    if (corpus_build(&c) != 0) {
        fprintf(stderr, "bench: building the packs failed\n");
        return 1;
    }
    /* warm caches and the allocator for both before timing either */
    (void)time_decode(&c, 1, WARM_UP_ROUNDS);
    (void)time_decode(&c, 0, WARM_UP_ROUNDS);
    double cbor_decode = time_decode(&c, 1, ROUNDS), json_decode = time_decode(&c, 0, ROUNDS);
    double cbor_encode = time_encode(&c, 1, ROUNDS), json_encode = time_encode(&c, 0, ROUNDS);
    if (cbor_decode < 0 || json_decode < 0 || cbor_encode < 0 || json_encode < 0) {
        fprintf(stderr, "bench: a decode or encode failed\n");
        rc = 1;
    } else {
        double packs = (double)PACKS * ROUNDS;
        printf("senml_cbor_decode_packs_per_s %.0f packs/s\n", packs / cbor_decode);
        printf("senml_json_decode_packs_per_s %.0f packs/s\n", packs / json_decode);
        printf("senml_cbor_decode_vs_json %.2f x\n", json_decode / cbor_decode);
        printf("senml_cbor_encode_packs_per_s %.0f packs/s\n", packs / cbor_encode);
        printf("senml_json_encode_packs_per_s %.0f packs/s\n", packs / json_encode);
        printf("senml_cbor_encode_vs_json %.2f x\n", json_encode / cbor_encode);
    }
    printf("senml_cbor_bytes_per_sample %.2f bytes\n", (double)c.cbor_bytes / (double)c.records);
    printf("senml_json_bytes_per_sample %.2f bytes\n", (double)c.json_bytes / (double)c.records);
    printf("senml_cbor_vs_json_bytes %.3f\n", (double)c.cbor_bytes / (double)c.json_bytes);
    for (int i = 0; i < PACKS; i++) {
        senml_pack_free(c.packs[i]);
        senml_buf_free(&c.cbor[i]);
    }
    return rc;
}
