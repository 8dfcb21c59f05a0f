/* Unit tests for the metric batch and the cpu and mem collectors, against fixture copies of
 * /proc (tests/fixtures/proc, or $FIXTURES_DIR/proc) and against this machine's /proc.
 * Expected values are literals worked out by hand (awk) from the fixture files.
 * Single-threaded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "edge-agent/batch.h"
#include "edge-agent/collector.h"
#include "tests/support/fixture_tree.h"

static const char *const proc_files[] = {"stat", "loadavg", "meminfo"};

struct test_state {
    char dir[64]; /* a temporary proc_root */
    struct metric_batch *batch;
};

static int state_setup(void **state)
{
    struct test_state *ts = calloc(1, sizeof(*ts));

    if (ts == NULL ||
        fixture_tree_open(ts->dir, sizeof(ts->dir), "collectors", 1795321260000, &ts->batch) != 0) {
        free(ts);
        return -1;
    }
    *state = ts;
    return 0;
}

static int state_teardown(void **state)
{
    struct test_state *ts = *state;

    fixture_tree_close(ts->dir, ts->batch);
    free(ts);
    return 0;
}

/* Copies the files of fixture tree `tree` (those it has) into the temporary proc_root. */
static void use_fixture(const struct test_state *ts, const char *tree)
{
    fixture_tree_copy(ts->dir, tree, proc_files, sizeof(proc_files) / sizeof(proc_files[0]), false);
}

static void write_text(const struct test_state *ts, const char *file, const char *text)
{
    fixture_tree_write(ts->dir, file, text, strlen(text));
}

static const struct batch_sample *find_sample(const struct metric_batch *batch, const char *name)
{
    for (size_t i = 0; i < batch->count; i++) {
        if (strcmp(batch->samples[i].name, name) == 0)
            return &batch->samples[i];
    }
    return NULL;
}

/* Exact comparison: both sides are the double nearest to the same 2-decimal number. */
#define assert_metric(batch, name, expected)                                                       \
    do {                                                                                           \
        const struct batch_sample *found_ = find_sample((batch), (name));                          \
        if (found_ == NULL)                                                                        \
            fail_msg("metric %s missing", (name));                                                 \
        if (found_->value != (expected))                                                           \
            fail_msg("metric %s is %.17g, expected %.17g", (name), found_->value,                  \
                     (double)(expected));                                                          \
    } while (0)

#define assert_no_metric(batch, name)                                                              \
    do {                                                                                           \
        if (find_sample((batch), (name)) != NULL)                                                  \
            fail_msg("metric %s present, expected none", (name));                                  \
    } while (0)

static void assert_no_cpu_percentages(const struct metric_batch *batch)
{
    for (size_t i = 0; i < batch->count; i++) {
        if (strncmp(batch->samples[i].name, "cpu.load", 8) != 0)
            fail_msg("unexpected %s", batch->samples[i].name);
    }
}

/* ---- metric_round and the batch ---- */

static void metric_round_rounds_half_away_from_zero_to_two_decimals(void **state)
{
    static const struct {
        double value;
        int decimals;
        double expected;
    } cases[] = {
        {12.345, 2, 12.35},
        {-12.345, 2, -12.35},
        {1.005, 2, 1.01},
        {2.675, 2, 2.68},
        {0.125, 2, 0.13},
        {50.906, 2, 50.91},
        {99.994, 2, 99.99},
        {99.995, 2, 100.0},
        {0.004999, 2, 0.0},
        {7.0, 2, 7.0},
        {1.45, 1, 1.5},
        {311.421875, 0, 311.0},
        {969.921875, 0, 970},
        {2.5, 0, 3.0},
        {-2.5, 0, -3.0},
        {0.5, 0, 1.0},
        {1e300, 2, 1e300},
        {-1e300, 2, -1e300},
        {123456789.125, 2, 123456789.13},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        double got = metric_round(cases[i].value, cases[i].decimals);

        if (got != cases[i].expected)
            fail_msg("metric_round(%.17g, %d) = %.17g, expected %.17g", cases[i].value,
                     cases[i].decimals, got, cases[i].expected);
    }
}

static void metric_round_passes_nan_and_infinity_through_and_never_gives_minus_zero(void **state)
{
    (void)state;
    assert_true(isnan(metric_round(NAN, 2)));
    assert_true(isinf(metric_round(INFINITY, 2)) && metric_round(INFINITY, 2) > 0);
    assert_true(isinf(metric_round(-INFINITY, 2)) && metric_round(-INFINITY, 2) < 0);
    assert_true(metric_round(-0.004, 2) == 0.0);
    assert_false(signbit(metric_round(-0.004, 2)));
}

