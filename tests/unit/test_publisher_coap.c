/* Unit tests for the CoAP publisher's pure part (edge-agent/publisher_coap_msg.c): topics to
 * bridge resources, the agent's SenML JSON packs to SenML CBOR, the checks of the options and
 * of the PSK key file, Max-Age, jitter; and publisher_coap_new's refusals and an idle
 * publisher (libcoap loaded, nothing sent). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/senml_cbor.h"
#include "edge-agent/batch.h"
#include "edge-agent/pack.h"
#include "edge-agent/publisher_coap_msg.h"

#define ROOT "updraft"

static void maps_topics_to_bridge_resources(void **state)
{
    (void)state;
    const struct {
        const char *topic, *path, *host;
        enum topic_kind kind;
        int cf;
    } rows[] = {
        {"updraft/v1/web-1/metrics", "t/web-1/metrics", "web-1", TOPIC_KIND_METRICS, 112},
        {"updraft/v1/web-1/heartbeat", "t/web-1/heartbeat", "web-1", TOPIC_KIND_HEARTBEAT, 112},
        {"updraft/v1/web-1/inventory", "t/web-1/inventory", "web-1", TOPIC_KIND_INVENTORY, 50},
        {"updraft/v1/web-1/state", "t/web-1/state", "web-1", TOPIC_KIND_STATE, 50},
        {"updraft/v1/web-1/ack", "t/web-1/ack", "web-1", TOPIC_KIND_ACK, 50},
        {"updraft/v1/web-1/config", "t/web-1/config", "web-1", TOPIC_KIND_CONFIG, 50},
        {"updraft/v1/a.b_c-D/metrics", "t/a.b_c-D/metrics", "a.b_c-D", TOPIC_KIND_METRICS, 112},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct publisher_coap_route r;
        assert_int_equal(publisher_coap_route(ROOT, rows[i].topic, &r), 0);
        assert_string_equal(r.path, rows[i].path);
        assert_int_equal(r.kind, rows[i].kind);
        assert_int_equal(r.content_format, rows[i].cf);
        assert_string_equal(r.host, rows[i].host);
    }
    struct publisher_coap_route r;
    assert_int_equal(publisher_coap_route("site/a", "site/a/v1/h/state", &r), 0);
    assert_string_equal(r.path, "t/h/state");
    assert_string_equal(r.host, "h");
}

static void refuses_topics_that_are_not_the_roots(void **state)
{
    (void)state;
    const char *bad[] = {
        "other/v1/web-1/metrics", "updraft/v2/web-1/metrics",
        "updraft/v1/web-1/nope",  "updraft/v1/bad host/metrics",
        "updraft/v1/../metrics",  "updraft/v1/web-1",
        "updraft/v1//metrics",    "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct publisher_coap_route r;
        if (publisher_coap_route(ROOT, bad[i], &r) != -EINVAL)
            fail_msg("\"%s\" was mapped", bad[i]);
    }
    struct publisher_coap_route r;
    assert_int_equal(publisher_coap_route(ROOT, NULL, &r), -EINVAL);
}

static uint8_t *body_of(const char *topic, const char *payload, size_t *len, int want_rc)
{
    struct publisher_coap_route r;
    uint8_t *body = NULL;
    char why[160] = "";
    assert_int_equal(publisher_coap_route(ROOT, topic, &r), 0);
    int rc = publisher_coap_body(&r, payload, strlen(payload), 1700000000000, &body, len, why,
                                 sizeof why);
    assert_int_equal(rc, want_rc);
    if (rc != 0)
        assert_true(strlen(why) > 0);
    return body;
}

/* The agent's own pack, as agent_pack_encode writes it, becomes CBOR that decodes to the same
 * records, boot id and sequence, with the base name on the wire. */
