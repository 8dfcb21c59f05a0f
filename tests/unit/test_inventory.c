/* Unit tests for the inventory document: the exact JSON of a known input, escaping, the
 * process selection, truncation at every buffer size, the digest (order, volatile fields,
 * real changes), tags from config, the publish cadence and allocation failure.
 * Single-threaded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge-agent/inventory.h"
#include "tests/support/alloc_fail.h"

/* A known host: two containers, five processes (one not worth writing), three listening
 * sockets and four connections, of which two are the same edge. */
struct known {
    struct hostfacts facts;
    struct inventory_tag tags[2];
    struct inventory_container containers[2];
    struct inventory_process processes[5];
    struct inventory_socket listening[3];
    struct inventory_socket connections[4];
    struct inventory_input in;
};

static void known_init(struct known *k)
{
    memset(k, 0, sizeof(*k));
    struct hostfacts *f = &k->facts;
    strcpy(f->hostname, "web-01.example.com");
    strcpy(f->machine_id, "3d1219c7c4c5404aaa1f6d2a48adfda4");
    strcpy(f->os_id, "debian");
    strcpy(f->os_version_id, "12");
    strcpy(f->os_pretty, "Debian GNU/Linux 12 (bookworm)");
    strcpy(f->kernel, "6.1.0-18-amd64");
    strcpy(f->cpu_model, "AMD EPYC");
    f->cpu_cores = 2;
    f->mem_total_mb = 24105;
    f->boot_time_ms = 1796142250000;
    f->ip_count = 3;
    f->ips[0] = (struct hostfacts_ip){"eth0", "192.0.2.2"};
    f->ips[1] = (struct hostfacts_ip){"eth0", "fd00::2"};
    f->ips[2] = (struct hostfacts_ip){"docker0", "172.17.0.1"};

    k->tags[0] = (struct inventory_tag){"zone", "us-west"};
    k->tags[1] = (struct inventory_tag){"role", "web"};
    k->containers[0] =
        (struct inventory_container){"bb22", "containerd", "6f1b2c3d-0000-4000-8000-000000000001"};
    k->containers[1] = (struct inventory_container){"aa11", "docker", ""};
    /* the first two are the top ones */
    k->processes[0] = (struct inventory_process){4242, "stress", ""};
    k->processes[1] = (struct inventory_process){900, "postgres", ""};
    k->processes[2] = (struct inventory_process){1200, "nginx", "aa11"};
    k->processes[3] = (struct inventory_process){1, "systemd", ""};
    k->processes[4] = (struct inventory_process){3100, "app", "bb22"};
    k->listening[0] = (struct inventory_socket){"udp", "127.0.0.1", 53, "", 0, "", 0};
    k->listening[1] = (struct inventory_socket){"tcp6", "::", 80, "", 0, "LISTEN", 1200};
    k->listening[2] = (struct inventory_socket){"tcp", "0.0.0.0", 5432, "", 0, "LISTEN", 900};
    k->connections[0] = (struct inventory_socket){
        "tcp6", "::ffff:10.0.0.5", 80, "::ffff:198.51.100.7", 60000, "TIME_WAIT", 0};
    k->connections[1] =
        (struct inventory_socket){"tcp", "10.0.0.5", 43122, "10.0.0.7", 6379, "ESTABLISHED", 3100};
    k->connections[2] =
        (struct inventory_socket){"tcp", "10.0.0.5", 5432, "10.0.0.9", 51240, "ESTABLISHED", 900};
    k->connections[3] =
        (struct inventory_socket){"tcp", "10.0.0.5", 5432, "10.0.0.9", 51234, "ESTABLISHED", 900};

    k->in = (struct inventory_input){
        .host = "web-01",
        .agent_version = "0.1.0",
        .boot_id = "0006744996778f72",
        .ts_ms = 1796142300123,
        .facts = &k->facts,
        .has_gpu = false,
        .tags = k->tags,
        .tag_count = 2,
        .containers = k->containers,
        .container_count = 2,
        .processes = k->processes,
        .process_count = 5,
        .top_process_count = 2,
        .listening = k->listening,
        .listening_count = 3,
        .connections = k->connections,
        .connection_count = 4,
    };
}

