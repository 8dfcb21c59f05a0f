/* libFuzzer target for the SenML CBOR decoder and encoder (common/senml_cbor_decode.c,
 * senml_cbor_encode.c, cbor_scan.c): any bytes must be decoded or refused without a crash, leak
 * or sanitizer report, and a pack that decodes must come back as the same pack from
 * CBOR encode -> decode and from JSON encode -> decode (else abort). Times are compared when
 * all are absolute (below 2^28 a time read back is relative to now again). */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/senml.h"
#include "common/senml_cbor.h"
#include "common/senml_json.h"

#define FUZZ_NOW_MS INT64_C(1700000000000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_double(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

static bool same_string(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool same_record(const struct senml_record *a, const struct senml_record *b, bool times)
{
    if (strcmp(a->name, b->name) != 0 || !same_string(a->unit, b->unit) || a->kind != b->kind ||
        !same_double(a->value, b->value) || !same_string(a->string, b->string) ||
        a->boolean != b->boolean || a->has_sum != b->has_sum || !same_double(a->sum, b->sum) ||
        a->has_update_time != b->has_update_time ||
        !same_double(a->update_time_s, b->update_time_s) || a->label_count != b->label_count)
        return false;
    if (times && !same_double(a->time_s, b->time_s))
        return false;
    for (size_t i = 0; i < a->label_count; i++)
        if (strcmp(a->labels[i].key, b->labels[i].key) != 0 ||
            strcmp(a->labels[i].value, b->labels[i].value) != 0)
            return false;
    return true;
}

static void check_same(const struct senml_pack *a, const struct senml_pack *b)
{
    bool times = true;

    for (size_t i = 0; i < a->count; i++)
        times = times && a->records[i].time_s >= SENML_RELATIVE_LIMIT_S;
    if (a->count != b->count || !same_string(a->boot_id, b->boot_id) || a->has_seq != b->has_seq ||
        a->seq != b->seq)
        abort();
    for (size_t i = 0; i < a->count; i++)
        if (!same_record(&a->records[i], &b->records[i], times))
            abort();
}

static void check_round_trips(const struct senml_pack *pack)
{
    struct senml_buf cbor = {0}, json = {0};
    struct senml_pack *back = NULL;
    struct senml_error err;

    /* Every decoded pack is encodable, in both forms, and reads back the same. */
    if (senml_cbor_encode(pack, NULL, &cbor) != 0)
        abort();
    if (senml_cbor_decode((const uint8_t *)cbor.data, cbor.len, FUZZ_NOW_MS, &back, &err) != 0)
        abort();
    check_same(pack, back);
    senml_pack_free(back);
    back = NULL;
    if (senml_json_encode(pack, NULL, &json) != 0)
        abort();
    if (senml_json_decode(json.data, json.len, FUZZ_NOW_MS, &back, &err) != 0)
        abort();
    check_same(pack, back);
    senml_pack_free(back);
    senml_buf_free(&json);
    senml_buf_free(&cbor);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct senml_pack *pack = NULL;
    struct senml_error err;
    int ret = senml_cbor_decode(data, size, FUZZ_NOW_MS, &pack, &err);

    if (ret != 0) {
        if (pack != NULL || (ret != -EBADMSG && ret != -E2BIG && ret != -ENOMEM) ||
            err.offset > size)
            abort();
        return 0;
    }
    check_round_trips(pack);
    senml_pack_free(pack);
    return 0;
}
