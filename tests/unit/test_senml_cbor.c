/* Unit tests for the SenML CBOR codec (common/senml_cbor_decode.c, senml_cbor_encode.c and
 * common/cbor_scan.c): the RFC 8428 CBOR examples against their resolved forms, JSON -> CBOR ->
 * JSON round trips of the RFC examples and of our agent's packs, every integer width, float16
 * (all 65536 patterns), decimal fractions, indefinite lengths, tables of refused inputs with
 * their error detail, truncation at every offset, bit flips, exact encoder output, and (without
 * ASan) every allocation failing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <errno.h>
#include <glob.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cbor_scan.h"
#include "common/senml.h"
#include "common/senml_cbor.h"
#include "common/senml_json.h"
#include "edge-agent/batch.h"
#include "edge-agent/pack.h"
#include "tests/support/alloc_fail.h"
#include "tests/support/senml_fixture.h"
#include "tests/support/test_bits.h"

#define NOW_MS INT64_C(1700000000000)
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define UNCHECKED SENML_FIXTURE_UNCHECKED
#define FAULT_INJECTION ALLOC_FAIL_AVAILABLE
#define HEX_MAX 65536

/* ---- helpers --------------------------------------------------------------------------- */

/* Bytes of hex text ("81 a1 02 01"; spaces ignored) into out; returns the count. */
static size_t hex_bytes(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int high = -1;

    for (const char *p = hex; *p != '\0'; p++) {
        int nibble = 0;

        if (*p == ' ')
            continue;
        if (*p >= '0' && *p <= '9')
            nibble = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            nibble = *p - 'a' + 10;
        else
            fail_msg("bad hex character '%c' in %s", *p, hex);
        if (high < 0) {
            high = nibble;
            continue;
        }
        assert_true(n < cap);
        out[n++] = (uint8_t)(high << 4 | nibble);
        high = -1;
    }
    assert_int_equal(high, -1);
    return n;
}

static void hex_text(const uint8_t *bytes, size_t len, char *out, size_t out_size)
{
    size_t o = 0;

    out[0] = '\0';
    for (size_t i = 0; i < len && o + 3 < out_size; i++)
        o += (size_t)snprintf(out + o, out_size - o, "%02x", bytes[i]);
}

/* buf holds exactly the bytes of want_hex. */
static void assert_cbor_hex(const struct senml_buf *buf, const char *want_hex)
{
    static uint8_t want[HEX_MAX];
    size_t len = hex_bytes(want_hex, want, sizeof want);
    char got[1024];

    hex_text((const uint8_t *)buf->data, buf->len, got, sizeof got);
    if (buf->len != len || memcmp(buf->data, want, len) != 0)
        fail_msg("encoded %s\n   want %s", got, want_hex);
}

/* Appends n raw bytes to buf (for hand-made additions to an encoding). */
static void buf_append(struct senml_buf *buf, const uint8_t *bytes, size_t n)
{
    char *data = realloc(buf->data, buf->len + n + 1);

    assert_non_null(data);
    buf->data = data;
    memcpy(buf->data + buf->len, bytes, n);
    buf->len += n;
    buf->data[buf->len] = '\0';
    buf->cap = buf->len + 1;
}

static struct senml_pack *decode_ok(const uint8_t *cbor, size_t len, int64_t now_ms)
{
    struct senml_pack *pack = NULL;
    struct senml_error err;
    char text[256], hex[512];
    int ret = senml_cbor_decode(cbor, len, now_ms, &pack, &err);

    if (ret != 0) {
        senml_error_format(&err, text, sizeof text);
        hex_text(cbor, len, hex, sizeof hex);
        fail_msg("decode failed (%d, %s at %zu) for: %s", ret, text, err.offset, hex);
    }
    assert_non_null(pack);
    return pack;
}

static struct senml_pack *decode_hex(const char *hex)
{
    static uint8_t bytes[HEX_MAX];
    size_t len = hex_bytes(hex, bytes, sizeof bytes);

    return decode_ok(bytes, len, NOW_MS);
}

static struct senml_pack *json_ok(const char *json, size_t len, int64_t now_ms)
{
    struct senml_pack *pack = NULL;
    struct senml_error err;
    char text[256];

    if (senml_json_decode(json, len, now_ms, &pack, &err) != 0) {
        senml_error_format(&err, text, sizeof text);
        fail_msg("JSON decode failed (%s) for: %.200s", text, json);
    }
    return pack;
}

static int decode_err(const uint8_t *cbor, size_t len, struct senml_error *err)
{
    struct senml_pack *pack = NULL;
    int ret = senml_cbor_decode(cbor, len, NOW_MS, &pack, err);

    if (ret == 0)
        senml_pack_free(pack);
    else
        assert_null(pack);
    return ret;
}

static void assert_same_double(double got, double want)
{
    if (test_bits_of(got) != test_bits_of(want))
        fail_msg("got %.17g, want %.17g", got, want);
}

/* Everything a resolved record says, compared exactly (doubles bit for bit). */
static void assert_record_equal(const struct senml_record *got, const struct senml_record *want)
{
    assert_string_equal(got->name, want->name);
    senml_fixture_assert_string(got->unit, want->unit);
    assert_same_double(got->time_s, want->time_s);
    assert_int_equal(got->kind, want->kind);
    assert_same_double(got->value, want->value);
    senml_fixture_assert_string(got->string, want->string);
    assert_int_equal(got->boolean, want->boolean);
    assert_int_equal(got->has_sum, want->has_sum);
    assert_same_double(got->sum, want->sum);
    assert_int_equal(got->has_update_time, want->has_update_time);
    assert_same_double(got->update_time_s, want->update_time_s);
    assert_int_equal(got->label_count, want->label_count);
    for (size_t i = 0; i < want->label_count; i++) {
        assert_string_equal(got->labels[i].key, want->labels[i].key);
        assert_string_equal(got->labels[i].value, want->labels[i].value);
    }
}

static void assert_packs_equal(const struct senml_pack *got, const struct senml_pack *want)
{
    assert_int_equal(got->count, want->count);
    for (size_t i = 0; i < want->count; i++)
        assert_record_equal(&got->records[i], &want->records[i]);
    senml_fixture_assert_string(got->boot_id, want->boot_id);
    assert_int_equal(got->has_seq, want->has_seq);
    assert_int_equal(got->seq, want->seq);
}

/* pack -> CBOR -> pack must give pack back; returns the encoding (caller frees). */
static struct senml_buf cbor_round_trip(const struct senml_pack *pack, const char *base_name)
{
    struct senml_buf buf = {0};
    struct senml_pack *back;

    assert_int_equal(senml_cbor_encode(pack, base_name, &buf), 0);
    back = decode_ok((const uint8_t *)buf.data, buf.len, NOW_MS);
    assert_packs_equal(back, pack);
    senml_pack_free(back);
    return buf;
}

static struct senml_record *record_set(struct senml_pack *pack, size_t i, const char *name,
                                       double time_s, double value)
{
    struct senml_record *rec = &pack->records[i];

    free(rec->name);
    rec->name = senml_fixture_strdup(name);
    rec->time_s = time_s;
    rec->kind = SENML_KIND_NUMBER;
    rec->value = value;
    return rec;
}

/* ---- RFC 8428 examples ----------------------------------------------------------------- */

/* The resolved files hold absolute times; a vector with relative ones would need the tooling's
 * "now" (see test_senml.c), and the CBOR examples have none. */
