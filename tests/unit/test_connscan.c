/* Unit tests for the socket scanner (connscan) and the conn collector, against the fixture
 * trees tests/fixtures/proc/<tree>/net (or under $FIXTURES_DIR), hand-written files in a
 * temporary directory and this machine's /proc. Expected values are worked out by hand from
 * the fixture files (see tests/fixtures/proc/README.md). Addresses in the fixtures are in
 * little-endian words, as on the x86 machine they were captured on. Single-threaded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edge-agent/batch.h"
#include "edge-agent/collector.h"
#include "edge-agent/connscan.h"
#include "edge-agent/sockdiag.h"
#include "tests/support/alloc_fail.h"
#include "tests/support/fixture_tree.h"

#define FAULT_INJECTION ALLOC_FAIL_AVAILABLE

struct test_state {
    char dir[64];   /* temporary directory */
    char root[128]; /* <dir>/proc: a symlink to a fixture tree, or a directory */
    struct metric_batch *batch;
};

static int state_setup(void **state)
{
    struct test_state *ts = calloc(1, sizeof(*ts));

    if (ts == NULL ||
        fixture_tree_open(ts->dir, sizeof(ts->dir), "connscan", 1795321260000, &ts->batch) != 0) {
        free(ts);
        return -1;
    }
    (void)snprintf(ts->root, sizeof(ts->root), "%s/proc", ts->dir);
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

/* <dir>/proc becomes a symlink to the fixture tree. */
static void use_tree(const struct test_state *ts, const char *tree)
{
    fixture_tree_link(ts->root, "proc", tree);
}

/* <dir>/proc/net/<file> with text (len bytes), creating the directories. */
static void write_net(const struct test_state *ts, const char *file, const char *text, size_t len)
{
    char path[256];
    FILE *out;

    (void)mkdir(ts->root, 0700);
    (void)snprintf(path, sizeof(path), "%s/net", ts->root);
    (void)mkdir(path, 0700);
    (void)snprintf(path, sizeof(path), "%s/net/%s", ts->root, file);
    out = fopen(path, "wb");
    assert_non_null(out);
    assert_int_equal(fwrite(text, 1, len, out), len);
    assert_int_equal(fclose(out), 0);
}

static struct connscan *new_scan(const struct test_state *ts, size_t max_conns)
{
    struct connscan_config config = {.proc_root = ts->root, .max_conns = max_conns};
    struct connscan *scan = NULL;

    assert_int_equal(connscan_new(&config, &scan), 0);
    return scan;
}

static const struct conn_info *find_inode(const struct conn_table *table, uint64_t inode)
{
    for (size_t i = 0; i < table->count; i++) {
        if (table->conns[i].inode == inode)
            return &table->conns[i];
    }
    fail_msg("no socket with inode %llu", (unsigned long long)inode);
    return NULL;
}

static void assert_conn(const struct conn_info *c, enum conn_proto proto, int family,
                        const char *local, unsigned local_port, const char *remote,
                        unsigned remote_port, unsigned conn_state, bool listening)
{
    if (c->proto != proto || c->family != family || strcmp(c->local_addr, local) != 0 ||
        c->local_port != local_port || strcmp(c->remote_addr, remote) != 0 ||
        c->remote_port != remote_port || c->state != conn_state || c->listening != listening)
        fail_msg("inode %llu: proto %d family %d %s:%u -> %s:%u state %u listening %d",
                 (unsigned long long)c->inode, c->proto, c->family, c->local_addr, c->local_port,
                 c->remote_addr, c->remote_port, c->state, c->listening);
}

static const char tcp_header[] = "  sl  local_address rem_address   st tx_queue rx_queue tr "
                                 "tm->when retrnsmt   uid  timeout inode\n";

/* ---- line parser ---- */

static void socket_lines_parse_into_text_addresses(void **state)
{
    static const struct {
        const char *line;
        enum conn_proto proto;
        int family;
        const char *local;
        unsigned local_port;
        const char *remote;
        unsigned remote_port;
        unsigned state;
        bool listening;
        unsigned uid;
        uint64_t inode;
    } cases[] = {
        {"   0: 0100007F:0035 00000000:0000 0A 00000000:00000000 00:00000000 00000000   101 "
         "       0 16153 1 0000000000000000 100 0 0 10 0",
         CONN_PROTO_TCP, AF_INET, "127.0.0.1", 53, "0.0.0.0", 0, 0x0a, true, 101, 16153},
        {"   1: 0500000A:0050 1401A8C0:C822 01 00000000:00000000 00:00000000 00000000     0 "
         "       0 30003 1 000000003c397182 20 4 30 10 -1",
         CONN_PROTO_TCP, AF_INET, "10.0.0.5", 80, "192.168.1.20", 51234, 0x01, false, 0, 30003},
        {"   6: 0100007F:A5C4 0100007F:91E8 06 00000000:00000000 03:00000A82 00000000     0 "
         "       0 0 3 0000000052b7f9f6",
         CONN_PROTO_TCP, AF_INET, "127.0.0.1", 42436, "127.0.0.1", 37352, 0x06, false, 0, 0},
        {"   0: 00000000000000000000000000000000:480B 00000000000000000000000000000000:0000 0A "
         "00000000:00000000 00:00000000 00000000     0        0 168015 1 000000009d5c4942 100 0 "
         "0 10 0",
         CONN_PROTO_TCP, AF_INET6, "::", 18443, "::", 0, 0x0a, true, 0, 168015},
        {"   4: 0000000000000000FFFF00000100007F:480B 0000000000000000FFFF00000100007F:A688 01 "
         "00000000:00000000 00:00000000 00000000     0        0 168019 1 000000007241e05f 20 0 "
         "0 10 -1",
         CONN_PROTO_TCP, AF_INET6, "127.0.0.1", 18443, "127.0.0.1", 42632, 0x01, false, 0, 168019},
        {"   2: B80D0120000000000000000001000000:01BB B80D01200000000000000000CDAB0000:D903 01 "
         "00000000:00000000 00:00000000 00000000     0        0 30012 1 000000003c397182 100 0 "
         "0 10 0",
         CONN_PROTO_TCP, AF_INET6, "2001:db8::1", 443, "2001:db8::abcd", 55555, 0x01, false, 0,
         30012},
        {" 4837: 00000000:3BF9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0 "
         "       0 168022 2 00000000bac7996d 0",
         CONN_PROTO_UDP, AF_INET, "0.0.0.0", 15353, "0.0.0.0", 0, 0x07, true, 0, 168022},
        {" 7166: 00000000000000000000000001000000:C512 00000000000000000000000001000000:3BF9 01 "
         "00000000:00000000 00:00000000 00000000     0        0 168023 2 0000000064defb4a 0",
         CONN_PROTO_UDP, AF_INET6, "::1", 50450, "::1", 15353, 0x01, false, 0, 168023},
        /* lower-case hex, UDP bound to an address but not connected */
        {"12: 0500000a:a028 00000000:0000 07 0:0 0:0 0 65534 0 18446744073709551615",
         CONN_PROTO_UDP, AF_INET, "10.0.0.5", 41000, "0.0.0.0", 0, 0x07, true, 65534, UINT64_MAX},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct conn_info c;

        if (connscan_parse_line(cases[i].line, strlen(cases[i].line), cases[i].proto,
                                cases[i].family, &c) != 0)
            fail_msg("case %zu refused", i);
        assert_conn(&c, cases[i].proto, cases[i].family, cases[i].local, cases[i].local_port,
                    cases[i].remote, cases[i].remote_port, cases[i].state, cases[i].listening);
        assert_int_equal(c.uid, cases[i].uid);
        assert_true(c.inode == cases[i].inode);
        assert_int_equal(c.pid, 0);
    }
}

static void malformed_socket_lines_are_refused(void **state)
{
    static const struct {
        const char *line;
        int family;
    } bad[] = {
        {"", AF_INET},
        {"garbage", AF_INET},
        {"0: 0100007F:0035 00000000:0000 0A", AF_INET},                /* too few fields */
        {"0 0100007F:0035 00000000:0000 0A 0:0 0:0 0 0 0 1", AF_INET}, /* no ':' after sl */
        {"x: 0100007F:0035 00000000:0000 0A 0:0 0:0 0 0 0 1", AF_INET},
        {"0: 0100007G:0035 00000000:0000 0A 0:0 0:0 0 0 0 1", AF_INET},  /* not hex */
        {"0: 100007F:0035 00000000:0000 0A 0:0 0:0 0 0 0 1", AF_INET},   /* 7 digits */
        {"0: 0100007F:00035 00000000:0000 0A 0:0 0:0 0 0 0 1", AF_INET}, /* 5-digit port */
        {"0: 0100007F-0035 00000000:0000 0A 0:0 0:0 0 0 0 1", AF_INET},
        {"0: 0100007F:0035 00000000:0000 0A 0:0 0:0 0 0 0 1", AF_INET6}, /* v4 in tcp6 */
        {"0: 0100007F:0035 00000000:0000 ZZ 0:0 0:0 0 0 0 1", AF_INET},  /* state */
        {"0: 0100007F:0035 00000000:0000 A 0:0 0:0 0 0 0 1", AF_INET},
        {"0: 0100007F:0035 00000000:0000 00 0:0 0:0 0 0 0 1", AF_INET}, /* state 0 */
        {"0: 0100007F:0035 00000000:0000 0A 0:0 0:0 0 x 0 1", AF_INET}, /* uid */
        {"0: 0100007F:0035 00000000:0000 0A 0:0 0:0 0 4294967296 0 1", AF_INET},
        {"0: 0100007F:0035 00000000:0000 0A 0:0 0:0 0 0 0 -5", AF_INET}, /* inode */
        {"0: 0100007F:0035 00000000:0000 0A 0:0 0:0 0 0 0 18446744073709551616", AF_INET},
        {"0: 0100007F:0035 00000000:0000 0A 0:0 0:0 0 0 0 1", AF_UNIX}, /* family */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct conn_info c;

        if (connscan_parse_line(bad[i].line, strlen(bad[i].line), CONN_PROTO_TCP, bad[i].family,
                                &c) != -EBADMSG)
            fail_msg("case %zu (%s) accepted", i, bad[i].line);
    }
}

static void state_names_follow_the_protocol(void **state)
{
    (void)state;
    assert_string_equal(conn_state_name(CONN_PROTO_TCP, CONN_STATE_ESTABLISHED), "ESTABLISHED");
    assert_string_equal(conn_state_name(CONN_PROTO_TCP, CONN_STATE_LISTEN), "LISTEN");
    assert_string_equal(conn_state_name(CONN_PROTO_TCP, CONN_STATE_NEW_SYN_RECV), "NEW_SYN_RECV");
    assert_string_equal(conn_state_name(CONN_PROTO_TCP, 0), "UNKNOWN");
    assert_string_equal(conn_state_name(CONN_PROTO_TCP, 0x0d), "UNKNOWN");
    assert_string_equal(conn_state_name(CONN_PROTO_UDP, CONN_STATE_CLOSE), "UNCONN");
    assert_string_equal(conn_state_name(CONN_PROTO_UDP, CONN_STATE_ESTABLISHED), "ESTAB");
    assert_string_equal(conn_state_name(CONN_PROTO_UDP, CONN_STATE_LISTEN), "UNKNOWN");
}

/* ---- the four files ---- */

static void real_host_capture_lists_every_socket(void **state)
{
    struct test_state *ts = *state;
    struct connscan *scan = new_scan(ts, 0);
    const struct conn_table *table;

    use_tree(ts, "real-host");
    assert_int_equal(connscan_update(scan, 0), 0);
    table = connscan_table(scan);
    assert_int_equal(table->count, 14 + 6 + 1 + 1);
    assert_int_equal(table->malformed, 0);
    assert_int_equal(table->dropped, 0);
    assert_int_equal(table->established, 6);
    assert_int_equal(table->listening, 4);
    /* file order: tcp first */
    assert_conn(&table->conns[0], CONN_PROTO_TCP, AF_INET, "0.0.0.0", 2024, "0.0.0.0", 0,
                CONN_STATE_LISTEN, true);
    assert_conn(find_inode(table, 168014), CONN_PROTO_TCP, AF_INET, "127.0.0.1", 18080, "0.0.0.0",
                0, CONN_STATE_LISTEN, true);
    assert_conn(find_inode(table, 168016), CONN_PROTO_TCP, AF_INET, "127.0.0.1", 36714, "127.0.0.1",
                18080, CONN_STATE_ESTABLISHED, false);
    assert_conn(find_inode(table, 168015), CONN_PROTO_TCP, AF_INET6, "::", 18443, "::", 0,
                CONN_STATE_LISTEN, true);
    /* v4 client on the dual-stack listener: v4-mapped, shown as v4 */
    assert_conn(find_inode(table, 168019), CONN_PROTO_TCP, AF_INET6, "127.0.0.1", 18443,
                "127.0.0.1", 42632, CONN_STATE_ESTABLISHED, false);
    assert_conn(find_inode(table, 168020), CONN_PROTO_TCP, AF_INET6, "::1", 57422, "::1", 18443,
                CONN_STATE_ESTABLISHED, false);
    assert_conn(find_inode(table, 168022), CONN_PROTO_UDP, AF_INET, "0.0.0.0", 15353, "0.0.0.0", 0,
                CONN_STATE_CLOSE, true);
    assert_conn(find_inode(table, 168023), CONN_PROTO_UDP, AF_INET6, "::1", 50450, "::1", 15353,
                CONN_STATE_ESTABLISHED, false);
    assert_int_equal(table->conns[2].state, CONN_STATE_TIME_WAIT);
    assert_true(table->conns[2].inode == 0);
    connscan_free(scan);
}

static void real_host_sockets_map_to_their_owner(void **state)
{
    struct test_state *ts = *state;
    struct connscan *scan = new_scan(ts, 0);
    const struct conn_table *table;

    use_tree(ts, "real-host");
    assert_int_equal(connscan_update(scan, 0), 0);
    assert_int_equal(connscan_map_pids(scan, 0), 0);
    table = connscan_table(scan);
    assert_int_equal(table->fds_scanned, 10); /* 12611/fd: 3..13 */
    assert_false(table->fds_truncated);
    for (uint64_t inode = 168014; inode <= 168023; inode++)
        assert_int_equal(find_inode(table, inode)->pid, 12611);
    assert_int_equal(find_inode(table, 48)->pid, 0); /* its owner is not in the capture */
    connscan_free(scan);
}

static void container_host_sockets_map_to_the_lowest_owning_pid(void **state)
{
    static const struct {
        uint64_t inode;
        int pid;
    } owners[] = {
        {30001, 2100}, /* shared by 2100 and 2101 after fork: the lower pid */
        {30002, 2300}, {30003, 2101}, {30004, 0},    {30010, 812},  {30011, 812},
        {30012, 3200}, {30013, 0},    {30020, 3200}, {30021, 3200}, {30030, 1400},
    };
    struct test_state *ts = *state;
    struct connscan *scan = new_scan(ts, 0);
    const struct conn_table *table;

    use_tree(ts, "container-v1");
    assert_int_equal(connscan_update(scan, 0), 0);
    assert_int_equal(connscan_map_pids(scan, 0), 0);
    table = connscan_table(scan);
    assert_int_equal(table->count, 12);
    assert_int_equal(table->established, 4); /* 3 ESTABLISHED + 1 CLOSE_WAIT */
    assert_int_equal(table->listening, 5);
    assert_int_equal(table->fds_scanned, 13); /* sockets, a file, a pipe, "socket:[bad]" */
    for (size_t i = 0; i < sizeof(owners) / sizeof(owners[0]); i++) {
        if (find_inode(table, owners[i].inode)->pid != owners[i].pid)
            fail_msg("inode %llu owned by %d", (unsigned long long)owners[i].inode,
                     find_inode(table, owners[i].inode)->pid);
    }
    assert_conn(find_inode(table, 30011), CONN_PROTO_TCP, AF_INET6, "10.0.0.5", 2376, "10.0.0.9",
                40000, CONN_STATE_ESTABLISHED, false);
    assert_conn(find_inode(table, 30013), CONN_PROTO_TCP, AF_INET6, "fe80::1c2:3ff:fe04:506", 8443,
                "fe80::aa:bbff:fecc:ddee", 61000, CONN_STATE_CLOSE_WAIT, false);
    assert_conn(find_inode(table, 30021), CONN_PROTO_UDP, AF_INET, "10.0.0.5", 41000, "8.8.8.8", 53,
                CONN_STATE_ESTABLISHED, false);
    assert_int_equal(find_inode(table, 30002)->uid, 999);
    connscan_free(scan);
}

static void owners_carry_over_to_later_updates(void **state)
{
    struct test_state *ts = *state;
    struct connscan *scan = new_scan(ts, 0);

    use_tree(ts, "container-v1");
    assert_int_equal(connscan_update(scan, 0), 0);
    assert_int_equal(connscan_map_pids(scan, 0), 0);
    assert_int_equal(connscan_update(scan, 5000), 0);
    assert_int_equal(connscan_table(scan)->scans, 2);
    assert_int_equal(find_inode(connscan_table(scan), 30003)->pid, 2101);
    assert_int_equal(find_inode(connscan_table(scan), 30030)->pid, 1400);
    connscan_free(scan);
}

static void fd_walk_stops_at_max_fds(void **state)
{
    struct test_state *ts = *state;
    struct connscan *scan = new_scan(ts, 0);
    const struct conn_table *table;

    use_tree(ts, "container-v1");
    assert_int_equal(connscan_update(scan, 0), 0);
    assert_int_equal(connscan_map_pids(scan, 5), 0);
    table = connscan_table(scan);
    assert_int_equal(table->fds_scanned, 5);
    assert_true(table->fds_truncated);
    connscan_free(scan);
}

static void table_is_bounded_but_counts_every_socket(void **state)
{
    struct test_state *ts = *state;
    struct connscan *scan = new_scan(ts, 4);
    const struct conn_table *table;

    use_tree(ts, "container-v1");
    assert_int_equal(connscan_update(scan, 0), 0);
    table = connscan_table(scan);
    assert_int_equal(table->count, 4);
    assert_int_equal(table->dropped, 8);
    assert_int_equal(table->established, 4);
    assert_int_equal(table->listening, 5);
    connscan_free(scan);
}

static void malformed_lines_are_skipped_and_counted(void **state)
{
    struct test_state *ts = *state;
    struct connscan *scan = new_scan(ts, 0);
    char fixture[PATH_MAX];
    char path[PATH_MAX + 32];
    char text[PATH_MAX + 32];
    size_t len;
    FILE *in;
    const struct conn_table *table;

    /* The malformed tree's tcp (its udp has no header: see the next test) */
    fixture_tree_path("proc", "malformed", fixture, sizeof(fixture));
    (void)snprintf(path, sizeof(path), "%s/net/tcp", fixture);
    in = fopen(path, "rb");
    assert_non_null(in);
    len = fread(text, 1, sizeof(text), in);
    assert_int_equal(fclose(in), 0);
    write_net(ts, "tcp", text, len);
    (void)snprintf(path, sizeof(path), "%s/17", ts->root);
    (void)snprintf(text, sizeof(text), "%s/17", fixture);
    assert_int_equal(symlink(text, path), 0);

    assert_int_equal(connscan_update(scan, 0), 0);
    table = connscan_table(scan);
    assert_int_equal(table->count, 2);
    assert_int_equal(table->malformed, 6);
    assert_conn(&table->conns[1], CONN_PROTO_TCP, AF_INET, "127.0.0.1", 8080, "127.0.0.1", 54321,
                CONN_STATE_ESTABLISHED, false);
    assert_int_equal(table->conns[1].uid, 1000);
    /* 17/fd: "socket:[100" and "socket:[]" are not socket links, "socket:[107]" is */
    assert_int_equal(connscan_map_pids(scan, 0), 0);
    assert_int_equal(find_inode(table, 100)->pid, 0);
    assert_int_equal(find_inode(table, 107)->pid, 17);
    assert_int_equal(table->fds_scanned, 4);
    connscan_free(scan);
}

static void file_without_header_gives_ebadmsg_and_keeps_the_table(void **state)
{
    struct test_state *ts = *state;
    struct connscan *scan = new_scan(ts, 0);

    use_tree(ts, "container-v1");
    assert_int_equal(connscan_update(scan, 0), 0);
    use_tree(ts, "malformed");
    assert_int_equal(connscan_update(scan, 1000), -EBADMSG);
    assert_int_equal(connscan_table(scan)->count, 12);
    assert_int_equal(connscan_table(scan)->established, 4);
    assert_int_equal(connscan_table(scan)->scans, 1);
    connscan_free(scan);
}

static void empty_file_is_malformed_and_header_only_is_empty(void **state)
{
    struct test_state *ts = *state;
    struct connscan *scan = new_scan(ts, 0);

    write_net(ts, "tcp", tcp_header, strlen(tcp_header));
    assert_int_equal(connscan_update(scan, 0), 0);
    assert_int_equal(connscan_table(scan)->count, 0);
    write_net(ts, "udp", "", 0);
    assert_int_equal(connscan_update(scan, 1), -EBADMSG);
    connscan_free(scan);
}

static void line_longer_than_the_read_buffer_is_skipped(void **state)
{
    struct test_state *ts = *state;
    struct connscan *scan = new_scan(ts, 0);
    static const char good[] = "   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 "
                               "00:00000000 00000000     0        0 555 1 0 100 0 0 10 0\n";
    size_t long_len = 200000;
    size_t len = strlen(tcp_header) + long_len + 1 + strlen(good);
    char *text = malloc(len);

    assert_non_null(text);
    memcpy(text, tcp_header, strlen(tcp_header));
    memset(text + strlen(tcp_header), '7', long_len);
    text[strlen(tcp_header) + long_len] = '\n';
    memcpy(text + strlen(tcp_header) + long_len + 1, good, strlen(good));
    write_net(ts, "tcp", text, len);
    free(text);
    assert_int_equal(connscan_update(scan, 0), 0);
    assert_int_equal(connscan_table(scan)->malformed, 1);
    assert_int_equal(connscan_table(scan)->count, 1);
    assert_true(connscan_table(scan)->conns[0].inode == 555);
    connscan_free(scan);
}

static void missing_files_give_enoent(void **state)
{
    struct test_state *ts = *state;
    struct connscan *scan = new_scan(ts, 0);

    assert_int_equal(connscan_update(scan, 0), -ENOENT);
    assert_int_equal(connscan_map_pids(scan, 0), -ENOENT);
    use_tree(ts, "container-v2"); /* pids but no net/ */
    assert_int_equal(connscan_update(scan, 1), -ENOENT);
    assert_int_equal(connscan_table(scan)->count, 0);
    connscan_free(scan);
}

static void same_now_keeps_the_table(void **state)
{
    struct test_state *ts = *state;
    struct connscan *scan = new_scan(ts, 0);

    use_tree(ts, "container-v1");
    assert_int_equal(connscan_update(scan, 7), 0);
    use_tree(ts, "real-host");
    assert_int_equal(connscan_update(scan, 7), 0);
    assert_int_equal(connscan_table(scan)->count, 12);
    assert_int_equal(connscan_table(scan)->scans, 1);
    connscan_free(scan);
}

static void real_proc_shows_our_listening_socket_and_owner(void **state)
{
    struct connscan_config config = {.proc_root = "/proc"};
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t addr_len = sizeof(addr);
    struct connscan *scan;
    const struct conn_table *table;
    const struct conn_info *mine = NULL;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &addr_len), 0);
    assert_int_equal(connscan_new(&config, &scan), 0);
    assert_int_equal(connscan_update(scan, 0), 0);
    assert_int_equal(connscan_map_pids(scan, 0), 0);
    table = connscan_table(scan);
    for (size_t i = 0; i < table->count; i++) {
        if (table->conns[i].proto == CONN_PROTO_TCP && table->conns[i].listening &&
            table->conns[i].local_port == ntohs(addr.sin_port) &&
            strcmp(table->conns[i].local_addr, "127.0.0.1") == 0)
            mine = &table->conns[i];
    }
    assert_non_null(mine);
    assert_int_equal(mine->pid, (int)getpid());
    assert_true(table->listening >= 1);
    connscan_free(scan);
    close(fd);
}

