/* What the agent's files share (agent.c: lifecycle and loop; agent_collect.c: the collector
 * set; agent_send.c: spool, live sends, backfill and acks; agent_inventory.c: the inventory
 * document). One thread owns all of it. */
#ifndef UPDRAFT_AGENT_AGENT_INTERNAL_H
#define UPDRAFT_AGENT_AGENT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/senml_json.h"
#include "common/topic.h"
#include "edge-agent/agent.h"
#include "edge-agent/collector.h"
#include "edge-agent/control.h"
#include "edge-agent/publisher.h"

#define AGENT_MAX_COLLECTORS 16

struct spool;
struct agent_inventory;
struct procscan;
struct connscan;

struct collector_slot {
    struct collector c;
    int last_rc; /* to log a failure once, and its recovery */
};

struct agent {
    const struct agent_config *cfg;
    char host[TOPIC_HOST_MAX + 1];
    char boot_id[17];
    char metrics_topic[TOPIC_MAX], heartbeat_topic[TOPIC_MAX], state_topic[TOPIC_MAX];
    char inventory_topic[TOPIC_MAX], config_topic[TOPIC_MAX], ack_topic[TOPIC_MAX];

    /* What runs now: the config file's values, then whatever a pushed config changed. */
    int64_t interval_ms;
    char collectors_list[CONTROL_COLLECTORS_MAX];
    char labels[CONTROL_LABELS_MAX];
    int64_t config_version;     /* last pushed version applied; 0 = none */
    uint64_t config_rejected;
    struct collector_env env;
    struct procscan *procscan;  /* shared by the proc and container collectors and inventory */
    struct connscan *connscan;  /* shared by the conn collector and the inventory */
    struct collector_slot collectors[AGENT_MAX_COLLECTORS];
    size_t n_collectors;

    struct metric_batch *batch;
    struct senml_buf buf;
    uint64_t seq;               /* last pack sequence used in this boot */
    int64_t started_mono_ms;
    uint64_t encode_failures;

    struct publisher pub;
    bool has_pub;
    struct spool *spool;
    uint64_t live_sent, backlog_sent, acked, spool_errors;
    double backfill_tokens;
    int64_t backfill_at_mono_ms;
    int64_t last_ack_mono_ms;   /* 0 = no ack yet */
    uint64_t dropped_at_open;   /* the spool's lifetime drop count when this run opened it */
    void *send_buf;             /* a backlog pack read from the spool */
    size_t send_cap;

    struct agent_inventory *inventory;
};

/* agent_collect.c */
int agent_collectors_build(struct agent *a, const char *list, char *why, size_t cap)
    __attribute__((warn_unused_result));
void agent_collectors_free(struct agent *a);
void agent_collect(struct agent *a);
struct collector *agent_collector_find(struct agent *a, const char *name);

/* agent_send.c */
int agent_spool_open(struct agent *a) __attribute__((warn_unused_result));
void agent_spool_close(struct agent *a);
/* Spools the pack in a->buf (seq) and sends it at once when connected. */
void agent_send_live(struct agent *a, uint64_t seq);
/* Sends due backlog within the backfill rate; returns ms until more may be sent (or -1). */
int64_t agent_send_backlog(struct agent *a, int64_t now_mono_ms);
void agent_send_reconnected(struct agent *a);
void agent_handle_ack(struct agent *a, const void *payload, size_t len);
void agent_spool_figures(struct agent *a, uint64_t *packs, uint64_t *bytes, uint64_t *dropped);

/* agent_inventory.c */
int agent_inventory_new(struct agent *a) __attribute__((warn_unused_result));
void agent_inventory_free(struct agent *a);
/* Rebuilds the document when its scan is due; publishes it when changed (or old). */
void agent_inventory_tick(struct agent *a, int64_t now_mono_ms, bool force);

#endif