static void batch_keeps_samples_with_and_without_label(void **state)
{
    struct test_state *ts = *state;
    struct metric_batch *batch = ts->batch;

    metric_batch_reset(batch, 42);
    assert_int_equal(metric_batch_add(batch, "cpu.load1", 0.5), 0);
    assert_int_equal(metric_batch_add_labeled(batch, "disk.used_pct", 12.5, "mount", "/"), 0);
    assert_int_equal(batch->time_ms, 42);
    assert_int_equal(batch->count, 2);
    assert_string_equal(batch->samples[0].name, "cpu.load1");
    assert_string_equal(batch->samples[0].label_key, "");
    assert_string_equal(batch->samples[1].label_key, "mount");
    assert_string_equal(batch->samples[1].label_value, "/");
    assert_true(batch->samples[1].value == 12.5);
    metric_batch_reset(batch, 43);
    assert_int_equal(batch->count, 0);
    assert_int_equal(batch->time_ms, 43);
}

static void batch_refuses_names_and_labels_that_do_not_fit(void **state)
{
    struct test_state *ts = *state;
    char name[AGENT_METRIC_NAME_MAX + 1];

    memset(name, 'a', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    assert_int_equal(metric_batch_add(ts->batch, name, 1.0), -EINVAL);
    name[AGENT_METRIC_NAME_MAX - 1] = '\0'; /* exactly fits */
    assert_int_equal(metric_batch_add(ts->batch, name, 1.0), 0);
    name[AGENT_LABEL_MAX - 1] = 'a';
    assert_int_equal(metric_batch_add_labeled(ts->batch, "disk.used_pct", 1.0, "mount", name),
                     -EINVAL);
    assert_int_equal(ts->batch->count, 1);
}

static void full_batch_refuses_more_with_enospc(void **state)
{
    struct test_state *ts = *state;

    for (size_t i = 0; i < AGENT_BATCH_MAX; i++)
        assert_int_equal(metric_batch_add(ts->batch, "x", (double)i), 0);
    assert_int_equal(metric_batch_add(ts->batch, "x", 1.0), -ENOSPC);
    assert_int_equal(metric_batch_add_labeled(ts->batch, "x", 1.0, "k", "v"), -ENOSPC);
    assert_int_equal(ts->batch->count, AGENT_BATCH_MAX);
}

/* ---- cpu ---- */

/* Collector created on host-a (before), collected on host-a-later (after 3 s of one busy
 * core). Deltas (awk over the two files): cpu 298 0 3 298 0 0 0 8 (total 607),
 * cpu0 1 0 2 297 0 0 0 6 (total 306), cpu1 297 0 1 2 0 0 0 3 (total 303). */
static void cpu_host_a_collect(struct test_state *ts)
{
    struct collector cpu;

    use_fixture(ts, "host-a");
    assert_int_equal(collector_cpu_new(ts->dir, &cpu), 0);
    assert_string_equal(cpu.name, "cpu");
    use_fixture(ts, "host-a-later");
    assert_int_equal(cpu.collect(cpu.ctx, 3000, ts->batch), 0);
    cpu.destroy(cpu.ctx);
}

static void cpu_utilization_is_busy_share_of_the_delta(void **state)
{
    struct test_state *ts = *state;

    cpu_host_a_collect(ts);
    assert_metric(ts->batch, "cpu.utilization", 50.91); /* (607-298-0)/607 = 50.906% */
    assert_metric(ts->batch, "cpu.user_pct", 49.09);    /* 298/607 = 49.094% */
    assert_metric(ts->batch, "cpu.system_pct", 0.49);   /* 3/607 = 0.494% */
    assert_metric(ts->batch, "cpu.iowait_pct", 0.0);    /* 0/607 */
    assert_metric(ts->batch, "cpu.steal_pct", 1.32);    /* 8/607 = 1.318% */
}

static void cpu_core_utilization_is_per_core_busy_share(void **state)
{
    struct test_state *ts = *state;

    cpu_host_a_collect(ts);
    assert_metric(ts->batch, "cpu.core.0", 2.94);  /* (306-297)/306 = 2.941% */
    assert_metric(ts->batch, "cpu.core.1", 99.34); /* (303-2)/303 = 99.340% */
    assert_no_metric(ts->batch, "cpu.core.2");
    /* 5 totals + 2 cores + 3 loads */
    assert_int_equal(ts->batch->count, 10);
}

static void cpu_load_averages_come_from_loadavg(void **state)
{
    struct test_state *ts = *state;

    cpu_host_a_collect(ts);
    /* host-a-later/loadavg: "0.11 0.06 0.01 1/84 3734" */
    assert_metric(ts->batch, "cpu.load1", 0.11);
    assert_metric(ts->batch, "cpu.load5", 0.06);
    assert_metric(ts->batch, "cpu.load15", 0.01);
}

static void cpu_guest_time_is_not_counted_twice(void **state)
{
    struct test_state *ts = *state;
    struct collector cpu;

    /* Deltas: user 100 nice 10 system 30 idle 100 iowait 40 irq 5 softirq 10 steal 10,
     * guest 50 and guest_nice 5 (inside user and nice). Total 305. */
    write_text(ts, "stat", "cpu  100 10 50 1000 20 5 5 10 30 3\n");
    write_text(ts, "loadavg", "1.50 0.75 0.25 2/100 1234\n");
    assert_int_equal(collector_cpu_new(ts->dir, &cpu), 0);
    write_text(ts, "stat", "cpu  200 20 80 1100 60 10 15 20 80 8\n");
    assert_int_equal(cpu.collect(cpu.ctx, 1000, ts->batch), 0);
    assert_metric(ts->batch, "cpu.utilization", 54.10); /* 165/305 = 54.098% */
    assert_metric(ts->batch, "cpu.user_pct", 36.07);    /* 110/305 = 36.066% */
    assert_metric(ts->batch, "cpu.system_pct", 14.75);  /* 45/305 = 14.754% */
    assert_metric(ts->batch, "cpu.iowait_pct", 13.11);  /* 40/305 = 13.115% */
    assert_metric(ts->batch, "cpu.steal_pct", 3.28);    /* 10/305 = 3.279% */
    assert_metric(ts->batch, "cpu.load1", 1.5);
    cpu.destroy(cpu.ctx);
}

static void cpu_reads_old_kernel_lines_without_steal_and_guest(void **state)
{
    struct test_state *ts = *state;
    struct collector cpu;

    write_text(ts, "stat", "cpu  100 0 100 800 0 0 0\ncpu0 100 0 100 800\n");
    write_text(ts, "loadavg", "0.00 0.00 0.00 1/50 99\n");
    assert_int_equal(collector_cpu_new(ts->dir, &cpu), 0);
    write_text(ts, "stat", "cpu  150 0 150 900 0 0 0\ncpu0 130 0 110 860\n");
    assert_int_equal(cpu.collect(cpu.ctx, 1000, ts->batch), 0);
    assert_metric(ts->batch, "cpu.utilization", 50.0);
    assert_metric(ts->batch, "cpu.steal_pct", 0.0);
    assert_metric(ts->batch, "cpu.core.0", 40.0); /* 40/100 */
    cpu.destroy(cpu.ctx);
}

static void cpu_zero_delta_emits_no_percentages(void **state)
{
    struct test_state *ts = *state;
    struct collector cpu;

    use_fixture(ts, "host-a");
    assert_int_equal(collector_cpu_new(ts->dir, &cpu), 0);
    assert_int_equal(cpu.collect(cpu.ctx, 0, ts->batch), 0);
    assert_no_cpu_percentages(ts->batch);
    assert_int_equal(ts->batch->count, 3);
    assert_metric(ts->batch, "cpu.load1", 0.03); /* host-a/loadavg */
    cpu.destroy(cpu.ctx);
}

static void cpu_counters_going_backwards_emit_nothing_then_restart_from_there(void **state)
{
    struct test_state *ts = *state;
    struct collector cpu;

    use_fixture(ts, "host-a");
    assert_int_equal(collector_cpu_new(ts->dir, &cpu), 0);
    write_text(ts, "stat", "cpu  5 0 5 40 0 0 0 0 0 0\ncpu0 5 0 5 40 0 0 0 0 0 0\n");
    assert_int_equal(cpu.collect(cpu.ctx, 1000, ts->batch), 0);
    assert_no_cpu_percentages(ts->batch);

    metric_batch_reset(ts->batch, 0);
    write_text(ts, "stat", "cpu  35 0 15 90 10 0 0 0 0 0\ncpu0 35 0 15 90 10 0 0 0 0 0\n");
    assert_int_equal(cpu.collect(cpu.ctx, 2000, ts->batch), 0);
    assert_metric(ts->batch, "cpu.utilization", 40.0); /* (100-50-10)/100 */
    assert_metric(ts->batch, "cpu.iowait_pct", 10.0);
    assert_metric(ts->batch, "cpu.core.0", 40.0);
    cpu.destroy(cpu.ctx);
}

static void cpu_cores_that_come_and_go_are_reported_only_with_two_readings(void **state)
{
    struct test_state *ts = *state;
    struct collector cpu;

    write_text(ts, "loadavg", "0.10 0.10 0.10 1/50 99\n");
    write_text(ts, "stat",
               "cpu  0 0 0 400\ncpu0 0 0 0 100\ncpu1 0 0 0 100\n"
               "cpu2 0 0 0 100\ncpu3 0 0 0 100\n");
    assert_int_equal(collector_cpu_new(ts->dir, &cpu), 0);

    /* cpu1 goes offline, cpu9 and (beyond the supported maximum) cpu5000 appear. */
    write_text(ts, "stat",
               "cpu  40 0 0 760\ncpu0 10 0 0 190\ncpu2 20 0 0 180\n"
               "cpu3 0 0 0 200\ncpu9 50 0 0 50\ncpu5000 1 0 0 1\n");
    assert_int_equal(cpu.collect(cpu.ctx, 1000, ts->batch), 0);
    assert_metric(ts->batch, "cpu.core.0", 10.0);
    assert_metric(ts->batch, "cpu.core.2", 20.0);
    assert_metric(ts->batch, "cpu.core.3", 0.0);
    assert_no_metric(ts->batch, "cpu.core.1");
    assert_no_metric(ts->batch, "cpu.core.9");
    assert_no_metric(ts->batch, "cpu.core.5000");

    /* cpu1 is back (no previous reading yet), cpu9 now has one. */
    metric_batch_reset(ts->batch, 0);
    write_text(ts, "stat",
               "cpu  100 0 0 900\ncpu0 10 0 0 290\ncpu1 0 0 0 150\n"
               "cpu2 20 0 0 280\ncpu3 0 0 0 300\ncpu9 125 0 0 75\n");
    assert_int_equal(cpu.collect(cpu.ctx, 2000, ts->batch), 0);
    assert_metric(ts->batch, "cpu.core.9", 75.0);
    assert_metric(ts->batch, "cpu.core.0", 0.0);
    assert_no_metric(ts->batch, "cpu.core.1");
    cpu.destroy(cpu.ctx);
}

/* Writes a /proc/stat for 1000 cores (core N busy N % 100 of 100 ticks after `after`) with
 * ~90 KiB of cpu lines and a 300 KiB intr line: bigger than the collector's read buffer. */
static void write_big_stat(const struct test_state *ts, int after)
{
    char path[128];
    FILE *out;

    (void)snprintf(path, sizeof(path), "%s/stat", ts->dir);
    out = fopen(path, "w");
    assert_non_null(out);
    fprintf(out, "cpu  %d 0 0 %d 0 0 0 0 0 0\n", after ? 49500 : 0,
            after ? 100000 + 50500 : 100000);
    for (int core = 0; core < 1000; core++) {
        int busy = after ? core % 100 : 0;
        int idle = 100 + (after ? 100 - core % 100 : 0);

        fprintf(out,
                "cpu%d 18446744073709 0 %d %d 1234567890 123456789 987654321 55555555 4444444 "
                "3333333\n",
                core, busy, idle);
    }
    fprintf(out, "intr 123456789");
    for (int i = 0; i < 150 * 1024; i++)
        fprintf(out, " 0");
    fprintf(out, "\nctxt 987654321\nbtime 1795321260\n");
    assert_int_equal(fclose(out), 0);
}

static void cpu_stat_bigger_than_the_read_buffer_is_read_in_chunks(void **state)
{
    struct test_state *ts = *state;
    struct collector cpu;
    char name[AGENT_METRIC_NAME_MAX];

    write_text(ts, "loadavg", "12.00 8.00 4.00 10/2000 99999\n");
    write_big_stat(ts, 0);
    assert_int_equal(collector_cpu_new(ts->dir, &cpu), 0);
    write_big_stat(ts, 1);
    assert_int_equal(cpu.collect(cpu.ctx, 1000, ts->batch), 0);
    assert_int_equal(ts->batch->count, 5 + 1000 + 3);
    assert_metric(ts->batch, "cpu.utilization", 49.5); /* 49500 / 100000 */
    for (int core = 0; core < 1000; core++) {
        (void)snprintf(name, sizeof(name), "cpu.core.%d", core);
        assert_metric(ts->batch, name, (double)(core % 100));
    }
    assert_metric(ts->batch, "cpu.load15", 4.0);
    cpu.destroy(cpu.ctx);
}

static void cpu_missing_proc_root_gives_enoent_and_appends_nothing(void **state)
{
    struct test_state *ts = *state;
    struct collector cpu;

    assert_int_equal(collector_cpu_new("/nonexistent/updraft-proc", &cpu), 0);
    assert_int_equal(metric_batch_add(ts->batch, "before", 1.0), 0);
    assert_int_equal(cpu.collect(cpu.ctx, 0, ts->batch), -ENOENT);
    assert_int_equal(ts->batch->count, 1);
    cpu.destroy(cpu.ctx);
}

static void cpu_source_that_appears_later_is_picked_up(void **state)
{
    struct test_state *ts = *state;
    struct collector cpu;

    assert_int_equal(collector_cpu_new(ts->dir, &cpu), 0);
    assert_int_equal(cpu.collect(cpu.ctx, 0, ts->batch), -ENOENT);
    assert_int_equal(ts->batch->count, 0);

    use_fixture(ts, "host-a");
    assert_int_equal(cpu.collect(cpu.ctx, 1000, ts->batch), 0);
    assert_no_cpu_percentages(ts->batch); /* first reading: no delta yet */

    metric_batch_reset(ts->batch, 0);
    use_fixture(ts, "host-a-later");
    assert_int_equal(cpu.collect(cpu.ctx, 4000, ts->batch), 0);
    assert_metric(ts->batch, "cpu.utilization", 50.91);
    cpu.destroy(cpu.ctx);
}

static void cpu_missing_loadavg_gives_enoent_and_keeps_the_previous_reading(void **state)
{
    struct test_state *ts = *state;
    struct collector cpu;
    char path[128];

    use_fixture(ts, "host-a");
    assert_int_equal(collector_cpu_new(ts->dir, &cpu), 0);
    use_fixture(ts, "host-a-later");
    (void)snprintf(path, sizeof(path), "%s/loadavg", ts->dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(cpu.collect(cpu.ctx, 1000, ts->batch), -ENOENT);
    assert_int_equal(ts->batch->count, 0);

    use_fixture(ts, "host-a-later");
    assert_int_equal(cpu.collect(cpu.ctx, 2000, ts->batch), 0);
    assert_metric(ts->batch, "cpu.utilization", 50.91); /* still host-a -> host-a-later */
    cpu.destroy(cpu.ctx);
}

static void cpu_garbage_stat_gives_ebadmsg_and_appends_nothing(void **state)
{
    struct test_state *ts = *state;
    struct collector cpu;

    use_fixture(ts, "host-a");
    assert_int_equal(collector_cpu_new(ts->dir, &cpu), 0);
    use_fixture(ts, "host-bad"); /* stat cut off in the cpu1 line, then binary garbage */
    assert_int_equal(cpu.collect(cpu.ctx, 1000, ts->batch), -EBADMSG);
    assert_int_equal(ts->batch->count, 0);
    cpu.destroy(cpu.ctx);
}

/* Each case with its length: one has a NUL inside. */
#define BAD_STAT(text)                                                                             \
    {                                                                                              \
        text, sizeof(text) - 1                                                                     \
    }

static void cpu_malformed_stat_lines_are_rejected(void **state)
{
    static const struct {
        const char *text;
        size_t len;
    } bad[] = {
        BAD_STAT(""),                                              /* empty */
        BAD_STAT("intr 1 2 3\n"),                                  /* no cpu line */
        BAD_STAT("cpu  1 2 3\n"),                                  /* too few columns */
        BAD_STAT("cpu  1 2 x 4\n"),                                /* not a number */
        BAD_STAT("cpu  1 2 -3 4\n"),                               /* negative */
        BAD_STAT("cpu  1 2 3 99999999999999999999999\n"),          /* overflows 64 bits */
        BAD_STAT("cpu  1 2 3 4\ncpuX 1 2 3 4\n"),                  /* core without a number */
        BAD_STAT("cpu  1 2 3 4\ncpu0 1 2 3 4\ncpu0 1 2 3 4\n"),    /* same core twice */
        BAD_STAT("cpu  1 2 3 4\ncpu  1 2 3 4\n"),                  /* aggregate twice */
        BAD_STAT("cpu0 1 2 3 4\nintr 1\n"),                        /* no aggregate line */
        BAD_STAT("cpu  1 2 3 4\ncpu0 1 2 3"),                      /* truncated */
        BAD_STAT("cpu  1 2 3 4\ncpu1\n"),                          /* core without counters */
        BAD_STAT("cpu  1 2 3 4 5 6 7 8 9 10\ncpu0 1 2 3 4\0 6\n"), /* NUL inside */
    };
    struct test_state *ts = *state;
    char path[128];

    (void)snprintf(path, sizeof(path), "%s/stat", ts->dir);
    write_text(ts, "loadavg", "0.10 0.10 0.10 1/50 99\n");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct collector cpu;
        FILE *out = fopen(path, "wb");

        assert_non_null(out);
        assert_int_equal(fwrite(bad[i].text, 1, bad[i].len, out), bad[i].len);
        assert_int_equal(fclose(out), 0);
        assert_int_equal(collector_cpu_new(ts->dir, &cpu), 0);
        if (cpu.collect(cpu.ctx, 0, ts->batch) != -EBADMSG)
            fail_msg("case %zu was accepted", i);
        assert_int_equal(ts->batch->count, 0);
        cpu.destroy(cpu.ctx);
    }
}

static void cpu_malformed_loadavg_is_rejected(void **state)
{
    static const char *const bad[] = {
        "",
        "0.10 0.20\n",
        "abc 0.1 0.1 1/2 3\n",
        "-1.00 0.10 0.10 1/2 3\n",
        "0.10,0.20,0.30\n",
        "inf 0.1 0.1\n",
        "0.10 0.20 0.30x 1/2 3\n",
    };
    struct test_state *ts = *state;

    use_fixture(ts, "host-a");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct collector cpu;

        write_text(ts, "loadavg", bad[i]);
        assert_int_equal(collector_cpu_new(ts->dir, &cpu), 0);
        if (cpu.collect(cpu.ctx, 0, ts->batch) != -EBADMSG)
            fail_msg("case %zu (%s) was accepted", i, bad[i]);
        assert_int_equal(ts->batch->count, 0);
        cpu.destroy(cpu.ctx);
    }
}