static void scan_constructor_rejects_bad_arguments(void **state)
{
    struct connscan_config config = {.proc_root = NULL};
    struct connscan *scan = NULL;
    char long_root[PATH_MAX];

    (void)state;
    assert_int_equal(connscan_new(NULL, &scan), -EINVAL);
    assert_int_equal(connscan_new(&config, &scan), -EINVAL);
    memset(long_root, 'a', sizeof(long_root) - 1);
    long_root[sizeof(long_root) - 1] = '\0';
    config.proc_root = long_root;
    assert_int_equal(connscan_new(&config, &scan), -EINVAL);
    assert_null(scan);
    connscan_free(NULL);
}

static void scan_fails_cleanly_when_any_allocation_fails(void **state)
{
#if FAULT_INJECTION
    struct test_state *ts = *state;
    long fail_at;
    int failures = 0;

    if (!alloc_fail_works())
        skip();
    use_tree(ts, "container-v1");
    /* Some failures are absorbed (a container table that cannot grow drops the container),
     * so every n up to a bound is tried, each ending in 0 or -ENOMEM without a leak. */
    for (fail_at = 0; fail_at < 64; fail_at++) {
        struct connscan_config config = {.proc_root = ts->root};
        struct connscan *scan = NULL;
        int rc;

        alloc_fail_arm(fail_at);
        rc = connscan_new(&config, &scan);
        if (rc == 0)
            rc = connscan_update(scan, 0);
        if (rc == 0)
            rc = connscan_map_pids(scan, 0);
        if (rc == 0)
            rc = connscan_update(scan, 1);
        connscan_free(scan);
        alloc_fail_disarm();
        assert_int_equal(alloc_fail_live(), 0);
        if (rc != 0 && rc != -ENOMEM)
            fail_msg("allocation %ld failing gave %d", fail_at, rc);
        failures += rc == -ENOMEM;
    }
    print_message("  %ld allocations made to fail in turn, %d gave -ENOMEM\n", fail_at, failures);
    assert_true(failures >= 3);
#else
    (void)state;
    skip();
#endif
}

