/* Ingest: turns MQTT messages into store batches. Takes the host from the topic, decodes
 * SenML (metrics, heartbeat) or the state payload, validates, and hands accepted packs to the
 * writer. Every refusal is counted under its reason, logged at most once per reason per
 * minute, and kept in a bounded list of recent rejections; nothing a peer sends stops it.
 * ingest_message is called from one thread (the MQTT network thread); the counters and the
 * recent list can be read from any thread. */
#ifndef UPDRAFT_HUB_INGEST_H
#define UPDRAFT_HUB_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub/hosts.h"
#include "hub/writer.h"

enum ingest_reason {
    INGEST_REASON_OVERSIZE,         /* payload above max_payload_bytes */
    INGEST_REASON_INVALID_JSON,     /* not JSON at all */
    INGEST_REASON_NOT_SENML,        /* JSON, but not a SenML pack (an object, a number, ...) */
    INGEST_REASON_INVALID_RECORD,   /* a record breaks RFC 8428 (wrong type, no value, name) */
    INGEST_REASON_TOO_MANY_RECORDS, /* more records or longer strings than the limits */
    INGEST_REASON_FOREIGN_HOST,     /* a name writes under another known host's prefix */
    INGEST_REASON_BAD_TIMESTAMP,    /* before 1970 or more than max_future ahead */
    INGEST_REASON_INVALID_STATE,    /* state payload neither online nor offline */
    INGEST_REASON_BAD_TOPIC,        /* topic not of the form <root>/v1/<host>/<kind> */
    INGEST_REASON_TOO_MANY_HOSTS,   /* a new host beyond max_hosts */
    INGEST_REASON_SHUTDOWN,         /* arrived while the hub was stopping */
    INGEST_REASON_COUNT
};

const char *ingest_reason_name(enum ingest_reason reason); /* "invalid_json", ... */

struct senml_record;
/* The record's labels as the store keys them: "k=v,k2=v2" sorted by key, with ',', '=' and
 * '%' in keys and values %-escaped; "" when none. malloc'd (caller frees), NULL on ENOMEM. */
char *ingest_labels_canonical(const struct senml_record *r);

struct ingest_options {
    const char *topic_root;   /* "updraft" */
    size_t max_payload_bytes;
    int64_t max_future_ms;    /* timestamps further ahead are refused */
};

struct ingest;

int ingest_new(const struct ingest_options *opts, struct hosts *hosts, struct writer *writer,
               struct ingest **out) __attribute__((warn_unused_result));
void ingest_free(struct ingest *in); /* accepts NULL */

/* Handles one message. now_* are the arrival times. */
void ingest_message(struct ingest *in, const char *topic, const void *payload, size_t len,
                    int64_t now_wall_ms, int64_t now_mono_ms);

struct ingest_stats {
    uint64_t messages;   /* all received */
    uint64_t packs;      /* accepted SenML packs (metrics + heartbeat) */
    uint64_t samples;    /* samples in accepted packs */
    uint64_t states;     /* accepted state messages */
    uint64_t rejected[INGEST_REASON_COUNT];
    uint64_t rejected_total;
};
void ingest_stats(struct ingest *in, struct ingest_stats *out);

#define INGEST_RECENT_MAX 32
struct ingest_rejection {
    int64_t at_ms; /* wall clock */
    enum ingest_reason reason;
    char topic[128];
    char detail[256];
};
/* Copies the most recent rejections, newest first; returns how many (<= max). */
size_t ingest_recent(struct ingest *in, struct ingest_rejection *out, size_t max);

#endif