static void cpu_full_batch_gives_enospc_and_still_takes_the_reading(void **state)
{
    struct test_state *ts = *state;
    struct collector cpu;

    use_fixture(ts, "host-a");
    assert_int_equal(collector_cpu_new(ts->dir, &cpu), 0);
    use_fixture(ts, "host-a-later");
    while (ts->batch->count < AGENT_BATCH_MAX - 2)
        assert_int_equal(metric_batch_add(ts->batch, "filler", 0.0), 0);
    assert_int_equal(cpu.collect(cpu.ctx, 1000, ts->batch), -ENOSPC);
    assert_int_equal(ts->batch->count, AGENT_BATCH_MAX);
    assert_metric(ts->batch, "cpu.utilization", 50.91);

    /* The reading was taken over: the same file again is a zero delta. */
    metric_batch_reset(ts->batch, 0);
    assert_int_equal(cpu.collect(cpu.ctx, 2000, ts->batch), 0);
    assert_no_cpu_percentages(ts->batch);
    cpu.destroy(cpu.ctx);
}

static void cpu_constructor_rejects_bad_arguments(void **state)
{
    struct collector cpu = {0};
    char long_root[5000];

    (void)state;
    memset(long_root, 'a', sizeof(long_root) - 1);
    long_root[sizeof(long_root) - 1] = '\0';
    assert_int_equal(collector_cpu_new(NULL, &cpu), -EINVAL);
    assert_int_equal(collector_cpu_new(long_root, &cpu), -EINVAL);
    assert_null(cpu.ctx); /* *out untouched on failure */
}