static void decodes_every_rfc_cbor_example_to_its_resolved_form(void **state)
{
    glob_t found;

    (void)state;
    senml_fixture_vectors(".gen.cbor", &found);
    assert_true(found.gl_pathc >= 2); /* ex3 (printed in §6) and ex5 */
    for (size_t i = 0; i < found.gl_pathc; i++) {
        const char *path = found.gl_pathv[i];
        char twin[4096];
        size_t len, resolved_len, json_len;
        char *cbor = senml_fixture_read_file(path, &len), *resolved, *json;
        struct senml_pack *got, *want, *from_json;

        print_message("  %s\n", path);
        assert_non_null(cbor);
        snprintf(twin, sizeof twin, "%.*s.gen.resolved.json",
                 (int)(strlen(path) - strlen(".gen.cbor")), path);
        resolved = senml_fixture_read_file(twin, &resolved_len);
        assert_non_null(resolved);
        got = decode_ok((const uint8_t *)cbor, len, 0);
        want = json_ok(resolved, resolved_len, 0);
        assert_int_equal(got->count, want->count);
        for (size_t r = 0; r < want->count; r++) {
            assert_true(got->records[r].time_s >= SENML_RELATIVE_LIMIT_S);
            assert_record_equal(&got->records[r], &want->records[r]);
        }
        /* and exactly what the JSON of the same example decodes to */
        snprintf(twin, sizeof twin, "%.*s.gen.json", (int)(strlen(path) - strlen(".gen.cbor")),
                 path);
        json = senml_fixture_read_file(twin, &json_len);
        assert_non_null(json);
        from_json = json_ok(json, json_len, 0);
        assert_packs_equal(got, from_json);
        senml_pack_free(from_json);
        senml_pack_free(want);
        senml_pack_free(got);
        free(json);
        free(resolved);
        free(cbor);
    }
    globfree(&found);
}

