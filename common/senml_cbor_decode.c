/* SenML CBOR decoder (see senml_cbor.h): a single-pass reader of untrusted bytes over
 * common/cbor_scan.h that resolves records as it reads them, by the JSON decoder's rules (kept
 * in step with common/senml_json_decode.c; tests/unit/test_senml_cbor.c compares the two).
 * Pure; thread-safe (no shared state). strtod needs LC_NUMERIC "C": our programs never call
 * setlocale(). */
#include "common/senml_cbor.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64url.h"
#include "common/cbor_scan.h"
#include "common/senml_cbor_internal.h"
#include "common/senml_internal.h"

/* Nesting levels as cbor_scan_skip counts them: pack array = 1, record = 2. */
#define DEPTH_TOP 0
#define DEPTH_PACK 1
#define DEPTH_RECORD 2
#define TAG_DECIMAL_FRACTION 4
#define TAG_SELF_DESCRIBED 55799
#define STR(x) SENML_STR(x)

struct parser {
    struct cbor_scan scan;
    struct senml_decoder dec;          /* index, field, bases */
    char key[SENML_MAX_LABEL_KEY + 1]; /* the current text key, or an integer key in decimal */
};

static enum senml_field field_by_label(bool negative, uint64_t arg)
{
    static const enum senml_field non_negative[] = {SENML_FIELD_N,  SENML_FIELD_U,  SENML_FIELD_V,
                                                    SENML_FIELD_VS, SENML_FIELD_VB, SENML_FIELD_S,
                                                    SENML_FIELD_T,  SENML_FIELD_UT, SENML_FIELD_VD};
    static const enum senml_field negative_labels[] = {
        SENML_FIELD_BVER, SENML_FIELD_BN, SENML_FIELD_BT,
        SENML_FIELD_BU,   SENML_FIELD_BV, SENML_FIELD_BS}; /* -1 - arg */

    if (negative)
        return arg < sizeof negative_labels / sizeof negative_labels[0] ? negative_labels[arg]
                                                                        : SENML_FIELD_UNKNOWN;
    return arg < sizeof non_negative / sizeof non_negative[0] ? non_negative[arg]
                                                              : SENML_FIELD_UNKNOWN;
}

/* ---- errors ---------------------------------------------------------------------------- */

static int fail(struct parser *ps, enum senml_error_kind kind, int code, const char *reason)
{
    return senml_decoder_fail(&ps->dec, kind, code, reason, (size_t)(ps->scan.p - ps->scan.start));
}

/* A shared check (common/senml_resolve.c) refused. */
static int refused(struct parser *ps, int code, const struct senml_refusal *why)
{
    return senml_decoder_refused(&ps->dec, code, why, (size_t)(ps->scan.p - ps->scan.start));
}

static int bad(struct parser *ps, const char *reason)
{
    if (ps->scan.p >= ps->scan.end)
        reason = "unexpected end of input";
    return fail(ps, SENML_ERROR_SYNTAX, -EBADMSG, reason);
}

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

/* Reports a failed cbor_scan_ call on scan (0 passes through) as the decoder's own error. */
static int scanned(struct parser *ps, const struct cbor_scan *scan, int code)
{
    if (code == 0)
        return 0;
    ps->scan.p = scan->p;
    switch (scan->error) {
    case CBOR_SCAN_ERROR_SYNTAX:
        return fail(ps, SENML_ERROR_SYNTAX, code, scan->reason);
    case CBOR_SCAN_ERROR_DEPTH:
        break;
    }
    return fail(ps, SENML_ERROR_LIMIT, code, scan->reason);
}

static int peek(struct parser *ps, struct cbor_head *h)
{
    return scanned(ps, &ps->scan, cbor_scan_peek(&ps->scan, h));
}

/* The item at ps->scan.p is of the wrong kind: a RECORD error when it is well-formed CBOR,
 * else the SYNTAX (or LIMIT) error that makes it not. */
static int wrong_type(struct parser *ps, const char *reason)
{
    struct cbor_scan probe = ps->scan;
    int ret = cbor_scan_skip(&probe, DEPTH_RECORD);

    if (ret != 0)
        return scanned(ps, &probe, ret);
    return refuse(ps, reason);
}