static void busy_wait_ms(int64_t duration_ms)
{
    struct timespec start;
    struct timespec now;
    volatile unsigned long spin = 0;

    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        for (int i = 0; i < 100000; i++)
            spin++;
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 <
             duration_ms);
}

static void cpu_collector_reads_the_real_proc(void **state)
{
    struct test_state *ts = *state;
    struct collector cpu;

    assert_int_equal(collector_cpu_new("/proc", &cpu), 0);
    busy_wait_ms(200);
    assert_int_equal(cpu.collect(cpu.ctx, 200, ts->batch), 0);
    assert_non_null(find_sample(ts->batch, "cpu.utilization"));
    assert_non_null(find_sample(ts->batch, "cpu.load15"));
    for (size_t i = 0; i < ts->batch->count; i++) {
        const struct batch_sample *sample = &ts->batch->samples[i];

        if (strncmp(sample->name, "cpu.load", 8) == 0)
            assert_true(sample->value >= 0.0);
        else if (sample->value < 0.0 || sample->value > 100.0)
            fail_msg("%s = %g out of 0..100", sample->name, sample->value);
    }
    cpu.destroy(cpu.ctx);
}

/* ---- mem ---- */

static int mem_collect_fixture(struct test_state *ts, const char *tree)
{
    struct collector mem;
    int rc;

    use_fixture(ts, tree);
    assert_int_equal(collector_mem_new(ts->dir, &mem), 0);
    assert_string_equal(mem.name, "mem");
    rc = mem.collect(mem.ctx, 0, ts->batch);
    mem.destroy(mem.ctx);
    return rc;
}

