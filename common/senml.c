/* SenML data model (see senml.h): releasing a decoded pack, the RFC 8428 §4.5.1 name rule,
 * error text, and (senml_internal.h) the field names and the record checks both encoders make.
 * Pure; thread-safe (no shared state). */
#include "common/senml.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/senml_internal.h"

void senml_record_clear(struct senml_record *rec)
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

void senml_pack_free(struct senml_pack *pack)
{
    if (pack == NULL)
        return;
    for (size_t i = 0; i < pack->count; i++)
        senml_record_clear(&pack->records[i]);
    free(pack->records);
    free(pack->boot_id);
    free(pack);
}

/* Character classes as 128-bit sets (bit c of word c / 64): plain ASCII, unlike isalnum(),
 * which follows the locale. Bits lo..hi of one 64-bit word: */
#define BITS(lo, hi) ((~UINT64_C(0) >> (63 - (hi) + (lo))) << (lo))

/* 0-9 are 0x30-0x39; A-Z 0x41-0x5a; a-z 0x61-0x7a; "-./" 0x2d-0x2f, ':' 0x3a, '_' 0x5f. */
static const uint64_t name_first_chars[2] = {BITS(0x30, 0x39), BITS(0x01, 0x1a) | BITS(0x21, 0x3a)};
static const uint64_t name_chars[2] = {BITS(0x2d, 0x3a),
                                       BITS(0x01, 0x1a) | BITS(0x1f, 0x1f) | BITS(0x21, 0x3a)};

static bool in_set(const uint64_t set[2], unsigned char c)
{
    return c < 128 && ((set[c >> 6] >> (c & 63)) & 1) != 0;
}

bool senml_name_valid(const char *name, size_t len)
{
    if (name == NULL || len == 0 || len > SENML_MAX_NAME)
        return false;
    if (!in_set(name_first_chars, (unsigned char)name[0]))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!in_set(name_chars, (unsigned char)name[i]))
            return false;
    return true;
}

void senml_error_format(const struct senml_error *err, char *out, size_t out_size)
{
    char where[32];

    if (out == NULL || out_size == 0)
        return;
    if (err->index >= 0)
        snprintf(where, sizeof where, "record %ld", err->index);
    else
        snprintf(where, sizeof where, "pack");
    if (err->field[0] != '\0')
        snprintf(out, out_size, "%s: field \"%s\": %s", where, err->field, err->reason);
    else
        snprintf(out, out_size, "%s: %s", where, err->reason);
}

/* ---- fields ---------------------------------------------------------------------------- */

static const char *const field_names[SENML_FIELD_COUNT] = {
    [SENML_FIELD_UNKNOWN] = "",
    [SENML_FIELD_BN] = "bn",
    [SENML_FIELD_BT] = "bt",
    [SENML_FIELD_BU] = "bu",
    [SENML_FIELD_BV] = "bv",
    [SENML_FIELD_BS] = "bs",
    [SENML_FIELD_BVER] = "bver",
    [SENML_FIELD_N] = "n",
    [SENML_FIELD_U] = "u",
    [SENML_FIELD_V] = "v",
    [SENML_FIELD_VS] = "vs",
    [SENML_FIELD_VB] = "vb",
    [SENML_FIELD_VD] = "vd",
    [SENML_FIELD_S] = "s",
    [SENML_FIELD_T] = "t",
    [SENML_FIELD_UT] = "ut",
    [SENML_FIELD_BID] = SENML_FIELD_BOOT_ID,
    [SENML_FIELD_SQ] = SENML_FIELD_SEQ,
};

const char *senml_field_name(enum senml_field id)
{
    return id > SENML_FIELD_UNKNOWN && id < SENML_FIELD_COUNT ? field_names[id] : "";
}

/* Keys of at most 4 bytes packed into an integer, so one switch finds the field (the JSON
 * decoder looks up every key). */
#define KEY4(a, b, c, d)                                                                           \
    ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)

enum senml_field senml_field_by_name(const char *key, size_t len)
{
    uint32_t packed = 0;

    if (len == 0 || len > 4)
        return SENML_FIELD_UNKNOWN;
    for (size_t i = 0; i < len; i++) {
        if (key[i] == '\0')
            return SENML_FIELD_UNKNOWN;
        packed |= (uint32_t)(unsigned char)key[i] << (8 * i);
    }
    switch (packed) {
    case KEY4('b', 'n', 0, 0):
        return SENML_FIELD_BN;
    case KEY4('b', 't', 0, 0):
        return SENML_FIELD_BT;
    case KEY4('b', 'u', 0, 0):
        return SENML_FIELD_BU;
    case KEY4('b', 'v', 0, 0):
        return SENML_FIELD_BV;
    case KEY4('b', 's', 0, 0):
        return SENML_FIELD_BS;
    case KEY4('b', 'v', 'e', 'r'):
        return SENML_FIELD_BVER;
    case KEY4('n', 0, 0, 0):
        return SENML_FIELD_N;
    case KEY4('u', 0, 0, 0):
        return SENML_FIELD_U;
    case KEY4('v', 0, 0, 0):
        return SENML_FIELD_V;
    case KEY4('v', 's', 0, 0):
        return SENML_FIELD_VS;
    case KEY4('v', 'b', 0, 0):
        return SENML_FIELD_VB;
    case KEY4('v', 'd', 0, 0):
        return SENML_FIELD_VD;
    case KEY4('s', 0, 0, 0):
        return SENML_FIELD_S;
    case KEY4('t', 0, 0, 0):
        return SENML_FIELD_T;
    case KEY4('u', 't', 0, 0):
        return SENML_FIELD_UT;
    case KEY4('b', 'i', 'd', 0):
        return SENML_FIELD_BID; /* SENML_FIELD_BOOT_ID */
    case KEY4('s', 'q', 0, 0):
        return SENML_FIELD_SQ; /* SENML_FIELD_SEQ */
    default:
        return SENML_FIELD_UNKNOWN;
    }
}

/* ---- what the encoders refuse ---------------------------------------------------------- */

static bool label_key_valid(const char *key)
{
    size_t len = key != NULL ? strlen(key) : 0;

    if (len == 0 || len > SENML_MAX_LABEL_KEY || key[len - 1] == '_')
        return false;
    return senml_field_by_name(key, len) == SENML_FIELD_UNKNOWN;
}

int senml_record_encodable(const struct senml_record *rec, const char *base_name, size_t base_len)
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
