/* The spool's in-memory index (see spool_internal.h): held packs in id order, compacted as
 * acks remove them, so memory follows the backlog; the boots they belong to; and the send
 * queue: a cursor over never-sent packs plus a ring of sends in send order, whose items
 * move to a min-heap by id when their resend time comes. Stale queue items (the pack was
 * acked or sent again) are dropped lazily. No I/O. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "edge-agent/spool_internal.h"

#define COMPACT_MIN 32 /* waste (gone entries) worth a compaction pass */
#define SHRINK_MIN 64  /* capacities at or below this are never shrunk */

void spool_index_init(struct spool_index *idx)
{
    memset(idx, 0, sizeof *idx);
    idx->latest_boot = UINT32_MAX;
}

void spool_index_free(struct spool_index *idx)
{
    free(idx->e);
    free(idx->boots);
    free(idx->fifo);
    free(idx->heap);
    spool_index_init(idx);
}

static int grow(void **p, size_t *cap, size_t size)
{
    size_t want = *cap != 0 ? *cap * 2 : 8;
    void *moved = realloc(*p, want * size);
    if (moved == NULL)
        return -ENOMEM;
    *p = moved;
    *cap = want;
    return 0;
}

int spool_index_reserve(struct spool_index *idx)
{
    if (idx->n == idx->cap && grow((void **)&idx->e, &idx->cap, sizeof *idx->e) != 0)
        return -ENOMEM;
    if (idx->n_boots == idx->cap_boots &&
        grow((void **)&idx->boots, &idx->cap_boots, sizeof *idx->boots) != 0)
        return -ENOMEM;
    return 0;
}

uint32_t spool_index_boot_find(const struct spool_index *idx, const char *boot_id)
{
    for (size_t i = 0; i < idx->n_boots; i++)
        if (memcmp(idx->boots[i].id, boot_id, SPOOL_BOOT_ID_LEN) == 0)
            return (uint32_t)i;
    return UINT32_MAX;
}

struct spool_entry *spool_index_add(struct spool_index *idx, const char *boot_id, uint64_t id,
                                    uint64_t seq, int64_t time_ms, uint32_t offset, uint32_t len)
{
    uint32_t b = spool_index_boot_find(idx, boot_id);
    if (b == UINT32_MAX || (b != idx->latest_boot && idx->boots[b].live == 0)) {
        if (b == UINT32_MAX) /* else it held nothing: it starts afresh */
            b = (uint32_t)idx->n_boots++;
        struct spool_boot *nb = &idx->boots[b];
        memset(nb, 0, sizeof *nb);
        memcpy(nb->id, boot_id, SPOOL_BOOT_ID_LEN);
        nb->first_id = id;
        nb->last_seq = seq;
        nb->ordered = true;
    } else {
        struct spool_boot *ob = &idx->boots[b];
        /* Its span now covers the other boots' records since, or seqs no longer increase:
         * acks for it take the slow path. */
        if (b != idx->latest_boot || seq <= ob->last_seq)
            ob->ordered = false;
        if (seq > ob->last_seq)
            ob->last_seq = seq;
    }
    idx->boots[b].last_id = id;
    idx->boots[b].live++;
    idx->latest_boot = b;
    struct spool_entry *e = &idx->e[idx->n++];
    *e = (struct spool_entry){.id = id,
                              .seq = seq,
                              .time_ms = time_ms,
                              .offset = offset,
                              .len = len,
                              .boot = b,
                              .state = SPOOL_ENTRY_UNSENT};
    idx->live++;
    return e;
}

