/* SenML JSON decoder (see senml_json.h): a single-pass reader of untrusted bytes over
 * common/json_scan.h that resolves records as it reads them (no allocation beyond the strings
 * the pack owns). Pure; thread-safe (no shared state). */
#include "common/senml_json.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_scan.h"
#include "common/senml_json_internal.h"

/* Nesting levels as json_scan_skip counts them: pack array = 1, record = 2. */
#define DEPTH_TOP 0
#define DEPTH_PACK 1
#define DEPTH_RECORD 2
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
    struct json_scan scan;
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

/* ---- errors ---------------------------------------------------------------------------- */

/* The key came off the wire: keep error text printable and quote-free for logs. */
static void error_field_set(char *out, size_t out_size, const char *field)
{
    size_t i;

    for (i = 0; i < out_size - 1 && field[i] != '\0'; i++) {
        unsigned char c = (unsigned char)field[i];
        bool printable = c >= 0x20 && c <= 0x7e && c != '"' && c != '\\';
        out[i] = field[i];
        if (!printable)
            out[i] = '?';
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
        err->offset = (size_t)(ps->scan.p - ps->scan.start);
    }
    return code;
}

/* Not JSON at ps->scan.p; running out of input is reported as such. */
static int bad(struct parser *ps, const char *reason)
{
    if (ps->scan.p >= ps->scan.end)
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

/* Reports a failed json_scan_ call (code, 0 passes through) as the decoder's own error. */
static int scanned(struct parser *ps, int code)
{
    enum senml_error_kind kind = SENML_ERROR_SYNTAX;

    if (code == 0)
        return 0;
    switch (ps->scan.error) {
    case JSON_SCAN_ERROR_SYNTAX:
        kind = SENML_ERROR_SYNTAX;
        break;
    case JSON_SCAN_ERROR_RANGE:
        kind = SENML_ERROR_RECORD; /* valid JSON, but no double can hold it */
        break;
    case JSON_SCAN_ERROR_DEPTH:
    case JSON_SCAN_ERROR_MEMORY:
        kind = SENML_ERROR_LIMIT;
        break;
    }
    return fail(ps, kind, code, ps->scan.reason);
}

/* A field's value is JSON of the wrong type, or not JSON at all. */
static int wrong_type(struct parser *ps, const char *reason)
{
    if (json_scan_at_value(&ps->scan))
        return refuse(ps, reason);
    return bad(ps, reason);
}

/* Something other than the array of objects a pack is: a STRUCTURE error when ps->scan.p holds
 * a well-formed JSON value (making up the whole input at DEPTH_TOP), else a SYNTAX one. Only on
 * the error path, so validating the value a second time costs nothing that matters. */
static int not_a_pack(struct parser *ps, int depth, const char *reason)
{
    struct json_scan probe = ps->scan;
    bool value;

    value = json_scan_skip(&probe, depth) == 0;
    if (value && depth == DEPTH_TOP) {
        json_scan_ws(&probe);
        value = probe.p == probe.end;
    }
    if (value)
        return fail(ps, SENML_ERROR_STRUCTURE, -EBADMSG, reason);
    if (depth == DEPTH_TOP)
        return fail(ps, SENML_ERROR_SYNTAX, -EBADMSG, reason);
    return bad(ps, reason);
}

/* ---- typed field values ---------------------------------------------------------------- */

static int field_number(struct parser *ps, double *out)
{
    if (json_scan_at_number(&ps->scan))
        return scanned(ps, json_scan_number(&ps->scan, out));
    return wrong_type(ps, "expected a number");
}

/* Decodes a string value of at most max bytes into buf (max + 1 bytes, terminated). */
static int field_string_into(struct parser *ps, char *buf, size_t max, size_t *len)
{
    struct json_scan_str s = {.buf = buf, .cap = max};
    int ret;

    if (!json_scan_peek(&ps->scan, '"'))
        return wrong_type(ps, "expected a string");
    if ((ret = scanned(ps, json_scan_string(&ps->scan, &s))) != 0)
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
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
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

bool senml_json_field_known(const char *key, size_t len)
{
    return field_lookup(key, len) != FIELD_UNKNOWN;
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
    if (seq < 0 || seq > SENML_JSON_MAX_SEQ || seq != floor(seq))
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
    if (json_scan_peek(&ps->scan, 't')) {
        *out = true;
        return scanned(ps, json_scan_literal(&ps->scan, "true"));
    }
    if (json_scan_peek(&ps->scan, 'f')) {
        *out = false;
        return scanned(ps, json_scan_literal(&ps->scan, "false"));
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

    if (!json_scan_peek(&ps->scan, '"') || key_len == 0)
        return scanned(ps, json_scan_skip(&ps->scan, DEPTH_RECORD));
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
    struct json_scan_str key = {.buf = d->key, .cap = SENML_MAX_LABEL_KEY};
    enum field_id id = FIELD_UNKNOWN;
    int ret;

    ps->field = "";
    if (!json_scan_peek(&ps->scan, '"'))
        return bad(ps, "expected a string key");
    if ((ret = scanned(ps, json_scan_string(&ps->scan, &key))) != 0)
        return ret;
    d->key[key.len < key.cap ? key.len : key.cap] = '\0';
    ps->field = d->key;
    if (key.has_nul)
        return refuse(ps, "field name contains U+0000");
    json_scan_ws(&ps->scan);
    if (!json_scan_peek(&ps->scan, ':'))
        return bad(ps, "expected ':'");
    ps->scan.p++;
    json_scan_ws(&ps->scan);
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

/* Reads the record object at ps->scan.p into the next slot of pack->records (room reserved).
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
    ps->scan.p++;
    json_scan_ws(&ps->scan);
    if (json_scan_peek(&ps->scan, '}')) {
        ps->scan.p++;
    } else {
        for (;;) {
            if ((ret = record_member(ps, bases, pack, rec, &d)) != 0)
                goto out;
            json_scan_ws(&ps->scan);
            if (!json_scan_peek(&ps->scan, ','))
                break;
            ps->scan.p++;
            json_scan_ws(&ps->scan);
        }
        if (!json_scan_peek(&ps->scan, '}')) {
            ret = bad(ps, "expected ',' or '}'");
            goto out;
        }
        ps->scan.p++;
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

/* Reads the array's records; ps->scan.p is just past '['. */
static int pack_records(struct parser *ps, struct bases *bases, struct senml_pack *pack)
{
    size_t cap = 0;
    int ret;

    json_scan_ws(&ps->scan);
    if (json_scan_peek(&ps->scan, ']')) {
        ps->scan.p++;
        return 0;
    }
    for (long index = 0;; index++) {
        if (index >= SENML_MAX_RECORDS)
            return too_big(ps, "more than " STR(SENML_MAX_RECORDS) " records");
        ps->index = index;
        if (!json_scan_peek(&ps->scan, '{'))
            return not_a_pack(ps, DEPTH_PACK, "expected a record object");
        if ((ret = records_reserve(ps, pack, &cap)) != 0)
            return ret;
        if ((ret = record_parse(ps, bases, pack)) != 0)
            return ret;
        ps->index = -1;
        json_scan_ws(&ps->scan);
        if (json_scan_peek(&ps->scan, ']')) {
            ps->scan.p++;
            return 0;
        }
        if (!json_scan_peek(&ps->scan, ','))
            return bad(ps, "expected ',' or ']'");
        ps->scan.p++;
        json_scan_ws(&ps->scan);
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
    json_scan_init(&ps.scan, json, len);
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
    json_scan_ws(&ps.scan);
    if (!json_scan_peek(&ps.scan, '[')) {
        ret = not_a_pack(&ps, DEPTH_TOP, "expected a JSON array of records");
        goto out;
    }
    ps.scan.p++;
    if ((ret = pack_records(&ps, &bases, pack)) != 0)
        goto out;
    json_scan_ws(&ps.scan);
    if (ps.scan.p != ps.scan.end) {
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