#define KNOWN_HEAD                                                                                 \
    "{\"v\":1,\"host\":\"web-01\",\"ts\":1796142300123,\"agent_version\":\"0.1.0\","               \
    "\"boot_id\":\"0006744996778f72\",\"facts\":{\"hostname\":\"web-01.example.com\","             \
    "\"machine_id\":\"3d1219c7c4c5404aaa1f6d2a48adfda4\",\"os\":{\"id\":\"debian\","               \
    "\"version\":\"12\",\"pretty\":\"Debian GNU/Linux 12 (bookworm)\"},"                           \
    "\"kernel\":\"6.1.0-18-amd64\",\"cpu\":{\"model\":\"AMD EPYC\",\"cores\":2},"                  \
    "\"mem_total_mb\":24105,\"boot_time\":1796142250000,"                                          \
    "\"ips\":[{\"if\":\"docker0\",\"addr\":\"172.17.0.1\"},{\"if\":\"eth0\","                      \
    "\"addr\":\"192.0.2.2\"},{\"if\":\"eth0\",\"addr\":\"fd00::2\"}],\"has_gpu\":false},"          \
    "\"tags\":{\"role\":\"web\",\"zone\":\"us-west\"},"                                            \
    "\"containers\":[{\"id\":\"aa11\",\"runtime\":\"docker\"},{\"id\":\"bb22\","                   \
    "\"runtime\":\"containerd\",\"pod_uid\":\"6f1b2c3d-0000-4000-8000-000000000001\"}],"
#define P_900 "{\"pid\":900,\"name\":\"postgres\"}"
#define P_1200 "{\"pid\":1200,\"name\":\"nginx\",\"container\":\"aa11\"}"
#define P_3100 "{\"pid\":3100,\"name\":\"app\",\"container\":\"bb22\"}"
#define P_4242 "{\"pid\":4242,\"name\":\"stress\"}"
#define KNOWN_LISTENING                                                                            \
    "\"listening\":[{\"proto\":\"tcp\",\"addr\":\"0.0.0.0\",\"port\":5432,\"pid\":900},"           \
    "{\"proto\":\"tcp6\",\"addr\":\"::\",\"port\":80,\"pid\":1200},"                               \
    "{\"proto\":\"udp\",\"addr\":\"127.0.0.1\",\"port\":53,\"pid\":0}],"
#define C_PG1                                                                                      \
    "{\"proto\":\"tcp\",\"local\":\"10.0.0.5\",\"lport\":5432,\"remote\":\"10.0.0.9\","            \
    "\"rport\":51234,\"state\":\"ESTABLISHED\",\"pid\":900}"
#define C_PG2                                                                                      \
    "{\"proto\":\"tcp\",\"local\":\"10.0.0.5\",\"lport\":5432,\"remote\":\"10.0.0.9\","            \
    "\"rport\":51240,\"state\":\"ESTABLISHED\",\"pid\":900}"
#define C_REDIS                                                                                    \
    "{\"proto\":\"tcp\",\"local\":\"10.0.0.5\",\"lport\":43122,\"remote\":\"10.0.0.7\","           \
    "\"rport\":6379,\"state\":\"ESTABLISHED\",\"pid\":3100}"
#define C_WEB                                                                                      \
    "{\"proto\":\"tcp6\",\"local\":\"::ffff:10.0.0.5\",\"lport\":80,"                              \
    "\"remote\":\"::ffff:198.51.100.7\",\"rport\":60000,\"state\":\"TIME_WAIT\",\"pid\":0}"