size_t spool_index_lower(const struct spool_index *idx, uint64_t id)
{
    size_t lo = idx->head, hi = idx->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (idx->e[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

struct spool_entry *spool_index_find(struct spool_index *idx, uint64_t id)
{
    size_t pos = spool_index_lower(idx, id);
    return pos < idx->n && idx->e[pos].id == id ? &idx->e[pos] : NULL;
}

/* First position in [lo, hi) whose seq > seq (entries there have increasing seqs). */
static size_t seq_upper(const struct spool_index *idx, size_t lo, size_t hi, uint64_t seq)
{
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (idx->e[mid].seq <= seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void spool_index_boot_span(const struct spool_index *idx, uint32_t boot, uint64_t first_seq,
                           uint64_t last_seq, size_t *from, size_t *to)
{
    const struct spool_boot *b = &idx->boots[boot];
    size_t lo = spool_index_lower(idx, b->first_id);
    size_t hi = b->last_id == UINT64_MAX ? idx->n : spool_index_lower(idx, b->last_id + 1);
    if (b->ordered) {
        size_t start = first_seq == 0 ? lo : seq_upper(idx, lo, hi, first_seq - 1);
        hi = seq_upper(idx, start, hi, last_seq);
        lo = start;
    }
    *from = lo;
    *to = hi;
}

void spool_index_done(struct spool_index *idx, struct spool_entry *e)
{
    e->state = SPOOL_ENTRY_DONE;
    idx->done++;
    idx->live--;
    idx->boots[e->boot].live--;
}

/* Forgets boots without held records (but the latest), renumbering the entries' boots. */
static void forget_boots(struct spool_index *idx)
{
    size_t dead = 0;
    for (size_t i = 0; i < idx->n_boots; i++)
        dead += idx->boots[i].live == 0 && i != idx->latest_boot;
    if (dead == 0)
        return;
    uint32_t *map = malloc(idx->n_boots * sizeof *map);
    if (map == NULL)
        return; /* next time */
    size_t w = 0;
    for (size_t i = 0; i < idx->n_boots; i++) {
        map[i] = (uint32_t)w;
        if (idx->boots[i].live != 0 || i == idx->latest_boot)
            idx->boots[w++] = idx->boots[i];
    }
    for (size_t i = idx->head; i < idx->n; i++)
        idx->e[i].boot = map[idx->e[i].boot];
    if (idx->latest_boot != UINT32_MAX)
        idx->latest_boot = map[idx->latest_boot];
    idx->n_boots = w;
    free(map);
}

static void shrink(void **p, size_t *cap, size_t used, size_t size)
{
    if (*cap <= SHRINK_MIN || *cap / 4 < used)
        return;
    size_t want = used * 2 > 8 ? used * 2 : 8;
    void *moved = realloc(*p, want * size);
    if (moved != NULL) {
        *p = moved;
        *cap = want;
    }
}

void spool_index_settle(struct spool_index *idx)
{
    while (idx->head < idx->n && idx->e[idx->head].state == SPOOL_ENTRY_DONE) {
        idx->head++;
        idx->done--;
    }
    if (idx->unsent < idx->head)
        idx->unsent = idx->head;
    size_t waste = idx->head + idx->done;
    if (idx->head == idx->n) {
        idx->n = idx->head = idx->done = idx->unsent = 0;
    } else if (waste >= COMPACT_MIN && 2 * waste >= idx->n) {
        size_t w = 0, unsent = SIZE_MAX;
        for (size_t r = idx->head; r < idx->n; r++) {
            if (r == idx->unsent)
                unsent = w;
            if (idx->e[r].state != SPOOL_ENTRY_DONE)
                idx->e[w++] = idx->e[r];
        }
        idx->unsent = unsent != SIZE_MAX ? unsent : w;
        idx->n = w;
        idx->head = idx->done = 0;
    } else {
        return;
    }
    forget_boots(idx);
    shrink((void **)&idx->e, &idx->cap, idx->n, sizeof *idx->e);
    shrink((void **)&idx->boots, &idx->cap_boots, idx->n_boots, sizeof *idx->boots);
}

const struct spool_entry *spool_index_oldest(const struct spool_index *idx)
{
    for (size_t i = idx->head; i < idx->n; i++)
        if (idx->e[i].state != SPOOL_ENTRY_DONE)
            return &idx->e[i];
    return NULL;
}

/* ---- the send queue ---- */

static bool stale(struct spool_index *idx, const struct spool_due *d)
{
    const struct spool_entry *e = spool_index_find(idx, d->id);
    return e == NULL || e->state != SPOOL_ENTRY_SENT || e->sent_mono_ms != d->sent_mono_ms;
}

static int fifo_push(struct spool_index *idx, uint64_t id, int64_t sent_mono_ms)
{
    if (idx->fifo_n == idx->fifo_cap) {
        size_t cap = idx->fifo_cap != 0 ? idx->fifo_cap * 2 : 8;
        struct spool_due *ring = malloc(cap * sizeof *ring);
        if (ring == NULL)
            return -ENOMEM;
        for (size_t i = 0; i < idx->fifo_n; i++)
            ring[i] = idx->fifo[(idx->fifo_head + i) % idx->fifo_cap];
        free(idx->fifo);
        idx->fifo = ring;
        idx->fifo_cap = cap;
        idx->fifo_head = 0;
    }
    idx->fifo[(idx->fifo_head + idx->fifo_n) % idx->fifo_cap] =
        (struct spool_due){.id = id, .sent_mono_ms = sent_mono_ms};
    idx->fifo_n++;
    return 0;
}

static void fifo_pop(struct spool_index *idx)
{
    idx->fifo_head = (idx->fifo_head + 1) % idx->fifo_cap;
    if (--idx->fifo_n == 0 && idx->fifo_cap > SHRINK_MIN) {
        free(idx->fifo);
        idx->fifo = NULL;
        idx->fifo_cap = idx->fifo_head = 0;
    }
}

static int heap_push(struct spool_index *idx, struct spool_due d)
{
    if (idx->heap_n == idx->heap_cap &&
        grow((void **)&idx->heap, &idx->heap_cap, sizeof *idx->heap) != 0)
        return -ENOMEM;
    size_t i = idx->heap_n++;
    while (i > 0 && idx->heap[(i - 1) / 2].id > d.id) {
        idx->heap[i] = idx->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    idx->heap[i] = d;
    return 0;
}

static void heap_pop(struct spool_index *idx)
{
    struct spool_due last = idx->heap[--idx->heap_n];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= idx->heap_n)
            break;
        if (child + 1 < idx->heap_n && idx->heap[child + 1].id < idx->heap[child].id)
            child++;
        if (idx->heap[child].id >= last.id)
            break;
        idx->heap[i] = idx->heap[child];
        i = child;
    }
    if (idx->heap_n > 0)
        idx->heap[i] = last;
    shrink((void **)&idx->heap, &idx->heap_cap, idx->heap_n, sizeof *idx->heap);
}

void spool_index_purge(struct spool_index *idx)
{
    while (idx->fifo_n > 0 && stale(idx, &idx->fifo[idx->fifo_head]))
        fifo_pop(idx);
    while (idx->heap_n > 0 && stale(idx, &idx->heap[0]))
        heap_pop(idx);
}

int spool_index_sent(struct spool_index *idx, struct spool_entry *e, int64_t now_mono_ms)
{
    uint64_t id = e->id;
    spool_index_purge(idx); /* keeps the ring short while acks come back */
    if (fifo_push(idx, id, now_mono_ms) != 0)
        return -ENOMEM;
    e->state = SPOOL_ENTRY_SENT;
    e->sent_mono_ms = now_mono_ms;
    return 0;
}

void spool_index_reset_sent(struct spool_index *idx)
{
    for (size_t i = idx->head; i < idx->n; i++)
        if (idx->e[i].state == SPOOL_ENTRY_SENT)
            idx->e[i].state = SPOOL_ENTRY_UNSENT;
    idx->unsent = idx->head;
    free(idx->fifo);
    free(idx->heap);
    idx->fifo = idx->heap = NULL;
    idx->fifo_cap = idx->fifo_head = idx->fifo_n = idx->heap_n = idx->heap_cap = 0;
}

static struct spool_entry *older(struct spool_entry *a, struct spool_entry *b)
{
    if (a == NULL)
        return b;
    return b != NULL && b->id < a->id ? b : a;
}

struct spool_entry *spool_index_due(struct spool_index *idx, int64_t now_mono_ms,
                                    int64_t resend_after_ms)
{
    while (idx->unsent < idx->n && idx->e[idx->unsent].state != SPOOL_ENTRY_UNSENT)
        idx->unsent++;
    struct spool_entry *best = idx->unsent < idx->n ? &idx->e[idx->unsent] : NULL;
    while (idx->fifo_n > 0) {
        struct spool_due d = idx->fifo[idx->fifo_head];
        if (stale(idx, &d)) {
            fifo_pop(idx);
            continue;
        }
        if (now_mono_ms - d.sent_mono_ms < resend_after_ms)
            break;
        if (heap_push(idx, d) != 0) { /* no memory: it competes from the ring */
            best = older(best, spool_index_find(idx, d.id));
            break;
        }
        fifo_pop(idx);
    }
    while (idx->heap_n > 0 && stale(idx, &idx->heap[0]))
        heap_pop(idx);
    if (idx->heap_n > 0)
        best = older(best, spool_index_find(idx, idx->heap[0].id));
    return best;
}

int64_t spool_index_due_in(struct spool_index *idx, int64_t now_mono_ms, int64_t resend_after_ms)
{
    while (idx->unsent < idx->n && idx->e[idx->unsent].state != SPOOL_ENTRY_UNSENT)
        idx->unsent++;
    if (idx->unsent < idx->n)
        return 0;
    spool_index_purge(idx);
    if (idx->heap_n > 0)
        return 0;
    if (idx->fifo_n == 0)
        return -1;
    int64_t wait_ms = idx->fifo[idx->fifo_head].sent_mono_ms + resend_after_ms - now_mono_ms;
    return wait_ms > 0 ? wait_ms : 0;
}