/* Something other than the array of maps a pack is: a STRUCTURE error when ps->scan.p holds a
 * well-formed item (making up the rest of the input at DEPTH_TOP), else a SYNTAX one. */
static int not_a_pack(struct parser *ps, int depth, const char *reason)
{
    struct cbor_scan probe = ps->scan;
    int ret = cbor_scan_skip(&probe, depth);

    if (ret != 0)
        return scanned(ps, &probe, ret);
    if (depth == DEPTH_TOP && probe.p != probe.end)
        return fail(ps, SENML_ERROR_SYNTAX, -EBADMSG, reason);
    return fail(ps, SENML_ERROR_STRUCTURE, -EBADMSG, reason);
}

/* ---- typed field values ---------------------------------------------------------------- */

static bool is_integer(const struct cbor_head *h)
{
    return h->major == CBOR_MAJOR_UINT || h->major == CBOR_MAJOR_NEGINT;
}

/* Writes the integer of head h in decimal (64 bytes suffice). */
static void integer_text(const struct cbor_head *h, char *out, size_t out_size)
{
    if (h->major == CBOR_MAJOR_UINT)
        snprintf(out, out_size, "%" PRIu64, h->arg);
    else if (h->arg == UINT64_MAX)
        snprintf(out, out_size, "-18446744073709551616");
    else
        snprintf(out, out_size, "-%" PRIu64, h->arg + 1);
}

/* Tag 4 [exponent, mantissa] (RFC 8949 §3.4.4) at ps->scan.p, head tag: the value strtod reads
 * from "<mantissa>e<exponent>", correctly rounded. Bignum mantissas are not supported. */
static int decimal_fraction(struct parser *ps, const struct cbor_head *tag, double *out)
{
    const uint8_t *start = ps->scan.p;
    struct cbor_head array, exponent, mantissa, end;
    char text[96], exponent_text[32], mantissa_text[32];

    ps->scan.p += tag->size;
    if (cbor_scan_peek(&ps->scan, &array) != 0 || array.major != CBOR_MAJOR_ARRAY ||
        (!array.indefinite && array.arg != 2))
        goto shape;
    ps->scan.p += array.size;
    if (cbor_scan_peek(&ps->scan, &exponent) != 0 || !is_integer(&exponent))
        goto shape;
    ps->scan.p += exponent.size;
    if (cbor_scan_peek(&ps->scan, &mantissa) != 0 || !is_integer(&mantissa))
        goto shape;
    ps->scan.p += mantissa.size;
    if (array.indefinite) {
        if (cbor_scan_peek(&ps->scan, &end) != 0 || end.major != CBOR_MAJOR_SIMPLE ||
            end.info != CBOR_BREAK)
            goto shape;
        ps->scan.p += end.size;
    }
    integer_text(&exponent, exponent_text, sizeof exponent_text);
    integer_text(&mantissa, mantissa_text, sizeof mantissa_text);
    snprintf(text, sizeof text, "%se%s", mantissa_text, exponent_text);
    *out = strtod(text, NULL);
    if (!isfinite(*out)) {
        ps->scan.p = start;
        return refuse(ps, "number out of range");
    }
    return 0;
shape:
    ps->scan.p = start;
    return wrong_type(ps, "expected a decimal fraction [exponent, mantissa]");
}

static int field_number(struct parser *ps, double *out)
{
    struct cbor_head h;
    char reason[64];
    int ret = peek(ps, &h);

    if (ret != 0)
        return ret;
    switch (h.major) {
    case CBOR_MAJOR_UINT:
        *out = (double)h.arg; /* beyond 2^53: the nearest double, as strtod gives for JSON */
        break;
    case CBOR_MAJOR_NEGINT:
        *out = h.arg == UINT64_MAX ? -SENML_CBOR_TWO_POW_64 : -(double)(h.arg + 1);
        break;
    case CBOR_MAJOR_SIMPLE:
        if (h.info < CBOR_FLOAT16 || h.info > CBOR_FLOAT64)
            return wrong_type(ps, "expected a number");
        *out = cbor_float_value(&h);
        if (!isfinite(*out))
            return refuse(ps, "expected a finite number");
        break;
    case CBOR_MAJOR_TAG:
        if (h.arg == TAG_DECIMAL_FRACTION)
            return decimal_fraction(ps, &h, out);
        snprintf(reason, sizeof reason, "unsupported CBOR tag %" PRIu64, h.arg);
        return wrong_type(ps, reason);
    case CBOR_MAJOR_BYTES:
    case CBOR_MAJOR_TEXT:
    case CBOR_MAJOR_ARRAY:
    case CBOR_MAJOR_MAP:
        return wrong_type(ps, "expected a number");
    }
    ps->scan.p += h.size;
    return 0;
}

