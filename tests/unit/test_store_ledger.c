/* Unit tests of the loss ledger's rows in the store (hub/store_ledger.c) on a real SQLite file
 * in a temporary directory: saved with a transaction and back after a reopen, replaced whole,
 * rolled back with it; a store of the previous layout upgraded in place (running boots seeded
 * from the host records), one of a newer layout refused. With hub/ledger on top: what a hub
 * noted is what a restarted hub reports. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hub/ledger.h"
#include "hub/store.h"
#include "tests/support/temp_dir.h"

#define T0 INT64_C(1795320000000)

struct fixture {
    char dir[64], path[96];
    struct store *st;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    temp_dir_make("ledger", f->dir, sizeof f->dir, "s.db", f->path, sizeof f->path);
    *state = f;
    return 0;
}

static void reopen(struct fixture *f)
{
    store_close(f->st);
    f->st = NULL;
    char err[300];
    int rc = store_open(f->path, NULL, &f->st, err, sizeof err);
    if (rc != 0)
        fail_msg("store_open: %s", err);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->st);
    temp_dir_remove(f->dir);
    free(f);
    return 0;
}

/* Runs SQL on the closed store file with the sqlite3 shell (or Python's module). */
static void run_sql(const struct fixture *f, const char *sql)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "sqlite3 %s \"%s\" 2>/dev/null || python3 -c \"import sqlite3; c = sqlite3.connect("
             "'%s'); c.executescript('''%s'''); c.commit()\"",
             f->path, sql, f->path, sql);
    assert_int_equal(system(cmd), 0);
}

/* What a load gave: up to 4 hosts with up to 4 boots of up to 8 ranges. */
struct loaded {
    size_t n;
    struct store_ledger_host host[4];
    struct store_ledger_boot boot[4][4];
    struct store_ledger_range range[4][4][8];
};

static int collect(void *user, const struct store_ledger_host *h)
{
    struct loaded *l = user;
    assert_true(l->n < 4 && h->n_boots <= 4);
    l->host[l->n] = *h;
    for (size_t i = 0; i < h->n_boots; i++) {
        assert_true(h->boots[i].n_ranges <= 8);
        l->boot[l->n][i] = h->boots[i];
        memcpy(l->range[l->n][i], h->boots[i].ranges,
               h->boots[i].n_ranges * sizeof h->boots[i].ranges[0]);
    }
    l->n++;
    return 0;
}

static void load(struct fixture *f, struct loaded *out)
{
    memset(out, 0, sizeof *out);
    assert_int_equal(store_ledger_load(f->st, collect, out), 0);
}

static void save(struct fixture *f, const struct store_ledger_host *h)
{
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(store_ledger_save(f->st, h), 0);
    assert_int_equal(store_commit(f->st), 0);
}

static const struct store_ledger_range RANGES_A[] = {{1, 3, 0}, {5, 9, T0 + 4}};
static const struct store_ledger_range RANGES_B[] = {{2, 2, T0 + 7}};

static struct store_ledger_host two_boots(struct store_ledger_boot boots[2])
{
    boots[0] = (struct store_ledger_boot){.boot_id = "a",
                                          .last_seen_ms = T0 + 5,
                                          .assumed = 1,
                                          .dropped = 3,
                                          .dropped_changed_ms = T0 + 2,
                                          .ranges = RANGES_A,
                                          .n_ranges = 2};
    boots[1] = (struct store_ledger_boot){
        .boot_id = "b", .last_seen_ms = T0 + 9, .ranges = RANGES_B, .n_ranges = 1};
    return (struct store_ledger_host){.host = "h",
                                      .gaps_filled = 2,
                                      .lost_gaps = 1,
                                      .lost_packs = 6,
                                      .dropped_before = 4,
                                      .dropped_changed_ms = T0 + 2,
                                      .boots = boots,
                                      .n_boots = 2};
}

