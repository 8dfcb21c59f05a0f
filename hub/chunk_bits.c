/* Bit-level coding of the chunk codec: writer, bounds-checked reader, gamma / Rice /
 * zero-run codes, varints, CRC-32C. Pure; no shared state, thread-safe per object. */
#include "hub/chunk_bits.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t low_mask(unsigned nbits) /* nbits < 64 */
{
    return ((uint64_t)1 << nbits) - 1;
}

static unsigned bit_length(uint64_t v) /* v >= 1 */
{
    return 64u - (unsigned)__builtin_clzll(v);
}

static bool grow(struct chunk_bitwriter *w, size_t extra)
{
    if (w->failed)
        return false;
    size_t cap = w->cap ? w->cap : 256;
    while (cap - w->len < extra)
        cap *= 2;
    uint8_t *buf = realloc(w->buf, cap);
    if (buf == NULL) {
        w->failed = true;
        return false;
    }
    w->buf = buf;
    w->cap = cap;
    return true;
}

static void put_small(struct chunk_bitwriter *w, uint64_t value, unsigned nbits) /* <= 32 */
{
    if (w->cap - w->len < 8 && !grow(w, 8))
        return;
    w->acc = (w->acc << nbits) | (value & low_mask(nbits));
    w->acc_bits += nbits;
    while (w->acc_bits >= 8) {
        w->acc_bits -= 8;
        w->buf[w->len++] = (uint8_t)(w->acc >> w->acc_bits);
    }
    w->acc &= low_mask(w->acc_bits);
}

void chunk_bits_write(struct chunk_bitwriter *w, uint64_t value, unsigned nbits)
{
    if (nbits > 32) {
        put_small(w, value >> 32, nbits - 32);
        nbits = 32;
    }
    put_small(w, value, nbits);
}

void chunk_bits_flush(struct chunk_bitwriter *w)
{
    if (w->acc_bits > 0)
        put_small(w, 0, 8 - w->acc_bits);
}

void chunk_bits_write_bytes(struct chunk_bitwriter *w, const uint8_t *bytes, size_t n)
{
    if (n == 0 || (w->cap - w->len < n && !grow(w, n)))
        return;
    memcpy(w->buf + w->len, bytes, n);
    w->len += n;
}

void chunk_bits_write_varint(struct chunk_bitwriter *w, uint64_t value)
{
    uint8_t tmp[10];
    size_t n = 0;
    while (value >= 0x80) {
        tmp[n++] = (uint8_t)(value | 0x80);
        value >>= 7;
    }
    tmp[n++] = (uint8_t)value;
    chunk_bits_write_bytes(w, tmp, n);
}

void chunk_bits_write_gamma(struct chunk_bitwriter *w, uint64_t value)
{
    unsigned len = bit_length(value);
    chunk_bits_write(w, 0, len - 1);
    chunk_bits_write(w, value, len);
}

void chunk_bits_write_rice(struct chunk_bitwriter *w, uint64_t value, unsigned k)
{
    uint64_t q = value >> k;
    if (q >= CHUNK_BITS_RICE_ESCAPE) {
        chunk_bits_write(w, low_mask(CHUNK_BITS_RICE_ESCAPE), CHUNK_BITS_RICE_ESCAPE);
        chunk_bits_write(w, value, 64);
        return;
    }
    chunk_bits_write(w, low_mask((unsigned)q) << 1, (unsigned)q + 1); /* q ones, a zero */
    chunk_bits_write(w, value & low_mask(k), k);
}

void chunk_bits_write_zero_runs(struct chunk_bitwriter *w, const uint64_t *values, size_t n)
{
    uint64_t run = 0;
    for (size_t i = 0; i < n; i++) {
        if (values[i] == 0) {
            run++;
            continue;
        }
        chunk_bits_write_gamma(w, run + 1);
        chunk_bits_write_gamma(w, values[i]);
        run = 0;
    }
    if (run > 0)
        chunk_bits_write_gamma(w, run + 1);
}

unsigned chunk_bits_gamma_cost(uint64_t value)
{
    return 2 * bit_length(value) - 1;
}

uint64_t chunk_bits_rice_cost(const uint64_t *values, size_t n, unsigned k)
{
    uint64_t bits = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t q = values[i] >> k;
        bits += q < CHUNK_BITS_RICE_ESCAPE ? q + 1 + k : CHUNK_BITS_RICE_ESCAPE + 64;
    }
    return bits;
}

uint64_t chunk_bits_zero_runs_cost(const uint64_t *values, size_t n)
{
    uint64_t bits = 0, run = 0;
    for (size_t i = 0; i < n; i++) {
        if (values[i] == 0) {
            run++;
            continue;
        }
        bits += chunk_bits_gamma_cost(run + 1) + chunk_bits_gamma_cost(values[i]);
        run = 0;
    }
    if (run > 0)
        bits += chunk_bits_gamma_cost(run + 1);
    return bits;
}

