/* Unit tests of common/topic: building, filtering and parsing the public topic names. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/topic.h"

static void builds_host_topics_under_the_root(void **state)
{
    (void)state;
    char t[TOPIC_MAX];
    assert_int_equal(topic_build(t, sizeof t, "updraft", "web-01", TOPIC_KIND_METRICS), 0);
    assert_string_equal(t, "updraft/v1/web-01/metrics");
    assert_int_equal(topic_build(t, sizeof t, "acme/prod", "db.2", TOPIC_KIND_STATE), 0);
    assert_string_equal(t, "acme/prod/v1/db.2/state");
    assert_int_equal(topic_filter(t, sizeof t, "updraft", TOPIC_KIND_HEARTBEAT), 0);
    assert_string_equal(t, "updraft/v1/+/heartbeat");
}

static void refuses_hosts_that_are_not_one_safe_level(void **state)
{
    (void)state;
    char t[TOPIC_MAX];
    const char *bad[] = {"", "a/b", "a+b", "#", ".", "..", "sp ace", "ünï"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(topic_build(t, sizeof t, "updraft", bad[i], TOPIC_KIND_METRICS), -EINVAL);
    char long_host[TOPIC_HOST_MAX + 2];
    memset(long_host, 'a', sizeof long_host - 1);
    long_host[sizeof long_host - 1] = '\0';
    assert_false(topic_host_valid(long_host, strlen(long_host)));
    assert_true(topic_host_valid(long_host, TOPIC_HOST_MAX));
    assert_int_equal(topic_build(t, 10, "updraft", "web", TOPIC_KIND_METRICS), -ENOSPC);
}

static void refuses_roots_with_wildcards_or_empty_levels(void **state)
{
    (void)state;
    assert_true(topic_root_valid("updraft"));
    assert_true(topic_root_valid("a/b"));
    assert_false(topic_root_valid(""));
    assert_false(topic_root_valid("a//b"));
    assert_false(topic_root_valid("/a"));
    assert_false(topic_root_valid("a/"));
    assert_false(topic_root_valid("a/+"));
    assert_false(topic_root_valid("#"));
}

static void parses_host_and_kind_from_a_received_topic(void **state)
{
    (void)state;
    char host[TOPIC_HOST_MAX + 1];
    enum topic_kind kind;
    assert_int_equal(topic_parse("updraft/v1/web-01/heartbeat", "updraft", host, &kind), 0);
    assert_string_equal(host, "web-01");
    assert_int_equal(kind, TOPIC_KIND_HEARTBEAT);
    assert_int_equal(topic_parse("acme/prod/v1/x/metrics", "acme/prod", host, &kind), 0);
    assert_string_equal(host, "x");
    const char *bad[] = {"updraft/v2/web/metrics", "updraft/v1/web/metrics/extra",
                         "updraft/v1/web/unknown", "updraft/v1//metrics", "updraft/v1/web",
                         "other/v1/web/metrics", "updraftx/v1/web/metrics",
                         "updraft/v1/bad host/metrics"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(topic_parse(bad[i], "updraft", host, &kind), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(builds_host_topics_under_the_root),
        cmocka_unit_test(refuses_hosts_that_are_not_one_safe_level),
        cmocka_unit_test(refuses_roots_with_wildcards_or_empty_levels),
        cmocka_unit_test(parses_host_and_kind_from_a_received_topic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
