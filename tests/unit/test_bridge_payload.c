/* Unit tests for bridge/payload.c: what a CoAP device may post and what the bridge
 * republishes — the RFC 8428 CBOR example as SenML JSON, our agents' packs with bn "<host>/",
 * and every refusal with its code and diagnostic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/payload.h"
#include "common/senml_json.h"
#include "tests/support/senml_fixture.h"

#define NOW_MS 1796150000000LL

static int run(enum payload_kind kind, int cf, const void *body, size_t len,
               struct payload_result *res)
{
    memset(res, 0, sizeof *res);
    return payload_translate(kind, cf, body, len, "dev1", NOW_MS, res);
}

static int run_text(enum payload_kind kind, int cf, const char *text, struct payload_result *res)
{
    return run(kind, cf, text, strlen(text), res);
}

/* Every CBOR vector of RFC 8428 becomes SenML JSON that decodes to the same resolved records
 * as the vector's JSON twin. */
static void test_cbor_vectors_as_json(void **state)
{
    (void)state;
    glob_t found;
    senml_fixture_vectors(".gen.cbor", &found);
    for (size_t i = 0; i < found.gl_pathc; i++) {
        size_t len = 0, jlen = 0;
        char *cbor = senml_fixture_read_file(found.gl_pathv[i], &len);
        assert_non_null(cbor);
        char twin[512];
        snprintf(twin, sizeof twin, "%.*s.json", (int)(strlen(found.gl_pathv[i]) - 5),
                 found.gl_pathv[i]);
        char *json = senml_fixture_read_file(twin, &jlen);
        assert_non_null(json);
        struct payload_result res;
        assert_int_equal(run(PAYLOAD_METRICS, PAYLOAD_CF_SENML_CBOR, cbor, len, &res), 0);
        struct senml_pack *got = NULL, *want = NULL;
        assert_int_equal(senml_json_decode(res.out.data, res.out.len, NOW_MS, &got, NULL), 0);
        assert_int_equal(senml_json_decode(json, jlen, NOW_MS, &want, NULL), 0);
        assert_int_equal(got->count, want->count);
        for (size_t r = 0; r < got->count; r++) {
            assert_string_equal(got->records[r].name, want->records[r].name);
            assert_true(got->records[r].time_s == want->records[r].time_s);
            assert_int_equal(got->records[r].kind, want->records[r].kind);
            if (want->records[r].kind == SENML_KIND_NUMBER)
                assert_true(got->records[r].value == want->records[r].value);
        }
        /* URN names do not start with "dev1/": no base name is invented. */
        assert_null(strstr(res.out.data, "\"bn\":\"dev1/\""));
        senml_pack_free(got);
        senml_pack_free(want);
        payload_result_free(&res);
        free(cbor);
        free(json);
    }
    globfree(&found);
}

static void test_agent_pack_keeps_identity(void **state)
{
    (void)state;
    struct payload_result res;
    const char *pack = "[{\"bn\":\"dev1/\",\"bt\":1796149999.5,\"n\":\"cpu.utilization\",\"v\":5,"
                       "\"bid\":\"00000000000000ab\",\"sq\":7},{\"n\":\"mem.used_pct\",\"v\":41.5,"
                       "\"mount\":\"/\"}]";
    assert_int_equal(run_text(PAYLOAD_METRICS, PAYLOAD_CF_SENML_JSON, pack, &res), 0);
    assert_string_equal(res.out.data,
                        "[{\"bn\":\"dev1/\",\"bt\":1796149999.5,\"n\":\"cpu.utilization\",\"v\":5,"
                        "\"bid\":\"00000000000000ab\",\"sq\":7},{\"n\":\"mem.used_pct\","
                        "\"v\":41.5,\"mount\":\"/\"}]");
    assert_string_equal(res.boot_id, "00000000000000ab");
    payload_result_free(&res);
    /* Content-Format 50 is read as SenML JSON too; relative times resolve against now. */
    assert_int_equal(run_text(PAYLOAD_HEARTBEAT, PAYLOAD_CF_JSON,
                              "[{\"bn\":\"dev1/\",\"n\":\"agent.uptime_s\",\"v\":3,\"t\":-1}]",
                              &res),
                     0);
    assert_non_null(strstr(res.out.data, "\"bt\":1796149999"));
    payload_result_free(&res);
}

struct bad {
    enum payload_kind kind;
    int cf;
    const char *body;
    int code;
    const char *diag; /* a phrase the diagnostic must contain */
};