static void mem_metrics_follow_meminfo(void **state)
{
    struct test_state *ts = *state;

    /* host-a: MemTotal 24684084, MemAvailable 24365188, Buffers 18648, Cached 927088,
     * SReclaimable 47464 kB; no swap. */
    assert_int_equal(mem_collect_fixture(ts, "host-a"), 0);
    assert_int_equal(ts->batch->count, 5);
    assert_metric(ts->batch, "mem.used_pct", 1.29);        /* 318896/24684084 = 1.2919% */
    assert_metric(ts->batch, "mem.used_mb", 311.0);        /* 318896/1024 = 311.42 */
    assert_metric(ts->batch, "mem.available_mb", 23794.0); /* 24365188/1024 = 23794.13 */
    assert_metric(ts->batch, "mem.cache_mb", 970.0);       /* 993200/1024 = 969.92 */
    assert_metric(ts->batch, "mem.swap_pct", 0.0);         /* SwapTotal 0 */
}

static void mem_swap_pct_is_used_share_of_swap(void **state)
{
    struct test_state *ts = *state;

    /* host-swap: SwapTotal 2097148, SwapFree 1703932 kB */
    assert_int_equal(mem_collect_fixture(ts, "host-swap"), 0);
    assert_metric(ts->batch, "mem.swap_pct", 18.75); /* 393216/2097148 = 18.750036% */
    assert_metric(ts->batch, "mem.used_pct", 1.29);
}

