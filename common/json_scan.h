/* Low-level JSON (RFC 8259) scanning of untrusted bytes: strings, numbers, literals and
 * skipping whole values, bounded in depth, over a cursor the caller owns. No allocation
 * beyond a temporary copy of very long numbers. Pure; thread-safe (no shared state). */
#ifndef UPDRAFT_COMMON_JSON_SCAN_H
#define UPDRAFT_COMMON_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#define JSON_SCAN_MAX_DEPTH 32 /* deepest container json_scan_skip accepts */

/* Why a json_scan_ function failed. */
enum json_scan_error {
    JSON_SCAN_ERROR_SYNTAX, /* not JSON (including running out of input) */
    JSON_SCAN_ERROR_RANGE,  /* a JSON number whose value is not a finite double */
    JSON_SCAN_ERROR_DEPTH,  /* containers nested deeper than JSON_SCAN_MAX_DEPTH */
    JSON_SCAN_ERROR_MEMORY, /* allocation failed */
};

/* A cursor over len bytes [start, end). The caller may read p and advance it over bytes it
 * has inspected (p <= end). On failure p is where scanning stopped, and error and reason (a
 * static string: "unexpected end of input" when the input ran out) say why. */
struct json_scan {
    const unsigned char *start, *p, *end;
    enum json_scan_error error;
    const char *reason;
};

/* A decoded string: bytes go to buf (when not NULL) up to cap, unterminated; len counts all
 * of them, last is the final byte (0 when empty), has_nul tells of a decoded U+0000. */
struct json_scan_str {
    char *buf;
    size_t cap;
    size_t len;
    unsigned char last;
    bool has_nul;
};

/* Points s at the len bytes of text (need not be NUL-terminated; NULL when len is 0). */
void json_scan_init(struct json_scan *s, const char *text, size_t len);

/* Skips JSON whitespace. */
void json_scan_ws(struct json_scan *s);

/* True when the next byte is c (not consumed). */
bool json_scan_peek(const struct json_scan *s, unsigned char c);

/* True when the next byte can start a JSON number ('-' or a digit) / any JSON value. */
bool json_scan_at_number(const struct json_scan *s);
bool json_scan_at_value(const struct json_scan *s);

/* Each reads one value at s->p and leaves p just past it. They return 0, or -EBADMSG
 * (SYNTAX, RANGE, DEPTH) or -ENOMEM (MEMORY) with s->error and s->reason set. */

/* The string at s->p (which must be an opening quote) into out; escapes are decoded,
 * surrogates paired, raw bytes must be well-formed UTF-8. */
int json_scan_string(struct json_scan *s, struct json_scan_str *out)
    __attribute__((warn_unused_result));

/* A number with exactly the RFC 8259 grammar, converted as strtod would (correctly rounded);
 * a value beyond the doubles is RANGE, with p back at the number's start. */
int json_scan_number(struct json_scan *s, double *out) __attribute__((warn_unused_result));

/* The literal word ("true", "false", "null"). */
int json_scan_literal(struct json_scan *s, const char *word) __attribute__((warn_unused_result));

/* Validates and skips any value found inside a container at nesting level depth (so a
 * container here is at depth + 1). */
int json_scan_skip(struct json_scan *s, int depth) __attribute__((warn_unused_result));

/* Length of the well-formed UTF-8 sequence at p (Unicode Table 3-7: no overlongs, no
 * surrogates, nothing above U+10FFFF), or 0. avail >= 1 bytes are readable at p. */
size_t json_scan_utf8_len(const unsigned char *p, size_t avail);

#endif