/* RFC 8428 §6 prints ex3 as a hex dump: it must be the bytes of ex3.gen.cbor. */
static void matches_the_hex_dump_printed_in_rfc_8428_section_6(void **state)
{
    glob_t found;
    size_t hex_len, cbor_len, n = 0;
    char *dump, *cbor, path[4096], *line, *save = NULL;
    uint8_t bytes[1024];

    (void)state;
    senml_fixture_vectors("ex3.gen.cbor", &found);
    assert_int_equal(found.gl_pathc, 1);
    cbor = senml_fixture_read_file(found.gl_pathv[0], &cbor_len);
    snprintf(path, sizeof path, "%s.hex", found.gl_pathv[0]);
    dump = senml_fixture_read_file(path, &hex_len);
    assert_non_null(cbor);
    assert_non_null(dump);
    for (line = strtok_r(dump, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        /* "0000 87 a7 21 ... |..!x.urn:dev:ow:|": offset, up to 16 bytes, text; then the
         * total length alone */
        char *bar = strchr(line, '|');
        if (bar != NULL)
            *bar = '\0';
        if (strlen(line) > 5)
            n += hex_bytes(line + 5, bytes + n, sizeof bytes - n);
    }
    assert_int_equal(n, cbor_len);
    assert_memory_equal(bytes, cbor, n);
    free(dump);
    free(cbor);
    globfree(&found);
}

static void json_cbor_json_round_trip(const char *json, size_t len, const char *base_name,
                                      bool same_text)
{
    struct senml_pack *from_json = json_ok(json, len, NOW_MS), *from_cbor;
    struct senml_buf cbor = cbor_round_trip(from_json, base_name), back = {0};

    from_cbor = decode_ok((const uint8_t *)cbor.data, cbor.len, NOW_MS);
    assert_int_equal(senml_json_encode(from_cbor, base_name, &back), 0);
    senml_pack_free(from_cbor);
    from_cbor = json_ok(back.data, back.len, NOW_MS);
    assert_packs_equal(from_cbor, from_json);
    if (same_text) {
        assert_int_equal(back.len, len);
        assert_memory_equal(back.data, json, len);
    }
    senml_pack_free(from_cbor);
    senml_pack_free(from_json);
    senml_buf_free(&back);
    senml_buf_free(&cbor);
}

static void round_trips_every_rfc_json_example_through_cbor(void **state)
{
    glob_t found;

    (void)state;
    senml_fixture_vectors(".json", &found);
    assert_true(found.gl_pathc >= 24);
    for (size_t i = 0; i < found.gl_pathc; i++) {
        size_t len;
        char *json = senml_fixture_read_file(found.gl_pathv[i], &len);

        assert_non_null(json);
        json_cbor_json_round_trip(json, len, NULL, false);
        free(json);
    }
    globfree(&found);
}

/* What edge-agent/pack.c publishes goes JSON -> CBOR -> JSON back to the same bytes. */
static void round_trips_agent_packs_json_cbor_json_to_the_same_text(void **state)
{
    static const char corpus_pack[] =
        "[{\"bn\":\"web-01/\",\"bt\":1795323433.261,\"n\":\"cpu.utilization\",\"v\":50.5,"
        "\"bid\":\"3d5384da42c8e1e9\",\"sq\":1},{\"n\":\"cpu.user_pct\",\"v\":50},"
        "{\"n\":\"cpu.core.1\",\"v\":0.99},{\"n\":\"mem.available_mb\",\"v\":23757}]";
    struct metric_batch *batch = calloc(1, sizeof *batch);
    struct senml_buf json = {0};

    (void)state;
    assert_non_null(batch);
    json_cbor_json_round_trip(corpus_pack, strlen(corpus_pack), "web-01/", true);
    for (int round = 0; round < 50; round++) {
        metric_batch_reset(batch, INT64_C(1795323433261) + round * 10007);
        for (int i = 0; i < 40; i++) {
            char name[32];
            double value = metric_round((double)(test_bits_rng() % 2000000) / 97.0 - 5000, 2);
            snprintf(name, sizeof name, "m.metric_%02d", i);
            assert_int_equal(metric_batch_add(batch, name, value), 0);
        }
        assert_int_equal(metric_batch_add_labeled(batch, "disk.used_pct", 81.25, "mount", "/var"),
                         0);
        assert_int_equal(metric_batch_add(batch, "mem.used_mb", 348), 0);
        assert_int_equal(metric_batch_add(batch, "cpu.iowait_pct", -0.0), 0);
        assert_int_equal(agent_pack_encode(batch, "web-01", "3d5384da42c8e1e9", round > 0,
                                           (uint64_t)round, &json),
                         0);
        json_cbor_json_round_trip(json.data, json.len, "web-01/", true);
        json.len = 0;
    }
    senml_buf_free(&json);
    free(batch);
}

/* ---- numbers --------------------------------------------------------------------------- */

static double decoded_value(const char *value_hex)
{
    char hex[256];
    struct senml_pack *pack;
    double value;

    snprintf(hex, sizeof hex, "81 a2 00 61 61 02 %s", value_hex);
    pack = decode_hex(hex);
    assert_int_equal(pack->records[0].kind, SENML_KIND_NUMBER);
    value = pack->records[0].value;
    senml_pack_free(pack);
    return value;
}

static void reads_integers_of_every_width_sign_and_form(void **state)
{
    static const struct {
        const char *hex;
        double want;
    } rows[] = {
        {"00", 0},
        {"17", 23},
        {"18 18", 24},
        {"18 ff", 255},
        {"19 0100", 256},
        {"19 ffff", 65535},
        {"1a 00010000", 65536},
        {"1a ffffffff", 4294967295.0},
        {"1b 0000000100000000", 4294967296.0},
        {"1b 001fffffffffffff", 9007199254740991.0},
        {"1b ffffffffffffffff", 18446744073709551615.0},
        {"18 01", 1}, /* non-shortest forms are accepted */
        {"1b 0000000000000001", 1},
        {"20", -1},
        {"37", -24},
        {"38 ff", -256},
        {"39 ffff", -65536},
        {"3a ffffffff", -4294967296.0},
        {"3b 7fffffffffffffff", -9223372036854775808.0},
        {"3b fffffffffffffffe", -18446744073709551615.0},
        {"3b ffffffffffffffff", -18446744073709551616.0},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(rows); i++)
        assert_same_double(decoded_value(rows[i].hex), rows[i].want);
}

/* Beyond 2^53 an integer rounds to the nearest double, as the same digits in JSON do. */
static void rounds_integers_beyond_2_pow_53_as_the_json_decoder_does(void **state)
{
    static const struct {
        const char *hex, *json;
    } rows[] = {
        {"1b 0020000000000001", "9007199254740993"},
        {"1b 0020000000000003", "9007199254740995"},
        {"1b 7fffffffffffffff", "9223372036854775807"},
        {"1b ffffffffffffffff", "18446744073709551615"},
        {"3b 0020000000000000", "-9007199254740993"},
        {"3b ffffffffffffffff", "-18446744073709551616"},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
        char json[128];
        struct senml_pack *pack;

        snprintf(json, sizeof json, "[{\"n\":\"a\",\"v\":%s}]", rows[i].json);
        pack = json_ok(json, strlen(json), NOW_MS);
        assert_same_double(decoded_value(rows[i].hex), pack->records[0].value);
        senml_pack_free(pack);
    }
}

static void decodes_half_floats_per_rfc_8949_appendix_d(void **state)
{
    static const struct {
        const char *hex;
        double want;
    } rows[] = {
        {"f9 0000", 0.0},
        {"f9 8000", -0.0},
        {"f9 0001", 5.960464477539063e-8}, /* smallest subnormal, 2^-24 */
        {"f9 03ff", 6.097555160522461e-5}, /* largest subnormal */
        {"f9 0400", 6.103515625e-5},       /* smallest normal, 2^-14 */
        {"f9 3c00", 1.0},
        {"f9 3e00", 1.5},
        {"f9 7bff", 65504.0},
        {"f9 c400", -4.0},
        {"f9 8001", -5.960464477539063e-8},
        {"fa 47c35000", 100000.0},
        {"fa 7f7fffff", 3.4028234663852886e+38},
        {"fa 00000001", 1.401298464324817e-45},
        {"fb 3ff199999999999a", 1.1},
        {"fb 7fefffffffffffff", 1.7976931348623157e+308},
        {"fb 0000000000000001", 5e-324},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(rows); i++)
        assert_same_double(decoded_value(rows[i].hex), rows[i].want);
    /* every pattern against the definition: sign, 5-bit exponent, 10-bit mantissa */
    for (uint32_t bits = 0; bits <= 0xffff; bits++) {
        int exponent = (bits >> 10) & 0x1f, mantissa = bits & 0x3ff;
        double want =
            exponent == 0 ? mantissa * 0x1p-24 : (1 + mantissa / 1024.0) * pow(2, exponent - 15);
        double got = cbor_half_to_double((uint16_t)bits);

        if (exponent == 31) {
            assert_true(mantissa == 0 ? isinf(got) : isnan(got));
            assert_int_equal(signbit(got) != 0, (bits & 0x8000) != 0);
            continue;
        }
        assert_same_double(got, (bits & 0x8000) ? -want : want);
    }
}

static void reads_decimal_fractions_as_strtod_reads_their_digits(void **state)
{
    static const struct {
        const char *hex;
        double want;
    } rows[] = {
        {"c4 82 21 19 6ab3", 273.15}, /* RFC 8949 §3.4.4's example */
        {"c4 82 21 18 63", 0.99},     /* [-2, 99] */
        {"c4 82 01 0f", 150},         /* [1, 15] */
        {"c4 82 20 24", -0.5},        /* [-1, -5] */
        {"c4 82 00 00", 0},           /* [0, 0] */
        {"c4 9f 21 18 63 ff", 0.99},  /* indefinite-length array */
        {"c4 82 39 0400 01", 0},      /* 1e-1025 underflows to 0, as strtod does */
        {"c4 82 3b ffffffffffffffff 01", 0},
        {"c4 82 30 1b ffffffffffffffff", 18446744073709551615e-17},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(rows); i++)
        assert_same_double(decoded_value(rows[i].hex), rows[i].want);
}

/* Each number in the shortest of integer / float16 / float32 / float64 that is exact. */
static void encodes_each_number_in_its_shortest_exact_form(void **state)
{
    static const struct {
        double value;
        const char *hex;
    } rows[] = {
        {0, "00"},
        {23, "17"},
        {24, "1818"},
        {-1, "20"},
        {-24, "37"},
        {-25, "3818"},
        {348, "19015c"},
        {23757, "195ccd"},
        {65504, "19ffe0"}, /* integer and half tie at 3 bytes: integer */
        {100000, "1a000186a0"},
        {1700000000, "1a6553f100"},
        {-0.0, "f98000"},
        {0.5, "f93800"},
        {1.5, "f93e00"},
        {50.5, "f95250"},
        {-40.25, "f9d108"},
        {5.960464477539063e-8, "f90001"},
        {6.103515625e-5, "f90400"},
        {65504.5, "fa477fe080"}, /* not a half: float32 */
        {1e10, "fa501502f9"},    /* float32 (5 bytes) beats the 9-byte integer */
        {0x1p64, "fa5f800000"},
        {-0x1p64, "fadf800000"},
        {3.4028234663852886e+38, "fa7f7fffff"},
        {1.401298464324817e-45, "fa00000001"},
        {0.1, "fb3fb999999999999a"},
        {0.99, "fb3fefae147ae147ae"},
        {1795323433.261, "fb41dac09d8a50b439"},
        {9007199254740996.0, "1b0020000000000004"}, /* 2^53 + 4: integer ties float64 */
        {18446744073709549568.0, "1bfffffffffffff800"},
        {1.7976931348623157e308, "fb7fefffffffffffff"},
        {5e-324, "fb0000000000000001"},
    };
    struct senml_pack *pack = senml_fixture_pack_new(1);

    (void)state;
    record_set(pack, 0, "x", 1700000000, 0);
    for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
        struct senml_buf buf;
        char want[128];

        pack->records[0].value = rows[i].value;
        buf = cbor_round_trip(pack, NULL);
        /* [{-3: 1700000000, 0: "x", 2: value}] */
        snprintf(want, sizeof want, "81 a3 22 1a6553f100 00 6178 02 %s", rows[i].hex);
        assert_cbor_hex(&buf, want);
        senml_buf_free(&buf);
    }
    senml_pack_free(pack);
}

/* Every finite half value encodes back to its own two bytes (or a shorter integer). */
static void encodes_every_half_float_value_as_itself(void **state)
{
    struct senml_pack *pack = senml_fixture_pack_new(1);

    (void)state;
    record_set(pack, 0, "x", 1700000000, 0);
    for (uint32_t bits = 0; bits <= 0xffff; bits++) {
        double v = cbor_half_to_double((uint16_t)bits);
        struct senml_buf buf = {0};
        const uint8_t *value;

        if (!isfinite(v))
            continue;
        pack->records[0].value = v;
        assert_int_equal(senml_cbor_encode(pack, NULL, &buf), 0);
        value = (const uint8_t *)buf.data + 12;
        if (value[0] == 0xf9)
            assert_int_equal(value[1] << 8 | value[2], bits);
        else
            assert_true(v == floor(v) && buf.len <= 15); /* integer: at most 3 bytes */
        senml_buf_free(&buf);
    }
    senml_pack_free(pack);
}

