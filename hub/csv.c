/* RFC 4180 rows and round-trip number text (see csv.h). */
#include "hub/csv.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool needs_quotes(const struct csv_field *f)
{
    for (size_t i = 0; i < f->len; i++) {
        char c = f->text[i];
        if (c == ',' || c == '"' || c == '\r' || c == '\n')
            return true;
    }
    return false;
}

static size_t field_size(const struct csv_field *f)
{
    if (!needs_quotes(f))
        return f->len;
    size_t size = f->len + 2;
    for (size_t i = 0; i < f->len; i++)
        size += f->text[i] == '"';
    return size;
}

size_t csv_row_size(const struct csv_field *fields, size_t n)
{
    size_t size = 2; /* CRLF */
    for (size_t i = 0; i < n; i++)
        size += field_size(&fields[i]) + (i > 0);
    return size;
}

size_t csv_row_write(char *out, const struct csv_field *fields, size_t n)
{
    char *p = out;
    for (size_t i = 0; i < n; i++) {
        const struct csv_field *f = &fields[i];
        if (i > 0)
            *p++ = ',';
        if (!needs_quotes(f)) {
            if (f->len > 0)
                memcpy(p, f->text, f->len);
            p += f->len;
            continue;
        }
        *p++ = '"';
        for (size_t j = 0; j < f->len; j++) {
            if (f->text[j] == '"')
                *p++ = '"';
            *p++ = f->text[j];
        }
        *p++ = '"';
    }
    *p++ = '\r';
    *p++ = '\n';
    return (size_t)(p - out);
}

char *csv_number_format(double value, char *out, size_t out_size)
{
    if (isnan(value)) {
        snprintf(out, out_size, "NaN");
        return out;
    }
    if (isinf(value)) {
        snprintf(out, out_size, "%s", value > 0 ? "Inf" : "-Inf");
        return out;
    }
    /* 15 digits print what arrived as decimal text of up to 15 digits as it arrived (as the
     * JSON API does); 17 are always enough to give back the exact double. */
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(out, out_size, "%.*g", digits, value);
        if (strtod(out, NULL) == value)
            break;
    }
    return out;
}
