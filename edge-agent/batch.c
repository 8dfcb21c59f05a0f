/* One collection's samples: a fixed-capacity array filled by the collectors, and the
 * rounding applied to every published value. No allocation, no I/O.
 * Not thread-safe (the agent is single-threaded). */
#include "edge-agent/batch.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_ROUND_MAX_DECIMALS 15

void metric_batch_reset(struct metric_batch *batch, int64_t time_ms)
{
    batch->time_ms = time_ms;
    batch->count = 0;
}

/* Copies src into dst (size bytes incl. NUL); -EINVAL when it does not fit. */
static int batch_copy_text(char *dst, size_t size, const char *src)
{
    size_t len = strlen(src);

    if (len >= size)
        return -EINVAL;
    memcpy(dst, src, len + 1);
    return 0;
}

int metric_batch_add_labeled(struct metric_batch *batch, const char *name, double value,
                             const char *label_key, const char *label_value)
{
    struct batch_sample *sample;

    if (name == NULL || name[0] == '\0' || strlen(name) >= AGENT_METRIC_NAME_MAX)
        return -EINVAL;
    if (label_key == NULL || label_value == NULL || strlen(label_key) >= AGENT_LABEL_MAX ||
        strlen(label_value) >= AGENT_LABEL_MAX)
        return -EINVAL;
    if (batch->count >= AGENT_BATCH_MAX)
        return -ENOSPC;

    sample = &batch->samples[batch->count];
    /* Lengths were checked above, so these cannot fail. */
    (void)batch_copy_text(sample->name, sizeof(sample->name), name);
    (void)batch_copy_text(sample->label_key, sizeof(sample->label_key), label_key);
    (void)batch_copy_text(sample->label_value, sizeof(sample->label_value), label_value);
    sample->value = value;
    batch->count++;
    return 0;
}

int metric_batch_add(struct metric_batch *batch, const char *name, double value)
{
    return metric_batch_add_labeled(batch, name, value, "", "");
}

/* Rounding value * 10^decimals directly would round the binary approximation: 12.345 is
 * stored as 12.3449999..., and 12.345 * 100 gives 1234.4999...98. Printing the scaled value
 * with 15 significant digits (all a double carries reliably) recovers the decimal the
 * value stands for (1234.5), which is then rounded half away from zero. */
double metric_round(double value, int decimals)
{
    char text[40];
    double scale = 1.0;
    double scaled;
    double rounded;

    assert(decimals >= 0 && decimals <= BATCH_ROUND_MAX_DECIMALS);
    if (decimals < 0)
        decimals = 0;
    if (decimals > BATCH_ROUND_MAX_DECIMALS)
        decimals = BATCH_ROUND_MAX_DECIMALS;
    if (!isfinite(value))
        return value;
    for (int i = 0; i < decimals; i++)
        scale *= 10.0;

    scaled = value * scale;
    /* From 2^52 on a double has no fractional part left to round. */
    if (!isfinite(scaled) || fabs(scaled) >= 4503599627370496.0)
        return value;
    (void)snprintf(text, sizeof(text), "%.15g", scaled);
    rounded = round(strtod(text, NULL)) / scale;
    /* No "-0" on the wire. */
    return rounded == 0.0 ? 0.0 : rounded;
}
