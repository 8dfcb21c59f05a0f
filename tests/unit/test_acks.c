/* Unit tests of hub/acks: ranges of committed pack sequences, paced per host. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hub/acks.h"

struct sent {
    size_t n;
    char host[8][65];
    char payload[8][4096];
};

static void record(void *user, const char *host, const char *payload, size_t len)
{
    struct sent *s = user;
    if (s->n < 8) {
        snprintf(s->host[s->n], sizeof s->host[0], "%s", host);
        snprintf(s->payload[s->n], sizeof s->payload[0], "%.*s", (int)len, payload);
    }
    s->n++;
}

static void merges_sequences_into_inclusive_ranges(void **state)
{
    (void)state;
    struct acks *a;
    assert_int_equal(acks_new(200, &a), 0);
    const uint64_t seqs[] = {3, 1, 2, 7, 5, 6, 10};
    for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++)
        assert_int_equal(acks_note(a, "h1", "boot", seqs[i]), 0);
    struct sent s = {0};
    assert_int_equal(acks_flush(a, 1000, false, record, &s), 1);
    assert_string_equal(s.host[0], "h1");
    assert_string_equal(s.payload[0], "{\"boot_id\":\"boot\",\"ranges\":[[1,3],[5,7],[10,10]]}");
    assert_int_equal(acks_flush(a, 1000, true, record, &s), 0); /* nothing pending */
    acks_free(a);
}

static void paces_each_host_to_one_ack_per_interval(void **state)
{
    (void)state;
    struct acks *a;
    assert_int_equal(acks_new(200, &a), 0);
    struct sent s = {0};
    assert_int_equal(acks_note(a, "h1", "b", 1), 0);
    assert_int_equal(acks_flush(a, 1000, false, record, &s), 1); /* first: at once */
    assert_int_equal(acks_note(a, "h1", "b", 2), 0);
    assert_int_equal(acks_note(a, "h2", "c", 9), 0);
    assert_int_equal(acks_next_due_ms(a, 1050), 0); /* h2 never acked: due now */
    assert_int_equal(acks_flush(a, 1050, false, record, &s), 1);
    assert_string_equal(s.host[1], "h2");
    assert_int_equal(acks_next_due_ms(a, 1100), 100); /* h1 waits for its interval */
    assert_int_equal(acks_flush(a, 1199, false, record, &s), 0);
    assert_int_equal(acks_flush(a, 1200, false, record, &s), 1);
    assert_string_equal(s.payload[2], "{\"boot_id\":\"b\",\"ranges\":[[2,2]]}");
    assert_int_equal(acks_next_due_ms(a, 1300), -1);
    acks_free(a);
}

static void keeps_boots_of_one_host_apart(void **state)
{
    (void)state;
    struct acks *a;
    assert_int_equal(acks_new(200, &a), 0);
    assert_int_equal(acks_note(a, "h", "old", 41), 0);
    assert_int_equal(acks_note(a, "h", "new", 1), 0);
    struct sent s = {0};
    assert_int_equal(acks_flush(a, 0, false, record, &s), 2);
    assert_non_null(strstr(s.payload[0], "\"old\""));
    assert_non_null(strstr(s.payload[0], "[41,41]"));
    assert_non_null(strstr(s.payload[1], "\"new\""));
    acks_free(a);
}

static void a_full_range_list_asks_for_a_forced_flush(void **state)
{
    (void)state;
    struct acks *a;
    assert_int_equal(acks_new(200, &a), 0);
    for (uint64_t i = 0; i < ACKS_MAX_RANGES; i++)
        assert_int_equal(acks_note(a, "h", "b", 2 * i + 1), 0); /* 1, 3, 5, ...: all gaps */
    assert_int_equal(acks_note(a, "h", "b", 1000), -ENOSPC);
    assert_int_equal(acks_note(a, "h", "b", 2), 0); /* fills a gap: merges, no new range */
    struct sent s = {0};
    assert_int_equal(acks_flush(a, 0, true, record, &s), 1);
    assert_non_null(strstr(s.payload[0], "[[1,3],[5,5]"));
    assert_int_equal(acks_note(a, "h", "b", 1000), 0);
    acks_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(merges_sequences_into_inclusive_ranges),
        cmocka_unit_test(paces_each_host_to_one_ack_per_interval),
        cmocka_unit_test(keeps_boots_of_one_host_apart),
        cmocka_unit_test(a_full_range_list_asks_for_a_forced_flush),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