void chunk_bits_reader_init(struct chunk_bitreader *r, const uint8_t *p, size_t len)
{
    r->p = p;
    r->end = p + len;
    r->acc = 0;
    r->acc_bits = 0;
}

static void refill(struct chunk_bitreader *r)
{
    while (r->acc_bits <= 56 && r->p < r->end) {
        r->acc = (r->acc << 8) | *r->p++;
        r->acc_bits += 8;
    }
}

static int read_small(struct chunk_bitreader *r, unsigned nbits, uint64_t *out) /* <= 32 */
{
    if (r->acc_bits < nbits) {
        refill(r);
        if (r->acc_bits < nbits)
            return -EBADMSG;
    }
    r->acc_bits -= nbits;
    *out = (r->acc >> r->acc_bits) & low_mask(nbits);
    return 0;
}

int chunk_bits_read(struct chunk_bitreader *r, unsigned nbits, uint64_t *out)
{
    uint64_t high = 0, low;
    if (nbits > 32) {
        if (read_small(r, nbits - 32, &high) != 0)
            return -EBADMSG;
        nbits = 32;
    }
    if (read_small(r, nbits, &low) != 0)
        return -EBADMSG;
    *out = (high << 32) | low;
    return 0;
}

/* Consumes up to limit consecutive bits equal to bit, stopping before the first other bit;
 * fails when the input ends first. */
static int count_bits(struct chunk_bitreader *r, unsigned bit, unsigned limit, unsigned *count)
{
    unsigned c = 0;
    while (c < limit) {
        if (r->acc_bits == 0) {
            refill(r);
            if (r->acc_bits == 0)
                return -EBADMSG;
        }
        unsigned avail = r->acc_bits;
        uint64_t window = r->acc << (64 - avail);
        if (bit)
            window = ~window;
        unsigned n = window ? (unsigned)__builtin_clzll(window) : 64;
        if (n > avail)
            n = avail;
        if (n > limit - c)
            n = limit - c;
        c += n;
        r->acc_bits -= n;
        if (n < avail)
            break;
    }
    *count = c;
    return 0;
}

int chunk_bits_read_gamma(struct chunk_bitreader *r, uint64_t *out)
{
    unsigned zeros;
    if (count_bits(r, 0, 64, &zeros) != 0 || zeros >= 64)
        return -EBADMSG;
    return chunk_bits_read(r, zeros + 1, out);
}

int chunk_bits_read_rice(struct chunk_bitreader *r, unsigned k, uint64_t *out)
{
    unsigned q;
    uint64_t low;
    if (count_bits(r, 1, CHUNK_BITS_RICE_ESCAPE, &q) != 0)
        return -EBADMSG;
    if (q == CHUNK_BITS_RICE_ESCAPE)
        return chunk_bits_read(r, 64, out);
    if (k > 0 && ((uint64_t)q >> (64 - k)) != 0)
        return -EBADMSG;                      /* the value would not fit 64 bits */
    if (chunk_bits_read(r, k + 1, &low) != 0) /* the stop bit (a zero), then k bits */
        return -EBADMSG;
    *out = ((uint64_t)q << k) | low;
    return 0;
}

bool chunk_bits_at_end(const struct chunk_bitreader *r)
{
    return r->p == r->end && r->acc_bits < 8 && (r->acc & low_mask(r->acc_bits)) == 0;
}

int chunk_bits_read_zero_runs(struct chunk_bitreader *r, struct chunk_zero_runs *s,
                              uint32_t remaining, uint64_t *out)
{
    for (;;) {
        if (s->zeros_left > 0) {
            s->zeros_left--;
            *out = 0;
            return 0;
        }
        if (s->value_pending) {
            s->value_pending = false;
            return chunk_bits_read_gamma(r, out);
        }
        uint64_t run_plus_one;
        if (chunk_bits_read_gamma(r, &run_plus_one) != 0 || run_plus_one - 1 > remaining)
            return -EBADMSG;
        s->zeros_left = (uint32_t)(run_plus_one - 1);
        s->value_pending = s->zeros_left < remaining;
    }
}

int chunk_bits_get_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *out)
{
    uint64_t value = 0;
    unsigned shift = 0;
    uint8_t byte;
    do {
        if (*pos >= len || (shift == 63 && p[*pos] > 1))
            return -EBADMSG; /* truncated, or a 10th byte beyond 64 bits */
        byte = p[(*pos)++];
        value |= (uint64_t)(byte & 0x7f) << shift;
        shift += 7;
    } while (byte & 0x80);
    *out = value;
    return 0;
}