/* A definite-length string of major type `major` (text: valid UTF-8) at ps->scan.p, at most
 * max bytes: *bytes points into the input. */
static int field_bytes(struct parser *ps, enum cbor_major major, size_t max, const uint8_t **bytes,
                       size_t *len)
{
    struct cbor_head h;
    char reason[64];
    int ret;

    *bytes = (const uint8_t *)""; /* set on every path, for the analyzers */
    *len = 0;
    if ((ret = peek(ps, &h)) != 0)
        return ret;
    if (h.major != major)
        return wrong_type(ps, major == CBOR_MAJOR_TEXT ? "expected a string"
                                                       : "expected a byte string");
    if (h.indefinite)
        return wrong_type(ps, "expected a definite-length string");
    if ((ret = scanned(ps, &ps->scan, cbor_scan_string(&ps->scan, &h, bytes))) != 0)
        return ret;
    if (h.arg > max) {
        snprintf(reason, sizeof reason, "%s longer than %zu bytes",
                 major == CBOR_MAJOR_TEXT ? "string" : "data", max);
        return too_big(ps, reason);
    }
    *len = (size_t)h.arg;
    if (major == CBOR_MAJOR_TEXT && memchr(*bytes, '\0', *len) != NULL)
        return refuse(ps, "string contains U+0000");
    return 0;
}

static int field_text(struct parser *ps, size_t max, const uint8_t **text, size_t *len)
{
    return field_bytes(ps, CBOR_MAJOR_TEXT, max, text, len);
}

/* A text string (at most SENML_MAX_STRING bytes) as an owned copy; "" gives NULL when
 * empty_is_null. */
static int field_text_dup(struct parser *ps, bool empty_is_null, char **out)
{
    const uint8_t *text;
    size_t len = 0;
    int ret = field_text(ps, SENML_MAX_STRING, &text, &len);

    if (ret != 0)
        return ret;
    if (len == 0 && empty_is_null) {
        *out = NULL;
        return 0;
    }
    *out = malloc(len + 1);
    if (*out == NULL)
        return no_memory(ps);
    memcpy(*out, text, len);
    (*out)[len] = '\0';
    return 0;
}

/* vd: bytes on the wire, unpadded base64url in the record (as the JSON decoder keeps it). */
static int field_data(struct parser *ps, struct senml_record *rec)
{
    const uint8_t *bytes;
    size_t len = 0, text_size;
    int ret = field_bytes(ps, CBOR_MAJOR_BYTES, SENML_CBOR_MAX_DATA, &bytes, &len);

    if (ret != 0)
        return ret;
    text_size = BASE64URL_ENCODED_LEN(len) + 1;
    rec->string = malloc(text_size);
    if (rec->string == NULL)
        return no_memory(ps);
    rec->kind = SENML_KIND_DATA;
    return base64url_encode(bytes, len, rec->string, text_size) == 0 ? 0 : no_memory(ps);
}

static int field_bool(struct parser *ps, bool *out)
{
    struct cbor_head h;
    int ret = peek(ps, &h);

    if (ret != 0)
        return ret;
    if (h.major != CBOR_MAJOR_SIMPLE || (h.info != CBOR_SIMPLE_FALSE && h.info != CBOR_SIMPLE_TRUE))
        return wrong_type(ps, "expected true or false");
    *out = h.info == CBOR_SIMPLE_TRUE;
    ps->scan.p += h.size;
    return 0;
}

