/* SenML JSON codec (see senml_json.h): a single-pass, depth-bounded scanner of untrusted
 * bytes that resolves records as it reads them (no JSON library, no allocation beyond the
 * strings the pack owns), and the compact encoder. Pure; thread-safe (no shared state).
 * strtod/snprintf need LC_NUMERIC "C": our programs never call setlocale(). */
#include "common/senml_json.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 32                /* pack array = 1, record = 2, unknown values below */
#define SENML_MAX_SEQ 9007199254740992.0 /* 2^53: every integer up to it is exact */
#define RECORDS_INITIAL 16
#define XSTR(x) #x
#define STR(x) XSTR(x)

enum field_id {
    FIELD_UNKNOWN,
    FIELD_BN,
    FIELD_BT,
    FIELD_BU,
    FIELD_BV,
    FIELD_BS,
    FIELD_BVER,
    FIELD_N,
    FIELD_U,
    FIELD_V,
    FIELD_VS,
    FIELD_VB,
    FIELD_VD,
    FIELD_S,
    FIELD_T,
    FIELD_UT,
    FIELD_BID,
    FIELD_SQ,
    FIELD_COUNT
};

#define FIELD_BIT(id) (1u << (id))
#define BASE_FIELDS                                                                                \
    (FIELD_BIT(FIELD_BN) | FIELD_BIT(FIELD_BT) | FIELD_BIT(FIELD_BU) | FIELD_BIT(FIELD_BV) |       \
     FIELD_BIT(FIELD_BS) | FIELD_BIT(FIELD_BVER))
#define VALUE_FIELDS                                                                               \
    (FIELD_BIT(FIELD_V) | FIELD_BIT(FIELD_VS) | FIELD_BIT(FIELD_VB) | FIELD_BIT(FIELD_VD))
#define REGULAR_FIELDS                                                                             \
    (FIELD_BIT(FIELD_N) | FIELD_BIT(FIELD_U) | FIELD_BIT(FIELD_V) | FIELD_BIT(FIELD_VS) |          \
     FIELD_BIT(FIELD_VB) | FIELD_BIT(FIELD_VD) | FIELD_BIT(FIELD_S) | FIELD_BIT(FIELD_T) |         \
     FIELD_BIT(FIELD_UT))

struct parser {
    const unsigned char *start, *p, *end;
    int64_t now_ms;
    struct senml_error *err;
    long index;        /* array index of the record being read, -1 outside records */
    const char *field; /* key whose value is being read, "" when none */
    char scratch[SENML_MAX_STRING + 1];
};

/* Base fields in force (RFC 8428 §4.1): each applies from its record on. */
struct bases {
    char name[SENML_MAX_NAME + 1];
    size_t name_len;
    char *unit; /* owned; NULL when none */
    double time, value, sum;
    bool has_sum;
    double version;
};

/* What one record object said, before resolution. */
struct record_draft {
    uint32_t seen; /* FIELD_BIT per known field */
    char key[SENML_MAX_LABEL_KEY + 1];
    char name[SENML_MAX_NAME + 1];
    size_t name_len;
    double time, value, sum;
};

/* A decoded JSON string: bytes go to buf (when not NULL) up to cap; len counts them all. */
struct json_str {
    char *buf;
    size_t cap;
    size_t len;
    unsigned char last;
    bool has_nul;
};

/* ---- errors ---------------------------------------------------------------------------- */

/* The key came off the wire: keep error text printable and quote-free for logs. */
static void error_field_set(char *out, size_t out_size, const char *field)
{
    size_t i;

    for (i = 0; i < out_size - 1 && field[i] != '\0'; i++) {
        unsigned char c = (unsigned char)field[i];
        out[i] = (c < 0x20 || c > 0x7e || c == '"' || c == '\\') ? '?' : (char)c;
    }
    out[i] = '\0';
}

static int fail(struct parser *ps, enum senml_error_kind kind, int code, const char *reason)
{
    struct senml_error *err = ps->err;

    if (err != NULL) {
        err->kind = kind;
        err->index = ps->index;
        error_field_set(err->field, sizeof err->field, ps->field);
        snprintf(err->reason, sizeof err->reason, "%s", reason);
        err->offset = (size_t)(ps->p - ps->start);
    }
    return code;
}

/* Not JSON at ps->p; running out of input is reported as such. */
static int bad(struct parser *ps, const char *reason)
{
    if (ps->p >= ps->end)
        return fail(ps, SENML_ERROR_SYNTAX, -EBADMSG, "unexpected end of input");
    return fail(ps, SENML_ERROR_SYNTAX, -EBADMSG, reason);
}

/* JSON, but a record breaks RFC 8428 (or our reading of it). */
static int refuse(struct parser *ps, const char *reason)
{
    return fail(ps, SENML_ERROR_RECORD, -EBADMSG, reason);
}

static int too_big(struct parser *ps, const char *reason)
{
    return fail(ps, SENML_ERROR_LIMIT, -E2BIG, reason);
}

static int no_memory(struct parser *ps)
{
    return fail(ps, SENML_ERROR_LIMIT, -ENOMEM, "out of memory");
}

/* ---- JSON scanning (RFC 8259) ---------------------------------------------------------- */

static void skip_ws(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t'))
        ps->p++;
}

