/* Ingest (see ingest.h). Counters are atomics; the recent-rejections ring has its own
 * mutex; rate limits are touched only by the ingest thread. */
#include "hub/ingest.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/senml.h"
#include "common/senml_json.h"
#include "common/topic.h"

#define LOG_MODULE "ingest"
#include "common/log.h"

static const char *const reason_names[INGEST_REASON_COUNT] = {
    [INGEST_REASON_OVERSIZE] = "oversize",
    [INGEST_REASON_INVALID_JSON] = "invalid_json",
    [INGEST_REASON_NOT_SENML] = "not_senml",
    [INGEST_REASON_INVALID_RECORD] = "invalid_record",
    [INGEST_REASON_TOO_MANY_RECORDS] = "too_many_records",
    [INGEST_REASON_FOREIGN_HOST] = "foreign_host",
    [INGEST_REASON_BAD_TIMESTAMP] = "bad_timestamp",
    [INGEST_REASON_INVALID_STATE] = "invalid_state",
    [INGEST_REASON_BAD_TOPIC] = "bad_topic",
    [INGEST_REASON_TOO_MANY_HOSTS] = "too_many_hosts",
    [INGEST_REASON_SHUTDOWN] = "shutdown",
};

struct ingest {
    char *root;
    size_t max_payload_bytes;
    int64_t max_future_ms;
    struct hosts *hosts;
    struct writer *writer;
    atomic_uint_fast64_t messages, packs, samples, states;
    atomic_uint_fast64_t rejected[INGEST_REASON_COUNT];
    struct log_ratelimit rl[INGEST_REASON_COUNT];
    pthread_mutex_t recent_lock;
    struct ingest_rejection recent[INGEST_RECENT_MAX];
    size_t recent_next, recent_count;
};

const char *ingest_reason_name(enum ingest_reason reason)
{
    return reason_names[reason];
}

int ingest_new(const struct ingest_options *opts, struct hosts *hosts, struct writer *writer,
               struct ingest **out)
{
    struct ingest *in = calloc(1, sizeof *in);
    if (in == NULL)
        return -ENOMEM;
    in->root = strdup(opts->topic_root);
    if (in->root == NULL) {
        free(in);
        return -ENOMEM;
    }
    in->max_payload_bytes = opts->max_payload_bytes;
    in->max_future_ms = opts->max_future_ms;
    in->hosts = hosts;
    in->writer = writer;
    pthread_mutex_init(&in->recent_lock, NULL);
    *out = in;
    return 0;
}

void ingest_free(struct ingest *in)
{
    if (in == NULL)
        return;
    pthread_mutex_destroy(&in->recent_lock);
    free(in->root);
    free(in);
}

static void reject(struct ingest *in, enum ingest_reason reason, const char *topic,
                   int64_t now_wall_ms, int64_t now_mono_ms, const char *detail)
{
    atomic_fetch_add(&in->rejected[reason], 1);
    pthread_mutex_lock(&in->recent_lock);
    struct ingest_rejection *r = &in->recent[in->recent_next];
    r->at_ms = now_wall_ms;
    r->reason = reason;
    snprintf(r->topic, sizeof r->topic, "%s", topic);
    snprintf(r->detail, sizeof r->detail, "%s", detail);
    in->recent_next = (in->recent_next + 1) % INGEST_RECENT_MAX;
    if (in->recent_count < INGEST_RECENT_MAX)
        in->recent_count++;
    pthread_mutex_unlock(&in->recent_lock);
    uint64_t suppressed = 0;
    if (log_ratelimit_allow(&in->rl[reason], now_mono_ms, 60000, &suppressed))
        log_warn("rejected message on %.128s: %s: %s (%llu more %s rejections in the last "
                 "minute not logged)",
                 topic, reason_names[reason], detail, (unsigned long long)suppressed,
                 reason_names[reason]);
}

