/* Unit tests for the SenML model and JSON codec (common/senml.c, common/senml_json_decode.c and
 * senml_json_encode.c): the RFC 8428 examples read from SENML_VECTORS_DIR, resolution rules, tables
 * of refused inputs, encoder output and round trips, and (without ASan) every allocation failing.
 */
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

#include "common/senml.h"
#include "common/senml_json.h"

#define NOW_MS INT64_C(1700000000000) /* 2023-11-14T22:13:20Z */
#define NOW_S 1700000000.0
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define UNCHECKED SENML_FIXTURE_UNCHECKED

#include "tests/support/alloc_fail.h"
#include "tests/support/senml_fixture.h"
#define FAULT_INJECTION ALLOC_FAIL_AVAILABLE

/* ---- helpers --------------------------------------------------------------------------- */

static struct senml_pack *decode_ok(const char *json, int64_t now_ms)
{
    struct senml_pack *pack = NULL;
    struct senml_error err;
    char text[256];
    int ret = senml_json_decode(json, strlen(json), now_ms, &pack, &err);

    if (ret != 0) {
        senml_error_format(&err, text, sizeof text);
        fail_msg("decode failed (%d, %s) for: %.200s", ret, text, json);
    }
    assert_non_null(pack);
    return pack;
}

static int decode_err(const char *json, size_t len, struct senml_error *err)
{
    struct senml_pack *pack = NULL;
    int ret = senml_json_decode(json, len, NOW_MS, &pack, err);

    if (ret == 0)
        senml_pack_free(pack);
    else
        assert_null(pack);
    return ret;
}

static void check_refusals(const struct senml_refusal *rows, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        struct senml_error err;
        int ret = decode_err(rows[i].input, strlen(rows[i].input), &err);

        senml_fixture_check_refusal(&rows[i], i, ret, &err);
    }
}

#define REFUSED(json, kind, index, field, reason, offset)                                          \
    {                                                                                              \
        json, -EBADMSG, SENML_ERROR_##kind, index, field, reason, offset                           \
    }
#define SYNTAX(json, index, field, reason) REFUSED(json, SYNTAX, index, field, reason, UNCHECKED)
#define SYNTAX_AT(json, index, field, reason, offset)                                              \
    REFUSED(json, SYNTAX, index, field, reason, offset)
#define STRUCTURE(json, index, field, reason)                                                      \
    REFUSED(json, STRUCTURE, index, field, reason, UNCHECKED)
#define STRUCTURE_AT(json, index, field, reason, offset)                                           \
    REFUSED(json, STRUCTURE, index, field, reason, offset)
#define RECORD(json, index, field, reason) REFUSED(json, RECORD, index, field, reason, UNCHECKED)
#define RECORD_AT(json, index, field, reason, offset)                                              \
    REFUSED(json, RECORD, index, field, reason, offset)
#define TOO_BIG(json, index, field, reason)                                                        \
    {                                                                                              \
        json, -E2BIG, SENML_ERROR_LIMIT, index, field, reason, UNCHECKED                           \
    }
#define TOO_DEEP(json) REFUSED(json, LIMIT, 0, "x", "nesting deeper than 32 levels", UNCHECKED)

static void assert_time(double got, double want)
{
    if (fabs(got - want) > 1e-6)
        fail_msg("time %.6f, want %.6f", got, want);
}

static const char *label_value(const struct senml_record *rec, const char *key)
{
    for (size_t i = 0; i < rec->label_count; i++)
        if (strcmp(rec->labels[i].key, key) == 0)
            return rec->labels[i].value;
    return NULL;
}

/* Everything a resolved record says, compared; times within a microsecond. */
static void assert_record_matches(const struct senml_record *got, const struct senml_record *want)
{
    assert_string_equal(got->name, want->name);
    senml_fixture_assert_string(got->unit, want->unit);
    assert_time(got->time_s, want->time_s);
    assert_int_equal(got->kind, want->kind);
    assert_true(got->value == want->value);
    senml_fixture_assert_string(got->string, want->string);
    assert_int_equal(got->boolean, want->boolean);
    assert_int_equal(got->has_sum, want->has_sum);
    assert_true(got->sum == want->sum);
    assert_int_equal(got->has_update_time, want->has_update_time);
    assert_true(got->update_time_s == want->update_time_s);
    assert_int_equal(got->label_count, want->label_count);
    for (size_t i = 0; i < want->label_count; i++)
        senml_fixture_assert_string(label_value(got, want->labels[i].key), want->labels[i].value);
}

static char *repeat(const char *unit, size_t times, const char *prefix, const char *suffix)
{
    size_t unit_len = strlen(unit), prefix_len = strlen(prefix), suffix_len = strlen(suffix);
    char *text = malloc(prefix_len + unit_len * times + suffix_len + 1);
    char *p = text;

    assert_non_null(text);
    memcpy(p, prefix, prefix_len);
    p += prefix_len;
    for (size_t i = 0; i < times; i++, p += unit_len)
        memcpy(p, unit, unit_len);
    memcpy(p, suffix, suffix_len + 1);
    return text;
}

/* ---- RFC 8428 examples ----------------------------------------------------------------- */

/* The spec tooling that wrote the ex*.gen.resolved.json files leaves vd records out
 * (ex7's "nfv-reader"); the RFC itself keeps them, and so do we. */
static const struct {
    const char *file;
    size_t record;
    const char *vd;
} omitted_from_resolved[] = {{"ex7.gen.json", 3, "aGkgCg"}};

static bool omitted(const char *path, size_t record, const struct senml_record *rec)
{
    const char *base = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;

    for (size_t i = 0; i < ARRAY_LEN(omitted_from_resolved); i++) {
        if (strcmp(base, omitted_from_resolved[i].file) != 0 ||
            record != omitted_from_resolved[i].record)
            continue;
        assert_int_equal(rec->kind, SENML_KIND_DATA);
        assert_string_equal(rec->string, omitted_from_resolved[i].vd);
        return true;
    }
    return false;
}

/* The resolved files were written at some "now" of the tooling's: recover it from the first
 * relative record (its decoded time with now = 0 is its offset from now). */
static int64_t tooling_now_ms(const char *path, const struct senml_pack *relative,
                              const struct senml_pack *want)
{
    for (size_t got = 0, i = 0; got < relative->count; got++) {
        if (omitted(path, got, &relative->records[got]))
            continue;
        assert_true(i < want->count);
        if (relative->records[got].time_s < SENML_RELATIVE_LIMIT_S)
            return llround((want->records[i].time_s - relative->records[got].time_s) * 1000.0);
        i++;
    }
    return 0;
}

static void check_vector(const char *path)
{
    char resolved_path[4096];
    size_t len, resolved_len;
    char *input = senml_fixture_read_file(path, &len), *resolved;
    struct senml_pack *relative, *want, *got;
    int64_t now_ms;
    size_t i = 0;

    assert_non_null(input);
    snprintf(resolved_path, sizeof resolved_path, "%.*s.gen.resolved.json",
             (int)(strlen(path) - strlen(".gen.json")), path);
    resolved = senml_fixture_read_file(resolved_path, &resolved_len);
    relative = decode_ok(input, 0);
    if (resolved == NULL) { /* ex13: checked by value in its own test */
        senml_pack_free(relative);
        free(input);
        return;
    }
    want = decode_ok(resolved, 0);
    for (size_t j = 0; j < want->count; j++)
        assert_true(want->records[j].time_s >= SENML_RELATIVE_LIMIT_S);
    now_ms = tooling_now_ms(path, relative, want);
    got = decode_ok(input, now_ms);
    for (size_t g = 0; g < got->count; g++) {
        if (omitted(path, g, &got->records[g]))
            continue;
        assert_true(i < want->count);
        assert_record_matches(&got->records[g], &want->records[i++]);
    }
    assert_int_equal(i, want->count);
    senml_pack_free(got);
    senml_pack_free(want);
    senml_pack_free(relative);
    free(resolved);
    free(input);
}

static void decodes_every_rfc_example_to_its_resolved_form(void **state)
{
    glob_t found;

    (void)state;
    senml_fixture_vectors(".gen.json", &found);
    assert_true(found.gl_pathc >= 13);
    for (size_t i = 0; i < found.gl_pathc; i++) {
        print_message("  %s\n", found.gl_pathv[i]);
        check_vector(found.gl_pathv[i]);
    }
    globfree(&found);
}

/* RFC 8428 §5.1.3 resolved as printed in §5.1.4 (normative), checked field by field. */
static void resolves_multiple_measurements_example_as_printed_in_the_rfc(void **state)
{
    static const struct {
        const char *unit;
        double time_s, value;
    } want[] = {
        {"%RH", 1320067464, 20},       {"lon", 1320067464, 24.30621}, {"lat", 1320067464, 60.07965},
        {"%RH", 1320067524, 20.3},     {"lon", 1320067524, 24.30622}, {"lat", 1320067524, 60.07965},
        {"%RH", 1320067584, 20.7},     {"lon", 1320067584, 24.30623}, {"lat", 1320067584, 60.07966},
        {"%EL", 1320067614, 98},       {"%RH", 1320067644, 21.2},     {"lon", 1320067644, 24.30628},
        {"lat", 1320067644, 60.07967},
    };
    struct senml_pack *pack = decode_ok(
        "[{\"bn\":\"urn:dev:ow:10e2073a01080063\",\"bt\":1.320067464e+09,\"bu\":\"%RH\",\"v\":20},"
        "{\"u\":\"lon\",\"v\":24.30621},{\"u\":\"lat\",\"v\":60.07965},{\"t\":60,\"v\":20.3},"
        "{\"u\":\"lon\",\"t\":60,\"v\":24.30622},{\"u\":\"lat\",\"t\":60,\"v\":60.07965},"
        "{\"t\":120,\"v\":20.7},{\"u\":\"lon\",\"t\":120,\"v\":24.30623},"
        "{\"u\":\"lat\",\"t\":120,\"v\":60.07966},{\"u\":\"%EL\",\"t\":150,\"v\":98},"
        "{\"t\":180,\"v\":21.2},{\"u\":\"lon\",\"t\":180,\"v\":24.30628},"
        "{\"u\":\"lat\",\"t\":180,\"v\":60.07967}]",
        NOW_MS);

    (void)state;
    assert_int_equal(pack->count, ARRAY_LEN(want));
    for (size_t i = 0; i < ARRAY_LEN(want); i++) {
        assert_string_equal(pack->records[i].name, "urn:dev:ow:10e2073a01080063");
        assert_string_equal(pack->records[i].unit, want[i].unit);
        assert_true(pack->records[i].time_s == want[i].time_s);
        assert_int_equal(pack->records[i].kind, SENML_KIND_NUMBER);
        assert_true(pack->records[i].value == want[i].value);
        assert_false(pack->records[i].has_sum);
    }
    senml_pack_free(pack);
}

