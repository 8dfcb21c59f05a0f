/* Test tool: moves every time of a SenML pack by an offset and writes it out again, so RFC 8428
 * example packs (dated 2010..2017) can be posted as recent data. Reads SenML JSON or CBOR
 * (auto-detected: JSON starts with '[' after white space), resolves it with the project's
 * decoders (common/senml_json.h, common/senml_cbor.h), adds the offset to every record's
 * time and encodes it with the project's encoders (compact form: bn = --bn or none, bt the
 * first record's time, later records t relative to it).
 *   senml_shift [--in json|cbor] [--out json|cbor] [--offset SECONDS | --first EPOCH_S]
 *               [--now EPOCH_S] [--bn BASE_NAME] IN OUT
 * IN / OUT may be "-" (stdin / stdout). --offset adds SECONDS (may be fractional or
 * negative); --first moves the first record's time to EPOCH_S ("now" for the current
 * time); --now is the clock that relative and absent times resolve against (default: the
 * current time). With --print-offset the offset applied is printed on stderr.
 * Exit status 0, 1 on a decode/encode error (the decoder's message on stderr), 2 on usage. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/senml.h"
#include "common/senml_cbor.h"
#include "common/senml_json.h"

#define MAX_INPUT (16u * 1024u * 1024u)

static int usage(void)
{
    fprintf(stderr, "usage: senml_shift [--in json|cbor] [--out json|cbor] [--offset SECONDS | "
                    "--first EPOCH_S|now] [--now EPOCH_S] [--bn BASE_NAME] [--print-offset] IN "
                    "OUT\n");
    return 2;
}

static int read_all(const char *path, uint8_t **out, size_t *out_len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL)
        return -errno;
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    int rc = 0;
    while (buf != NULL) {
        if (len == cap) {
            uint8_t *bigger = cap < MAX_INPUT ? realloc(buf, cap * 2) : NULL;
            if (bigger == NULL) {
                rc = cap < MAX_INPUT ? -ENOMEM : -EFBIG;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            if (ferror(f))
                rc = -EIO;
            break;
        }
    }
    if (buf == NULL)
        rc = -ENOMEM;
    if (f != stdin)
        fclose(f);
    if (rc != 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    *out_len = len;
    return 0;
}

static int write_all(const char *path, const char *data, size_t len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
    if (f == NULL)
        return -errno;
    int rc = fwrite(data, 1, len, f) == len ? 0 : -EIO;
    if (f == stdout)
        rc = fflush(f) == 0 ? rc : -EIO;
    else if (fclose(f) != 0)
        rc = -EIO;
    return rc;
}

static int looks_like_json(const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n')
            continue;
        return data[i] == '[';
    }
    return 0;
}

/* Parses seconds (fractional allowed) or "now". */
static int parse_seconds(const char *text, double *out)
{
    if (strcmp(text, "now") == 0) {
        *out = (double)clock_wall_ms() / 1000.0;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !isfinite(v))
        return -EINVAL;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    const char *in_format = NULL, *out_format = "json", *base_name = NULL;
    const char *paths[2] = {NULL, NULL};
    int n_paths = 0, print_offset = 0, have_offset = 0, have_first = 0;
    double offset_s = 0, first_s = 0, now_s = (double)clock_wall_ms() / 1000.0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (strcmp(a, "--in") == 0 && has_value)
            in_format = argv[++i];
        else if (strcmp(a, "--out") == 0 && has_value)
            out_format = argv[++i];
        else if (strcmp(a, "--bn") == 0 && has_value)
            base_name = argv[++i];
        else if (strcmp(a, "--offset") == 0 && has_value) {
            if (parse_seconds(argv[++i], &offset_s) != 0)
                return usage();
            have_offset = 1;
        } else if (strcmp(a, "--first") == 0 && has_value) {
            if (parse_seconds(argv[++i], &first_s) != 0)
                return usage();
            have_first = 1;
        } else if (strcmp(a, "--now") == 0 && has_value) {
            if (parse_seconds(argv[++i], &now_s) != 0)
                return usage();
        } else if (strcmp(a, "--print-offset") == 0)
            print_offset = 1;
        else if (a[0] == '-' && a[1] == '-')
            return usage();
        else if (n_paths < 2)
            paths[n_paths++] = a;
        else
            return usage();
    }
    if (n_paths != 2 || (have_offset && have_first) ||
        (in_format != NULL && strcmp(in_format, "json") != 0 && strcmp(in_format, "cbor") != 0) ||
        (strcmp(out_format, "json") != 0 && strcmp(out_format, "cbor") != 0))
        return usage();

    uint8_t *input = NULL;
    size_t input_len = 0;
    int rc = read_all(paths[0], &input, &input_len);
    if (rc != 0) {
        fprintf(stderr, "senml_shift: %s: %s\n", paths[0], strerror(-rc));
        return 1;
    }
    int is_json =
        in_format != NULL ? strcmp(in_format, "json") == 0 : looks_like_json(input, input_len);
    struct senml_pack *pack = NULL;
    struct senml_error err = {0};
    int64_t now_ms = (int64_t)llround(now_s * 1000.0);
    rc = is_json ? senml_json_decode((const char *)input, input_len, now_ms, &pack, &err)
                 : senml_cbor_decode(input, input_len, now_ms, &pack, &err);
    free(input);
    if (rc != 0) {
        char msg[256];
        senml_error_format(&err, msg, sizeof msg);
        fprintf(stderr, "senml_shift: %s: cannot decode as SenML %s: %s (%s)\n", paths[0],
                is_json ? "JSON" : "CBOR", msg, strerror(-rc));
        return 1;
    }
    if (have_first && pack->count > 0)
        offset_s = first_s - pack->records[0].time_s;
    for (size_t i = 0; i < pack->count; i++)
        pack->records[i].time_s += offset_s;
    if (print_offset)
        fprintf(stderr, "%.3f\n", offset_s);

    struct senml_buf out = {0};
    rc = strcmp(out_format, "cbor") == 0 ? senml_cbor_encode(pack, base_name, &out)
                                         : senml_json_encode(pack, base_name, &out);
    senml_pack_free(pack);
    if (rc == 0)
        rc = write_all(paths[1], out.data, out.len);
    else
        fprintf(stderr, "senml_shift: cannot encode the shifted pack: %s\n", strerror(-rc));
    senml_buf_free(&out);
    return rc == 0 ? 0 : 1;
}
