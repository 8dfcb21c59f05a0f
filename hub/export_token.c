/* Export tokens (see export_token.h): length-prefixed fields, so no field can spill into the
 * next however it is spelled, and an HMAC-SHA256 over them. */
#include "hub/export_token.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "common/base64url.h"
#include "common/sha256.h"

#define TOKEN_VERSION 1
#define FIXED_BYTES (1 + 1 + 8 + 8 + 8)
#define MAX_PAYLOAD (FIXED_BYTES + 1 + 64 + 2 + 256 + 2 + 512)
#define MAX_BYTES (MAX_PAYLOAD + SHA256_DIGEST_BYTES)

_Static_assert(BASE64URL_ENCODED_LEN(MAX_BYTES) + 1 <= EXPORT_TOKEN_MAX,
               "EXPORT_TOKEN_MAX holds the longest token");

struct writer {
    uint8_t *p;
};

static void put_u8(struct writer *w, unsigned v)
{
    *w->p++ = (uint8_t)v;
}

static void put_i64(struct writer *w, int64_t v)
{
    uint64_t u = (uint64_t)v;
    for (int i = 7; i >= 0; i--)
        *w->p++ = (uint8_t)(u >> (8 * i));
}

static void put_text(struct writer *w, const char *text, size_t len, int len_bytes)
{
    if (len_bytes == 2)
        put_u8(w, (unsigned)(len >> 8));
    put_u8(w, (unsigned)(len & 0xff));
    memcpy(w->p, text, len);
    w->p += len;
}

int export_token_sign(const struct export_token *t, const uint8_t *key, size_t key_len, char *out,
                      size_t out_size)
{
    size_t host_len = strnlen(t->host, sizeof t->host);
    size_t metric_len = strnlen(t->metric, sizeof t->metric);
    size_t labels_len = strnlen(t->labels, sizeof t->labels);
    if (key_len == 0 || t->format != EXPORT_FORMAT_CSV || host_len == 0 ||
        host_len >= sizeof t->host || metric_len == 0 || metric_len >= sizeof t->metric ||
        labels_len >= sizeof t->labels || t->from_ms >= t->to_ms)
        return -EINVAL;
    uint8_t bytes[MAX_BYTES];
    struct writer w = {bytes};
    put_u8(&w, TOKEN_VERSION);
    put_u8(&w, (unsigned)t->format);
    put_i64(&w, t->from_ms);
    put_i64(&w, t->to_ms);
    put_i64(&w, t->expires_ms);
    put_text(&w, t->host, host_len, 1);
    put_text(&w, t->metric, metric_len, 2);
    put_text(&w, t->labels, labels_len, 2);
    size_t payload_len = (size_t)(w.p - bytes);
    sha256_hmac(key, key_len, bytes, payload_len, bytes + payload_len);
    return base64url_encode(bytes, payload_len + SHA256_DIGEST_BYTES, out, out_size);
}

struct reader {
    const uint8_t *p, *end;
};

static bool get_u8(struct reader *r, unsigned *v)
{
    if (r->end - r->p < 1)
        return false;
    *v = *r->p++;
    return true;
}

static bool get_i64(struct reader *r, int64_t *v)
{
    if (r->end - r->p < 8)
        return false;
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = u << 8 | *r->p++;
    *v = (int64_t)u;
    return true;
}

/* A length-prefixed string of 1..max (or 0..max when may_be_empty) bytes without NULs. */
static bool get_text(struct reader *r, int len_bytes, char *out, size_t max, bool may_be_empty)
{
    unsigned hi = 0, lo;
    if ((len_bytes == 2 && !get_u8(r, &hi)) || !get_u8(r, &lo))
        return false;
    size_t len = (size_t)hi << 8 | lo;
    if (len > max || (len == 0 && !may_be_empty) || (size_t)(r->end - r->p) < len ||
        memchr(r->p, '\0', len) != NULL)
        return false;
    memcpy(out, r->p, len);
    out[len] = '\0';
    r->p += len;
    return true;
}

static int parse_payload(const uint8_t *bytes, size_t len, struct export_token *t)
{
    struct reader r = {bytes, bytes + len};
    unsigned version, format;
    if (!get_u8(&r, &version) || version != TOKEN_VERSION || !get_u8(&r, &format) ||
        format != EXPORT_FORMAT_CSV || !get_i64(&r, &t->from_ms) || !get_i64(&r, &t->to_ms) ||
        !get_i64(&r, &t->expires_ms) || !get_text(&r, 1, t->host, sizeof t->host - 1, false) ||
        !get_text(&r, 2, t->metric, sizeof t->metric - 1, false) ||
        !get_text(&r, 2, t->labels, sizeof t->labels - 1, true) || r.p != r.end ||
        t->from_ms >= t->to_ms)
        return -EBADMSG;
    t->format = (enum export_format)format;
    return 0;
}

int export_token_verify(const char *text, const uint8_t *key, size_t key_len, int64_t now_ms,
                        struct export_token *out)
{
    uint8_t bytes[MAX_BYTES], mac[SHA256_DIGEST_BYTES];
    size_t len = 0, text_len = strnlen(text, EXPORT_TOKEN_MAX);
    if (key_len == 0 || text_len >= EXPORT_TOKEN_MAX ||
        base64url_decode(text, text_len, bytes, sizeof bytes, &len) != 0 ||
        len < FIXED_BYTES + SHA256_DIGEST_BYTES)
        return -EBADMSG;
    size_t payload_len = len - SHA256_DIGEST_BYTES;
    sha256_hmac(key, key_len, bytes, payload_len, mac);
    if (!sha256_mac_equal(mac, bytes + payload_len, sizeof mac))
        return -EBADMSG;
    struct export_token t;
    if (parse_payload(bytes, payload_len, &t) != 0)
        return -EBADMSG;
    *out = t;
    return now_ms > t.expires_ms ? -EKEYEXPIRED : 0;
}