static const char known_document[] =
    KNOWN_HEAD "\"processes\":[" P_900 "," P_1200 "," P_3100 "," P_4242 "]," KNOWN_LISTENING
               "\"connections\":[" C_PG1 "," C_PG2 "," C_REDIS "," C_WEB "],\"truncated\":false}";

static void assert_valid_json(const char *text)
{
    json_error_t error;
    json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, &error);

    if (doc == NULL)
        fail_msg("not JSON (%s at %d): %s", error.text, error.position, text);
    json_decref(doc);
}

static void writes_the_exact_document_of_a_known_host(void **state)
{
    struct known k;
    char out[INVENTORY_DEFAULT_MAX_BYTES];
    struct inventory_result res;
    uint64_t digest;

    (void)state;
    known_init(&k);
    assert_int_equal(inventory_build(&k.in, out, sizeof(out), &res), 0);
    assert_string_equal(out, known_document);
    assert_valid_json(out);
    assert_int_equal(res.len, strlen(known_document));
    assert_false(res.truncated);
    assert_int_equal(res.processes_total, 4); /* systemd: no socket, no container, not top */
    assert_int_equal(res.processes_written, 4);
    assert_int_equal(res.connections_total, 4);
    assert_int_equal(res.connections_written, 4);
    assert_int_equal(inventory_digest(&k.in, &digest), 0);
    assert_true(digest == res.digest);
}

static void writes_unknown_facts_as_null_and_empty_lists(void **state)
{
    struct hostfacts facts;
    struct inventory_input in = {.host = "h",
                                 .agent_version = "0.1.0",
                                 .boot_id = "b",
                                 .ts_ms = 5,
                                 .facts = &facts,
                                 .has_gpu = true};
    struct inventory_result res;
    char out[1024];

    (void)state;
    memset(&facts, 0, sizeof(facts));
    assert_int_equal(inventory_build(&in, out, sizeof(out), &res), 0);
    assert_string_equal(
        out, "{\"v\":1,\"host\":\"h\",\"ts\":5,\"agent_version\":\"0.1.0\",\"boot_id\":\"b\","
             "\"facts\":{\"hostname\":null,\"machine_id\":null,\"os\":{\"id\":null,"
             "\"version\":null,\"pretty\":null},\"kernel\":null,\"cpu\":{\"model\":null,"
             "\"cores\":null},\"mem_total_mb\":null,\"boot_time\":null,\"ips\":[],"
             "\"has_gpu\":true},\"tags\":{},\"containers\":[],\"processes\":[],"
             "\"listening\":[],\"connections\":[],\"truncated\":false}");
    assert_valid_json(out);
}

static void escapes_strings_from_the_host(void **state)
{
    struct known k;
    char out[INVENTORY_DEFAULT_MAX_BYTES];
    struct inventory_result res;

    (void)state;
    known_init(&k);
    k.in.process_count = 1;
    k.in.top_process_count = 1;
    k.in.listening_count = 0;
    k.in.connection_count = 0;
    k.in.container_count = 0;
    k.in.tag_count = 1;
    strcpy(k.tags[0].key, "note");
    strcpy(k.tags[0].value, "say \"hi\"\\\n");
    strcpy(k.processes[0].name, "evil\x01\x7f\"\xff");
    strcpy(k.facts.os_pretty, "Caf\xc3\xa9 OS \xc0\xaf");
    /* a full member without NUL is read up to its size */
    memset(k.processes[0].container_id, 'c', sizeof(k.processes[0].container_id));
    assert_int_equal(inventory_build(&k.in, out, sizeof(out), &res), 0);
    assert_valid_json(out);
    assert_non_null(strstr(out, "\"pretty\":\"Caf\xc3\xa9 OS \xef\xbf\xbd\xef\xbf\xbd\""));
    assert_non_null(strstr(out, "\"tags\":{\"note\":\"say \\\"hi\\\"\\\\\\n\"}"));
    assert_non_null(strstr(out, "\"name\":\"evil\\u0001\x7f\\\"\xef\xbf\xbd\""));
    char expected_container[96] = "\"container\":\"";
    memset(expected_container + 13, 'c', 65);
    strcpy(expected_container + 13 + 65, "\"}");
    assert_non_null(strstr(out, expected_container));
}

