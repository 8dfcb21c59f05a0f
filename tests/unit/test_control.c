/* Unit tests for edge-agent/control.c: the hub's ack and pushed config as the agent parses
 * them, good and bad. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "edge-agent/control.h"

static int ack(const char *text, struct control_ack *a, char *why)
{
    return control_ack_parse(text, strlen(text), a, why, 200);
}

static int cfg(const char *text, struct control_config *c, char *why)
{
    return control_config_parse(text, strlen(text), c, why, 200);
}

/* A refused input and a phrase its reason must contain. */
struct refusal {
    const char *text, *why;
};

/* Each row must be refused (-EBADMSG) by the ack parser (is_ack) or the config parser, with a
 * reason containing the row's phrase. */
static void check_refusals(const struct refusal *rows, size_t n, bool is_ack)
{
    for (size_t i = 0; i < n; i++) {
        struct control_ack a;
        struct control_config c;
        char why[200] = "";
        int rc = is_ack ? ack(rows[i].text, &a, why) : cfg(rows[i].text, &c, why);
        assert_int_equal(rc, -EBADMSG);
        if (strstr(why, rows[i].why) == NULL)
            fail_msg("%s: reason \"%s\" lacks \"%s\"", rows[i].text, why, rows[i].why);
    }
}

static void parses_an_ack_as_the_hub_sends_it(void **state)
{
    (void)state;
    struct control_ack a;
    char why[200] = "";
    assert_int_equal(ack("{\"boot_id\":\"0006744996778f72\",\"ranges\":[[1,5],[7,7]]}", &a, why), 0);
    assert_string_equal(a.boot_id, "0006744996778f72");
    assert_int_equal(a.n_ranges, 2);
    assert_int_equal(a.first[0], 1);
    assert_int_equal(a.last[0], 5);
    assert_int_equal(a.first[1], 7);
    assert_int_equal(a.last[1], 7);
    /* Unknown fields (a newer hub) are skipped; whitespace is fine. */
    assert_int_equal(ack(" { \"ranges\" : [ ] , \"x\":{\"y\":[1]}, \"boot_id\":\"00000000000000ff\" } ",
                         &a, why), 0);
    assert_int_equal(a.n_ranges, 0);
}

static void refuses_bad_acks_with_a_reason(void **state)
{
    (void)state;
    static const struct refusal bad[] = {
        {"", "not a JSON object"},
        {"[]", "not a JSON object"},
        {"{\"ranges\":[[1,2]]}", "boot_id missing"},
        {"{\"boot_id\":\"XYZ\",\"ranges\":[]}", "16 lowercase hex"},
        {"{\"boot_id\":\"0006744996778f72\",\"ranges\":[[5,1]]}", "not 1 <= first <= last"},
        {"{\"boot_id\":\"0006744996778f72\",\"ranges\":[[0,1]]}", "not 1 <= first <= last"},
        {"{\"boot_id\":\"0006744996778f72\",\"ranges\":[[1.5,2]]}", "not an integer"},
        {"{\"boot_id\":\"0006744996778f72\",\"ranges\":[[1,2,3]]}", "expected two numbers"},
        {"{\"boot_id\":\"0006744996778f72\",\"ranges\":[[1,2]]} x", "trailing bytes"},
        {"{\"boot_id\":\"0006744996778f72\",\"ranges\":[[1,2]", "not JSON"},
        {"{\"boot_id\":\"0006744996778f72\",\"ranges\":\"1-2\"}", "expected an array"},
    };
    check_refusals(bad, sizeof bad / sizeof bad[0], true);
    /* More ranges than the hub ever sends in one message. */
    char big[4096] = "{\"boot_id\":\"0006744996778f72\",\"ranges\":[";
    for (int i = 0; i <= CONTROL_ACK_MAX_RANGES; i++)
        snprintf(big + strlen(big), sizeof big - strlen(big), "%s[%d,%d]", i ? "," : "",
                 2 * i + 1, 2 * i + 1);
    strcat(big, "]}");
    struct control_ack a;
    char why[200] = "";
    assert_int_equal(ack(big, &a, why), -EBADMSG);
    assert_non_null(strstr(why, "more than"));
}