static void resolves_actuator_example_with_shared_base_time_and_unit(void **state)
{
    struct senml_pack *pack =
        decode_ok("[{\"bt\":1.320078429e+09,\"bu\":\"/\",\"n\":\"2001:db8::3\",\"v\":0.5},"
                  "{\"n\":\"2001:db8::4\",\"v\":0.5},{\"n\":\"2001:db8::3\",\"t\":0.1,\"v\":0},"
                  "{\"n\":\"2001:db8::4\",\"t\":0.1,\"v\":0}]",
                  NOW_MS);

    (void)state;
    assert_int_equal(pack->count, 4);
    assert_string_equal(pack->records[1].name, "2001:db8::4");
    assert_string_equal(pack->records[3].unit, "/");
    assert_true(pack->records[0].time_s == 1320078429.0);
    assert_time(pack->records[3].time_s, 1320078429.1);
    assert_true(pack->records[2].value == 0);
    senml_pack_free(pack);
}

/* ---- resolution ------------------------------------------------------------------------ */

static void resolves_base_name_and_relative_time(void **state)
{
    struct senml_pack *pack = decode_ok(
        "[{\"bn\":\"urn:dev:ow:10e2073a01080063:\",\"n\":\"voltage\",\"u\":\"V\",\"v\":120.1},"
        "{\"n\":\"current\",\"t\":-5,\"u\":\"A\",\"v\":1.2},"
        "{\"bn\":\"other/\",\"n\":\"x\",\"t\":2.5,\"v\":3}]",
        NOW_MS);

    (void)state;
    assert_int_equal(pack->count, 3);
    assert_string_equal(pack->records[0].name, "urn:dev:ow:10e2073a01080063:voltage");
    assert_string_equal(pack->records[1].name, "urn:dev:ow:10e2073a01080063:current");
    assert_string_equal(pack->records[2].name, "other/x");
    assert_true(pack->records[0].time_s == NOW_S);
    assert_true(pack->records[1].time_s == NOW_S - 5);
    assert_true(pack->records[2].time_s == NOW_S + 2.5);
    assert_string_equal(pack->records[1].unit, "A");
    senml_pack_free(pack);
}

static void treats_times_below_2_pow_28_as_relative_to_now(void **state)
{
    static const struct {
        const char *json;
        int64_t now_ms;
        double want;
    } rows[] = {
        {"[{\"n\":\"a\",\"v\":1}]", NOW_MS, NOW_S},
        {"[{\"n\":\"a\",\"t\":0.5,\"v\":1}]", NOW_MS + 123, NOW_S + 0.623},
        {"[{\"bt\":-10,\"n\":\"a\",\"t\":4,\"v\":1}]", NOW_MS, NOW_S - 6},
        {"[{\"n\":\"a\",\"t\":268435455,\"v\":1}]", NOW_MS, NOW_S + 268435455},
        {"[{\"n\":\"a\",\"t\":268435455.5,\"v\":1}]", NOW_MS, NOW_S + 268435455.5},
        {"[{\"n\":\"a\",\"t\":268435456,\"v\":1}]", NOW_MS, 268435456},
        {"[{\"n\":\"a\",\"t\":-1e9,\"v\":1}]", NOW_MS, NOW_S - 1e9},
        /* §4.5.3: bt + t decides, so an absolute bt with a negative t can turn relative */
        {"[{\"bt\":268435456,\"n\":\"a\",\"t\":-1,\"v\":1}]", NOW_MS, NOW_S + 268435455},
        {"[{\"bt\":1.6e9,\"n\":\"a\",\"t\":-1,\"v\":1}]", NOW_MS, 1.6e9 - 1},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
        struct senml_pack *pack = decode_ok(rows[i].json, rows[i].now_ms);
        assert_time(pack->records[0].time_s, rows[i].want);
        senml_pack_free(pack);
    }
}

static void adds_base_value_and_base_sum_to_later_records(void **state)
{
    struct senml_pack *pack =
        decode_ok("[{\"bn\":\"m/\",\"bv\":100,\"bs\":1000,\"n\":\"a\",\"v\":1,\"s\":5},"
                  "{\"n\":\"b\",\"v\":-2.5},{\"n\":\"c\",\"s\":2},{\"bv\":0,\"n\":\"d\",\"v\":3},"
                  "{\"n\":\"e\",\"vs\":\"text\"}]",
                  NOW_MS);
    const struct senml_record *rec = pack->records;

    (void)state;
    assert_int_equal(pack->count, 5);
    assert_true(rec[0].value == 101 && rec[0].has_sum && rec[0].sum == 1005);
    /* §4.5.4: a base sum alone gives the record a sum */
    assert_true(rec[1].value == 97.5 && rec[1].has_sum && rec[1].sum == 1000);
    assert_int_equal(rec[2].kind, SENML_KIND_NONE);
    assert_true(rec[2].has_sum && rec[2].sum == 1002);
    assert_true(rec[3].value == 3);
    assert_int_equal(rec[4].kind, SENML_KIND_STRING);
    assert_string_equal(rec[4].string, "text");
    senml_pack_free(pack);
}

static void keeps_sum_only_records_without_a_value(void **state)
{
    struct senml_pack *pack =
        decode_ok("[{\"n\":\"energy\",\"u\":\"J\",\"s\":42.5,\"ut\":60}]", NOW_MS);

    (void)state;
    assert_int_equal(pack->count, 1);
    assert_int_equal(pack->records[0].kind, SENML_KIND_NONE);
    assert_true(pack->records[0].has_sum && pack->records[0].sum == 42.5);
    assert_true(pack->records[0].has_update_time && pack->records[0].update_time_s == 60);
    senml_pack_free(pack);
}

static void applies_base_unit_until_a_record_or_base_overrides_it(void **state)
{
    struct senml_pack *pack = decode_ok(
        "[{\"bu\":\"%RH\",\"n\":\"a\",\"v\":1},{\"n\":\"b\",\"u\":\"Cel\",\"v\":2},"
        "{\"n\":\"c\",\"v\":3},{\"n\":\"d\",\"u\":\"\",\"v\":4},{\"bu\":\"\",\"n\":\"e\",\"v\":5}]",
        NOW_MS);

    (void)state;
    assert_string_equal(pack->records[0].unit, "%RH");
    assert_string_equal(pack->records[1].unit, "Cel");
    assert_string_equal(pack->records[2].unit, "%RH");
    assert_null(pack->records[3].unit); /* an empty unit is no unit */
    assert_null(pack->records[4].unit);
    senml_pack_free(pack);
}

static void decodes_value_kinds_string_bool_and_data(void **state)
{
    struct senml_pack *pack = decode_ok(
        "[{\"bn\":\"d:\",\"n\":\"label\",\"vs\":\"Machine Room\"},{\"n\":\"open\",\"vb\":false},"
        "{\"n\":\"on\",\"vb\":true},{\"n\":\"raw\",\"vd\":\"aGkgCg\"},{\"n\":\"none\",\"vd\":\"\"}"
        "]",
        NOW_MS);

    (void)state;
    assert_int_equal(pack->records[0].kind, SENML_KIND_STRING);
    assert_string_equal(pack->records[0].string, "Machine Room");
    assert_int_equal(pack->records[1].kind, SENML_KIND_BOOL);
    assert_false(pack->records[1].boolean);
    assert_true(pack->records[2].boolean);
    assert_int_equal(pack->records[3].kind, SENML_KIND_DATA);
    assert_string_equal(pack->records[3].string, "aGkgCg");
    assert_string_equal(pack->records[4].string, "");
    senml_pack_free(pack);
}

static void skips_records_that_carry_only_base_fields(void **state)
{
    struct senml_pack *pack = decode_ok(
        "[{\"bn\":\"urn:dev:ow:10e2073a01080063:\"},{\"n\":\"temp\",\"u\":\"Cel\",\"v\":23.1},"
        "{\"bt\":1.6e9,\"bu\":\"/\",\"bver\":10,\"lbl\":\"dropped\"},{\"n\":\"heat\",\"v\":1}]",
        NOW_MS);

    (void)state;
    assert_int_equal(pack->count, 2);
    assert_string_equal(pack->records[0].name, "urn:dev:ow:10e2073a01080063:temp");
    assert_string_equal(pack->records[1].name, "urn:dev:ow:10e2073a01080063:heat");
    assert_true(pack->records[1].time_s == 1.6e9);
    assert_string_equal(pack->records[1].unit, "/");
    assert_int_equal(pack->records[1].label_count, 0);
    senml_pack_free(pack);
}

static void accepts_bver_up_to_10_when_all_records_agree(void **state)
{
    static const char *const ok[] = {
        "[{\"bver\":10,\"n\":\"a\",\"v\":1}]",
        "[{\"bver\":5,\"n\":\"a\",\"v\":1},{\"n\":\"b\",\"v\":2},{\"bver\":5,\"n\":\"c\",\"v\":3}]",
        "[{\"bver\":1,\"n\":\"a\",\"v\":1}]",
        "[{\"n\":\"a\",\"v\":1},{\"bver\":10,\"n\":\"b\",\"v\":2}]",
        "[{\"bver\":1e1,\"n\":\"a\",\"v\":1}]",
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(ok); i++)
        senml_pack_free(decode_ok(ok[i], NOW_MS));
}

static void keeps_unknown_string_fields_as_labels_and_skips_other_unknowns(void **state)
{
    struct senml_pack *pack = decode_ok(
        "[{\"bn\":\"h/\",\"n\":\"disk.used_pct\",\"v\":50,\"mount\":\"/\",\"fs\":\"ext4\","
        "\"nested\":{\"a\":[1,2.5e3,{\"b\":null}],\"c\":\"\\u00e9\"},\"num\":-5,\"flag\":true,"
        "\"nil\":null,\"\":\"no key\",\"empty\":\"\",\"x\\u00e9\":\"unicode key\"},"
        "{\"n\":\"other\",\"v\":1}]",
        NOW_MS);
    const struct senml_record *rec = &pack->records[0];

    (void)state;
    assert_int_equal(rec->label_count, 4);
    assert_string_equal(rec->labels[0].key, "mount");
    assert_string_equal(rec->labels[0].value, "/");
    assert_string_equal(label_value(rec, "fs"), "ext4");
    assert_string_equal(label_value(rec, "empty"), "");
    assert_string_equal(label_value(rec, "x\xc3\xa9"), "unicode key");
    assert_int_equal(pack->records[1].label_count, 0);
    senml_pack_free(pack);
}

