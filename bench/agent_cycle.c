/* Benchmark: one collection cycle of the agent, in-process, against the real /proc: every
 * collector of the table below, then agent_pack_encode (SenML JSON), CYCLES times back to back
 * with no sleep (what the agent does every interval, minus the publish). Then one more cycle
 * after 1 s, when every rate has a delta as at the agent's interval, gives the pack's size as
 * SenML JSON, as SenML CBOR, and as the CoAP datagrams that would carry it (bench/coap_wire.h).
 * Prints "name value unit" lines.
 * usage: agent_cycle [CYCLES]    (default 2000) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/coap_wire.h"
#include "common/clock.h"
#include "common/senml.h"
#include "common/senml_cbor.h"
#include "common/senml_json.h"
#include "edge-agent/batch.h"
#include "edge-agent/collector.h"
#include "edge-agent/connscan.h"
#include "edge-agent/identity.h"
#include "edge-agent/pack.h"
#include "edge-agent/procscan.h"
#include "edge-agent/sockdiag.h"

#define DEFAULT_CYCLES 2000
#define WARMUP_CYCLES 20

typedef int (*bench_collector_ctor)(const struct collector_env *env, struct collector *out);

/* cpu and mem still take proc_root; collectors taking the env go into the table directly. */
static int bench_cpu_new(const struct collector_env *env, struct collector *out)
{
    return collector_cpu_new(env->proc_root, out);
}

static int bench_mem_new(const struct collector_env *env, struct collector *out)
{
    return collector_mem_new(env->proc_root, out);
}

/* The scans the agent shares between collectors (see agent.c). */
static struct procscan *bench_procscan;
static struct connscan *bench_connscan;

static int bench_proc_new(const struct collector_env *env, struct collector *out)
{
    return collector_proc_new(env, bench_procscan, out);
}

static int bench_container_new(const struct collector_env *env, struct collector *out)
{
    return collector_container_new(env, bench_procscan, out);
}

static int bench_conn_new(const struct collector_env *env, struct collector *out)
{
    (void)env;
    return collector_conn_new(bench_connscan, out);
}

/* ---- The collectors under test: one line per collector, e.g. {"disk", collector_disk_new}.
 * Keep it to what the agent's default `collectors` runs plus what is added to it. ---- */
static const struct {
    const char *name;
    bench_collector_ctor ctor;
} bench_collectors[] = {
    {"cpu", bench_cpu_new},   {"mem", bench_mem_new},   {"disk", collector_disk_new},
    {"net", collector_net_new}, {"gpu", collector_gpu_new}, {"proc", bench_proc_new},
    {"container", bench_container_new}, {"conn", bench_conn_new},
};
#define BENCH_COLLECTORS (sizeof bench_collectors / sizeof bench_collectors[0])

static double mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct bench {
    struct collector collectors[BENCH_COLLECTORS];
    size_t n_collectors;
    struct metric_batch *batch;
    struct senml_buf buf;
    char host[65];
    char boot_id[17];
};

/* One cycle as the agent runs it: stamp the batch, every collector, encode the pack. A source
 * that is not there (no GPU, no containers: -ENOENT) is skipped as the agent skips it; any
 * other failure fails the bench: a figure without it would look better than the agent is. */
static int bench_cycle(struct bench *b, uint64_t seq)
{
    metric_batch_reset(b->batch, clock_wall_ms());
    int64_t now = clock_mono_ms();
    for (size_t i = 0; i < b->n_collectors; i++) {
        int rc = b->collectors[i].collect(b->collectors[i].ctx, now, b->batch);
        if (rc != 0 && rc != -ENOENT) {
            fprintf(stderr, "agent_cycle: collector %s: %s\n", b->collectors[i].name,
                    strerror(-rc));
            return rc;
        }
    }
    b->buf.len = 0;
    return agent_pack_encode(b->batch, b->host, b->boot_id, true, seq, &b->buf);
}

static int bench_open(struct bench *b)
{
    const struct collector_env env = {.proc_root = "/proc", .sys_root = "/sys", .top_n = 10};
    b->batch = malloc(sizeof *b->batch);
    if (b->batch == NULL)
        return -ENOMEM;
    /* the agent's own identity, so the pack is the one this machine's agent would send */
    if (identity_default_host(b->host, sizeof b->host) != 0)
        snprintf(b->host, sizeof b->host, "bench-host");
    if (identity_new_boot_id(b->boot_id, sizeof b->boot_id) != 0)
        return -EIO;
    struct procscan_config pc = {.proc_root = "/proc"};
    struct connscan_config cc = {.proc_root = "/proc", .tcp_listeners_fn = sockdiag_tcp_listeners};
    if (procscan_new(&pc, &bench_procscan) != 0 || connscan_new(&cc, &bench_connscan) != 0)
        return -ENOMEM;
    for (size_t i = 0; i < BENCH_COLLECTORS; i++) {
        int rc = bench_collectors[i].ctor(&env, &b->collectors[i]);
        if (rc != 0) {
            fprintf(stderr, "agent_cycle: collector %s could not start: %s\n",
                    bench_collectors[i].name, strerror(-rc));
            return rc;
        }
        b->n_collectors++;
    }
    return 0;
}

static void bench_close(struct bench *b)
{
    for (size_t i = 0; i < b->n_collectors; i++)
        b->collectors[i].destroy(b->collectors[i].ctx);
    senml_buf_free(&b->buf);
    free(b->batch);
    procscan_free(bench_procscan);
    connscan_free(bench_connscan);
}

