/* Unit tests of common/base64url: the RFC 4648 section 10 vectors (unpadded), the two
 * characters that differ from base64, and every kind of text the strict decoder refuses. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/base64url.h"

static const struct {
    const char *bytes, *text;
} vectors[] = {
    {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
    {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
};

static void encodes_and_decodes_the_rfc_4648_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        char text[16];
        uint8_t bytes[16];
        size_t n = 99;
        size_t len = strlen(vectors[i].bytes);
        assert_int_equal(base64url_encode(vectors[i].bytes, len, text, sizeof text), 0);
        assert_string_equal(text, vectors[i].text);
        assert_int_equal(strlen(text), BASE64URL_ENCODED_LEN(len));
        assert_int_equal(base64url_decode(text, strlen(text), bytes, sizeof bytes, &n), 0);
        assert_int_equal(n, len);
        assert_memory_equal(bytes, vectors[i].bytes, len);
    }
}

static void uses_dash_and_underscore(void **state)
{
    (void)state;
    const uint8_t bytes[] = {0xfb, 0xff, 0xbf};
    char text[8];
    assert_int_equal(base64url_encode(bytes, sizeof bytes, text, sizeof text), 0);
    assert_string_equal(text, "-_-_");
    uint8_t back[3];
    size_t n;
    assert_int_equal(base64url_decode("-_-_", 4, back, sizeof back, &n), 0);
    assert_memory_equal(back, bytes, 3);
}

static void round_trips_every_byte_value_at_every_length(void **state)
{
    (void)state;
    uint8_t bytes[256], back[256];
    char text[BASE64URL_ENCODED_LEN(256) + 1];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (uint8_t)(255 - i);
    for (size_t len = 0; len <= sizeof bytes; len++) {
        size_t n;
        assert_int_equal(base64url_encode(bytes, len, text, sizeof text), 0);
        assert_int_equal(base64url_decode(text, strlen(text), back, sizeof back, &n), 0);
        assert_int_equal(n, len);
        assert_memory_equal(back, bytes, len);
    }
}

static void refuses_text_that_is_not_canonical(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t len;
        const char *why;
    } bad[] = {
        {"Zg==", 4, "padding"},
        {"Zm8=", 4, "padding"},
        {"Z", 1, "a lone last character"},
        {"Zm9vY", 5, "a lone last character"},
        {"Zm+v", 4, "base64's '+'"},
        {"Zm/v", 4, "base64's '/'"},
        {"Zm 9v", 5, "a space"},
        {"Zm9\n", 4, "a newline"},
        {"Zm\0v", 4, "a NUL"},
        {"Zh", 2, "unused low bits set (h)"},
        {"Zm9", 3, "unused low bits set (9)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t out[16];
        size_t n;
        if (base64url_decode(bad[i].text, bad[i].len, out, sizeof out, &n) != -EBADMSG)
            fail_msg("text with %s was accepted", bad[i].why);
    }
    uint8_t out[16];
    size_t n;
    assert_int_equal(base64url_decode("Zm8", 3, out, sizeof out, &n), 0);
}

static void reports_what_does_not_fit(void **state)
{
    (void)state;
    char text[4];
    uint8_t out[2];
    size_t n;
    assert_int_equal(base64url_encode("foo", 3, text, sizeof text), -ENOSPC); /* needs 5 */
    assert_int_equal(base64url_decode("Zm9v", 4, out, sizeof out, &n), -ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encodes_and_decodes_the_rfc_4648_vectors),
        cmocka_unit_test(uses_dash_and_underscore),
        cmocka_unit_test(round_trips_every_byte_value_at_every_length),
        cmocka_unit_test(refuses_text_that_is_not_canonical),
        cmocka_unit_test(reports_what_does_not_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
