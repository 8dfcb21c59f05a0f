/* Unit tests of hub/ledger: committed pack sequences merged into ranges whatever the arrival
 * order, gaps with the time they were noticed, filled and lost gaps, the bounds on ranges and
 * boots, heartbeat drop counts, transactions (commit, rollback), loading saved rows, and every
 * allocation failure leaving the ledger as it was. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hub/ledger.h"

#include "tests/support/alloc_fail.h"
#define FAULT_INJECTION ALLOC_FAIL_AVAILABLE

#define T0 INT64_C(1795320000000) /* 2026-11-22 */
#define SETTLE_MS 60000

static struct ledger *make(size_t max_ranges, size_t max_boots)
{
    struct ledger_options o;
    ledger_options_default(&o);
    o.settle_ms = SETTLE_MS;
    if (max_ranges > 0)
        o.max_ranges = max_ranges;
    if (max_boots > 0)
        o.max_boots = max_boots;
    struct ledger *l = NULL;
    assert_int_equal(ledger_new(&o, &l), 0);
    return l;
}

/* Notes each sequence of boot "b1" of host "h" at T0 + its index, then commits. */
static void note_all(struct ledger *l, const uint64_t *seqs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ledger_note_pack(l, "h", "b1", seqs[i], T0 + (int64_t)i), 0);
    ledger_commit(l);
}

static struct ledger_report *report(struct ledger *l, int64_t now_ms)
{
    struct ledger_report *r = NULL;
    assert_int_equal(ledger_report(l, "h", now_ms, &r), 0);
    return r;
}

static void assert_gap(const struct ledger_gap *g, uint64_t first, uint64_t last)
{
    assert_int_equal(g->first, first);
    assert_int_equal(g->last, last);
}

static void merges_out_of_order_sequences_into_ranges_with_gaps_between(void **state)
{
    (void)state;
    struct ledger *l = make(0, 0);
    const uint64_t seqs[] = {3, 1, 2, 7, 5, 6, 10, 6, 3};
    note_all(l, seqs, sizeof seqs / sizeof seqs[0]);
    struct ledger_report *r = report(l, T0 + 100);
    assert_string_equal(r->host, "h");
    assert_int_equal(r->n_boots, 1);
    const struct ledger_boot_report *b = &r->boots[0];
    assert_string_equal(b->boot_id, "b1");
    assert_true(b->has_seqs);
    assert_int_equal(b->first_seq, 1);
    assert_int_equal(b->last_seq, 10);
    assert_int_equal(b->committed, 7);
    assert_int_equal(b->n_gaps, 2);
    assert_gap(&b->gaps[0], 4, 4);
    assert_gap(&b->gaps[1], 8, 9);
    assert_int_equal(r->totals.open_gaps, 2);
    assert_int_equal(r->totals.missing_packs, 3);
    assert_int_equal(r->totals.lost_packs, 0);
    ledger_report_free(r);
    ledger_free(l);
}

static void a_gap_keeps_the_time_it_was_noticed_when_it_shrinks_or_splits(void **state)
{
    (void)state;
    struct ledger *l = make(0, 0);
    assert_int_equal(ledger_note_pack(l, "h", "b1", 1, T0), 0);
    assert_int_equal(ledger_note_pack(l, "h", "b1", 10, T0 + 1000), 0); /* gap 2..9 noticed */
    assert_int_equal(ledger_note_pack(l, "h", "b1", 5, T0 + 5000), 0);  /* split */
    assert_int_equal(ledger_note_pack(l, "h", "b1", 2, T0 + 6000), 0);  /* shrinks from below */
    assert_int_equal(ledger_note_pack(l, "h", "b1", 9, T0 + 7000), 0);  /* shrinks from above */
    ledger_commit(l);
    struct ledger_report *r = report(l, T0 + 11000);
    const struct ledger_boot_report *b = &r->boots[0];
    assert_int_equal(b->n_gaps, 2);
    assert_gap(&b->gaps[0], 3, 4);
    assert_gap(&b->gaps[1], 6, 8);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(b->gaps[i].since_ms, T0 + 1000);
        assert_int_equal(b->gaps[i].age_ms, 10000);
        assert_false(b->gaps[i].lost);
    }
    ledger_report_free(r);
    ledger_free(l);
}

