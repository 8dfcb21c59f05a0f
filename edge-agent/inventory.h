/* The inventory document (docs/topics.md, "inventory"): host facts, tags, containers,
 * processes and sockets written as one compact, bounded JSON object; its change digest; and
 * the publish cadence. Pure: no I/O, no clock (times come in as arguments), no logging.
 * Thread-safe on distinct arguments. */
#ifndef UPDRAFT_AGENT_INVENTORY_H
#define UPDRAFT_AGENT_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge-agent/hostfacts.h"

#define INVENTORY_VERSION 1
#define INVENTORY_DEFAULT_MAX_BYTES 65536 /* the output buffer the agent should give */
#define INVENTORY_MAX_TAGS 64
#define INVENTORY_MAX_ITEMS 65536 /* per input list */
#define INVENTORY_TAG_KEY_MAX 32
#define INVENTORY_TAG_VALUE_MAX 128

/* A fixed-size string member may lack its NUL when full: it is read up to its size.
 * Bytes that are not UTF-8 are written as U+FFFD. */
struct inventory_tag {
    char key[INVENTORY_TAG_KEY_MAX];
    char value[INVENTORY_TAG_VALUE_MAX];
};

struct inventory_container {
    char id[65];      /* full hex id */
    char runtime[16]; /* "docker", "containerd", "crio", "podman" */
    char pod_uid[40]; /* "" when not in a Kubernetes pod */
};

struct inventory_process {
    int pid;
    char name[32];         /* comm */
    char container_id[65]; /* "" for a process of the host */
};

/* One socket. For a listening socket the remote members and state are not written. */
struct inventory_socket {
    char proto[5]; /* "tcp", "tcp6", "udp", "udp6" */
    char local_addr[46];
    int local_port;
    char remote_addr[46];
    int remote_port;
    char state[12]; /* "ESTABLISHED", "TIME_WAIT", ... */
    int pid;        /* owning process, 0 when unknown */
};

/* Everything one document is built from. All borrowed for the call; lists may be NULL when
 * their count is 0. Order within a list does not matter (the document is sorted), except
 * that the first top_process_count processes are "the top ones" (e.g. by CPU). */
struct inventory_input {
    const char *host;          /* host id, as in the topic */
    const char *agent_version; /* "0.1.0" */
    const char *boot_id;       /* the agent's boot id */
    int64_t ts_ms;             /* wall clock when the lists were taken, ms since the epoch */
    const struct hostfacts *facts;
    bool has_gpu;
    const struct inventory_tag *tags; /* keys unique */
    size_t tag_count;
    const struct inventory_container *containers;
    size_t container_count;
    const struct inventory_process *processes; /* may hold every process of the host */
    size_t process_count;
    size_t top_process_count;
    const struct inventory_socket *listening;
    size_t listening_count;
    const struct inventory_socket *connections;
    size_t connection_count;
};

/* What a build produced. */
struct inventory_result {
    size_t len;             /* bytes written, without the NUL */
    uint64_t digest;        /* inventory_digest of the same input */
    bool truncated;         /* some processes or connections were left out */
    size_t processes_total; /* selected processes (see inventory_build) */
    size_t processes_written;
    size_t connections_total;
    size_t connections_written;
};

/* Writes the document for in into out (out_size bytes, NUL included: the document is at
 * most out_size - 1 bytes) and fills *res.
 *
 * Processes: of the given ones, only those that matter for the topology are written: the
 * ones owning a listening socket or a connection (by pid), the ones in a container, and the
 * first top_process_count. Every list is written sorted (tags by key, containers by id,
 * processes by pid, listening by proto/port/addr, connections grouped by edge, see
 * inventory_digest), so the same input in another order gives the same bytes.
 *
 * Bound: when the whole document does not fit, processes and connections are left out
 * until it does, taking turns between the two lists and keeping the most useful first
 * (processes owning a listening socket, then a connection, then in a container, then
 * top-only; connections: one per edge first, then the others); the document then says
 * "truncated":true and "totals":{"processes":N,"connections":M}. Facts, tags, containers
 * and listening sockets are never cut.
 *
 * Returns 0, or
 *   -EINVAL  a NULL member that is required (host, agent_version, boot_id, facts, a list
 *            with a count), a duplicate or empty tag key, top_process_count > process_count
 *   -E2BIG   more than INVENTORY_MAX_TAGS tags or INVENTORY_MAX_ITEMS items in a list
 *   -ENOSPC  out_size cannot hold even the document without processes and connections
 *   -ENOMEM  allocation failed (the sort uses a working array)
 * On failure out holds "" (when out_size > 0) and *res is unspecified. */
int inventory_build(const struct inventory_input *in, char *out, size_t out_size,
                    struct inventory_result *res) __attribute__((warn_unused_result));

/* FNV-1a 64 of what the document says about the topology, to tell "changed" from "same":
 * every field except the volatile ones, over the sorted lists (so input order does not
 * matter) and over every selected item (so a change past a truncation still counts).
 * Left out because they churn without the topology changing:
 *   - ts;
 *   - processes that are only among the top ones (the CPU ranking moves all the time);
 *   - a connection's state and its ephemeral port: a connection whose local port is one
 *     this host listens on (same proto family) is inbound and its remote port is dropped;
 *     any other is outbound and its local port is dropped. Connections that then look the
 *     same (proto, local addr, service port, remote addr, direction, pid) count once, so
 *     a pool growing from 5 to 6 connections to one database is no change.
 * Returns 0 and *digest, or the errors of inventory_build other than -ENOSPC. */
int inventory_digest(const struct inventory_input *in, uint64_t *digest)
    __attribute__((warn_unused_result));

/* Parses a config list "role=web, zone=us-west" (comma-separated key=value, blanks around
 * items, keys and values trimmed; keys of [A-Za-z0-9_.-], 1..INVENTORY_TAG_KEY_MAX-1
 * bytes; values 0..INVENTORY_TAG_VALUE_MAX-1 bytes without ','). "" gives no tags.
 * Returns 0 and *count, or -EINVAL (bad item, duplicate key) / -E2BIG (more than max_tags)
 * with *count unspecified. */
int inventory_tags_parse(const char *list, struct inventory_tag *tags, size_t max_tags,
                         size_t *count) __attribute__((warn_unused_result));

#define INVENTORY_DEFAULT_MIN_INTERVAL_MS ((int64_t)30 * 1000)
#define INVENTORY_DEFAULT_MAX_INTERVAL_MS ((int64_t)10 * 60 * 1000)

/* Publish cadence on the monotonic clock. A change (new digest) is published at once, but
 * at most once every min_interval_ms, so a flapping list does not spam the broker; without
 * change the document is republished every max_interval_ms. */
struct inventory_policy {
    int64_t min_interval_ms;
    int64_t max_interval_ms;
    bool published; /* false until inventory_policy_published is first called */
    uint64_t last_digest;
    int64_t last_publish_mono_ms;
};

/* Defaults above; nothing published yet. */
void inventory_policy_init(struct inventory_policy *p);

/* True when the document with this digest should be published now: nothing published yet;
 * or digest differs from the last published one and min_interval_ms has passed since then;
 * or max_interval_ms has passed since then. */
bool inventory_due(const struct inventory_policy *p, uint64_t digest, int64_t now_mono_ms);

/* Records a publish (call it once the publisher accepted the message). */
void inventory_policy_published(struct inventory_policy *p, uint64_t digest, int64_t now_mono_ms);

#endif
