/* What several benchmarks share: a monotonic clock in seconds, an allocation that exits on
 * failure, FNV-1a for their hash tables, the sorted-labels tail of a series key, and the
 * "--name N" option reader of the flood tools.
 * Bench-only: static functions, so each benchmark stays one .c file and one binary. */
#ifndef UPDRAFT_BENCH_BENCH_UTIL_H
#define UPDRAFT_BENCH_BENCH_UTIL_H

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/senml.h"

static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void *xrealloc(void *p, size_t size)
{
    p = realloc(p, size);
    if (p == NULL) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
    return p;
}

static inline uint64_t hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3u;
    return h;
}

/* Appends ",k1=v1,k2=v2" (the record's labels sorted by key) to key[0..len) (size bytes). */
static inline void append_sorted_labels(const struct senml_record *r, char *key, size_t size,
                                        size_t len)
{
    size_t order[SENML_MAX_LABELS], n = r->label_count;
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        for (; j > 0 && strcmp(r->labels[order[j - 1]].key, r->labels[i].key) > 0; j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
    for (size_t i = 0; i < n && len < size; i++)
        len += (size_t)snprintf(key + len, size - len, ",%s=%s", r->labels[order[i]].key,
                                r->labels[order[i]].value);
}

/* The integer after "--name" among argv[first..], within min..max, else def. Out of range or
 * not a number: "<prog>: --name must be min..max" and exit 2. */
static inline int64_t arg_int(const char *prog, int argc, char **argv, int first, const char *name,
                              int64_t def, int64_t min, int64_t max)
{
    for (int i = first; i + 1 < argc; i++) {
        if (strcmp(argv[i], name) != 0)
            continue;
        char *end;
        errno = 0;
        long long v = strtoll(argv[i + 1], &end, 10);
        if (errno != 0 || *end != '\0' || v < min || v > max) {
            fprintf(stderr, "%s: %s must be %" PRId64 "..%" PRId64 "\n", prog, name, min, max);
            exit(2);
        }
        return v;
    }
    return def;
}

#endif
