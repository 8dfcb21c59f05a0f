/* Unit tests for bridge/dedupe.c (retransmission memory) and bridge/psk.c (the key file). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bridge/dedupe.h"
#include "bridge/psk.h"

static void test_find_done_expire(void **state)
{
    (void)state;
    struct dedupe *d = dedupe_new(16, 1000);
    assert_non_null(d);
    const uint8_t a[6] = {127, 0, 0, 1, 0x16, 0x33}, b[6] = {127, 0, 0, 1, 0x16, 0x34};
    assert_null(dedupe_find(d, a, sizeof a, 7, 0));
    struct dedupe_entry *e = dedupe_insert(d, a, sizeof a, 7, 0);
    assert_int_equal(e->state, DEDUPE_PENDING);
    assert_non_null(dedupe_find(d, a, sizeof a, 7, 10));
    assert_null(dedupe_find(d, b, sizeof b, 7, 10)); /* another peer, same message id */
    assert_null(dedupe_find(d, a, sizeof a, 8, 10));
    dedupe_done(d, a, sizeof a, 7, 204, 0, 20);
    e = dedupe_find(d, a, sizeof a, 7, 30);
    assert_int_equal(e->state, DEDUPE_DONE);
    assert_int_equal(e->code, 204);
    assert_null(dedupe_find(d, a, sizeof a, 7, 1001)); /* past the window */
    assert_int_equal(dedupe_count(d), 0);
    dedupe_free(d);
}

/* Full: the oldest goes first, the rest stay findable through a wrapped ring. */
static void test_eviction(void **state)
{
    (void)state;
    struct dedupe *d = dedupe_new(16, 1000000);
    const uint8_t p[4] = {10, 0, 0, 1};
    for (uint16_t mid = 0; mid < 40; mid++)
        (void)dedupe_insert(d, p, sizeof p, mid, mid);
    assert_int_equal(dedupe_count(d), 16);
    for (uint16_t mid = 0; mid < 24; mid++)
        assert_null(dedupe_find(d, p, sizeof p, mid, 100));
    for (uint16_t mid = 24; mid < 40; mid++)
        assert_non_null(dedupe_find(d, p, sizeof p, mid, 100));
    dedupe_free(d);
}

static void test_psk_parse(void **state)
{
    (void)state;
    const char *text = "# devices\n"
                       "dev-1 host1 secret-one\n"
                       "  dev-2\thost2 hex:00ff10   # comment\r\n"
                       "\n";
    struct psk_table t;
    char err[200] = "";
    assert_int_equal(psk_parse(text, strlen(text), &t, err, sizeof err), 0);
    assert_int_equal(t.count, 2);
    const struct psk_entry *e = psk_find(&t, (const uint8_t *)"dev-2", 5);
    assert_non_null(e);
    assert_string_equal(e->host, "host2");
    assert_int_equal(e->key_len, 3);
    assert_memory_equal(e->key, "\x00\xff\x10", 3);
    e = psk_find(&t, (const uint8_t *)"dev-1", 5);
    assert_int_equal(e->key_len, 10);
    assert_null(psk_find(&t, (const uint8_t *)"dev-", 4));
    psk_free(&t);

    static const struct {
        const char *text, *why;
    } bad[] = {
        {"dev-1 host1\n", "line 1: expected three fields"},
        {"a h k\nb h k extra\n", "line 2: expected three fields"},
        {"dev-1 bad/host key\n", "not a valid host id"},
        {"dev-1 h hex:0g\n", "not a hex digit"},
        {"dev-1 h hex:abc\n", "odd number"},
        {"dev-1 h k\ndev-1 h2 k2\n", "line 2: identity listed twice"},
        {"dev-1 h 0123456789012345678901234567890123456789012345678901234567890123456789\n",
         "longer than 64 bytes"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(psk_parse(bad[i].text, strlen(bad[i].text), &t, err, sizeof err),
                         -EINVAL);
        if (strstr(err, bad[i].why) == NULL)
            fail_msg("row %zu: reason \"%s\" lacks \"%s\"", i, err, bad[i].why);
    }
    assert_int_equal(psk_load("/nonexistent/psk", &t, err, sizeof err), -ENOENT);
    assert_non_null(strstr(err, "cannot open /nonexistent/psk"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_done_expire),
        cmocka_unit_test(test_eviction),
        cmocka_unit_test(test_psk_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