/* RFC 8428 §6: "For the version number, only an unsigned integer is allowed." */
static int field_version(struct parser *ps, struct senml_bases *bases)
{
    struct senml_refusal why;
    struct cbor_head h;
    char reason[64];
    int ret = peek(ps, &h);

    if (ret != 0)
        return ret;
    if (h.major != CBOR_MAJOR_UINT)
        return wrong_type(ps, "expected a positive integer");
    if (h.arg < 1)
        return refuse(ps, "expected a positive integer");
    if (h.arg > SENML_VERSION) {
        snprintf(reason, sizeof reason, "version %" PRIu64 " is newer than " STR(SENML_VERSION),
                 h.arg);
        return refuse(ps, reason);
    }
    if ((ret = senml_bases_version_set(bases, ps->dec.index, (double)h.arg, &why)) != 0)
        return refused(ps, ret, &why);
    ps->scan.p += h.size;
    return 0;
}

static int field_seq(struct parser *ps, struct senml_pack *pack)
{
    struct cbor_head h;
    double seq = 0;
    int ret = peek(ps, &h);

    if (ret != 0)
        return ret;
    if (h.major == CBOR_MAJOR_UINT) { /* exactly, not through a double */
        if (h.arg > SENML_MAX_SEQ)
            return refuse(ps, "expected an integer from 0 to 2^53");
        ps->scan.p += h.size;
        seq = (double)h.arg;
    } else if ((ret = field_number(ps, &seq)) != 0) {
        return ret;
    } else if (seq < 0 || seq > (double)SENML_MAX_SEQ || seq != floor(seq)) {
        return refuse(ps, "expected an integer from 0 to 2^53");
    }
    senml_pack_seq_offer(pack, (uint64_t)seq);
    return 0;
}

static int field_boot_id(struct parser *ps, struct senml_pack *pack)
{
    char *boot_id;
    int ret = field_text_dup(ps, false, &boot_id);

    if (ret != 0)
        return ret;
    senml_pack_boot_id_offer(pack, boot_id);
    return 0;
}

static int field_base_unit(struct parser *ps, struct senml_bases *bases)
{
    char *unit;
    int ret = field_text_dup(ps, true, &unit);

    if (ret != 0)
        return ret;
    senml_bases_unit_set(bases, unit);
    return 0;
}

/* ---- records --------------------------------------------------------------------------- */

/* A name (bn or n): *name points into the input. */
static int field_name(struct parser *ps, const char **name, size_t *len)
{
    const uint8_t *text;
    int ret = field_text(ps, SENML_MAX_NAME, &text, len);

    if (ret == 0)
        *name = (const char *)text;
    return ret;
}

static int field_known(struct parser *ps, struct senml_bases *bases, struct senml_pack *pack,
                       struct senml_record *rec, struct senml_draft *d, enum senml_field id)
{
    struct senml_refusal why;
    int ret = senml_draft_accept(d, id, &why);

    if (ret != 0)
        return refused(ps, ret, &why);
    switch (id) {
    case SENML_FIELD_BN:
        return field_name(ps, &bases->name, &bases->name_len);
    case SENML_FIELD_BU:
        return field_base_unit(ps, bases);
    case SENML_FIELD_BVER:
        return field_version(ps, bases);
    case SENML_FIELD_N:
        return field_name(ps, &d->name, &d->name_len);
    case SENML_FIELD_U:
        return field_text_dup(ps, true, &rec->unit);
    case SENML_FIELD_VS:
        rec->kind = SENML_KIND_STRING;
        return field_text_dup(ps, false, &rec->string);
    case SENML_FIELD_VD:
        return field_data(ps, rec);
    case SENML_FIELD_VB:
        rec->kind = SENML_KIND_BOOL;
        return field_bool(ps, &rec->boolean);
    case SENML_FIELD_BT:
    case SENML_FIELD_BV:
    case SENML_FIELD_BS:
    case SENML_FIELD_V:
    case SENML_FIELD_S:
    case SENML_FIELD_T:
    case SENML_FIELD_UT:
        return field_number(ps, senml_draft_number(bases, d, rec, id));
    case SENML_FIELD_BID:
        return field_boot_id(ps, pack);
    case SENML_FIELD_SQ:
        return field_seq(ps, pack);
    case SENML_FIELD_UNKNOWN:
    case SENML_FIELD_COUNT:
        break;
    }
    return refuse(ps, "unknown field");
}

