/* Benchmark: the store's chunk codec (hub/chunk.c) on realistic host metrics. Reads SenML
 * JSON packs, one per line (tools/hostmetrics_gen.py --senml), groups the samples per series
 * (resolved name + sorted labels), cuts each series into chunks of CHUNK_MAX_SAMPLES, encodes,
 * decodes and checks them bit-exactly. Prints "name value unit" lines. Without a file it uses
 * a small synthetic set. usage: chunk_codec [FILE.senml.jsonl] */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_util.h"
#include "common/senml_json.h"
#include "hub/chunk.h"

#define NOW_MS INT64_C(1800000000000) /* packs carry absolute times; now only resolves relative */
#define TWO_HOURS_MS INT64_C(7200000)
#define KEY_MAX 1024

struct series {
    char *key;
    int64_t *ts_ms;
    double *values;
    size_t count, cap;
};

struct dataset {
    struct series *series; /* open-addressing table, key NULL = free slot */
    size_t slots, used;
    size_t samples, refused;
};

struct chunks {
    uint8_t *bytes;
    size_t len, cap;
    size_t *ends; /* end offset of each chunk in bytes */
    size_t count, cap_count, decimal;
};

static struct series *lookup(struct dataset *ds, const char *key);

static void rehash(struct dataset *ds)
{
    struct series *old = ds->series;
    size_t old_slots = ds->slots;
    ds->slots = old_slots ? old_slots * 2 : 1024;
    ds->series = xrealloc(NULL, ds->slots * sizeof *ds->series);
    memset(ds->series, 0, ds->slots * sizeof *ds->series);
    for (size_t i = 0; i < old_slots; i++)
        if (old[i].key != NULL)
            *lookup(ds, old[i].key) = old[i];
    free(old);
}

/* The slot of key: its series, or the free slot where it belongs. */
static struct series *lookup(struct dataset *ds, const char *key)
{
    size_t i = (size_t)hash(key) & (ds->slots - 1);
    while (ds->series[i].key != NULL && strcmp(ds->series[i].key, key) != 0)
        i = (i + 1) & (ds->slots - 1);
    return &ds->series[i];
}

static void add_sample(struct dataset *ds, const char *key, int64_t ts_ms, double value)
{
    if (2 * (ds->used + 1) > ds->slots)
        rehash(ds);
    struct series *s = lookup(ds, key);
    if (s->key == NULL) {
        s->key = strdup(key);
        ds->used++;
    }
    if (s->count > 0 && ts_ms < s->ts_ms[s->count - 1]) {
        ds->refused++; /* out of order: the store would keep it in another chunk */
        return;
    }
    if (s->count == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->ts_ms = xrealloc(s->ts_ms, s->cap * sizeof *s->ts_ms);
        s->values = xrealloc(s->values, s->cap * sizeof *s->values);
    }
    s->ts_ms[s->count] = ts_ms;
    s->values[s->count++] = value;
    ds->samples++;
}

/* "name,k1=v1,k2=v2" with labels sorted by key. */
static void series_key(const struct senml_record *r, char *key, size_t size)
{
    size_t len = (size_t)snprintf(key, size, "%s", r->name);
    append_sorted_labels(r, key, size, len);
}

static int load_senml(struct dataset *ds, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "chunk_codec: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char *line = NULL, key[KEY_MAX];
    size_t line_cap = 0;
    ssize_t n;
    while ((n = getline(&line, &line_cap, f)) > 0) {
        struct senml_pack *pack = NULL;
        if (senml_json_decode(line, (size_t)n, NOW_MS, &pack, NULL) != 0) {
            ds->refused++;
            continue;
        }
        for (size_t i = 0; i < pack->count; i++) {
            const struct senml_record *r = &pack->records[i];
            if (r->kind != SENML_KIND_NUMBER)
                continue;
            series_key(r, key, sizeof key);
            add_sample(ds, key, llround(r->time_s * 1000.0), r->value);
        }
        senml_pack_free(pack);
    }
    free(line);
    fclose(f);
    return 0;
}

/* 60 series x 1 day at jittered 5 s: 2-decimal walks, integers, mostly-zero counters. */
static void load_synthetic(struct dataset *ds)
{
    uint64_t rng = 88172645463325252u;
    char key[64];
    for (int s = 0; s < 60; s++) {
        snprintf(key, sizeof key, "synthetic.%d", s);
        int64_t level = 5000;
        for (int64_t i = 0; i < 17280; i++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            int64_t jitter = rng % 100 == 0 ? 1000 : 0;
            level += (int64_t)(rng >> 40) % 41 - 20;
            int64_t tens = level / 10; /* an integer series */
            double v = s % 3 == 0   ? (double)level / 100.0
                       : s % 3 == 1 ? (double)tens
                                    : (double)(rng % 97 == 0);
            add_sample(ds, key, INT64_C(1735689600000) + i * 5000 + jitter, v);
        }
    }
}

static void store_chunk(struct chunks *c, const uint8_t *bytes, size_t len)
{
    struct chunk_info info;
    if (chunk_info_parse(bytes, len, &info) != 0)
        abort();
    c->decimal += info.encoding == CHUNK_ENCODING_DECIMAL;
    if (c->bytes == NULL || c->len + len > c->cap) {
        c->cap = (c->len + len) * 2;
        c->bytes = xrealloc(c->bytes, c->cap);
    }
    memcpy(c->bytes + c->len, bytes, len);
    c->len += len;
    if (c->count == c->cap_count) {
        c->cap_count = c->cap_count ? c->cap_count * 2 : 1024;
        c->ends = xrealloc(c->ends, c->cap_count * sizeof *c->ends);
    }
    c->ends[c->count++] = c->len;
}

