/* Unit tests for bridge/dedupe.c (retransmission memory), bridge/blockwise.c (Block1
 * reassembly without Size1) and bridge/psk.c (the key file). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include "bridge/blockwise.h"
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
        assert_int_equal(psk_parse(bad[i].text, strlen(bad[i].text), &t, err, sizeof err), -EINVAL);
        if (strstr(err, bad[i].why) == NULL)
            fail_msg("row %zu: reason \"%s\" lacks \"%s\"", i, err, bad[i].why);
    }
    assert_int_equal(psk_load("/nonexistent/psk", &t, err, sizeof err), -ENOENT);
    assert_non_null(strstr(err, "cannot open /nonexistent/psk"));
}

static void test_blockwise(void **state)
{
    (void)state;
    struct blockwise *t = blockwise_new(2, 100, 1000);
    uint8_t *body = NULL;
    size_t len = 0;
    const uint8_t a[16] = "0123456789abcdef", tail[5] = "XYZ!?";
    /* in order: 16 + 16 + 5 */
    assert_int_equal(blockwise_add(t, "k1", 2, 0, true, 16, a, 16, 0, &body, &len),
                     BLOCKWISE_CONTINUE);
    assert_int_equal(blockwise_add(t, "k1", 2, 1, true, 16, a, 16, 1, &body, &len),
                     BLOCKWISE_CONTINUE);
    assert_int_equal(blockwise_add(t, "k1", 2, 1, true, 16, a, 16, 2, &body, &len),
                     BLOCKWISE_CONTINUE); /* block 1 again: Continue again, not added twice */
    assert_int_equal(blockwise_add(t, "k1", 2, 2, false, 16, tail, 5, 3, &body, &len),
                     BLOCKWISE_COMPLETE);
    assert_int_equal(len, 37);
    assert_memory_equal(body + 32, tail, 5);
    free(body);
    assert_int_equal(blockwise_active(t), 0);
    /* no transfer before it, a gap, a short middle block */
    assert_int_equal(blockwise_add(t, "k2", 2, 2, false, 16, tail, 5, 0, &body, &len),
                     BLOCKWISE_INCOMPLETE);
    assert_int_equal(blockwise_add(t, "k2", 2, 0, true, 16, a, 16, 0, &body, &len),
                     BLOCKWISE_CONTINUE);
    assert_int_equal(blockwise_add(t, "k2", 2, 2, true, 16, a, 16, 0, &body, &len),
                     BLOCKWISE_INCOMPLETE);
    assert_int_equal(blockwise_active(t), 0); /* the broken transfer is gone */
    assert_int_equal(blockwise_add(t, "k3", 2, 0, true, 16, a, 10, 0, &body, &len),
                     BLOCKWISE_INCOMPLETE);
    /* over max_body (100) */
    int r = BLOCKWISE_CONTINUE;
    for (unsigned n = 0; n < 8 && r == BLOCKWISE_CONTINUE; n++)
        r = blockwise_add(t, "k4", 2, n, true, 16, a, 16, 0, &body, &len);
    assert_int_equal(r, BLOCKWISE_TOO_LARGE);
    /* two slots: a third transfer waits, until the idle ones expire */
    assert_int_equal(blockwise_add(t, "k5", 2, 0, true, 16, a, 16, 0, &body, &len),
                     BLOCKWISE_CONTINUE);
    assert_int_equal(blockwise_add(t, "k6", 2, 0, true, 16, a, 16, 0, &body, &len),
                     BLOCKWISE_CONTINUE);
    assert_int_equal(blockwise_add(t, "k7", 2, 0, true, 16, a, 16, 0, &body, &len), BLOCKWISE_BUSY);
    assert_int_equal(blockwise_add(t, "k7", 2, 0, true, 16, a, 16, 2000, &body, &len),
                     BLOCKWISE_CONTINUE);
    blockwise_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blockwise),
        cmocka_unit_test(test_find_done_expire),
        cmocka_unit_test(test_eviction),
        cmocka_unit_test(test_psk_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
