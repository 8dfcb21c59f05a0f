/* Unit tests of hub/csv: RFC 4180 quoting of every special character, empty and long fields,
 * row sizes that match what is written, and number text that reads back bit for bit. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hub/csv.h"

static struct csv_field f(const char *text)
{
    return (struct csv_field){.text = text, .len = strlen(text)};
}

/* Writes the row into a buffer one byte larger than csv_row_size says, checks the sizes
 * agree and nothing beyond is touched, and returns the text (static). */
static const char *row(const struct csv_field *fields, size_t n)
{
    static char buf[300000];
    size_t size = csv_row_size(fields, n);
    assert_true(size < sizeof buf);
    memset(buf, '#', size + 1);
    assert_int_equal(csv_row_write(buf, fields, n), size);
    assert_int_equal(buf[size], '#');
    buf[size] = '\0';
    return buf;
}

static void writes_plain_fields_as_they_are(void **state)
{
    (void)state;
    const struct csv_field fields[] = {f("2026-11-22T04:49:04.997Z"),
                                       f("web-01"),
                                       f("cpu.utilization"),
                                       f(""),
                                       f("mount=/"),
                                       f("50.8")};
    assert_string_equal(row(fields, 6), "2026-11-22T04:49:04.997Z,web-01,cpu.utilization,,mount=/,"
                                        "50.8\r\n");
}

static void quotes_fields_with_special_characters(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"a,b", "\"a,b\"\r\n"},
        {"say \"hi\"", "\"say \"\"hi\"\"\"\r\n"},
        {"\"", "\"\"\"\"\r\n"},
        {"line\nbreak", "\"line\nbreak\"\r\n"},
        {"cr\rhere", "\"cr\rhere\"\r\n"},
        {"crlf\r\n", "\"crlf\r\n\"\r\n"},
        {",", "\",\"\r\n"},
        {" spaces stay ", " spaces stay \r\n"},
        {"tab\tand 'single'", "tab\tand 'single'\r\n"},
        {"ünïcødé", "ünïcødé\r\n"},
        {"note=q\"x%2Cy,zone=a", "\"note=q\"\"x%2Cy,zone=a\"\r\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct csv_field one = f(cases[i].in);
        if (strcmp(row(&one, 1), cases[i].out) != 0)
            fail_msg("field \"%s\" written as \"%s\"", cases[i].in, row(&one, 1));
    }
}

static void writes_empty_fields_and_rows(void **state)
{
    (void)state;
    const struct csv_field empties[] = {f(""), f(""), f("")};
    assert_string_equal(row(empties, 3), ",,\r\n");
    assert_string_equal(row(empties, 1), "\r\n");
    assert_string_equal(row(NULL, 0), "\r\n");
    const struct csv_field no_text = {.text = NULL, .len = 0};
    assert_string_equal(row(&no_text, 1), "\r\n");
}

static void takes_the_length_not_the_nul(void **state)
{
    (void)state;
    const struct csv_field cut = {.text = "abc,def", .len = 3};
    assert_string_equal(row(&cut, 1), "abc\r\n");
    const struct csv_field nul = {.text = "a\0b", .len = 3};
    char buf[16];
    assert_int_equal(csv_row_size(&nul, 1), 5);
    assert_int_equal(csv_row_write(buf, &nul, 1), 5);
    assert_memory_equal(buf, "a\0b\r\n", 5);
}

static void quotes_long_fields_in_full(void **state)
{
    (void)state;
    static char text[100001];
    for (size_t i = 0; i < sizeof text - 1; i++)
        text[i] = i % 1000 == 999 ? '"' : (char)('a' + i % 26);
    text[sizeof text - 1] = '\0';
    const struct csv_field fields[] = {f("x"), f(text)};
    const char *out = row(fields, 2);
    size_t quotes = 100; /* one per 1000 bytes */
    assert_int_equal(strlen(out), strlen("x,\"") + 100000 + quotes + strlen("\"\r\n"));
    assert_true(strncmp(out, "x,\"abc", 6) == 0);
    assert_string_equal(out + strlen(out) - 5, "\"\"\"\r\n"); /* a doubled quote ends it */
    /* Unquoting gives the text back. */
    const char *p = out + 3;
    for (size_t i = 0; i < sizeof text - 1; i++) {
        assert_int_equal(*p, text[i]);
        p += text[i] == '"' ? 2 : 1;
    }
    assert_string_equal(p, "\"\r\n");
}

static void prints_numbers_short_when_15_digits_suffice(void **state)
{
    (void)state;
    char buf[CSV_NUMBER_MAX];
    static const struct {
        double value;
        const char *text;
    } cases[] = {
        {0, "0"},
        {-0.0, "-0"},
        {42, "42"},
        {0.1, "0.1"},
        {50.8, "50.8"},
        {-273.15, "-273.15"},
        {1e21, "1e+21"},
        {1.5e-7, "1.5e-07"},
        {123456789012345, "123456789012345"},
        {0.30000000000000004, "0.30000000000000004"},
        {1.0 / 3, "0.3333333333333333"},
        {NAN, "NaN"},
        {INFINITY, "Inf"},
        {-INFINITY, "-Inf"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        csv_number_format(cases[i].value, buf, sizeof buf);
        if (strcmp(buf, cases[i].text) != 0)
            fail_msg("%.17g printed as %s, want %s", cases[i].value, buf, cases[i].text);
    }
}

static void every_number_reads_back_exactly(void **state)
{
    (void)state;
    char buf[CSV_NUMBER_MAX];
    const double edges[] = {DBL_MAX,     -DBL_MAX,           DBL_MIN, 5e-324,
                            DBL_EPSILON, 9007199254740993.0, 1e300,   2.2250738585072009e-308};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        csv_number_format(edges[i], buf, sizeof buf);
        assert_true(strtod(buf, NULL) == edges[i]);
    }
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double v;
        memcpy(&v, &x, sizeof v);
        if (isnan(v))
            continue;
        csv_number_format(v, buf, sizeof buf);
        assert_true(strlen(buf) < CSV_NUMBER_MAX);
        if (strtod(buf, NULL) != v)
            fail_msg("%a printed as %s does not read back", v, buf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(writes_plain_fields_as_they_are),
        cmocka_unit_test(quotes_fields_with_special_characters),
        cmocka_unit_test(writes_empty_fields_and_rows),
        cmocka_unit_test(takes_the_length_not_the_nul),
        cmocka_unit_test(quotes_long_fields_in_full),
        cmocka_unit_test(prints_numbers_short_when_15_digits_suffice),
        cmocka_unit_test(every_number_reads_back_exactly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
