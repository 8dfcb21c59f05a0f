/* Host registry (see hosts.h): a sorted array under one mutex. */
#include "hub/hosts.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct host_entry {
    struct host_view view;
    int64_t last_mono_ms; /* INT64_MIN: nothing since start */
    bool dirty;
};

struct hosts {
    pthread_mutex_t lock;
    struct host_entry *items;
    size_t count, cap, max;
    int64_t stale_after_ms;
};

int hosts_new(int64_t stale_after_ms, size_t max_hosts, struct hosts **out)
{
    struct hosts *h = calloc(1, sizeof *h);
    if (h == NULL)
        return -ENOMEM;
    pthread_mutex_init(&h->lock, NULL);
    h->stale_after_ms = stale_after_ms;
    h->max = max_hosts;
    *out = h;
    return 0;
}

void hosts_free(struct hosts *h)
{
    if (h == NULL)
        return;
    pthread_mutex_destroy(&h->lock);
    free(h->items);
    free(h);
}

/* Index of id, or -(insertion point) - 1. */
static long find_locked(const struct hosts *h, const char *id)
{
    size_t lo = 0, hi = h->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(h->items[mid].view.rec.id, id);
        if (cmp == 0)
            return (long)mid;
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(long)lo - 1;
}

static struct host_entry *get_or_add_locked(struct hosts *h, const char *id, int *err)
{
    long at = find_locked(h, id);
    if (at >= 0)
        return &h->items[at];
    if (h->count >= h->max) {
        *err = -ENOSPC;
        return NULL;
    }
    if (h->count == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        struct host_entry *items = realloc(h->items, cap * sizeof *items);
        if (items == NULL) {
            *err = -ENOMEM;
            return NULL;
        }
        h->items = items;
        h->cap = cap;
    }
    size_t pos = (size_t)(-at - 1);
    memmove(&h->items[pos + 1], &h->items[pos], (h->count - pos) * sizeof h->items[0]);
    h->count++;
    struct host_entry *e = &h->items[pos];
    memset(e, 0, sizeof *e);
    snprintf(e->view.rec.id, sizeof e->view.rec.id, "%s", id);
    e->last_mono_ms = INT64_MIN;
    e->dirty = true;
    return e;
}

int hosts_load(struct hosts *h, const struct store_host *rec, int64_t now_wall_ms,
               int64_t now_mono_ms)
{
    int err = 0;
    pthread_mutex_lock(&h->lock);
    struct host_entry *e = get_or_add_locked(h, rec->id, &err);
    if (e != NULL) {
        e->view.rec = *rec;
        /* Place the last message on the monotonic clock as far back as the wall clock says,
         * so a restarted hub does not call a long-silent host online. */
        if (rec->last_seen_ms > 0 && rec->last_seen_ms <= now_wall_ms)
            e->last_mono_ms = now_mono_ms - (now_wall_ms - rec->last_seen_ms);
        e->dirty = false;
    }
    pthread_mutex_unlock(&h->lock);
    return err;
}

bool hosts_known(struct hosts *h, const char *id)
{
    pthread_mutex_lock(&h->lock);
    bool known = find_locked(h, id) >= 0;
    pthread_mutex_unlock(&h->lock);
    return known;
}

int hosts_touch(struct hosts *h, const char *id, int64_t now_wall_ms, int64_t now_mono_ms)
{
    int err = 0;
    pthread_mutex_lock(&h->lock);
    struct host_entry *e = get_or_add_locked(h, id, &err);
    if (e != NULL) {
        if (e->view.rec.first_seen_ms == 0)
            e->view.rec.first_seen_ms = now_wall_ms;
        e->view.rec.last_seen_ms = now_wall_ms;
        e->last_mono_ms = now_mono_ms;
        e->dirty = true;
    }
    pthread_mutex_unlock(&h->lock);
    return err;
}