/* The document keeping processes `procs` and connections `conns`, truncated. */
static void truncated_document(char *out, size_t size, const char *procs, const char *conns)
{
    int n = snprintf(out, size,
                     KNOWN_HEAD "\"processes\":[%s]," KNOWN_LISTENING "\"connections\":[%s],"
                                "\"truncated\":true,\"totals\":{\"processes\":4,"
                                "\"connections\":4}}",
                     procs, conns);
    assert_true(n > 0 && (size_t)n < size);
}

static void truncates_processes_and_connections_in_turns_best_first(void **state)
{
    struct known k;
    char out[INVENTORY_DEFAULT_MAX_BYTES], expected[INVENTORY_DEFAULT_MAX_BYTES];
    struct inventory_result res;

    (void)state;
    known_init(&k);
    /* In turns, best first: postgres (listens), the first connection of each edge (pg, redis,
     * web), nginx (listens), app (connects), stress (top only), then the second pg one. With
     * room for exactly postgres, pg, nginx and redis, that is what is kept. */
    truncated_document(expected, sizeof(expected), P_900 "," P_1200, C_PG1 "," C_REDIS);
    assert_int_equal(inventory_build(&k.in, out, strlen(expected) + 1, &res), 0);
    assert_string_equal(out, expected);
    assert_true(res.truncated);
    assert_int_equal(res.processes_written, 2);
    assert_int_equal(res.connections_written, 2);
    assert_int_equal(res.processes_total, 4);
    assert_int_equal(res.connections_total, 4);
    /* One byte less: redis no longer fits and the connections stop there; the smaller
     * processes that come after it still fit in what is left. */
    truncated_document(out, sizeof(out), P_900 "," P_1200, C_PG1 "," C_REDIS);
    size_t one_less = strlen(out);
    truncated_document(expected, sizeof(expected), P_900 "," P_1200 "," P_3100 "," P_4242, C_PG1);
    assert_int_equal(inventory_build(&k.in, out, one_less, &res), 0);
    assert_string_equal(out, expected);
    assert_int_equal(res.processes_written, 4);
    assert_int_equal(res.connections_written, 1);
}

static void stays_within_every_buffer_size(void **state)
{
    struct known k;
    char *out = malloc(sizeof(known_document) + 1);
    struct inventory_result res;
    size_t first_fit = 0;

    (void)state;
    assert_non_null(out);
    known_init(&k);
    for (size_t size = 1; size <= sizeof(known_document) + 1; size++) {
        memset(out, 'X', size);
        int ret = inventory_build(&k.in, out, size, &res);
        if (ret == -ENOSPC) {
            assert_int_equal(first_fit, 0); /* once it fits, it fits for every larger size */
            assert_string_equal(out, "");
            continue;
        }
        assert_int_equal(ret, 0);
        if (first_fit == 0)
            first_fit = size;
        assert_int_equal(strlen(out), res.len);
        assert_true(res.len <= size - 1);
        assert_valid_json(out);
        assert_true(res.truncated == (size < sizeof(known_document)));
        if (!res.truncated)
            assert_string_equal(out, known_document);
    }
    assert_true(first_fit > 0);
    free(out);
}

