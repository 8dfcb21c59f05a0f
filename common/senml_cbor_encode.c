/* SenML CBOR encoder (see senml_cbor.h): the layout of the JSON encoder in CBOR, each number in
 * its shortest exact form, and refusing what the decoder could not read back. Pure;
 * thread-safe (no shared state). */
#include "common/senml_cbor.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64url.h"
#include "common/cbor_scan.h"
#include "common/senml_cbor_internal.h"
#include "common/senml_internal.h"

static int buf_put(struct senml_buf *buf, const void *bytes, size_t n)
{
    return senml_buf_put(buf, bytes, n);
}

/* A head in its shortest form (RFC 8949 §4.2.1): the argument in 0, 1, 2, 4 or 8 bytes. */
static size_t head_size(uint64_t arg)
{
    return arg < 24 ? 1 : arg <= UINT8_MAX ? 2 : arg <= UINT16_MAX ? 3 : arg <= UINT32_MAX ? 5 : 9;
}

/* Writes major type major with arg in size bytes: 1 (arg below 24), 2, 3, 5 or 9. */
static int put_head_sized(struct senml_buf *buf, enum cbor_major major, uint64_t arg, size_t size)
{
    static const uint8_t info[10] = {[2] = 24, [3] = 25, [5] = 26, [9] = 27};
    uint8_t head[9];

    head[0] = (uint8_t)((unsigned)major << 5 | (size == 1 ? (unsigned)arg : info[size]));
    for (size_t i = 1; i < size; i++)
        head[i] = (uint8_t)(arg >> (8 * (size - 1 - i)));
    return buf_put(buf, head, size);
}

static int put_head(struct senml_buf *buf, enum cbor_major major, uint64_t arg)
{
    return put_head_sized(buf, major, arg, head_size(arg));
}

static int put_label(struct senml_buf *buf, int label)
{
    if (label >= 0)
        return put_head(buf, CBOR_MAJOR_UINT, (uint64_t)label);
    return put_head(buf, CBOR_MAJOR_NEGINT, (uint64_t)(-1 - label));
}

/* A definite-length text string; -EINVAL when text is not valid UTF-8 (the decoder would
 * refuse it). */
static int put_text(struct senml_buf *buf, const char *text)
{
    size_t len = strlen(text);
    int ret;

    if (!cbor_scan_utf8_valid((const uint8_t *)text, len))
        return -EINVAL;
    if ((ret = put_head(buf, CBOR_MAJOR_TEXT, len)) != 0)
        return ret;
    return buf_put(buf, text, len);
}

/* The float16 bits of v when a half holds v exactly. */
static bool half_exact(double v, uint16_t *out)
{
    double magnitude = fabs(v), fraction, mantissa;
    uint16_t sign = signbit(v) ? 0x8000 : 0;
    int exponent;

    if (magnitude == 0) {
        *out = sign;
        return true;
    }
    if (magnitude > 65504.0)
        return false;
    if (magnitude < 0x1p-14) { /* subnormal: mantissa * 2^-24 */
        mantissa = magnitude * 0x1p24;
        if (mantissa != floor(mantissa))
            return false;
        *out = sign | (uint16_t)mantissa;
    } else { /* (1 + mantissa / 1024) * 2^(biased - 15), biased 1..30 */
        fraction = frexp(magnitude, &exponent); /* magnitude = fraction * 2^exponent */
        mantissa = (2 * fraction - 1) * 1024;
        if (mantissa != floor(mantissa))
            return false;
        *out = (uint16_t)(sign | (exponent + 14) << 10 | (uint16_t)mantissa);
    }
    return cbor_half_to_double(*out) == v;
}

