/* One collection's samples, filled by the collectors and turned into a SenML pack by the
 * publisher. Fixed capacity (AGENT_BATCH_MAX samples): a full batch refuses more with
 * -ENOSPC, counted by the caller. Not thread-safe (the agent is single-threaded). */
#ifndef UPDRAFT_AGENT_BATCH_H
#define UPDRAFT_AGENT_BATCH_H

#include <stddef.h>
#include <stdint.h>

#define AGENT_BATCH_MAX 1024
#define AGENT_METRIC_NAME_MAX 64 /* bytes incl. NUL: "cpu.core.15", "disk.used_pct" */
#define AGENT_LABEL_MAX 64       /* bytes incl. NUL for a label key or value */

struct batch_sample {
    char name[AGENT_METRIC_NAME_MAX];     /* metric name without the host: "cpu.utilization" */
    double value;
    char label_key[AGENT_LABEL_MAX];      /* "" when the sample has no label */
    char label_value[AGENT_LABEL_MAX];
};

struct metric_batch {
    int64_t time_ms; /* wall-clock time of the collection, set by the caller */
    size_t count;
    struct batch_sample samples[AGENT_BATCH_MAX];
};

/* Empties the batch and stamps it with time_ms. */
void metric_batch_reset(struct metric_batch *batch, int64_t time_ms);

/* Appends one sample. name must fit AGENT_METRIC_NAME_MAX (else -EINVAL); full: -ENOSPC. */
int metric_batch_add(struct metric_batch *batch, const char *name, double value)
    __attribute__((warn_unused_result));

/* Appends one sample with one label (label_key = label_value), e.g. mount = "/". */
int metric_batch_add_labeled(struct metric_batch *batch, const char *name, double value,
                             const char *label_key, const char *label_value)
    __attribute__((warn_unused_result));

/* Rounds to `decimals` decimal places (values are published with 2 decimals: compact on the
 * wire and exactly representable as scaled decimals in the hub's store). */
double metric_round(double value, int decimals);

#endif