static void test_refusals(void **state)
{
    (void)state;
    static const struct bad rows[] = {
        {PAYLOAD_METRICS, PAYLOAD_CF_SENML_JSON, "not json", 400, "JSON"},
        {PAYLOAD_METRICS, PAYLOAD_CF_SENML_JSON, "[]", 400, "empty pack"},
        {PAYLOAD_METRICS, PAYLOAD_CF_SENML_JSON,
         "[{\"n\":\"a\",\"v\":1},{\"n\":\"b\",\"v\":\"x\"}]", 400, "record 1"},
        {PAYLOAD_METRICS, PAYLOAD_CF_SENML_JSON, "[{\"n\":\"bad name\",\"v\":1}]", 400, "record 0"},
        {PAYLOAD_METRICS, PAYLOAD_CF_SENML_CBOR, "\x81\xa2\x00", 400, ""},
        {PAYLOAD_METRICS, 0, "[]", 415, "content-format 0"},
        {PAYLOAD_METRICS, PAYLOAD_CF_NONE, "[]", 415, "no content-format"},
        {PAYLOAD_METRICS, 60, "[]", 415, "112, 110, 50"},
        {PAYLOAD_INVENTORY, PAYLOAD_CF_SENML_CBOR, "{}", 415, "(50)"},
        {PAYLOAD_INVENTORY, PAYLOAD_CF_JSON, "[1]", 400, "JSON object"},
        {PAYLOAD_INVENTORY, PAYLOAD_CF_JSON, "{\"a\":1", 400, "not JSON"},
        {PAYLOAD_INVENTORY, PAYLOAD_CF_JSON, "{\"host\":5}", 400, "\"host\""},
        {PAYLOAD_STATE, PAYLOAD_CF_JSON, "{\"state\":\"sleepy\"}", 400, "\"state\""},
        {PAYLOAD_STATE, PAYLOAD_CF_JSON, "maybe", 400, "not JSON"},
        {PAYLOAD_STATE, PAYLOAD_CF_SENML_CBOR, "online", 415, ""},
        {PAYLOAD_HEARTBEAT, PAYLOAD_CF_SENML_JSON, "", 400, "empty body"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct payload_result res;
        int rc = run(rows[i].kind, rows[i].cf, rows[i].body, strlen(rows[i].body), &res);
        if (rc != rows[i].code || strstr(res.diag, rows[i].diag) == NULL)
            fail_msg("row %zu: got %d \"%s\", want %d with \"%s\"", i, rc, res.diag, rows[i].code,
                     rows[i].diag);
        assert_true(res.diag[0] != '\0');
        payload_result_free(&res);
    }
}

static void test_documents(void **state)
{
    (void)state;
    struct payload_result res;
    const char *inv = "{\"v\":1,\"host\":\"dev1\",\"boot_id\":\"00000000000000cd\"}";
    assert_int_equal(run_text(PAYLOAD_INVENTORY, PAYLOAD_CF_JSON, inv, &res), 0);
    assert_string_equal(res.out.data, inv);
    assert_string_equal(res.boot_id, "00000000000000cd");
    payload_result_free(&res);
    assert_int_equal(run_text(PAYLOAD_STATE, PAYLOAD_CF_JSON, "{\"state\":\"offline\"}", &res), 0);
    assert_false(res.online);
    payload_result_free(&res);
    assert_int_equal(run_text(PAYLOAD_STATE, PAYLOAD_CF_NONE, "online", &res), 0);
    assert_true(res.online);
    payload_result_free(&res);
}

static void test_kind_names(void **state)
{
    (void)state;
    enum payload_kind k;
    assert_int_equal(payload_kind_parse("heartbeat", 9, &k), 0);
    assert_int_equal(k, PAYLOAD_HEARTBEAT);
    assert_int_equal(payload_topic_kind(PAYLOAD_INVENTORY), TOPIC_KIND_INVENTORY);
    assert_int_equal(payload_topic_kind(PAYLOAD_STATE), TOPIC_KIND_STATE);
    assert_int_equal(payload_kind_parse("ack", 3, &k), -EINVAL);
    assert_int_equal(payload_kind_parse("metricsx", 8, &k), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cbor_vectors_as_json),
        cmocka_unit_test(test_agent_pack_keeps_identity),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_documents),
        cmocka_unit_test(test_kind_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
