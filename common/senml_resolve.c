/* Record resolution both SenML decoders share (see senml_internal.h): base fields in force, the
 * fields a record may hold, names, values, labels and the pack's limits, so that JSON and CBOR
 * refuse and resolve alike. Pure; thread-safe (no shared state). */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/senml.h"
#include "common/senml_internal.h"

#define RECORDS_INITIAL 16

static int refused(struct senml_refusal *why, enum senml_error_kind kind, int code,
                   const char *field, const char *reason)
{
    why->kind = kind;
    why->field = field;
    snprintf(why->reason, sizeof why->reason, "%s", reason);
    return code;
}

/* ---- bases and drafts ------------------------------------------------------------------ */

void senml_bases_init(struct senml_bases *bases)
{
    memset(bases, 0, sizeof *bases);
    bases->name = "";
    bases->version = SENML_VERSION;
}

void senml_bases_deinit(struct senml_bases *bases)
{
    free(bases->unit);
    bases->unit = NULL;
}

void senml_bases_unit_set(struct senml_bases *bases, char *unit)
{
    free(bases->unit);
    bases->unit = unit;
}

int senml_bases_version_set(struct senml_bases *bases, long index, double version,
                            struct senml_refusal *why)
{
    char reason[64];

    /* §4.4: all records of a pack have the same version (the first sets it, default 10). */
    if (index > 0 && version != bases->version) {
        snprintf(reason, sizeof reason, "version differs from the pack's (%.0f)", bases->version);
        return refused(why, SENML_ERROR_RECORD, -EBADMSG, NULL, reason);
    }
    bases->version = version;
    return 0;
}

void senml_draft_init(struct senml_draft *d)
{
    memset(d, 0, sizeof *d);
    d->name = "";
}

int senml_draft_accept(struct senml_draft *d, enum senml_field id, struct senml_refusal *why)
{
    if (d->seen & SENML_FIELD_BIT(id))
        return refused(why, SENML_ERROR_RECORD, -EBADMSG, NULL, "duplicate field");
    if ((SENML_VALUE_FIELDS & SENML_FIELD_BIT(id)) && (d->seen & SENML_VALUE_FIELDS))
        return refused(why, SENML_ERROR_RECORD, -EBADMSG, NULL, "more than one value field");
    d->seen |= SENML_FIELD_BIT(id);
    return 0;
}

double *senml_draft_number(struct senml_bases *bases, struct senml_draft *d,
                           struct senml_record *rec, enum senml_field id)
{
    switch (id) {
    case SENML_FIELD_BT:
        return &bases->time;
    case SENML_FIELD_BV:
        return &bases->value;
    case SENML_FIELD_BS:
        bases->has_sum = true;
        return &bases->sum;
    case SENML_FIELD_V:
        rec->kind = SENML_KIND_NUMBER;
        return &d->value;
    case SENML_FIELD_S:
        return &d->sum;
    case SENML_FIELD_T:
        return &d->time;
    case SENML_FIELD_UT:
        rec->has_update_time = true;
        return &rec->update_time_s;
    case SENML_FIELD_UNKNOWN:
    case SENML_FIELD_BN:
    case SENML_FIELD_BU:
    case SENML_FIELD_BVER:
    case SENML_FIELD_N:
    case SENML_FIELD_U:
    case SENML_FIELD_VS:
    case SENML_FIELD_VB:
    case SENML_FIELD_VD:
    case SENML_FIELD_BID:
    case SENML_FIELD_SQ:
    case SENML_FIELD_COUNT:
        break;
    }
    assert(!"not a number field");
    return NULL;
}

/* ---- resolution ------------------------------------------------------------------------ */

static int record_name(const struct senml_bases *bases, struct senml_record *rec,
                       const struct senml_draft *d, struct senml_refusal *why)
{
    size_t len = bases->name_len + d->name_len;
    const char *field = d->seen & SENML_FIELD_BIT(SENML_FIELD_N) ? "n" : "bn";

    if (len > SENML_MAX_NAME)
        return refused(why, SENML_ERROR_LIMIT, -E2BIG, field,
                       "name longer than " SENML_STR(SENML_MAX_NAME) " bytes");
    if (len == 0)
        return refused(why, SENML_ERROR_RECORD, -EBADMSG, field, "empty name");
    rec->name = malloc(len + 1);
    if (rec->name == NULL)
        return refused(why, SENML_ERROR_LIMIT, -ENOMEM, field, "out of memory");
    memcpy(rec->name, bases->name, bases->name_len);
    memcpy(rec->name + bases->name_len, d->name, d->name_len);
    rec->name[len] = '\0';
    if (!senml_name_valid(rec->name, len)) {
        if (!senml_name_valid(rec->name, 1))
            return refused(why, SENML_ERROR_RECORD, -EBADMSG, field,
                           "name must start with a letter or digit");
        return refused(why, SENML_ERROR_RECORD, -EBADMSG, field, "invalid character in name");
    }
    return 0;
}