/* A number in the shortest of: integer (exact, not -0), float16, float32, float64. */
static int put_number(struct senml_buf *buf, double v)
{
    enum cbor_major major = CBOR_MAJOR_UINT;
    size_t int_size = 0, float_size = 9;
    uint64_t arg = 0, bits;
    uint16_t half;
    float single;

    if (!isfinite(v))
        return -EINVAL;
    if (v == floor(v) && !(v == 0 && signbit(v)) && v >= -SENML_CBOR_TWO_POW_64 &&
        v < SENML_CBOR_TWO_POW_64) {
        if (v >= 0) {
            arg = (uint64_t)v;
        } else {
            major = CBOR_MAJOR_NEGINT;
            arg = v == -SENML_CBOR_TWO_POW_64 ? UINT64_MAX : (uint64_t)-v - 1;
        }
        int_size = head_size(arg);
    }
    if (half_exact(v, &half)) {
        float_size = 3;
        bits = half;
    } else if (fabs(v) <= FLT_MAX && (double)(single = (float)v) == v) {
        uint32_t single_bits;
        memcpy(&single_bits, &single, sizeof single_bits);
        float_size = 5;
        bits = single_bits;
    } else {
        memcpy(&bits, &v, sizeof bits);
    }
    if (int_size != 0 && int_size <= float_size)
        return put_head_sized(buf, major, arg, int_size);
    return put_head_sized(buf, CBOR_MAJOR_SIMPLE, bits, float_size);
}

/* vd: the record holds unpadded base64url text, the wire a byte string. */
static int put_data(struct senml_buf *buf, const char *text)
{
    size_t text_len = strlen(text), tail = text_len % 4, len, got = 0;
    int ret;

    if (tail == 1)
        return -EINVAL;
    len = text_len / 4 * 3 + (tail == 0 ? 0 : tail - 1);
    if ((ret = put_head(buf, CBOR_MAJOR_BYTES, len)) != 0 ||
        (ret = senml_buf_reserve(buf, len)) != 0)
        return ret;
    if (base64url_decode(text, text_len, (uint8_t *)buf->data + buf->len, len, &got) != 0 ||
        got != len)
        return -EINVAL;
    buf->len += len;
    buf->data[buf->len] = '\0';
    return 0;
}

/* What record i carries besides its own fields: base name, base time or relative time. */
struct record_plan {
    bool base_name, base_time, time;
    double time_value;
    size_t entries;
};

/* Record 0 carries bt; record i > 0 carries t relative to the base time in force, or a new bt
 * when bt + t would not give its time back exactly (far-apart times). */
static void record_plan(const struct senml_pack *pack, size_t i, size_t base_len, double *base_time,
                        struct record_plan *plan)
{
    const struct senml_record *rec = &pack->records[i];
    double offset = rec->time_s - *base_time;

    memset(plan, 0, sizeof *plan);
    plan->base_name = i == 0 && base_len > 0;
    if (i == 0 ||
        (rec->time_s != *base_time && !(isfinite(offset) && *base_time + offset == rec->time_s))) {
        plan->base_time = true;
        plan->time_value = rec->time_s;
        *base_time = rec->time_s;
    } else if (rec->time_s != *base_time) {
        plan->time = true;
        plan->time_value = offset;
    }
    plan->entries = plan->base_name + plan->base_time + plan->time + (rec->name[base_len] != '\0') +
                    (rec->unit != NULL) + (rec->kind != SENML_KIND_NONE) + rec->has_sum +
                    rec->has_update_time + rec->label_count;
    if (i == 0)
        plan->entries += (pack->boot_id != NULL) + pack->has_seq;
}

