/* What the hub sends an agent, parsed from untrusted bytes: the end-to-end ack
 * (<root>/v1/<host>/ack) and the pushed config (<root>/v1/<host>/config, retained).
 *   ack:    {"boot_id":"0006744996778f72","ranges":[[1,5],[7,7]]}
 *   config: {"version":4,"interval":"10s","collectors":["cpu","mem"],"top_n":5,
 *            "labels":{"rack":"a1"}}
 * Every config field but version is optional (absent: keep the current value). interval is a
 * duration string ("500ms", "10s", "5m") or a number of seconds; collectors an array of names
 * or one comma-separated string. Unknown keys, wrong types and out-of-range values are
 * refused with a reason, so a typo never half-applies. Pure: no I/O, no allocation. */
#ifndef UPDRAFT_AGENT_CONTROL_H
#define UPDRAFT_AGENT_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONTROL_ACK_MAX_RANGES 64
#define CONTROL_COLLECTORS_MAX 256 /* bytes of the comma-separated list, incl. NUL */
#define CONTROL_LABELS_MAX 512     /* bytes of "k=v,k=v", incl. NUL */
#define CONTROL_CONFIG_MAX_BYTES 16384

struct control_ack {
    char boot_id[17];
    size_t n_ranges;
    uint64_t first[CONTROL_ACK_MAX_RANGES], last[CONTROL_ACK_MAX_RANGES]; /* inclusive */
};

struct control_config {
    int64_t version; /* >= 1 */
    bool has_interval, has_collectors, has_top_n, has_labels;
    int64_t interval_ms;                      /* 100 ms .. 1 h */
    char collectors[CONTROL_COLLECTORS_MAX];  /* "cpu,mem" (names not checked here) */
    unsigned top_n;                           /* 1 .. 100 */
    char labels[CONTROL_LABELS_MAX];          /* "k=v,k=v"; keys [A-Za-z0-9_.-], values
                                               * printable without ',' or '=' */
};

/* Both return 0 or -EBADMSG with a one-line reason in why (cap bytes). */
int control_ack_parse(const void *payload, size_t len, struct control_ack *out, char *why,
                      size_t cap) __attribute__((warn_unused_result));
int control_config_parse(const void *payload, size_t len, struct control_config *out,
                         char *why, size_t cap) __attribute__((warn_unused_result));

#endif
