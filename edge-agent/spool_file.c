/* The spool's bytes on disk (format in spool_internal.h): CRC-32C, record headers, done-log
 * entries, the state file, and the recovery scanner that walks a segment through a bounded
 * buffer. No allocation but the scanner's buffer; no logging. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edge-agent/spool_internal.h"

#define SCAN_BUF_LEN ((size_t)16 << 10)
#define STATE_VERSION 1
#define DROP_RANGE_LEN 36

static const uint8_t record_magic[4] = {'u', 's', 'p', '1'};
static const uint8_t state_magic[4] = {'U', 'D', 'S', 'S'};

/* CRC-32C of each byte value (reflected polynomial 0x82f63b78), as hub/chunk_bits.c: the
 * agent links no hub code. */
static const uint32_t crc32c_table[256] = {
    0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4, 0xc79a971f, 0x35f1141c, 0x26a1e7e8, 0xd4ca64eb,
    0x8ad958cf, 0x78b2dbcc, 0x6be22838, 0x9989ab3b, 0x4d43cfd0, 0xbf284cd3, 0xac78bf27, 0x5e133c24,
    0x105ec76f, 0xe235446c, 0xf165b798, 0x030e349b, 0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384,
    0x9a879fa0, 0x68ec1ca3, 0x7bbcef57, 0x89d76c54, 0x5d1d08bf, 0xaf768bbc, 0xbc267848, 0x4e4dfb4b,
    0x20bd8ede, 0xd2d60ddd, 0xc186fe29, 0x33ed7d2a, 0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35,
    0xaa64d611, 0x580f5512, 0x4b5fa6e6, 0xb93425e5, 0x6dfe410e, 0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa,
    0x30e349b1, 0xc288cab2, 0xd1d83946, 0x23b3ba45, 0xf779deae, 0x05125dad, 0x1642ae59, 0xe4292d5a,
    0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a, 0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595,
    0x417b1dbc, 0xb3109ebf, 0xa0406d4b, 0x522bee48, 0x86e18aa3, 0x748a09a0, 0x67dafa54, 0x95b17957,
    0xcba24573, 0x39c9c670, 0x2a993584, 0xd8f2b687, 0x0c38d26c, 0xfe53516f, 0xed03a29b, 0x1f682198,
    0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927, 0x96bf4dcc, 0x64d4cecf, 0x77843d3b, 0x85efbe38,
    0xdbfc821c, 0x2997011f, 0x3ac7f2eb, 0xc8ac71e8, 0x1c661503, 0xee0d9600, 0xfd5d65f4, 0x0f36e6f7,
    0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096, 0xa65c047d, 0x5437877e, 0x4767748a, 0xb50cf789,
    0xeb1fcbad, 0x197448ae, 0x0a24bb5a, 0xf84f3859, 0x2c855cb2, 0xdeeedfb1, 0xcdbe2c45, 0x3fd5af46,
    0x7198540d, 0x83f3d70e, 0x90a324fa, 0x62c8a7f9, 0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
    0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36, 0x3cdb9bdd, 0xceb018de, 0xdde0eb2a, 0x2f8b6829,
    0x82f63b78, 0x709db87b, 0x63cd4b8f, 0x91a6c88c, 0x456cac67, 0xb7072f64, 0xa457dc90, 0x563c5f93,
    0x082f63b7, 0xfa44e0b4, 0xe9141340, 0x1b7f9043, 0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c,
    0x92a8fc17, 0x60c37f14, 0x73938ce0, 0x81f80fe3, 0x55326b08, 0xa759e80b, 0xb4091bff, 0x466298fc,
    0x1871a4d8, 0xea1a27db, 0xf94ad42f, 0x0b21572c, 0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033,
    0xa24bb5a6, 0x502036a5, 0x4370c551, 0xb11b4652, 0x65d122b9, 0x97baa1ba, 0x84ea524e, 0x7681d14d,
    0x2892ed69, 0xdaf96e6a, 0xc9a99d9e, 0x3bc21e9d, 0xef087a76, 0x1d63f975, 0x0e330a81, 0xfc588982,
    0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d, 0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622,
    0x38cc2a06, 0xcaa7a905, 0xd9f75af1, 0x2b9cd9f2, 0xff56bd19, 0x0d3d3e1a, 0x1e6dcdee, 0xec064eed,
    0xc38d26c4, 0x31e6a5c7, 0x22b65633, 0xd0ddd530, 0x0417b1db, 0xf67c32d8, 0xe52cc12c, 0x1747422f,
    0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff, 0x8ecee914, 0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0,
    0xd3d3e1ab, 0x21b862a8, 0x32e8915c, 0xc083125f, 0x144976b4, 0xe622f5b7, 0xf5720643, 0x07198540,
    0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90, 0x9e902e7b, 0x6cfbad78, 0x7fab5e8c, 0x8dc0dd8f,
    0xe330a81a, 0x115b2b19, 0x020bd8ed, 0xf0605bee, 0x24aa3f05, 0xd6c1bc06, 0xc5914ff2, 0x37faccf1,
    0x69e9f0d5, 0x9b8273d6, 0x88d28022, 0x7ab90321, 0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
    0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81, 0x34f4f86a, 0xc69f7b69, 0xd5cf889d, 0x27a40b9e,
    0x79b737ba, 0x8bdcb4b9, 0x988c474d, 0x6ae7c44e, 0xbe2da0a5, 0x4c4623a6, 0x5f16d052, 0xad7d5351,
};

uint32_t spool_crc32c(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    crc = ~crc;
    for (size_t i = 0; i < len; i++)
        crc = (crc >> 8) ^ crc32c_table[(crc ^ p[i]) & 0xff];
    return ~crc;
}

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
    put_u32(out + 52, spool_crc32c(0, out, 52));
}

int spool_hdr_decode(const uint8_t in[SPOOL_HDR_LEN], struct spool_hdr *h)
{
    if (memcmp(in, record_magic, 4) != 0 || get_u32(in + 52) != spool_crc32c(0, in, 52))
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
    put_u32(out + 16, spool_crc32c(0, out, 16));
}

int spool_acklog_decode(const uint8_t in[SPOOL_ACKLOG_ENTRY_LEN], uint64_t *first_id,
                        uint64_t *last_id)
{
    if (get_u32(in + 16) != spool_crc32c(0, in, 16))
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
    put_u32(out + SPOOL_STATE_LEN - 4, spool_crc32c(0, out, SPOOL_STATE_LEN - 4));
}

int spool_state_decode(const uint8_t *in, size_t len, struct spool_state *st)
{
    memset(st, 0, sizeof *st);
    if (len != SPOOL_STATE_LEN || memcmp(in, state_magic, 4) != 0 ||
        get_u32(in + 4) != STATE_VERSION ||
        get_u32(in + SPOOL_STATE_LEN - 4) != spool_crc32c(0, in, SPOOL_STATE_LEN - 4) ||
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
        crc = spool_crc32c(crc, p, n);
        at += n;
        left -= n;
    }
    return crc == h->payload_crc ? 1 : 0;
}
