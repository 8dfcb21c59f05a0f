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

/* Plain ASCII tests: isalnum() would follow the locale. */
static bool name_first_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool name_char(unsigned char c)
{
    return name_first_char(c) || c == ':' || c == '.' || c == '/' || c == '_' || c == '-';
}

bool senml_name_valid(const char *name, size_t len)
{
    if (name == NULL || len == 0 || len > SENML_MAX_NAME)
        return false;
    if (!name_first_char((unsigned char)name[0]))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!name_char((unsigned char)name[i]))
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
