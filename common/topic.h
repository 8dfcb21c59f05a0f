/* Topic names of the public MQTT API: "<root>/v1/<host>/<kind>" (docs/topics.md).
 * Pure: no I/O, no allocation. Thread-safe. */
#ifndef UPDRAFT_COMMON_TOPIC_H
#define UPDRAFT_COMMON_TOPIC_H

#include <stdbool.h>
#include <stddef.h>

#define TOPIC_HOST_MAX 64    /* bytes in a host id */
#define TOPIC_ROOT_MAX 64    /* bytes in the configurable root ("updraft") */
#define TOPIC_MAX 256        /* bytes in a whole topic, NUL included */

enum topic_kind {
    TOPIC_KIND_METRICS,
    TOPIC_KIND_HEARTBEAT,
    TOPIC_KIND_STATE,
    TOPIC_KIND_INVENTORY,
    TOPIC_KIND_CONFIG,
    TOPIC_KIND_ACK,
};

/* "metrics", "heartbeat", ... */
const char *topic_kind_name(enum topic_kind kind);

/* A host id is 1..TOPIC_HOST_MAX bytes of [A-Za-z0-9._-], not "." or "..". */
bool topic_host_valid(const char *host, size_t len);

/* A root is 1..TOPIC_ROOT_MAX bytes of [A-Za-z0-9._-] and '/' (no wildcards, no empty level). */
bool topic_root_valid(const char *root);

/* Writes "<root>/v1/<host>/<kind>". Returns 0, or -EINVAL (bad host/root) / -ENOSPC. */
int topic_build(char *out, size_t out_size, const char *root, const char *host,
                enum topic_kind kind) __attribute__((warn_unused_result));

/* Writes the subscription filter "<root>/v1/+/<kind>". */
int topic_filter(char *out, size_t out_size, const char *root, enum topic_kind kind)
    __attribute__((warn_unused_result));

/* Splits a received topic. On success copies the host (NUL-terminated) into host (size
 * TOPIC_HOST_MAX + 1) and sets *kind. Returns 0 or -EINVAL (not ours, unknown kind, bad host). */
int topic_parse(const char *topic, const char *root, char *host, enum topic_kind *kind)
    __attribute__((warn_unused_result));

#endif
