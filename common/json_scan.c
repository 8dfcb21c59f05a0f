/* JSON scanner (see json_scan.h): strings, numbers and skipped values of untrusted bytes.
 * Pure; thread-safe (no shared state). strtod needs LC_NUMERIC "C": our programs never call
 * setlocale(). */
#include "common/json_scan.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define XSTR(x) #x
#define STR(x) XSTR(x)

static int scan_fail(struct json_scan *s, enum json_scan_error error, int code, const char *reason)
{
    s->error = error;
    s->reason = reason;
    return code;
}

/* Not JSON at s->p; running out of input is reported as such. */
static int scan_bad(struct json_scan *s, const char *reason)
{
    if (s->p >= s->end)
        reason = "unexpected end of input";
    return scan_fail(s, JSON_SCAN_ERROR_SYNTAX, -EBADMSG, reason);
}

void json_scan_init(struct json_scan *s, const char *text, size_t len)
{
    s->start = s->p = (const unsigned char *)(text != NULL ? text : "");
    s->end = s->start + len;
    s->error = JSON_SCAN_ERROR_SYNTAX;
    s->reason = "";
}

void json_scan_ws(struct json_scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

bool json_scan_peek(const struct json_scan *s, unsigned char c)
{
    return s->p < s->end && *s->p == c;
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

bool json_scan_at_number(const struct json_scan *s)
{
    return s->p < s->end && (*s->p == '-' || is_digit(*s->p));
}

bool json_scan_at_value(const struct json_scan *s)
{
    unsigned char c;

    if (s->p >= s->end)
        return false;
    c = *s->p;
    return c == '"' || c == '{' || c == '[' || c == 't' || c == 'f' || c == 'n' || c == '-' ||
           is_digit(c);
}

/* ---- strings --------------------------------------------------------------------------- */

size_t json_scan_utf8_len(const unsigned char *p, size_t avail)
{
    unsigned char c = p[0], lo = 0x80, hi = 0xbf;
    size_t n;

    if (c < 0x80)
        return 1;
    if (c < 0xc2 || c > 0xf4)
        return 0;
    n = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    if (avail < n)
        return 0;
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return n;
}

static size_t utf8_encode(uint32_t cp, unsigned char out[4])
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xc0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xe0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (unsigned char)(0xf0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

static void str_put(struct json_scan_str *out, const unsigned char *bytes, size_t n)
{
    if (n == 0)
        return;
    if (out->buf != NULL && out->len < out->cap)
        memcpy(out->buf + out->len, bytes, n < out->cap - out->len ? n : out->cap - out->len);
    out->len += n;
    out->last = bytes[n - 1];
}

/* Reads "\uXXXX" at p into *cp. */
static bool hex4(const struct json_scan *s, const unsigned char *p, uint32_t *cp)
{
    if (s->end - p < 6 || p[0] != '\\' || p[1] != 'u')
        return false;
    *cp = 0;
    for (int i = 2; i < 6; i++) {
        unsigned char c = p[i];
        unsigned digit = is_digit(c)              ? (unsigned)(c - '0')
                         : (c >= 'a' && c <= 'f') ? (unsigned)(c - 'a' + 10)
                         : (c >= 'A' && c <= 'F') ? (unsigned)(c - 'A' + 10)
                                                  : 16u;
        if (digit > 15)
            return false;
        *cp = *cp * 16 + digit;
    }
    return true;
}

static int escape_u(struct json_scan *s, struct json_scan_str *out)
{
    unsigned char utf8[4];
    uint32_t cp, low;

    if (!hex4(s, s->p, &cp))
        return scan_bad(s, "invalid \\u escape");
    if (cp >= 0xdc00 && cp <= 0xdfff)
        return scan_bad(s, "unpaired surrogate in \\u escape");
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (!hex4(s, s->p + 6, &low) || low < 0xdc00 || low > 0xdfff)
            return scan_bad(s, "unpaired surrogate in \\u escape");
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        s->p += 6;
    }
    s->p += 6;
    if (cp == 0)
        out->has_nul = true;
    str_put(out, utf8, utf8_encode(cp, utf8));
    return 0;
}

static int escape(struct json_scan *s, struct json_scan_str *out)
{
    static const char escapes[] = "\"\\/bfnrt", bytes[] = "\"\\/\b\f\n\r\t";
    const char *hit;

    if (s->end - s->p < 2) {
        s->p = s->end;
        return scan_bad(s, "");
    }
    if (s->p[1] == 'u')
        return escape_u(s, out);
    hit = s->p[1] != '\0' ? strchr(escapes, s->p[1]) : NULL;
    if (hit == NULL)
        return scan_bad(s, "invalid escape in string");
    s->p += 2;
    str_put(out, (const unsigned char *)&bytes[hit - escapes], 1);
    return 0;
}

int json_scan_string(struct json_scan *s, struct json_scan_str *out)
{
    out->len = 0;
    out->last = 0;
    out->has_nul = false;
    s->p++;
    for (;;) {
        const unsigned char *run = s->p;
        size_t n;
        int ret;

        while (s->p < s->end && *s->p >= 0x20 && *s->p < 0x80 && *s->p != '"' && *s->p != '\\')
            s->p++;
        str_put(out, run, (size_t)(s->p - run));
        if (s->p >= s->end)
            return scan_bad(s, "");
        if (*s->p == '"') {
            s->p++;
            return 0;
        }
        if (*s->p == '\\') {
            ret = escape(s, out);
            if (ret != 0)
                return ret;
            continue;
        }
        if (*s->p < 0x20)
            return scan_bad(s, "control character in string");
        n = json_scan_utf8_len(s->p, (size_t)(s->end - s->p));
        if (n == 0)
            return scan_bad(s, "invalid UTF-8 in string");
        str_put(out, s->p, n);
        s->p += n;
    }
}

/* ---- numbers --------------------------------------------------------------------------- */

/* Slow path for numbers the fast path cannot do exactly: strtod on a terminated copy. */
static int number_strtod(struct json_scan *s, const unsigned char *text, size_t len, double *out)
{
    char small[64];
    char *copy = small;

    if (len >= sizeof small) {
        copy = malloc(len + 1);
        if (copy == NULL)
            return scan_fail(s, JSON_SCAN_ERROR_MEMORY, -ENOMEM, "out of memory");
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    *out = strtod(copy, NULL);
    if (copy != small)
        free(copy);
    return 0;
}

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* A number as read: mantissa * 10^exp10 while digits <= 19 (significant digits seen). */
struct decimal {
    uint64_t mantissa;
    int digits;
    int64_t exp10;
    bool negative;
};

static void decimal_digit(struct decimal *d, unsigned char c, bool fraction)
{
    if (d->mantissa == 0 && c == '0') { /* leading zero: only the scale moves */
        d->exp10 -= fraction;
        return;
    }
    if (d->digits < 19) {
        d->mantissa = d->mantissa * 10 + (uint64_t)(c - '0');
        d->exp10 -= fraction;
    } else if (!fraction) {
        d->exp10++;
    }
    d->digits++;
}

/* Reads a number with exactly the RFC 8259 grammar into d. */
static int number_scan(struct json_scan *s, struct decimal *d)
{
    int64_t exponent = 0;
    bool exp_negative = false;

    if ((d->negative = json_scan_peek(s, '-')))
        s->p++;
    if (s->p >= s->end || !is_digit(*s->p))
        return scan_bad(s, "invalid number");
    if (*s->p == '0')
        s->p++;
    else
        for (; s->p < s->end && is_digit(*s->p); s->p++)
            decimal_digit(d, *s->p, false);
    if (s->p < s->end && is_digit(*s->p))
        return scan_bad(s, "invalid number (leading zero)");
    if (json_scan_peek(s, '.')) {
        s->p++;
        if (s->p >= s->end || !is_digit(*s->p))
            return scan_bad(s, "invalid number");
        for (; s->p < s->end && is_digit(*s->p); s->p++)
            decimal_digit(d, *s->p, true);
    }
    if (json_scan_peek(s, 'e') || json_scan_peek(s, 'E')) {
        s->p++;
        if (json_scan_peek(s, '+') || json_scan_peek(s, '-'))
            exp_negative = *s->p++ == '-';
        if (s->p >= s->end || !is_digit(*s->p))
            return scan_bad(s, "invalid number");
        for (; s->p < s->end && is_digit(*s->p); s->p++)
            if (exponent < 100000) /* beyond any double; keeps the sum from overflowing */
                exponent = exponent * 10 + (*s->p - '0');
        d->exp10 += exp_negative ? -exponent : exponent;
    }
    /* "0x10", "1.5.2", "12abc": say so rather than "expected ','". */
    if (s->p < s->end && (is_digit(*s->p) || *s->p == '.' || *s->p == '+' || *s->p == '-' ||
                          ((*s->p | 0x20) >= 'a' && (*s->p | 0x20) <= 'z')))
        return scan_bad(s, "invalid number");
    return 0;
}

/* Up to 19 significant digits with a small exponent are converted here, exactly (one
 * correctly rounded IEEE operation on exact operands: Clinger's fast path); anything else
 * goes to strtod. */
int json_scan_number(struct json_scan *s, double *out)
{
    const unsigned char *text = s->p;
    struct decimal d = {0};
    int ret;

    *out = 0;
    if ((ret = number_scan(s, &d)) != 0)
        return ret;
    if (d.mantissa == 0) {
        *out = d.negative ? -0.0 : 0.0;
    } else if (d.digits <= 19 && d.mantissa <= (UINT64_C(1) << 53) && d.exp10 >= -22 &&
               d.exp10 <= 22) {
        *out = d.exp10 < 0 ? (double)d.mantissa / pow10_exact[-d.exp10]
                           : (double)d.mantissa * pow10_exact[d.exp10];
        if (d.negative)
            *out = -*out;
    } else if ((ret = number_strtod(s, text, (size_t)(s->p - text), out)) != 0) {
        return ret;
    }
    if (!isfinite(*out)) {
        s->p = text;
        return scan_fail(s, JSON_SCAN_ERROR_RANGE, -EBADMSG, "number out of range");
    }
    return 0;
}

/* ---- literals and skipped values -------------------------------------------------------- */

int json_scan_literal(struct json_scan *s, const char *word)
{
    size_t len = strlen(word);

    if ((size_t)(s->end - s->p) < len || memcmp(s->p, word, len) != 0) {
        if ((size_t)(s->end - s->p) < len && memcmp(s->p, word, (size_t)(s->end - s->p)) == 0)
            s->p = s->end;
        return scan_bad(s, "invalid JSON value");
    }
    s->p += len;
    return 0;
}

/* Validates and skips the object or array at s->p, opened at nesting level depth. */
static int skip_container(struct json_scan *s, int depth)
{
    unsigned char close = *s->p == '{' ? '}' : ']';
    struct json_scan_str key = {0};
    int ret;

    if (depth > JSON_SCAN_MAX_DEPTH)
        return scan_fail(s, JSON_SCAN_ERROR_DEPTH, -EBADMSG,
                         "nesting deeper than " STR(JSON_SCAN_MAX_DEPTH) " levels");
    s->p++;
    json_scan_ws(s);
    if (json_scan_peek(s, close)) {
        s->p++;
        return 0;
    }
    for (;;) {
        if (close == '}') {
            if (!json_scan_peek(s, '"'))
                return scan_bad(s, "expected a string key");
            if ((ret = json_scan_string(s, &key)) != 0)
                return ret;
            json_scan_ws(s);
            if (!json_scan_peek(s, ':'))
                return scan_bad(s, "expected ':'");
            s->p++;
            json_scan_ws(s);
        }
        if ((ret = json_scan_skip(s, depth)) != 0)
            return ret;
        json_scan_ws(s);
        if (json_scan_peek(s, ',')) {
            s->p++;
            json_scan_ws(s);
        } else if (json_scan_peek(s, close)) {
            s->p++;
            return 0;
        } else {
            return scan_bad(s, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
}

int json_scan_skip(struct json_scan *s, int depth)
{
    struct json_scan_str str = {0};
    double number;

    if (s->p >= s->end)
        return scan_bad(s, "");
    switch (*s->p) {
    case '"':
        return json_scan_string(s, &str);
    case '{':
    case '[':
        return skip_container(s, depth + 1);
    case 't':
        return json_scan_literal(s, "true");
    case 'f':
        return json_scan_literal(s, "false");
    case 'n':
        return json_scan_literal(s, "null");
    default:
        if (json_scan_at_number(s))
            return json_scan_number(s, &number);
        return scan_bad(s, "invalid JSON value");
    }
}
