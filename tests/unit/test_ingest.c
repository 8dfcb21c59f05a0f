/* Unit tests of the hub's ingest path without a broker: ingest -> writer thread -> a real
 * SQLite store in a temporary directory, read back through a read-only handle. */
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

#include "hub/hosts.h"
#include "hub/ingest.h"
#include "hub/ledger.h"
#include "hub/store.h"
#include "hub/writer.h"
#include "tests/support/temp_dir.h"

#define NOW_MS 1795320000000LL /* 2026-11-22, the "arrival" time of every message */

struct fixture {
    char dir[64], path[96];
    struct store *store;
    struct hosts *hosts;
    struct ledger *ledger;
    struct writer *writer;
    struct ingest *ingest;
    int64_t mono;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    temp_dir_make("ingest", f->dir, sizeof f->dir, "hub.db", f->path, sizeof f->path);
    char err[256];
    /* The packs are dated around NOW_MS while the writer appends at the real clock: keep
     * raw samples forever so none is "older than retention". */
    struct store_options so;
    store_options_default(&so);
    so.retention_ms[STORE_TIER_RAW] = 0;
    assert_int_equal(store_open(f->path, &so, &f->store, err, sizeof err), 0);
    assert_int_equal(hosts_new(90000, 100, &f->hosts), 0);
    assert_int_equal(ledger_new(NULL, &f->ledger), 0);
    struct writer_options wo = {.queue_max_batches = 64, .commit_max_samples = 10000,
                                .commit_interval_ms = 0, .ledger = f->ledger};
    assert_int_equal(writer_new(&wo, f->store, f->hosts, &f->writer), 0);
    assert_int_equal(writer_start(f->writer), 0);
    struct ingest_options io = {.topic_root = "updraft", .max_payload_bytes = 4096,
                                .max_future_ms = 600000};
    assert_int_equal(ingest_new(&io, f->hosts, f->writer, &f->ingest), 0);
    f->mono = 1000000;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ingest_free(f->ingest);
    writer_free(f->writer);
    ledger_free(f->ledger);
    hosts_free(f->hosts);
    store_close(f->store);
    temp_dir_remove(f->dir);
    free(f);
    return 0;
}

static void send(struct fixture *f, const char *topic, const char *payload)
{
    ingest_message(f->ingest, topic, payload, strlen(payload), NOW_MS, f->mono);
}

/* Stops the writer (which commits everything) so the store can be read. */
static void flush(struct fixture *f)
{
    writer_stop(f->writer);
}

struct collected {
    size_t n;
    int64_t ts[16];
    double value[16];
    char text[16][32];
};

static int collect(void *user, const struct store_point *p)
{
    struct collected *c = user;
    if (c->n < 16) {
        c->ts[c->n] = p->ts_ms;
        c->value[c->n] = p->value;
        snprintf(c->text[c->n], sizeof c->text[0], "%s", p->text ? p->text : "");
    }
    c->n++;
    return 0;
}

/* Reads the points of (host, metric, labels) into c; returns the number of series found. */
static size_t read_series(struct fixture *f, const char *host, const char *metric,
                          const char *labels, struct collected *c)
{
    struct store *reader;
    char err[256];
    assert_int_equal(store_reader_open(f->store, &reader, err, sizeof err), 0);
    struct store_series_info info[8];
    size_t n = 0;
    assert_int_equal(store_series(reader, host, metric, info, 8, &n), 0);
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < n && i < 8; i++) {
        if (strcmp(info[i].labels, labels) == 0) {
            bool truncated;
            assert_int_equal(store_query(reader, info[i].id, 0, INT64_MAX, 1000, collect, c,
                                         &truncated), 0);
        }
    }
    store_close(reader);
    return n;
}