static void reads_boot_id_and_sequence_from_their_first_occurrence(void **state)
{
    struct senml_pack *pack =
        decode_ok("[{\"bn\":\"h/\",\"n\":\"a\",\"v\":1,\"bid\":\"boot-1\",\"sq\":7},"
                  "{\"n\":\"b\",\"v\":2,\"bid\":\"boot-2\",\"sq\":8}]",
                  NOW_MS);

    (void)state;
    assert_string_equal(pack->boot_id, "boot-1");
    assert_true(pack->has_seq);
    assert_int_equal(pack->seq, 7);
    assert_int_equal(pack->records[0].label_count, 0);
    assert_int_equal(pack->records[1].label_count, 0);
    senml_pack_free(pack);

    pack = decode_ok(
        "[{\"bn\":\"h/\",\"bid\":\"x\",\"sq\":9007199254740992},{\"n\":\"a\",\"v\":1}]", NOW_MS);
    assert_int_equal(pack->count, 1);
    assert_string_equal(pack->boot_id, "x");
    assert_int_equal(pack->seq, UINT64_C(9007199254740992));
    senml_pack_free(pack);

    pack = decode_ok("[{\"n\":\"a\",\"v\":1,\"sq\":0}]", NOW_MS);
    assert_null(pack->boot_id);
    assert_true(pack->has_seq);
    assert_int_equal(pack->seq, 0);
    senml_pack_free(pack);

    pack = decode_ok("[{\"n\":\"a\",\"v\":1}]", NOW_MS);
    assert_null(pack->boot_id);
    assert_false(pack->has_seq);
    senml_pack_free(pack);
}

static void decodes_empty_array_to_zero_records(void **state)
{
    struct senml_pack *pack = decode_ok(" [ \n ] ", NOW_MS);

    (void)state;
    assert_int_equal(pack->count, 0);
    assert_null(pack->boot_id);
    senml_pack_free(pack);
}

static void decodes_escapes_and_surrogate_pairs_to_utf8(void **state)
{
    struct senml_pack *pack = decode_ok(
        "[{\"n\":\"a\\/b\",\"vs\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u20AC\\ud83d\\ude00 "
        "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}]",
        NOW_MS);

    (void)state;
    assert_string_equal(pack->records[0].name, "a/b");
    assert_string_equal(pack->records[0].string,
                        "\"\\/\b\f\n\r\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 "
                        "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    senml_pack_free(pack);
}

static void accepts_whitespace_wherever_json_does(void **state)
{
    struct senml_pack *pack =
        decode_ok(" \t\n\r[ \n{ \"n\" : \"a\" , \"v\" : 1 ,\"x\" :[ 1 , { \"y\" : null } ] } ,\r\n"
                  "{\"n\":\"b\",\"vb\":\ttrue\t}\n ]\r\n ",
                  NOW_MS);

    (void)state;
    assert_int_equal(pack->count, 2);
    assert_true(pack->records[1].boolean);
    senml_pack_free(pack);
}

static void reads_numbers_exactly_as_strtod_does(void **state)
{
    static const char *const numbers[] = {
        "0",
        "-0",
        "1",
        "-1",
        "23.1",
        "0.05",
        "120.1",
        "1e-7",
        "1E5",
        "1e+2",
        "-1.5e-3",
        "0.1e1",
        "123.456e-2",
        "1e22",
        "1e-22",
        "1e23",
        "9007199254740991",
        "9007199254740993",
        "18446744073709551615",
        "123456789012345678901234567890",
        "1.7976931348623157e308",
        "2.2250738585072014e-308",
        "4.9e-324",
        "1e-400",
        "0.30000000000000004",
        "3.0000000000000004",
        "0.000000000000000000000000001",
        "9007199254740991.5",
        "1.276020076001e+09",
        "1e00000000000000000000000000005",
        "0.0000000000000000000000000000000000000000000000000000000000000000000000000000000001",
        "1.00000000000000000000000000000000000000000000000000000000000000000000000000000001",
    };
    char json[256];

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(numbers); i++) {
        double want = strtod(numbers[i], NULL);
        struct senml_pack *pack;

        snprintf(json, sizeof json, "[{\"n\":\"a\",\"v\":%s}]", numbers[i]);
        pack = decode_ok(json, NOW_MS);
        if (memcmp(&pack->records[0].value, &want, sizeof want) != 0)
            fail_msg("%s: got %.17g, want %.17g", numbers[i], pack->records[0].value, want);
        senml_pack_free(pack);
    }
}

/* Random decimals around the fast path's limits (19 digits, 2^53, 10^+-22), same check. */
static void reads_random_decimals_exactly_as_strtod_does(void **state)
{
    uint64_t seed = 88172645463325252u;
    char number[64], json[128];

    (void)state;
    for (int i = 0; i < 200000; i++) {
        int digits, point, exponent, len = 0;
        struct senml_pack *pack;
        double want;

        seed ^= seed << 13; /* xorshift64 */
        seed ^= seed >> 7;
        seed ^= seed << 17;
        digits = 1 + (int)(seed % 21);
        point = (int)((seed >> 8) % (uint64_t)(digits + 1));
        exponent = (int)((seed >> 16) % 61) - 30;
        if ((seed >> 24) & 1)
            number[len++] = '-';
        for (int d = 0; d < digits; d++) {
            if (d == point && d > 0)
                number[len++] = '.';
            number[len++] =
                (char)('0' + (d == 0 ? 1 + (seed >> (28 + d)) % 9 : (seed >> (d * 3)) % 10));
        }
        snprintf(number + len, sizeof number - (size_t)len, "e%d", exponent);
        want = strtod(number, NULL);
        snprintf(json, sizeof json, "[{\"n\":\"a\",\"v\":%s}]", number);
        pack = decode_ok(json, NOW_MS);
        if (memcmp(&pack->records[0].value, &want, sizeof want) != 0)
            fail_msg("%s: got %.17g, want %.17g", number, pack->records[0].value, want);
        senml_pack_free(pack);
    }
}

static void accepts_exactly_the_maximum_records_name_length_and_depth(void **state)
{
    char *json =
        repeat("{\"n\":\"a\",\"v\":1},", SENML_MAX_RECORDS - 1, "[", "{\"n\":\"a\",\"v\":1}]");
    char name[SENML_MAX_NAME + 1], half[SENML_MAX_NAME / 2 + 1], text[1024];
    struct senml_pack *pack = decode_ok(json, NOW_MS);
    char *deep;

    (void)state;
    assert_int_equal(pack->count, SENML_MAX_RECORDS);
    senml_pack_free(pack);
    free(json);

    memset(name, 'n', SENML_MAX_NAME);
    name[SENML_MAX_NAME] = '\0';
    memset(half, 'h', SENML_MAX_NAME / 2);
    half[SENML_MAX_NAME / 2] = '\0';
    snprintf(text, sizeof text, "[{\"n\":\"%s\",\"v\":1},{\"bn\":\"%s\",\"n\":\"%s\",\"v\":1}]",
             name, half, half);
    pack = decode_ok(text, NOW_MS);
    assert_int_equal(strlen(pack->records[0].name), SENML_MAX_NAME);
    assert_int_equal(strlen(pack->records[1].name), SENML_MAX_NAME);
    senml_pack_free(pack);

    /* pack array and record are levels 1 and 2: an unknown value may nest 30 more */
    json = repeat("[", 30, "[{\"n\":\"a\",\"v\":1,\"x\":", "");
    deep = repeat("]", 30, json, "}]");
    senml_pack_free(decode_ok(deep, NOW_MS));
    free(deep);
    free(json);
}

/* ---- refused input --------------------------------------------------------------------- */

static void refuses_input_that_is_not_json(void **state)
{
    static const struct senml_refusal rows[] = {
        SYNTAX_AT("", -1, "", "expected a JSON array of records", 0),
        SYNTAX_AT("hello", -1, "", "expected a JSON array of records", 0),
        SYNTAX_AT("{\"n\":", -1, "", "expected a JSON array of records", 0),
        SYNTAX_AT("  \n", -1, "", "expected a JSON array of records", 3),
        SYNTAX_AT("\xef\xbb\xbf[]", -1, "", "expected a JSON array of records", 0),
        SYNTAX_AT("[}", 0, "", "expected a record object", 1),
        SYNTAX_AT("[{]", 0, "", "expected a string key", 2),
        SYNTAX("[{'n':'a'}]", 0, "", "expected a string key"),
        SYNTAX_AT("[{\"n\" \"a\"}]", 0, "n", "expected ':'", 6),
        SYNTAX("[{\"n\":\"a\",\"v\":1,}]", 0, "", "expected a string key"),
        SYNTAX("[{\"n\":\"a\" \"v\":1}]", 0, "", "expected ',' or '}'"),
        SYNTAX_AT("[{\"n\":\"a\",\"v\":1}{\"n\":\"b\",\"v\":2}]", -1, "", "expected ',' or ']'",
                  16),
        SYNTAX("[{\"n\":\"a\",\"v\":1,\"x\":nul}]", 0, "x", "invalid JSON value"),
        SYNTAX("[{\"n\":\"a\",\"v\":1,\"x\":[1,]}]", 0, "x", "invalid JSON value"),
        SYNTAX("[{\"n\":\"a\",\"v\":1,\"x\":{\"k\" 1}}]", 0, "x", "expected ':'"),
        SYNTAX("[{\"n\":\"a\",\"v\":1,\"x\":{1:2}}]", 0, "x", "expected a string key"),
        SYNTAX("[{\"n\":\"a\",\"v\":1,\"x\":[1 2]}]", 0, "x", "expected ',' or ']'"),
        SYNTAX("[{\"n\":\"a\",\"v\":1,\"x\":undefined}]", 0, "x", "invalid JSON value"),
    };

    (void)state;
    check_refusals(rows, ARRAY_LEN(rows));
}