static int skip_value(struct parser *ps)
{
    return scanned(ps, &ps->scan, cbor_scan_skip(&ps->scan, DEPTH_RECORD));
}

/* An unknown text key with a text value becomes a label; other unknown values are validated and
 * skipped. Duplicates are caught among labels; a skipped value is not remembered. */
static int field_label(struct parser *ps, struct senml_record *rec, size_t key_len)
{
    struct senml_refusal why;
    struct cbor_head h;
    char *value;
    int ret = peek(ps, &h);

    if (ret != 0)
        return ret;
    if (h.major != CBOR_MAJOR_TEXT || key_len == 0)
        return skip_value(ps);
    if ((ret = senml_label_check(rec, ps->key, key_len, &why)) != 0)
        return refused(ps, ret, &why);
    if ((ret = field_text_dup(ps, false, &value)) != 0)
        return ret;
    if (senml_label_add(rec, ps->key, value) != 0)
        return no_memory(ps);
    return 0;
}

/* A text key: an extension field (RFC 8428 §6: "any extensions will use string map keys"). */
static int record_text_key(struct parser *ps, struct senml_bases *bases, struct senml_pack *pack,
                           struct senml_record *rec, struct senml_draft *d,
                           const struct cbor_head *h)
{
    enum senml_field id;
    const uint8_t *key;
    size_t len, kept;
    int ret;

    if (h->indefinite)
        return wrong_type(ps, "expected a definite-length string");
    if ((ret = scanned(ps, &ps->scan, cbor_scan_string(&ps->scan, h, &key))) != 0)
        return ret;
    len = (size_t)h->arg;
    kept = len < SENML_MAX_LABEL_KEY ? len : SENML_MAX_LABEL_KEY;
    memcpy(ps->key, key, kept);
    ps->key[kept] = '\0';
    ps->dec.field = ps->key;
    if (memchr(key, '\0', len) != NULL)
        return refuse(ps, "field name contains U+0000");
    if (len > 0 && key[len - 1] == '_')
        return refuse(ps, "must-understand field not supported");
    id = senml_field_by_name((const char *)key, len);
    if (id == SENML_FIELD_BID || id == SENML_FIELD_SQ)
        return field_known(ps, bases, pack, rec, d, id);
    if (id != SENML_FIELD_UNKNOWN)
        return refuse(ps, "text key for a field that has an integer label");
    return field_label(ps, rec, len);
}

/* Reads one key and value of a record map. */
static int record_member(struct parser *ps, struct senml_bases *bases, struct senml_pack *pack,
                         struct senml_record *rec, struct senml_draft *d)
{
    enum senml_field id;
    struct cbor_head h;
    int ret;

    ps->dec.field = "";
    if ((ret = peek(ps, &h)) != 0)
        return ret;
    if (h.major == CBOR_MAJOR_TEXT) {
        ret = record_text_key(ps, bases, pack, rec, d, &h);
    } else if (is_integer(&h)) {
        id = field_by_label(h.major == CBOR_MAJOR_NEGINT, h.arg);
        if (id == SENML_FIELD_UNKNOWN)
            integer_text(&h, ps->key, sizeof ps->key); /* for error detail */
        ps->dec.field = id != SENML_FIELD_UNKNOWN ? senml_field_name(id) : ps->key;
        ps->scan.p += h.size;
        /* Table 4 "is conclusive": an unknown integer label is no field of ours; ignore it. */
        ret = id == SENML_FIELD_UNKNOWN ? skip_value(ps) : field_known(ps, bases, pack, rec, d, id);
    } else {
        ret = wrong_type(ps, "expected an integer or text key");
    }
    if (ret == 0)
        ps->dec.field = "";
    return ret;
}

/* True at the break that ends an indefinite-length container (consumed), or when a definite one
 * has no items left. */