static void converts_the_agents_pack_to_senml_cbor(void **state)
{
    (void)state;
    struct metric_batch *batch = malloc(sizeof *batch);
    assert_non_null(batch);
    metric_batch_reset(batch, 1700000000123);
    assert_int_equal(metric_batch_add(batch, "cpu.utilization", 12.34), 0);
    assert_int_equal(metric_batch_add(batch, "mem.used_pct", 50), 0);
    assert_int_equal(metric_batch_add_labeled(batch, "disk.used_pct", 71.5, "mount", "/"), 0);
    struct senml_buf json = {0};
    assert_int_equal(agent_pack_encode(batch, "web-1", "0006744996778f72", true, 42, &json), 0);
    free(batch);

    size_t len = 0;
    uint8_t *cbor = body_of("updraft/v1/web-1/metrics", json.data, &len, 0);
    assert_non_null(cbor);
    assert_true(len > 0 && len < json.len);          /* CBOR is the smaller */
    assert_non_null(memmem(cbor, len, "web-1/", 6)); /* bn */
    struct senml_pack *back = NULL, *orig = NULL;
    assert_int_equal(senml_cbor_decode(cbor, len, 1700000000000, &back, NULL), 0);
    assert_int_equal(senml_json_decode(json.data, json.len, 1700000000000, &orig, NULL), 0);
    assert_int_equal(back->count, 3);
    assert_string_equal(back->boot_id, "0006744996778f72");
    assert_true(back->has_seq);
    assert_int_equal(back->seq, 42);
    for (size_t i = 0; i < back->count; i++) {
        assert_string_equal(back->records[i].name, orig->records[i].name);
        assert_true(back->records[i].value == orig->records[i].value);
        assert_true(back->records[i].time_s == orig->records[i].time_s);
        assert_int_equal(back->records[i].label_count, orig->records[i].label_count);
    }
    assert_string_equal(back->records[0].name, "web-1/cpu.utilization");
    assert_string_equal(back->records[2].labels[0].value, "/");
    senml_pack_free(back);
    senml_pack_free(orig);
    senml_buf_free(&json);
    free(cbor);
}

static void converts_a_heartbeat_without_a_sequence(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *cbor = body_of("updraft/v1/h/heartbeat",
                            "[{\"bn\":\"h/\",\"bt\":1700000000,\"n\":\"agent.uptime_s\",\"v\":3.5},"
                            "{\"n\":\"agent.seq\",\"v\":7}]",
                            &len, 0);
    struct senml_pack *back = NULL;
    assert_int_equal(senml_cbor_decode(cbor, len, 0, &back, NULL), 0);
    assert_int_equal(back->count, 2);
    assert_false(back->has_seq);
    assert_null(back->boot_id);
    assert_string_equal(back->records[1].name, "h/agent.seq");
    senml_pack_free(back);
    free(cbor);
}

static void copies_inventory_and_state_as_they_are(void **state)
{
    (void)state;
    const char *docs[] = {"{\"state\":\"online\",\"boot_id\":\"00000000000000ff\"}",
                          "{\"host\":{\"name\":\"h\"}}", ""};
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        size_t len = 99;
        uint8_t *body =
            body_of(i == 0 ? "updraft/v1/h/state" : "updraft/v1/h/inventory", docs[i], &len, 0);
        assert_non_null(body);
        assert_int_equal(len, strlen(docs[i]));
        assert_memory_equal(body, docs[i], len);
        free(body);
    }
}

static void refuses_packs_the_bridge_would_refuse(void **state)
{
    (void)state;
    size_t len = 0;
    assert_null(body_of("updraft/v1/h/metrics", "not json", &len, -EBADMSG));
    assert_null(body_of("updraft/v1/h/metrics", "{\"n\":\"x\",\"v\":1}", &len, -EBADMSG));
    assert_null(body_of("updraft/v1/h/metrics", "[{\"n\":\"x\",\"v\":\"one\"}]", &len, -EBADMSG));
    /* A name outside "<host>/" (another host's) is not sent as ours. */
    assert_null(body_of("updraft/v1/h/metrics", "[{\"bn\":\"other/\",\"n\":\"x\",\"v\":1}]", &len,
                        -EBADMSG));
}

static struct publisher_coap_options good_options(void)
{
    return (struct publisher_coap_options){
        .host = "127.0.0.1",
        .port = 5683,
        .topic_root = ROOT,
        .max_inflight = 4,
        .ack_timeout_ms = 1000,
        .max_retransmit = 3,
        .response_timeout_ms = 30000,
        .connect_timeout_ms = 5000,
        .reconnect_min_ms = 1000,
        .reconnect_max_ms = 60000,
        .state_topic = "updraft/v1/h/state",
        .birth_payload = "{}",
        .will_payload = "{}",
        .subscriptions = {"updraft/v1/h/ack", "updraft/v1/h/config", NULL}};
}