static void refuses_truncated_json(void **state)
{
    static const struct senml_refusal rows[] = {
        SYNTAX_AT("[", 0, "", "unexpected end of input", 1),
        SYNTAX("[{", 0, "", "unexpected end of input"),
        SYNTAX("[{\"n\"", 0, "n", "unexpected end of input"),
        SYNTAX("[{\"n\":", 0, "n", "unexpected end of input"),
        SYNTAX("[{\"n\":\"ab", 0, "n", "unexpected end of input"),
        SYNTAX("[{\"n\":\"a\\", 0, "n", "unexpected end of input"),
        SYNTAX("[{\"n\":\"a\",\"v\":1", 0, "", "unexpected end of input"),
        SYNTAX("[{\"n\":\"a\",\"v\":1.", 0, "v", "unexpected end of input"),
        SYNTAX("[{\"n\":\"a\",\"v\":-", 0, "v", "unexpected end of input"),
        SYNTAX("[{\"n\":\"a\",\"v\":1e", 0, "v", "unexpected end of input"),
        SYNTAX("[{\"n\":\"a\",\"vb\":tr", 0, "vb", "unexpected end of input"),
        SYNTAX("[{\"n\":\"a\",\"v\":1,\"x\":[1,{\"y\":[", 0, "x", "unexpected end of input"),
        SYNTAX_AT("[{\"n\":\"a\",\"v\":1}", -1, "", "unexpected end of input", 16),
        SYNTAX_AT("[{\"n\":\"a\",\"v\":1},", 1, "", "unexpected end of input", 17),
        SYNTAX_AT("[{\"n\":\"a\",\"v\":1},{\"n\":\"b\",\"v\":2}", -1, "", "unexpected end of input",
                  32),
    };

    (void)state;
    check_refusals(rows, ARRAY_LEN(rows));
}

static void refuses_trailing_data_after_the_pack(void **state)
{
    static const struct senml_refusal rows[] = {
        SYNTAX_AT("[] x", -1, "", "unexpected data after the pack", 3),
        SYNTAX_AT("[{\"n\":\"a\",\"v\":1}]]", -1, "", "unexpected data after the pack", 17),
        SYNTAX_AT("[][]", -1, "", "unexpected data after the pack", 2),
        SYNTAX_AT("[{\"n\":\"a\",\"v\":1}] \n,", -1, "", "unexpected data after the pack", 19),
    };
    struct senml_error err;

    (void)state;
    check_refusals(rows, ARRAY_LEN(rows));
    /* a NUL byte is data too: the length given is what counts */
    assert_int_equal(decode_err("[]\0", 3, &err), -EBADMSG);
    assert_string_equal(err.reason, "unexpected data after the pack");
    assert_int_equal(decode_err("[]\0", 2, &err), 0);
}

static void refuses_top_level_values_other_than_an_array(void **state)
{
    static const struct senml_refusal rows[] = {
        STRUCTURE_AT("{\"n\":\"a\",\"v\":1}", -1, "", "expected a JSON array of records", 0),
        STRUCTURE("\"[]\"", -1, "", "expected a JSON array of records"),
        STRUCTURE("1", -1, "", "expected a JSON array of records"),
        STRUCTURE("null", -1, "", "expected a JSON array of records"),
        STRUCTURE("true", -1, "", "expected a JSON array of records"),
    };

    (void)state;
    check_refusals(rows, ARRAY_LEN(rows));
}

static void refuses_array_elements_that_are_not_objects(void **state)
{
    static const struct senml_refusal rows[] = {
        STRUCTURE_AT("[1]", 0, "", "expected a record object", 1),
        STRUCTURE("[\"a\"]", 0, "", "expected a record object"),
        STRUCTURE("[[]]", 0, "", "expected a record object"),
        STRUCTURE("[null]", 0, "", "expected a record object"),
        STRUCTURE_AT("[{\"n\":\"a\",\"v\":1}, 2]", 1, "", "expected a record object", 18),
        SYNTAX("[,]", 0, "", "expected a record object"),
        SYNTAX("[{\"n\":\"a\",\"v\":1},]", 1, "", "expected a record object"),
        SYNTAX("[{\"n\":\"a\",\"v\":1},[1,]]", 1, "", "expected a record object"),
    };

    (void)state;
    check_refusals(rows, ARRAY_LEN(rows));
}

static void refuses_fields_of_the_wrong_type(void **state)
{
    static const struct senml_refusal rows[] = {
        RECORD_AT("[{\"n\":\"a\",\"v\":\"1\"}]", 0, "v", "expected a number", 14),
        RECORD("[{\"n\":\"a\",\"vs\":1}]", 0, "vs", "expected a string"),
        RECORD("[{\"n\":\"a\",\"vb\":1}]", 0, "vb", "expected true or false"),
        RECORD("[{\"n\":\"a\",\"vb\":\"true\"}]", 0, "vb", "expected true or false"),
        RECORD("[{\"n\":\"a\",\"vb\":null}]", 0, "vb", "expected true or false"),
        RECORD("[{\"n\":\"a\",\"vd\":[]}]", 0, "vd", "expected a string"),
        RECORD("[{\"n\":1,\"v\":1}]", 0, "n", "expected a string"),
        RECORD("[{\"bn\":true,\"n\":\"a\",\"v\":1}]", 0, "bn", "expected a string"),
        RECORD("[{\"n\":\"a\",\"u\":[],\"v\":1}]", 0, "u", "expected a string"),
        RECORD("[{\"bu\":{},\"n\":\"a\",\"v\":1}]", 0, "bu", "expected a string"),
        RECORD("[{\"n\":\"a\",\"t\":\"1\",\"v\":1}]", 0, "t", "expected a number"),
        RECORD("[{\"bt\":null,\"n\":\"a\",\"v\":1}]", 0, "bt", "expected a number"),
        RECORD("[{\"bv\":\"\",\"n\":\"a\",\"v\":1}]", 0, "bv", "expected a number"),
        RECORD("[{\"bs\":[],\"n\":\"a\",\"v\":1}]", 0, "bs", "expected a number"),
        RECORD("[{\"n\":\"a\",\"s\":true}]", 0, "s", "expected a number"),
        RECORD("[{\"n\":\"a\",\"v\":1,\"ut\":\"60\"}]", 0, "ut", "expected a number"),
        RECORD("[{\"bver\":\"10\",\"n\":\"a\",\"v\":1}]", 0, "bver", "expected a number"),
        RECORD("[{\"n\":\"a\",\"v\":1,\"bid\":7}]", 0, "bid", "expected a string"),
        RECORD("[{\"n\":\"a\",\"v\":1,\"sq\":\"7\"}]", 0, "sq", "expected a number"),
        RECORD("[{\"n\":\"a\",\"v\":1},{\"n\":\"b\",\"v\":true}]", 1, "v", "expected a number"),
    };

    (void)state;
    check_refusals(rows, ARRAY_LEN(rows));
}

static void refuses_records_with_two_value_fields(void **state)
{
    static const struct senml_refusal rows[] = {
        RECORD("[{\"n\":\"a\",\"v\":1,\"vs\":\"x\"}]", 0, "vs", "more than one value field"),
        RECORD("[{\"n\":\"a\",\"vb\":true,\"v\":1}]", 0, "v", "more than one value field"),
        RECORD("[{\"n\":\"a\",\"vd\":\"AA\",\"vs\":\"x\"}]", 0, "vs", "more than one value field"),
        RECORD("[{\"n\":\"a\",\"vs\":\"x\",\"s\":1,\"vb\":false}]", 0, "vb",
               "more than one value field"),
    };

    (void)state;
    check_refusals(rows, ARRAY_LEN(rows));
}

static void refuses_records_with_neither_value_nor_sum(void **state)
{
    static const struct senml_refusal rows[] = {
        RECORD("[{\"n\":\"a\"}]", 0, "", "record has no value and no sum"),
        RECORD_AT("[{}]", 0, "", "record has no value and no sum", 3),
        RECORD("[{\"n\":\"a\",\"u\":\"V\",\"t\":1,\"ut\":5}]", 0, "",
               "record has no value and no sum"),
        RECORD("[{\"bid\":\"x\",\"sq\":1}]", 0, "", "record has no value and no sum"),
        RECORD("[{\"n\":\"a\",\"label\":\"x\"}]", 0, "", "record has no value and no sum"),
        RECORD("[{\"bn\":\"a\",\"v\":1},{\"t\":5}]", 1, "", "record has no value and no sum"),
        RECORD("[{\"bs\":1,\"n\":\"a\"}]", 0, "", "record has no value and no sum"),
    };

    (void)state;
    check_refusals(rows, ARRAY_LEN(rows));
}

static void refuses_invalid_resolved_names(void **state)
{
    static const struct senml_refusal rows[] = {
        RECORD("[{\"n\":\"a b\",\"v\":1}]", 0, "n", "invalid character in name"),
        RECORD("[{\"n\":\"a%\",\"v\":1}]", 0, "n", "invalid character in name"),
        RECORD("[{\"n\":\"caf\\u00e9\",\"v\":1}]", 0, "n", "invalid character in name"),
        RECORD("[{\"bn\":\"a?\",\"v\":1}]", 0, "bn", "invalid character in name"),
        RECORD("[{\"n\":\"\",\"v\":1}]", 0, "n", "empty name"),
        RECORD("[{\"v\":1}]", 0, "bn", "empty name"),
        RECORD("[{\"bn\":\"\",\"n\":\"\",\"v\":1}]", 0, "n", "empty name"),
        RECORD("[{\"n\":\"-a\",\"v\":1}]", 0, "n", "name must start with a letter or digit"),
        RECORD("[{\"n\":\"_a\",\"v\":1}]", 0, "n", "name must start with a letter or digit"),
        RECORD("[{\"bn\":\":x\",\"n\":\"a\",\"v\":1}]", 0, "n",
               "name must start with a letter or digit"),
        RECORD("[{\"bn\":\"ok/\",\"n\":\"a\",\"v\":1},{\"bn\":\"/\",\"n\":\"b\",\"v\":1}]", 1, "n",
               "name must start with a letter or digit"),
    };

    (void)state;
    check_refusals(rows, ARRAY_LEN(rows));
}

static void refuses_must_understand_fields(void **state)
{
    static const struct senml_refusal rows[] = {
        RECORD("[{\"n\":\"a\",\"v\":1,\"foo_\":1}]", 0, "foo_",
               "must-understand field not supported"),
        RECORD("[{\"bfoo_\":\"x\",\"n\":\"a\",\"v\":1}]", 0, "bfoo_",
               "must-understand field not supported"),
        RECORD("[{\"n\":\"a\",\"v\":1,\"_\":null}]", 0, "_", "must-understand field not supported"),
        RECORD("[{\"n\":\"a\",\"v\":1,\"x\\u005f\":{}}]", 0, "x_",
               "must-understand field not supported"),
        RECORD("[{\"n\":\"a\",\"v\":1,\"a_very_long_key_that_is_past_the_label_limit_\":1}]", 0,
               "a_very_long_key_that_is_past_the", "must-understand field not supported"),
        RECORD("[{\"bn\":\"a\"},{\"n\":\"b\",\"v\":1,\"v_\":1}]", 1, "v_",
               "must-understand field not supported"),
    };

    (void)state;
    check_refusals(rows, ARRAY_LEN(rows));
}

