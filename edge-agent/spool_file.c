/* The spool's bytes on disk (format in spool_internal.h): CRC-32C, record headers, done-log
 * entries, the state file, and the recovery scanner that walks a segment through a bounded
 * buffer. No allocation but the scanner's buffer; no logging. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crc32c.h"
#include "edge-agent/spool_internal.h"

#define SCAN_BUF_LEN ((size_t)16 << 10)
#define STATE_VERSION 1
#define DROP_RANGE_LEN 36

static const uint8_t record_magic[4] = {'u', 's', 'p', '1'};
static const uint8_t state_magic[4] = {'U', 'D', 'S', 'S'};

bool spool_boot_id_valid(const char *boot_id, size_t len)
{
    if (len != SPOOL_BOOT_ID_LEN)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((boot_id[i] >= '0' && boot_id[i] <= '9') || (boot_id[i] >= 'a' && boot_id[i] <= 'f')))
            return false;
    return true;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

void spool_hdr_encode(const struct spool_hdr *h, uint8_t out[SPOOL_HDR_LEN])
{
    memcpy(out, record_magic, 4);
    put_u32(out + 4, h->len);
    put_u64(out + 8, h->id);
    put_u64(out + 16, h->seq);
    put_u64(out + 24, (uint64_t)h->time_ms);
    memcpy(out + 32, h->boot_id, SPOOL_BOOT_ID_LEN);
    put_u32(out + 48, h->payload_crc);
    put_u32(out + 52, crc32c(0, out, 52));
}

int spool_hdr_decode(const uint8_t in[SPOOL_HDR_LEN], struct spool_hdr *h)
{
    if (memcmp(in, record_magic, 4) != 0 || get_u32(in + 52) != crc32c(0, in, 52))
        return -EBADMSG;
    h->len = get_u32(in + 4);
    h->id = get_u64(in + 8);
    h->seq = get_u64(in + 16);
    h->time_ms = (int64_t)get_u64(in + 24);
    memcpy(h->boot_id, in + 32, SPOOL_BOOT_ID_LEN);
    h->payload_crc = get_u32(in + 48);
    if (h->len > SPOOL_PAYLOAD_LIMIT || !spool_boot_id_valid(h->boot_id, SPOOL_BOOT_ID_LEN))
        return -EBADMSG;
    return 0;
}

void spool_acklog_encode(uint64_t first_id, uint64_t last_id, uint8_t out[SPOOL_ACKLOG_ENTRY_LEN])
{
    put_u64(out, first_id);
    put_u64(out + 8, last_id);
    put_u32(out + 16, crc32c(0, out, 16));
}

int spool_acklog_decode(const uint8_t in[SPOOL_ACKLOG_ENTRY_LEN], uint64_t *first_id,
                        uint64_t *last_id)
{
    if (get_u32(in + 16) != crc32c(0, in, 16))
        return -EBADMSG;
    *first_id = get_u64(in);
    *last_id = get_u64(in + 8);
    return *first_id <= *last_id ? 0 : -EBADMSG;
}

void spool_state_encode(const struct spool_state *st, uint8_t out[SPOOL_STATE_LEN])
{
    memset(out, 0, SPOOL_STATE_LEN);
    memcpy(out, state_magic, 4);
    put_u32(out + 4, STATE_VERSION);
    put_u64(out + 8, st->dropped_total);
    put_u32(out + 16, (uint32_t)st->n_drops);
    for (size_t i = 0; i < st->n_drops && i < SPOOL_DROP_RANGES_MAX; i++) {
        uint8_t *p = out + 20 + i * DROP_RANGE_LEN;
        memcpy(p, st->drops[i].boot_id, SPOOL_BOOT_ID_LEN);
        put_u64(p + 16, st->drops[i].first_seq);
        put_u64(p + 24, st->drops[i].last_seq);
        put_u32(p + 32, (uint32_t)st->drops[i].reason);
    }
    put_u32(out + SPOOL_STATE_LEN - 4, crc32c(0, out, SPOOL_STATE_LEN - 4));
}

int spool_state_decode(const uint8_t *in, size_t len, struct spool_state *st)
{
    memset(st, 0, sizeof *st);
    if (len != SPOOL_STATE_LEN || memcmp(in, state_magic, 4) != 0 ||
        get_u32(in + 4) != STATE_VERSION ||
        get_u32(in + SPOOL_STATE_LEN - 4) != crc32c(0, in, SPOOL_STATE_LEN - 4) ||
        get_u32(in + 16) > SPOOL_DROP_RANGES_MAX)
        return -EBADMSG;
    struct spool_state got = {.dropped_total = get_u64(in + 8), .n_drops = get_u32(in + 16)};
    for (size_t i = 0; i < got.n_drops; i++) {
        const uint8_t *p = in + 20 + i * DROP_RANGE_LEN;
        struct spool_drop_range *d = &got.drops[i];
        uint32_t reason = get_u32(p + 32);
        if (!spool_boot_id_valid((const char *)p, SPOOL_BOOT_ID_LEN) || reason > SPOOL_DROP_CORRUPT)
            return -EBADMSG;
        memcpy(d->boot_id, p, SPOOL_BOOT_ID_LEN);
        d->boot_id[SPOOL_BOOT_ID_LEN] = '\0';
        d->first_seq = get_u64(p + 16);
        d->last_seq = get_u64(p + 24);
        if (d->first_seq > d->last_seq)
            return -EBADMSG;
        d->reason = (enum spool_drop_reason)reason;
    }
    *st = got;
    return 0;
}

int spool_scan_init(struct spool_scan *s, int fd, uint64_t size)
{
    *s = (struct spool_scan){.fd = fd, .size = size, .cap = SCAN_BUF_LEN, .tail = size};
    s->buf = malloc(s->cap);
    return s->buf != NULL ? 0 : -ENOMEM;
}

void spool_scan_deinit(struct spool_scan *s)
{
    free(s->buf);
    s->buf = NULL;
}

/* Makes bytes [off, off + len) readable (len <= cap, off + len <= size): a pointer to them,
 * or NULL on a read error (or a file that shrank under us). */
