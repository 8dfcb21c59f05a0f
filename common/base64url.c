/* base64url without padding (see base64url.h). */
#include "common/base64url.h"

#include <errno.h>

static const char ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int base64url_encode(const void *data, size_t len, char *out, size_t out_size)
{
    const uint8_t *in = data;
    if (out_size < BASE64URL_ENCODED_LEN(len) + 1)
        return -ENOSPC;
    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = ALPHABET[v >> 18];
        out[o++] = ALPHABET[(v >> 12) & 63];
        out[o++] = ALPHABET[(v >> 6) & 63];
        out[o++] = ALPHABET[v & 63];
    }
    if (len - i == 1) {
        out[o++] = ALPHABET[in[i] >> 2];
        out[o++] = ALPHABET[(in[i] & 3) << 4];
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];
        out[o++] = ALPHABET[v >> 10];
        out[o++] = ALPHABET[(v >> 4) & 63];
        out[o++] = ALPHABET[(v & 15) << 2];
    }
    out[o] = '\0';
    return 0;
}

/* The 6-bit value of c, or -1. */
static int sextet(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

int base64url_decode(const char *text, size_t text_len, uint8_t *out, size_t out_size,
                     size_t *out_len)
{
    size_t tail = text_len % 4;
    if (tail == 1)
        return -EBADMSG; /* one character carries only 6 bits: no byte ends there */
    size_t need = text_len / 4 * 3 + (tail == 0 ? 0 : tail - 1);
    if (need > out_size)
        return -ENOSPC;
    size_t o = 0;
    uint32_t acc = 0;
    for (size_t i = 0; i < text_len; i++) {
        int v = sextet(text[i]);
        if (v < 0)
            return -EBADMSG;
        acc = acc << 6 | (uint32_t)v;
        if (i % 4 == 3) {
            out[o++] = (uint8_t)(acc >> 16);
            out[o++] = (uint8_t)(acc >> 8);
            out[o++] = (uint8_t)acc;
            acc = 0;
        }
    }
    if (tail == 2) {
        if (acc & 15)
            return -EBADMSG;
        out[o++] = (uint8_t)(acc >> 4);
    } else if (tail == 3) {
        if (acc & 3)
            return -EBADMSG;
        out[o++] = (uint8_t)(acc >> 10);
        out[o++] = (uint8_t)(acc >> 2);
    }
    *out_len = o;
    return 0;
}
