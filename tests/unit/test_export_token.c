/* Unit tests of hub/export_token: a signed token gives back its fields, any change to it, to
 * the key or to its layout is refused as not genuine, and expiry is told apart. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/base64url.h"
#include "common/sha256.h"
#include "hub/export_token.h"

static const uint8_t KEY[32] = "0123456789abcdef0123456789abcdef";
#define NOW 1795320000000LL

static struct export_token sample(void)
{
    struct export_token t = {.format = EXPORT_FORMAT_CSV,
                             .from_ms = NOW - 3600000,
                             .to_ms = NOW,
                             .expires_ms = NOW + 3600000};
    snprintf(t.host, sizeof t.host, "web-01");
    snprintf(t.metric, sizeof t.metric, "disk.used_pct");
    snprintf(t.labels, sizeof t.labels, "mount=/var,note=a\"b\nc");
    return t;
}

static void a_signed_token_gives_back_its_fields(void **state)
{
    (void)state;
    struct export_token t = sample(), back;
    char text[EXPORT_TOKEN_MAX];
    assert_int_equal(export_token_sign(&t, KEY, sizeof KEY, text, sizeof text), 0);
    assert_true(strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
                strlen(text));
    assert_int_equal(export_token_verify(text, KEY, sizeof KEY, NOW, &back), 0);
    assert_int_equal(back.format, EXPORT_FORMAT_CSV);
    assert_string_equal(back.host, t.host);
    assert_string_equal(back.metric, t.metric);
    assert_string_equal(back.labels, t.labels);
    assert_int_equal(back.from_ms, t.from_ms);
    assert_int_equal(back.to_ms, t.to_ms);
    assert_int_equal(back.expires_ms, t.expires_ms);
}

static void the_longest_fields_fit_the_maximum(void **state)
{
    (void)state;
    struct export_token t = sample(), back;
    memset(t.host, 'h', 64);
    t.host[64] = '\0';
    memset(t.metric, 'm', 256);
    t.metric[256] = '\0';
    memset(t.labels, 'l', 512);
    t.labels[512] = '\0';
    char text[EXPORT_TOKEN_MAX];
    assert_int_equal(export_token_sign(&t, KEY, sizeof KEY, text, sizeof text), 0);
    assert_int_equal(export_token_verify(text, KEY, sizeof KEY, NOW, &back), 0);
    assert_string_equal(back.labels, t.labels);
    t.labels[0] = '\0';
    assert_int_equal(export_token_sign(&t, KEY, sizeof KEY, text, sizeof text), 0);
    assert_int_equal(export_token_verify(text, KEY, sizeof KEY, NOW, &back), 0);
    assert_string_equal(back.labels, "");
    assert_int_equal(export_token_sign(&t, KEY, sizeof KEY, text, 10), -ENOSPC);
}

static void signing_refuses_fields_out_of_bounds(void **state)
{
    (void)state;
    char text[EXPORT_TOKEN_MAX];
    struct export_token t = sample();
    t.host[0] = '\0';
    assert_int_equal(export_token_sign(&t, KEY, sizeof KEY, text, sizeof text), -EINVAL);
    t = sample();
    t.metric[0] = '\0';
    assert_int_equal(export_token_sign(&t, KEY, sizeof KEY, text, sizeof text), -EINVAL);
    t = sample();
    t.from_ms = t.to_ms;
    assert_int_equal(export_token_sign(&t, KEY, sizeof KEY, text, sizeof text), -EINVAL);
    t = sample();
    memset(t.host, 'h', sizeof t.host); /* no NUL: too long */
    assert_int_equal(export_token_sign(&t, KEY, sizeof KEY, text, sizeof text), -EINVAL);
    t = sample();
    assert_int_equal(export_token_sign(&t, KEY, 0, text, sizeof text), -EINVAL);
}

static void any_changed_character_is_refused(void **state)
{
    (void)state;
    struct export_token t = sample(), back;
    char text[EXPORT_TOKEN_MAX];
    assert_int_equal(export_token_sign(&t, KEY, sizeof KEY, text, sizeof text), 0);
    size_t len = strlen(text);
    for (size_t i = 0; i < len; i++) {
        char saved = text[i];
        /* Another base64url character that changes the decoded bits. */
        text[i] = saved == 'A' ? 'B' : 'A';
        int rc = export_token_verify(text, KEY, sizeof KEY, NOW, &back);
        if (rc != -EBADMSG)
            fail_msg("changing character %zu of %zu gave %d", i, len, rc);
        text[i] = saved;
    }
    for (size_t cut = 0; cut < len; cut++) {
        char shorter[EXPORT_TOKEN_MAX];
        memcpy(shorter, text, cut);
        shorter[cut] = '\0';
        assert_int_equal(export_token_verify(shorter, KEY, sizeof KEY, NOW, &back), -EBADMSG);
    }
    char longer[EXPORT_TOKEN_MAX + 8];
    snprintf(longer, sizeof longer, "%sAA", text);
    assert_int_equal(export_token_verify(longer, KEY, sizeof KEY, NOW, &back), -EBADMSG);
}