static void a_filled_gap_disappears_and_is_counted(void **state)
{
    (void)state;
    struct ledger *l = make(0, 0);
    const uint64_t seqs[] = {1, 2, 3, 5, 6};
    note_all(l, seqs, 5);
    struct ledger_report *r = report(l, T0 + 10);
    assert_int_equal(r->boots[0].n_gaps, 1);
    assert_gap(&r->boots[0].gaps[0], 4, 4);
    ledger_report_free(r);
    const uint64_t fill[] = {4};
    note_all(l, fill, 1);
    r = report(l, T0 + 10);
    assert_int_equal(r->boots[0].n_gaps, 0);
    assert_int_equal(r->boots[0].committed, 6);
    assert_int_equal(r->totals.gaps_filled, 1);
    assert_int_equal(r->totals.open_gaps, 0);
    ledger_report_free(r);
    ledger_free(l);
}

static void the_gap_below_the_first_range_counts_from_1(void **state)
{
    (void)state;
    struct ledger *l = make(0, 0);
    const uint64_t seqs[] = {3};
    note_all(l, seqs, 1);
    struct ledger_report *r = report(l, T0);
    assert_int_equal(r->boots[0].n_gaps, 1);
    assert_gap(&r->boots[0].gaps[0], 1, 2);
    assert_int_equal(r->boots[0].first_seq, 3);
    ledger_report_free(r);
    const uint64_t more[] = {1, 2};
    note_all(l, more, 2);
    r = report(l, T0);
    assert_int_equal(r->boots[0].n_gaps, 0);
    assert_int_equal(r->boots[0].first_seq, 1);
    assert_int_equal(r->totals.gaps_filled, 1);
    ledger_report_free(r);
    ledger_free(l);
}

static void a_gap_open_for_settle_is_lost_and_may_still_be_filled(void **state)
{
    (void)state;
    struct ledger *l = make(0, 0);
    const uint64_t seqs[] = {1, 3};
    note_all(l, seqs, 2); /* gap 2 noticed at T0 + 1 */
    struct ledger_report *r = report(l, T0 + 1 + SETTLE_MS - 1);
    assert_false(r->boots[0].gaps[0].lost);
    assert_int_equal(r->totals.open_gaps, 1);
    ledger_report_free(r);
    r = report(l, T0 + 1 + SETTLE_MS);
    assert_true(r->boots[0].gaps[0].lost);
    assert_int_equal(r->totals.open_gaps, 0);
    assert_int_equal(r->totals.missing_packs, 0);
    assert_int_equal(r->totals.lost_gaps, 1);
    assert_int_equal(r->totals.lost_packs, 1);
    ledger_report_free(r);
    struct ledger_totals t;
    ledger_totals(l, T0 + 1 + SETTLE_MS, &t);
    assert_int_equal(t.lost_packs, 1);
    const uint64_t late[] = {2};
    note_all(l, late, 1);
    ledger_totals(l, T0 + 2 * SETTLE_MS, &t);
    assert_int_equal(t.lost_packs, 0);
    assert_int_equal(t.gaps_filled, 1);
    ledger_free(l);
}

static int count_pending(void *user, const struct store_ledger_host *h)
{
    (void)h;
    (*(size_t *)user)++;
    return 0;
}

static void a_resent_sequence_changes_nothing(void **state)
{
    (void)state;
    struct ledger *l = make(0, 0);
    const uint64_t seqs[] = {1, 2};
    note_all(l, seqs, 2);
    assert_int_equal(ledger_note_pack(l, "h", "b1", 2, T0 + 500), 0);
    size_t pending = 0;
    assert_int_equal(ledger_pending_foreach(l, count_pending, &pending), 0);
    assert_int_equal(pending, 0);
    ledger_free(l);
}

