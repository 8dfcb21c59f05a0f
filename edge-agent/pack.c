/* Collection -> SenML JSON (see pack.h). Builds a borrowed senml_pack over the batch and
 * lets the common encoder write it. */
#include "edge-agent/pack.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/topic.h"

int agent_pack_encode(const struct metric_batch *batch, const char *host, const char *boot_id,
                      bool has_seq, uint64_t seq, struct senml_buf *out)
{
    size_t n = batch->count;
    size_t name_size = TOPIC_HOST_MAX + 1 + AGENT_METRIC_NAME_MAX;
    char base_name[TOPIC_HOST_MAX + 2];
    if (snprintf(base_name, sizeof base_name, "%s/", host) >= (int)sizeof base_name)
        return -EINVAL;
    struct senml_record *records = calloc(n ? n : 1, sizeof *records);
    char *names = malloc((n ? n : 1) * name_size);
    int rc = -ENOMEM;
    if (records == NULL || names == NULL)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const struct batch_sample *s = &batch->samples[i];
        struct senml_record *r = &records[i];
        r->name = names + i * name_size;
        snprintf(r->name, name_size, "%s%s", base_name, s->name);
        r->time_s = (double)batch->time_ms / 1000.0;
        r->kind = SENML_KIND_NUMBER;
        r->value = s->value;
        if (s->label_key[0] != '\0') {
            r->labels[0].key = (char *)s->label_key;
            r->labels[0].value = (char *)s->label_value;
            r->label_count = 1;
        }
    }
    struct senml_pack pack = {.records = records, .count = n, .boot_id = (char *)boot_id,
                              .has_seq = has_seq, .seq = seq};
    rc = senml_json_encode(&pack, base_name, out);
out:
    free(names);
    free(records);
    return rc;
}