static void keeps_a_typical_server_to_a_few_kilobytes(void **state)
{
    struct known k;
    struct inventory_process procs[40];
    struct inventory_socket listening[12], conns[80];
    char out[INVENTORY_DEFAULT_MAX_BYTES];
    struct inventory_result res;

    (void)state;
    known_init(&k);
    for (int i = 0; i < 40; i++) /* 10 top, 12 listeners, the rest plain host processes */
        procs[i] = (struct inventory_process){.pid = 1000 + i, .name = "worker"};
    for (int i = 0; i < 12; i++)
        listening[i] =
            (struct inventory_socket){"tcp", "0.0.0.0", 8000 + i, "", 0, "LISTEN", 1010 + i};
    for (int i = 0; i < 80; i++)
        conns[i] = (struct inventory_socket){"tcp",     "10.0.0.5",    8000 + i % 12, "10.0.1.20",
                                             40000 + i, "ESTABLISHED", 1010 + i % 12};
    k.in.processes = procs;
    k.in.process_count = 40;
    k.in.top_process_count = 10;
    k.in.listening = listening;
    k.in.listening_count = 12;
    k.in.connections = conns;
    k.in.connection_count = 80;
    assert_int_equal(inventory_build(&k.in, out, sizeof(out), &res), 0);
    assert_false(res.truncated);
    assert_int_equal(res.processes_written, 22);
    assert_true(res.len < 16 * 1024);
    assert_valid_json(out);
}

static void bounds_the_largest_lists(void **state)
{
    enum { N = INVENTORY_MAX_ITEMS };
    struct known k;
    struct inventory_process *procs = calloc(N, sizeof(*procs));
    struct inventory_socket *listening = calloc(N, sizeof(*listening));
    struct inventory_socket *conns = calloc(N, sizeof(*conns));
    char *out = malloc(INVENTORY_DEFAULT_MAX_BYTES);
    struct inventory_result res;

    (void)state;
    assert_true(procs != NULL && listening != NULL && conns != NULL && out != NULL);
    known_init(&k);
    for (int i = 0; i < N; i++) {
        procs[i] = (struct inventory_process){.pid = i, .name = "p"}; /* pid 0 included */
        listening[i] = (struct inventory_socket){"tcp", "0.0.0.0", i % 65536, "", 0, "", i};
        conns[i] = (struct inventory_socket){
            "tcp", "10.0.0.5", 1 + i % 60000, "10.9.0.1", (i * 7) % 65536, "ESTABLISHED", N - i};
    }
    k.in.processes = procs;
    k.in.process_count = N;
    k.in.top_process_count = 0; /* every pid but 0 owns a connection */
    k.in.listening = listening;
    k.in.listening_count = 100; /* listening sockets are never cut: keep them within bounds */
    k.in.connections = conns;
    k.in.connection_count = N;
    assert_int_equal(inventory_build(&k.in, out, INVENTORY_DEFAULT_MAX_BYTES, &res), 0);
    assert_true(res.truncated);
    assert_int_equal(res.processes_total, N - 1); /* not pid 0: it owns nothing */
    assert_int_equal(res.connections_total, N);
    assert_true(res.processes_written > 0 && res.connections_written > 0);
    assert_true(res.len < INVENTORY_DEFAULT_MAX_BYTES);
    assert_valid_json(out);
    k.in.listening_count = N;
    assert_int_equal(inventory_build(&k.in, out, INVENTORY_DEFAULT_MAX_BYTES, &res), -ENOSPC);
    free(procs);
    free(listening);
    free(conns);
    free(out);
}

static void refuses_a_buffer_too_small_for_the_fixed_part(void **state)
{
    struct known k;
    char out[64];
    struct inventory_result res;

    (void)state;
    known_init(&k);
    assert_int_equal(inventory_build(&k.in, out, sizeof(out), &res), -ENOSPC);
    assert_string_equal(out, "");
    assert_int_equal(inventory_build(&k.in, out, 0, &res), -EINVAL);
}