/* Compact floats: a pack of random float32-exact and float64 values decodes back exactly. */
static void round_trips_random_doubles_exactly(void **state)
{
    struct senml_pack *pack = senml_fixture_pack_new(64);

    (void)state;
    test_bits_seed(0x5eed);
    for (int round = 0; round < 200; round++) {
        struct senml_buf buf;

        for (size_t i = 0; i < pack->count; i++) {
            double v;
            do
                v = test_bits_double(test_bits_rng());
            while (!isfinite(v));
            if (i % 3 == 0)
                v = (float)(v > 1e30 || v < -1e30 ? v / 1e300 : v);
            if (i % 3 == 1)
                v = (double)(int64_t)test_bits_rng() / (double)(1 << (i % 20));
            record_set(pack, i, "m", 1700000000.0 + (double)i, v);
        }
        buf = cbor_round_trip(pack, NULL);
        senml_buf_free(&buf);
    }
    senml_pack_free(pack);
}

/* ---- structure, labels, extension fields --------------------------------------------- */

static void reads_indefinite_length_arrays_and_maps(void **state)
{
    struct senml_pack *pack;

    (void)state;
    /* [_ {_ -2: "h/", 0: "a", 2: 1}, {0: "b", 2: 2}] */
    pack = decode_hex("9f bf 21 62682f 00 6161 02 01 ff a2 00 6162 02 02 ff");
    assert_int_equal(pack->count, 2);
    assert_string_equal(pack->records[0].name, "h/a");
    assert_string_equal(pack->records[1].name, "h/b");
    assert_true(pack->records[1].value == 2);
    senml_pack_free(pack);
    pack = decode_hex("9f ff");
    assert_int_equal(pack->count, 0);
    senml_pack_free(pack);
    pack = decode_hex("80");
    assert_int_equal(pack->count, 0);
    senml_pack_free(pack);
    pack = decode_hex("d9d9f7 81 a2 00 6161 02 01"); /* self-described CBOR (RFC 8949 §3.4.6) */
    assert_int_equal(pack->count, 1);
    senml_pack_free(pack);
}

static void decodes_every_field_kind_and_resolves_bases_as_json_does(void **state)
{
    /* [{-1: 10, -2: "d/", -3: 1.6e9 (uint), -4: "V", -5: 100, -6: 5,
     *   0: "a", 2: 1.5 (half), 5: 2, 7: 60, 6: -1},
     *  {0: "s", 3: "text", 1: "W"}, {0: "b", 4: true}, {0: "raw", 8: h'68692030a'}] */
    struct senml_pack *pack = decode_hex(
        "84 ab 20 0a 21 62642f 22 1a5f5e1000 23 6156 24 1864 25 05 00 6161 02 f93e00 05 02 07 "
        "183c 06 20"
        " a3 00 6173 03 6474657874 01 6157"
        " a2 00 6162 04 f5"
        " a2 00 63726177 08 44 6869200a");
    const char *json =
        "[{\"bver\":10,\"bn\":\"d/\",\"bt\":1600000000,\"bu\":\"V\",\"bv\":100,\"bs\":5,"
        "\"n\":\"a\",\"v\":1.5,\"s\":2,\"ut\":60,\"t\":-1},{\"n\":\"s\",\"vs\":\"text\",\"u\":"
        "\"W\"},"
        "{\"n\":\"b\",\"vb\":true},{\"n\":\"raw\",\"vd\":\"aGkgCg\"}]";
    struct senml_pack *want = json_ok(json, strlen(json), NOW_MS);

    (void)state;
    assert_packs_equal(pack, want);
    assert_true(pack->records[0].value == 101.5 && pack->records[0].sum == 7);
    assert_true(pack->records[0].time_s == 1599999999);
    assert_string_equal(pack->records[3].string, "aGkgCg");
    senml_pack_free(want);
    senml_pack_free(pack);
}

/* The resolution rules (RFC 8428 §4.6) are the JSON decoder's: the same pack in both forms. */
static void resolves_exactly_as_the_json_decoder_does(void **state)
{
    static const struct {
        const char *hex, *json;
    } rows[] = {
        {"82 a1 21 62682f a2 00 6161 02 01", "[{\"bn\":\"h/\"},{\"n\":\"a\",\"v\":1}]"},
        {"81 a3 25 0a 00 6161 02 01", "[{\"bs\":10,\"n\":\"a\",\"v\":1}]"},
        {"81 a3 00 6161 06 24 02 01", "[{\"n\":\"a\",\"t\":-5,\"v\":1}]"},
        {"81 a4 22 1a10000000 00 6161 06 20 02 01",
         "[{\"bt\":268435456,\"n\":\"a\",\"t\":-1,\"v\":1}]"},
        {"83 a3 23 6156 00 6161 02 01 a3 23 60 00 6162 02 01 a3 00 6163 01 6157 02 01",
         "[{\"bu\":\"V\",\"n\":\"a\",\"v\":1},{\"bu\":\"\",\"n\":\"b\",\"v\":1},"
         "{\"n\":\"c\",\"u\":\"W\",\"v\":1}]"},
        {"81 a3 24 f98000 00 6161 02 f98000", "[{\"bv\":-0.0,\"n\":\"a\",\"v\":-0.0}]"},
        {"81 a2 00 6161 05 02", "[{\"n\":\"a\",\"s\":2}]"},
        {"82 a2 00 6161 03 60 a2 00 6162 08 40",
         "[{\"n\":\"a\",\"vs\":\"\"},{\"n\":\"b\",\"vd\":\"\"}]"},
        {"81 a2 21 6161 02 01", "[{\"bn\":\"a\",\"v\":1}]"},
        {"82 a3 20 0a 00 6161 02 01 a3 20 0a 00 6162 04 f4",
         "[{\"bver\":10,\"n\":\"a\",\"v\":1},{\"bver\":10,\"n\":\"b\",\"vb\":false}]"},
        {"81 a3 00 6161 02 01 07 1a5f5e1000", "[{\"n\":\"a\",\"v\":1,\"ut\":1600000000}]"},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
        struct senml_pack *got = decode_hex(rows[i].hex);
        struct senml_pack *want = json_ok(rows[i].json, strlen(rows[i].json), NOW_MS);

        print_message("  %s\n", rows[i].json);
        assert_packs_equal(got, want);
        senml_pack_free(want);
        senml_pack_free(got);
    }
}

static void keeps_text_fields_as_labels_reads_bid_sq_and_skips_the_rest(void **state)
{
    /* {0: "a", 2: 1, "mount": "/", "bid": "b-1", "sq": 7, "num": 5, 9: "x", -7: [1, {}],
     *  "tagged": 1(0), "blob": h'00', "": "no key", "deep": [_ "s", (_ h'01', h'02'),
     *  (_ "a", "b"), 1.5, null, undefined, simple(16), simple(255), 2(h'01')]} */
    struct senml_pack *pack = decode_hex(
        "81 ac 00 6161 02 01 656d6f756e74 612f 63626964 63622d31 627371 07 636e756d 05 09 6178"
        " 26 82 01 a0 66746167676564 c1 00 64626c6f62 41 00 60 666e6f206b6579"
        " 6464656570 9f 6173 5f 4101 4102 ff 7f 6161 6162 ff f93e00 f6 f7 f0 f8ff c2 4101 ff");

    (void)state;
    assert_int_equal(pack->count, 1);
    assert_int_equal(pack->records[0].label_count, 1);
    assert_string_equal(pack->records[0].labels[0].key, "mount");
    assert_string_equal(pack->records[0].labels[0].value, "/");
    assert_string_equal(pack->boot_id, "b-1");
    assert_true(pack->has_seq);
    assert_int_equal(pack->seq, 7);
    senml_pack_free(pack);

    pack = decode_hex("81 a3 00 6161 02 01 627371 1b 0020000000000000"); /* sq = 2^53 */
    assert_int_equal(pack->seq, UINT64_C(9007199254740992));
    senml_pack_free(pack);
    pack = decode_hex("81 a3 00 6161 02 01 627371 f94700"); /* sq = 7.0 */
    assert_int_equal(pack->seq, 7);
    senml_pack_free(pack);
}

