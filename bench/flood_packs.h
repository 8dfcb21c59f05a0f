/* The packs the flood tools send (bench/mqtt_flood.c over MQTT as SenML JSON, bench/coap_flood.c
 * over CoAP as SenML CBOR), so both carry the same records: host "bench-NNN" (pack i is host
 * i % hosts' sequence i / hosts + 1), bn "<host>/", bt, bid, sq, the first `samples` of one
 * host's 100 series as our agent reports them (docs/metrics.md, hostmetrics_gen.py), labels on
 * some, values a bounded 2-decimal random walk; each host's packs 1 s apart, ending now, so
 * every sample is distinct and recent. Encoded back to back before any clock starts.
 * Bench-only: static functions, so each tool stays one .c file and one binary. */
#ifndef UPDRAFT_BENCH_FLOOD_PACKS_H
#define UPDRAFT_BENCH_FLOOD_PACKS_H

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "common/clock.h"
#include "common/senml.h"
#include "common/senml_cbor.h"
#include "common/senml_json.h"

#define FLOOD_MAX_HOSTS 999   /* "bench-000".."bench-998" */
#define FLOOD_MAX_SAMPLES 100 /* the series one host has */

enum flood_encoding { FLOOD_SENML_JSON, FLOOD_SENML_CBOR };

struct flood_family {
    const char *name;
    const char *label_key; /* NULL: the values go into the name ("cpu.core.3"), if any */
    const char *label_values[8];
    bool integer;
};

static const struct flood_family FLOOD_FAMILIES[] = {
    {"cpu.utilization", NULL, {NULL}, false},
    {"cpu.core", NULL, {"0", "1", "2", "3", "4", "5", "6", "7"}, false},
    {"cpu.core", NULL, {"8", "9", "10", "11", "12", "13", "14", "15"}, false},
    {"cpu.core", NULL, {"16", "17", "18", "19", "20", "21", "22", "23"}, false},
    {"cpu.core", NULL, {"24", "25", "26", "27", "28", "29", "30", "31"}, false},
    {"cpu.user_pct", NULL, {NULL}, false},
    {"cpu.system_pct", NULL, {NULL}, false},
    {"cpu.iowait_pct", NULL, {NULL}, false},
    {"cpu.steal_pct", NULL, {NULL}, false},
    {"cpu.load1", NULL, {NULL}, false},
    {"cpu.load5", NULL, {NULL}, false},
    {"cpu.load15", NULL, {NULL}, false},
    {"mem.used_pct", NULL, {NULL}, false},
    {"mem.swap_pct", NULL, {NULL}, false},
    {"mem.used_mb", NULL, {NULL}, true},
    {"mem.available_mb", NULL, {NULL}, true},
    {"mem.cache_mb", NULL, {NULL}, true},
    {"disk.used_pct", "mount", {"/", "/var", "/data", "/home"}, false},
    {"disk.inodes_used_pct", "mount", {"/", "/var", "/data", "/home"}, false},
    {"disk.iops_read", "device", {"sda", "sdb", "nvme0n1"}, false},
    {"disk.iops_write", "device", {"sda", "sdb", "nvme0n1"}, false},
    {"disk.throughput_read_mbps", "device", {"sda", "sdb", "nvme0n1"}, false},
    {"disk.throughput_write_mbps", "device", {"sda", "sdb", "nvme0n1"}, false},
    {"disk.await_ms", "device", {"sda", "sdb", "nvme0n1"}, false},
    {"net.rx_mbps", "iface", {"eth0", "eth1", "eth2"}, false},
    {"net.tx_mbps", "iface", {"eth0", "eth1", "eth2"}, false},
    {"net.rx_pps", "iface", {"eth0", "eth1", "eth2"}, false},
    {"net.tx_pps", "iface", {"eth0", "eth1", "eth2"}, false},
    {"net.errors", "iface", {"eth0", "eth1", "eth2"}, true},
    {"net.drops", "iface", {"eth0", "eth1", "eth2"}, true},
    {"net.sockets_active", NULL, {NULL}, true},
    {"proc.top.cpu_pct", "rank", {"1", "2", "3", "4", "5"}, false},
    {"proc.top.mem_mb", "rank", {"1", "2", "3", "4", "5"}, true},
    {"gpu.utilization_pct", "gpu", {"0"}, false},
    {"gpu.mem_used_mb", "gpu", {"0"}, true},
    {"gpu.temp_c", "gpu", {"0"}, true},
};

/* The packs, back to back: pack i is bytes[ends[i - 1] .. ends[i]) (from 0 for i = 0). */
struct flood_packs {
    char *bytes;
    size_t len, cap;
    size_t *ends;
    size_t count, hosts;
};

static inline void flood_host_name(char *out, size_t size, size_t h)
{
    snprintf(out, size, "bench-%03zu", h);
}

