/* Unit tests of common/sha256: the FIPS 180-4 example messages (and the million 'a' one),
 * the RFC 4231 HMAC-SHA256 test cases, incremental hashing across block edges and the
 * constant-time comparison. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/sha256.h"

static void to_hex(const uint8_t *bytes, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", bytes[i]);
}

static void assert_digest(const void *msg, size_t len, const char *want_hex)
{
    uint8_t d[SHA256_DIGEST_BYTES];
    char hex[2 * SHA256_DIGEST_BYTES + 1];
    sha256_digest(msg, len, d);
    to_hex(d, sizeof d, hex);
    assert_string_equal(hex, want_hex);
}

static void hashes_the_fips_180_4_examples(void **state)
{
    (void)state;
    assert_digest("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_digest("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    assert_digest(m448, strlen(m448),
                  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                       "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    assert_digest(m896, strlen(m896),
                  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void hashes_a_million_a_fed_in_odd_pieces(void **state)
{
    (void)state;
    char piece[997];
    memset(piece, 'a', sizeof piece);
    struct sha256 s;
    sha256_init(&s);
    size_t left = 1000000;
    while (left > 0) {
        size_t n = left < sizeof piece ? left : sizeof piece;
        sha256_update(&s, piece, n);
        left -= n;
    }
    uint8_t d[SHA256_DIGEST_BYTES];
    char hex[2 * SHA256_DIGEST_BYTES + 1];
    sha256_final(&s, d);
    to_hex(d, sizeof d, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Lengths around the padding edge (55, 56, 63, 64, 65 bytes): split or whole, same digest. */
static void incremental_equals_one_call_at_every_split(void **state)
{
    (void)state;
    uint8_t msg[130];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)(i * 7 + 1);
    for (size_t len = 0; len <= sizeof msg; len++) {
        uint8_t whole[SHA256_DIGEST_BYTES];
        sha256_digest(msg, len, whole);
        for (size_t cut = 0; cut <= len; cut += 13) {
            struct sha256 s;
            uint8_t parts[SHA256_DIGEST_BYTES];
            sha256_init(&s);
            sha256_update(&s, msg, cut);
            sha256_update(&s, msg + cut, len - cut);
            sha256_final(&s, parts);
            assert_memory_equal(whole, parts, sizeof whole);
        }
    }
}

struct hmac_case {
    const char *name;
    uint8_t key[131];
    size_t key_len;
    const char *data;
    size_t data_len;
    const char *mac_hex; /* truncated to its length (case 5: 128 bits) */
};

static void fill(uint8_t *p, uint8_t v, size_t n)
{
    memset(p, v, n);
}

static void computes_the_rfc_4231_test_cases(void **state)
{
    (void)state;
    static char dd[50], cd[50];
    memset(dd, 0xdd, sizeof dd);
    memset(cd, 0xcd, sizeof cd);
    struct hmac_case cases[7] = {
        {"1", {0}, 20, "Hi There", 8,
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {"2", "Jefe", 4, "what do ya want for nothing?", 28,
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {"3", {0}, 20, dd, 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
        {"4", {0}, 25, cd, 50, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
        {"5", {0}, 20, "Test With Truncation", 20, "a3b6167473100ee06e0c796c2955552b"},
        {"6", {0}, 131, "Test Using Larger Than Block-Size Key - Hash Key First", 54,
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
        {"7", {0}, 131,
         "This is a test using a larger than block-size key and a larger than block-size data. "
         "The key needs to be hashed before being used by the HMAC algorithm.",
         152, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
    };
    fill(cases[0].key, 0x0b, 20);
    fill(cases[2].key, 0xaa, 20);
    for (uint8_t i = 0; i < 25; i++)
        cases[3].key[i] = (uint8_t)(i + 1);
    fill(cases[4].key, 0x0c, 20);
    fill(cases[5].key, 0xaa, 131);
    fill(cases[6].key, 0xaa, 131);
    for (size_t i = 0; i < 7; i++) {
        uint8_t mac[SHA256_DIGEST_BYTES];
        char hex[2 * SHA256_DIGEST_BYTES + 1];
        sha256_hmac(cases[i].key, cases[i].key_len, cases[i].data, cases[i].data_len, mac);
        to_hex(mac, sizeof mac, hex);
        hex[strlen(cases[i].mac_hex)] = '\0';
        if (strcmp(hex, cases[i].mac_hex) != 0)
            fail_msg("RFC 4231 case %s: got %s, want %s", cases[i].name, hex, cases[i].mac_hex);
    }
}

static void mac_equal_compares_every_byte(void **state)
{
    (void)state;
    uint8_t a[SHA256_DIGEST_BYTES] = {0}, b[SHA256_DIGEST_BYTES] = {0};
    assert_true(sha256_mac_equal(a, b, sizeof a));
    for (size_t i = 0; i < sizeof a; i++) {
        b[i] = 0x80;
        assert_false(sha256_mac_equal(a, b, sizeof a));
        b[i] = 0;
    }
    assert_true(sha256_mac_equal(a, b, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hashes_the_fips_180_4_examples),
        cmocka_unit_test(hashes_a_million_a_fed_in_odd_pieces),
        cmocka_unit_test(incremental_equals_one_call_at_every_split),
        cmocka_unit_test(computes_the_rfc_4231_test_cases),
        cmocka_unit_test(mac_equal_compares_every_byte),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
