/* A ring of entries in arrival order (eviction is by age, oldest first) with a chained hash
 * index over it (see dedupe.h). */
#include "bridge/dedupe.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct dedupe {
    struct dedupe_entry *ring; /* cap entries; [tail, tail + count) are live, oldest first */
    uint32_t *buckets;         /* nbuckets heads (index + 1; 0 empty) */
    size_t cap, nbuckets, tail, count;
    int64_t window_ms;
};

static uint32_t hash_key(const uint8_t *peer, size_t len, uint16_t mid)
{
    uint32_t h = 2166136261u ^ mid;
    for (size_t i = 0; i < len; i++)
        h = (h ^ peer[i]) * 16777619u;
    return (h ^ (h >> 15)) * 2246822519u;
}

struct dedupe *dedupe_new(size_t capacity, int64_t window_ms)
{
    size_t cap = 16;
    while (cap < capacity && cap < ((size_t)1 << 30))
        cap <<= 1;
    struct dedupe *d = calloc(1, sizeof *d);
    if (d == NULL)
        return NULL;
    d->ring = calloc(cap, sizeof *d->ring);
    d->buckets = calloc(cap * 2, sizeof *d->buckets);
    if (d->ring == NULL || d->buckets == NULL) {
        dedupe_free(d);
        return NULL;
    }
    d->cap = cap;
    d->nbuckets = cap * 2;
    d->window_ms = window_ms;
    return d;
}

void dedupe_free(struct dedupe *d)
{
    if (d == NULL)
        return;
    free(d->ring);
    free(d->buckets);
    free(d);
}

static bool same(const struct dedupe_entry *e, const uint8_t *peer, size_t len, uint16_t mid)
{
    return e->mid == mid && e->peer_len == len && memcmp(e->peer, peer, len) == 0;
}

static uint32_t *bucket_of(struct dedupe *d, const uint8_t *peer, size_t len, uint16_t mid)
{
    return &d->buckets[hash_key(peer, len, mid) & (d->nbuckets - 1)];
}

/* Unlinks ring slot idx from its chain. */
static void unlink_slot(struct dedupe *d, size_t idx)
{
    struct dedupe_entry *e = &d->ring[idx];
    uint32_t *link = bucket_of(d, e->peer, e->peer_len, e->mid);
    while (*link != 0) {
        if (*link == idx + 1) {
            *link = e->next;
            return;
        }
        link = &d->ring[*link - 1].next;
    }
}

static void expire(struct dedupe *d, int64_t now_ms)
{
    while (d->count > 0 && now_ms - d->ring[d->tail].born_ms > d->window_ms) {
        unlink_slot(d, d->tail);
        d->tail = (d->tail + 1) & (d->cap - 1);
        d->count--;
    }
}

struct dedupe_entry *dedupe_find(struct dedupe *d, const void *peer, size_t peer_len, uint16_t mid,
                                 int64_t now_ms)
{
    if (peer_len > DEDUPE_PEER_MAX)
        peer_len = DEDUPE_PEER_MAX;
    expire(d, now_ms);
    for (uint32_t i = *bucket_of(d, peer, peer_len, mid); i != 0; i = d->ring[i - 1].next)
        if (same(&d->ring[i - 1], peer, peer_len, mid))
            return &d->ring[i - 1];
    return NULL;
}

struct dedupe_entry *dedupe_insert(struct dedupe *d, const void *peer, size_t peer_len,
                                   uint16_t mid, int64_t now_ms)
{
    if (peer_len > DEDUPE_PEER_MAX)
        peer_len = DEDUPE_PEER_MAX;
    expire(d, now_ms);
    if (d->count == d->cap) {
        unlink_slot(d, d->tail);
        d->tail = (d->tail + 1) & (d->cap - 1);
        d->count--;
    }
    size_t idx = (d->tail + d->count) & (d->cap - 1);
    struct dedupe_entry *e = &d->ring[idx];
    memset(e, 0, sizeof *e);
    memcpy(e->peer, peer, peer_len);
    e->peer_len = (uint8_t)peer_len;
    e->mid = mid;
    e->state = DEDUPE_PENDING;
    e->born_ms = now_ms;
    uint32_t *head = bucket_of(d, e->peer, peer_len, mid);
    e->next = *head;
    *head = (uint32_t)idx + 1;
    d->count++;
    return e;
}

void dedupe_done(struct dedupe *d, const void *peer, size_t peer_len, uint16_t mid, int code,
                 int max_age_s, int64_t now_ms)
{
    struct dedupe_entry *e = dedupe_find(d, peer, peer_len, mid, now_ms);
    if (e == NULL)
        return;
    e->state = DEDUPE_DONE;
    e->code = code;
    e->max_age_s = max_age_s;
}

size_t dedupe_count(const struct dedupe *d)
{
    return d->count;
}