static void refuses_bad_input(void **state)
{
    struct known k;
    char out[INVENTORY_DEFAULT_MAX_BYTES];
    struct inventory_result res;
    uint64_t digest;

    (void)state;
    known_init(&k);
    k.in.host = NULL;
    assert_int_equal(inventory_build(&k.in, out, sizeof(out), &res), -EINVAL);
    known_init(&k);
    k.in.facts = NULL;
    assert_int_equal(inventory_digest(&k.in, &digest), -EINVAL);
    known_init(&k);
    k.in.top_process_count = 6;
    assert_int_equal(inventory_build(&k.in, out, sizeof(out), &res), -EINVAL);
    known_init(&k);
    k.in.connections = NULL;
    assert_int_equal(inventory_build(&k.in, out, sizeof(out), &res), -EINVAL);
    known_init(&k);
    strcpy(k.tags[1].key, "zone"); /* duplicate */
    assert_int_equal(inventory_build(&k.in, out, sizeof(out), &res), -EINVAL);
    k.tags[1].key[0] = '\0'; /* empty */
    assert_int_equal(inventory_build(&k.in, out, sizeof(out), &res), -EINVAL);
    known_init(&k);
    k.in.tag_count = INVENTORY_MAX_TAGS + 1;
    assert_int_equal(inventory_build(&k.in, out, sizeof(out), &res), -E2BIG);
    known_init(&k);
    k.in.connection_count = INVENTORY_MAX_ITEMS + 1;
    assert_int_equal(inventory_digest(&k.in, &digest), -E2BIG);
    assert_int_equal(inventory_build(NULL, out, sizeof(out), &res), -EINVAL);
    assert_int_equal(inventory_digest(NULL, &digest), -EINVAL);
}

/* ---- digest ----------------------------------------------------------------------------- */

static uint64_t digest_of(const struct known *k)
{
    uint64_t digest = 0;

    assert_int_equal(inventory_digest(&k->in, &digest), 0);
    return digest;
}

#define SWAP(a, b)                                                                                 \
    do {                                                                                           \
        __typeof__(a) tmp_ = (a);                                                                  \
        (a) = (b);                                                                                 \
        (b) = tmp_;                                                                                \
    } while (0)

static void gives_the_same_document_and_digest_in_any_input_order(void **state)
{
    struct known k;
    char out[INVENTORY_DEFAULT_MAX_BYTES];
    struct inventory_result res;
    uint64_t before;

    (void)state;
    known_init(&k);
    before = digest_of(&k);
    SWAP(k.tags[0], k.tags[1]);
    SWAP(k.containers[0], k.containers[1]);
    SWAP(k.processes[2], k.processes[4]); /* not the top ones: their order means rank */
    SWAP(k.processes[1], k.processes[0]);
    SWAP(k.listening[0], k.listening[2]);
    SWAP(k.connections[0], k.connections[3]);
    SWAP(k.connections[1], k.connections[2]);
    SWAP(k.facts.ips[0], k.facts.ips[2]);
    assert_true(digest_of(&k) == before);
    assert_int_equal(inventory_build(&k.in, out, sizeof(out), &res), 0);
    assert_string_equal(out, known_document);
}

static void ignores_volatile_fields_in_the_digest(void **state)
{
    struct known k;
    uint64_t before;

    (void)state;
    known_init(&k);
    before = digest_of(&k);
    k.in.ts_ms += 60000;
    assert_true(digest_of(&k) == before);
    k.connections[1].local_port = 43999; /* outbound: a new ephemeral port */
    assert_true(digest_of(&k) == before);
    k.connections[2].remote_port = 51999; /* inbound: the client's port */
    assert_true(digest_of(&k) == before);
    strcpy(k.connections[0].state, "ESTABLISHED");
    assert_true(digest_of(&k) == before);
    k.in.connection_count = 3; /* the second pg connection: an edge already there */
    assert_true(digest_of(&k) == before);
    k.processes[0].pid = 4343; /* a top-only process: the CPU ranking moved */
    strcpy(k.processes[0].name, "gzip");
    assert_true(digest_of(&k) == before);
}