/* ---- cheap counts ---- */

static int fake_listeners_7(size_t *count)
{
    *count = 7;
    return 0;
}

static int fake_listeners_fail(size_t *count)
{
    (void)count;
    return -EPROTONOSUPPORT;
}

static struct connscan *new_counting_scan(const struct test_state *ts,
                                          int (*listeners)(size_t *count))
{
    struct connscan_config config = {.proc_root = ts->root, .tcp_listeners_fn = listeners};
    struct connscan *scan = NULL;

    assert_int_equal(connscan_new(&config, &scan), 0);
    return scan;
}

static void counts_come_from_snmp_listeners_and_udp_without_the_tcp_files(void **state)
{
    struct test_state *ts = *state;
    struct connscan *scan = new_counting_scan(ts, fake_listeners_7);
    struct conn_counts counts;

    use_tree(ts, "container-v1");
    assert_int_equal(connscan_count(scan, 0, &counts), 0);
    assert_false(counts.from_tables);
    assert_int_equal(counts.established, 4);          /* net/snmp CurrEstab */
    assert_int_equal(counts.listening, 7 + 2);        /* the fake's 7 + UDP 0.0.0.0:53, [::]:5353 */
    assert_int_equal(connscan_table(scan)->scans, 0); /* tcp and tcp6 not read */
    connscan_free(scan);
}