static void beyond_max_ranges_the_oldest_gap_is_given_up_and_counted_lost(void **state)
{
    (void)state;
    struct ledger *l = make(4, 0);
    const uint64_t seqs[] = {20, 21, 23, 25, 27}; /* gaps 22, 24, 26 noticed in that order */
    note_all(l, seqs, 5);
    struct ledger_report *r = report(l, T0 + 10);
    const struct ledger_boot_report *b = &r->boots[0];
    assert_int_equal(b->n_gaps, 4);
    assert_gap(&b->gaps[0], 1, 19); /* below the first range: takes no range, stays */
    assert_gap(&b->gaps[1], 22, 22);
    assert_int_equal(r->totals.lost_gaps, 0);
    ledger_report_free(r);
    const uint64_t more[] = {29}; /* a fifth range: gap 22, noticed first, is given up */
    note_all(l, more, 1);
    r = report(l, T0 + 10);
    b = &r->boots[0];
    assert_int_equal(b->n_gaps, 4);
    assert_gap(&b->gaps[0], 1, 19);
    assert_gap(&b->gaps[1], 24, 24);
    assert_gap(&b->gaps[2], 26, 26);
    assert_gap(&b->gaps[3], 28, 28);
    assert_int_equal(b->first_seq, 20);
    assert_int_equal(b->last_seq, 29);
    assert_int_equal(b->committed, 6);
    assert_int_equal(r->totals.lost_gaps, 1);
    assert_int_equal(r->totals.lost_packs, 1);
    assert_int_equal(r->totals.open_gaps, 4);
    assert_int_equal(r->totals.missing_packs, 22);
    ledger_report_free(r);
    /* A given-up sequence that arrives after all is a resend: nothing changes. */
    assert_int_equal(ledger_note_pack(l, "h", "b1", 22, T0 + 20), 0);
    size_t pending = 0;
    assert_int_equal(ledger_pending_foreach(l, count_pending, &pending), 0);
    assert_int_equal(pending, 0);
    ledger_free(l);
}

static void beyond_max_boots_the_least_recently_seen_boot_is_given_up(void **state)
{
    (void)state;
    struct ledger *l = make(0, 2);
    assert_int_equal(ledger_note_pack(l, "h", "a", 1, T0), 0);
    assert_int_equal(ledger_note_pack(l, "h", "a", 3, T0 + 1), 0);
    assert_int_equal(ledger_note_dropped(l, "h", "a", 4, T0 + 2), 0);
    assert_int_equal(ledger_note_pack(l, "h", "b", 1, T0 + 3), 0);
    assert_int_equal(ledger_note_pack(l, "h", "c", 1, T0 + 4), 0);
    ledger_commit(l);
    struct ledger_report *r = report(l, T0 + 5);
    assert_int_equal(r->n_boots, 2);
    assert_string_equal(r->boots[0].boot_id, "c"); /* most recently seen first */
    assert_string_equal(r->boots[1].boot_id, "b");
    assert_int_equal(r->totals.lost_gaps, 1);
    assert_int_equal(r->totals.lost_packs, 1);
    assert_int_equal(r->agent_dropped, 4); /* the given-up boot's drops still count */
    ledger_report_free(r);
    ledger_free(l);
}

static void old_boots_without_gaps_are_forgotten_and_the_newest_is_kept(void **state)
{
    (void)state;
    struct ledger *l = make(0, 0);
    assert_int_equal(ledger_note_pack(l, "h", "a", 1, T0), 0); /* no gap */
    assert_int_equal(ledger_note_pack(l, "h", "g", 2, T0), 0); /* gap 1 */
    assert_int_equal(ledger_note_pack(l, "h", "b", 1, T0 + 10), 0);
    ledger_commit(l);
    assert_int_equal(ledger_note_pack(l, "h", "c", 1, T0 + 10 + SETTLE_MS), 0);
    ledger_commit(l);
    struct ledger_report *r = report(l, T0 + 10 + SETTLE_MS);
    assert_int_equal(r->n_boots, 3); /* "a" forgotten; "g" has a gap; "b" was seen recently */
    assert_string_equal(r->boots[0].boot_id, "c");
    assert_string_equal(r->boots[1].boot_id, "b");
    assert_string_equal(r->boots[2].boot_id, "g");
    ledger_report_free(r);
    /* Long silence: the only boot stays, whatever its age. */
    struct ledger *one = make(0, 0);
    assert_int_equal(ledger_note_pack(one, "h", "a", 1, T0), 0);
    assert_int_equal(ledger_note_dropped(one, "h", "a", 0, T0 + 10 * SETTLE_MS), 0);
    ledger_commit(one);
    r = report(one, T0 + 10 * SETTLE_MS);
    assert_int_equal(r->n_boots, 1);
    ledger_report_free(r);
    ledger_free(one);
    ledger_free(l);
}