static void mem_without_memavailable_estimates_it_and_no_swap_is_zero(void **state)
{
    struct test_state *ts = *state;

    /* host-nomemavail: MemTotal 949580, MemFree 287316, Buffers 41724, Cached 392468,
     * SReclaimable 30212 kB -> available 751720, used 197860, cache 464404 kB. */
    assert_int_equal(mem_collect_fixture(ts, "host-nomemavail"), 0);
    assert_metric(ts->batch, "mem.used_pct", 20.84);     /* 197860/949580 = 20.8366% */
    assert_metric(ts->batch, "mem.used_mb", 193.0);      /* 193.22 */
    assert_metric(ts->batch, "mem.available_mb", 734.0); /* 734.10 */
    assert_metric(ts->batch, "mem.cache_mb", 454.0);     /* 453.52 */
    assert_metric(ts->batch, "mem.swap_pct", 0.0);
}

static void mem_missing_proc_root_gives_enoent_and_appends_nothing(void **state)
{
    struct test_state *ts = *state;
    struct collector mem;

    assert_int_equal(collector_mem_new("/nonexistent/updraft-proc", &mem), 0);
    assert_int_equal(mem.collect(mem.ctx, 0, ts->batch), -ENOENT);
    assert_int_equal(ts->batch->count, 0);
    mem.destroy(mem.ctx);
}