static void stores_a_pack_under_the_topic_host_with_the_prefix_stripped(void **state)
{
    struct fixture *f = *state;
    send(f, "updraft/v1/web-1/metrics",
         "[{\"bn\":\"web-1/\",\"bt\":1795319990.5,\"n\":\"cpu.utilization\",\"v\":12.25,"
         "\"bid\":\"abc\",\"sq\":7},{\"n\":\"mem.used_pct\",\"t\":1,\"v\":40}]");
    flush(f);
    struct collected c;
    assert_int_equal(read_series(f, "web-1", "cpu.utilization", "", &c), 1);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.ts[0], 1795319990500LL);
    assert_true(c.value[0] == 12.25);
    read_series(f, "web-1", "mem.used_pct", "", &c);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.ts[0], 1795319991500LL);
    struct host_view v;
    assert_int_equal(hosts_get(f->hosts, "web-1", f->mono, &v), 0);
    assert_string_equal(v.rec.boot_id, "abc");
    assert_int_equal(v.rec.last_seq, 7);
    assert_true(v.has_cpu && v.cpu_pct == 12.25);
    assert_true(v.has_mem && v.mem_pct == 40);
    struct ingest_stats st;
    ingest_stats(f->ingest, &st);
    assert_int_equal(st.packs, 1);
    assert_int_equal(st.samples, 2);
    assert_int_equal(st.rejected_total, 0);
}

static void counts_each_kind_of_bad_payload_under_its_reason(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *topic;
        const char *payload;
        enum ingest_reason reason;
    } rows[] = {
        {"updraft/v1/h/metrics", "[{\"n\":\"x\",\"v\":1", INGEST_REASON_INVALID_JSON},
        {"updraft/v1/h/metrics", "not json", INGEST_REASON_INVALID_JSON},
        {"updraft/v1/h/metrics", "{\"n\":\"x\",\"v\":1}", INGEST_REASON_NOT_SENML},
        {"updraft/v1/h/metrics", "[1]", INGEST_REASON_NOT_SENML},
        {"updraft/v1/h/metrics", "[{\"n\":\"x\",\"v\":\"1\"}]", INGEST_REASON_INVALID_RECORD},
        {"updraft/v1/h/metrics", "[{\"n\":\"x\"}]", INGEST_REASON_INVALID_RECORD},
        {"updraft/v1/h/metrics", "[{\"n\":\"-x\",\"v\":1}]", INGEST_REASON_INVALID_RECORD},
        {"updraft/v1/h/metrics", "[{\"n\":\"x\",\"v\":1,\"bt\":1795329999}]",
         INGEST_REASON_BAD_TIMESTAMP},
        {"updraft/v1/h/state", "maybe", INGEST_REASON_INVALID_STATE},
        {"updraft/v1/h/state", "{\"state\":3}", INGEST_REASON_INVALID_STATE},
        {"updraft/v1/h/x/metrics", "[]", INGEST_REASON_BAD_TOPIC},
        {"updraft/v1/h/nonsense", "[]", INGEST_REASON_BAD_TOPIC},
    };
    size_t n = sizeof rows / sizeof rows[0];
    uint64_t expected[INGEST_REASON_COUNT] = {0};
    for (size_t i = 0; i < n; i++) {
        send(f, rows[i].topic, rows[i].payload);
        expected[rows[i].reason]++;
    }
    char big[5000];
    memset(big, ' ', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    send(f, "updraft/v1/h/metrics", big);
    expected[INGEST_REASON_OVERSIZE]++;
    struct ingest_stats st;
    ingest_stats(f->ingest, &st);
    for (int r = 0; r < INGEST_REASON_COUNT; r++) {
        if (st.rejected[r] != expected[r])
            fail_msg("reason %s: %llu rejections, expected %llu",
                     ingest_reason_name((enum ingest_reason)r),
                     (unsigned long long)st.rejected[r], (unsigned long long)expected[r]);
    }
    assert_int_equal(st.rejected_total, n + 1);
    assert_int_equal(st.packs, 0);
    struct ingest_rejection recent[4];
    assert_int_equal(ingest_recent(f->ingest, recent, 4), 4);
    assert_int_equal(recent[0].reason, INGEST_REASON_OVERSIZE);
    assert_non_null(strstr(recent[0].detail, "4999 bytes"));
    assert_false(hosts_known(f->hosts, "h")); /* nothing bad created the host */
}

static void refuses_names_under_another_known_host(void **state)
{
    struct fixture *f = *state;
    send(f, "updraft/v1/a/metrics", "[{\"bn\":\"a/\",\"bt\":1795319990,\"n\":\"m\",\"v\":1}]");
    send(f, "updraft/v1/b/metrics", "[{\"bn\":\"a/\",\"bt\":1795319990,\"n\":\"m\",\"v\":666}]");
    flush(f);
    struct ingest_stats st;
    ingest_stats(f->ingest, &st);
    assert_int_equal(st.rejected[INGEST_REASON_FOREIGN_HOST], 1);
    struct collected c;
    read_series(f, "a", "m", "", &c);
    assert_int_equal(c.n, 1);
    assert_true(c.value[0] == 1);
    assert_false(hosts_known(f->hosts, "b"));
}