/* ---- refusals -------------------------------------------------------------------------- */

#define REFUSED(hex, kind, index, field, reason, offset)                                           \
    {                                                                                              \
        hex, -EBADMSG, SENML_ERROR_##kind, index, field, reason, offset                            \
    }
#define SYNTAX(hex, index, field, reason, offset) REFUSED(hex, SYNTAX, index, field, reason, offset)
#define STRUCTURE(hex, index, reason, offset) REFUSED(hex, STRUCTURE, index, "", reason, offset)
#define RECORD(hex, index, field, reason, offset) REFUSED(hex, RECORD, index, field, reason, offset)
#define TOO_BIG(hex, index, field, reason)                                                         \
    {                                                                                              \
        hex, -E2BIG, SENML_ERROR_LIMIT, index, field, reason, UNCHECKED                            \
    }

static void check_refusal(const struct senml_refusal *row, const uint8_t *bytes, size_t len,
                          size_t i)
{
    struct senml_error err;
    int ret = decode_err(bytes, len, &err);

    senml_fixture_check_refusal(row, i, ret, &err);
}

static void check_refusals(const struct senml_refusal *rows, size_t count)
{
    static uint8_t bytes[HEX_MAX];

    for (size_t i = 0; i < count; i++)
        check_refusal(&rows[i], bytes, hex_bytes(rows[i].input, bytes, sizeof bytes), i);
}

static void refuses_malformed_cbor_with_syntax_errors(void **state)
{
    static const struct senml_refusal rows[] = {
        SYNTAX("", -1, "", "unexpected end of input", 0),
        SYNTAX("81", -1, "", "unexpected end of input", 0),
        SYNTAX("1c", -1, "", "reserved additional information", 0),
        SYNTAX("81 a1 00 7e", 0, "n", "reserved additional information", 3),
        SYNTAX("1f", -1, "", "indefinite length not allowed here", 0),
        SYNTAX("81 a2 00 6161 02 3f", 0, "v", "indefinite length not allowed here", 6),
        SYNTAX("81 a2 00 6161 02 df", 0, "v", "indefinite length not allowed here", 6),
        SYNTAX("81 ff", 0, "", "unexpected break", 1),
        SYNTAX("ff", -1, "", "unexpected break", 0),
        SYNTAX("81 a2 00 6161 02 19 01", 0, "v", "unexpected end of input", 6),
        SYNTAX("81 a1 00 7a ffffffff 61", 0, "n", "unexpected end of input", 3),
        SYNTAX("9b ffffffffffffffff", -1, "", "unexpected end of input", 0),
        SYNTAX("81 bb ffffffffffffffff", 0, "", "unexpected end of input", 1),
        SYNTAX("82 a2 00 6161 02 01", 1, "", "unexpected end of input", 7),
        SYNTAX("9f a2 00 6161 02 01", -1, "", "unexpected end of input", 7),
        SYNTAX("81 bf 00 6161 02 01", 0, "", "unexpected end of input", 7),
        SYNTAX("80 00", -1, "", "unexpected data after the pack", 1),
        SYNTAX("81 a2 00 6161 02 01 80", -1, "", "unexpected data after the pack", 7),
        SYNTAX("81 a2 00 62 61 ff 02 01", 0, "n", "invalid UTF-8 in text string", 3),
        SYNTAX("81 a2 00 6161 02 01 a0", -1, "", "unexpected data after the pack", 7),
        SYNTAX("81 a2 00 6161 02 01 ff", -1, "", "unexpected data after the pack", 7),
        /* in skipped values too: well-formedness and UTF-8 are checked */
        SYNTAX("81 a3 00 6161 02 01 09 f8 10", 0, "9", "simple value in the wrong form", 8),
        SYNTAX("81 a3 00 6161 02 01 09 62 c0 80", 0, "9", "invalid UTF-8 in text string", 8),
        SYNTAX("81 a3 00 6161 02 01 09 7f 61 61 41 00 ff", 0, "9",
               "bad chunk in indefinite-length string", 11),
        SYNTAX("81 a3 00 6161 02 01 09 7f 7f ff ff", 0, "9",
               "bad chunk in indefinite-length string", 9),
        SYNTAX("81 a3 00 6161 02 01 09 bf 01 ff", 0, "9", "map key without a value", 10),
        SYNTAX("81 a3 00 6161 02 01 09 c1", 0, "9", "unexpected end of input", 9),
        SYNTAX("81 a3 00 6161 02 01 09 9f c1 ff", 0, "9", "unexpected break", 10),
        SYNTAX("81 a3 00 6161 02 01 09 fc", 0, "9", "reserved additional information", 8),
    };

    (void)state;
    check_refusals(rows, ARRAY_LEN(rows));
}

static void refuses_well_formed_cbor_that_is_not_a_pack(void **state)
{
    static const struct senml_refusal rows[] = {
        STRUCTURE("a0", -1, "expected a CBOR array of records", 0),
        STRUCTURE("01", -1, "expected a CBOR array of records", 0),
        STRUCTURE("6161", -1, "expected a CBOR array of records", 0),
        STRUCTURE("c1 80", -1, "expected a CBOR array of records", 0),
        STRUCTURE("d9d9f7 a0", -1, "expected a CBOR array of records", 3),
        SYNTAX("a0 00", -1, "", "expected a CBOR array of records", 0),
        STRUCTURE("81 01", 0, "expected a record map", 1),
        STRUCTURE("82 a2 00 6161 02 01 80", 1, "expected a record map", 7),
        STRUCTURE("81 c1 a0", 0, "expected a record map", 1),
    };

    (void)state;
    check_refusals(rows, ARRAY_LEN(rows));
}

