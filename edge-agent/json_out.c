/* JSON writer (see json_out.h). One byte sink behind three modes; once a buffer overflows
 * nothing more is copied, so a cut document is never mistaken for a whole one. */
#include "edge-agent/json_out.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define FNV_PRIME 0x100000001b3ULL

void json_out_init_buffer(struct json_out *o, char *buf, size_t cap)
{
    memset(o, 0, sizeof(*o));
    o->buf = buf;
    o->cap = cap;
    if (cap > 0)
        buf[0] = '\0';
    else
        o->overflow = true;
}

void json_out_init_count(struct json_out *o)
{
    memset(o, 0, sizeof(*o));
}

void json_out_init_hash(struct json_out *o)
{
    memset(o, 0, sizeof(*o));
    o->hashing = true;
    o->hash = JSON_OUT_FNV_OFFSET;
}

static void put(struct json_out *o, const char *bytes, size_t n)
{
    if (o->hashing) {
        for (size_t i = 0; i < n; i++) {
            o->hash ^= (unsigned char)bytes[i];
            o->hash *= FNV_PRIME;
        }
    } else if (o->buf != NULL && !o->overflow) {
        if (n >= o->cap - o->len) {
            o->overflow = true;
            o->buf[0] = '\0';
        } else {
            memcpy(o->buf + o->len, bytes, n);
            o->buf[o->len + n] = '\0';
        }
    }
    o->len += n;
}

void json_out_raw(struct json_out *o, const char *text)
{
    put(o, text, strlen(text));
}

/* Length of the valid UTF-8 sequence at s (avail bytes), 0 when there is none (RFC 3629
 * table: no overlongs, no surrogates, nothing above U+10FFFF). */
static size_t utf8_sequence(const unsigned char *s, size_t avail)
{
    unsigned char lo = 0x80, hi = 0xbf;
    size_t len;

    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4;
    else
        return 0;
    if (s[0] == 0xe0)
        lo = 0xa0;
    else if (s[0] == 0xed)
        hi = 0x9f;
    else if (s[0] == 0xf0)
        lo = 0x90;
    else if (s[0] == 0xf4)
        hi = 0x8f;
    if (avail < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

void json_out_string(struct json_out *o, const char *text, size_t max_len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t len = strnlen(text, max_len);
    size_t run = 0; /* start of the bytes not yet written */
    size_t i = 0;

    put(o, "\"", 1);
    while (i < len) {
        unsigned char c = s[i];
        char escape[8];
        size_t seq;

        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0x80 && (seq = utf8_sequence(s + i, len - i)) != 0) {
            i += seq;
            continue;
        }
        put(o, text + run, i - run);
        if (c >= 0x80)
            put(o, "\xef\xbf\xbd", 3);
        else if (c == '"' || c == '\\') {
            escape[0] = '\\';
            escape[1] = (char)c;
            put(o, escape, 2);
        } else if (c == '\n')
            put(o, "\\n", 2);
        else if (c == '\r')
            put(o, "\\r", 2);
        else if (c == '\t')
            put(o, "\\t", 2);
        else if (c == '\b')
            put(o, "\\b", 2);
        else if (c == '\f')
            put(o, "\\f", 2);
        else {
            (void)snprintf(escape, sizeof(escape), "\\u%04x", c);
            put(o, escape, 6);
        }
        run = ++i;
    }
    put(o, text + run, len - run);
    put(o, "\"", 1);
}

void json_out_string_or_null(struct json_out *o, const char *text, size_t max_len)
{
    if (text == NULL || max_len == 0 || text[0] == '\0')
        json_out_raw(o, "null");
    else
        json_out_string(o, text, max_len);
}

void json_out_int(struct json_out *o, int64_t value)
{
    char text[24];
    int n = snprintf(text, sizeof(text), "%" PRId64, value);

    put(o, text, (size_t)n);
}
