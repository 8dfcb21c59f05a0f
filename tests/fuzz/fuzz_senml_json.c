/* libFuzzer target for the SenML JSON decoder (common/senml_json_decode.c and senml_json_encode.c):
 * any bytes must be decoded or refused without a crash, leak or sanitizer report, and a pack that
 * decodes must survive encode -> decode with the same record count and names (else abort). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/senml.h"
#include "common/senml_json.h"

#define FUZZ_NOW_MS INT64_C(1700000000000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const struct senml_pack *pack)
{
    struct senml_buf buf = {0};
    struct senml_pack *back = NULL;
    struct senml_error err;

    /* Every decoded pack is encodable: names are valid, numbers finite, labels legal. */
    if (senml_json_encode(pack, NULL, &buf) != 0)
        abort();
    if (senml_json_decode(buf.data, buf.len, FUZZ_NOW_MS, &back, &err) != 0)
        abort();
    if (back->count != pack->count)
        abort();
    for (size_t i = 0; i < pack->count; i++)
        if (strcmp(back->records[i].name, pack->records[i].name) != 0)
            abort();
    senml_pack_free(back);
    senml_buf_free(&buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct senml_pack *pack = NULL;
    struct senml_error err;

    if (senml_json_decode((const char *)data, size, FUZZ_NOW_MS, &pack, &err) != 0)
        return 0;
    check_round_trip(pack);
    senml_pack_free(pack);
    return 0;
}
