/* Series registry and heads (see series.h). Hash tables: FNV-1a, linear probing, grown at
 * 70 % load; a series is one allocation (struct + key), its head a second one. */
#include "hub/series.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEAD_FIRST_CAP 8

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

static size_t host_len_of(const char *key)
{
    const char *sep = strchr(key, SERIES_KEY_SEP);
    return sep != NULL ? (size_t)(sep - key) : strlen(key);
}

int series_registry_init(struct series_registry *reg)
{
    memset(reg, 0, sizeof *reg);
    if (pthread_rwlock_init(&reg->lock, NULL) != 0)
        return -ENOMEM;
    return 0;
}

void series_registry_deinit(struct series_registry *reg)
{
    for (size_t i = 0; i < reg->n_slots; i++) {
        if (reg->slots[i] != NULL) {
            free(reg->slots[i]->head);
            free(reg->slots[i]);
        }
    }
    for (size_t i = 0; i < reg->n_hosts_slots; i++)
        free(reg->hosts[i].name);
    free(reg->slots);
    free(reg->by_id);
    free(reg->hosts);
    pthread_rwlock_destroy(&reg->lock);
    memset(reg, 0, sizeof *reg);
}

int series_key(char *out, size_t out_size, const char *host, const char *metric,
               const char *unit, const char *labels)
{
    int n = snprintf(out, out_size, "%s%c%s%c%s%c%s", host, SERIES_KEY_SEP, metric,
                     SERIES_KEY_SEP, unit, SERIES_KEY_SEP, labels);
    return n < 0 || (size_t)n >= out_size ? -ENAMETOOLONG : 0;
}

struct series *series_find(const struct series_registry *reg, const char *key)
{
    if (reg->n_slots == 0)
        return NULL;
    size_t mask = reg->n_slots - 1;
    for (size_t i = hash_bytes(key, strlen(key)) & mask;; i = (i + 1) & mask) {
        struct series *s = reg->slots[i];
        if (s == NULL)
            return NULL;
        if (strcmp(s->key, key) == 0)
            return s;
    }
}

struct series *series_by_id(const struct series_registry *reg, int64_t id)
{
    if (id <= 0 || (uint64_t)id >= reg->n_by_id)
        return NULL;
    return reg->by_id[id];
}

static struct series_host *host_slot(const struct series_registry *reg, const char *host,
                                     size_t len)
{
    if (reg->n_hosts_slots == 0)
        return NULL;
    size_t mask = reg->n_hosts_slots - 1;
    for (size_t i = hash_bytes(host, len) & mask;; i = (i + 1) & mask) {
        struct series_host *h = &reg->hosts[i];
        if (h->name == NULL || (strncmp(h->name, host, len) == 0 && h->name[len] == '\0'))
            return h;
    }
}

uint64_t series_host_count(const struct series_registry *reg, const char *host, size_t host_len)
{
    const struct series_host *h = host_slot(reg, host, host_len);
    return h != NULL && h->name != NULL ? h->series : 0;
}

static int grow_hosts(struct series_registry *reg)
{
    if ((reg->n_hosts + 1) * 10 <= reg->n_hosts_slots * 7)
        return 0;
    size_t n = reg->n_hosts_slots ? reg->n_hosts_slots * 2 : 64;
    struct series_host *hosts = calloc(n, sizeof *hosts);
    if (hosts == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < reg->n_hosts_slots; i++) {
        struct series_host *old = &reg->hosts[i];
        if (old->name == NULL)
            continue;
        size_t j = hash_bytes(old->name, strlen(old->name)) & (n - 1);
        while (hosts[j].name != NULL)
            j = (j + 1) & (n - 1);
        hosts[j] = *old;
    }
    free(reg->hosts);
    reg->hosts = hosts;
    reg->n_hosts_slots = n;
    /* Every series' host slot moved with the rehash. */
    for (size_t i = 0; i < reg->n_slots; i++) {
        struct series *s = reg->slots[i];
        if (s != NULL)
            s->host_slot = (uint32_t)(host_slot(reg, s->key, host_len_of(s->key)) - reg->hosts);
    }
    return 0;
}

static int grow_slots(struct series_registry *reg)
{
    if ((reg->count + 1) * 10 <= reg->n_slots * 7)
        return 0;
    size_t n = reg->n_slots ? reg->n_slots * 2 : 1024;
    struct series **slots = calloc(n, sizeof(struct series *));
    if (slots == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < reg->n_slots; i++) {
        struct series *s = reg->slots[i];
        if (s == NULL)
            continue;
        size_t j = hash_bytes(s->key, strlen(s->key)) & (n - 1);
        while (slots[j] != NULL)
            j = (j + 1) & (n - 1);
        slots[j] = s;
    }
    free(reg->slots);
    reg->slots = slots;
    reg->n_slots = n;
    return 0;
}