char *ingest_labels_canonical(const struct senml_record *r)
{
    size_t order[SENML_MAX_LABELS];
    for (size_t i = 0; i < r->label_count; i++)
        order[i] = i;
    for (size_t i = 1; i < r->label_count; i++)
        for (size_t j = i; j > 0 && strcmp(r->labels[order[j - 1]].key,
                                           r->labels[order[j]].key) > 0; j--) {
            size_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    size_t cap = 1;
    for (size_t i = 0; i < r->label_count; i++)
        cap += 3 * (strlen(r->labels[i].key) + strlen(r->labels[i].value)) + 2;
    char *out = malloc(cap), *p = out;
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < r->label_count; i++) {
        const struct senml_label *l = &r->labels[order[i]];
        if (i > 0)
            *p++ = ',';
        for (int part = 0; part < 2; part++) {
            for (const char *s = part ? l->value : l->key; *s; s++) {
                if (*s == ',' || *s == '=' || *s == '%')
                    p += sprintf(p, "%%%02X", (unsigned char)*s);
                else
                    *p++ = *s;
            }
            if (part == 0)
                *p++ = '=';
        }
    }
    *p = '\0';
    return out;
}

/* Fills one store sample from a resolved record. Returns 0 or the reason to refuse. */
static int record_to_sample(struct ingest *in, const char *host, struct senml_record *r,
                            int64_t now_wall_ms, struct store_sample *s, char *detail,
                            size_t detail_size)
{
    size_t host_len = strlen(host);
    const char *metric = r->name;
    const char *slash = strchr(r->name, '/');
    if (strncmp(r->name, host, host_len) == 0 && r->name[host_len] == '/') {
        metric = r->name + host_len + 1;
    } else if (slash != NULL) {
        char prefix[TOPIC_HOST_MAX + 1];
        size_t n = (size_t)(slash - r->name);
        if (n <= TOPIC_HOST_MAX) {
            memcpy(prefix, r->name, n);
            prefix[n] = '\0';
            if (hosts_known(in->hosts, prefix)) {
                snprintf(detail, detail_size, "name \"%.80s\" belongs to host %.64s", r->name,
                         prefix);
                return INGEST_REASON_FOREIGN_HOST;
            }
        }
    }
    if (*metric == '\0') {
        snprintf(detail, detail_size, "name \"%.100s\" has no metric after the host", r->name);
        return INGEST_REASON_INVALID_RECORD;
    }
    double ms = r->time_s * 1000.0;
    if (!isfinite(ms) || ms < 0 || ms > (double)(now_wall_ms + in->max_future_ms)) {
        snprintf(detail, detail_size, "record \"%.100s\" time %.3f is out of range", r->name,
                 r->time_s);
        return INGEST_REASON_BAD_TIMESTAMP;
    }
    s->metric = metric;
    s->unit = r->unit != NULL ? r->unit : "";
    s->ts_ms = llround(ms);
    s->text = NULL;
    s->value = r->value;
    switch (r->kind) {
    case SENML_KIND_NUMBER:
        s->kind = STORE_KIND_NUMBER;
        break;
    case SENML_KIND_BOOL:
        s->kind = STORE_KIND_BOOL;
        s->value = r->boolean ? 1.0 : 0.0;
        break;
    case SENML_KIND_STRING:
        s->kind = STORE_KIND_STRING;
        s->text = r->string;
        break;
    case SENML_KIND_DATA:
        s->kind = STORE_KIND_DATA;
        s->text = r->string;
        break;
    case SENML_KIND_NONE:
        s->kind = STORE_KIND_SUM;
        s->value = r->sum;
        break;
    }
    return -1;
}

static enum ingest_reason decode_reason(int rc, const struct senml_error *err)
{
    if (rc == -E2BIG)
        return INGEST_REASON_TOO_MANY_RECORDS;
    switch (err->kind) {
    case SENML_ERROR_SYNTAX:
        return INGEST_REASON_INVALID_JSON;
    case SENML_ERROR_STRUCTURE:
        return INGEST_REASON_NOT_SENML;
    case SENML_ERROR_RECORD:
        return INGEST_REASON_INVALID_RECORD;
    case SENML_ERROR_LIMIT:
        return INGEST_REASON_TOO_MANY_RECORDS;
    }
    return INGEST_REASON_INVALID_RECORD;
}

