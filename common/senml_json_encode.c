/* SenML JSON encoder (see senml_json.h): writes the compact form updraft agents send, and
 * refuses what the decoder could not read back. Pure; thread-safe (no shared state).
 * strtod/snprintf need LC_NUMERIC "C": our programs never call setlocale(). */
#include "common/senml_json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_scan.h"
#include "common/senml_internal.h"

static int buf_put(struct senml_buf *buf, const void *bytes, size_t n)
{
    return senml_buf_put(buf, bytes, n);
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
            size_t n = json_scan_utf8_len(p, (size_t)(end - p));
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
/* The common case without printf: a value with at most 3 decimals (every sample time in ms,
 * most readings) below 2^33. There the double nearest m / 1000 is exactly what the division
 * gives (IEEE division rounds correctly), doubles are closer than 10^-6, so "%.15g" would print
 * those same digits and read back the same value: the output is byte for byte what the
 * loop in senml_number_text writes (tests/unit/test_senml.c checks it over a million values).
 * Returns the length written to text, or 0 when the value is not such a one. */
static int format_fixed3(char text[static SENML_NUMBER_TEXT], double value)
{
    if (!(fabs(value) < 8589934592.0) || (value == 0 && signbit(value)))
        return 0;
    long long m = llround(value * 1000.0);
    if ((double)m / 1000.0 != value)
        return 0;
    int len = 0;
    unsigned long long a = m < 0 ? (unsigned long long)-m : (unsigned long long)m;
    if (m < 0)
        text[len++] = '-';
    char digits[24];
    int nd = 0;
    unsigned long long whole = a / 1000;
    do {
        digits[nd++] = (char)('0' + whole % 10);
        whole /= 10;
    } while (whole != 0);
    while (nd > 0)
        text[len++] = digits[--nd];
    unsigned frac = (unsigned)(a % 1000);
    if (frac != 0) {
        text[len++] = '.';
        char f[3] = {(char)('0' + frac / 100), (char)('0' + frac / 10 % 10),
                     (char)('0' + frac % 10)};
        int nf = f[2] != '0' ? 3 : f[1] != '0' ? 2 : 1;
        for (int i = 0; i < nf; i++)
            text[len++] = f[i];
    }
    text[len] = '\0';
    return len;
}

int senml_number_text(double value, char text[static SENML_NUMBER_TEXT])
{
    int len = format_fixed3(text, value);
    if (len > 0)
        return len;
    for (int precision = 15; precision <= 17; precision++) {
        len = snprintf(text, SENML_NUMBER_TEXT, "%.*g", precision, value);
        if (strtod(text, NULL) == value)
            break;
    }
    return len;
}

static int put_number(struct senml_buf *buf, double value)
{
    char text[SENML_NUMBER_TEXT];

    if (!isfinite(value))
        return -EINVAL;
    int len = senml_number_text(value, text);
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
        if (pack->seq > SENML_MAX_SEQ)
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
    int ret = senml_record_encodable(rec, base_name, base_len);

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
    if (ret != 0)
        senml_buf_truncate(buf, start_len);
    return ret;
}
