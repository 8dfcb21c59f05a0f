/* Unit tests of common/clock's time parsing and fixed-width formatting (durations and the
 * plain formatting are in test_config). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/clock.h"

static void parses_unix_seconds_and_rfc3339(void **state)
{
    (void)state;
    int64_t ms;
    assert_int_equal(clock_parse_time_ms("1795322939", &ms), 0);
    assert_int_equal(ms, 1795322939000LL);
    assert_int_equal(clock_parse_time_ms("1795322939.25", &ms), 0);
    assert_int_equal(ms, 1795322939250LL);
    assert_int_equal(clock_parse_time_ms("2026-11-22T04:08:59Z", &ms), 0);
    assert_int_equal(ms, 1795320539000LL);
    assert_int_equal(clock_parse_time_ms("2026-11-22T04:08:59.5Z", &ms), 0);
    assert_int_equal(ms, 1795320539500LL);
    assert_int_equal(clock_parse_time_ms("2026-11-22T05:08:59.123456+01:00", &ms), 0);
    assert_int_equal(ms, 1795320539123LL);
    assert_int_equal(clock_parse_time_ms("2026-11-21T23:08:59-05:00", &ms), 0);
    assert_int_equal(ms, 1795320539000LL);
    assert_int_equal(clock_parse_time_ms("1970-01-01T00:00:00Z", &ms), 0);
    assert_int_equal(ms, 0);
}

static void refuses_what_is_not_a_time(void **state)
{
    (void)state;
    int64_t ms;
    const char *bad[] = {"", "now", "-5", "12abc", "2026-11-22", "2026-11-22T04:08:59",
                         "2026-13-01T00:00:00Z", "2026-02-31T00:00:00Z", "2026-11-22T24:00:00Z",
                         "2026-11-22T04:08:59.Z", "2026-11-22T04:08:59+0100",
                         "2026-11-22T04:08:59Zjunk", "1e999", "nan"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (clock_parse_time_ms(bad[i], &ms) != -EINVAL)
            fail_msg("\"%s\" was accepted", bad[i]);
}

static void formats_fixed_width_milliseconds_always(void **state)
{
    (void)state;
    char buf[32];
    assert_string_equal(clock_format_rfc3339_ms(0, buf, sizeof buf), "1970-01-01T00:00:00.000Z");
    assert_string_equal(clock_format_rfc3339_ms(1795321968000, buf, sizeof buf),
                        "2026-11-22T04:32:48.000Z");
    assert_string_equal(clock_format_rfc3339_ms(1795321968007, buf, sizeof buf),
                        "2026-11-22T04:32:48.007Z");
    assert_string_equal(clock_format_rfc3339_ms(-1, buf, sizeof buf), "1969-12-31T23:59:59.999Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_unix_seconds_and_rfc3339),
        cmocka_unit_test(refuses_what_is_not_a_time),
        cmocka_unit_test(formats_fixed_width_milliseconds_always),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