/* Builds a writer batch from a decoded pack; on refusal returns the reason (>= 0). */
static int build_batch(struct ingest *in, const char *host, struct senml_pack *pack,
                       bool heartbeat, int64_t now_wall_ms, struct writer_batch **out,
                       struct host_pack_info *info, char *detail, size_t detail_size)
{
    struct writer_batch *b = calloc(1, sizeof *b);
    if (b == NULL)
        return -ENOMEM;
    int rc = -ENOMEM;
    snprintf(b->host, sizeof b->host, "%s", host);
    b->samples = calloc(pack->count ? pack->count : 1, sizeof *b->samples);
    b->labels = calloc(pack->count ? pack->count : 1, sizeof *b->labels);
    if (b->samples == NULL || b->labels == NULL)
        goto out;
    for (size_t i = 0; i < pack->count; i++) {
        struct senml_record *r = &pack->records[i];
        struct store_sample *s = &b->samples[i];
        int reason = record_to_sample(in, host, r, now_wall_ms, s, detail, detail_size);
        if (reason >= 0) {
            rc = reason;
            goto out;
        }
        s->labels = "";
        if (r->label_count > 0) {
            char *labels = ingest_labels_canonical(r);
            if (labels == NULL)
                goto out;
            b->labels[b->n_labels++] = labels;
            s->labels = labels;
        }
        if (r->label_count == 0 && s->kind == STORE_KIND_NUMBER) {
            if (strcmp(s->metric, "cpu.utilization") == 0) {
                info->has_cpu = true;
                info->cpu_pct = s->value;
            } else if (strcmp(s->metric, "mem.used_pct") == 0) {
                info->has_mem = true;
                info->mem_pct = s->value;
            } else if (heartbeat && strcmp(s->metric, "agent.dropped") == 0 && s->value >= 0 &&
                       s->value <= 9007199254740992.0) {
                /* the agent's own count of packs it dropped (cumulative per boot) */
                b->has_dropped = true;
                b->dropped = (uint64_t)s->value;
            }
        }
    }
    b->count = pack->count;
    b->pack = pack;
    *out = b;
    b = NULL;
    rc = 0;
out:
    if (b != NULL)
        b->pack = NULL; /* the caller still owns the pack on failure */
    writer_batch_free(b);
    return rc;
}

static void handle_pack(struct ingest *in, const char *topic, const char *host, bool heartbeat,
                        const char *payload, size_t len, int64_t now_wall_ms, int64_t now_mono_ms)
{
    struct senml_pack *pack = NULL;
    struct senml_error err = {0};
    char detail[256];
    int rc = senml_json_decode(payload, len, now_wall_ms, &pack, &err);
    if (rc == -ENOMEM) {
        reject(in, INGEST_REASON_TOO_MANY_RECORDS, topic, now_wall_ms, now_mono_ms,
               "out of memory decoding the pack");
        return;
    }
    if (rc != 0) {
        senml_error_format(&err, detail, sizeof detail);
        reject(in, decode_reason(rc, &err), topic, now_wall_ms, now_mono_ms,
               detail);
        return;
    }
    struct host_pack_info info = {.boot_id = pack->boot_id, .has_seq = pack->has_seq,
                                  .seq = pack->seq, .samples = pack->count};
    struct writer_batch *batch = NULL;
    rc = build_batch(in, host, pack, heartbeat, now_wall_ms, &batch, &info, detail,
                     sizeof detail);
    if (rc != 0) {
        if (rc == -ENOMEM)
            snprintf(detail, sizeof detail, "out of memory");
        reject(in, rc > 0 ? (enum ingest_reason)rc : INGEST_REASON_TOO_MANY_RECORDS, topic,
               now_wall_ms, now_mono_ms, detail);
        senml_pack_free(pack);
        return;
    }
    if (hosts_touch(in->hosts, host, now_wall_ms, now_mono_ms) != 0) {
        reject(in, INGEST_REASON_TOO_MANY_HOSTS, topic, now_wall_ms, now_mono_ms,
               "host limit reached");
        writer_batch_free(batch);
        return;
    }
    hosts_note_pack(in->hosts, host, &info);
    size_t count = batch->count;
    if (writer_submit(in->writer, batch) != 0) {
        reject(in, INGEST_REASON_SHUTDOWN, topic, now_wall_ms, now_mono_ms, "hub is stopping");
        writer_batch_free(batch);
        return;
    }
    atomic_fetch_add(&in->packs, 1);
    atomic_fetch_add(&in->samples, count);
}