static void refuses_bver_above_10_and_versions_that_differ(void **state)
{
    static const struct senml_refusal rows[] = {
        RECORD("[{\"bver\":11,\"n\":\"a\",\"v\":1}]", 0, "bver", "version 11 is newer than 10"),
        RECORD("[{\"bver\":1e3,\"n\":\"a\",\"v\":1}]", 0, "bver", "version 1000 is newer than 10"),
        RECORD("[{\"bver\":0,\"n\":\"a\",\"v\":1}]", 0, "bver", "expected a positive integer"),
        RECORD("[{\"bver\":-1,\"n\":\"a\",\"v\":1}]", 0, "bver", "expected a positive integer"),
        RECORD("[{\"bver\":9.5,\"n\":\"a\",\"v\":1}]", 0, "bver", "expected a positive integer"),
        RECORD("[{\"bver\":5,\"n\":\"a\",\"v\":1},{\"bver\":6,\"n\":\"b\",\"v\":1}]", 1, "bver",
               "version differs from the pack's (5)"),
        RECORD("[{\"n\":\"a\",\"v\":1},{\"bver\":9,\"n\":\"b\",\"v\":1}]", 1, "bver",
               "version differs from the pack's (10)"),
    };

    (void)state;
    check_refusals(rows, ARRAY_LEN(rows));
}

static void refuses_duplicate_keys_in_one_record(void **state)
{
    static const struct senml_refusal rows[] = {
        RECORD("[{\"n\":\"a\",\"n\":\"b\",\"v\":1}]", 0, "n", "duplicate field"),
        RECORD("[{\"n\":\"a\",\"v\":1,\"v\":2}]", 0, "v", "duplicate field"),
        RECORD("[{\"n\":\"a\",\"\\u0076\":1,\"v\":2}]", 0, "v", "duplicate field"),
        RECORD("[{\"bn\":\"a\",\"bn\":\"b\",\"v\":1}]", 0, "bn", "duplicate field"),
        RECORD("[{\"n\":\"a\",\"v\":1,\"bid\":\"x\",\"bid\":\"y\"}]", 0, "bid", "duplicate field"),
        RECORD("[{\"n\":\"a\",\"v\":1,\"sq\":1,\"sq\":1}]", 0, "sq", "duplicate field"),
        RECORD("[{\"n\":\"a\",\"v\":1,\"host\":\"x\",\"host\":\"y\"}]", 0, "host",
               "duplicate field"),
    };

    (void)state;
    check_refusals(rows, ARRAY_LEN(rows));
}

static void refuses_bad_escapes_control_characters_and_invalid_utf8(void **state)
{
    static const struct senml_refusal rows[] = {
        SYNTAX_AT("[{\"n\":\"a\\qb\",\"v\":1}]", 0, "n", "invalid escape in string", 8),
        SYNTAX("[{\"n\":\"a\",\"vs\":\"\\x41\"}]", 0, "vs", "invalid escape in string"),
        SYNTAX("[{\"n\":\"a\",\"vs\":\"\\u12G4\"}]", 0, "vs", "invalid \\u escape"),
        SYNTAX("[{\"n\":\"a\",\"vs\":\"\\u12\"}]", 0, "vs", "invalid \\u escape"),
        SYNTAX("[{\"n\":\"a\",\"vs\":\"\\ud800\"}]", 0, "vs", "unpaired surrogate in \\u escape"),
        SYNTAX("[{\"n\":\"a\",\"vs\":\"\\udc00\\ud800\"}]", 0, "vs",
               "unpaired surrogate in \\u escape"),
        SYNTAX("[{\"n\":\"a\",\"vs\":\"\\ud800\\u0041\"}]", 0, "vs",
               "unpaired surrogate in \\u escape"),
        SYNTAX("[{\"n\":\"a\",\"v\":1,\"x\":\"\\ud800\\", 0, "x",
               "unpaired surrogate in \\u escape"),
        SYNTAX_AT("[{\"n\":\"a\",\"vs\":\"a\x01\"}]", 0, "vs", "control character in string", 17),
        SYNTAX("[{\"n\":\"a\",\"vs\":\"tab\there\"}]", 0, "vs", "control character in string"),
        SYNTAX("[{\"n\":\"a\",\"vs\":\"line\nbreak\"}]", 0, "vs", "control character in string"),
        SYNTAX_AT("[{\"n\":\"a\",\"vs\":\"\xff\"}]", 0, "vs", "invalid UTF-8 in string", 16),
        SYNTAX("[{\"n\":\"a\",\"vs\":\"\xc0\xaf\"}]", 0, "vs", "invalid UTF-8 in string"),
        SYNTAX("[{\"n\":\"a\",\"vs\":\"\xed\xa0\x80\"}]", 0, "vs", "invalid UTF-8 in string"),
        SYNTAX("[{\"n\":\"a\",\"vs\":\"\xf4\x90\x80\x80\"}]", 0, "vs", "invalid UTF-8 in string"),
        SYNTAX("[{\"n\":\"a\",\"vs\":\"\xe2\x82\"}]", 0, "vs", "invalid UTF-8 in string"),
        SYNTAX("[{\"n\":\"a\",\"vs\":\"\x80\"}]", 0, "vs", "invalid UTF-8 in string"),
        SYNTAX("[{\"n\":\"a\",\"v\":1,\"k\xff\":1}]", 0, "", "invalid UTF-8 in string"),
        SYNTAX("[{\"n\":\"a\",\"v\":1,\"x\":[\"\x01\"]}]", 0, "x", "control character in string"),
        /* a key from the wire is made printable before it goes into the error */
        SYNTAX("[{\"n\":\"a\",\"v\":1,\"x\\n\\\"\":\"\\q\"}]", 0, "x??",
               "invalid escape in string"),
    };

    (void)state;
    check_refusals(rows, ARRAY_LEN(rows));
}

static void refuses_nul_characters_in_kept_strings(void **state)
{
    static const struct senml_refusal rows[] = {
        RECORD("[{\"n\":\"a\",\"vs\":\"a\\u0000b\"}]", 0, "vs", "string contains U+0000"),
        RECORD("[{\"n\":\"a\\u0000\",\"v\":1}]", 0, "n", "string contains U+0000"),
        RECORD("[{\"n\":\"a\",\"v\":1,\"k\\u0000\":\"x\"}]", 0, "k", "field name contains U+0000"),
        RECORD("[{\"n\":\"a\",\"v\":1,\"lbl\":\"\\u0000\"}]", 0, "lbl", "string contains U+0000"),
    };
    struct senml_pack *pack;

    (void)state;
    check_refusals(rows, ARRAY_LEN(rows));
    /* skipped values are only validated */
    pack = decode_ok("[{\"n\":\"a\",\"v\":1,\"x\":[\"\\u0000\"]}]", NOW_MS);
    senml_pack_free(pack);
}

static void refuses_numbers_that_are_not_json_numbers(void **state)
{
    static const struct senml_refusal rows[] = {
        SYNTAX_AT("[{\"n\":\"a\",\"v\":+1}]", 0, "v", "expected a number", 14),
        SYNTAX_AT("[{\"n\":\"a\",\"v\":01}]", 0, "v", "invalid number (leading zero)", 15),
        SYNTAX("[{\"n\":\"a\",\"v\":-01}]", 0, "v", "invalid number (leading zero)"),
        SYNTAX("[{\"n\":\"a\",\"v\":00.5}]", 0, "v", "invalid number (leading zero)"),
        SYNTAX_AT("[{\"n\":\"a\",\"v\":1.}]", 0, "v", "invalid number", 16),
        SYNTAX("[{\"n\":\"a\",\"v\":.5}]", 0, "v", "expected a number"),
        SYNTAX("[{\"n\":\"a\",\"v\":-.5}]", 0, "v", "invalid number"),
        SYNTAX("[{\"n\":\"a\",\"v\":NaN}]", 0, "v", "expected a number"),
        SYNTAX("[{\"n\":\"a\",\"v\":Infinity}]", 0, "v", "expected a number"),
        SYNTAX("[{\"n\":\"a\",\"v\":-Infinity}]", 0, "v", "invalid number"),
        SYNTAX("[{\"n\":\"a\",\"v\":1e}]", 0, "v", "invalid number"),
        SYNTAX("[{\"n\":\"a\",\"v\":1e+}]", 0, "v", "invalid number"),
        SYNTAX("[{\"n\":\"a\",\"v\":0x10}]", 0, "v", "invalid number"),
        SYNTAX("[{\"n\":\"a\",\"v\":1.5.2}]", 0, "v", "invalid number"),
        SYNTAX("[{\"n\":\"a\",\"v\":12abc}]", 0, "v", "invalid number"),
        SYNTAX("[{\"n\":\"a\",\"v\":1-2}]", 0, "v", "invalid number"),
        SYNTAX("[{\"n\":\"a\",\"v\":- 1}]", 0, "v", "invalid number"),
        SYNTAX("[{\"n\":\"a\",\"v\":1,\"x\":[01]}]", 0, "x", "invalid number (leading zero)"),
    };

    (void)state;
    check_refusals(rows, ARRAY_LEN(rows));
}

static void refuses_numbers_that_overflow_to_infinity(void **state)
{
    static const struct senml_refusal rows[] = {
        RECORD_AT("[{\"n\":\"a\",\"v\":1e999}]", 0, "v", "number out of range", 14),
        RECORD("[{\"n\":\"a\",\"v\":-1e400}]", 0, "v", "number out of range"),
        RECORD("[{\"n\":\"a\",\"v\":1,\"t\":1.8e308}]", 0, "t", "number out of range"),
        RECORD("[{\"n\":\"a\",\"v\":1,\"x\":[1e999]}]", 0, "x", "number out of range"),
        RECORD("[{\"n\":\"a\",\"v\":1,\"sq\":1e999}]", 0, "sq", "number out of range"),
        RECORD("[{\"bv\":1e308,\"n\":\"a\",\"v\":1e308}]", 0, "v",
               "out of range after adding the base field"),
        RECORD("[{\"bt\":-1e308,\"n\":\"a\",\"t\":-1e308,\"v\":1}]", 0, "t",
               "out of range after adding the base field"),
        RECORD("[{\"bs\":1.5e308,\"n\":\"a\",\"s\":1.5e308}]", 0, "s",
               "out of range after adding the base field"),
    };

    (void)state;
    check_refusals(rows, ARRAY_LEN(rows));
}