static void assert_refused(struct publisher_coap_options o, const char *phrase)
{
    char why[160] = "";
    assert_int_equal(publisher_coap_check(&o, why, sizeof why), -EINVAL);
    if (strstr(why, phrase) == NULL)
        fail_msg("reason \"%s\" lacks \"%s\"", why, phrase);
}

static void checks_the_options(void **state)
{
    (void)state;
    char why[160];
    struct publisher_coap_options o = good_options();
    assert_int_equal(publisher_coap_check(&o, why, sizeof why), 0);
    o.psk_identity = "dev-1";
    o.psk_key_file = "/etc/updraft/psk.key";
    assert_int_equal(publisher_coap_check(&o, why, sizeof why), 0);
    o = good_options();
    o.max_inflight = PUBLISHER_COAP_MAX_INFLIGHT;
    o.subscriptions[0] = NULL;
    assert_int_equal(publisher_coap_check(&o, why, sizeof why), 0);

    o = good_options();
    o.host = "";
    assert_refused(o, "[coap] host");
    o = good_options();
    o.host = NULL;
    assert_refused(o, "[coap] host");
    o = good_options();
    o.port = 0;
    assert_refused(o, "[coap] port");
    o = good_options();
    o.port = 65536;
    assert_refused(o, "[coap] port");
    o = good_options();
    o.max_inflight = 0;
    assert_refused(o, "max_inflight");
    o = good_options();
    o.max_inflight = PUBLISHER_COAP_MAX_INFLIGHT + 1;
    assert_refused(o, "max_inflight");
    o = good_options();
    o.ack_timeout_ms = 99;
    assert_refused(o, "ack_timeout");
    o = good_options();
    o.max_retransmit = 11;
    assert_refused(o, "max_retransmit");
    o = good_options();
    o.response_timeout_ms = 999;
    assert_refused(o, "response_timeout");
    o = good_options();
    o.reconnect_max_ms = 999;
    assert_refused(o, "reconnect_max");
    o = good_options();
    o.psk_identity = "dev-1";
    assert_refused(o, "go together");
    o = good_options();
    o.psk_key_file = "/k";
    assert_refused(o, "go together");
    o = good_options();
    o.topic_root = "bad root";
    assert_refused(o, "topic root");
    o = good_options();
    o.state_topic = "updraft/v1/h/metrics";
    assert_refused(o, "state topic");
    o = good_options();
    o.state_topic = "other/v1/h/state";
    assert_refused(o, "state topic");
    o = good_options();
    o.birth_payload = NULL;
    assert_refused(o, "birth");
    o = good_options();
    o.subscriptions[1] = "updraft/v1/h/metrics";
    assert_refused(o, "subscription");
}

static int psk(const char *text, uint8_t *key, size_t *len, char *why)
{
    return publisher_coap_psk_parse(text, strlen(text), key, len, why, 120);
}