static void counts_fall_back_to_the_files(void **state)
{
    static const char bad_snmp[] = "Tcp: RtoAlgorithm CurrEstab\nTcp: 1\n";
    struct test_state *ts = *state;
    struct connscan *scan;
    struct conn_counts counts;

    /* The listener count fails */
    use_tree(ts, "container-v1");
    scan = new_counting_scan(ts, fake_listeners_fail);
    assert_int_equal(connscan_count(scan, 0, &counts), 0);
    assert_true(counts.from_tables);
    assert_int_equal(counts.established, 4);
    assert_int_equal(counts.listening, 5);
    assert_int_equal(connscan_table(scan)->scans, 1);
    connscan_free(scan);

    /* No listener count (fixture trees), or no net/snmp (real-host) */
    scan = new_counting_scan(ts, NULL);
    assert_int_equal(connscan_count(scan, 0, &counts), 0);
    assert_true(counts.from_tables);
    connscan_free(scan);
    use_tree(ts, "real-host");
    scan = new_counting_scan(ts, fake_listeners_7);
    assert_int_equal(connscan_count(scan, 0, &counts), 0);
    assert_true(counts.from_tables);
    assert_int_equal(counts.established, 6);
    assert_int_equal(counts.listening, 4);
    /* Same now: the same counts, nothing read again */
    use_tree(ts, "container-v1");
    assert_int_equal(connscan_count(scan, 0, &counts), 0);
    assert_int_equal(counts.established, 6);
    connscan_free(scan);

    /* A net/snmp without CurrEstab's value */
    (void)unlink(ts->root);
    write_net(ts, "snmp", bad_snmp, strlen(bad_snmp));
    write_net(ts, "tcp", tcp_header, strlen(tcp_header));
    scan = new_counting_scan(ts, fake_listeners_7);
    assert_int_equal(connscan_count(scan, 0, &counts), 0);
    assert_true(counts.from_tables);
    assert_int_equal(counts.listening, 0);
    connscan_free(scan);
}