static void another_key_is_refused(void **state)
{
    (void)state;
    struct export_token t = sample(), back;
    char text[EXPORT_TOKEN_MAX];
    uint8_t other[32];
    memcpy(other, KEY, sizeof other);
    other[31] ^= 1;
    assert_int_equal(export_token_sign(&t, KEY, sizeof KEY, text, sizeof text), 0);
    assert_int_equal(export_token_verify(text, other, sizeof other, NOW, &back), -EBADMSG);
    assert_int_equal(export_token_verify(text, KEY, 16, NOW, &back), -EBADMSG);
}

static void garbage_is_refused(void **state)
{
    (void)state;
    struct export_token back;
    const char *bad[] = {"",
                         "x",
                         "not a token",
                         "AAAA",
                         "====",
                         "a.b.c",
                         "%00%00",
                         "AQEAAAGiMkJvnAAAAaIyeV4cAAABojKwTJwDZS0xAAF4AABQjuotgqztOkXkTvjpNZpS47"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(export_token_verify(bad[i], KEY, sizeof KEY, NOW, &back), -EBADMSG);
    static char huge[4 * EXPORT_TOKEN_MAX];
    memset(huge, 'A', sizeof huge - 1);
    assert_int_equal(export_token_verify(huge, KEY, sizeof KEY, NOW, &back), -EBADMSG);
}

/* Bytes signed with the right key but laid out wrong: the MAC passes, the parser refuses. */
static int verify_raw(const uint8_t *payload, size_t len)
{
    uint8_t bytes[2048];
    char text[4096];
    struct export_token back;
    memcpy(bytes, payload, len);
    sha256_hmac(KEY, sizeof KEY, payload, len, bytes + len);
    assert_int_equal(base64url_encode(bytes, len + SHA256_DIGEST_BYTES, text, sizeof text), 0);
    return export_token_verify(text, KEY, sizeof KEY, NOW, &back);
}

static void a_genuine_mac_over_a_bad_layout_is_refused(void **state)
{
    (void)state;
    struct export_token t = sample();
    char text[EXPORT_TOKEN_MAX];
    uint8_t good[2048];
    size_t len;
    assert_int_equal(export_token_sign(&t, KEY, sizeof KEY, text, sizeof text), 0);
    assert_int_equal(base64url_decode(text, strlen(text), good, sizeof good, &len), 0);
    len -= SHA256_DIGEST_BYTES;
    assert_int_equal(verify_raw(good, len), 0);
    uint8_t b[2048];
    memcpy(b, good, len);
    b[0] = 2; /* version */
    assert_int_equal(verify_raw(b, len), -EBADMSG);
    memcpy(b, good, len);
    b[1] = 7; /* format */
    assert_int_equal(verify_raw(b, len), -EBADMSG);
    memcpy(b, good, len);
    b[len] = 0; /* a trailing byte */
    assert_int_equal(verify_raw(b, len + 1), -EBADMSG);
    assert_int_equal(verify_raw(good, len - 1), -EBADMSG); /* a byte short */
    memcpy(b, good, len);
    b[26] = 0; /* host length 0 */
    assert_int_equal(verify_raw(b, len), -EBADMSG);
    memcpy(b, good, len);
    b[26] = 200; /* host length past the end of the host field limit */
    assert_int_equal(verify_raw(b, len), -EBADMSG);
    memcpy(b, good, len);
    b[27] = 0; /* a NUL inside the host */
    assert_int_equal(verify_raw(b, len), -EBADMSG);
    memcpy(b, good, len);
    memcpy(b + 10, good + 2, 8); /* to = from */
    assert_int_equal(verify_raw(b, len), -EBADMSG);
}

static void an_expired_token_is_told_apart(void **state)
{
    (void)state;
    struct export_token t = sample(), back;
    char text[EXPORT_TOKEN_MAX];
    assert_int_equal(export_token_sign(&t, KEY, sizeof KEY, text, sizeof text), 0);
    assert_int_equal(export_token_verify(text, KEY, sizeof KEY, t.expires_ms, &back), 0);
    memset(&back, 0, sizeof back);
    assert_int_equal(export_token_verify(text, KEY, sizeof KEY, t.expires_ms + 1, &back),
                     -EKEYEXPIRED);
    assert_int_equal(back.expires_ms, t.expires_ms);
    text[3] ^= 1; /* tampered and expired: not genuine first */
    assert_int_equal(export_token_verify(text, KEY, sizeof KEY, t.expires_ms + 1, &back), -EBADMSG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_signed_token_gives_back_its_fields),
        cmocka_unit_test(the_longest_fields_fit_the_maximum),
        cmocka_unit_test(signing_refuses_fields_out_of_bounds),
        cmocka_unit_test(any_changed_character_is_refused),
        cmocka_unit_test(another_key_is_refused),
        cmocka_unit_test(garbage_is_refused),
        cmocka_unit_test(a_genuine_mac_over_a_bad_layout_is_refused),
        cmocka_unit_test(an_expired_token_is_told_apart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