static int put_value(struct senml_buf *buf, const struct senml_record *rec)
{
    int ret = 0;

    switch (rec->kind) {
    case SENML_KIND_NONE:
        break;
    case SENML_KIND_NUMBER:
        if ((ret = put_label(buf, SENML_CBOR_LABEL_V)) == 0)
            ret = put_number(buf, rec->value);
        break;
    case SENML_KIND_STRING:
        if ((ret = put_label(buf, SENML_CBOR_LABEL_VS)) == 0)
            ret = put_text(buf, rec->string);
        break;
    case SENML_KIND_DATA:
        if ((ret = put_label(buf, SENML_CBOR_LABEL_VD)) == 0)
            ret = put_data(buf, rec->string);
        break;
    case SENML_KIND_BOOL:
        ret = put_label(buf, SENML_CBOR_LABEL_VB);
        if (ret == 0)
            ret = put_head(buf, CBOR_MAJOR_SIMPLE,
                           rec->boolean ? CBOR_SIMPLE_TRUE : CBOR_SIMPLE_FALSE);
        break;
    }
    if (ret == 0 && rec->has_sum && (ret = put_label(buf, SENML_CBOR_LABEL_S)) == 0)
        ret = put_number(buf, rec->sum);
    if (ret == 0 && rec->has_update_time && (ret = put_label(buf, SENML_CBOR_LABEL_UT)) == 0)
        ret = put_number(buf, rec->update_time_s);
    return ret;
}

static int put_pack_fields(struct senml_buf *buf, const struct senml_pack *pack)
{
    int ret = 0;

    if (pack->boot_id != NULL && (ret = put_text(buf, SENML_FIELD_BOOT_ID)) == 0)
        ret = put_text(buf, pack->boot_id);
    if (ret == 0 && pack->has_seq) {
        if (pack->seq > SENML_MAX_SEQ)
            return -EINVAL;
        if ((ret = put_text(buf, SENML_FIELD_SEQ)) == 0)
            ret = put_head(buf, CBOR_MAJOR_UINT, pack->seq);
    }
    return ret;
}

static int put_record(struct senml_buf *buf, const struct senml_pack *pack, size_t i,
                      const char *base_name, double *base_time)
{
    const struct senml_record *rec = &pack->records[i];
    size_t base_len = strlen(base_name);
    struct record_plan plan;
    int ret = senml_record_encodable(rec, base_name, base_len);

    if (ret != 0)
        return ret;
    record_plan(pack, i, base_len, base_time, &plan);
    ret = put_head(buf, CBOR_MAJOR_MAP, plan.entries);
    if (ret == 0 && plan.base_name && (ret = put_label(buf, SENML_CBOR_LABEL_BN)) == 0)
        ret = put_text(buf, base_name);
    if (ret == 0 && plan.base_time && (ret = put_label(buf, SENML_CBOR_LABEL_BT)) == 0)
        ret = put_number(buf, plan.time_value);
    if (ret == 0 && rec->name[base_len] != '\0' && (ret = put_label(buf, SENML_CBOR_LABEL_N)) == 0)
        ret = put_text(buf, rec->name + base_len);
    if (ret == 0 && rec->unit != NULL && (ret = put_label(buf, SENML_CBOR_LABEL_U)) == 0)
        ret = put_text(buf, rec->unit);
    if (ret == 0)
        ret = put_value(buf, rec);
    if (ret == 0 && plan.time && (ret = put_label(buf, SENML_CBOR_LABEL_T)) == 0)
        ret = put_number(buf, plan.time_value);
    for (size_t j = 0; ret == 0 && j < rec->label_count; j++)
        if ((ret = put_text(buf, rec->labels[j].key)) == 0)
            ret = put_text(buf, rec->labels[j].value);
    if (ret == 0 && i == 0)
        ret = put_pack_fields(buf, pack);
    return ret;
}

int senml_cbor_encode(const struct senml_pack *pack, const char *base_name, struct senml_buf *buf)
{
    size_t start_len = buf->len;
    double base_time = 0;
    int ret = put_head(buf, CBOR_MAJOR_ARRAY, pack->count);

    for (size_t i = 0; ret == 0 && i < pack->count; i++)
        ret = put_record(buf, pack, i, base_name != NULL ? base_name : "", &base_time);
    if (ret != 0)
        senml_buf_truncate(buf, start_len);
    return ret;
}