static void counts_pass_file_errors_on(void **state)
{
    struct test_state *ts = *state;
    struct connscan *scan = new_counting_scan(ts, fake_listeners_7);
    struct conn_counts counts = {.established = 99};

    assert_int_equal(connscan_count(scan, 0, &counts), -ENOENT);
    use_tree(ts, "malformed"); /* no net/snmp: the files, whose udp has no header */
    assert_int_equal(connscan_count(scan, 1, &counts), -EBADMSG);
    assert_int_equal(counts.established, 99); /* untouched */
    connscan_free(scan);
}

static void sock_diag_counts_our_listeners(void **state)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct sockaddr_in6 addr6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int fd6 = socket(AF_INET6, SOCK_STREAM, 0);
    struct connscan_config config = {.proc_root = "/proc",
                                     .tcp_listeners_fn = sockdiag_tcp_listeners};
    struct connscan *scan;
    struct conn_counts counts;
    size_t count = 0;
    int rc;

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(listen(fd, 1), 0);
    if (fd6 >= 0 && bind(fd6, (struct sockaddr *)&addr6, sizeof(addr6)) == 0)
        assert_int_equal(listen(fd6, 1), 0);
    rc = sockdiag_tcp_listeners(&count);
    if (rc == -EPROTONOSUPPORT || rc == -ENOENT) {
        close(fd);
        close(fd6);
        skip(); /* no inet_diag in this kernel */
    }
    assert_int_equal(rc, 0);
    /* Other processes on this machine may listen too: at least ours. */
    assert_true(count >= (fd6 >= 0 ? 2u : 1u));

    assert_int_equal(connscan_new(&config, &scan), 0);
    assert_int_equal(connscan_count(scan, 0, &counts), 0);
    assert_false(counts.from_tables);
    assert_true(counts.listening >= 1);
    assert_int_equal(connscan_table(scan)->scans, 0);
    connscan_free(scan);
    close(fd);
    close(fd6);
}