static void refuses_more_than_max_records_with_e2big(void **state)
{
    char *json = repeat("{\"n\":\"a\",\"v\":1},", SENML_MAX_RECORDS, "[", "{\"n\":\"a\",\"v\":1}]");
    char *base_only = repeat("{\"bn\":\"a\"},", SENML_MAX_RECORDS, "[", "{\"n\":\"a\",\"v\":1}]");
    struct senml_error err;

    (void)state;
    assert_int_equal(decode_err(json, strlen(json), &err), -E2BIG);
    assert_int_equal(err.kind, SENML_ERROR_LIMIT);
    assert_int_equal(err.index, -1);
    assert_string_equal(err.field, "");
    assert_string_equal(err.reason, "more than 10000 records");
    assert_int_equal(err.offset, strlen(json) - strlen("{\"n\":\"a\",\"v\":1}]"));
    /* the bound is on array elements, records with only base fields count too */
    assert_int_equal(decode_err(base_only, strlen(base_only), &err), -E2BIG);
    free(base_only);
    free(json);
}

static void refuses_names_and_strings_over_their_limits(void **state)
{
    char *long_n = repeat("a", SENML_MAX_NAME + 1, "[{\"n\":\"", "\",\"v\":1}]");
    char *long_bn = repeat(
        "b", 200, "[{\"bn\":\"",
        "\"},{\"n\":\"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn\",\"v\":1}]");
    char *long_vs = repeat("s", SENML_MAX_STRING + 1, "[{\"n\":\"a\",\"vs\":\"", "\"}]");
    char *max_vs = repeat("s", SENML_MAX_STRING, "[{\"n\":\"a\",\"vs\":\"", "\"}]");
    char *long_label = repeat("l", SENML_MAX_STRING + 1, "[{\"n\":\"a\",\"v\":1,\"k\":\"", "\"}]");
    char *long_unit = repeat("u", SENML_MAX_STRING + 1, "[{\"n\":\"a\",\"v\":1,\"u\":\"", "\"}]");
    char *escaped_vs =
        repeat("\\u00e9", SENML_MAX_STRING / 2 + 1, "[{\"n\":\"a\",\"vs\":\"", "\"}]");
    const struct senml_refusal rows[] = {
        TOO_BIG(long_n, 0, "n", "string longer than 256 bytes"),
        TOO_BIG(long_bn, 1, "n", "name longer than 256 bytes"),
        TOO_BIG(long_vs, 0, "vs", "string longer than 4096 bytes"),
        TOO_BIG(long_label, 0, "k", "string longer than 4096 bytes"),
        TOO_BIG(long_unit, 0, "u", "string longer than 4096 bytes"),
        TOO_BIG(escaped_vs, 0, "vs", "string longer than 4096 bytes"), /* decoded bytes count */
    };

    (void)state;
    check_refusals(rows, ARRAY_LEN(rows));
    senml_pack_free(decode_ok(max_vs, NOW_MS));
    free(escaped_vs);
    free(long_unit);
    free(long_label);
    free(max_vs);
    free(long_vs);
    free(long_bn);
    free(long_n);
}

static void refuses_deeply_nested_unknown_values_without_recursing(void **state)
{
    char *open31 = repeat("[", 31, "[{\"n\":\"a\",\"v\":1,\"x\":", "");
    char *deep31 = repeat("]", 31, open31, "}]");
    char *arrays = repeat("[", 1000000, "[{\"n\":\"a\",\"v\":1,\"x\":", "");
    char *objects = repeat("{\"k\":", 1000000, "[{\"n\":\"a\",\"v\":1,\"x\":", "");
    const struct senml_refusal rows[] = {
        TOO_DEEP(deep31),
        TOO_DEEP(arrays),
        TOO_DEEP(objects),
        TOO_DEEP(
            "[{\"n\":\"a\",\"v\":1,\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]"
            "]]]]]]]]}]"),
    };

    (void)state;
    check_refusals(rows, ARRAY_LEN(rows));
    free(objects);
    free(arrays);
    free(deep31);
    free(open31);
}

static void refuses_sequence_numbers_that_are_negative_or_not_integers(void **state)
{
    static const struct senml_refusal rows[] = {
        RECORD("[{\"n\":\"a\",\"v\":1,\"sq\":-1}]", 0, "sq", "expected an integer from 0 to 2^53"),
        RECORD("[{\"n\":\"a\",\"v\":1,\"sq\":1.5}]", 0, "sq", "expected an integer from 0 to 2^53"),
        RECORD("[{\"n\":\"a\",\"v\":1,\"sq\":1e16}]", 0, "sq",
               "expected an integer from 0 to 2^53"),
        RECORD("[{\"n\":\"a\",\"v\":1,\"sq\":9007199254740994}]", 0, "sq",
               "expected an integer from 0 to 2^53"),
        RECORD("[{\"n\":\"a\",\"v\":1,\"sq\":true}]", 0, "sq", "expected a number"),
        RECORD("[{\"n\":\"a\",\"v\":1},{\"n\":\"b\",\"v\":1,\"sq\":0.001}]", 1, "sq",
               "expected an integer from 0 to 2^53"),
    };

    (void)state;
    check_refusals(rows, ARRAY_LEN(rows));
}

static void refuses_too_many_labels_and_long_label_keys(void **state)
{
    static const struct senml_refusal rows[] = {
        TOO_BIG("[{\"n\":\"a\",\"v\":1,\"l1\":\"1\",\"l2\":\"2\",\"l3\":\"3\",\"l4\":\"4\","
                "\"l5\":\"5\",\"l6\":\"6\",\"l7\":\"7\",\"l8\":\"8\",\"l9\":\"9\"}]",
                0, "l9", "more than 8 labels"),
        TOO_BIG("[{\"n\":\"a\",\"v\":1,\"k23456789012345678901234567890123\":\"x\"}]", 0,
                "k2345678901234567890123456789012", "label key longer than 32 bytes"),
    };
    struct senml_pack *pack;

    (void)state;
    check_refusals(rows, ARRAY_LEN(rows));
    /* eight labels and a 32-byte key are fine; a long key on a non-string is skipped */
    pack = decode_ok(
        "[{\"n\":\"a\",\"v\":1,\"l1\":\"1\",\"l2\":\"2\",\"l3\":\"3\",\"l4\":\"4\","
        "\"l5\":\"5\",\"l6\":\"6\",\"l7\":\"7\",\"k2345678901234567890123456789012\":\"8\","
        "\"n9\":9,\"k23456789012345678901234567890123\":1}]",
        NOW_MS);
    assert_int_equal(pack->records[0].label_count, SENML_MAX_LABELS);
    senml_pack_free(pack);
}

static void refuses_data_values_that_are_not_unpadded_base64url(void **state)
{
    static const struct senml_refusal rows[] = {
        RECORD("[{\"n\":\"a\",\"vd\":\"aGk=\"}]", 0, "vd", "expected unpadded base64url"),
        RECORD("[{\"n\":\"a\",\"vd\":\"a+b/\"}]", 0, "vd", "expected unpadded base64url"),
        RECORD("[{\"n\":\"a\",\"vd\":\"aGkgC\"}]", 0, "vd", "expected unpadded base64url"),
        RECORD("[{\"n\":\"a\",\"vd\":\"a b\"}]", 0, "vd", "expected unpadded base64url"),
    };

    (void)state;
    check_refusals(rows, ARRAY_LEN(rows));
}

static void decodes_without_an_error_struct(void **state)
{
    struct senml_pack *pack = NULL;

    (void)state;
    assert_int_equal(senml_json_decode("[{\"v\":1}]", 9, NOW_MS, &pack, NULL), -EBADMSG);
    assert_null(pack);
    assert_int_equal(senml_json_decode(NULL, 0, NOW_MS, &pack, NULL), -EBADMSG);
}

/* ---- names and errors ------------------------------------------------------------------ */

static void validates_names_by_rfc_8428_section_4_5_1(void **state)
{
    char long_name[SENML_MAX_NAME + 2];

    (void)state;
    assert_true(senml_name_valid("a", 1));
    assert_true(senml_name_valid("0", 1));
    assert_true(senml_name_valid("urn:dev:ow:10e2073a01080063:temp", 32));
    assert_true(senml_name_valid("A-b:c./_z", 9));
    assert_false(senml_name_valid("", 0));
    assert_false(senml_name_valid(NULL, 3));
    assert_false(senml_name_valid("-a", 2));
    assert_false(senml_name_valid(".a", 2));
    assert_false(senml_name_valid("a b", 3));
    assert_false(senml_name_valid("a\0b", 3));
    assert_false(senml_name_valid("caf\xc3\xa9", 5));
    assert_true(senml_name_valid("ab-", 2)); /* only len bytes are looked at */
    memset(long_name, 'x', sizeof long_name);
    assert_true(senml_name_valid(long_name, SENML_MAX_NAME));
    assert_false(senml_name_valid(long_name, SENML_MAX_NAME + 1));
}

static void formats_errors_as_one_line(void **state)
{
    struct senml_error err = {.index = 3, .field = "v", .reason = "expected a number"};
    char out[128], small[8];

    (void)state;
    senml_error_format(&err, out, sizeof out);
    assert_string_equal(out, "record 3: field \"v\": expected a number");
    err.field[0] = '\0';
    senml_error_format(&err, out, sizeof out);
    assert_string_equal(out, "record 3: expected a number");
    err.index = -1;
    senml_error_format(&err, out, sizeof out);
    assert_string_equal(out, "pack: expected a number");
    senml_error_format(&err, small, sizeof small);
    assert_string_equal(small, "pack: e");
}

/* ---- encoder --------------------------------------------------------------------------- */

static struct senml_record *record_set(struct senml_pack *pack, size_t i, const char *name,
                                       const char *unit, double time_s, double value)
{
    struct senml_record *rec = &pack->records[i];

    rec->name = senml_fixture_strdup(name);
    rec->unit = senml_fixture_strdup(unit);
    rec->time_s = time_s;
    rec->kind = SENML_KIND_NUMBER;
    rec->value = value;
    return rec;
}