static void refuses_records_that_break_rfc_8428(void **state)
{
    static const struct senml_refusal rows[] = {
        RECORD("81 a2 00 6161 02 6178", 0, "v", "expected a number", 6),
        RECORD("81 a2 00 6161 02 f5", 0, "v", "expected a number", 6),
        RECORD("81 a2 00 6161 02 f6", 0, "v", "expected a number", 6),
        RECORD("81 a2 00 6161 02 80", 0, "v", "expected a number", 6),
        RECORD("81 a2 00 6161 02 f97c00", 0, "v", "expected a finite number", 6),
        RECORD("81 a2 00 6161 02 f9fc00", 0, "v", "expected a finite number", 6),
        RECORD("81 a2 00 6161 02 f97e00", 0, "v", "expected a finite number", 6),
        RECORD("81 a2 00 6161 02 fa7fc00000", 0, "v", "expected a finite number", 6),
        RECORD("81 a2 00 6161 02 fb7ff0000000000000", 0, "v", "expected a finite number", 6),
        RECORD("81 a2 00 6161 02 c1 00", 0, "v", "unsupported CBOR tag 1", 6),
        RECORD("81 a2 00 6161 02 c2 41 01", 0, "v", "unsupported CBOR tag 2", 6),
        RECORD("81 a2 00 6161 02 c4 81 01", 0, "v",
               "expected a decimal fraction [exponent, mantissa]", 6),
        RECORD("81 a2 00 6161 02 c4 82 01 c2 41 01", 0, "v",
               "expected a decimal fraction [exponent, mantissa]", 6),
        RECORD("81 a2 00 6161 02 c4 82 19 ffff 01", 0, "v", "number out of range", 6),
        RECORD("81 a2 00 01 02 01", 0, "n", "expected a string", 3),
        RECORD("81 a2 00 7f 6161 ff 02 01", 0, "n", "expected a definite-length string", 3),
        RECORD("81 a2 00 6161 03 7f 6161 ff", 0, "vs", "expected a definite-length string", 6),
        RECORD("81 a2 00 6161 08 6161", 0, "vd", "expected a byte string", 6),
        RECORD("81 a2 00 6161 08 5f 41 01 ff", 0, "vd", "expected a definite-length string", 6),
        RECORD("81 a2 00 6161 04 01", 0, "vb", "expected true or false", 6),
        RECORD("81 a2 00 6161 03 62 61 00", 0, "vs", "string contains U+0000", 9),
        RECORD("81 a3 00 6161 02 01 02 02", 0, "v", "duplicate field", 8),
        RECORD("81 a3 00 6161 02 01 03 6161", 0, "vs", "more than one value field", UNCHECKED),
        RECORD("81 a1 00 6161", 0, "", "record has no value and no sum", UNCHECKED),
        RECORD("81 a2 00 63 612062 02 01", 0, "n", "invalid character in name", UNCHECKED),
        RECORD("81 a2 00 62 2d61 02 01", 0, "n", "name must start with a letter or digit",
               UNCHECKED),
        RECORD("81 a1 02 01", 0, "bn", "empty name", UNCHECKED),
        RECORD("81 a3 00 6161 02 01 627a5f 01", 0, "z_", "must-understand field not supported", 10),
        RECORD("81 a3 00 6161 02 01 61 76 01", 0, "v",
               "text key for a field that has an integer label", UNCHECKED),
        RECORD("81 a3 00 6161 02 01 62 626e 6161", 0, "bn",
               "text key for a field that has an integer label", UNCHECKED),
        RECORD("81 a3 00 6161 02 01 f93c00 01", 0, "", "expected an integer or text key", 7),
        RECORD("81 a3 00 6161 02 01 80 01", 0, "", "expected an integer or text key", 7),
        RECORD("81 a3 00 6161 02 01 7f 6161 ff 01", 0, "", "expected a definite-length string", 7),
        RECORD("81 a3 00 6161 02 01 62 6100 01", 0, "a", "field name contains U+0000", UNCHECKED),
        RECORD("81 a3 20 f93c00 00 6161 02 01", 0, "bver", "expected a positive integer", 3),
        RECORD("81 a3 20 00 00 6161 02 01", 0, "bver", "expected a positive integer", 3),
        RECORD("81 a3 20 0b 00 6161 02 01", 0, "bver", "version 11 is newer than 10", 3),
        RECORD("82 a3 20 05 00 6161 02 01 a3 20 06 00 6162 02 01", 1, "bver",
               "version differs from the pack's (5)", UNCHECKED),
        RECORD("81 a3 00 6161 02 01 627371 20", 0, "sq", "expected an integer from 0 to 2^53",
               UNCHECKED),
        RECORD("81 a3 00 6161 02 01 627371 1b 0020000000000001", 0, "sq",
               "expected an integer from 0 to 2^53", UNCHECKED),
        RECORD("81 a3 00 6161 02 01 627371 f93e00", 0, "sq", "expected an integer from 0 to 2^53",
               UNCHECKED),
        RECORD("81 a3 00 6161 02 01 63626964 01", 0, "bid", "expected a string", UNCHECKED),
        RECORD("81 a4 00 6161 02 01 656d6f756e74 6161 656d6f756e74 6162", 0, "mount",
               "duplicate field", UNCHECKED),
        RECORD("81 a4 22 fb7fefffffffffffff 00 6161 02 01 06 fb7fefffffffffffff", 0, "t",
               "out of range after adding the base field", UNCHECKED),
    };

    (void)state;
    check_refusals(rows, ARRAY_LEN(rows));
}

static char *repeat_hex(const char *prefix, const char *unit, size_t times, const char *suffix)
{
    size_t size = strlen(prefix) + strlen(unit) * times + strlen(suffix) + 1;
    char *hex = malloc(size), *p = hex;

    assert_non_null(hex);
    p += sprintf(p, "%s", prefix);
    for (size_t i = 0; i < times; i++)
        p += sprintf(p, "%s", unit);
    sprintf(p, "%s", suffix);
    return hex;
}

static void check_one_refusal(const struct senml_refusal *row, char *hex)
{
    static uint8_t bytes[HEX_MAX];

    check_refusal(row, bytes, hex_bytes(hex, bytes, sizeof bytes), 0);
    free(hex);
}

static void accepts_exactly_the_limits_and_refuses_beyond_them(void **state)
{
    static const struct senml_refusal too_many = TOO_BIG("", -1, "", "more than 10000 records");
    static const struct senml_refusal long_name =
        TOO_BIG("", 0, "n", "string longer than 256 bytes");
    static const struct senml_refusal long_string =
        TOO_BIG("", 0, "vs", "string longer than 4096 bytes");
    static const struct senml_refusal long_data =
        TOO_BIG("", 0, "vd", "data longer than 3072 bytes");
    static const struct senml_refusal labels = TOO_BIG("", 0, "k8", "more than 8 labels");
    static const struct senml_refusal long_key =
        TOO_BIG("", 0, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "label key longer than 32 bytes");
    static const struct senml_refusal too_deep =
        REFUSED("", LIMIT, 0, "9", "nesting deeper than 32 levels", UNCHECKED);
    static const char record[] = "a20061610201";
    struct senml_pack *pack;
    char *hex;

    (void)state;
    hex = repeat_hex("992710", record, 10000, "");
    senml_pack_free(decode_hex(hex));
    free(hex);
    check_one_refusal(&too_many, repeat_hex("992711", record, 10001, ""));
    check_one_refusal(&too_many, repeat_hex("9f", record, 10001, "ff"));

    hex = repeat_hex("81a2 00 7901 00", "61", 256, "0201");
    pack = decode_hex(hex);
    assert_int_equal(strlen(pack->records[0].name), 256);
    senml_pack_free(pack);
    free(hex);
    check_one_refusal(&long_name, repeat_hex("81a2 00 7901 01", "61", 257, "0201"));
    hex = repeat_hex("81a2 0061 61 03 791000", "61", 4096, "");
    senml_pack_free(decode_hex(hex));
    free(hex);
    check_one_refusal(&long_string, repeat_hex("81a2 0061 61 03 791001", "61", 4097, ""));
    hex = repeat_hex("81a2 0061 61 08 590c00", "ff", 3072, "");
    pack = decode_hex(hex);
    assert_int_equal(strlen(pack->records[0].string), 4096);
    senml_pack_free(pack);
    free(hex);
    check_one_refusal(&long_data, repeat_hex("81a2 0061 61 08 590c01", "ff", 3073, ""));

    senml_pack_free(decode_hex("81 aa 00 6161 02 01 626b30 60 626b31 60 626b32 60 626b33 60 "
                               "626b34 60 626b35 60 626b36 60 626b37 60"));
    check_one_refusal(&labels,
                      senml_fixture_strdup("81 ab 00 6161 02 01 626b30 60 626b31 60 626b32 60 "
                                           "626b33 60 626b34 60 626b35 60 626b36 60 626b37 60 "
                                           "626b38 60"));
    hex = repeat_hex("81 a3 00 6161 02 01 7820", "61", 32, "60");
    pack = decode_hex(hex);
    assert_int_equal(strlen(pack->records[0].labels[0].key), 32);
    senml_pack_free(pack);
    free(hex);
    check_one_refusal(&long_key, repeat_hex("81 a3 00 6161 02 01 7821", "61", 33, "60"));
    /* pack 1, record 2, 30 more arrays: 32 levels; one more is too deep */
    hex = repeat_hex("81 a3 00 6161 02 01 09", "81", 30, "00");
    senml_pack_free(decode_hex(hex));
    free(hex);
    check_one_refusal(&too_deep, repeat_hex("81 a3 00 6161 02 01 09", "81", 31, "00"));
    check_one_refusal(&too_deep, repeat_hex("81 a3 00 6161 02 01 09", "9f", 10000, ""));
}

