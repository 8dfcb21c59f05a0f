/* Unit tests of hub/export against a real store in a temporary file: the CSV has the header
 * and every point of the window exactly once, in order, whatever the slice size (in points,
 * or cut early by big text) and however little each read takes; the window ends are
 * inclusive; text, booleans and labels are written as RFC 4180 cells. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/clock.h"
#include "hub/export.h"
#include "hub/store.h"
#include "tests/support/temp_dir.h"

#define BASE_MS 1795320000000LL /* 2026-11-22T04:00:00Z */
#define N_POINTS 250
#define N_BIG 12
#define BIG_BYTES (30 * 1024)

struct fixture {
    char dir[64], path[96];
    struct store *writer, *reader;
    char *big[N_BIG];
};

static void append(struct store *st, const struct store_sample *s, size_t n)
{
    struct store_append_result res = {0};
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_append(st, "exp-1", s, n, 0, &res), 0);
    assert_int_equal(store_commit(st), 0);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    temp_dir_make("export", f->dir, sizeof f->dir, "hub.db", f->path, sizeof f->path);
    char err[256];
    assert_int_equal(store_open(f->path, NULL, &f->writer, err, sizeof err), 0);
    static struct store_sample s[N_POINTS];
    for (int i = 0; i < N_POINTS; i++) /* 1.5 s apart, values i / 10 */
        s[i] = (struct store_sample){.metric = "n",
                                     .unit = "",
                                     .labels = "",
                                     .ts_ms = BASE_MS + i * 1500,
                                     .kind = STORE_KIND_NUMBER,
                                     .value = i / 10.0};
    append(f->writer, s, N_POINTS);
    const struct store_sample mixed[] = {
        {.metric = "t",
         .unit = "",
         .labels = "note=q\"x%2Cy,zone=a",
         .ts_ms = BASE_MS,
         .kind = STORE_KIND_STRING,
         .text = "a,b \"c\"\r\nd"},
        {.metric = "t",
         .unit = "",
         .labels = "note=q\"x%2Cy,zone=a",
         .ts_ms = BASE_MS + 1,
         .kind = STORE_KIND_BOOL,
         .value = 1},
        {.metric = "t",
         .unit = "",
         .labels = "note=q\"x%2Cy,zone=a",
         .ts_ms = BASE_MS + 2,
         .kind = STORE_KIND_BOOL,
         .value = 0},
        {.metric = "t",
         .unit = "",
         .labels = "note=q\"x%2Cy,zone=a",
         .ts_ms = BASE_MS + 3,
         .kind = STORE_KIND_SUM,
         .value = 0.1},
        {.metric = "t",
         .unit = "",
         .labels = "note=q\"x%2Cy,zone=a",
         .ts_ms = BASE_MS + 4,
         .kind = STORE_KIND_STRING,
         .text = ""},
    };
    append(f->writer, mixed, sizeof mixed / sizeof mixed[0]);
    static struct store_sample big[N_BIG];
    for (int i = 0; i < N_BIG; i++) {
        f->big[i] = malloc(BIG_BYTES + 1);
        assert_non_null(f->big[i]);
        memset(f->big[i], 'a' + i, BIG_BYTES);
        f->big[i][BIG_BYTES] = '\0';
        big[i] = (struct store_sample){.metric = "big",
                                       .unit = "B",
                                       .labels = "",
                                       .ts_ms = BASE_MS + i,
                                       .kind = STORE_KIND_STRING,
                                       .text = f->big[i]};
    }
    append(f->writer, big, N_BIG);
    assert_int_equal(store_reader_open(f->writer, &f->reader, err, sizeof err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->reader);
    store_close(f->writer);
    for (int i = 0; i < N_BIG; i++)
        free(f->big[i]);
    temp_dir_remove(f->dir);
    free(f);
    return 0;
}

static struct store_series_info series_of(struct fixture *f, const char *metric)
{
    struct store_series_info info[4];
    size_t n = 0;
    assert_int_equal(store_series(f->reader, "exp-1", metric, info, 4, &n), 0);
    assert_int_equal(n, 1);
    return info[0];
}

/* Reads the whole export, each read asking for at most read_max bytes. malloc'd text. */
static char *export_all(struct fixture *f, const char *metric, int64_t from_ms, int64_t to_ms,
                        size_t slice_points, size_t read_max, uint64_t *rows)
{
    struct store_series_info info = series_of(f, metric);
    struct export_query q = {.host = "exp-1", .series = &info, .from_ms = from_ms, .to_ms = to_ms};
    struct export *ex = NULL;
    assert_int_equal(export_open(f->reader, &q, slice_points, &ex), 0);
    size_t cap = 1 << 20, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    ssize_t n;
    while ((n = export_read(ex, text + len, cap - 1 - len < read_max ? cap - 1 - len : read_max)) >
           0) {
        len += (size_t)n;
        assert_true(len < cap - 1);
    }
    assert_int_equal(n, 0);
    assert_int_equal(export_read(ex, text + len, read_max), 0); /* stays at the end */
    text[len] = '\0';
    *rows = export_rows(ex);
    export_close(ex);
    return text;
}