static bool container_end(struct parser *ps, const struct cbor_head *h, uint64_t done, int *ret)
{
    struct cbor_head next;

    *ret = 0;
    if (!h->indefinite)
        return done == h->arg;
    if ((*ret = peek(ps, &next)) != 0)
        return true;
    if (next.major != CBOR_MAJOR_SIMPLE || next.info != CBOR_BREAK)
        return false;
    ps->scan.p++;
    return true;
}

/* Reads the record map whose head h is at ps->scan.p into the next slot of pack->records (room
 * reserved). A record with only base fields (RFC 8428 §5.1.7) sets bases and yields no record. */
static int record_parse(struct parser *ps, struct senml_bases *bases, struct senml_pack *pack,
                        const struct cbor_head *h)
{
    struct senml_record *rec = &pack->records[pack->count];
    struct senml_refusal why;
    struct senml_draft d;
    int ret = 0;

    memset(rec, 0, sizeof *rec);
    senml_draft_init(&d);
    ps->scan.p += h->size;
    for (uint64_t pairs = 0; !container_end(ps, h, pairs, &ret); pairs++)
        if ((ret = record_member(ps, bases, pack, rec, &d)) != 0)
            goto out;
    if (ret != 0)
        goto out;
    if ((ret = senml_record_finish(bases, &d, ps->dec.now_ms, pack, &why)) != 0)
        return refused(ps, ret, &why);
    return 0;
out:
    senml_record_clear(rec);
    return ret;
}

/* Reads the records of the pack array whose head h is at ps->scan.p. */
static int pack_records(struct parser *ps, struct senml_bases *bases, struct senml_pack *pack,
                        const struct cbor_head *h)
{
    struct cbor_head element;
    size_t cap = 0;
    int ret = 0;

    if (!h->indefinite && h->arg > SENML_MAX_RECORDS)
        return too_big(ps, "more than " STR(SENML_MAX_RECORDS) " records");
    ps->scan.p += h->size;
    for (long index = 0; !container_end(ps, h, (uint64_t)index, &ret); index++) {
        if (index >= SENML_MAX_RECORDS)
            return too_big(ps, "more than " STR(SENML_MAX_RECORDS) " records");
        ps->dec.index = index;
        if ((ret = peek(ps, &element)) != 0)
            return ret;
        if (element.major != CBOR_MAJOR_MAP)
            return not_a_pack(ps, DEPTH_PACK, "expected a record map");
        if (senml_pack_reserve(pack, &cap) != 0)
            return no_memory(ps);
        if ((ret = record_parse(ps, bases, pack, &element)) != 0)
            return ret;
        ps->dec.index = -1;
    }
    return ret;
}

int senml_cbor_decode(const uint8_t *cbor, size_t len, int64_t now_ms, struct senml_pack **out,
                      struct senml_error *err)
{
    struct parser ps;
    struct senml_pack *pack = NULL;
    struct cbor_head h;
    int ret;

    assert(out != NULL && (cbor != NULL || len == 0));
    cbor_scan_init(&ps.scan, cbor, len);
    senml_decoder_init(&ps.dec, now_ms, err);

    pack = calloc(1, sizeof *pack);
    if (pack == NULL) {
        ret = no_memory(&ps);
        goto out;
    }
    if ((ret = peek(&ps, &h)) != 0)
        goto out;
    if (h.major == CBOR_MAJOR_TAG && h.arg == TAG_SELF_DESCRIBED) {
        ps.scan.p += h.size;
        if ((ret = peek(&ps, &h)) != 0)
            goto out;
    }
    if (h.major != CBOR_MAJOR_ARRAY) {
        ret = not_a_pack(&ps, DEPTH_TOP, "expected a CBOR array of records");
        goto out;
    }
    if ((ret = pack_records(&ps, &ps.dec.bases, pack, &h)) != 0)
        goto out;
    if (ps.scan.p != ps.scan.end) {
        ret = bad(&ps, "unexpected data after the pack");
        goto out;
    }
    *out = pack;
    pack = NULL;
out:
    senml_decoder_deinit(&ps.dec);
    senml_pack_free(pack);
    return ret;
}