static void changes_the_digest_when_the_topology_changes(void **state)
{
    struct known k;
    struct inventory_socket listening[4];
    uint64_t before;

    (void)state;
    known_init(&k);
    before = digest_of(&k);
    memcpy(listening, k.listening, sizeof(k.listening));
    listening[3] = (struct inventory_socket){"tcp", "0.0.0.0", 8080, "", 0, "LISTEN", 1200};
    k.in.listening = listening;
    k.in.listening_count = 4;
    assert_true(digest_of(&k) != before);

    known_init(&k);
    strcpy(k.connections[1].remote_addr, "10.0.0.8"); /* redis moved */
    assert_true(digest_of(&k) != before);
    known_init(&k);
    k.connections[1].remote_port = 6380; /* the service port, not an ephemeral one */
    assert_true(digest_of(&k) != before);
    known_init(&k);
    k.processes[4].pid = 3101; /* app restarted */
    k.connections[1].pid = 3101;
    assert_true(digest_of(&k) != before);
    known_init(&k);
    k.in.container_count = 1;
    assert_true(digest_of(&k) != before);
    known_init(&k);
    strcpy(k.tags[1].value, "db");
    assert_true(digest_of(&k) != before);
    known_init(&k);
    strcpy(k.facts.ips[0].addr, "192.0.2.3");
    assert_true(digest_of(&k) != before);
    known_init(&k);
    k.in.has_gpu = true;
    assert_true(digest_of(&k) != before);
    known_init(&k);
    k.in.top_process_count = 1; /* postgres listens: still written, same digest */
    assert_true(digest_of(&k) == before);
}

static void digests_past_the_truncation(void **state)
{
    struct known k;
    char out[INVENTORY_DEFAULT_MAX_BYTES];
    struct inventory_result res, res2;

    (void)state;
    known_init(&k);
    /* room for postgres, the first pg connection, nginx and redis: the web one is cut */
    truncated_document(out, sizeof(out), P_900 "," P_1200, C_PG1 "," C_REDIS);
    size_t size = strlen(out) + 1;
    assert_int_equal(inventory_build(&k.in, out, size, &res), 0);
    assert_true(res.truncated);
    assert_null(strstr(out, "198.51.100.7"));
    strcpy(k.connections[0].remote_addr, "::ffff:198.51.100.8");
    assert_int_equal(inventory_build(&k.in, out, size, &res2), 0);
    assert_true(res.digest != res2.digest);
}

/* ---- tags ------------------------------------------------------------------------------- */

