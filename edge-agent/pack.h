/* Turns a collection (metric_batch) into the SenML JSON pack the agent publishes:
 * bn "<host>/", bt the collection time, one record per sample, labels as extra string
 * fields, and the pack's identity (bid = boot id, sq = per-boot sequence) on the first
 * record. Pure: no I/O. */
#ifndef UPDRAFT_AGENT_PACK_H
#define UPDRAFT_AGENT_PACK_H

#include <stdbool.h>
#include <stdint.h>

#include "common/senml_json.h"
#include "edge-agent/batch.h"

/* Appends the pack to out (a senml_buf, reset by the caller). seq is written when has_seq.
 * Returns 0, -EINVAL (bad host / NaN value), -ENOMEM. */
int agent_pack_encode(const struct metric_batch *batch, const char *host, const char *boot_id,
                      bool has_seq, uint64_t seq, struct senml_buf *out)
    __attribute__((warn_unused_result));

#endif
