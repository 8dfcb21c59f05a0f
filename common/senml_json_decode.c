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
#include "common/senml_internal.h"

/* Nesting levels as json_scan_skip counts them: pack array = 1, record = 2. */
#define DEPTH_TOP 0
#define DEPTH_PACK 1
#define DEPTH_RECORD 2
#define STR(x) SENML_STR(x)

struct parser {
    struct json_scan scan;
    struct senml_decoder dec;           /* index, field, bases */
    char key[SENML_MAX_LABEL_KEY + 1];  /* the key being read */
    char base_name[SENML_MAX_NAME + 1]; /* bn in force (struct senml_bases points here) */
    char name[SENML_MAX_NAME + 1];      /* n of the record being read */
    char scratch[SENML_MAX_STRING + 1];
};

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

/* ---- fields ---------------------------------------------------------------------------- */

static int field_version(struct parser *ps, struct senml_bases *bases)
{
    struct senml_refusal why;
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
    if ((ret = senml_bases_version_set(bases, ps->dec.index, version, &why)) != 0)
        return refused(ps, ret, &why);
    return 0;
}

static int field_seq(struct parser *ps, struct senml_pack *pack)
{
    double seq = 0;
    int ret = field_number(ps, &seq);

    if (ret != 0)
        return ret;
    if (seq < 0 || seq > (double)SENML_MAX_SEQ || seq != floor(seq))
        return refuse(ps, "expected an integer from 0 to 2^53");
    senml_pack_seq_offer(pack, (uint64_t)seq);
    return 0;
}

static int field_boot_id(struct parser *ps, struct senml_pack *pack)
{
    char *boot_id;
    int ret = field_string_dup(ps, false, &boot_id, NULL);

    if (ret != 0)
        return ret;
    senml_pack_boot_id_offer(pack, boot_id);
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

static int field_base_unit(struct parser *ps, struct senml_bases *bases)
{
    char *unit;
    int ret = field_string_dup(ps, true, &unit, NULL);

    if (ret != 0)
        return ret;
    senml_bases_unit_set(bases, unit);
    return 0;
}

/* vs / vd: the string is kept on the record as received. */
static int field_string_value(struct parser *ps, struct senml_record *rec, enum senml_field id)
{
    size_t len;
    int ret = field_string_dup(ps, false, &rec->string, &len);

    if (ret != 0)
        return ret;
    rec->kind = id == SENML_FIELD_VS ? SENML_KIND_STRING : SENML_KIND_DATA;
    if (id == SENML_FIELD_VD && !base64url_valid(rec->string, len))
        return refuse(ps, "expected unpadded base64url");
    return 0;
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
        return field_string_into(ps, ps->base_name, SENML_MAX_NAME, &bases->name_len);
    case SENML_FIELD_BU:
        return field_base_unit(ps, bases);
    case SENML_FIELD_BVER:
        return field_version(ps, bases);
    case SENML_FIELD_N:
        d->name = ps->name;
        return field_string_into(ps, ps->name, SENML_MAX_NAME, &d->name_len);
    case SENML_FIELD_U:
        return field_string_dup(ps, true, &rec->unit, NULL);
    case SENML_FIELD_VS:
    case SENML_FIELD_VD:
        return field_string_value(ps, rec, id);
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

/* An unknown string field becomes a label; other unknown values are validated and skipped.
 * Duplicates are caught among labels; a skipped non-string value is not remembered. */
static int field_label(struct parser *ps, struct senml_record *rec, size_t key_len)
{
    struct senml_refusal why;
    char *value;
    int ret;

    if (!json_scan_peek(&ps->scan, '"') || key_len == 0)
        return scanned(ps, json_scan_skip(&ps->scan, DEPTH_RECORD));
    if ((ret = senml_label_check(rec, ps->key, key_len, &why)) != 0)
        return refused(ps, ret, &why);
    if ((ret = field_string_dup(ps, false, &value, NULL)) != 0)
        return ret;
    if (senml_label_add(rec, ps->key, value) != 0)
        return no_memory(ps);
    return 0;
}

/* ---- records --------------------------------------------------------------------------- */

/* Reads one "key": value member of a record object. */
static int record_member(struct parser *ps, struct senml_bases *bases, struct senml_pack *pack,
                         struct senml_record *rec, struct senml_draft *d)
{
    struct json_scan_str key = {.buf = ps->key, .cap = SENML_MAX_LABEL_KEY};
    enum senml_field id = SENML_FIELD_UNKNOWN;
    int ret;

    ps->dec.field = "";
    if (!json_scan_peek(&ps->scan, '"'))
        return bad(ps, "expected a string key");
    if ((ret = scanned(ps, json_scan_string(&ps->scan, &key))) != 0)
        return ret;
    ps->key[key.len < key.cap ? key.len : key.cap] = '\0';
    ps->dec.field = ps->key;
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
        id = senml_field_by_name(ps->key, key.len);
    ret = id == SENML_FIELD_UNKNOWN ? field_label(ps, rec, key.len)
                                    : field_known(ps, bases, pack, rec, d, id);
    if (ret == 0)
        ps->dec.field = "";
    return ret;
}

/* Reads the record object at ps->scan.p into the next slot of pack->records (room reserved).
 * A record with only base fields (RFC 8428 §5.1.7) sets bases and yields no record. */
static int record_parse(struct parser *ps, struct senml_bases *bases, struct senml_pack *pack)
{
    struct senml_record *rec = &pack->records[pack->count];
    struct senml_refusal why;
    struct senml_draft d;
    int ret = 0;

    memset(rec, 0, sizeof *rec);
    senml_draft_init(&d);
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
    if ((ret = senml_record_finish(bases, &d, ps->dec.now_ms, pack, &why)) != 0)
        return refused(ps, ret, &why);
    return 0;
out:
    senml_record_clear(rec);
    return ret;
}

/* Reads the array's records; ps->scan.p is just past '['. */
static int pack_records(struct parser *ps, struct senml_bases *bases, struct senml_pack *pack)
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
        ps->dec.index = index;
        if (!json_scan_peek(&ps->scan, '{'))
            return not_a_pack(ps, DEPTH_PACK, "expected a record object");
        if (senml_pack_reserve(pack, &cap) != 0)
            return no_memory(ps);
        if ((ret = record_parse(ps, bases, pack)) != 0)
            return ret;
        ps->dec.index = -1;
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
    struct senml_pack *pack = NULL;
    int ret;

    assert(out != NULL && (json != NULL || len == 0));
    json_scan_init(&ps.scan, json, len);
    senml_decoder_init(&ps.dec, now_ms, err);
    ps.dec.bases.name = ps.base_name;

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
    if ((ret = pack_records(&ps, &ps.dec.bases, pack)) != 0)
        goto out;
    json_scan_ws(&ps.scan);
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