/* State payload: "online" / "offline", or JSON {"state": "...", "agent_version", "boot_id"}. */
static void handle_state(struct ingest *in, const char *topic, const char *host,
                         const char *payload, size_t len, int64_t now_wall_ms,
                         int64_t now_mono_ms)
{
    char state[16] = "";
    const char *version = NULL, *boot_id = NULL;
    json_t *root = NULL;
    if (len > 0 && payload[0] == '{') {
        root = json_loadb(payload, len, 0, NULL);
        const char *s = root ? json_string_value(json_object_get(root, "state")) : NULL;
        if (s != NULL)
            snprintf(state, sizeof state, "%s", s);
        version = root ? json_string_value(json_object_get(root, "agent_version")) : NULL;
        boot_id = root ? json_string_value(json_object_get(root, "boot_id")) : NULL;
    } else if (len < sizeof state) {
        memcpy(state, payload, len);
        state[len] = '\0';
    }
    bool online = strcmp(state, "online") == 0;
    if (!online && strcmp(state, "offline") != 0) {
        reject(in, INGEST_REASON_INVALID_STATE, topic, now_wall_ms, now_mono_ms,
               "state must be \"online\" or \"offline\"");
    } else if (hosts_touch(in->hosts, host, now_wall_ms, now_mono_ms) != 0) {
        reject(in, INGEST_REASON_TOO_MANY_HOSTS, topic, now_wall_ms, now_mono_ms,
               "host limit reached");
    } else {
        hosts_set_state(in->hosts, host, online, version, boot_id, now_wall_ms);
        atomic_fetch_add(&in->states, 1);
        log_info("host %s is %s", host, online ? "online" : "offline");
    }
    json_decref(root);
}

void ingest_message(struct ingest *in, const char *topic, const void *payload, size_t len,
                    int64_t now_wall_ms, int64_t now_mono_ms)
{
    atomic_fetch_add(&in->messages, 1);
    char host[TOPIC_HOST_MAX + 1];
    enum topic_kind kind;
    if (topic_parse(topic, in->root, host, &kind) != 0) {
        reject(in, INGEST_REASON_BAD_TOPIC, topic, now_wall_ms, now_mono_ms,
               "expected <root>/v1/<host>/<kind>");
        return;
    }
    if (len > in->max_payload_bytes) {
        char detail[96];
        snprintf(detail, sizeof detail, "%zu bytes, limit %zu", len, in->max_payload_bytes);
        reject(in, INGEST_REASON_OVERSIZE, topic, now_wall_ms, now_mono_ms, detail);
        return;
    }
    switch (kind) {
    case TOPIC_KIND_METRICS:
    case TOPIC_KIND_HEARTBEAT:
        handle_pack(in, topic, host, kind == TOPIC_KIND_HEARTBEAT, payload, len, now_wall_ms,
                    now_mono_ms);
        break;
    case TOPIC_KIND_STATE:
        handle_state(in, topic, host, payload, len, now_wall_ms, now_mono_ms);
        break;
    case TOPIC_KIND_INVENTORY:
    case TOPIC_KIND_CONFIG:
    case TOPIC_KIND_ACK:
        break; /* not subscribed by this hub yet */
    }
}

void ingest_stats(struct ingest *in, struct ingest_stats *out)
{
    memset(out, 0, sizeof *out);
    out->messages = atomic_load(&in->messages);
    out->packs = atomic_load(&in->packs);
    out->samples = atomic_load(&in->samples);
    out->states = atomic_load(&in->states);
    for (int i = 0; i < INGEST_REASON_COUNT; i++) {
        out->rejected[i] = atomic_load(&in->rejected[i]);
        out->rejected_total += out->rejected[i];
    }
}

size_t ingest_recent(struct ingest *in, struct ingest_rejection *out, size_t max)
{
    pthread_mutex_lock(&in->recent_lock);
    size_t n = in->recent_count < max ? in->recent_count : max;
    for (size_t i = 0; i < n; i++)
        out[i] = in->recent[(in->recent_next + INGEST_RECENT_MAX - 1 - i) % INGEST_RECENT_MAX];
    pthread_mutex_unlock(&in->recent_lock);
    return n;
}
