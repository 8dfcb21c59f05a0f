/* CBOR scanner (see cbor_scan.h): heads, strings, floats and skipped items of untrusted bytes.
 * Pure; thread-safe (no shared state). */
#include "common/cbor_scan.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "common/json_scan.h"

#define XSTR(x) #x
#define STR(x) XSTR(x)

static int scan_fail(struct cbor_scan *s, enum cbor_scan_error error, const char *reason)
{
    s->error = error;
    s->reason = reason;
    return -EBADMSG;
}

static int scan_truncated(struct cbor_scan *s)
{
    return scan_fail(s, CBOR_SCAN_ERROR_SYNTAX, "unexpected end of input");
}

void cbor_scan_init(struct cbor_scan *s, const void *data, size_t len)
{
    s->start = s->p = data != NULL ? data : (const uint8_t *)"";
    s->end = s->start + len;
    s->error = CBOR_SCAN_ERROR_SYNTAX;
    s->reason = "";
}

int cbor_scan_peek(struct cbor_scan *s, struct cbor_head *out)
{
    size_t left = (size_t)(s->end - s->p), extra;
    enum cbor_major major;
    uint8_t info;
    uint64_t arg;

    /* Locals first, *out once at the end: reading back fields just stored byte by byte would
     * stall on store forwarding in the decoders' hottest function. */
    if (left == 0)
        return scan_truncated(s);
    major = (enum cbor_major)(s->p[0] >> 5);
    info = s->p[0] & 0x1f;
    arg = info;
    if (info >= 28 && info <= 30)
        return scan_fail(s, CBOR_SCAN_ERROR_SYNTAX, "reserved additional information");
    if (info == 31) {
        if (major == CBOR_MAJOR_UINT || major == CBOR_MAJOR_NEGINT || major == CBOR_MAJOR_TAG)
            return scan_fail(s, CBOR_SCAN_ERROR_SYNTAX, "indefinite length not allowed here");
        *out = (struct cbor_head){.major = major,
                                  .info = info,
                                  .indefinite = major != CBOR_MAJOR_SIMPLE,
                                  .arg = arg,
                                  .size = 1};
        return 0;
    }
    extra = info < 24 ? 0 : (size_t)1 << (info - 24);
    if (left - 1 < extra)
        return scan_truncated(s);
    if (extra > 0)
        arg = 0;
    for (size_t i = 1; i <= extra; i++) /* big-endian argument */
        arg = arg << 8 | s->p[i];
    left -= 1 + extra;
    /* RFC 8949 §3.3: simple values below 32 have a one-byte form only */
    if (major == CBOR_MAJOR_SIMPLE && info == 24 && arg < 32)
        return scan_fail(s, CBOR_SCAN_ERROR_SYNTAX, "simple value in the wrong form");
    if (((major == CBOR_MAJOR_BYTES || major == CBOR_MAJOR_TEXT || major == CBOR_MAJOR_ARRAY) &&
         arg > left) ||
        (major == CBOR_MAJOR_MAP && arg > left / 2))
        return scan_truncated(s);
    *out = (struct cbor_head){
        .major = major, .info = info, .indefinite = false, .arg = arg, .size = 1 + extra};
    return 0;
}

bool cbor_scan_utf8_valid(const uint8_t *p, size_t n)
{
    const uint8_t *end = p + n;

    while (p < end) {
        size_t len;

        if (*p < 0x80) {
            p++;
            continue;
        }
        len = json_scan_utf8_len(p, (size_t)(end - p));
        if (len == 0)
            return false;
        p += len;
    }
    return true;
}

int cbor_scan_string(struct cbor_scan *s, const struct cbor_head *h, const uint8_t **bytes)
{
    const uint8_t *start = s->p + h->size;

    if (h->indefinite || (h->major != CBOR_MAJOR_TEXT && h->major != CBOR_MAJOR_BYTES))
        return scan_fail(s, CBOR_SCAN_ERROR_SYNTAX, "expected a definite-length string");
    /* cbor_scan_peek checked that the bytes are there */
    if (h->major == CBOR_MAJOR_TEXT && !cbor_scan_utf8_valid(start, (size_t)h->arg))
        return scan_fail(s, CBOR_SCAN_ERROR_SYNTAX, "invalid UTF-8 in text string");
    s->p = start + h->arg;
    *bytes = start;
    return 0;
}