static void formats_error_detail_for_malformed_inputs(void **state)
{
    static const struct {
        const char *hex, *text;
    } rows[] = {
        {"81 a2 00 6161 02 6178", "record 0: field \"v\": expected a number"},
        {"82 a2 00 6161 02 01 a3 00 6162 02 01 6478797a5f 01",
         "record 1: field \"xyz_\": must-understand field not supported"},
        {"a1 00 6161", "pack: expected a CBOR array of records"},
        {"81 a3 00 6161 02 01 09 9f", "record 0: field \"9\": unexpected end of input"},
    };
    uint8_t bytes[64];
    char text[256];

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
        struct senml_error err;
        size_t len = hex_bytes(rows[i].hex, bytes, sizeof bytes);

        assert_int_equal(decode_err(bytes, len, &err), -EBADMSG);
        senml_error_format(&err, text, sizeof text);
        assert_string_equal(text, rows[i].text);
    }
}

static void decodes_and_refuses_without_an_error_struct(void **state)
{
    struct senml_pack *pack = NULL;
    uint8_t bytes[16];
    size_t len = hex_bytes("a0", bytes, sizeof bytes);

    (void)state;
    assert_int_equal(senml_cbor_decode(bytes, len, NOW_MS, &pack, NULL), -EBADMSG);
    assert_null(pack);
    len = hex_bytes("81 a2 00 6161 02 01", bytes, sizeof bytes);
    assert_int_equal(senml_cbor_decode(bytes, len, NOW_MS, &pack, NULL), 0);
    assert_int_equal(pack->count, 1);
    senml_pack_free(pack);
}

/* A pack with every kind of field, labels, bid/sq, and indefinite lengths. */
static struct senml_buf rich_cbor(void)
{
    struct senml_pack *pack = senml_fixture_pack_new(6);
    struct senml_record *rec;
    struct senml_buf buf = {0};
    uint8_t extra[32];

    senml_fixture_label_add(record_set(pack, 0, "h/cpu", 1700000000.25, 12.35), "core", "0");
    rec = record_set(pack, 1, "h/msg", 1700000001, 0);
    rec->kind = SENML_KIND_STRING;
    rec->string = senml_fixture_strdup("Machine Room \xe2\x82\xac");
    rec = record_set(pack, 2, "h/open", 1700000000.25, 0);
    rec->kind = SENML_KIND_BOOL;
    rec->boolean = true;
    rec = record_set(pack, 3, "h/raw", 1700000000.25, 0);
    rec->kind = SENML_KIND_DATA;
    rec->string = senml_fixture_strdup("aGkgCg");
    rec = record_set(pack, 4, "h/energy", 1700000000.25, 0);
    rec->kind = SENML_KIND_NONE;
    rec->has_sum = true;
    rec->sum = 1234.5;
    rec->has_update_time = true;
    rec->update_time_s = 60;
    rec->unit = senml_fixture_strdup("J");
    record_set(pack, 5, "h/x", 1700000000.25, -1e-300);
    pack->boot_id = senml_fixture_strdup("3d5384da42c8e1e9");
    pack->has_seq = true;
    pack->seq = 77;
    assert_int_equal(senml_cbor_encode(pack, "h/", &buf), 0);
    senml_pack_free(pack);
    /* and a hand-made indefinite-length record with a decimal fraction */
    assert_int_equal((uint8_t)buf.data[0], 0x86);
    buf.data[0] = (char)0x87;
    buf_append(&buf, extra, hex_bytes("bf 00 6179 02 c4 82 21 19 6ab3 ff", extra, sizeof extra));
    return buf;
}

static void refuses_every_truncation_of_a_valid_pack(void **state)
{
    struct senml_buf buf = rich_cbor();
    struct senml_pack *pack = decode_ok((const uint8_t *)buf.data, buf.len, NOW_MS);

    (void)state;
    assert_int_equal(pack->count, 7);
    assert_true(pack->records[6].value == 273.15);
    senml_pack_free(pack);
    for (size_t len = 0; len < buf.len; len++) {
        uint8_t *copy = malloc(len + 1); /* exactly len bytes readable: ASan sees overreads */
        struct senml_error err;

        assert_non_null(copy);
        memcpy(copy, buf.data, len);
        assert_int_equal(decode_err(len > 0 ? copy : NULL, len, &err), -EBADMSG);
        assert_int_equal(err.kind, SENML_ERROR_SYNTAX);
        assert_string_equal(err.reason, "unexpected end of input");
        assert_true(err.offset <= len);
        free(copy);
    }
    senml_buf_free(&buf);
}

/* Any flipped bit is decoded or refused cleanly; what decodes re-encodes and decodes the same. */
static void survives_every_single_bit_flip(void **state)
{
    struct senml_buf buf = rich_cbor();
    size_t accepted = 0;

    (void)state;
    for (size_t i = 0; i < buf.len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            uint8_t *copy = malloc(buf.len);
            struct senml_pack *pack = NULL;
            struct senml_error err;
            int ret;

            assert_non_null(copy);
            memcpy(copy, buf.data, buf.len);
            copy[i] ^= (uint8_t)(1u << bit);
            ret = senml_cbor_decode(copy, buf.len, NOW_MS, &pack, &err);
            if (ret == 0) {
                struct senml_buf again = {0};
                struct senml_pack *back;
                assert_int_equal(senml_cbor_encode(pack, NULL, &again), 0);
                back = decode_ok((const uint8_t *)again.data, again.len, NOW_MS);
                assert_int_equal(back->count, pack->count);
                senml_pack_free(back);
                senml_buf_free(&again);
                accepted++;
            } else {
                assert_true(ret == -EBADMSG || ret == -E2BIG);
                assert_null(pack);
                assert_true(err.offset <= buf.len);
            }
            senml_pack_free(pack);
            free(copy);
        }
    }
    print_message("  %zu of %zu flips still decode\n", accepted, buf.len * 8);
    senml_buf_free(&buf);
}

/* ---- encoder --------------------------------------------------------------------------- */

static void encodes_compact_cbor_with_integer_labels(void **state)
{
    struct senml_pack *pack = senml_fixture_pack_new(3);
    struct senml_buf buf = {0};
    struct senml_record *rec;

    (void)state;
    rec = record_set(pack, 0, "h/cpu", 1600000000, 12.5);
    rec->unit = senml_fixture_strdup("%");
    senml_fixture_label_add(record_set(pack, 1, "h/disk", 1600000000, 81), "mount", "/");
    rec = record_set(pack, 2, "h/raw", 1600000010.5, 0);
    rec->kind = SENML_KIND_DATA;
    rec->string = senml_fixture_strdup("aGkgCg");
    pack->boot_id = senml_fixture_strdup("b-1");
    pack->has_seq = true;
    pack->seq = 42;
    assert_int_equal(senml_cbor_encode(pack, "h/", &buf), 0);
    /* [{-2: "h/", -3: 1600000000, 0: "cpu", 1: "%", 2: 12.5, "bid": "b-1", "sq": 42},
     *  {0: "disk", 2: 81, "mount": "/"}, {0: "raw", 8: h'6869200a', 6: 10.5}] */
    assert_cbor_hex(&buf, "83"
                          " a7 21 62682f 22 1a5f5e1000 00 63637075 01 6125 02 f94a40"
                          "    63626964 63622d31 627371 182a"
                          " a3 00 646469736b 02 1851 656d6f756e74 612f"
                          " a3 00 63726177 08 446869200a 06 f94940");
    senml_buf_free(&buf);
    senml_pack_free(pack);
}