static void reads_psk_keys_as_the_bridge_does(void **state)
{
    (void)state;
    uint8_t key[PUBLISHER_COAP_PSK_KEY_MAX];
    size_t len = 0;
    char why[120] = "";
    assert_int_equal(psk("s3cret\n", key, &len, why), 0);
    assert_int_equal(len, 6);
    assert_memory_equal(key, "s3cret", 6);
    assert_int_equal(psk("  hex:00ff10Ab \r\n", key, &len, why), 0);
    assert_int_equal(len, 4);
    assert_memory_equal(key, "\x00\xff\x10\xab", 4);
    char longest[PUBLISHER_COAP_PSK_KEY_MAX + 2];
    memset(longest, 'k', sizeof longest);
    longest[PUBLISHER_COAP_PSK_KEY_MAX] = '\0';
    assert_int_equal(psk(longest, key, &len, why), 0);
    assert_int_equal(len, PUBLISHER_COAP_PSK_KEY_MAX);
    longest[PUBLISHER_COAP_PSK_KEY_MAX] = 'k';
    longest[PUBLISHER_COAP_PSK_KEY_MAX + 1] = '\0';
    const struct {
        const char *text, *why;
    } bad[] = {{"", "empty"},
               {" \n", "empty"},
               {"hex:abc", "odd"},
               {"hex:zz", "not a hex digit"},
               {longest, "longer than 64"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why[0] = '\0';
        assert_int_equal(psk(bad[i].text, key, &len, why), -EINVAL);
        if (strstr(why, bad[i].why) == NULL)
            fail_msg("row %zu: reason \"%s\" lacks \"%s\"", i, why, bad[i].why);
    }
}

static void reads_max_age_with_bounds(void **state)
{
    (void)state;
    assert_int_equal(publisher_coap_max_age_ms(NULL, 0), 60000); /* RFC 7252's default */
    assert_int_equal(publisher_coap_max_age_ms((const uint8_t *)"\x0a", 1), 10000);
    assert_int_equal(publisher_coap_max_age_ms((const uint8_t *)"\x01\x00", 2), 256000);
    assert_int_equal(publisher_coap_max_age_ms((const uint8_t *)"", 0), 1000); /* 0 s */
    assert_int_equal(publisher_coap_max_age_ms((const uint8_t *)"\xff\xff\xff\xff", 4), 3600000);
}

static void jitters_a_quarter_either_way(void **state)
{
    (void)state;
    for (unsigned r = 0; r < 5000; r += 7) {
        int64_t d = publisher_coap_jitter_ms(4000, r);
        assert_true(d >= 3000 && d <= 5000);
    }
    assert_int_equal(publisher_coap_jitter_ms(4000, 0), 3000);
    assert_int_equal(publisher_coap_jitter_ms(4000, 1000), 4000);
    assert_int_equal(publisher_coap_jitter_ms(4000, 2000), 5000);
}

/* Bad options and an unreadable or bad key file are refused before libcoap is loaded; good
 * ones give a publisher that is not connected and sends nothing before its first poll. */
static void new_refuses_what_cannot_work_and_starts_disconnected(void **state)
{
    (void)state;
    struct publisher pub;
    struct publisher_coap_options o = good_options();
    o.max_inflight = 0;
    assert_int_equal(publisher_coap_new(&o, &pub), -EINVAL);
    o = good_options();
    o.psk_identity = "dev-1";
    o.psk_key_file = "/nonexistent/psk.key";
    assert_int_equal(publisher_coap_new(&o, &pub), -EINVAL);
    char path[] = "/tmp/test_publisher_coap.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "hex:abc\n", 8), 8);
    close(fd);
    o.psk_key_file = path;
    assert_int_equal(publisher_coap_new(&o, &pub), -EINVAL);
    unlink(path);

    /* The DTLS build: unit-test binaries link it (for the bridge's tests), and the plain one
     * loaded beside it would bind to its symbols; the agent links neither. */
    char good[] = "/tmp/test_publisher_coap.XXXXXX";
    fd = mkstemp(good);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "hex:00112233\n", 13), 13);
    close(fd);
    o.psk_key_file = good;
    int rc = publisher_coap_new(&o, &pub);
    unlink(good);
    if (rc == -ENOENT)
        skip(); /* libcoap3 is not installed here */
    assert_int_equal(rc, 0);
    assert_false(pub.connected(pub.ctx));
    assert_int_equal(pub.publish(pub.ctx, "updraft/v1/h/metrics", "[]", 2, false), -ENOTCONN);
    struct publisher_stats st;
    pub.stats(pub.ctx, &st);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.published, 0);
    pub.close(pub.ctx, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(maps_topics_to_bridge_resources),
        cmocka_unit_test(refuses_topics_that_are_not_the_roots),
        cmocka_unit_test(converts_the_agents_pack_to_senml_cbor),
        cmocka_unit_test(converts_a_heartbeat_without_a_sequence),
        cmocka_unit_test(copies_inventory_and_state_as_they_are),
        cmocka_unit_test(refuses_packs_the_bridge_would_refuse),
        cmocka_unit_test(checks_the_options),
        cmocka_unit_test(reads_psk_keys_as_the_bridge_does),
        cmocka_unit_test(reads_max_age_with_bounds),
        cmocka_unit_test(jitters_a_quarter_either_way),
        cmocka_unit_test(new_refuses_what_cannot_work_and_starts_disconnected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
