/* What the SenML benchmarks (bench/senml_decode.c, bench/senml_cbor.c) share: a monotonic clock
 * in seconds and the agent-like pack they time (60 records, bn + bt + bid + sq, 2-decimal
 * values, a label on some), as hostmetrics_gen.py / our agent write it. Bench-only: static
 * functions, so each benchmark stays one .c file and one binary. */
#ifndef UPDRAFT_BENCH_SENML_PACK_GEN_H
#define UPDRAFT_BENCH_SENML_PACK_GEN_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "bench/bench_util.h"

/* Writes the SenML JSON pack of seed into out (size bytes); returns its length. */
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
                              ",{\"n\":\"disk.used_pct\",\"v\":%u.%02u,\"mount\":\"%s\"}", 40 + i,
                              seed % 100, mounts[i]);
    for (int i = 0; i < 48; i++)
        n += (size_t)snprintf(out + n, size - n, ",{\"n\":\"m.metric_%02d\",\"v\":%u}", i,
                              (seed * 31 + (unsigned)i) % 100000);
    n += (size_t)snprintf(out + n, size - n, "]");
    return n;
}

#endif