static void heartbeat_drop_counts_are_kept_per_boot_and_summed(void **state)
{
    (void)state;
    struct ledger *l = make(0, 0);
    assert_int_equal(ledger_note_dropped(l, "h", "a", 0, T0), 0);
    struct ledger_report *r = report(l, T0);
    assert_int_equal(r->agent_dropped, 0);
    assert_int_equal(r->agent_dropped_changed_ms, 0);
    assert_false(r->boots[0].has_seqs);
    ledger_report_free(r);
    assert_int_equal(ledger_note_dropped(l, "h", "a", 3, T0 + 1), 0);
    assert_int_equal(ledger_note_dropped(l, "h", "a", 2, T0 + 2), 0); /* late, smaller: kept 3 */
    assert_int_equal(ledger_note_dropped(l, "h", "a", 3, T0 + 3), 0);
    assert_int_equal(ledger_note_dropped(l, "h", "b", 1, T0 + 4), 0); /* new boot counts anew */
    ledger_commit(l);
    r = report(l, T0 + 5);
    assert_int_equal(r->agent_dropped, 4);
    assert_int_equal(r->agent_dropped_changed_ms, T0 + 4);
    assert_int_equal(r->boots[0].dropped, 1);
    assert_int_equal(r->boots[1].dropped, 3);
    ledger_report_free(r);
    struct ledger_totals t;
    ledger_totals(l, T0 + 5, &t);
    assert_int_equal(t.agent_dropped, 4);
    ledger_free(l);
}

static void rollback_reverts_every_change_since_the_last_commit(void **state)
{
    (void)state;
    struct ledger *l = make(0, 0);
    const uint64_t seqs[] = {1, 2};
    note_all(l, seqs, 2);
    assert_int_equal(ledger_note_pack(l, "h", "b1", 4, T0 + 10), 0);
    assert_int_equal(ledger_note_pack(l, "h", "b2", 1, T0 + 10), 0);
    assert_int_equal(ledger_note_pack(l, "g", "b1", 1, T0 + 10), 0);
    ledger_rollback(l);
    struct ledger_report *r = report(l, T0 + 20);
    assert_int_equal(r->n_boots, 1);
    assert_int_equal(r->boots[0].last_seq, 2);
    assert_int_equal(r->boots[0].n_gaps, 0);
    ledger_report_free(r);
    assert_int_equal(ledger_report(l, "g", T0, &r), -ENOENT);
    size_t pending = 0;
    assert_int_equal(ledger_pending_foreach(l, count_pending, &pending), 0);
    assert_int_equal(pending, 0);
    ledger_free(l);
}

struct saved {
    size_t n;
    char host[4][65];
    size_t n_boots[4], n_ranges[4];
    struct store_ledger_range ranges[4][8];
};

static int save(void *user, const struct store_ledger_host *h)
{
    struct saved *s = user;
    if (s->n < 4) {
        snprintf(s->host[s->n], sizeof s->host[0], "%s", h->host);
        s->n_boots[s->n] = h->n_boots;
        s->n_ranges[s->n] = h->n_boots > 0 ? h->boots[0].n_ranges : 0;
        for (size_t j = 0; j < s->n_ranges[s->n] && j < 8; j++)
            s->ranges[s->n][j] = h->boots[0].ranges[j];
    }
    s->n++;
    return 0;
}

