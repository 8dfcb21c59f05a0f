/* Ack accumulator (see acks.h): per (host, boot id) a sorted list of disjoint inclusive
 * ranges, merged as sequences arrive. Hosts with something pending live in a small array. */
#include "hub/acks.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ack_range {
    uint64_t first, last;
};

struct ack_pending {
    char host[65];
    char boot_id[65];
    struct ack_range ranges[ACKS_MAX_RANGES];
    size_t n_ranges;
    int64_t last_sent_ms; /* INT64_MIN: never sent */
};

struct acks {
    int64_t interval_ms;
    struct ack_pending *items;
    size_t count, cap;
};

int acks_new(int64_t interval_ms, struct acks **out)
{
    struct acks *a = calloc(1, sizeof *a);
    if (a == NULL)
        return -ENOMEM;
    a->interval_ms = interval_ms;
    *out = a;
    return 0;
}

void acks_free(struct acks *a)
{
    if (a == NULL)
        return;
    free(a->items);
    free(a);
}

static struct ack_pending *find_or_add(struct acks *a, const char *host, const char *boot_id)
{
    for (size_t i = 0; i < a->count; i++)
        if (strcmp(a->items[i].host, host) == 0 && strcmp(a->items[i].boot_id, boot_id) == 0)
            return &a->items[i];
    if (a->count == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        struct ack_pending *items = realloc(a->items, cap * sizeof *items);
        if (items == NULL)
            return NULL;
        a->items = items;
        a->cap = cap;
    }
    struct ack_pending *p = &a->items[a->count++];
    memset(p, 0, sizeof *p);
    snprintf(p->host, sizeof p->host, "%s", host);
    snprintf(p->boot_id, sizeof p->boot_id, "%s", boot_id);
    p->last_sent_ms = INT64_MIN;
    return p;
}

/* Inserts seq into the sorted disjoint ranges, merging neighbours. Returns false when seq
 * needs a new range and the list is full. */
static bool add_seq(struct ack_pending *p, uint64_t seq)
{
    size_t i = 0;
    while (i < p->n_ranges && p->ranges[i].last + 1 < seq)
        i++;
    if (i < p->n_ranges && seq + 1 >= p->ranges[i].first) {
        struct ack_range *r = &p->ranges[i];
        if (seq < r->first)
            r->first = seq;
        if (seq > r->last)
            r->last = seq;
        if (i + 1 < p->n_ranges && r->last + 1 >= p->ranges[i + 1].first) {
            r->last = p->ranges[i + 1].last;
            memmove(&p->ranges[i + 1], &p->ranges[i + 2],
                    (p->n_ranges - i - 2) * sizeof p->ranges[0]);
            p->n_ranges--;
        }
        return true;
    }
    if (p->n_ranges == ACKS_MAX_RANGES)
        return false;
    memmove(&p->ranges[i + 1], &p->ranges[i], (p->n_ranges - i) * sizeof p->ranges[0]);
    p->ranges[i] = (struct ack_range){seq, seq};
    p->n_ranges++;
    return true;
}

int acks_note(struct acks *a, const char *host, const char *boot_id, uint64_t seq)
{
    struct ack_pending *p = find_or_add(a, host, boot_id);
    if (p == NULL)
        return -ENOMEM;
    return add_seq(p, seq) ? 0 : -ENOSPC;
}

static bool due(const struct acks *a, const struct ack_pending *p, int64_t now)
{
    return p->last_sent_ms == INT64_MIN || now - p->last_sent_ms >= a->interval_ms;
}

static size_t format(const struct ack_pending *p, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "{\"boot_id\":\"%s\",\"ranges\":[", p->boot_id);
    for (size_t i = 0; i < p->n_ranges && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s[%llu,%llu]", i ? "," : "",
                              (unsigned long long)p->ranges[i].first,
                              (unsigned long long)p->ranges[i].last);
    if (n < size)
        n += (size_t)snprintf(buf + n, size - n, "]}");
    return n < size ? n : size - 1;
}

size_t acks_flush(struct acks *a, int64_t now_mono_ms, bool force, acks_send_fn send, void *user)
{
    char buf[160 + ACKS_MAX_RANGES * 44];
    size_t sent = 0;
    for (size_t i = 0; i < a->count; i++) {
        struct ack_pending *p = &a->items[i];
        if (p->n_ranges == 0 || (!force && !due(a, p, now_mono_ms)))
            continue;
        size_t len = format(p, buf, sizeof buf);
        send(user, p->host, buf, len);
        p->n_ranges = 0;
        p->last_sent_ms = now_mono_ms;
        sent++;
    }
    /* Entries idle for a long time are dropped so the array stays as small as the set of
     * hosts sending now. */
    size_t k = 0;
    for (size_t i = 0; i < a->count; i++) {
        struct ack_pending *p = &a->items[i];
        bool idle = p->n_ranges == 0 && (p->last_sent_ms == INT64_MIN ||
                                         now_mono_ms - p->last_sent_ms > 60 * a->interval_ms);
        if (!idle)
            a->items[k++] = *p;
    }
    a->count = k;
    return sent;
}

int64_t acks_next_due_ms(const struct acks *a, int64_t now_mono_ms)
{
    int64_t next = -1;
    for (size_t i = 0; i < a->count; i++) {
        const struct ack_pending *p = &a->items[i];
        if (p->n_ranges == 0)
            continue;
        int64_t wait = due(a, p, now_mono_ms) ? 0 : a->interval_ms - (now_mono_ms - p->last_sent_ms);
        if (next < 0 || wait < next)
            next = wait;
    }
    return next;
}
