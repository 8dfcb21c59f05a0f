/* Unit tests of hub/query: step-aligned buckets and every aggregate on known data. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hub/query.h"

struct out {
    size_t n;
    int64_t ts[16];
    double v[16];
};

static int collect(void *user, int64_t ts, double v)
{
    struct out *o = user;
    o->ts[o->n] = ts;
    o->v[o->n] = v;
    o->n++;
    return 0;
}

/* Points every 20 s from t = 50 s: 50, 70, 90, 110, 130 s with values 1..5. */
static struct out run(enum query_agg_kind kind, int64_t step_ms)
{
    struct out o = {0};
    struct query_agg q;
    query_agg_init(&q, kind, step_ms, collect, &o);
    for (int i = 0; i < 5; i++)
        assert_int_equal(query_agg_add(&q, 50000 + i * 20000, i + 1), 0);
    assert_int_equal(query_agg_finish(&q), 0);
    query_agg_deinit(&q);
    return o;
}

static void buckets_start_at_multiples_of_the_step(void **state)
{
    (void)state;
    struct out o = run(QUERY_AGG_COUNT, 60000);
    assert_int_equal(o.n, 3);
    assert_int_equal(o.ts[0], 0);      /* 50 s */
    assert_int_equal(o.ts[1], 60000);  /* 70, 90, 110 s */
    assert_int_equal(o.ts[2], 120000); /* 130 s */
    assert_true(o.v[0] == 1 && o.v[1] == 3 && o.v[2] == 1);
    assert_int_equal(query_bucket_start(-1, 60000), -60000);
    assert_int_equal(query_bucket_start(-60000, 60000), -60000);
}

static void computes_each_aggregate_per_bucket(void **state)
{
    (void)state;
    struct out o;
    o = run(QUERY_AGG_AVG, 60000);
    assert_true(o.v[0] == 1 && o.v[1] == 3 && o.v[2] == 5);
    o = run(QUERY_AGG_MIN, 60000);
    assert_true(o.v[1] == 2);
    o = run(QUERY_AGG_MAX, 60000);
    assert_true(o.v[1] == 4);
    o = run(QUERY_AGG_SUM, 60000);
    assert_true(o.v[1] == 9);
    o = run(QUERY_AGG_LAST, 60000);
    assert_true(o.v[1] == 4);
    o = run(QUERY_AGG_SUM, 3600000);
    assert_int_equal(o.n, 1);
    assert_true(o.v[0] == 15);
}

static void p95_is_the_nearest_rank(void **state)
{
    (void)state;
    struct out o = {0};
    struct query_agg q;
    query_agg_init(&q, QUERY_AGG_P95, 1000000, collect, &o);
    for (int i = 100; i >= 1; i--) /* arrival order must not matter within a bucket */
        assert_int_equal(query_agg_add(&q, 0, i), 0);
    assert_int_equal(query_agg_finish(&q), 0);
    query_agg_deinit(&q);
    assert_int_equal(o.n, 1);
    assert_true(o.v[0] == 95);
    o = run(QUERY_AGG_P95, 60000);
    assert_true(o.v[1] == 4); /* ceil(0.95 * 3) = 3rd of {2,3,4} */
}

static void parses_aggregate_names(void **state)
{
    (void)state;
    enum query_agg_kind k;
    assert_int_equal(query_agg_parse("p95", &k), 0);
    assert_int_equal(k, QUERY_AGG_P95);
    assert_string_equal(query_agg_name(QUERY_AGG_LAST), "last");
    assert_int_equal(query_agg_parse("median", &k), -EINVAL);
    assert_int_equal(query_agg_parse("", &k), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buckets_start_at_multiples_of_the_step),
        cmocka_unit_test(computes_each_aggregate_per_bucket),
        cmocka_unit_test(p95_is_the_nearest_rank),
        cmocka_unit_test(parses_aggregate_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
