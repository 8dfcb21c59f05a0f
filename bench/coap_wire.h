/* The few bytes of CoAP over UDP (RFC 7252 §3) the benches write and read by hand: the header
 * of a CON POST /t/<host>/metrics with Content-Format 112 (bench/coap_flood.c sends it,
 * bench/agent_cycle.c counts it), and an empty ACK or RST. No libcoap: the load generator
 * must stay light. Bench-only: static functions, so each benchmark stays one .c file. */
#ifndef UPDRAFT_BENCH_COAP_WIRE_H
#define UPDRAFT_BENCH_COAP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define COAP_TYPE_CON 0
#define COAP_TYPE_NON 1
#define COAP_TYPE_ACK 2
#define COAP_TYPE_RST 3
#define COAP_CODE(c, d) ((uint8_t)((c) << 5 | (d)))
#define COAP_CODE_EMPTY 0
#define COAP_CODE_POST COAP_CODE(0, 2)
#define COAP_CODE_CHANGED COAP_CODE(2, 4)
#define COAP_CODE_UNAVAILABLE COAP_CODE(5, 3)
#define COAP_OPTION_URI_PATH 11
#define COAP_OPTION_CONTENT_FORMAT 12
#define COAP_OPTION_BLOCK1 27
#define COAP_OPTION_SIZE1 60
#define COAP_OPTION_REQUEST_TAG 292
#define COAP_FORMAT_SENML_CBOR 112
#define COAP_MAX_DATAGRAM 1152 /* libcoap's default MTU: more needs Block1 (RFC 7959) */
#define COAP_MAX_BLOCK 1024    /* the largest block RFC 7959 has (SZX 6) */

/* One block of a Block1 transfer as libcoap 4.3.1 sends it: Block1, and on every block Size1
 * (the body's size) and a 4-byte Request-Tag (RFC 9175). */
struct coap_block1 {
    uint32_t num, size1, request_tag;
    bool more;
    unsigned szx; /* block size 2^(szx + 4) */
};

/* Appends option `number` (after option `*last`) with len bytes of value; returns the new end,
 * or NULL when it does not fit before end. Values up to 268 bytes (a host id is at most 64). */
static inline uint8_t *coap_put_option(uint8_t *p, const uint8_t *end, unsigned *last,
                                       unsigned number, const void *value, size_t len)
{
    unsigned delta = number - *last;
    size_t need = 1 + (delta >= 13) + (len >= 13) + len;
    if (delta >= 269 || len >= 269 || need > (size_t)(end - p))
        return NULL;
    uint8_t *head = p++;
    *head = (uint8_t)((delta >= 13 ? 13 : delta) << 4 | (len >= 13 ? 13 : len));
    if (delta >= 13)
        *p++ = (uint8_t)(delta - 13);
    if (len >= 13)
        *p++ = (uint8_t)(len - 13);
    memcpy(p, value, len);
    *last = number;
    return p + len;
}

/* An unsigned option value in its shortest form (0 is no bytes). */
static inline uint8_t *coap_put_uint_option(uint8_t *p, const uint8_t *end, unsigned *last,
                                            unsigned number, uint32_t value)
{
    uint8_t v[4];
    size_t len = 0;
    for (int shift = 24; shift >= 0; shift -= 8)
        if (len > 0 || (value >> shift & 0xff) != 0)
            v[len++] = (uint8_t)(value >> shift);
    return coap_put_option(p, end, last, number, v, len);
}

/* Writes the header, token and options of a CON POST /t/<host>/metrics, Content-Format 112
 * (and block's options unless NULL), then the payload marker; returns its length (what
 * precedes the payload), or 0 when it does not fit size bytes. */
static inline size_t coap_post_metrics_header(uint8_t *out, size_t size, uint16_t mid,
                                              const uint8_t *token, size_t token_len,
                                              const char *host, const struct coap_block1 *block)
{
    const uint8_t *end = out + size;
    if (token_len > 8 || size < 4 + token_len)
        return 0;
    out[0] = (uint8_t)(1 << 6 | COAP_TYPE_CON << 4 | token_len);
    out[1] = COAP_CODE_POST;
    out[2] = (uint8_t)(mid >> 8);
    out[3] = (uint8_t)mid;
    memcpy(out + 4, token, token_len);
    uint8_t *p = out + 4 + token_len;
    unsigned last = 0;
    uint8_t format = COAP_FORMAT_SENML_CBOR;
    p = coap_put_option(p, end, &last, COAP_OPTION_URI_PATH, "t", 1);
    if (p != NULL)
        p = coap_put_option(p, end, &last, COAP_OPTION_URI_PATH, host, strlen(host));
    if (p != NULL)
        p = coap_put_option(p, end, &last, COAP_OPTION_URI_PATH, "metrics", 7);
    if (p != NULL)
        p = coap_put_option(p, end, &last, COAP_OPTION_CONTENT_FORMAT, &format, 1);
    if (p != NULL && block != NULL) {
        p = coap_put_uint_option(p, end, &last, COAP_OPTION_BLOCK1,
                                 block->num << 4 | (uint32_t)block->more << 3 | block->szx);
        if (p != NULL)
            p = coap_put_uint_option(p, end, &last, COAP_OPTION_SIZE1, block->size1);
        uint8_t tag[4] = {(uint8_t)(block->request_tag >> 24), (uint8_t)(block->request_tag >> 16),
                          (uint8_t)(block->request_tag >> 8), (uint8_t)block->request_tag};
        if (p != NULL)
            p = coap_put_option(p, end, &last, COAP_OPTION_REQUEST_TAG, tag, sizeof tag);
    }
    if (p == NULL || p == end)
        return 0;
    *p++ = 0xff;
    return (size_t)(p - out);
}

/* Writes an empty message (ACK or RST, no token) for mid into out[0..4). */
static inline void coap_empty(uint8_t out[4], int type, uint16_t mid)
{
    out[0] = (uint8_t)(1 << 6 | type << 4);
    out[1] = COAP_CODE_EMPTY;
    out[2] = (uint8_t)(mid >> 8);
    out[3] = (uint8_t)mid;
}

#endif
