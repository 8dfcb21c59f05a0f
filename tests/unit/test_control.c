/* Unit tests for edge-agent/control.c: the hub's ack and pushed config as the agent parses
 * them, good and bad. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
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
    static const struct {
        const char *text, *why;
    } bad[] = {
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
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct control_ack a;
        char why[200] = "";
        assert_int_equal(ack(bad[i].text, &a, why), -EBADMSG);
        if (strstr(why, bad[i].why) == NULL)
            fail_msg("%s: reason \"%s\" lacks \"%s\"", bad[i].text, why, bad[i].why);
    }
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
    static const struct {
        const char *text, *why;
    } bad[] = {
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
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct control_config c;
        char why[200] = "";
        assert_int_equal(cfg(bad[i].text, &c, why), -EBADMSG);
        if (strstr(why, bad[i].why) == NULL)
            fail_msg("%s: reason \"%s\" lacks \"%s\"", bad[i].text, why, bad[i].why);
    }
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