static void pending_hosts_come_as_the_rows_to_save(void **state)
{
    (void)state;
    struct ledger *l = make(0, 0);
    assert_int_equal(ledger_note_pack(l, "h", "b1", 1, T0), 0);
    assert_int_equal(ledger_note_pack(l, "h", "b1", 3, T0 + 7), 0);
    struct saved s = {0};
    assert_int_equal(ledger_pending_foreach(l, save, &s), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.host[0], "h");
    assert_int_equal(s.n_boots[0], 1);
    assert_int_equal(s.n_ranges[0], 2);
    assert_int_equal(s.ranges[0][0].first, 1);
    assert_int_equal(s.ranges[0][0].gap_since_ms, 0);
    assert_int_equal(s.ranges[0][1].first, 3);
    assert_int_equal(s.ranges[0][1].gap_since_ms, T0 + 7);
    ledger_commit(l);
    memset(&s, 0, sizeof s);
    assert_int_equal(ledger_pending_foreach(l, save, &s), 0);
    assert_int_equal(s.n, 0);
    ledger_free(l);
}

static void loads_saved_rows_and_refuses_ranges_out_of_order(void **state)
{
    (void)state;
    struct ledger *l = make(0, 0);
    const struct store_ledger_range ranges[] = {{1, 5, 0}, {8, 9, T0}};
    struct store_ledger_boot boot = {
        .boot_id = "b1", .last_seen_ms = T0, .assumed = 2, .ranges = ranges, .n_ranges = 2};
    struct store_ledger_host host = {
        .host = "h", .gaps_filled = 3, .lost_packs = 4, .boots = &boot, .n_boots = 1};
    assert_int_equal(ledger_load(l, &host), 0);
    assert_int_equal(ledger_load(l, &host), -EEXIST);
    struct ledger_report *r = report(l, T0 + 1000);
    assert_int_equal(r->boots[0].committed, 5);
    assert_int_equal(r->boots[0].n_gaps, 1);
    assert_gap(&r->boots[0].gaps[0], 6, 7);
    assert_int_equal(r->boots[0].gaps[0].age_ms, 1000);
    assert_int_equal(r->totals.gaps_filled, 3);
    assert_int_equal(r->totals.lost_packs, 4);
    ledger_report_free(r);
    /* Loaded ranges go on as if never saved: 6 and 7 fill the gap. */
    const uint64_t fill[] = {6, 7};
    note_all(l, fill, 2);
    r = report(l, T0);
    assert_int_equal(r->boots[0].n_gaps, 0);
    assert_int_equal(r->totals.gaps_filled, 4);
    ledger_report_free(r);
    const struct store_ledger_range bad[] = {{1, 5, 0}, {6, 9, 0}}; /* adjacent */
    boot.ranges = bad;
    snprintf(host.host, sizeof host.host, "other");
    assert_int_equal(ledger_load(l, &host), -EBADMSG);
    ledger_free(l);
}

static void refuses_sequence_zero_and_ids_empty_or_too_long(void **state)
{
    (void)state;
    struct ledger *l = make(0, 0);
    char long_id[LEDGER_ID_MAX + 2];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    assert_int_equal(ledger_note_pack(l, "h", "b1", 0, T0), -EINVAL);
    assert_int_equal(ledger_note_pack(l, "h", "", 1, T0), -EINVAL);
    assert_int_equal(ledger_note_pack(l, "h", long_id, 1, T0), -EINVAL);
    assert_int_equal(ledger_note_dropped(l, long_id, "b1", 1, T0), -EINVAL);
    struct ledger_report *r = NULL;
    assert_int_equal(ledger_report(l, "h", T0, &r), -ENOENT);
    struct ledger_options o = {.settle_ms = 0, .max_ranges = 4, .max_boots = 1};
    struct ledger *bad = NULL;
    assert_int_equal(ledger_new(&o, &bad), -EINVAL);
    ledger_free(l);
}

#if FAULT_INJECTION
/* A run of notes across hosts and boots, with bounds hit, committed at the end. */
static int scripted_run(struct ledger *l)
{
    static const struct {
        const char *host, *boot;
        uint64_t seq;
    } notes[] = {{"h", "a", 1}, {"h", "a", 5}, {"h", "a", 3}, {"h", "a", 9}, {"h", "a", 7},
                 {"h", "b", 2}, {"h", "c", 1}, {"g", "a", 4}, {"h", "a", 4}, {"g", "a", 1}};
    for (size_t i = 0; i < sizeof notes / sizeof notes[0]; i++) {
        int rc = ledger_note_pack(l, notes[i].host, notes[i].boot, notes[i].seq, T0 + (int64_t)i);
        if (rc != 0)
            return rc;
    }
    return ledger_note_dropped(l, "g", "z", 2, T0 + 100);
}

