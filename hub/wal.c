/* Write-ahead records (see wal.h). */
#include "hub/wal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int wal_buf_add(struct wal_buf *b, const struct wal_sample *s)
{
    if (b->count == 0 && b->out.len == 0) {
        const uint8_t version = WAL_FORMAT_VERSION;
        chunk_bits_write_bytes(&b->out, &version, 1);
        b->prev_ts_ms = 0;
    }
    uint8_t tail[9];
    uint64_t bits;
    memcpy(&bits, &s->value, sizeof bits);
    tail[0] = s->kind;
    for (int i = 0; i < 8; i++)
        tail[1 + i] = (uint8_t)(bits >> (8 * i));
    chunk_bits_write_varint(&b->out, (uint64_t)s->series_id);
    chunk_bits_write_varint(&b->out,
                            chunk_bits_zigzag((uint64_t)s->ts_ms - (uint64_t)b->prev_ts_ms));
    chunk_bits_write_bytes(&b->out, tail, sizeof tail);
    if (b->out.failed)
        return -ENOMEM;
    b->prev_ts_ms = s->ts_ms;
    b->count++;
    return 0;
}

void wal_buf_reset(struct wal_buf *b)
{
    b->out.len = 0;
    b->out.acc = 0;
    b->out.acc_bits = 0;
    b->out.failed = false;
    b->count = 0;
    b->prev_ts_ms = 0;
}

void wal_buf_free(struct wal_buf *b)
{
    free(b->out.buf);
    memset(b, 0, sizeof *b);
}

int wal_decode(const uint8_t *buf, size_t len,
               int (*fn)(void *user, const struct wal_sample *s), void *user)
{
    if (len < 1 || buf[0] != WAL_FORMAT_VERSION)
        return -EBADMSG;
    size_t pos = 1;
    uint64_t prev = 0;
    while (pos < len) {
        uint64_t id, delta;
        if (chunk_bits_get_varint(buf, len, &pos, &id) != 0 ||
            chunk_bits_get_varint(buf, len, &pos, &delta) != 0 || id == 0 || id > INT64_MAX ||
            len - pos < 9)
            return -EBADMSG;
        uint64_t bits = 0;
        for (int i = 0; i < 8; i++)
            bits |= (uint64_t)buf[pos + 1 + (size_t)i] << (8 * i);
        prev += chunk_bits_unzigzag(delta);
        struct wal_sample s = {.series_id = (int64_t)id, .kind = buf[pos]};
        memcpy(&s.ts_ms, &prev, sizeof s.ts_ms);
        memcpy(&s.value, &bits, sizeof s.value);
        pos += 9;
        int rc = fn(user, &s);
        if (rc != 0)
            return rc;
    }
    return 0;
}
