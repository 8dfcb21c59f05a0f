/* Unit tests for the agent's JSON writer: escaping, UTF-8 repair, the buffer bound and the
 * count and hash modes agreeing with the bytes written. Single-threaded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "edge-agent/json_out.h"

static void assert_string_written(const char *text, size_t max_len, const char *expected)
{
    char buf[256];
    struct json_out o;

    json_out_init_buffer(&o, buf, sizeof(buf));
    json_out_string(&o, text, max_len);
    assert_false(o.overflow);
    assert_string_equal(buf, expected);
    assert_int_equal(o.len, strlen(expected));
}

static void escapes_quotes_backslashes_and_control_characters(void **state)
{
    (void)state;
    assert_string_written("plain", 64, "\"plain\"");
    assert_string_written("", 64, "\"\"");
    assert_string_written("a\"b\\c/d", 64, "\"a\\\"b\\\\c/d\"");
    assert_string_written("\n\r\t\b\f", 64, "\"\\n\\r\\t\\b\\f\"");
    assert_string_written("\x01x\x1f\x7f", 64, "\"\\u0001x\\u001f\x7f\"");
}

static void keeps_valid_utf8_and_replaces_each_invalid_byte(void **state)
{
    static const struct {
        const char *in;
        const char *out;
    } rows[] = {
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
         "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
        {"\xff", "\"\xef\xbf\xbd\""},                                 /* never valid */
        {"a\x80z", "\"a\xef\xbf\xbdz\""},                             /* lone continuation */
        {"\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\""},                 /* overlong '/' */
        {"\xe0\x80\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* overlong, 3 bytes */
        {"\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* surrogate D800 */
        {"\xf4\x90\x80\x80",
         "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* above U+10FFFF */
        {"x\xe2\x82", "\"x\xef\xbf\xbd\xef\xbf\xbd\""},           /* cut short at the end */
        {"\xe2\x82x", "\"\xef\xbf\xbd\xef\xbf\xbdx\""},           /* cut short by ASCII */
        {"\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\""},             /* U+10FFFF itself */
        {"\xed\x9f\xbf", "\"\xed\x9f\xbf\""},                     /* U+D7FF, below the surrogates */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        assert_string_written(rows[i].in, 64, rows[i].out);
}

static void reads_a_string_no_further_than_max_len(void **state)
{
    char field[4] = {'a', 'b', 'c', 'd'}; /* full: no NUL */

    (void)state;
    assert_string_written(field, sizeof(field), "\"abcd\"");
    assert_string_written("abcdef", 2, "\"ab\"");
    /* a sequence cut by the bound is broken, not read past it */
    assert_string_written("\xc3\xa9", 1, "\"\xef\xbf\xbd\"");
}

static void writes_integers_and_null_for_empty_strings(void **state)
{
    char buf[64];
    struct json_out o;

    (void)state;
    json_out_init_buffer(&o, buf, sizeof(buf));
    json_out_int(&o, INT64_MIN);
    json_out_raw(&o, ",");
    json_out_int(&o, 0);
    json_out_raw(&o, ",");
    json_out_string_or_null(&o, "", 8);
    json_out_raw(&o, ",");
    json_out_string_or_null(&o, "x", 8);
    assert_string_equal(buf, "-9223372036854775808,0,null,\"x\"");
}

static void stops_at_the_buffer_bound_and_keeps_counting(void **state)
{
    char buf[8];
    struct json_out o;

    (void)state;
    json_out_init_buffer(&o, buf, sizeof(buf));
    json_out_raw(&o, "1234567"); /* exactly fills: 7 bytes + NUL */
    assert_false(o.overflow);
    assert_string_equal(buf, "1234567");
    json_out_raw(&o, "8");
    assert_true(o.overflow);
    assert_string_equal(buf, "");
    json_out_raw(&o, "9"); /* nothing written once overflowed, even what would fit */
    assert_string_equal(buf, "");
    assert_int_equal(o.len, 9);
}

static void counts_and_hashes_the_bytes_it_would_write(void **state)
{
    char buf[128];
    struct json_out w, c, h, h2;

    (void)state;
    json_out_init_buffer(&w, buf, sizeof(buf));
    json_out_init_count(&c);
    json_out_init_hash(&h);
    struct json_out *all[] = {&w, &c, &h};
    for (size_t i = 0; i < 3; i++) {
        json_out_raw(all[i], "{\"k\":");
        json_out_string(all[i], "v\xff\n", 16);
        json_out_raw(all[i], "}");
    }
    assert_int_equal(c.len, strlen(buf));
    assert_int_equal(h.len, strlen(buf));
    json_out_init_hash(&h2);
    json_out_raw(&h2, buf);
    assert_true(h.hash == h2.hash);
    /* FNV-1a 64 of "a" (the published test vector) */
    json_out_init_hash(&h2);
    json_out_raw(&h2, "a");
    assert_true(h2.hash == 0xaf63dc4c8601ec8cULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(escapes_quotes_backslashes_and_control_characters),
        cmocka_unit_test(keeps_valid_utf8_and_replaces_each_invalid_byte),
        cmocka_unit_test(reads_a_string_no_further_than_max_len),
        cmocka_unit_test(writes_integers_and_null_for_empty_strings),
        cmocka_unit_test(stops_at_the_buffer_bound_and_keeps_counting),
        cmocka_unit_test(counts_and_hashes_the_bytes_it_would_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