static void parses_a_pushed_config(void **state)
{
    (void)state;
    struct control_config c;
    char why[200] = "";
    assert_int_equal(cfg("{\"version\":4,\"interval\":\"10s\",\"collectors\":[\"cpu\",\"mem\"],"
                         "\"top_n\":5,\"labels\":{\"rack\":\"a1\",\"env\":\"prod eu\"}}", &c, why), 0);
    assert_int_equal(c.version, 4);
    assert_true(c.has_interval);
    assert_int_equal(c.interval_ms, 10000);
    assert_string_equal(c.collectors, "cpu,mem");
    assert_int_equal(c.top_n, 5);
    assert_string_equal(c.labels, "rack=a1,env=prod eu");
    /* Only a version: nothing else changes. Numbers of seconds and "500ms" work. */
    assert_int_equal(cfg("{\"version\":1}", &c, why), 0);
    assert_false(c.has_interval || c.has_collectors || c.has_top_n || c.has_labels);
    assert_int_equal(cfg("{\"version\":2,\"interval\":2.5}", &c, why), 0);
    assert_int_equal(c.interval_ms, 2500);
    assert_int_equal(cfg("{\"version\":2,\"interval\":\"500ms\",\"collectors\":\"cpu,disk\"}", &c, why), 0);
    assert_int_equal(c.interval_ms, 500);
    assert_string_equal(c.collectors, "cpu,disk");
    assert_int_equal(cfg("{\"version\":3,\"labels\":{}}", &c, why), 0);
    assert_true(c.has_labels);
    assert_string_equal(c.labels, "");
}

static void refuses_bad_pushed_configs_with_a_reason(void **state)
{
    (void)state;
    static const struct refusal bad[] = {
        {"{}", "version missing"},
        {"{\"version\":0}", "must be >= 1"},
        {"{\"version\":\"4\"}", "expected a number"},
        {"{\"version\":1,\"interval\":\"fast\"}", "not a duration"},
        {"{\"version\":1,\"interval\":\"10 s\"}", "not a duration"},
        {"{\"version\":1,\"interval\":0.01}", "out of range"},
        {"{\"version\":1,\"interval\":\"2h\"}", "out of range"},
        {"{\"version\":1,\"top_n\":0}", "out of range"},
        {"{\"version\":1,\"top_n\":101}", "not an integer in 0..100"},
        {"{\"version\":1,\"collectors\":[\"cpu\",\"Bad Name\"]}", "not a collector name"},
        {"{\"version\":1,\"collectors\":\"cpu, mem\"}", "commas only"},
        {"{\"version\":1,\"collectors\":5}", "expected an array"},
        {"{\"version\":1,\"labels\":{\"a b\":\"x\"}}", "must be [A-Za-z0-9_.-]+"},
        {"{\"version\":1,\"labels\":{\"a\":\"x,y\"}}", "may not contain"},
        {"{\"version\":1,\"labels\":{\"a\":1}}", "expected a string"},
        {"{\"version\":1,\"intervall\":\"5s\"}", "unknown key \"intervall\""},
        {"{\"version\":1} {}", "trailing bytes"},
        {"{\"version\":1", "not JSON"},
    };
    check_refusals(bad, sizeof bad / sizeof bad[0], false);
    static char huge[CONTROL_CONFIG_MAX_BYTES + 2];
    memset(huge, ' ', sizeof huge - 1);
    struct control_config c;
    char why[200] = "";
    assert_int_equal(cfg(huge, &c, why), -EBADMSG);
    assert_non_null(strstr(why, "larger than"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_an_ack_as_the_hub_sends_it),
        cmocka_unit_test(refuses_bad_acks_with_a_reason),
        cmocka_unit_test(parses_a_pushed_config),
        cmocka_unit_test(refuses_bad_pushed_configs_with_a_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