static void keeps_names_without_the_host_prefix_whole(void **state)
{
    struct fixture *f = *state;
    send(f, "updraft/v1/dev/metrics",
         "[{\"n\":\"urn:dev:ow:10e2073a01080063\",\"u\":\"Cel\",\"v\":23.1,\"t\":1795319990}]");
    flush(f);
    struct collected c;
    assert_int_equal(read_series(f, "dev", "urn:dev:ow:10e2073a01080063", "", &c), 1);
    assert_int_equal(c.n, 1);
    assert_true(c.value[0] == 23.1);
}

static void a_resent_sample_is_stored_once_and_a_changed_value_is_a_conflict(void **state)
{
    struct fixture *f = *state;
    const char *pack = "[{\"bn\":\"h/\",\"bt\":1795319990,\"n\":\"m\",\"v\":1}]";
    send(f, "updraft/v1/h/metrics", pack);
    send(f, "updraft/v1/h/metrics", pack);
    send(f, "updraft/v1/h/metrics", "[{\"bn\":\"h/\",\"bt\":1795319990,\"n\":\"m\",\"v\":2}]");
    flush(f);
    struct writer_stats ws;
    writer_stats(f->writer, &ws);
    assert_int_equal(ws.added, 1);
    assert_int_equal(ws.duplicates, 1);
    assert_int_equal(ws.conflicts, 1);
    struct collected c;
    read_series(f, "h", "m", "", &c);
    assert_int_equal(c.n, 1);
    assert_true(c.value[0] == 2);
    struct store_stats ss;
    assert_int_equal(store_stats(f->store, &ss), 0);
    assert_int_equal(ss.samples, 1);
    assert_int_equal(ss.series, 1);
}

static void labels_and_units_make_distinct_series_in_canonical_form(void **state)
{
    struct fixture *f = *state;
    send(f, "updraft/v1/h/metrics",
         "[{\"bn\":\"h/\",\"bt\":1795319990,\"n\":\"disk.used_pct\",\"v\":1,\"mount\":\"/\","
         "\"dev\":\"sda\"},{\"n\":\"disk.used_pct\",\"v\":2,\"mount\":\"/var\",\"dev\":\"sda\"},"
         "{\"n\":\"t\",\"u\":\"Cel\",\"v\":20},{\"n\":\"t\",\"u\":\"K\",\"v\":293.15},"
         "{\"n\":\"s\",\"vs\":\"hello\"},{\"n\":\"b\",\"vb\":true}]");
    flush(f);
    struct collected c;
    assert_int_equal(read_series(f, "h", "disk.used_pct", "dev=sda,mount=/var", &c), 2);
    assert_int_equal(c.n, 1);
    assert_true(c.value[0] == 2);
    assert_int_equal(read_series(f, "h", "t", "", &c), 2);
    read_series(f, "h", "s", "", &c);
    assert_string_equal(c.text[0], "hello");
    read_series(f, "h", "b", "", &c);
    assert_true(c.value[0] == 1.0);
}

static void state_and_message_age_make_a_host_online_or_offline(void **state)
{
    struct fixture *f = *state;
    send(f, "updraft/v1/h/state", "{\"state\":\"online\",\"agent_version\":\"9.9\",\"boot_id\":\"b1\"}");
    struct host_view v;
    assert_int_equal(hosts_get(f->hosts, "h", f->mono, &v), 0);
    assert_true(v.online);
    assert_string_equal(v.rec.agent_version, "9.9");
    assert_int_equal(hosts_get(f->hosts, "h", f->mono + 90001, &v), 0);
    assert_false(v.online); /* silent past stale_after */
    send(f, "updraft/v1/h/state", "offline");
    assert_int_equal(hosts_get(f->hosts, "h", f->mono, &v), 0);
    assert_false(v.online);
    assert_string_equal(v.rec.state, "offline");
    assert_int_equal(hosts_get(f->hosts, "nobody", f->mono, &v), -ENOENT);
}