/* Skips the indefinite-length string whose head h was peeked: definite chunks of the same major
 * type up to a break (RFC 8949 §3.2.3). */
static int skip_chunks(struct cbor_scan *s, const struct cbor_head *h)
{
    enum cbor_major major = h->major;
    struct cbor_head chunk;
    const uint8_t *bytes;
    int ret;

    s->p += h->size;
    for (;;) {
        if ((ret = cbor_scan_peek(s, &chunk)) != 0)
            return ret;
        if (chunk.major == CBOR_MAJOR_SIMPLE && chunk.info == CBOR_BREAK) {
            s->p++;
            return 0;
        }
        if (chunk.major != major || chunk.indefinite)
            return scan_fail(s, CBOR_SCAN_ERROR_SYNTAX, "bad chunk in indefinite-length string");
        if ((ret = cbor_scan_string(s, &chunk, &bytes)) != 0)
            return ret;
    }
}

/* Skips the items of the array or map whose head h was peeked, opened at nesting level depth. */
static int skip_container(struct cbor_scan *s, const struct cbor_head *h, int depth)
{
    uint64_t items = h->major == CBOR_MAJOR_MAP ? h->arg * 2 : h->arg; /* peek bounded arg */
    struct cbor_head next;
    int ret;

    if (depth > CBOR_SCAN_MAX_DEPTH)
        return scan_fail(s, CBOR_SCAN_ERROR_DEPTH,
                         "nesting deeper than " STR(CBOR_SCAN_MAX_DEPTH) " levels");
    s->p += h->size;
    for (uint64_t i = 0; h->indefinite || i < items; i++) {
        if (h->indefinite) {
            if ((ret = cbor_scan_peek(s, &next)) != 0)
                return ret;
            if (next.major == CBOR_MAJOR_SIMPLE && next.info == CBOR_BREAK) {
                if (h->major == CBOR_MAJOR_MAP && i % 2 != 0)
                    return scan_fail(s, CBOR_SCAN_ERROR_SYNTAX, "map key without a value");
                s->p++;
                return 0;
            }
        }
        if ((ret = cbor_scan_skip(s, depth)) != 0)
            return ret;
    }
    return 0;
}

int cbor_scan_skip(struct cbor_scan *s, int depth)
{
    struct cbor_head h;
    int ret;

    /* A tag's content follows it: loop over chains of tags rather than recurse. */
    for (;;) {
        if ((ret = cbor_scan_peek(s, &h)) != 0)
            return ret;
        if (h.major != CBOR_MAJOR_TAG)
            break;
        s->p += h.size;
    }
    switch (h.major) {
    case CBOR_MAJOR_UINT:
    case CBOR_MAJOR_NEGINT:
        s->p += h.size;
        return 0;
    case CBOR_MAJOR_BYTES:
    case CBOR_MAJOR_TEXT: {
        const uint8_t *bytes;
        return h.indefinite ? skip_chunks(s, &h) : cbor_scan_string(s, &h, &bytes);
    }
    case CBOR_MAJOR_ARRAY:
    case CBOR_MAJOR_MAP:
        return skip_container(s, &h, depth + 1);
    case CBOR_MAJOR_TAG:
        break;
    case CBOR_MAJOR_SIMPLE:
        if (h.info == CBOR_BREAK)
            return scan_fail(s, CBOR_SCAN_ERROR_SYNTAX, "unexpected break");
        s->p += h.size;
        return 0;
    }
    return scan_fail(s, CBOR_SCAN_ERROR_SYNTAX, "invalid data item");
}

double cbor_half_to_double(uint16_t half)
{
    int exponent = (half >> 10) & 0x1f;
    int mantissa = half & 0x3ff;
    double value;

    if (exponent == 0)
        value = ldexp(mantissa, -24);
    else if (exponent != 31)
        value = ldexp(mantissa + 1024, exponent - 25);
    else
        value = mantissa == 0 ? INFINITY : NAN;
    return (half & 0x8000) ? -value : value;
}

double cbor_float_value(const struct cbor_head *h)
{
    switch (h->info) {
    case CBOR_FLOAT16:
        return cbor_half_to_double((uint16_t)h->arg);
    case CBOR_FLOAT32: {
        uint32_t bits = (uint32_t)h->arg;
        float f;
        memcpy(&f, &bits, sizeof f);
        return (double)f;
    }
    default: {
        double d;
        memcpy(&d, &h->arg, sizeof d);
        return d;
    }
    }
}