static void flush_chunk(struct chunk_encoder *enc, struct chunks *out)
{
    const uint8_t *bytes;
    size_t len;
    if (chunk_encoder_finish(enc, &bytes, &len) != 0)
        abort();
    store_chunk(out, bytes, len);
    chunk_encoder_reset(enc);
}

/* Cuts every series into chunks: full ones (window_ms 0) or one per aligned time window. */
static void encode_all(const struct dataset *ds, struct chunk_encoder *enc, int64_t window_ms,
                       struct chunks *out)
{
    for (size_t s = 0; s < ds->slots; s++) {
        const struct series *se = &ds->series[s];
        chunk_encoder_reset(enc);
        for (size_t i = 0; i < se->count; i++) {
            bool cut = window_ms > 0 && chunk_encoder_count(enc) > 0 &&
                       se->ts_ms[i] / window_ms != se->ts_ms[i - 1] / window_ms;
            int rc = cut ? -ENOSPC : chunk_encoder_append(enc, se->ts_ms[i], se->values[i]);
            if (rc == -ENOSPC) {
                flush_chunk(enc, out);
                rc = chunk_encoder_append(enc, se->ts_ms[i], se->values[i]);
            }
            if (rc != 0)
                abort();
        }
        if (chunk_encoder_count(enc) > 0)
            flush_chunk(enc, out);
    }
}

/* Decodes every chunk; returns the samples seen (and a checksum the optimizer must keep). */
static size_t decode_all(const struct chunks *c, double *sink)
{
    size_t samples = 0, start = 0;
    double sum = 0;
    for (size_t i = 0; i < c->count; i++) {
        struct chunk_iter it;
        int64_t ts;
        double v;
        int rc;
        if (chunk_iter_init(&it, c->bytes + start, c->ends[i] - start) != 0)
            abort();
        while ((rc = chunk_iter_next(&it, &ts, &v)) == 1) {
            sum += v + (double)ts;
            samples++;
        }
        if (rc != 0)
            abort();
        start = c->ends[i];
    }
    *sink = sum;
    return samples;
}

static bool same_bits(double a, double b)
{
    uint64_t x, y;
    memcpy(&x, &a, sizeof x);
    memcpy(&y, &b, sizeof y);
    return x == y;
}

/* The chunks, in series order, must give back every sample bit for bit. */
static void verify(const struct dataset *ds, const struct chunks *c)
{
    size_t chunk = 0, start = 0;
    for (size_t s = 0; s < ds->slots; s++) {
        const struct series *se = &ds->series[s];
        size_t i = 0;
        while (i < se->count) {
            struct chunk_iter it;
            int64_t ts;
            double v;
            if (chunk >= c->count || chunk_iter_init(&it, c->bytes + start, c->ends[chunk] - start))
                abort();
            while (chunk_iter_next(&it, &ts, &v) == 1) {
                if (i >= se->count || ts != se->ts_ms[i] || !same_bits(v, se->values[i]))
                    abort();
                i++;
            }
            start = c->ends[chunk++];
        }
    }
}

static void chunks_free(struct chunks *c)
{
    free(c->bytes);
    free(c->ends);
    memset(c, 0, sizeof *c);
}

static void dataset_free(struct dataset *ds)
{
    for (size_t s = 0; s < ds->slots; s++) {
        free(ds->series[s].key);
        free(ds->series[s].ts_ms);
        free(ds->series[s].values);
    }
    free(ds->series);
    memset(ds, 0, sizeof *ds);
}

int main(int argc, char **argv)
{
    struct dataset ds = {0};
    struct chunks full = {0}, windowed = {0};
    struct chunk_encoder *enc = NULL;
    double sink;
    if (argc > 1) {
        if (load_senml(&ds, argv[1]) != 0)
            return 1;
    } else {
        fprintf(stderr, "chunk_codec: no SenML file given (argv[1]); using a synthetic set\n");
        load_synthetic(&ds);
    }
    if (ds.samples == 0 || chunk_encoder_new(CHUNK_MAX_SAMPLES, &enc) != 0) {
        fprintf(stderr, "chunk_codec: no samples\n");
        dataset_free(&ds);
        return 1;
    }
    double t0 = now_s();
    encode_all(&ds, enc, 0, &full);
    double encode_s = now_s() - t0;
    t0 = now_s();
    size_t decoded = decode_all(&full, &sink);
    double decode_s = now_s() - t0;
    if (decoded != ds.samples)
        abort();
    verify(&ds, &full);
    encode_all(&ds, enc, TWO_HOURS_MS, &windowed);
    verify(&ds, &windowed);

    printf("chunk_bytes_per_sample %.3f B/sample\n", (double)full.len / (double)ds.samples);
    printf("chunk_bytes_per_sample_2h %.3f B/sample\n", (double)windowed.len / (double)ds.samples);
    printf("chunk_decimal_chunks_pct %.1f %%\n", 100.0 * (double)full.decimal / (double)full.count);
    printf("chunk_encode_samples_per_s %.0f samples/s\n", (double)ds.samples / encode_s);
    printf("chunk_decode_samples_per_s %.0f samples/s\n", (double)decoded / decode_s);
    printf("samples %zu samples\n", ds.samples);
    printf("chunks %zu chunks\n", full.count);
    printf("series %zu series\n", ds.used);
    if (ds.refused > 0)
        fprintf(stderr,
                "chunk_codec: %zu packs or samples refused (bad JSON or out of order); "
                "checksum %g\n",
                ds.refused, sink);

    chunk_encoder_free(enc);
    chunks_free(&full);
    chunks_free(&windowed);
    dataset_free(&ds);
    return 0;
}