static int grow_by_id(struct series_registry *reg, int64_t id)
{
    if ((uint64_t)id < reg->n_by_id)
        return 0;
    if ((uint64_t)id >= SIZE_MAX / sizeof(struct series *) / 2)
        return -ENOMEM;
    size_t n = reg->n_by_id ? reg->n_by_id : 1024;
    while (n <= (uint64_t)id)
        n *= 2;
    struct series **by_id = realloc(reg->by_id, n * sizeof(struct series *));
    if (by_id == NULL)
        return -ENOMEM;
    memset(by_id + reg->n_by_id, 0, (n - reg->n_by_id) * sizeof(struct series *));
    reg->by_id = by_id;
    reg->n_by_id = n;
    return 0;
}

int series_add(struct series_registry *reg, int64_t id, const char *key, uint8_t kind,
               struct series **out)
{
    size_t key_len = strlen(key), host_len = host_len_of(key);
    if (id <= 0 || grow_slots(reg) != 0 || grow_hosts(reg) != 0 || grow_by_id(reg, id) != 0)
        return id <= 0 ? -EINVAL : -ENOMEM;
    struct series_host *h = host_slot(reg, key, host_len);
    if (h->name == NULL) {
        h->name = strndup(key, host_len);
        if (h->name == NULL)
            return -ENOMEM;
        reg->n_hosts++;
    }
    struct series *s = calloc(1, sizeof *s + key_len + 1);
    if (s == NULL)
        return -ENOMEM;
    s->id = id;
    s->host_slot = (uint32_t)(h - reg->hosts);
    s->kind = kind;
    s->max_ts_ms = SERIES_NONE_MS;
    s->flushed_max_ms = SERIES_NONE_MS;
    s->l0_min_ms = INT64_MAX;
    memcpy(s->key, key, key_len + 1);
    size_t mask = reg->n_slots - 1, i = hash_bytes(key, key_len) & mask;
    while (reg->slots[i] != NULL)
        i = (i + 1) & mask;
    reg->slots[i] = s;
    reg->count++;
    reg->by_id[id] = s;
    h->series++;
    *out = s;
    return 0;
}

/* First index whose timestamp is >= ts_ms. */
static uint32_t lower_bound(const struct series *s, int64_t ts_ms)
{
    uint32_t lo = 0, hi = s->n;
    if (hi > 0 && s->head[hi - 1].ts_ms < ts_ms)
        return hi; /* the common case: appending */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->head[mid].ts_ms < ts_ms)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

long series_head_find(const struct series *s, int64_t ts_ms)
{
    uint32_t i = lower_bound(s, ts_ms);
    return i < s->n && s->head[i].ts_ms == ts_ms ? (long)i : -1;
}

int series_head_put(struct series_registry *reg, struct series *s, int64_t ts_ms, double value,
                    int64_t wal_id, int64_t now_ms)
{
    uint32_t i = lower_bound(s, ts_ms);
    if (i < s->n && s->head[i].ts_ms == ts_ms) {
        s->head[i].value = value;
    } else {
        if (s->n == s->cap) {
            if (s->cap >= UINT32_MAX / 2)
                return -ENOMEM;
            uint32_t cap = s->cap ? s->cap * 2 : HEAD_FIRST_CAP;
            struct series_sample *grown = realloc(s->head, cap * sizeof *grown);
            if (grown == NULL)
                return -ENOMEM;
            s->head = grown;
            s->cap = cap;
        }
        memmove(&s->head[i + 1], &s->head[i], (s->n - i) * sizeof s->head[0]);
        s->head[i] = (struct series_sample){ts_ms, value};
        if (s->n == 0) {
            s->head_min_wal = wal_id;
            s->head_max_wal = wal_id;
            s->head_since_ms = now_ms;
        }
        s->n++;
        reg->head_samples++;
    }
    if (wal_id < s->head_min_wal)
        s->head_min_wal = wal_id;
    if (wal_id > s->head_max_wal)
        s->head_max_wal = wal_id;
    if (ts_ms > s->max_ts_ms)
        s->max_ts_ms = ts_ms;
    return 0;
}

void series_head_clear(struct series_registry *reg, struct series *s)
{
    reg->head_samples -= s->n;
    free(s->head);
    s->head = NULL;
    s->n = s->cap = 0;
    s->head_min_wal = s->head_max_wal = 0;
    s->head_since_ms = 0;
    s->folding = false;
}

size_t series_head_copy(const struct series *s, int64_t from_ms, int64_t to_ms,
                        struct series_sample *out, size_t max)
{
    size_t n = 0;
    for (uint32_t i = lower_bound(s, from_ms); i < s->n && s->head[i].ts_ms <= to_ms && n < max;
         i++)
        out[n++] = s->head[i];
    return n;
}