static inline uint64_t flood_xorshift(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/* Fills recs[0..max) with one host's records (names "<host>/<metric>", freed by the caller)
 * and integer[] with which are integer series; returns how many. */
static inline size_t flood_host_records(const char *host, struct senml_record *recs, bool *integer,
                                        size_t max)
{
    size_t n = 0;
    for (size_t f = 0; f < sizeof FLOOD_FAMILIES / sizeof FLOOD_FAMILIES[0]; f++) {
        const struct flood_family *fam = &FLOOD_FAMILIES[f];
        for (size_t l = 0; l < 8 && (l == 0 || fam->label_values[l] != NULL) && n < max; l++) {
            struct senml_record *r = &recs[n];
            const char *value = fam->label_values[l];
            memset(r, 0, sizeof *r);
            r->kind = SENML_KIND_NUMBER;
            size_t size = strlen(host) + strlen(fam->name) + 8;
            r->name = xrealloc(NULL, size);
            if (fam->label_key == NULL && value != NULL) {
                snprintf(r->name, size, "%s/%s.%s", host, fam->name, value);
            } else {
                snprintf(r->name, size, "%s/%s", host, fam->name);
            }
            if (fam->label_key != NULL) { /* the encoders only read labels */
                r->labels[0].key = (char *)fam->label_key;
                r->labels[0].value = (char *)value;
                r->label_count = 1;
            }
            integer[n++] = fam->integer;
        }
    }
    return n;
}

/* A bounded random walk, 2 decimals (or integers), as collected values look. */
static inline double flood_next_value(double previous, bool integer, uint64_t *rng)
{
    double step = (double)(flood_xorshift(rng) % 2001) / 1000.0 - 1.0;
    double v = fabs(previous + step * (integer ? 40.0 : 1.5));
    if (v > (integer ? 65536.0 : 100.0))
        v = integer ? 32768.0 : 50.0;
    return integer ? round(v) : round(v * 100.0) / 100.0;
}

static inline void flood_packs_add(struct flood_packs *p, const struct senml_buf *buf)
{
    if (p->bytes == NULL || p->len + buf->len > p->cap) {
        p->cap = (p->len + buf->len) * 2;
        p->bytes = xrealloc(p->bytes, p->cap);
    }
    memcpy(p->bytes + p->len, buf->data, buf->len);
    p->len += buf->len;
    p->ends[p->count++] = p->len;
}

/* Builds `packs` packs of `samples` records over `hosts` hosts (1..FLOOD_MAX_HOSTS,
 * 1..FLOOD_MAX_SAMPLES); returns 0, or -1 for counts out of range or a pack the encoder
 * refuses. */
static inline int flood_packs_build(struct flood_packs *p, size_t packs, size_t hosts,
                                    size_t samples, enum flood_encoding encoding)
{
    if (packs == 0 || hosts == 0 || hosts > FLOOD_MAX_HOSTS || samples == 0 ||
        samples > FLOOD_MAX_SAMPLES)
        return -1;
    size_t per_host = (packs + hosts - 1) / hosts, k = samples;
    struct senml_record *recs = xrealloc(NULL, hosts * k * sizeof *recs);
    bool *integer = xrealloc(NULL, hosts * k * sizeof *integer);
    char(*boot_ids)[17] = xrealloc(NULL, hosts * sizeof *boot_ids);
    *p = (struct flood_packs){.ends = xrealloc(NULL, packs * sizeof *p->ends), .hosts = hosts};
    int64_t base_ms = clock_wall_ms() - (int64_t)per_host * 1000;
    uint64_t rng = 88172645463325252u ^ (uint64_t)base_ms;
    for (size_t h = 0; h < hosts; h++) {
        char host[32];
        flood_host_name(host, sizeof host, h);
        flood_host_records(host, &recs[h * k], &integer[h * k], k); /* k <= what a host has */
        snprintf(boot_ids[h], sizeof boot_ids[h], "%016" PRIx64, flood_xorshift(&rng));
        for (size_t r = 0; r < k; r++)
            recs[h * k + r].value = (double)(flood_xorshift(&rng) % 5000) / 100.0;
    }
    struct senml_buf buf = {0};
    int rc = 0;
    for (size_t i = 0; i < packs && rc == 0; i++) {
        size_t h = i % hosts, seq = i / hosts + 1;
        struct senml_record *host_recs = &recs[h * k];
        for (size_t r = 0; r < k; r++) {
            host_recs[r].time_s = (double)(base_ms + (int64_t)(seq - 1) * 1000) / 1000.0;
            host_recs[r].value = flood_next_value(host_recs[r].value, integer[h * k + r], &rng);
        }
        struct senml_pack pack = {
            .records = host_recs, .count = k, .boot_id = boot_ids[h], .has_seq = true, .seq = seq};
        char base_name[32];
        snprintf(base_name, sizeof base_name, "bench-%03zu/", h);
        buf.len = 0;
        rc = encoding == FLOOD_SENML_CBOR ? senml_cbor_encode(&pack, base_name, &buf)
                                          : senml_json_encode(&pack, base_name, &buf);
        if (rc == 0)
            flood_packs_add(p, &buf);
    }
    senml_buf_free(&buf);
    for (size_t i = 0; i < hosts * k; i++)
        free(recs[i].name);
    free(recs);
    free(integer);
    free(boot_ids);
    return rc == 0 ? 0 : -1;
}

static inline void flood_packs_free(struct flood_packs *p)
{
    free(p->bytes);
    free(p->ends);
    memset(p, 0, sizeof *p);
}

#endif