/* ---- conn collector ---- */

static void conn_collector_counts_established_and_listening(void **state)
{
    struct test_state *ts = *state;
    struct connscan *scan = new_scan(ts, 0);
    struct collector conn;

    use_tree(ts, "container-v1");
    assert_int_equal(collector_conn_new(scan, &conn), 0);
    assert_string_equal(conn.name, "conn");
    assert_int_equal(conn.collect(conn.ctx, 0, ts->batch), 0);
    assert_int_equal(ts->batch->count, 2);
    assert_string_equal(ts->batch->samples[0].name, "conn.established");
    assert_true(ts->batch->samples[0].value == 4.0);
    assert_string_equal(ts->batch->samples[0].label_key, "");
    assert_string_equal(ts->batch->samples[1].name, "conn.listening");
    assert_true(ts->batch->samples[1].value == 5.0);

    metric_batch_reset(ts->batch, 0);
    use_tree(ts, "real-host");
    assert_int_equal(conn.collect(conn.ctx, 5000, ts->batch), 0);
    assert_true(ts->batch->samples[0].value == 6.0);
    assert_true(ts->batch->samples[1].value == 4.0);
    conn.destroy(conn.ctx);
    connscan_free(scan);
}

static void conn_collector_passes_source_errors_on(void **state)
{
    struct test_state *ts = *state;
    struct connscan *scan = new_scan(ts, 0);
    struct collector conn = {0};

    assert_int_equal(collector_conn_new(NULL, &conn), -EINVAL);
    assert_int_equal(collector_conn_new(scan, &conn), 0);
    assert_int_equal(conn.collect(conn.ctx, 0, ts->batch), -ENOENT);
    use_tree(ts, "malformed");
    assert_int_equal(conn.collect(conn.ctx, 1, ts->batch), -EBADMSG);
    assert_int_equal(ts->batch->count, 0);
    use_tree(ts, "container-v1");
    while (ts->batch->count < AGENT_BATCH_MAX - 1)
        assert_int_equal(metric_batch_add(ts->batch, "filler", 0.0), 0);
    assert_int_equal(conn.collect(conn.ctx, 2, ts->batch), -ENOSPC);
    conn.destroy(conn.ctx);
    connscan_free(scan);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, state_setup, state_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(socket_lines_parse_into_text_addresses),
        cmocka_unit_test(malformed_socket_lines_are_refused),
        cmocka_unit_test(state_names_follow_the_protocol),
        T(real_host_capture_lists_every_socket),
        T(real_host_sockets_map_to_their_owner),
        T(container_host_sockets_map_to_the_lowest_owning_pid),
        T(owners_carry_over_to_later_updates),
        T(fd_walk_stops_at_max_fds),
        T(table_is_bounded_but_counts_every_socket),
        T(malformed_lines_are_skipped_and_counted),
        T(file_without_header_gives_ebadmsg_and_keeps_the_table),
        T(empty_file_is_malformed_and_header_only_is_empty),
        T(line_longer_than_the_read_buffer_is_skipped),
        T(missing_files_give_enoent),
        T(same_now_keeps_the_table),
        cmocka_unit_test(real_proc_shows_our_listening_socket_and_owner),
        cmocka_unit_test(scan_constructor_rejects_bad_arguments),
        T(scan_fails_cleanly_when_any_allocation_fails),
        T(counts_come_from_snmp_listeners_and_udp_without_the_tcp_files),
        T(counts_fall_back_to_the_files),
        T(counts_pass_file_errors_on),
        cmocka_unit_test(sock_diag_counts_our_listeners),
        T(conn_collector_counts_established_and_listening),
        T(conn_collector_passes_source_errors_on),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