static void rows_saved_in_a_transaction_are_back_after_a_reopen(void **state)
{
    struct fixture *f = *state;
    reopen(f);
    struct store_ledger_boot boots[2];
    struct store_ledger_host h = two_boots(boots);
    save(f, &h);
    struct store_ledger_host g = {.host = "g", .boots = boots + 1, .n_boots = 1};
    save(f, &g);
    reopen(f);
    struct loaded l;
    load(f, &l);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.host[0].host, "g"); /* in host order */
    assert_string_equal(l.host[1].host, "h");
    const struct store_ledger_host *got = &l.host[1];
    assert_int_equal(got->gaps_filled, 2);
    assert_int_equal(got->lost_gaps, 1);
    assert_int_equal(got->lost_packs, 6);
    assert_int_equal(got->dropped_before, 4);
    assert_int_equal(got->dropped_changed_ms, T0 + 2);
    assert_int_equal(got->n_boots, 2);
    const struct store_ledger_boot *a = &l.boot[1][0];
    assert_string_equal(a->boot_id, "a");
    assert_int_equal(a->last_seen_ms, T0 + 5);
    assert_int_equal(a->assumed, 1);
    assert_int_equal(a->dropped, 3);
    assert_int_equal(a->dropped_changed_ms, T0 + 2);
    assert_int_equal(a->n_ranges, 2);
    assert_memory_equal(l.range[1][0], RANGES_A, sizeof RANGES_A);
    assert_string_equal(l.boot[1][1].boot_id, "b");
    assert_memory_equal(l.range[1][1], RANGES_B, sizeof RANGES_B);
    assert_int_equal(l.host[0].n_boots, 1);
    assert_memory_equal(l.range[0][0], RANGES_B, sizeof RANGES_B);
}

static void a_save_replaces_every_row_of_the_host_and_no_other(void **state)
{
    struct fixture *f = *state;
    reopen(f);
    struct store_ledger_boot boots[2];
    struct store_ledger_host h = two_boots(boots);
    save(f, &h);
    struct store_ledger_host g = {.host = "g", .boots = boots, .n_boots = 1};
    save(f, &g);
    h.n_boots = 1;
    h.boots = boots + 1;
    h.gaps_filled = 3;
    save(f, &h);
    struct loaded l;
    load(f, &l);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.host[1].gaps_filled, 3);
    assert_int_equal(l.host[1].n_boots, 1);
    assert_string_equal(l.boot[1][0].boot_id, "b");
    assert_int_equal(l.host[0].n_boots, 1);
    assert_int_equal(l.boot[0][0].n_ranges, 2);
}

static void a_rolled_back_save_leaves_the_rows_before_it(void **state)
{
    struct fixture *f = *state;
    reopen(f);
    struct store_ledger_boot boots[2];
    struct store_ledger_host h = two_boots(boots);
    save(f, &h);
    h.n_boots = 0;
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(store_ledger_save(f->st, &h), 0);
    assert_int_equal(store_rollback(f->st), 0);
    reopen(f);
    struct loaded l;
    load(f, &l);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.host[0].n_boots, 2);
}

static int save_pending(void *user, const struct store_ledger_host *h)
{
    return store_ledger_save(user, h);
}

static int load_into(void *user, const struct store_ledger_host *h)
{
    return ledger_load(user, h);
}

static struct ledger *restarted_ledger(struct fixture *f)
{
    reopen(f);
    struct ledger *l = NULL;
    assert_int_equal(ledger_new(NULL, &l), 0);
    assert_int_equal(store_ledger_load(f->st, load_into, l), 0);
    return l;
}

static void a_restarted_hub_reports_what_the_ledger_noted(void **state)
{
    struct fixture *f = *state;
    reopen(f);
    struct ledger *l = NULL;
    assert_int_equal(ledger_new(NULL, &l), 0);
    const uint64_t seqs[] = {1, 2, 3, 5, 6};
    assert_int_equal(store_begin(f->st), 0);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(ledger_note_pack(l, "h", "b1", seqs[i], T0 + 10), 0);
    assert_int_equal(ledger_note_dropped(l, "h", "b1", 2, T0 + 11), 0);
    assert_int_equal(ledger_pending_foreach(l, save_pending, f->st), 0);
    assert_int_equal(store_commit(f->st), 0);
    ledger_commit(l);
    ledger_free(l);

    l = restarted_ledger(f);
    struct ledger_report *r = NULL;
    assert_int_equal(ledger_report(l, "h", T0 + 1010, &r), 0);
    assert_int_equal(r->n_boots, 1);
    assert_int_equal(r->boots[0].committed, 5);
    assert_int_equal(r->boots[0].n_gaps, 1);
    assert_int_equal(r->boots[0].gaps[0].first, 4);
    assert_int_equal(r->boots[0].gaps[0].since_ms, T0 + 10);
    assert_int_equal(r->boots[0].gaps[0].age_ms, 1000);
    assert_int_equal(r->agent_dropped, 2);
    ledger_report_free(r);
    /* 4 arrives after the restart: filled, and that survives the next restart too. */
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(ledger_note_pack(l, "h", "b1", 4, T0 + 2000), 0);
    assert_int_equal(ledger_pending_foreach(l, save_pending, f->st), 0);
    assert_int_equal(store_commit(f->st), 0);
    ledger_commit(l);
    ledger_free(l);
    l = restarted_ledger(f);
    assert_int_equal(ledger_report(l, "h", T0 + 3000, &r), 0);
    assert_int_equal(r->boots[0].n_gaps, 0);
    assert_int_equal(r->boots[0].last_seq, 6);
    assert_int_equal(r->totals.gaps_filled, 1);
    ledger_report_free(r);
    ledger_free(l);
}

