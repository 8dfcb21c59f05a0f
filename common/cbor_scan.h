/* Low-level CBOR (RFC 8949) reading of untrusted bytes: data item heads, definite-length
 * strings, floats and skipping whole items, bounded in depth, over a cursor the caller owns.
 * No allocation. Pure; thread-safe (no shared state). */
#ifndef UPDRAFT_COMMON_CBOR_SCAN_H
#define UPDRAFT_COMMON_CBOR_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CBOR_SCAN_MAX_DEPTH 32 /* deepest array or map cbor_scan_skip accepts */

enum cbor_major {
    CBOR_MAJOR_UINT = 0,
    CBOR_MAJOR_NEGINT = 1, /* value is -1 - arg */
    CBOR_MAJOR_BYTES = 2,
    CBOR_MAJOR_TEXT = 3,
    CBOR_MAJOR_ARRAY = 4,
    CBOR_MAJOR_MAP = 5,
    CBOR_MAJOR_TAG = 6,
    CBOR_MAJOR_SIMPLE = 7, /* false, true, null, undefined, simple values, floats, break */
};

/* Additional information values of major type 7 that the decoders look at. */
#define CBOR_SIMPLE_FALSE 20
#define CBOR_SIMPLE_TRUE 21
#define CBOR_FLOAT16 25
#define CBOR_FLOAT32 26
#define CBOR_FLOAT64 27
#define CBOR_BREAK 31

/* Why a cbor_scan_ function failed. */
enum cbor_scan_error {
    CBOR_SCAN_ERROR_SYNTAX, /* not well-formed CBOR, invalid UTF-8, or the input ran out */
    CBOR_SCAN_ERROR_DEPTH,  /* arrays/maps nested deeper than CBOR_SCAN_MAX_DEPTH */
};

/* A cursor over len bytes [start, end). The caller may advance p over bytes it has inspected
 * (p <= end). On failure p is where scanning stopped, and error and reason (a static string:
 * "unexpected end of input" when the input ran out) say why. */
struct cbor_scan {
    const uint8_t *start, *p, *end;
    enum cbor_scan_error error;
    const char *reason;
};

/* The head of one data item: major type, additional information (0..31) and argument. For
 * strings, arrays and maps arg is the length (items / pairs), unless indefinite. For floats
 * arg holds the raw bits. size is the number of bytes the head takes. */
struct cbor_head {
    enum cbor_major major;
    uint8_t info;
    bool indefinite;
    uint64_t arg;
    size_t size;
};

/* Points s at the len bytes of data (NULL when len is 0). */
void cbor_scan_init(struct cbor_scan *s, const void *data, size_t len);

/* Each returns 0, or -EBADMSG with s->error and s->reason set. */

/* Reads the head at s->p into *out without consuming it. Refuses reserved additional
 * information (28..30), indefinite lengths outside strings/arrays/maps, simple values below
 * 32 in two bytes, and lengths that cannot fit in what is left of the input (a string's bytes,
 * or at least one byte per array item and two per map pair). A break (0xff) is read as
 * major 7, info 31. */
int cbor_scan_peek(struct cbor_scan *s, struct cbor_head *out) __attribute__((warn_unused_result));

/* Consumes the definite-length text or byte string whose head h was just peeked: *bytes points
 * at its h->arg bytes inside the input. Text must be well-formed UTF-8. */
int cbor_scan_string(struct cbor_scan *s, const struct cbor_head *h, const uint8_t **bytes)
    __attribute__((warn_unused_result));

/* Validates and skips the whole data item at s->p (tags, indefinite lengths and all) found
 * inside a container at nesting level depth, so an array or map here is at depth + 1. Text,
 * also in chunks of indefinite-length strings, must be well-formed UTF-8. */
int cbor_scan_skip(struct cbor_scan *s, int depth) __attribute__((warn_unused_result));

/* True when the n bytes at p are well-formed UTF-8 (no overlongs, no surrogates, nothing above
 * U+10FFFF: json_scan_utf8_len's rules). */
bool cbor_scan_utf8_valid(const uint8_t *p, size_t n);

/* The value of an IEEE 754 half-precision float (RFC 8949 Appendix D), exactly. */
double cbor_half_to_double(uint16_t half);

/* The value of the float (info 25, 26 or 27) whose head h was peeked; h->arg holds its bits. */
double cbor_float_value(const struct cbor_head *h);

#endif
