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

/* CRC-32C of each byte value (reflected polynomial 0x82f63b78). */
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

uint32_t chunk_bits_crc32c(const uint8_t *p, size_t len)
{
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < len; i++)
        crc = (crc >> 8) ^ crc32c_table[(crc ^ p[i]) & 0xff];
    return ~crc;
}