int senml_record_resolve(const struct senml_bases *bases, const struct senml_draft *d,
                         int64_t now_ms, struct senml_record *rec, struct senml_refusal *why)
{
    const char *field;
    int ret;

    if (!(d->seen & (SENML_VALUE_FIELDS | SENML_FIELD_BIT(SENML_FIELD_S))))
        return refused(why, SENML_ERROR_RECORD, -EBADMSG, "", "record has no value and no sum");
    if ((ret = record_name(bases, rec, d, why)) != 0)
        return ret;
    rec->time_s = bases->time + d->time;
    if (rec->time_s < SENML_RELATIVE_LIMIT_S)
        rec->time_s += (double)now_ms / 1000.0;
    /* x + 0 would turn -0 into +0: add a base only when there is one. */
    if (rec->kind == SENML_KIND_NUMBER)
        rec->value = bases->value != 0 ? bases->value + d->value : d->value;
    if (bases->has_sum || (d->seen & SENML_FIELD_BIT(SENML_FIELD_S))) {
        rec->has_sum = true;
        rec->sum = bases->sum != 0 ? bases->sum + d->sum : d->sum;
    }
    /* Each part is finite; their sum can still overflow. */
    field = !isfinite(rec->time_s)  ? "t"
            : !isfinite(rec->value) ? "v"
            : !isfinite(rec->sum)   ? "s"
                                    : "";
    if (field[0] != '\0')
        return refused(why, SENML_ERROR_RECORD, -EBADMSG, field,
                       "out of range after adding the base field");
    if (!(d->seen & SENML_FIELD_BIT(SENML_FIELD_U)) && bases->unit != NULL) {
        rec->unit = strdup(bases->unit);
        if (rec->unit == NULL)
            return refused(why, SENML_ERROR_LIMIT, -ENOMEM, "", "out of memory");
    }
    return 0;
}

int senml_record_finish(const struct senml_bases *bases, const struct senml_draft *d,
                        int64_t now_ms, struct senml_pack *pack, struct senml_refusal *why)
{
    struct senml_record *rec = &pack->records[pack->count];
    int ret = 0;

    if ((d->seen & SENML_BASE_FIELDS) && !(d->seen & SENML_REGULAR_FIELDS)) {
        senml_record_clear(rec); /* base fields only */
        return 0;
    }
    ret = senml_record_resolve(bases, d, now_ms, rec, why);
    if (ret != 0) {
        senml_record_clear(rec);
        return ret;
    }
    pack->count++;
    return 0;
}

/* ---- labels and the pack --------------------------------------------------------------- */

int senml_label_check(const struct senml_record *rec, const char *key, size_t key_len,
                      struct senml_refusal *why)
{
    if (key_len > SENML_MAX_LABEL_KEY)
        return refused(why, SENML_ERROR_LIMIT, -E2BIG, NULL,
                       "label key longer than " SENML_STR(SENML_MAX_LABEL_KEY) " bytes");
    for (size_t i = 0; i < rec->label_count; i++)
        if (strcmp(rec->labels[i].key, key) == 0)
            return refused(why, SENML_ERROR_RECORD, -EBADMSG, NULL, "duplicate field");
    if (rec->label_count >= SENML_MAX_LABELS)
        return refused(why, SENML_ERROR_LIMIT, -E2BIG, NULL,
                       "more than " SENML_STR(SENML_MAX_LABELS) " labels");
    return 0;
}

int senml_label_add(struct senml_record *rec, const char *key, char *value)
{
    struct senml_label *label = &rec->labels[rec->label_count];

    label->key = strdup(key);
    if (label->key == NULL) {
        free(value);
        return -ENOMEM;
    }
    label->value = value;
    rec->label_count++;
    return 0;
}

void senml_pack_boot_id_offer(struct senml_pack *pack, char *boot_id)
{
    if (pack->boot_id == NULL)
        pack->boot_id = boot_id;
    else
        free(boot_id);
}

void senml_pack_seq_offer(struct senml_pack *pack, uint64_t seq)
{
    if (!pack->has_seq) {
        pack->has_seq = true;
        pack->seq = seq;
    }
}

int senml_pack_reserve(struct senml_pack *pack, size_t *cap)
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
        return -ENOMEM;
    pack->records = records;
    *cap = new_cap;
    return 0;
}

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

int senml_decoder_fail(struct senml_decoder *dec, enum senml_error_kind kind, int code,
                       const char *reason, size_t offset)
{
    struct senml_error *err = dec->err;

    if (err != NULL) {
        err->kind = kind;
        err->index = dec->index;
        error_field_set(err->field, sizeof err->field, dec->field);
        snprintf(err->reason, sizeof err->reason, "%s", reason);
        err->offset = offset;
    }
    return code;
}

int senml_decoder_refused(struct senml_decoder *dec, int code, const struct senml_refusal *why,
                          size_t offset)
{
    if (why->field != NULL)
        dec->field = why->field;
    return senml_decoder_fail(dec, why->kind, code, why->reason, offset);
}

void senml_decoder_init(struct senml_decoder *dec, int64_t now_ms, struct senml_error *err)
{
    dec->now_ms = now_ms;
    dec->err = err;
    dec->index = -1;
    dec->field = "";
    senml_bases_init(&dec->bases);
    if (err != NULL)
        memset(err, 0, sizeof *err);
}

void senml_decoder_deinit(struct senml_decoder *dec)
{
    senml_bases_deinit(&dec->bases);
}