static void encodes_compact_pack_with_base_name_and_time_offsets(void **state)
{
    struct senml_pack *pack = senml_fixture_pack_new(3);
    struct senml_buf buf = {0};

    (void)state;
    record_set(pack, 0, "host1/cpu.utilization", "%", 1700000000.5, 12.35);
    senml_fixture_label_add(record_set(pack, 1, "host1/disk.used_pct", NULL, 1700000000.5, 81.2),
                            "mount", "/");
    record_set(pack, 2, "host1/uptime", "s", 1700000010.75, 123456);
    pack->boot_id = senml_fixture_strdup("b-1");
    pack->has_seq = true;
    pack->seq = 42;
    assert_int_equal(senml_json_encode(pack, "host1/", &buf), 0);
    assert_string_equal(buf.data,
                        "[{\"bn\":\"host1/\",\"bt\":1700000000.5,\"n\":\"cpu.utilization\","
                        "\"u\":\"%\",\"v\":12.35,\"bid\":\"b-1\",\"sq\":42},"
                        "{\"n\":\"disk.used_pct\",\"v\":81.2,\"mount\":\"/\"},"
                        "{\"n\":\"uptime\",\"u\":\"s\",\"v\":123456,\"t\":10.25}]");
    assert_int_equal(buf.len, strlen(buf.data));
    senml_buf_free(&buf);
    assert_null(buf.data);

    /* without a base name every record names itself; an empty pack is [] */
    assert_int_equal(senml_json_encode(pack, NULL, &buf), 0);
    assert_non_null(strstr(buf.data, "[{\"bt\":1700000000.5,\"n\":\"host1/cpu.utilization\""));
    pack->count = 0;
    assert_int_equal(senml_json_encode(pack, NULL, &buf), 0); /* appends */
    assert_string_equal(buf.data + buf.len - 2, "[]");
    pack->count = 3;
    senml_buf_free(&buf);
    senml_pack_free(pack);
}

static void encodes_value_kinds_sums_and_escaped_strings(void **state)
{
    struct senml_pack *pack = senml_fixture_pack_new(4);
    struct senml_buf buf = {0};
    struct senml_record *rec;

    (void)state;
    rec = record_set(pack, 0, "d/msg", NULL, 1.6e9, 0);
    rec->kind = SENML_KIND_STRING;
    rec->string = senml_fixture_strdup("say \"hi\"\\\n\x01\xc3\xa9");
    rec = record_set(pack, 1, "d/open", NULL, 1.6e9, 0);
    rec->kind = SENML_KIND_BOOL;
    rec = record_set(pack, 2, "d/raw", NULL, 1.6e9, 0);
    rec->kind = SENML_KIND_DATA;
    rec->string = senml_fixture_strdup("aGkgCg");
    rec = record_set(pack, 3, "d/energy", "J", 1.6e9, 0);
    rec->kind = SENML_KIND_NONE;
    rec->has_sum = true;
    rec->sum = 1234.5;
    rec->has_update_time = true;
    rec->update_time_s = 60;
    assert_int_equal(senml_json_encode(pack, "d/", &buf), 0);
    assert_string_equal(buf.data, "[{\"bn\":\"d/\",\"bt\":1600000000,\"n\":\"msg\","
                                  "\"vs\":\"say \\\"hi\\\"\\\\\\u000a\\u0001\xc3\xa9\"},"
                                  "{\"n\":\"open\",\"vb\":false},{\"n\":\"raw\",\"vd\":\"aGkgCg\"},"
                                  "{\"n\":\"energy\",\"u\":\"J\",\"s\":1234.5,\"ut\":60}]");
    senml_buf_free(&buf);
    senml_pack_free(pack);
}

static void formats_numbers_in_shortest_round_trip_form(void **state)
{
    static const struct {
        double value;
        const char *text;
    } rows[] = {
        {0.1, "0.1"},
        {12.35, "12.35"},
        {-40.25, "-40.25"},
        {1.0 / 3.0, "0.3333333333333333"},
        {2.0 / 3.0, "0.6666666666666666"},
        {0.1 + 0.2, "0.30000000000000004"},
        {1e300, "1e+300"},
        {123456789012.0, "123456789012"},
        {1e15, "1e+15"},
        {9007199254740992.0, "9007199254740992"},
        {-0.0, "-0"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
        {5e-324, "4.94065645841247e-324"},
        {2.2250738585072014e-308, "2.2250738585072014e-308"},
    };
    struct senml_pack *pack = senml_fixture_pack_new(1);
    char want[128];

    (void)state;
    record_set(pack, 0, "x", NULL, 1.6e9, 0);
    for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
        struct senml_buf buf = {0};

        pack->records[0].value = rows[i].value;
        assert_int_equal(senml_json_encode(pack, NULL, &buf), 0);
        snprintf(want, sizeof want, "[{\"bt\":1600000000,\"n\":\"x\",\"v\":%s}]", rows[i].text);
        assert_string_equal(buf.data, want);
        senml_buf_free(&buf);
    }
    senml_pack_free(pack);
}

static void assert_packs_equal(const struct senml_pack *got, const struct senml_pack *want)
{
    assert_int_equal(got->count, want->count);
    for (size_t i = 0; i < want->count; i++) {
        const struct senml_record *g = &got->records[i], *w = &want->records[i];

        assert_record_matches(g, w);
        assert_true(g->time_s == w->time_s); /* exactly, not just within a microsecond */
        assert_int_equal(signbit(g->value), signbit(w->value));
    }
    senml_fixture_assert_string(got->boot_id, want->boot_id);
    assert_int_equal(got->has_seq, want->has_seq);
    assert_int_equal(got->seq, want->seq);
}

static void round_trips(const struct senml_pack *pack, const char *base_name)
{
    struct senml_buf buf = {0};
    struct senml_pack *back;

    assert_int_equal(senml_json_encode(pack, base_name, &buf), 0);
    back = decode_ok(buf.data, NOW_MS);
    assert_packs_equal(back, pack);
    senml_pack_free(back);
    senml_buf_free(&buf);
}

static void round_trips_encoded_packs_through_the_decoder(void **state)
{
    const double t0 = 1700000000.25;
    struct senml_pack *pack = senml_fixture_pack_new(13);
    struct senml_record *rec;

    (void)state;
    senml_fixture_label_add(record_set(pack, 0, "h/cpu", "%", t0, 12.35), "core", "0");
    record_set(pack, 1, "h/neg", NULL, t0, -40.5);
    record_set(pack, 2, "h/big", NULL, t0 + 0.001, 1.7976931348623157e308);
    record_set(pack, 3, "h/small", "s", t0 + 60, 4.9e-324);
    record_set(pack, 4, "h/int", NULL, t0 - 3.5, 9007199254740992.0);
    rec = record_set(pack, 5, "h/str", NULL, t0, 0);
    rec->kind = SENML_KIND_STRING;
    rec->string = senml_fixture_strdup("Machine \"Room\"\n\xe2\x82\xac\x7f");
    rec = record_set(pack, 6, "h/flag", NULL, t0, 0);
    rec->kind = SENML_KIND_BOOL;
    rec->boolean = true;
    rec = record_set(pack, 7, "h/data", NULL, t0, 0);
    rec->kind = SENML_KIND_DATA;
    rec->string = senml_fixture_strdup("aGkgCg");
    rec = record_set(pack, 8, "h/energy", "J", t0 + 1e-6, 0);
    rec->kind = SENML_KIND_NONE;
    rec->has_sum = true;
    rec->sum = 1234.5;
    rec->has_update_time = true;
    rec->update_time_s = 60;
    rec = record_set(pack, 9, "h/tiny", NULL, 2e9, 1e-300);
    rec->has_sum = true;
    rec->sum = -2.5e-10;
    /* bt + (time - bt) is not time here: the encoder starts a new base time */
    record_set(pack, 10, "h/far", NULL, 4500000000000000.5, -0.0);
    rec = record_set(pack, 11, "h/labels", NULL, t0, 0.01);
    for (int i = 0; i < SENML_MAX_LABELS; i++) {
        char key[8];
        snprintf(key, sizeof key, "k%d", i);
        senml_fixture_label_add(rec, key, i == 0 ? "" : "v\"\\\t");
    }
    record_set(pack, 12, "h/after-far", NULL, t0 + 1, 99.99);
    pack->boot_id = senml_fixture_strdup("3f1c\xc3\xa9-boot");
    pack->has_seq = true;
    pack->seq = UINT64_C(9007199254740992);

    round_trips(pack, "h/");
    round_trips(pack, NULL);
    round_trips(pack, "");
    pack->count = 1; /* a name equal to the base name leaves "n" out */
    round_trips(pack, "h/cpu");
    pack->count = 13;
    senml_pack_free(pack);
}

static void round_trips_two_decimal_values(void **state)
{
    struct senml_pack *pack = senml_fixture_pack_new(1);

    (void)state;
    record_set(pack, 0, "h/m", NULL, 1.6e9, 0);
    for (int cents = -100000; cents <= 100000; cents += 7) {
        pack->records[0].value = cents / 100.0;
        round_trips(pack, "h/");
    }
    senml_pack_free(pack);
}

static void refuses_to_encode_what_the_decoder_could_not_read_back(void **state)
{
    struct senml_pack *pack = senml_fixture_pack_new(2);
    struct senml_buf buf = {0};
    struct senml_record *rec;
    char *before;

    (void)state;
    record_set(pack, 0, "h/a", NULL, 1.6e9, 1);
    rec = record_set(pack, 1, "h/b", NULL, 1.6e9, 2);
    assert_int_equal(senml_json_encode(pack, "h/", &buf), 0);
    before = senml_fixture_strdup(buf.data);

#define ENCODE_REFUSED(base)                                                                       \
    do {                                                                                           \
        assert_int_equal(senml_json_encode(pack, base, &buf), -EINVAL);                            \
        assert_int_equal(buf.len, strlen(before));                                                 \
        assert_string_equal(buf.data, before);                                                     \
    } while (0)

    ENCODE_REFUSED("other/");
    free(rec->name);
    rec->name = senml_fixture_strdup("h/b c"); /* not an RFC 8428 name */
    ENCODE_REFUSED("h/");
    free(rec->name);
    rec->name = senml_fixture_strdup("h/b");
    rec->value = NAN;
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
    rec->kind = SENML_KIND_NONE; /* neither value nor sum */
    ENCODE_REFUSED("h/");
    rec->kind = SENML_KIND_STRING;
    rec->string = senml_fixture_strdup("bad \xff utf-8");
    ENCODE_REFUSED("h/");
    free(rec->string);
    rec->string = senml_fixture_strdup("ok");
    rec->label_count = 1;
    rec->labels[0].value = senml_fixture_strdup("x");
    static const char *const bad_keys[] = {
        "v", "bn", "bid", "sq", "x_", "", "k23456789012345678901234567890123"};
    for (size_t i = 0; i < ARRAY_LEN(bad_keys); i++) {
        rec->labels[0].key = senml_fixture_strdup(bad_keys[i]);
        ENCODE_REFUSED("h/");
        free(rec->labels[0].key);
    }
    rec->labels[0].key = senml_fixture_strdup("fine");
    assert_int_equal(senml_json_encode(pack, "h/", &buf), 0);
    pack->has_seq = true;
    pack->seq = UINT64_C(9007199254740993);
    free(before);
    before = senml_fixture_strdup(buf.data);
    ENCODE_REFUSED("h/");
#undef ENCODE_REFUSED
    free(before);
    senml_buf_free(&buf);
    senml_pack_free(pack);
}