static void upgrades_a_store_of_layout_2_and_seeds_the_boots_running_then(void **state)
{
    struct fixture *f = *state;
    reopen(f);
    struct store_host rec = {.id = "old",
                             .first_seen_ms = T0,
                             .last_seen_ms = T0 + 60000,
                             .state = "online",
                             .boot_id = "b7",
                             .last_seq = 7};
    assert_int_equal(store_host_save(f->st, &rec), 0);
    struct store_host quiet = {.id = "quiet", .first_seen_ms = T0, .last_seen_ms = T0};
    assert_int_equal(store_host_save(f->st, &quiet), 0);
    store_close(f->st);
    f->st = NULL;
    /* Back to the previous layout: no ledger tables, layout 2. */
    run_sql(f, "DROP TABLE ledger_hosts; DROP TABLE ledger_boots; DROP TABLE seq_ranges;"
               " UPDATE meta SET value=2 WHERE key='layout';");
    struct ledger *l = restarted_ledger(f);
    struct ledger_report *r = NULL;
    assert_int_equal(ledger_report(l, "quiet", T0, &r), -ENOENT);
    assert_int_equal(ledger_report(l, "old", T0 + 61000, &r), 0);
    assert_int_equal(r->n_boots, 1);
    assert_string_equal(r->boots[0].boot_id, "b7");
    assert_int_equal(r->boots[0].last_seq, 7);
    assert_int_equal(r->boots[0].committed, 0); /* before the ledger: assumed, not seen */
    assert_int_equal(r->boots[0].n_gaps, 0);
    assert_int_equal(r->boots[0].last_seen_ms, T0 + 60000);
    ledger_report_free(r);
    /* The next pack after the upgrade goes on from there. */
    assert_int_equal(ledger_note_pack(l, "old", "b7", 9, T0 + 62000), 0);
    ledger_commit(l);
    assert_int_equal(ledger_report(l, "old", T0 + 62000, &r), 0);
    assert_int_equal(r->boots[0].n_gaps, 1);
    assert_int_equal(r->boots[0].gaps[0].first, 8);
    assert_int_equal(r->boots[0].gaps[0].last, 8);
    assert_int_equal(r->boots[0].committed, 1);
    ledger_report_free(r);
    ledger_free(l);
    /* Opened again: already at the new layout, nothing seeded twice. */
    l = restarted_ledger(f);
    assert_int_equal(ledger_report(l, "old", T0, &r), 0);
    assert_int_equal(r->boots[0].last_seq, 7);
    ledger_report_free(r);
    ledger_free(l);
}

static void refuses_a_store_of_a_newer_layout_with_a_reason(void **state)
{
    struct fixture *f = *state;
    reopen(f);
    store_close(f->st);
    f->st = NULL;
    run_sql(f, "UPDATE meta SET value=99 WHERE key='layout';");
    char err[300] = "";
    assert_int_equal(store_open(f->path, NULL, &f->st, err, sizeof err), -EIO);
    assert_non_null(strstr(err, "layout 99"));
    f->st = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(rows_saved_in_a_transaction_are_back_after_a_reopen),
        T(a_save_replaces_every_row_of_the_host_and_no_other),
        T(a_rolled_back_save_leaves_the_rows_before_it),
        T(a_restarted_hub_reports_what_the_ledger_noted),
        T(upgrades_a_store_of_layout_2_and_seeds_the_boots_running_then),
        T(refuses_a_store_of_a_newer_layout_with_a_reason),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