static void mem_garbage_meminfo_gives_ebadmsg(void **state)
{
    static const char *const bad[] = {
        "",
        "MemFree: 100 kB\nBuffers: 1 kB\nCached: 1 kB\n",                 /* no MemTotal */
        "MemTotal: 0 kB\nMemFree: 0 kB\nBuffers: 0 kB\nCached: 0 kB\n",   /* zero total */
        "MemTotal: 12x kB\nMemFree: 1 kB\nBuffers: 1 kB\nCached: 1 kB\n", /* not a number */
        "MemTotal: 100 kB\nMemTotal: 100 kB\nMemFree: 1 kB\nBuffers: 1 kB\nCached: 1 kB\n",
        "MemTotal: 100 MB\nMemFree: 1 kB\nBuffers: 1 kB\nCached: 1 kB\n", /* unit */
        "garbage without colon\n",
    };
    struct test_state *ts = *state;
    struct collector mem;

    assert_int_equal(mem_collect_fixture(ts, "host-bad"), -EBADMSG); /* cut off at Buffers */
    assert_int_equal(ts->batch->count, 0);

    assert_int_equal(collector_mem_new(ts->dir, &mem), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_text(ts, "meminfo", bad[i]);
        if (mem.collect(mem.ctx, 0, ts->batch) != -EBADMSG)
            fail_msg("case %zu was accepted", i);
        assert_int_equal(ts->batch->count, 0);
    }
    mem.destroy(mem.ctx);
}