/* ---- allocation failures --------------------------------------------------------------- */

#if FAULT_INJECTION
static const char rich_pack[] =
    "[{\"bn\":\"h/\",\"bt\":1.7e9,\"bu\":\"%\",\"n\":\"cpu\",\"v\":1,\"core\":\"0\",\"bid\":\"b\","
    "\"sq\":1,\"x\":[1,{\"y\":\"z\"}]},{\"n\":\"vs\",\"u\":\"s\",\"vs\":\"text\",\"l1\":\"a\","
    "\"l2\":\"b\"},{\"bu\":\"B\",\"n\":\"raw\",\"vd\":\"aGk\"},{\"n\":\"s\",\"s\":2},"
    "{\"n\":\"long\",\"v\":0.1000000000000000000000000000000000000000000000000000000000000000001},"
    "{\"n\":\"r5\",\"v\":5},{\"n\":\"r6\",\"v\":6},{\"n\":\"r7\",\"v\":7},{\"n\":\"r8\",\"v\":8},"
    "{\"n\":\"r9\",\"v\":9},{\"n\":\"r10\",\"v\":10},{\"n\":\"r11\",\"v\":11},"
    "{\"n\":\"r12\",\"v\":12},{\"n\":\"r13\",\"v\":13},{\"n\":\"r14\",\"v\":14},"
    "{\"n\":\"r15\",\"v\":15},{\"n\":\"r16\",\"v\":16},{\"n\":\"r17\",\"v\":17}]";
#endif

static void fails_cleanly_when_any_allocation_in_decode_fails(void **state)
{
    (void)state;
#if FAULT_INJECTION
    long fail_at;

    if (!alloc_fail_works())
        skip();
    for (fail_at = 0;; fail_at++) {
        struct senml_pack *pack = NULL;
        struct senml_error err;
        int ret;

        alloc_fail_arm(fail_at);
        ret = senml_json_decode(rich_pack, strlen(rich_pack), NOW_MS, &pack, &err);
        senml_pack_free(pack);
        alloc_fail_disarm();
        assert_int_equal(alloc_fail_live(), 0);
        if (ret == 0)
            break;
        assert_int_equal(ret, -ENOMEM);
        assert_null(pack);
        assert_string_equal(err.reason, "out of memory");
    }
    print_message("  %ld allocations, each made to fail in turn\n", fail_at);
    assert_true(fail_at > 30);
#else
    skip();
#endif
}

static void fails_cleanly_when_any_allocation_in_encode_fails(void **state)
{
    (void)state;
#if FAULT_INJECTION
    struct senml_pack *pack;
    long fail_at;

    if (!alloc_fail_works())
        skip();
    pack = decode_ok(rich_pack, NOW_MS);
    for (fail_at = 0;; fail_at++) {
        struct senml_buf buf = {0};
        int ret;

        alloc_fail_arm(fail_at);
        ret = senml_json_encode(pack, "h/", &buf);
        if (ret != 0)
            assert_int_equal(buf.len, 0);
        senml_buf_free(&buf);
        alloc_fail_disarm();
        assert_int_equal(alloc_fail_live(), 0);
        if (ret == 0)
            break;
        assert_int_equal(ret, -ENOMEM);
    }
    print_message("  %ld allocations, each made to fail in turn\n", fail_at);
    assert_true(fail_at >= 1);
    senml_pack_free(pack);
#else
    skip();
#endif
}

/* The encoder's number text, fast path or not, is the "%.15g/16g/17g, first that reads back"
 * text: over values with 0..3 decimals (times in ms, readings), their negatives, edges of the
 * fast path's range, and random doubles of every magnitude. */
static void number_text_matches_printf_loop(void **state)
{
    (void)state;
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (long i = 0; i < 1200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double v;
        switch (i % 6) {
        case 0:
            v = (double)(int64_t)(x % 10000000000000u) / 1000.0;
            break; /* 10 digits, ms */
        case 1:
            v = (double)(int64_t)(x % 100000) / 100.0;
            break;
        case 2:
            v = -(double)(int64_t)(x % 1000000) / 10.0;
            break;
        case 3:
            v = 8589934592.0 + ((double)(x % 2000) - 1000.0) / 1000.0;
            break; /* the edge */
        case 4:
            v = (double)(x >> 11) * 0x1p-53 * pow(10.0, (double)(int)(x % 40) - 20.0);
            break;
        default:
            memcpy(&v, &x, sizeof v);
            break; /* any bit pattern */
        }
        if (!isfinite(v))
            continue;
        char want[SENML_NUMBER_TEXT], got[SENML_NUMBER_TEXT];
        int wl = 0;
        for (int p = 15; p <= 17; p++) {
            wl = snprintf(want, sizeof want, "%.*g", p, v);
            if (strtod(want, NULL) == v)
                break;
        }
        int gl = senml_number_text(v, got);
        if (gl != wl || strcmp(got, want) != 0)
            fail_msg("value %.17g: got \"%s\", want \"%s\"", v, got, want);
    }
    char t[SENML_NUMBER_TEXT];
    senml_number_text(-0.0, t);
    assert_string_equal(t, "-0");
    senml_number_text(1796155073.172, t);
    assert_string_equal(t, "1796155073.172");
    senml_number_text(0.001, t);
    assert_string_equal(t, "0.001");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decodes_every_rfc_example_to_its_resolved_form),
        cmocka_unit_test(number_text_matches_printf_loop),
        cmocka_unit_test(resolves_multiple_measurements_example_as_printed_in_the_rfc),
        cmocka_unit_test(resolves_actuator_example_with_shared_base_time_and_unit),
        cmocka_unit_test(resolves_base_name_and_relative_time),
        cmocka_unit_test(treats_times_below_2_pow_28_as_relative_to_now),
        cmocka_unit_test(adds_base_value_and_base_sum_to_later_records),
        cmocka_unit_test(keeps_sum_only_records_without_a_value),
        cmocka_unit_test(applies_base_unit_until_a_record_or_base_overrides_it),
        cmocka_unit_test(decodes_value_kinds_string_bool_and_data),
        cmocka_unit_test(skips_records_that_carry_only_base_fields),
        cmocka_unit_test(accepts_bver_up_to_10_when_all_records_agree),
        cmocka_unit_test(keeps_unknown_string_fields_as_labels_and_skips_other_unknowns),
        cmocka_unit_test(reads_boot_id_and_sequence_from_their_first_occurrence),
        cmocka_unit_test(decodes_empty_array_to_zero_records),
        cmocka_unit_test(decodes_escapes_and_surrogate_pairs_to_utf8),
        cmocka_unit_test(accepts_whitespace_wherever_json_does),
        cmocka_unit_test(reads_numbers_exactly_as_strtod_does),
        cmocka_unit_test(reads_random_decimals_exactly_as_strtod_does),
        cmocka_unit_test(accepts_exactly_the_maximum_records_name_length_and_depth),
        cmocka_unit_test(refuses_input_that_is_not_json),
        cmocka_unit_test(refuses_truncated_json),
        cmocka_unit_test(refuses_trailing_data_after_the_pack),
        cmocka_unit_test(refuses_top_level_values_other_than_an_array),
        cmocka_unit_test(refuses_array_elements_that_are_not_objects),
        cmocka_unit_test(refuses_fields_of_the_wrong_type),
        cmocka_unit_test(refuses_records_with_two_value_fields),
        cmocka_unit_test(refuses_records_with_neither_value_nor_sum),
        cmocka_unit_test(refuses_invalid_resolved_names),
        cmocka_unit_test(refuses_must_understand_fields),
        cmocka_unit_test(refuses_bver_above_10_and_versions_that_differ),
        cmocka_unit_test(refuses_duplicate_keys_in_one_record),
        cmocka_unit_test(refuses_bad_escapes_control_characters_and_invalid_utf8),
        cmocka_unit_test(refuses_nul_characters_in_kept_strings),
        cmocka_unit_test(refuses_numbers_that_are_not_json_numbers),
        cmocka_unit_test(refuses_numbers_that_overflow_to_infinity),
        cmocka_unit_test(refuses_more_than_max_records_with_e2big),
        cmocka_unit_test(refuses_names_and_strings_over_their_limits),
        cmocka_unit_test(refuses_deeply_nested_unknown_values_without_recursing),
        cmocka_unit_test(refuses_sequence_numbers_that_are_negative_or_not_integers),
        cmocka_unit_test(refuses_too_many_labels_and_long_label_keys),
        cmocka_unit_test(refuses_data_values_that_are_not_unpadded_base64url),
        cmocka_unit_test(decodes_without_an_error_struct),
        cmocka_unit_test(validates_names_by_rfc_8428_section_4_5_1),
        cmocka_unit_test(formats_errors_as_one_line),
        cmocka_unit_test(encodes_compact_pack_with_base_name_and_time_offsets),
        cmocka_unit_test(encodes_value_kinds_sums_and_escaped_strings),
        cmocka_unit_test(formats_numbers_in_shortest_round_trip_form),
        cmocka_unit_test(round_trips_encoded_packs_through_the_decoder),
        cmocka_unit_test(round_trips_two_decimal_values),
        cmocka_unit_test(refuses_to_encode_what_the_decoder_could_not_read_back),
        cmocka_unit_test(fails_cleanly_when_any_allocation_in_decode_fails),
        cmocka_unit_test(fails_cleanly_when_any_allocation_in_encode_fails),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