static void parses_tags_from_config(void **state)
{
    struct inventory_tag tags[4];
    size_t count = 99;

    (void)state;
    assert_int_equal(inventory_tags_parse(" role = web ,zone=us-west,empty=", tags, 4, &count), 0);
    assert_int_equal(count, 3);
    assert_string_equal(tags[0].key, "role");
    assert_string_equal(tags[0].value, "web");
    assert_string_equal(tags[1].key, "zone");
    assert_string_equal(tags[1].value, "us-west");
    assert_string_equal(tags[2].key, "empty");
    assert_string_equal(tags[2].value, "");
    assert_int_equal(inventory_tags_parse("", tags, 4, &count), 0);
    assert_int_equal(count, 0);
    assert_int_equal(inventory_tags_parse("  ", tags, 4, &count), 0);
    assert_int_equal(count, 0);
    assert_int_equal(inventory_tags_parse("a=1=2", tags, 4, &count), 0);
    assert_string_equal(tags[0].value, "1=2");

    static const char *const bad[] = {
        "role",     "=web",        "ro le=web",
        "a=1,,b=2", "a=1,",        ",a=1",
        "a=1,a=2",  "k\xc3\xa9=v", "a123456789012345678901234567890b=too-long-key",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(inventory_tags_parse(bad[i], tags, 4, &count), -EINVAL);
    assert_int_equal(inventory_tags_parse("a=1,b=2,c=3,d=4,e=5", tags, 4, &count), -E2BIG);
    char long_value[INVENTORY_TAG_VALUE_MAX + 8] = "k=";
    memset(long_value + 2, 'v', INVENTORY_TAG_VALUE_MAX - 1);
    assert_int_equal(inventory_tags_parse(long_value, tags, 4, &count), 0); /* 127: fits */
    long_value[2 + INVENTORY_TAG_VALUE_MAX - 1] = 'v';
    assert_int_equal(inventory_tags_parse(long_value, tags, 4, &count), -EINVAL);
}

/* ---- cadence ---------------------------------------------------------------------------- */

static void publishes_on_change_at_most_every_min_interval_and_always_every_max(void **state)
{
    struct inventory_policy p;
    const int64_t t0 = 1000000;

    (void)state;
    inventory_policy_init(&p);
    assert_int_equal(p.min_interval_ms, 30000);
    assert_int_equal(p.max_interval_ms, 600000);
    assert_true(inventory_due(&p, 0xaa, t0)); /* nothing published yet */
    inventory_policy_published(&p, 0xaa, t0);
    assert_false(inventory_due(&p, 0xaa, t0));
    assert_false(inventory_due(&p, 0xaa, t0 + 599999));
    assert_true(inventory_due(&p, 0xaa, t0 + 600000)); /* the periodic republish */
    assert_false(inventory_due(&p, 0xbb, t0 + 29999)); /* a change, too soon */
    assert_true(inventory_due(&p, 0xbb, t0 + 30000));
    inventory_policy_published(&p, 0xbb, t0 + 30000);
    /* flapping back and forth: one publish per min_interval at most */
    assert_false(inventory_due(&p, 0xaa, t0 + 30001));
    assert_false(inventory_due(&p, 0xbb, t0 + 59999));
    assert_true(inventory_due(&p, 0xaa, t0 + 60000));
    /* flapped back to what was last published: nothing to do */
    assert_false(inventory_due(&p, 0xbb, t0 + 60000));
    assert_true(inventory_due(&p, 0xbb, t0 + 30000 + 600000));
}

/* ---- allocation failure ----------------------------------------------------------------- */

static void fails_cleanly_when_allocation_fails(void **state)
{
    struct known k;
    char out[INVENTORY_DEFAULT_MAX_BYTES];
    struct inventory_result res;
    uint64_t digest;
    bool built = false;

    (void)state;
    if (!alloc_fail_works())
        skip();
    known_init(&k);
    for (long fail_at = 0; !built; fail_at++) {
        alloc_fail_arm(fail_at);
        int ret = inventory_build(&k.in, out, sizeof(out), &res);
        int ret2 = inventory_digest(&k.in, &digest);
        alloc_fail_disarm();
        assert_int_equal(alloc_fail_live(), 0);
        assert_true(ret == 0 || ret == -ENOMEM);
        assert_true(ret2 == 0 || ret2 == -ENOMEM);
        if (ret == -ENOMEM)
            assert_string_equal(out, "");
        built = ret == 0;
        if (built)
            assert_string_equal(out, known_document);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(writes_the_exact_document_of_a_known_host),
        cmocka_unit_test(writes_unknown_facts_as_null_and_empty_lists),
        cmocka_unit_test(escapes_strings_from_the_host),
        cmocka_unit_test(truncates_processes_and_connections_in_turns_best_first),
        cmocka_unit_test(stays_within_every_buffer_size),
        cmocka_unit_test(keeps_a_typical_server_to_a_few_kilobytes),
        cmocka_unit_test(bounds_the_largest_lists),
        cmocka_unit_test(refuses_a_buffer_too_small_for_the_fixed_part),
        cmocka_unit_test(refuses_bad_input),
        cmocka_unit_test(gives_the_same_document_and_digest_in_any_input_order),
        cmocka_unit_test(ignores_volatile_fields_in_the_digest),
        cmocka_unit_test(changes_the_digest_when_the_topology_changes),
        cmocka_unit_test(digests_past_the_truncation),
        cmocka_unit_test(parses_tags_from_config),
        cmocka_unit_test(publishes_on_change_at_most_every_min_interval_and_always_every_max),
        cmocka_unit_test(fails_cleanly_when_allocation_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