static void refuses_to_encode_what_the_decoder_could_not_read_back(void **state)
{
    struct senml_pack *pack = senml_fixture_pack_new(2);
    struct senml_buf buf = {0};
    struct senml_record *rec;
    char *before;

    (void)state;
    record_set(pack, 0, "h/a", 1.6e9, 1);
    rec = record_set(pack, 1, "h/b", 1.6e9, 2);
    assert_int_equal(senml_cbor_encode(pack, "h/", &buf), 0);
    before = malloc(buf.len);
    assert_non_null(before);
    memcpy(before, buf.data, buf.len);

#define ENCODE_REFUSED(base)                                                                       \
    do {                                                                                           \
        size_t len_before = buf.len;                                                               \
        assert_int_equal(senml_cbor_encode(pack, base, &buf), -EINVAL);                            \
        assert_int_equal(buf.len, len_before);                                                     \
        assert_memory_equal(buf.data, before, len_before);                                         \
    } while (0)

    ENCODE_REFUSED("other/");
    rec = record_set(pack, 1, "h/b c", 1.6e9, 2);
    ENCODE_REFUSED("h/");
    rec = record_set(pack, 1, "h/b", 1.6e9, NAN);
    ENCODE_REFUSED("h/");
    rec->value = INFINITY;
    ENCODE_REFUSED("h/");
    rec->value = 2;
    rec->time_s = -INFINITY;
    ENCODE_REFUSED("h/");
    rec->time_s = 1.6e9;
    rec->has_sum = true;
    rec->sum = NAN;
    ENCODE_REFUSED("h/");
    rec->has_sum = false;
    rec->kind = SENML_KIND_NONE;
    ENCODE_REFUSED("h/");
    rec->kind = SENML_KIND_STRING;
    ENCODE_REFUSED("h/"); /* NULL string */
    rec->string = senml_fixture_strdup("bad \xff utf-8");
    ENCODE_REFUSED("h/");
    free(rec->string);
    rec->kind = SENML_KIND_DATA;
    static const char *const bad_data[] = {"A", "AB", "aGkgCh", "aGk=", "a+b/"};
    for (size_t i = 0; i < ARRAY_LEN(bad_data); i++) {
        rec->string = senml_fixture_strdup(bad_data[i]);
        ENCODE_REFUSED("h/");
        free(rec->string);
    }
    rec->string = senml_fixture_strdup("aGk");
    rec->label_count = 1;
    rec->labels[0].value = senml_fixture_strdup("x");
    static const char *const bad_keys[] = {"v",  "bn", "bver", "bid",
                                           "sq", "x_", "",     "k23456789012345678901234567890123"};
    for (size_t i = 0; i < ARRAY_LEN(bad_keys); i++) {
        rec->labels[0].key = senml_fixture_strdup(bad_keys[i]);
        ENCODE_REFUSED("h/");
        free(rec->labels[0].key);
    }
    rec->labels[0].key = senml_fixture_strdup("fine");
    assert_int_equal(senml_cbor_encode(pack, "h/", &buf), 0);
    free(before);
    before = malloc(buf.len);
    assert_non_null(before);
    memcpy(before, buf.data, buf.len);
    pack->has_seq = true;
    pack->seq = UINT64_C(9007199254740993);
    ENCODE_REFUSED("h/");
    pack->seq = 1;
    pack->boot_id = senml_fixture_strdup("\xc0\x80");
    ENCODE_REFUSED("h/");
#undef ENCODE_REFUSED
    free(before);
    senml_buf_free(&buf);
    senml_pack_free(pack);
}

/* ---- allocation failures --------------------------------------------------------------- */

static void fails_cleanly_when_any_allocation_in_decode_or_encode_fails(void **state)
{
    (void)state;
#if FAULT_INJECTION
    struct senml_buf cbor, out;
    struct senml_pack *pack;
    long fail_at;

    if (!alloc_fail_works())
        skip();
    cbor = rich_cbor();
    for (fail_at = 0;; fail_at++) {
        struct senml_error err;
        int ret;

        pack = NULL;
        alloc_fail_arm(fail_at);
        ret = senml_cbor_decode((const uint8_t *)cbor.data, cbor.len, NOW_MS, &pack, &err);
        senml_pack_free(pack);
        alloc_fail_disarm();
        assert_int_equal(alloc_fail_live(), 0);
        if (ret == 0)
            break;
        assert_int_equal(ret, -ENOMEM);
        assert_string_equal(err.reason, "out of memory");
    }
    print_message("  decode: %ld allocations, each made to fail in turn\n", fail_at);
    assert_true(fail_at >= 15); /* pack, records, 7 names, label, strings, unit, bid */
    pack = decode_ok((const uint8_t *)cbor.data, cbor.len, NOW_MS);
    for (fail_at = 0;; fail_at++) {
        int ret;

        memset(&out, 0, sizeof out);
        alloc_fail_arm(fail_at);
        ret = senml_cbor_encode(pack, NULL, &out);
        if (ret != 0)
            assert_int_equal(out.len, 0);
        senml_buf_free(&out);
        alloc_fail_disarm();
        assert_int_equal(alloc_fail_live(), 0);
        if (ret == 0)
            break;
        assert_int_equal(ret, -ENOMEM);
    }
    print_message("  encode: %ld allocations, each made to fail in turn\n", fail_at);
    senml_pack_free(pack);
    senml_buf_free(&cbor);
#else
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decodes_every_rfc_cbor_example_to_its_resolved_form),
        cmocka_unit_test(matches_the_hex_dump_printed_in_rfc_8428_section_6),
        cmocka_unit_test(round_trips_every_rfc_json_example_through_cbor),
        cmocka_unit_test(round_trips_agent_packs_json_cbor_json_to_the_same_text),
        cmocka_unit_test(reads_integers_of_every_width_sign_and_form),
        cmocka_unit_test(rounds_integers_beyond_2_pow_53_as_the_json_decoder_does),
        cmocka_unit_test(decodes_half_floats_per_rfc_8949_appendix_d),
        cmocka_unit_test(reads_decimal_fractions_as_strtod_reads_their_digits),
        cmocka_unit_test(encodes_each_number_in_its_shortest_exact_form),
        cmocka_unit_test(encodes_every_half_float_value_as_itself),
        cmocka_unit_test(round_trips_random_doubles_exactly),
        cmocka_unit_test(reads_indefinite_length_arrays_and_maps),
        cmocka_unit_test(decodes_every_field_kind_and_resolves_bases_as_json_does),
        cmocka_unit_test(resolves_exactly_as_the_json_decoder_does),
        cmocka_unit_test(keeps_text_fields_as_labels_reads_bid_sq_and_skips_the_rest),
        cmocka_unit_test(refuses_malformed_cbor_with_syntax_errors),
        cmocka_unit_test(refuses_well_formed_cbor_that_is_not_a_pack),
        cmocka_unit_test(refuses_records_that_break_rfc_8428),
        cmocka_unit_test(accepts_exactly_the_limits_and_refuses_beyond_them),
        cmocka_unit_test(formats_error_detail_for_malformed_inputs),
        cmocka_unit_test(decodes_and_refuses_without_an_error_struct),
        cmocka_unit_test(refuses_every_truncation_of_a_valid_pack),
        cmocka_unit_test(survives_every_single_bit_flip),
        cmocka_unit_test(encodes_compact_cbor_with_integer_labels),
        cmocka_unit_test(refuses_to_encode_what_the_decoder_could_not_read_back),
        cmocka_unit_test(fails_cleanly_when_any_allocation_in_decode_or_encode_fails),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