static const uint8_t *scan_window(struct spool_scan *s, uint64_t off, size_t len)
{
    if (off >= s->buf_off && off + len <= s->buf_off + s->buf_len)
        return s->buf + (off - s->buf_off);
    size_t want = s->size - off < s->cap ? (size_t)(s->size - off) : s->cap, got = 0;
    while (got < want) {
        ssize_t n = pread(s->fd, s->buf + got, want - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    s->buf_off = off;
    s->buf_len = got;
    return got >= len ? s->buf : NULL;
}

/* Moves pos to the next place the record magic appears (with room for a header), or to the
 * end. */
static int scan_resync(struct spool_scan *s)
{
    uint64_t from = s->pos + 1;
    while (from + SPOOL_HDR_LEN <= s->size) {
        size_t len = s->size - from < s->cap ? (size_t)(s->size - from) : s->cap;
        const uint8_t *p = scan_window(s, from, len);
        if (p == NULL)
            return -EIO;
        const uint8_t *hit = memmem(p, len, record_magic, sizeof record_magic);
        if (hit != NULL) {
            s->pos = from + (uint64_t)(hit - p);
            return 0;
        }
        from += len - (sizeof record_magic - 1);
    }
    s->pos = s->size;
    return 0;
}

int spool_scan_next(struct spool_scan *s, struct spool_hdr *h, uint64_t *off)
{
    uint64_t bad_from = UINT64_MAX;
    while (s->pos + SPOOL_HDR_LEN <= s->size) {
        const uint8_t *p = scan_window(s, s->pos, SPOOL_HDR_LEN);
        if (p == NULL)
            return -EIO;
        if (spool_hdr_decode(p, h) == 0 && s->size - s->pos - SPOOL_HDR_LEN >= h->len) {
            if (bad_from != UINT64_MAX)
                s->corrupt++;
            *off = s->pos;
            s->pos += SPOOL_HDR_LEN + h->len;
            return 1;
        }
        if (bad_from == UINT64_MAX)
            bad_from = s->pos;
        if (scan_resync(s) != 0)
            return -EIO;
    }
    s->tail = bad_from != UINT64_MAX ? bad_from : s->pos;
    return 0;
}

int spool_scan_payload_ok(struct spool_scan *s, const struct spool_hdr *h, uint64_t off)
{
    uint32_t crc = 0;
    uint64_t at = off + SPOOL_HDR_LEN;
    size_t left = h->len;
    while (left > 0) {
        size_t n = left < s->cap ? left : s->cap;
        const uint8_t *p = scan_window(s, at, n);
        if (p == NULL)
            return -EIO;
        crc = crc32c(crc, p, n);
        at += n;
        left -= n;
    }
    return crc == h->payload_crc ? 1 : 0;
}
