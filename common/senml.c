/* SenML data model (see senml.h): releasing a decoded pack, the RFC 8428 §4.5.1 name rule
 * and error text. Pure; thread-safe (no shared state). */
#include "common/senml.h"

#include <stdio.h>
#include <stdlib.h>

void senml_pack_free(struct senml_pack *pack)
{
    if (pack == NULL)
        return;
    for (size_t i = 0; i < pack->count; i++) {
        struct senml_record *rec = &pack->records[i];

        free(rec->name);
        free(rec->unit);
        free(rec->string);
        for (size_t j = 0; j < rec->label_count; j++) {
            free(rec->labels[j].key);
            free(rec->labels[j].value);
        }
    }
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
