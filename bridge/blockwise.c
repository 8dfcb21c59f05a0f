/* Block1 reassembly (see blockwise.h): a small array of transfers, linear lookup (a handful
 * are open at a time; the common case, Size1 present, never comes here). */
#include "bridge/blockwise.h"

#include <stdlib.h>
#include <string.h>

struct transfer {
    uint8_t key[BLOCKWISE_KEY_MAX];
    size_t key_len;
    uint8_t *buf;
    size_t len, block_size;
    unsigned next_num;
    int64_t last_ms;
    bool used;
};

struct blockwise {
    struct transfer *slots;
    size_t count, max_body;
    int64_t idle_ms;
};

struct blockwise *blockwise_new(size_t max_transfers, size_t max_body, int64_t idle_ms)
{
    struct blockwise *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->slots = calloc(max_transfers ? max_transfers : 1, sizeof *t->slots);
    if (t->slots == NULL) {
        free(t);
        return NULL;
    }
    t->count = max_transfers ? max_transfers : 1;
    t->max_body = max_body;
    t->idle_ms = idle_ms;
    return t;
}

static void drop(struct transfer *x)
{
    free(x->buf);
    memset(x, 0, sizeof *x);
}

void blockwise_free(struct blockwise *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->count; i++)
        drop(&t->slots[i]);
    free(t->slots);
    free(t);
}

/* The live transfer of key, expiring idle ones on the way; *free_slot gets an unused one. */
static struct transfer *find(struct blockwise *t, const void *key, size_t key_len, int64_t now,
                             struct transfer **free_slot)
{
    struct transfer *found = NULL;
    *free_slot = NULL;
    for (size_t i = 0; i < t->count; i++) {
        struct transfer *x = &t->slots[i];
        if (x->used && now - x->last_ms > t->idle_ms)
            drop(x);
        if (!x->used) {
            if (*free_slot == NULL)
                *free_slot = x;
        } else if (x->key_len == key_len && memcmp(x->key, key, key_len) == 0) {
            found = x;
        }
    }
    return found;
}

static enum blockwise_result append(struct blockwise *t, struct transfer *x, const uint8_t *data,
                                    size_t len)
{
    if (x->len + len > t->max_body) {
        drop(x);
        return BLOCKWISE_TOO_LARGE;
    }
    uint8_t *grown = realloc(x->buf, x->len + len + 1);
    if (grown == NULL) {
        drop(x);
        return BLOCKWISE_BUSY;
    }
    memcpy(grown + x->len, data, len);
    x->buf = grown;
    x->len += len;
    return BLOCKWISE_CONTINUE;
}

enum blockwise_result blockwise_add(struct blockwise *t, const void *key, size_t key_len,
                                    unsigned num, bool more, size_t block_size, const uint8_t *data,
                                    size_t len, int64_t now_ms, uint8_t **body, size_t *body_len)
{
    if (key_len > BLOCKWISE_KEY_MAX)
        key_len = BLOCKWISE_KEY_MAX;
    struct transfer *free_slot;
    struct transfer *x = find(t, key, key_len, now_ms, &free_slot);
    if (num == 0) { /* a new transfer (or the same one started again) */
        if (x != NULL)
            drop(x);
        else
            x = free_slot;
        if (x == NULL)
            return BLOCKWISE_BUSY;
        if (more && len != block_size) /* a block that is not the last is full */
            return BLOCKWISE_INCOMPLETE;
        x->used = true;
        memcpy(x->key, key, key_len);
        x->key_len = key_len;
        x->block_size = block_size;
    } else if (x == NULL) {
        return BLOCKWISE_INCOMPLETE;
    } else if (num + 1 == x->next_num && more && block_size == x->block_size) {
        x->last_ms = now_ms; /* a middle block again: Continue again */
        return BLOCKWISE_CONTINUE;
    } else if (num != x->next_num || block_size != x->block_size ||
               (size_t)num * block_size != x->len || (more && len != block_size)) {
        drop(x);
        return BLOCKWISE_INCOMPLETE;
    }
    enum blockwise_result r = append(t, x, data, len);
    if (r != BLOCKWISE_CONTINUE)
        return r;
    x->next_num = num + 1;
    x->last_ms = now_ms;
    if (more)
        return BLOCKWISE_CONTINUE;
    *body = x->buf;
    *body_len = x->len;
    x->buf = NULL;
    drop(x);
    return BLOCKWISE_COMPLETE;
}

size_t blockwise_active(const struct blockwise *t)
{
    size_t n = 0;
    for (size_t i = 0; i < t->count; i++)
        n += t->slots[i].used;
    return n;
}