/* The CSV of points first..last of series "n". malloc'd. */
static char *expected_numbers(int first, int last)
{
    size_t cap = 64 + (size_t)(last - first + 1) * 64, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    len += (size_t)snprintf(text, cap, "%s", EXPORT_HEADER);
    for (int i = first; i <= last; i++) {
        char ts[40];
        char value[32];
        snprintf(value, sizeof value, "%.15g", i / 10.0);
        len += (size_t)snprintf(text + len, cap - len, "%s,exp-1,n,,,%s\r\n",
                                clock_format_rfc3339_ms(BASE_MS + i * 1500, ts, sizeof ts), value);
    }
    return text;
}

static void exports_every_point_once_at_every_slice_size(void **state)
{
    struct fixture *f = *state;
    char *want = expected_numbers(0, N_POINTS - 1);
    const size_t slices[] = {1, 2, 3, 7, 249, 250, 251, 2000};
    const size_t reads[] = {1, 5, 4096, 1 << 16};
    for (size_t s = 0; s < sizeof slices / sizeof slices[0]; s++) {
        for (size_t r = 0; r < sizeof reads / sizeof reads[0]; r++) {
            uint64_t rows = 0;
            char *got =
                export_all(f, "n", BASE_MS - 5000, BASE_MS + 3600000, slices[s], reads[r], &rows);
            if (strcmp(got, want) != 0)
                fail_msg("slice %zu, reads of %zu: the CSV differs", slices[s], reads[r]);
            assert_int_equal(rows, N_POINTS);
            free(got);
        }
    }
    free(want);
}

static void window_ends_are_inclusive(void **state)
{
    struct fixture *f = *state;
    uint64_t rows;
    char *want = expected_numbers(3, 6);
    char *got = export_all(f, "n", BASE_MS + 3 * 1500, BASE_MS + 6 * 1500, 2, 100, &rows);
    assert_string_equal(got, want);
    assert_int_equal(rows, 4);
    free(got);
    free(want);
    want = expected_numbers(3, 5);
    got = export_all(f, "n", BASE_MS + 3 * 1500, BASE_MS + 6 * 1500 - 1, 2000, 100, &rows);
    assert_string_equal(got, want);
    free(got);
    free(want);
}

static void an_empty_window_gives_the_header_only(void **state)
{
    struct fixture *f = *state;
    uint64_t rows = 99;
    char *got = export_all(f, "n", BASE_MS - 10000, BASE_MS - 1, 10, 4096, &rows);
    assert_string_equal(got, EXPORT_HEADER);
    assert_int_equal(rows, 0);
    free(got);
}

static void writes_text_booleans_sums_and_labels_as_cells(void **state)
{
    struct fixture *f = *state;
    uint64_t rows;
    char *got = export_all(f, "t", BASE_MS, BASE_MS + 10, 2, 7, &rows);
    assert_string_equal(got, EXPORT_HEADER
                        "2026-11-22T04:00:00.000Z,exp-1,t,,\"note=q\"\"x%2Cy,zone=a\","
                        "\"a,b \"\"c\"\"\r\nd\"\r\n"
                        "2026-11-22T04:00:00.001Z,exp-1,t,,\"note=q\"\"x%2Cy,zone=a\",true\r\n"
                        "2026-11-22T04:00:00.002Z,exp-1,t,,\"note=q\"\"x%2Cy,zone=a\",false\r\n"
                        "2026-11-22T04:00:00.003Z,exp-1,t,,\"note=q\"\"x%2Cy,zone=a\",0.1\r\n"
                        "2026-11-22T04:00:00.004Z,exp-1,t,,\"note=q\"\"x%2Cy,zone=a\",\r\n");
    assert_int_equal(rows, 5);
    free(got);
}

/* 30 KiB values: a slice stops after about EXPORT_SLICE_BYTES, long before 2000 points. */
static void big_text_cuts_slices_early_without_losing_rows(void **state)
{
    struct fixture *f = *state;
    uint64_t rows;
    char *got = export_all(f, "big", BASE_MS, BASE_MS + 100, 2000, 1000, &rows);
    assert_int_equal(rows, N_BIG);
    const char *p = got + strlen(EXPORT_HEADER);
    for (int i = 0; i < N_BIG; i++) {
        char prefix[80], ts[40];
        snprintf(prefix, sizeof prefix, "%s,exp-1,big,B,,",
                 clock_format_rfc3339_ms(BASE_MS + i, ts, sizeof ts));
        assert_true(strncmp(p, prefix, strlen(prefix)) == 0);
        p += strlen(prefix);
        assert_memory_equal(p, f->big[i], BIG_BYTES);
        p += BIG_BYTES;
        assert_true(strncmp(p, "\r\n", 2) == 0);
        p += 2;
    }
    assert_string_equal(p, "");
    free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exports_every_point_once_at_every_slice_size),
        cmocka_unit_test(window_ends_are_inclusive),
        cmocka_unit_test(an_empty_window_gives_the_header_only),
        cmocka_unit_test(writes_text_booleans_sums_and_labels_as_cells),
        cmocka_unit_test(big_text_cuts_slices_early_without_losing_rows),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