/* True when the next byte is c (not consumed). */
static bool peek(const struct parser *ps, unsigned char c)
{
    return ps->p < ps->end && *ps->p == c;
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Length of the well-formed UTF-8 sequence at p (Unicode Table 3-7: no overlongs, no
 * surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_sequence_len(const unsigned char *p, size_t avail)
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

static void str_put(struct json_str *s, const unsigned char *bytes, size_t n)
{
    if (n == 0)
        return;
    if (s->buf != NULL && s->len < s->cap)
        memcpy(s->buf + s->len, bytes, n < s->cap - s->len ? n : s->cap - s->len);
    s->len += n;
    s->last = bytes[n - 1];
}

/* Reads "\uXXXX" at p into *cp. */
static bool hex4(const struct parser *ps, const unsigned char *p, uint32_t *cp)
{
    if (ps->end - p < 6 || p[0] != '\\' || p[1] != 'u')
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

static int json_escape_u(struct parser *ps, struct json_str *s)
{
    unsigned char utf8[4];
    uint32_t cp, low;

    if (!hex4(ps, ps->p, &cp))
        return bad(ps, "invalid \\u escape");
    if (cp >= 0xdc00 && cp <= 0xdfff)
        return bad(ps, "unpaired surrogate in \\u escape");
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (!hex4(ps, ps->p + 6, &low) || low < 0xdc00 || low > 0xdfff)
            return bad(ps, "unpaired surrogate in \\u escape");
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        ps->p += 6;
    }
    ps->p += 6;
    if (cp == 0)
        s->has_nul = true;
    str_put(s, utf8, utf8_encode(cp, utf8));
    return 0;
}

static int json_escape(struct parser *ps, struct json_str *s)
{
    static const char escapes[] = "\"\\/bfnrt", bytes[] = "\"\\/\b\f\n\r\t";
    const char *hit;

    if (ps->end - ps->p < 2) {
        ps->p = ps->end;
        return bad(ps, "");
    }
    if (ps->p[1] == 'u')
        return json_escape_u(ps, s);
    hit = ps->p[1] != '\0' ? strchr(escapes, ps->p[1]) : NULL;
    if (hit == NULL)
        return bad(ps, "invalid escape in string");
    ps->p += 2;
    str_put(s, (const unsigned char *)&bytes[hit - escapes], 1);
    return 0;
}

/* Decodes the string at ps->p (an opening quote) into s. */
static int json_string(struct parser *ps, struct json_str *s)
{
    s->len = 0;
    s->last = 0;
    s->has_nul = false;
    ps->p++;
    for (;;) {
        const unsigned char *run = ps->p;
        size_t n;
        int ret;

        while (ps->p < ps->end && *ps->p >= 0x20 && *ps->p < 0x80 && *ps->p != '"' &&
               *ps->p != '\\')
            ps->p++;
        str_put(s, run, (size_t)(ps->p - run));
        if (ps->p >= ps->end)
            return bad(ps, "");
        if (*ps->p == '"') {
            ps->p++;
            return 0;
        }
        if (*ps->p == '\\') {
            ret = json_escape(ps, s);
            if (ret != 0)
                return ret;
            continue;
        }
        if (*ps->p < 0x20)
            return bad(ps, "control character in string");
        n = utf8_sequence_len(ps->p, (size_t)(ps->end - ps->p));
        if (n == 0)
            return bad(ps, "invalid UTF-8 in string");
        str_put(s, ps->p, n);
        ps->p += n;
    }
}

/* Slow path for numbers the fast path cannot do exactly: strtod on a terminated copy. */
static int number_strtod(struct parser *ps, const unsigned char *text, size_t len, double *out)
{
    char small[64];
    char *copy = small;

    if (len >= sizeof small) {
        copy = malloc(len + 1);
        if (copy == NULL)
            return no_memory(ps);
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
static int json_number_scan(struct parser *ps, struct decimal *d)
{
    int64_t exponent = 0;
    bool exp_negative = false;

    if ((d->negative = peek(ps, '-')))
        ps->p++;
    if (ps->p >= ps->end || !is_digit(*ps->p))
        return bad(ps, "invalid number");
    if (*ps->p == '0')
        ps->p++;
    else
        for (; ps->p < ps->end && is_digit(*ps->p); ps->p++)
            decimal_digit(d, *ps->p, false);
    if (ps->p < ps->end && is_digit(*ps->p))
        return bad(ps, "invalid number (leading zero)");
    if (peek(ps, '.')) {
        ps->p++;
        if (ps->p >= ps->end || !is_digit(*ps->p))
            return bad(ps, "invalid number");
        for (; ps->p < ps->end && is_digit(*ps->p); ps->p++)
            decimal_digit(d, *ps->p, true);
    }
    if (peek(ps, 'e') || peek(ps, 'E')) {
        ps->p++;
        if (peek(ps, '+') || peek(ps, '-'))
            exp_negative = *ps->p++ == '-';
        if (ps->p >= ps->end || !is_digit(*ps->p))
            return bad(ps, "invalid number");
        for (; ps->p < ps->end && is_digit(*ps->p); ps->p++)
            if (exponent < 100000) /* beyond any double; keeps the sum from overflowing */
                exponent = exponent * 10 + (*ps->p - '0');
        d->exp10 += exp_negative ? -exponent : exponent;
    }
    /* "0x10", "1.5.2", "12abc": say so rather than "expected ','". */
    if (ps->p < ps->end && (is_digit(*ps->p) || *ps->p == '.' || *ps->p == '+' || *ps->p == '-' ||
                            ((*ps->p | 0x20) >= 'a' && (*ps->p | 0x20) <= 'z')))
        return bad(ps, "invalid number");
    return 0;
}

/* Reads a number. Up to 19 significant digits with a small exponent are converted here,
 * exactly (one correctly rounded IEEE operation on exact operands: Clinger's fast path);
 * anything else goes to strtod. Non-finite results are refused. */
static int json_number(struct parser *ps, double *out)
{
    const unsigned char *text = ps->p;
    struct decimal d = {0};
    int ret;

    *out = 0;
    if ((ret = json_number_scan(ps, &d)) != 0)
        return ret;
    if (d.mantissa == 0) {
        *out = d.negative ? -0.0 : 0.0;
    } else if (d.digits <= 19 && d.mantissa <= (UINT64_C(1) << 53) && d.exp10 >= -22 &&
               d.exp10 <= 22) {
        *out = d.exp10 < 0 ? (double)d.mantissa / pow10_exact[-d.exp10]
                           : (double)d.mantissa * pow10_exact[d.exp10];
        if (d.negative)
            *out = -*out;
    } else if ((ret = number_strtod(ps, text, (size_t)(ps->p - text), out)) != 0) {
        return ret;
    }
    if (!isfinite(*out)) {
        ps->p = text;
        return refuse(ps, "number out of range");
    }
    return 0;
}

static int json_literal(struct parser *ps, const char *word)
{
    size_t len = strlen(word);

    if ((size_t)(ps->end - ps->p) < len || memcmp(ps->p, word, len) != 0) {
        if ((size_t)(ps->end - ps->p) < len && memcmp(ps->p, word, (size_t)(ps->end - ps->p)) == 0)
            ps->p = ps->end;
        return bad(ps, "invalid JSON value");
    }
    ps->p += len;
    return 0;
}

static int json_skip(struct parser *ps, int depth);

/* Validates and skips the object or array at ps->p, opened at nesting level depth. */
static int json_skip_container(struct parser *ps, int depth)
{
    unsigned char close = *ps->p == '{' ? '}' : ']';
    struct json_str key = {0};
    int ret;

    if (depth > JSON_MAX_DEPTH)
        return fail(ps, SENML_ERROR_LIMIT, -EBADMSG,
                    "nesting deeper than " STR(JSON_MAX_DEPTH) " levels");
    ps->p++;
    skip_ws(ps);
    if (peek(ps, close)) {
        ps->p++;
        return 0;
    }
    for (;;) {
        if (close == '}') {
            if (!peek(ps, '"'))
                return bad(ps, "expected a string key");
            if ((ret = json_string(ps, &key)) != 0)
                return ret;
            skip_ws(ps);
            if (!peek(ps, ':'))
                return bad(ps, "expected ':'");
            ps->p++;
            skip_ws(ps);
        }
        if ((ret = json_skip(ps, depth)) != 0)
            return ret;
        skip_ws(ps);
        if (peek(ps, ',')) {
            ps->p++;
            skip_ws(ps);
        } else if (peek(ps, close)) {
            ps->p++;
            return 0;
        } else {
            return bad(ps, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
}

/* Validates and skips any JSON value inside a container at nesting level depth. */
static int json_skip(struct parser *ps, int depth)
{
    struct json_str s = {0};
    double number;

    if (ps->p >= ps->end)
        return bad(ps, "");
    switch (*ps->p) {
    case '"':
        return json_string(ps, &s);
    case '{':
    case '[':
        return json_skip_container(ps, depth + 1);
    case 't':
        return json_literal(ps, "true");
    case 'f':
        return json_literal(ps, "false");
    case 'n':
        return json_literal(ps, "null");
    default:
        if (*ps->p == '-' || is_digit(*ps->p))
            return json_number(ps, &number);
        return bad(ps, "invalid JSON value");
    }
}

static bool json_value_start(unsigned char c)
{
    return c == '"' || c == '{' || c == '[' || c == 't' || c == 'f' || c == 'n' || c == '-' ||
           is_digit(c);
}

/* A field's value is JSON of the wrong type, or not JSON at all. */
static int wrong_type(struct parser *ps, const char *reason)
{
    if (ps->p < ps->end && json_value_start(*ps->p))
        return refuse(ps, reason);
    return bad(ps, reason);
}

/* Something other than the array of objects a pack is: a STRUCTURE error when ps->p holds a
 * well-formed JSON value (making up the whole input at depth 0), else a SYNTAX one. Only on
 * the error path, so validating the value a second time costs nothing that matters. */
static int not_a_pack(struct parser *ps, int depth, const char *reason)
{
    struct parser probe = *ps;
    bool value;

    probe.err = NULL;
    value = json_skip(&probe, depth) == 0;
    if (value && depth == 0) {
        skip_ws(&probe);
        value = probe.p == probe.end;
    }
    if (value)
        return fail(ps, SENML_ERROR_STRUCTURE, -EBADMSG, reason);
    if (depth == 0)
        return fail(ps, SENML_ERROR_SYNTAX, -EBADMSG, reason);
    return bad(ps, reason);
}

/* ---- typed field values ---------------------------------------------------------------- */

static int field_number(struct parser *ps, double *out)
{
    if (ps->p < ps->end && (*ps->p == '-' || is_digit(*ps->p)))
        return json_number(ps, out);
    return wrong_type(ps, "expected a number");
}

/* Decodes a string value of at most max bytes into buf (max + 1 bytes, terminated). */
static int field_string_into(struct parser *ps, char *buf, size_t max, size_t *len)
{
    struct json_str s = {.buf = buf, .cap = max};
    int ret;

    if (!peek(ps, '"'))
        return wrong_type(ps, "expected a string");
    if ((ret = json_string(ps, &s)) != 0)
        return ret;
    if (s.len > max)
        return too_big(ps, max == SENML_MAX_NAME
                               ? "string longer than " STR(SENML_MAX_NAME) " bytes"
                               : "string longer than " STR(SENML_MAX_STRING) " bytes");
    if (s.has_nul)
        return refuse(ps, "string contains U+0000");
    buf[s.len] = '\0';
    *len = s.len;
    return 0;
}

/* Decodes a string value (at most SENML_MAX_STRING bytes) into an owned copy; "" gives
 * NULL when empty_is_null. */
static int field_string_dup(struct parser *ps, bool empty_is_null, char **out, size_t *out_len)
{
    size_t len = 0;
    int ret = field_string_into(ps, ps->scratch, SENML_MAX_STRING, &len);

    if (ret != 0)
        return ret;
    if (out_len != NULL)
        *out_len = len;
    if (len == 0 && empty_is_null) {
        *out = NULL;
        return 0;
    }
    *out = malloc(len + 1);
    if (*out == NULL)
        return no_memory(ps);
    memcpy(*out, ps->scratch, len + 1);
    return 0;
}

static bool base64url_valid(const char *text, size_t len)
{
    if (len % 4 == 1)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit((unsigned char)c) ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

/* ---- records --------------------------------------------------------------------------- */

static void record_clear(struct senml_record *rec)
{
    free(rec->name);
    free(rec->unit);
    free(rec->string);
    for (size_t i = 0; i < rec->label_count; i++) {
        free(rec->labels[i].key);
        free(rec->labels[i].value);
    }
    memset(rec, 0, sizeof *rec);
}

/* Keys of at most 4 bytes packed into an integer, so one switch finds the field. */
#define KEY4(a, b, c, d)                                                                           \
    ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)

static enum field_id field_lookup(const char *key, size_t len)
{
    uint32_t packed = 0;

    if (len == 0 || len > 4)
        return FIELD_UNKNOWN;
    for (size_t i = 0; i < len; i++)
        packed |= (uint32_t)(unsigned char)key[i] << (8 * i);
    switch (packed) {
    case KEY4('b', 'n', 0, 0):
        return FIELD_BN;
    case KEY4('b', 't', 0, 0):
        return FIELD_BT;
    case KEY4('b', 'u', 0, 0):
        return FIELD_BU;
    case KEY4('b', 'v', 0, 0):
        return FIELD_BV;
    case KEY4('b', 's', 0, 0):
        return FIELD_BS;
    case KEY4('b', 'v', 'e', 'r'):
        return FIELD_BVER;
    case KEY4('n', 0, 0, 0):
        return FIELD_N;
    case KEY4('u', 0, 0, 0):
        return FIELD_U;
    case KEY4('v', 0, 0, 0):
        return FIELD_V;
    case KEY4('v', 's', 0, 0):
        return FIELD_VS;
    case KEY4('v', 'b', 0, 0):
        return FIELD_VB;
    case KEY4('v', 'd', 0, 0):
        return FIELD_VD;
    case KEY4('s', 0, 0, 0):
        return FIELD_S;
    case KEY4('t', 0, 0, 0):
        return FIELD_T;
    case KEY4('u', 't', 0, 0):
        return FIELD_UT;
    case KEY4('b', 'i', 'd', 0):
        return FIELD_BID; /* SENML_FIELD_BOOT_ID */
    case KEY4('s', 'q', 0, 0):
        return FIELD_SQ; /* SENML_FIELD_SEQ */
    default:
        return FIELD_UNKNOWN;
    }
}

static int field_version(struct parser *ps, struct bases *bases)
{
    char reason[64];
    double version = 0;
    int ret = field_number(ps, &version);

    if (ret != 0)
        return ret;
    if (version < 1 || version != floor(version))
        return refuse(ps, "expected a positive integer");
    if (version > SENML_VERSION) {
        snprintf(reason, sizeof reason, "version %.0f is newer than " STR(SENML_VERSION), version);
        return refuse(ps, reason);
    }
    /* §4.4: all records of a pack have the same version (the first sets it, default 10). */
    if (ps->index > 0 && version != bases->version) {
        snprintf(reason, sizeof reason, "version differs from the pack's (%.0f)", bases->version);
        return refuse(ps, reason);
    }
    bases->version = version;
    return 0;
}

static int field_seq(struct parser *ps, struct senml_pack *pack)
{
    double seq = 0;
    int ret = field_number(ps, &seq);

    if (ret != 0)
        return ret;
    if (seq < 0 || seq > SENML_MAX_SEQ || seq != floor(seq))
        return refuse(ps, "expected an integer from 0 to 2^53");
    if (!pack->has_seq) {
        pack->has_seq = true;
        pack->seq = (uint64_t)seq;
    }
    return 0;
}

static int field_boot_id(struct parser *ps, struct senml_pack *pack)
{
    char *boot_id;
    int ret = field_string_dup(ps, false, &boot_id, NULL);

    if (ret != 0)
        return ret;
    if (pack->boot_id == NULL)
        pack->boot_id = boot_id;
    else
        free(boot_id);
    return 0;
}

static int field_bool(struct parser *ps, bool *out)
{
    if (peek(ps, 't')) {
        *out = true;
        return json_literal(ps, "true");
    }
    if (peek(ps, 'f')) {
        *out = false;
        return json_literal(ps, "false");
    }
    return wrong_type(ps, "expected true or false");
}

static int field_base_unit(struct parser *ps, struct bases *bases)
{
    char *unit;
    int ret = field_string_dup(ps, true, &unit, NULL);

    if (ret != 0)
        return ret;
    free(bases->unit);
    bases->unit = unit;
    return 0;
}

/* vs / vd: the string is kept on the record as received. */
static int field_string_value(struct parser *ps, struct senml_record *rec, enum field_id id)
{
    size_t len;
    int ret = field_string_dup(ps, false, &rec->string, &len);

    if (ret != 0)
        return ret;
    rec->kind = id == FIELD_VS ? SENML_KIND_STRING : SENML_KIND_DATA;
    if (id == FIELD_VD && !base64url_valid(rec->string, len))
        return refuse(ps, "expected unpadded base64url");
    return 0;
}

static int field_known(struct parser *ps, struct bases *bases, struct senml_pack *pack,
                       struct senml_record *rec, struct record_draft *d, enum field_id id)
{
    if (d->seen & FIELD_BIT(id))
        return refuse(ps, "duplicate field");
    if ((VALUE_FIELDS & FIELD_BIT(id)) && (d->seen & VALUE_FIELDS))
        return refuse(ps, "more than one value field");
    d->seen |= FIELD_BIT(id);
    switch (id) {
    case FIELD_BN:
        return field_string_into(ps, bases->name, SENML_MAX_NAME, &bases->name_len);
    case FIELD_BT:
        return field_number(ps, &bases->time);
    case FIELD_BU:
        return field_base_unit(ps, bases);
    case FIELD_BV:
        return field_number(ps, &bases->value);
    case FIELD_BS:
        bases->has_sum = true;
        return field_number(ps, &bases->sum);
    case FIELD_BVER:
        return field_version(ps, bases);
    case FIELD_N:
        return field_string_into(ps, d->name, SENML_MAX_NAME, &d->name_len);
    case FIELD_U:
        return field_string_dup(ps, true, &rec->unit, NULL);
    case FIELD_V:
        rec->kind = SENML_KIND_NUMBER;
        return field_number(ps, &d->value);
    case FIELD_VS:
    case FIELD_VD:
        return field_string_value(ps, rec, id);
    case FIELD_VB:
        rec->kind = SENML_KIND_BOOL;
        return field_bool(ps, &rec->boolean);
    case FIELD_S:
        return field_number(ps, &d->sum);
    case FIELD_T:
        return field_number(ps, &d->time);
    case FIELD_UT:
        rec->has_update_time = true;
        return field_number(ps, &rec->update_time_s);
    case FIELD_BID:
        return field_boot_id(ps, pack);
    case FIELD_SQ:
        return field_seq(ps, pack);
    case FIELD_UNKNOWN:
    case FIELD_COUNT:
        break;
    }
    return refuse(ps, "unknown field");
}

/* An unknown string field becomes a label; other unknown values are validated and skipped.
 * Duplicates are caught among labels; a skipped non-string value is not remembered. */
static int field_label(struct parser *ps, struct senml_record *rec, const char *key, size_t key_len)
{
    struct senml_label *label;
    int ret;

    if (!peek(ps, '"') || key_len == 0)
        return json_skip(ps, 2);
    if (key_len > SENML_MAX_LABEL_KEY)
        return too_big(ps, "label key longer than " STR(SENML_MAX_LABEL_KEY) " bytes");
    for (size_t i = 0; i < rec->label_count; i++)
        if (strcmp(rec->labels[i].key, key) == 0)
            return refuse(ps, "duplicate field");
    if (rec->label_count >= SENML_MAX_LABELS)
        return too_big(ps, "more than " STR(SENML_MAX_LABELS) " labels");
    label = &rec->labels[rec->label_count];
    if ((ret = field_string_dup(ps, false, &label->value, NULL)) != 0)
        return ret;
    label->key = strdup(key);
    if (label->key == NULL) {
        free(label->value);
        label->value = NULL;
        return no_memory(ps);
    }
    rec->label_count++;
    return 0;
}

/* Reads one "key": value member of a record object. */
static int record_member(struct parser *ps, struct bases *bases, struct senml_pack *pack,
                         struct senml_record *rec, struct record_draft *d)
{
    struct json_str key = {.buf = d->key, .cap = SENML_MAX_LABEL_KEY};
    enum field_id id = FIELD_UNKNOWN;
    int ret;

    ps->field = "";
    if (!peek(ps, '"'))
        return bad(ps, "expected a string key");
    if ((ret = json_string(ps, &key)) != 0)
        return ret;
    d->key[key.len < key.cap ? key.len : key.cap] = '\0';
    ps->field = d->key;
    if (key.has_nul)
        return refuse(ps, "field name contains U+0000");
    skip_ws(ps);
    if (!peek(ps, ':'))
        return bad(ps, "expected ':'");
    ps->p++;
    skip_ws(ps);
    if (key.last == '_')
        return refuse(ps, "must-understand field not supported");
    if (key.len <= key.cap)
        id = field_lookup(d->key, key.len);
    ret = id == FIELD_UNKNOWN ? field_label(ps, rec, d->key, key.len)
                              : field_known(ps, bases, pack, rec, d, id);
    if (ret == 0)
        ps->field = "";
    return ret;
}

static int record_name(struct parser *ps, const struct bases *bases, struct senml_record *rec,
                       const struct record_draft *d)
{
    size_t len = bases->name_len + d->name_len;

    ps->field = d->seen & FIELD_BIT(FIELD_N) ? "n" : "bn";
    if (len > SENML_MAX_NAME)
        return too_big(ps, "name longer than " STR(SENML_MAX_NAME) " bytes");
    if (len == 0)
        return refuse(ps, "empty name");
    rec->name = malloc(len + 1);
    if (rec->name == NULL)
        return no_memory(ps);
    memcpy(rec->name, bases->name, bases->name_len);
    memcpy(rec->name + bases->name_len, d->name, d->name_len);
    rec->name[len] = '\0';
    if (!senml_name_valid(rec->name, len)) {
        if (!senml_name_valid(rec->name, 1))
            return refuse(ps, "name must start with a letter or digit");
        return refuse(ps, "invalid character in name");
    }
    ps->field = "";
    return 0;
}

/* Applies the bases in force (RFC 8428 §4.6) to the record read into rec and d. */
static int record_resolve(struct parser *ps, const struct bases *bases, struct senml_record *rec,
                          const struct record_draft *d)
{
    int ret;

    if (!(d->seen & (VALUE_FIELDS | FIELD_BIT(FIELD_S))))
        return refuse(ps, "record has no value and no sum");
    if ((ret = record_name(ps, bases, rec, d)) != 0)
        return ret;
    rec->time_s = bases->time + d->time;
    if (rec->time_s < SENML_RELATIVE_LIMIT_S)
        rec->time_s += (double)ps->now_ms / 1000.0;
    /* x + 0 would turn -0 into +0: add a base only when there is one. */
    if (rec->kind == SENML_KIND_NUMBER)
        rec->value = bases->value != 0 ? bases->value + d->value : d->value;
    if (bases->has_sum || (d->seen & FIELD_BIT(FIELD_S))) {
        rec->has_sum = true;
        rec->sum = bases->sum != 0 ? bases->sum + d->sum : d->sum;
    }
    /* Each part is finite; their sum can still overflow. */
    ps->field = !isfinite(rec->time_s)  ? "t"
                : !isfinite(rec->value) ? "v"
                : !isfinite(rec->sum)   ? "s"
                                        : "";
    if (ps->field[0] != '\0')
        return refuse(ps, "out of range after adding the base field");
    if (!(d->seen & FIELD_BIT(FIELD_U)) && bases->unit != NULL) {
        rec->unit = strdup(bases->unit);
        if (rec->unit == NULL)
            return no_memory(ps);
    }
    return 0;
}

/* Reads the record object at ps->p into the next slot of pack->records (room reserved).
 * A record with only base fields (RFC 8428 §5.1.7) sets bases and yields no record. */
static int record_parse(struct parser *ps, struct bases *bases, struct senml_pack *pack)
{
    struct senml_record *rec = &pack->records[pack->count];
    struct record_draft d;
    int ret = 0;

    memset(rec, 0, sizeof *rec);
    d.seen = 0;
    d.name_len = 0;
    d.time = d.value = d.sum = 0;
    ps->p++;
    skip_ws(ps);
    if (peek(ps, '}')) {
        ps->p++;
    } else {
        for (;;) {
            if ((ret = record_member(ps, bases, pack, rec, &d)) != 0)
                goto out;
            skip_ws(ps);
            if (!peek(ps, ','))
                break;
            ps->p++;
            skip_ws(ps);
        }
        if (!peek(ps, '}')) {
            ret = bad(ps, "expected ',' or '}'");
            goto out;
        }
        ps->p++;
    }
    if ((d.seen & BASE_FIELDS) && !(d.seen & REGULAR_FIELDS))
        goto out; /* base fields only */
    ret = record_resolve(ps, bases, rec, &d);
    if (ret == 0) {
        pack->count++;
        return 0;
    }
out:
    record_clear(rec);
    return ret;
}

static int records_reserve(struct parser *ps, struct senml_pack *pack, size_t *cap)
{
    struct senml_record *records;
    size_t new_cap;

    if (pack->records != NULL && pack->count < *cap)
        return 0;
    new_cap = *cap == 0 ? RECORDS_INITIAL : *cap * 2;
    if (new_cap > SENML_MAX_RECORDS)
        new_cap = SENML_MAX_RECORDS;
    records = realloc(pack->records, new_cap * sizeof *records);
    if (records == NULL)
        return no_memory(ps);
    pack->records = records;
    *cap = new_cap;
    return 0;
}

/* Reads the array's records; ps->p is just past '['. */
static int pack_records(struct parser *ps, struct bases *bases, struct senml_pack *pack)
{
    size_t cap = 0;
    int ret;

    skip_ws(ps);
    if (peek(ps, ']')) {
        ps->p++;
        return 0;
    }
    for (long index = 0;; index++) {
        if (index >= SENML_MAX_RECORDS)
            return too_big(ps, "more than " STR(SENML_MAX_RECORDS) " records");
        ps->index = index;
        if (!peek(ps, '{'))
            return not_a_pack(ps, 1, "expected a record object");
        if ((ret = records_reserve(ps, pack, &cap)) != 0)
            return ret;
        if ((ret = record_parse(ps, bases, pack)) != 0)
            return ret;
        ps->index = -1;
        skip_ws(ps);
        if (peek(ps, ']')) {
            ps->p++;
            return 0;
        }
        if (!peek(ps, ','))
            return bad(ps, "expected ',' or ']'");
        ps->p++;
        skip_ws(ps);
    }
}

int senml_json_decode(const char *json, size_t len, int64_t now_ms, struct senml_pack **out,
                      struct senml_error *err)
{
    struct parser ps;
    struct bases bases;
    struct senml_pack *pack = NULL;
    int ret;

    assert(out != NULL && (json != NULL || len == 0));
    ps.start = ps.p = (const unsigned char *)(json != NULL ? json : "");
    ps.end = ps.start + len;
    ps.now_ms = now_ms;
    ps.err = err;
    ps.index = -1;
    ps.field = "";
    memset(&bases, 0, sizeof bases);
    bases.version = SENML_VERSION;
    if (err != NULL)
        memset(err, 0, sizeof *err);

    pack = calloc(1, sizeof *pack);
    if (pack == NULL) {
        ret = no_memory(&ps);
        goto out;
    }
    skip_ws(&ps);
    if (!peek(&ps, '[')) {
        ret = not_a_pack(&ps, 0, "expected a JSON array of records");
        goto out;
    }
    ps.p++;
    if ((ret = pack_records(&ps, &bases, pack)) != 0)
        goto out;
    skip_ws(&ps);
    if (ps.p != ps.end) {
        ret = bad(&ps, "unexpected data after the pack");
        goto out;
    }
    *out = pack;
    pack = NULL;
out:
    free(bases.unit);
    senml_pack_free(pack);
    return ret;
}

/* ---- encoder --------------------------------------------------------------------------- */

void senml_buf_free(struct senml_buf *buf)
{
    if (buf == NULL)
        return;
    free(buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
}

/* Appends n bytes, keeping data NUL-terminated. */
static int buf_put(struct senml_buf *buf, const void *bytes, size_t n)
{
    if (n >= SIZE_MAX - buf->len)
        return -ENOMEM;
    if (buf->len + n + 1 > buf->cap) {
        size_t cap = buf->cap != 0 ? buf->cap : 256;
        char *data;

        while (cap < buf->len + n + 1)
            cap = cap > SIZE_MAX / 2 ? buf->len + n + 1 : cap * 2;
        data = realloc(buf->data, cap);
        if (data == NULL)
            return -ENOMEM;
        buf->data = data;
        buf->cap = cap;
    }
    memcpy(buf->data + buf->len, bytes, n);
    buf->len += n;
    buf->data[buf->len] = '\0';
    return 0;
}

static int put_text(struct senml_buf *buf, const char *text)
{
    return buf_put(buf, text, strlen(text));
}

/* Writes a JSON string; -EINVAL when text is not valid UTF-8 (the decoder would refuse it). */
static int put_string(struct senml_buf *buf, const char *text)
{
    const unsigned char *p = (const unsigned char *)text, *end = p + strlen(text);
    int ret = buf_put(buf, "\"", 1);

    while (ret == 0 && p < end) {
        const unsigned char *run = p;
        char escaped[8];

        while (p < end && *p >= 0x20 && *p != '"' && *p != '\\' && *p < 0x80)
            p++;
        if ((ret = buf_put(buf, run, (size_t)(p - run))) != 0 || p == end)
            break;
        if (*p >= 0x80) {
            size_t n = utf8_sequence_len(p, (size_t)(end - p));
            if (n == 0)
                return -EINVAL;
            ret = buf_put(buf, p, n);
            p += n;
            continue;
        }
        if (*p == '"' || *p == '\\')
            snprintf(escaped, sizeof escaped, "\\%c", *p);
        else
            snprintf(escaped, sizeof escaped, "\\u%04x", *p);
        ret = put_text(buf, escaped);
        p++;
    }
    return ret != 0 ? ret : buf_put(buf, "\"", 1);
}

/* Shortest of %.15g, %.16g, %.17g that reads back as the same double. */
static int put_number(struct senml_buf *buf, double value)
{
    char text[40];
    int len = 0;

    if (!isfinite(value))
        return -EINVAL;
    for (int precision = 15; precision <= 17; precision++) {
        len = snprintf(text, sizeof text, "%.*g", precision, value);
        if (strtod(text, NULL) == value)
            break;
    }
    return buf_put(buf, text, (size_t)len);
}

/* Writes the member key with the separator it needs. */
static int put_key(struct senml_buf *buf, bool *first, const char *key)
{
    int ret = *first ? 0 : buf_put(buf, ",", 1);

    *first = false;
    if (ret == 0)
        ret = put_string(buf, key);
    return ret != 0 ? ret : buf_put(buf, ":", 1);
}

static bool label_key_valid(const char *key)
{
    size_t len = key != NULL ? strlen(key) : 0;

    if (len == 0 || len > SENML_MAX_LABEL_KEY || key[len - 1] == '_')
        return false;
    return field_lookup(key, len) == FIELD_UNKNOWN;
}

/* Refuses what the decoder could not read back as the same record. */
static int record_check(const struct senml_record *rec, const char *base_name, size_t base_len)
{
    if (rec->name == NULL || strncmp(rec->name, base_name, base_len) != 0 ||
        !senml_name_valid(rec->name, strlen(rec->name)))
        return -EINVAL;
    if (!isfinite(rec->time_s) || (rec->kind == SENML_KIND_NUMBER && !isfinite(rec->value)) ||
        (rec->has_sum && !isfinite(rec->sum)) ||
        (rec->has_update_time && !isfinite(rec->update_time_s)))
        return -EINVAL;
    if ((rec->kind == SENML_KIND_NONE && !rec->has_sum) || rec->label_count > SENML_MAX_LABELS)
        return -EINVAL;
    if ((rec->kind == SENML_KIND_STRING || rec->kind == SENML_KIND_DATA) && rec->string == NULL)
        return -EINVAL;
    for (size_t i = 0; i < rec->label_count; i++)
        if (!label_key_valid(rec->labels[i].key) || rec->labels[i].value == NULL)
            return -EINVAL;
    return 0;
}

static int put_value(struct senml_buf *buf, bool *first, const struct senml_record *rec)
{
    int ret = 0;

    switch (rec->kind) {
    case SENML_KIND_NONE:
        break;
    case SENML_KIND_NUMBER:
        if ((ret = put_key(buf, first, "v")) == 0)
            ret = put_number(buf, rec->value);
        break;
    case SENML_KIND_STRING:
    case SENML_KIND_DATA:
        if ((ret = put_key(buf, first, rec->kind == SENML_KIND_STRING ? "vs" : "vd")) == 0)
            ret = put_string(buf, rec->string);
        break;
    case SENML_KIND_BOOL:
        if ((ret = put_key(buf, first, "vb")) == 0)
            ret = put_text(buf, rec->boolean ? "true" : "false");
        break;
    }
    if (ret == 0 && rec->has_sum && (ret = put_key(buf, first, "s")) == 0)
        ret = put_number(buf, rec->sum);
    if (ret == 0 && rec->has_update_time && (ret = put_key(buf, first, "ut")) == 0)
        ret = put_number(buf, rec->update_time_s);
    return ret;
}

/* Record i > 0 carries t relative to the base time in force. When bt + t would not give the
 * time back exactly (far-apart times), the record carries a new bt instead. */
static int put_time(struct senml_buf *buf, bool *first, const struct senml_record *rec,
                    double *base_time)
{
    double offset = rec->time_s - *base_time;
    int ret;

    if (rec->time_s == *base_time)
        return 0;
    if (isfinite(offset) && *base_time + offset == rec->time_s) {
        if ((ret = put_key(buf, first, "t")) != 0)
            return ret;
        return put_number(buf, offset);
    }
    *base_time = rec->time_s;
    if ((ret = put_key(buf, first, "bt")) != 0)
        return ret;
    return put_number(buf, rec->time_s);
}

static int put_pack_fields(struct senml_buf *buf, bool *first, const struct senml_pack *pack)
{
    char seq[24];
    int ret = 0;

    if (pack->boot_id != NULL && (ret = put_key(buf, first, SENML_FIELD_BOOT_ID)) == 0)
        ret = put_string(buf, pack->boot_id);
    if (ret == 0 && pack->has_seq) {
        if (pack->seq > (uint64_t)SENML_MAX_SEQ)
            return -EINVAL;
        snprintf(seq, sizeof seq, "%" PRIu64, pack->seq);
        if ((ret = put_key(buf, first, SENML_FIELD_SEQ)) == 0)
            ret = put_text(buf, seq);
    }
    return ret;
}

static int put_record(struct senml_buf *buf, const struct senml_pack *pack, size_t i,
                      const char *base_name, double *base_time)
{
    const struct senml_record *rec = &pack->records[i];
    size_t base_len = strlen(base_name);
    bool first = true;
    int ret = record_check(rec, base_name, base_len);

    if (ret == 0)
        ret = buf_put(buf, "{", 1);
    if (ret == 0 && i == 0) {
        if (base_len > 0 && (ret = put_key(buf, &first, "bn")) == 0)
            ret = put_string(buf, base_name);
        if (ret == 0 && (ret = put_key(buf, &first, "bt")) == 0)
            ret = put_number(buf, rec->time_s);
        *base_time = rec->time_s;
    }
    if (ret == 0 && rec->name[base_len] != '\0' && (ret = put_key(buf, &first, "n")) == 0)
        ret = put_string(buf, rec->name + base_len);
    if (ret == 0 && rec->unit != NULL && (ret = put_key(buf, &first, "u")) == 0)
        ret = put_string(buf, rec->unit);
    if (ret == 0)
        ret = put_value(buf, &first, rec);
    if (ret == 0 && i > 0)
        ret = put_time(buf, &first, rec, base_time);
    for (size_t j = 0; ret == 0 && j < rec->label_count; j++)
        if ((ret = put_key(buf, &first, rec->labels[j].key)) == 0)
            ret = put_string(buf, rec->labels[j].value);
    if (ret == 0 && i == 0)
        ret = put_pack_fields(buf, &first, pack);
    return ret != 0 ? ret : buf_put(buf, "}", 1);
}

int senml_json_encode(const struct senml_pack *pack, const char *base_name, struct senml_buf *buf)
{
    size_t start_len = buf->len;
    double base_time = 0;
    int ret = buf_put(buf, "[", 1);

    for (size_t i = 0; ret == 0 && i < pack->count; i++) {
        if (i > 0)
            ret = buf_put(buf, ",", 1);
        if (ret == 0)
            ret = put_record(buf, pack, i, base_name != NULL ? base_name : "", &base_time);
    }
    if (ret == 0)
        ret = buf_put(buf, "]", 1);
    if (ret != 0 && buf->data != NULL) {
        buf->len = start_len;
        buf->data[start_len] = '\0';
    }
    return ret;
}