/* The same pack as SenML CBOR (what the CoAP transport will send): bytes, or 0 on failure. */
static size_t cbor_bytes(const struct bench *b)
{
    struct senml_pack *pack = NULL;
    struct senml_error err;
    struct senml_buf cbor = {0};
    size_t n = 0;
    char base[72];
    snprintf(base, sizeof base, "%s/", b->host);
    if (senml_json_decode(b->buf.data, b->buf.len, clock_wall_ms(), &pack, &err) == 0 &&
        senml_cbor_encode(pack, base, &cbor) == 0)
        n = cbor.len;
    senml_pack_free(pack);
    senml_buf_free(&cbor);
    return n;
}

/* The bytes of the CoAP datagrams that carry a CBOR body of cbor bytes as a CON POST
 * /t/<host>/metrics (4-byte token, default port: no Uri-Port): one datagram when it fits
 * COAP_MAX_BLOCK bytes, else Block1 blocks of 1024 with Size1 and Request-Tag on each, as
 * libcoap 4.3.1 sends them. Sets *overhead to a single datagram's header, token, options and
 * payload marker, *blocks to the datagrams; 0 when a header does not fit. */
static size_t coap_wire_bytes(const char *host, size_t cbor, size_t *overhead, size_t *blocks)
{
    uint8_t head[128], token[4] = {0};
    *overhead = coap_post_metrics_header(head, sizeof head, 0, token, sizeof token, host, NULL);
    *blocks = cbor <= COAP_MAX_BLOCK ? 1 : (cbor + COAP_MAX_BLOCK - 1) / COAP_MAX_BLOCK;
    if (*blocks == 1)
        return *overhead > 0 ? *overhead + cbor : 0;
    size_t total = 0;
    for (size_t n = 0; n < *blocks; n++) {
        struct coap_block1 block = {.num = (uint32_t)n,
                                    .size1 = (uint32_t)cbor,
                                    .request_tag = 0x20db892a,
                                    .more = n + 1 < *blocks,
                                    .szx = 6};
        size_t len =
            coap_post_metrics_header(head, sizeof head, 0, token, sizeof token, host, &block);
        if (len == 0)
            return 0;
        total += len + (block.more ? COAP_MAX_BLOCK : cbor - n * COAP_MAX_BLOCK);
    }
    return total;
}

int main(int argc, char **argv)
{
    long cycles = DEFAULT_CYCLES;
    if (argc > 1) {
        char *end = NULL;
        cycles = strtol(argv[1], &end, 10);
        if (end == argv[1] || *end != '\0' || cycles < 1 || cycles > 10000000) {
            fprintf(stderr, "usage: agent_cycle [CYCLES]\n");
            return 2;
        }
    }
    struct bench b = {.n_collectors = 0};
    double *us = malloc((size_t)cycles * sizeof *us);
    int exit_code = 1;
    if (us == NULL || bench_open(&b) != 0)
        goto out;
    uint64_t seq = 0;
    for (int i = 0; i < WARMUP_CYCLES; i++)
        if (bench_cycle(&b, ++seq) != 0)
            goto out;
    /* Back to back, most cycles see no new CPU tick, so the cpu collector skips its rates
     * (cheap formatting); reading and parsing /proc, the bulk of the cost, happen every time. */
    for (long i = 0; i < cycles; i++) {
        double t0 = mono_us();
        if (bench_cycle(&b, ++seq) != 0)
            goto out;
        us[i] = mono_us() - t0;
    }
    qsort(us, (size_t)cycles, sizeof *us, cmp_double);
    size_t p99 = ((size_t)cycles * 99 + 99) / 100 - 1;
    printf("agent_cycle_median_us %.1f us\n", us[cycles / 2]);
    printf("agent_cycle_p99_us %.1f us\n", us[p99]);
    printf("agent_cycle_cycles %ld cycles\n", cycles);

    nanosleep(&(struct timespec){1, 0}, NULL);
    if (bench_cycle(&b, ++seq) != 0 || b.batch->count == 0)
        goto out;
    printf("agent_pack_samples %zu samples\n", b.batch->count);
    printf("agent_pack_bytes_json %zu B\n", b.buf.len);
    printf("agent_pack_bytes_per_sample_json %.1f B/sample\n",
           (double)b.buf.len / (double)b.batch->count);
    size_t cbor = cbor_bytes(&b);
    if (cbor > 0) {
        printf("agent_pack_bytes_cbor %zu B\n", cbor);
        printf("agent_pack_bytes_per_sample_cbor %.1f B/sample\n",
               (double)cbor / (double)b.batch->count);
        size_t overhead, blocks, wire = coap_wire_bytes(b.host, cbor, &overhead, &blocks);
        if (wire > 0) {
            printf("agent_coap_post_overhead_bytes %zu B\n", overhead);
            printf("agent_coap_datagrams %zu datagrams\n", blocks);
            printf("agent_coap_bytes %zu B\n", wire);
            printf("agent_coap_bytes_per_sample %.1f B/sample\n",
                   (double)wire / (double)b.batch->count);
        }
    }
    exit_code = 0;
out:
    if (exit_code != 0)
        fprintf(stderr, "agent_cycle: failed\n");
    bench_close(&b);
    free(us);
    return exit_code;
}