static void mem_full_batch_gives_enospc(void **state)
{
    struct test_state *ts = *state;

    while (ts->batch->count < AGENT_BATCH_MAX - 1)
        assert_int_equal(metric_batch_add(ts->batch, "filler", 0.0), 0);
    assert_int_equal(mem_collect_fixture(ts, "host-a"), -ENOSPC);
    assert_int_equal(ts->batch->count, AGENT_BATCH_MAX);
    assert_metric(ts->batch, "mem.used_pct", 1.29);
}

static void mem_collector_reads_the_real_proc(void **state)
{
    struct test_state *ts = *state;
    struct collector mem;

    assert_int_equal(collector_mem_new("/proc", &mem), 0);
    assert_int_equal(mem.collect(mem.ctx, 0, ts->batch), 0);
    assert_int_equal(ts->batch->count, 5);
    assert_true(find_sample(ts->batch, "mem.used_pct")->value > 0.0);
    assert_true(find_sample(ts->batch, "mem.used_pct")->value <= 100.0);
    assert_true(find_sample(ts->batch, "mem.available_mb")->value > 0.0);
    mem.destroy(mem.ctx);
}

#define COLLECTOR_TEST(fn) cmocka_unit_test_setup_teardown(fn, state_setup, state_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        COLLECTOR_TEST(metric_round_rounds_half_away_from_zero_to_two_decimals),
        COLLECTOR_TEST(metric_round_passes_nan_and_infinity_through_and_never_gives_minus_zero),
        COLLECTOR_TEST(batch_keeps_samples_with_and_without_label),
        COLLECTOR_TEST(batch_refuses_names_and_labels_that_do_not_fit),
        COLLECTOR_TEST(full_batch_refuses_more_with_enospc),
        COLLECTOR_TEST(cpu_utilization_is_busy_share_of_the_delta),
        COLLECTOR_TEST(cpu_core_utilization_is_per_core_busy_share),
        COLLECTOR_TEST(cpu_load_averages_come_from_loadavg),
        COLLECTOR_TEST(cpu_guest_time_is_not_counted_twice),
        COLLECTOR_TEST(cpu_reads_old_kernel_lines_without_steal_and_guest),
        COLLECTOR_TEST(cpu_zero_delta_emits_no_percentages),
        COLLECTOR_TEST(cpu_counters_going_backwards_emit_nothing_then_restart_from_there),
        COLLECTOR_TEST(cpu_cores_that_come_and_go_are_reported_only_with_two_readings),
        COLLECTOR_TEST(cpu_stat_bigger_than_the_read_buffer_is_read_in_chunks),
        COLLECTOR_TEST(cpu_missing_proc_root_gives_enoent_and_appends_nothing),
        COLLECTOR_TEST(cpu_source_that_appears_later_is_picked_up),
        COLLECTOR_TEST(cpu_missing_loadavg_gives_enoent_and_keeps_the_previous_reading),
        COLLECTOR_TEST(cpu_garbage_stat_gives_ebadmsg_and_appends_nothing),
        COLLECTOR_TEST(cpu_malformed_stat_lines_are_rejected),
        COLLECTOR_TEST(cpu_malformed_loadavg_is_rejected),
        COLLECTOR_TEST(cpu_full_batch_gives_enospc_and_still_takes_the_reading),
        COLLECTOR_TEST(cpu_constructor_rejects_bad_arguments),
        COLLECTOR_TEST(cpu_collector_reads_the_real_proc),
        COLLECTOR_TEST(mem_metrics_follow_meminfo),
        COLLECTOR_TEST(mem_swap_pct_is_used_share_of_swap),
        COLLECTOR_TEST(mem_without_memavailable_estimates_it_and_no_swap_is_zero),
        COLLECTOR_TEST(mem_missing_proc_root_gives_enoent_and_appends_nothing),
        COLLECTOR_TEST(mem_garbage_meminfo_gives_ebadmsg),
        COLLECTOR_TEST(mem_full_batch_gives_enospc),
        COLLECTOR_TEST(mem_collector_reads_the_real_proc),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