void hosts_set_state(struct hosts *h, const char *id, bool online, const char *agent_version,
                     const char *boot_id, int64_t now_wall_ms)
{
    pthread_mutex_lock(&h->lock);
    long at = find_locked(h, id);
    if (at >= 0) {
        struct store_host *rec = &h->items[at].view.rec;
        snprintf(rec->state, sizeof rec->state, "%s", online ? "online" : "offline");
        rec->state_ms = now_wall_ms;
        if (agent_version != NULL)
            snprintf(rec->agent_version, sizeof rec->agent_version, "%s", agent_version);
        if (boot_id != NULL)
            snprintf(rec->boot_id, sizeof rec->boot_id, "%s", boot_id);
        h->items[at].dirty = true;
    }
    pthread_mutex_unlock(&h->lock);
}

void hosts_note_pack(struct hosts *h, const char *id, const struct host_pack_info *info)
{
    pthread_mutex_lock(&h->lock);
    long at = find_locked(h, id);
    if (at >= 0) {
        struct host_view *v = &h->items[at].view;
        if (info->boot_id != NULL)
            snprintf(v->rec.boot_id, sizeof v->rec.boot_id, "%s", info->boot_id);
        if (info->has_seq)
            v->rec.last_seq = (int64_t)info->seq;
        if (info->has_cpu) {
            v->has_cpu = true;
            v->cpu_pct = info->cpu_pct;
        }
        if (info->has_mem) {
            v->has_mem = true;
            v->mem_pct = info->mem_pct;
        }
        v->packs++;
        v->samples += info->samples;
        h->items[at].dirty = true;
    }
    pthread_mutex_unlock(&h->lock);
}

static void fill_view_locked(const struct hosts *h, const struct host_entry *e,
                             int64_t now_mono_ms, struct host_view *out)
{
    *out = e->view;
    out->age_ms = e->last_mono_ms == INT64_MIN ? -1 : now_mono_ms - e->last_mono_ms;
    out->online = strcmp(e->view.rec.state, "offline") != 0 && out->age_ms >= 0 &&
                  out->age_ms <= h->stale_after_ms;
}

int hosts_snapshot(struct hosts *h, int64_t now_mono_ms, struct host_view **out, size_t *count)
{
    pthread_mutex_lock(&h->lock);
    struct host_view *views = calloc(h->count ? h->count : 1, sizeof *views);
    if (views == NULL) {
        pthread_mutex_unlock(&h->lock);
        return -ENOMEM;
    }
    for (size_t i = 0; i < h->count; i++)
        fill_view_locked(h, &h->items[i], now_mono_ms, &views[i]);
    *count = h->count;
    pthread_mutex_unlock(&h->lock);
    *out = views;
    return 0;
}

int hosts_get(struct hosts *h, const char *id, int64_t now_mono_ms, struct host_view *out)
{
    pthread_mutex_lock(&h->lock);
    long at = find_locked(h, id);
    if (at >= 0)
        fill_view_locked(h, &h->items[at], now_mono_ms, out);
    pthread_mutex_unlock(&h->lock);
    return at >= 0 ? 0 : -ENOENT;
}

int hosts_take_dirty(struct hosts *h, struct store_host **out, size_t *count)
{
    pthread_mutex_lock(&h->lock);
    size_t n = 0;
    for (size_t i = 0; i < h->count; i++)
        n += h->items[i].dirty;
    struct store_host *recs = calloc(n ? n : 1, sizeof *recs);
    if (recs == NULL) {
        pthread_mutex_unlock(&h->lock);
        return -ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < h->count; i++) {
        if (h->items[i].dirty) {
            recs[k++] = h->items[i].view.rec;
            h->items[i].dirty = false;
        }
    }
    pthread_mutex_unlock(&h->lock);
    *out = recs;
    *count = n;
    return 0;
}

size_t hosts_count(struct hosts *h)
{
    pthread_mutex_lock(&h->lock);
    size_t n = h->count;
    pthread_mutex_unlock(&h->lock);
    return n;
}