static void load_host(void *user, const struct store_host *rec)
{
    assert_int_equal(hosts_load(user, rec, NOW_MS, 1000000), 0);
}

static void hosts_persist_across_a_reopen(void **state)
{
    struct fixture *f = *state;
    send(f, "updraft/v1/h/state", "online");
    send(f, "updraft/v1/h/metrics", "[{\"bn\":\"h/\",\"bt\":1795319990,\"n\":\"m\",\"v\":1,\"bid\":\"x\",\"sq\":3}]");
    flush(f);
    struct hosts *again;
    assert_int_equal(hosts_new(90000, 100, &again), 0);
    struct store *reader;
    char err[256];
    assert_int_equal(store_reader_open(f->store, &reader, err, sizeof err), 0);
    assert_int_equal(store_hosts_load(reader, load_host, again), 0);
    struct host_view v;
    assert_int_equal(hosts_get(again, "h", f->mono, &v), 0);
    assert_string_equal(v.rec.state, "online");
    assert_string_equal(v.rec.boot_id, "x");
    assert_int_equal(v.rec.last_seq, 3);
    store_close(reader);
    hosts_free(again);
}

static int load_ledger(void *user, const struct store_ledger_host *h)
{
    return ledger_load(user, h);
}

static void committed_packs_and_heartbeat_drops_reach_the_loss_ledger(void **state)
{
    struct fixture *f = *state;
    const char *pack = "[{\"bn\":\"h/\",\"bt\":1795319990,\"n\":\"m\",\"v\":%d,"
                       "\"bid\":\"b1\",\"sq\":%d}]";
    char payload[256];
    const int seqs[] = {1, 2, 4};
    for (size_t i = 0; i < 3; i++) {
        snprintf(payload, sizeof payload, pack, seqs[i], seqs[i]);
        send(f, "updraft/v1/h/metrics", payload);
    }
    /* Heartbeats carry bid without sq; only their agent.dropped counts as drops. */
    send(f, "updraft/v1/h/heartbeat",
         "[{\"bn\":\"h/\",\"bt\":1795319991,\"bid\":\"b1\",\"n\":\"agent.uptime_s\",\"v\":5},"
         "{\"n\":\"agent.dropped\",\"v\":3}]");
    send(f, "updraft/v1/h/metrics",
         "[{\"bn\":\"h/\",\"bt\":1795319992,\"bid\":\"b1\",\"n\":\"agent.dropped\",\"v\":9}]");
    flush(f);
    struct ledger_report *r = NULL;
    assert_int_equal(ledger_report(f->ledger, "h", NOW_MS, &r), 0);
    assert_int_equal(r->n_boots, 1);
    assert_int_equal(r->boots[0].committed, 3);
    assert_int_equal(r->boots[0].n_gaps, 1);
    assert_int_equal(r->boots[0].gaps[0].first, 3);
    assert_int_equal(r->boots[0].gaps[0].last, 3);
    assert_int_equal(r->agent_dropped, 3);
    ledger_report_free(r);
    /* The same rows are in the store. */
    struct ledger *again = NULL;
    assert_int_equal(ledger_new(NULL, &again), 0);
    assert_int_equal(store_ledger_load(f->store, load_ledger, again), 0);
    assert_int_equal(ledger_report(again, "h", NOW_MS, &r), 0);
    assert_int_equal(r->boots[0].n_gaps, 1);
    assert_int_equal(r->agent_dropped, 3);
    ledger_report_free(r);
    ledger_free(again);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(stores_a_pack_under_the_topic_host_with_the_prefix_stripped, setup, teardown),
        cmocka_unit_test_setup_teardown(counts_each_kind_of_bad_payload_under_its_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_names_under_another_known_host, setup, teardown),
        cmocka_unit_test_setup_teardown(keeps_names_without_the_host_prefix_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(a_resent_sample_is_stored_once_and_a_changed_value_is_a_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(labels_and_units_make_distinct_series_in_canonical_form, setup, teardown),
        cmocka_unit_test_setup_teardown(state_and_message_age_make_a_host_online_or_offline, setup, teardown),
        cmocka_unit_test_setup_teardown(hosts_persist_across_a_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(committed_packs_and_heartbeat_drops_reach_the_loss_ledger, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