/* Checks what a report of host h says after the first two sequences of boot "a". */
static void assert_only_first_commit(struct ledger *l)
{
    struct ledger_report *r = NULL;
    assert_int_equal(ledger_report(l, "h", T0, &r), 0);
    assert_int_equal(r->n_boots, 1);
    assert_int_equal(r->boots[0].last_seq, 2);
    assert_int_equal(r->boots[0].n_gaps, 0);
    ledger_report_free(r);
    assert_int_equal(ledger_report(l, "g", T0, &r), -ENOENT);
}
#endif

static void every_allocation_failure_leaves_the_ledger_as_it_was(void **state)
{
    (void)state;
#if FAULT_INJECTION
    if (!alloc_fail_works())
        skip();
    struct ledger_options o = {.settle_ms = SETTLE_MS, .max_ranges = 3, .max_boots = 2};
    long fail_at;
    for (fail_at = 0;; fail_at++) {
        alloc_fail_arm(fail_at); /* later allocations succeed again */
        struct ledger *l = NULL;
        int rc = ledger_new(&o, &l);
        int stage = 0; /* 1: failed before the first commit, 2: in the scripted run */
        if (rc == 0) {
            rc = ledger_note_pack(l, "h", "a", 1, T0);
            if (rc == 0)
                rc = ledger_note_pack(l, "h", "a", 2, T0);
            if (rc != 0) {
                ledger_rollback(l);
                stage = 1;
            } else {
                ledger_commit(l);
                rc = scripted_run(l);
                if (rc != 0) {
                    ledger_rollback(l);
                    stage = 2;
                } else {
                    ledger_commit(l);
                }
            }
        }
        /* Checked with allocations that cannot fail, counted on from here. */
        long live = alloc_fail_live();
        alloc_fail_arm(LONG_MAX);
        if (rc != 0)
            assert_int_equal(rc, -ENOMEM);
        struct ledger_report *r = NULL;
        if (stage == 1) {
            assert_int_equal(ledger_report(l, "h", T0, &r), -ENOENT);
        } else if (stage == 2) {
            assert_only_first_commit(l);
        } else if (l != NULL) {
            r = report(l, T0);
            assert_int_equal(r->n_boots, 2);
            ledger_report_free(r);
        }
        ledger_free(l);
        assert_int_equal(live + alloc_fail_live(), 0);
        alloc_fail_disarm();
        if (rc == 0)
            break;
    }
    print_message("  %ld allocations, each made to fail in turn\n", fail_at);
    assert_true(fail_at >= 5);
#else
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(merges_out_of_order_sequences_into_ranges_with_gaps_between),
        cmocka_unit_test(a_gap_keeps_the_time_it_was_noticed_when_it_shrinks_or_splits),
        cmocka_unit_test(a_filled_gap_disappears_and_is_counted),
        cmocka_unit_test(the_gap_below_the_first_range_counts_from_1),
        cmocka_unit_test(a_gap_open_for_settle_is_lost_and_may_still_be_filled),
        cmocka_unit_test(a_resent_sequence_changes_nothing),
        cmocka_unit_test(beyond_max_ranges_the_oldest_gap_is_given_up_and_counted_lost),
        cmocka_unit_test(beyond_max_boots_the_least_recently_seen_boot_is_given_up),
        cmocka_unit_test(old_boots_without_gaps_are_forgotten_and_the_newest_is_kept),
        cmocka_unit_test(heartbeat_drop_counts_are_kept_per_boot_and_summed),
        cmocka_unit_test(rollback_reverts_every_change_since_the_last_commit),
        cmocka_unit_test(pending_hosts_come_as_the_rows_to_save),
        cmocka_unit_test(loads_saved_rows_and_refuses_ranges_out_of_order),
        cmocka_unit_test(refuses_sequence_zero_and_ids_empty_or_too_long),
        cmocka_unit_test(every_allocation_failure_leaves_the_ledger_as_it_was),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
