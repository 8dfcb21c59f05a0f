/* libFuzzer target for the config parser: arbitrary bytes go to config_load_text over a table
 * with every option type. Beyond "no crash, no leak", a text that loads must print
 * (config_print) to a text that loads back to the same values. Single-threaded. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_config {
    char *name;
    int64_t count;
    int64_t offset;
    bool enabled;
    int64_t interval_ms;
    int64_t max_bytes;
    char *mode;
    char *token;
};

static const struct config_option fuzz_opts[] = {
    {.section = "a",
     .key = "name",
     .type = CONFIG_TYPE_STRING,
     .offset = offsetof(struct fuzz_config, name),
     .min = 0,
     .max = 0,
     .default_text = "x"},
    {.section = "a",
     .key = "count",
     .type = CONFIG_TYPE_INT,
     .offset = offsetof(struct fuzz_config, count),
     .min = 1,
     .max = 65535,
     .default_text = "1"},
    {.section = "a",
     .key = "offset",
     .type = CONFIG_TYPE_INT,
     .offset = offsetof(struct fuzz_config, offset),
     .min = INT64_MIN,
     .max = INT64_MAX,
     .default_text = "-5"},
    {.section = "a",
     .key = "enabled",
     .type = CONFIG_TYPE_BOOL,
     .offset = offsetof(struct fuzz_config, enabled),
     .default_text = "no"},
    {.section = "b.c",
     .key = "interval",
     .type = CONFIG_TYPE_DURATION,
     .offset = offsetof(struct fuzz_config, interval_ms),
     .min = 0,
     .max = INT64_MAX,
     .default_text = "5s"},
    {.section = "b.c",
     .key = "max-size",
     .type = CONFIG_TYPE_SIZE,
     .offset = offsetof(struct fuzz_config, max_bytes),
     .min = 0,
     .max = INT64_MAX,
     .default_text = "1MiB"},
    {.section = "d",
     .key = "mode",
     .type = CONFIG_TYPE_ENUM,
     .offset = offsetof(struct fuzz_config, mode),
     .default_text = "fast",
     .choices = "fast|slow|off"},
    {.section = "d",
     .key = "token",
     .type = CONFIG_TYPE_STRING,
     .offset = offsetof(struct fuzz_config, token),
     .min = 0,
     .max = 64,
     .default_text = "",
     .secret = true},
};
#define N_OPTS (sizeof fuzz_opts / sizeof fuzz_opts[0])

static void load_or_die(struct fuzz_config *cfg, const char *text, size_t len)
{
    struct config_error err;
    if (config_set_defaults(fuzz_opts, N_OPTS, cfg, &err) != 0 ||
        config_load_text(fuzz_opts, N_OPTS, cfg, text, len, "printed", &err) != 0) {
        fprintf(stderr, "printed config does not load: %s\n---\n%.*s---\n", err.message, (int)len,
                text);
        abort();
    }
}

static void check_same(const struct fuzz_config *a, const struct fuzz_config *b)
{
    if (strcmp(a->name, b->name) != 0 || a->count != b->count || a->offset != b->offset ||
        a->enabled != b->enabled || a->interval_ms != b->interval_ms ||
        a->max_bytes != b->max_bytes || strcmp(a->mode, b->mode) != 0) {
        fprintf(stderr, "round trip changed a value\n");
        abort();
    }
}

static void check_round_trip(const struct fuzz_config *cfg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (out == NULL)
        abort();
    config_print(fuzz_opts, N_OPTS, cfg, out);
    fclose(out);
    struct fuzz_config copy = {0};
    load_or_die(&copy, text, len);
    check_same(cfg, &copy);
    config_free(fuzz_opts, N_OPTS, &copy);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_config cfg = {0};
    struct config_error err;
    memset(&err, 'x', sizeof err);
    if (config_set_defaults(fuzz_opts, N_OPTS, &cfg, &err) != 0)
        abort();
    int rc = config_load_text(fuzz_opts, N_OPTS, &cfg, (const char *)data, size, "fuzz", &err);
    if (rc != 0 && (memchr(err.message, '\0', sizeof err.message) == NULL ||
                    strchr(err.message, '\n') != NULL || strncmp(err.message, "fuzz", 4) != 0))
        abort(); /* errors are one terminated line starting with the source */
    if (rc == 0)
        check_round_trip(&cfg);
    config_free(fuzz_opts, N_OPTS, &cfg);
    return 0;
}
