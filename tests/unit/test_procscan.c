/* Unit tests for the process scanner (procscan), the cgroup path parser and the proc and
 * container collectors, against the fixture trees tests/fixtures/proc/<tree> and
 * tests/fixtures/sys/<tree> (or under $FIXTURES_DIR) and this machine's /proc. A test points
 * a symlink at a tree and re-points it at the "-later" tree between two scans. Expected
 * values are worked out by hand from the fixture files (see tests/fixtures/proc/README.md).
 * Single-threaded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "edge-agent/batch.h"
#include "edge-agent/cgroup_path.h"
#include "edge-agent/collector.h"
#include "edge-agent/procscan.h"
#include "tests/support/alloc_fail.h"
#include "tests/support/fixture_tree.h"

#define FAULT_INJECTION ALLOC_FAIL_AVAILABLE

/* Container ids of the fixture trees (tests/fixtures/proc/README.md). */
#define ID_A "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00112233445566778899"
#define ID_B "b0c1d2e3f405162738495a6b7c8d9eaf0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"
#define ID_C "c001d00dcafe0123456789abcdef0123456789abcdef0123456789abcdef0123"
#define ID_D "d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2"
#define ID_E "e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5"
#define ID_P "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
#define ID_Q "1111222233334444555566667777888899990000aaaabbbbccccddddeeeeffff"
#define ID_R "2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b"
#define ID_S "5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f"
#define ID_T "7e57ab1e7e57ab1e7e57ab1e7e57ab1e7e57ab1e7e57ab1e7e57ab1e7e57ab1e"
#define ID_U "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define UID_1 "0d7e3c2a-1b4f-4a8e-9c6d-5f2e1a0b3c4d"
#define UID_2 "7a1b2c3d-4e5f-4a6b-8c9d-0e1f2a3b4c5d"
#define UID_3 "9f8e7d6c-5b4a-4938-8271-605f4e3d2c1b"
#define UID_4 "4d3c2b1a-0f9e-4d8c-b7a6-958473625140"
#define UID_5 "3a8f1c2e9b7d4e6fa0b1c2d3e4f5a6b7"

struct test_state {
    char dir[64];        /* temporary directory */
    char proc_link[128]; /* <dir>/proc -> a fixture tree */
    char sys_link[128];  /* <dir>/sys -> a fixture tree */
    struct metric_batch *batch;
};

static int state_setup(void **state)
{
    struct test_state *ts = calloc(1, sizeof(*ts));

    if (ts == NULL ||
        fixture_tree_open(ts->dir, sizeof(ts->dir), "procscan", 1795321260000, &ts->batch) != 0) {
        free(ts);
        return -1;
    }
    (void)snprintf(ts->proc_link, sizeof(ts->proc_link), "%s/proc", ts->dir);
    (void)snprintf(ts->sys_link, sizeof(ts->sys_link), "%s/sys", ts->dir);
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

static void use_proc(const struct test_state *ts, const char *tree)
{
    fixture_tree_link(ts->proc_link, "proc", tree);
}

static void use_sys(const struct test_state *ts, const char *tree)
{
    fixture_tree_link(ts->sys_link, "sys", tree);
}

/* A scan of the fixture link: 100 ticks/s, 4 KiB pages, no kept fds (the symlink is
 * re-pointed between scans, which a kept fd would not see). */
static struct procscan *new_scan(const struct test_state *ts)
{
    struct procscan_config config = {
        .proc_root = ts->proc_link, .ticks_per_s = 100, .page_size = 4096, .kept_fds = -1};
    struct procscan *scan = NULL;

    assert_int_equal(procscan_new(&config, &scan), 0);
    return scan;
}

/* A new scan of fixture tree `tree` at now_ms. The caller frees it. */
static struct procscan *scan_tree(const struct test_state *ts, const char *tree, int64_t now_ms)
{
    struct procscan *scan;

    use_proc(ts, tree);
    scan = new_scan(ts);
    assert_int_equal(procscan_update(scan, now_ms), 0);
    return scan;
}

/* scan_tree of tree at first_ms, then an update from later_tree at later_ms. */
static struct procscan *scan_two(const struct test_state *ts, const char *tree, int64_t first_ms,
                                 const char *later_tree, int64_t later_ms)
{
    struct procscan *scan = scan_tree(ts, tree, first_ms);

    use_proc(ts, later_tree);
    assert_int_equal(procscan_update(scan, later_ms), 0);
    return scan;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    fixture_tree_write(dir, name, text, strlen(text));
}

static const struct proc_info *find_proc(const struct procscan *scan, int pid)
{
    const struct proc_info *info = proc_table_find(procscan_table(scan), pid);

    if (info == NULL)
        fail_msg("pid %d not in the scan", pid);
    return info;
}

static const struct container_info *find_container(const struct proc_table *table, const char *id)
{
    for (size_t i = 0; i < table->container_count; i++) {
        if (strcmp(table->containers[i].id, id) == 0)
            return &table->containers[i];
    }
    fail_msg("container %.12s not in the scan", id);
    return NULL;
}

static const struct batch_sample *find_sample(const struct metric_batch *batch, const char *name,
                                              const char *label_value)
{
    for (size_t i = 0; i < batch->count; i++) {
        if (strcmp(batch->samples[i].name, name) == 0 &&
            strcmp(batch->samples[i].label_value, label_value) == 0)
            return &batch->samples[i];
    }
    return NULL;
}

#define assert_sample(batch, name, label, expected)                                                \
    do {                                                                                           \
        const struct batch_sample *found_ = find_sample((batch), (name), (label));                 \
        if (found_ == NULL)                                                                        \
            fail_msg("sample %s{%s} missing", (name), (label));                                    \
        if (found_->value != (expected))                                                           \
            fail_msg("sample %s{%s} is %.17g, expected %.17g", (name), (label), found_->value,     \
                     (double)(expected));                                                          \
    } while (0)

/* The i-th sample is name{key=label} = expected. */
static void assert_nth(const struct metric_batch *batch, size_t i, const char *name,
                       const char *key, const char *label, double expected)
{
    if (i >= batch->count)
        fail_msg("sample %zu missing (batch has %zu)", i, batch->count);
    if (strcmp(batch->samples[i].name, name) != 0 || strcmp(batch->samples[i].label_key, key) ||
        strcmp(batch->samples[i].label_value, label) != 0 || batch->samples[i].value != expected)
        fail_msg("sample %zu is %s{%s=%s} %.17g, expected %s{%s=%s} %.17g", i,
                 batch->samples[i].name, batch->samples[i].label_key, batch->samples[i].label_value,
                 batch->samples[i].value, name, key, label, expected);
}

/* ---- cgroup_path ---- */

/* 13 lines of a cgroup v1 host (Ubuntu 20.04 layout) with every controller at path. */
#define V1_LINES(path)                                                                             \
    "12:pids:" path "\n11:hugetlb:" path "\n10:net_cls,net_prio:" path "\n9:perf_event:" path      \
    "\n8:blkio:" path "\n7:freezer:" path "\n6:devices:" path "\n5:memory:" path                   \
    "\n4:cpuset:" path "\n3:cpu,cpuacct:" path "\n2:rdma:/\n1:name=systemd:" path "\n0::/\n"

static void cgroup_path_recognises_every_runtime_layout(void **state)
{
    static const struct {
        const char *text;
        const char *id, *runtime, *pod_uid;
        bool v1;
        const char *cpu_dir, *mem_dir;
    } cases[] = {
        /* Docker, cgroupfs driver, v1 */
        {V1_LINES("/docker/" ID_A), ID_A, "docker", "", true, "cpu,cpuacct/docker/" ID_A,
         "memory/docker/" ID_A},
        /* Docker, systemd driver, v2 and v1 */
        {"0::/system.slice/docker-" ID_B ".scope\n", ID_B, "docker", "", false,
         "system.slice/docker-" ID_B ".scope", "system.slice/docker-" ID_B ".scope"},
        {V1_LINES("/system.slice/docker-" ID_B ".scope"), ID_B, "docker", "", true,
         "cpu,cpuacct/system.slice/docker-" ID_B ".scope",
         "memory/system.slice/docker-" ID_B ".scope"},
        /* Docker, cgroupfs, v2; a container's own sub-cgroup */
        {"0::/docker/" ID_A "/init\n", ID_A, "docker", "", false, "docker/" ID_A, "docker/" ID_A},
        /* containerd */
        {"0::/containerd/" ID_T "\n", ID_T, "containerd", "", false, "containerd/" ID_T,
         "containerd/" ID_T},
        {"0::/kubepods.slice/kubepods-pod" UID_5 ".slice/cri-containerd-" ID_S ".scope\n", ID_S,
         "containerd", UID_5, false,
         "kubepods.slice/kubepods-pod" UID_5 ".slice/cri-containerd-" ID_S ".scope",
         "kubepods.slice/kubepods-pod" UID_5 ".slice/cri-containerd-" ID_S ".scope"},
        /* CRI-O, systemd and cgroupfs */
        {"0::/kubepods.slice/kubepods-burstable.slice/"
         "kubepods-burstable-pod4d3c2b1a_0f9e_4d8c_b7a6_958473625140.slice/crio-" ID_R ".scope\n",
         ID_R, "cri-o", UID_4, false,
         "kubepods.slice/kubepods-burstable.slice/"
         "kubepods-burstable-pod4d3c2b1a_0f9e_4d8c_b7a6_958473625140.slice/crio-" ID_R ".scope",
         "kubepods.slice/kubepods-burstable.slice/"
         "kubepods-burstable-pod4d3c2b1a_0f9e_4d8c_b7a6_958473625140.slice/crio-" ID_R ".scope"},
        {V1_LINES("/kubepods/burstable/pod" UID_4 "/crio-" ID_R), ID_R, "cri-o", UID_4, true,
         "cpu,cpuacct/kubepods/burstable/pod" UID_4 "/crio-" ID_R,
         "memory/kubepods/burstable/pod" UID_4 "/crio-" ID_R},
        /* Podman: systemd scope (its payload in the "container" sub-cgroup) and cgroupfs */
        {"0::/machine.slice/libpod-" ID_P ".scope/container\n", ID_P, "podman", "", false,
         "machine.slice/libpod-" ID_P ".scope", "machine.slice/libpod-" ID_P ".scope"},
        {"0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID_P ".scope\n",
         ID_P, "podman", "", false,
         "user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID_P ".scope",
         "user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID_P ".scope"},
        {"0::/libpod_parent/libpod-" ID_Q "\n", ID_Q, "podman", "", false,
         "libpod_parent/libpod-" ID_Q, "libpod_parent/libpod-" ID_Q},
        /* Kubelet, cgroupfs driver: burstable, besteffort, guaranteed; runtime not named */
        {V1_LINES("/kubepods/burstable/pod" UID_1 "/" ID_C), ID_C, "", UID_1, true,
         "cpu,cpuacct/kubepods/burstable/pod" UID_1 "/" ID_C,
         "memory/kubepods/burstable/pod" UID_1 "/" ID_C},
        {"0::/kubepods/besteffort/pod" UID_1 "/" ID_C "\n", ID_C, "", UID_1, false,
         "kubepods/besteffort/pod" UID_1 "/" ID_C, "kubepods/besteffort/pod" UID_1 "/" ID_C},
        {"0::/kubepods/pod" UID_3 "/" ID_E "\n", ID_E, "", UID_3, false,
         "kubepods/pod" UID_3 "/" ID_E, "kubepods/pod" UID_3 "/" ID_E},
        /* Kubelet, systemd driver, Docker runtime */
        {"0::/kubepods.slice/kubepods-besteffort.slice/"
         "kubepods-besteffort-pod7a1b2c3d_4e5f_4a6b_8c9d_0e1f2a3b4c5d.slice/docker-" ID_D
         ".scope\n",
         ID_D, "docker", UID_2, false,
         "kubepods.slice/kubepods-besteffort.slice/"
         "kubepods-besteffort-pod7a1b2c3d_4e5f_4a6b_8c9d_0e1f2a3b4c5d.slice/docker-" ID_D ".scope",
         "kubepods.slice/kubepods-besteffort.slice/"
         "kubepods-besteffort-pod7a1b2c3d_4e5f_4a6b_8c9d_0e1f2a3b4c5d.slice/docker-" ID_D ".scope"},
        /* v1 with cpu and cpuacct mounted apart (this build VM) and no memory line */
        {"3:cpuset:/\n2:cpuacct:/docker/" ID_A "\n1:cpu:/docker/" ID_A "\n0::/\n", ID_A, "docker",
         "", true, "cpuacct/docker/" ID_A, ""},
        /* Docker in Docker: the innermost container */
        {"0::/docker/" ID_A "/docker/" ID_B "\n", ID_B, "docker", "", false,
         "docker/" ID_A "/docker/" ID_B, "docker/" ID_A "/docker/" ID_B},
        /* Not containers: conmon's scopes, hosts, short or upper-case ids, no parent runtime */
        {"0::/machine.slice/libpod-conmon-" ID_P ".scope\n", "", "", "", false, "", ""},
        {"0::/kubepods.slice/kubepods-pod" UID_5 ".slice/crio-conmon-" ID_R ".scope\n", "", "", "",
         false, "", ""},
        {"0::/\n", "", "", "", false, "", ""},
        {"0::/user.slice/user-1000.slice/session-2.scope\n", "", "", "", false, "", ""},
        {"4:memory:/process_api/a206bdc41b18c330973d1ba054cfabe2\n0::/\n", "", "", "", true, "",
         ""},
        {"0::/docker/3f4e5d6c7b8a99887766554433221100ffeeddccbbaa0011223344556677889\n", "", "", "",
         false, "", ""},
        {"0::/docker/3F4E5D6C7B8A99887766554433221100FFEEDDCCBBAA00112233445566778899\n", "", "",
         "", false, "", ""},
        {"0::/somewhere/" ID_A "\n", "", "", "", false, "", ""},
        {"0::/system.slice/docker-" ID_B ".scopex\n", "", "", "", false, "", ""},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cgroup_container cg;

        if (cgroup_path_parse(cases[i].text, strlen(cases[i].text), &cg) != 0)
            fail_msg("case %zu refused", i);
        if (strcmp(cg.id, cases[i].id) != 0 || strcmp(cg.runtime, cases[i].runtime) != 0 ||
            strcmp(cg.pod_uid, cases[i].pod_uid) != 0 || cg.v1 != cases[i].v1 ||
            strcmp(cg.cpu_dir, cases[i].cpu_dir) != 0 || strcmp(cg.mem_dir, cases[i].mem_dir))
            fail_msg("case %zu: got id '%s' runtime '%s' pod '%s' v1 %d cpu '%s' mem '%s'", i,
                     cg.id, cg.runtime, cg.pod_uid, cg.v1, cg.cpu_dir, cg.mem_dir);
    }
}

static void cgroup_path_rejects_malformed_text(void **state)
{
    static const struct {
        const char *text;
        size_t len;
    } bad[] = {
        {"", 0},
        {"\n", 1},
        {"not a cgroup file\n", 18},
        {"x:cpu:/a\n", 9},
        {":cpu:/a\n", 8},
        {"1:cpu\n", 6},
        {"1:cpu:relative\n", 15},
        {"1:cpu:\n", 7},
        {"0::/ok\n\n0::/more\n", 17},
        {"0::/a\0b\n", 8},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct cgroup_container cg;

        if (cgroup_path_parse(bad[i].text, bad[i].len, &cg) != -EBADMSG)
            fail_msg("case %zu accepted", i);
        assert_string_equal(cg.id, "");
    }
}

static void cgroup_path_too_long_for_a_dir_keeps_the_id(void **state)
{
    char text[1200];
    char deep[700];
    struct cgroup_container cg;

    (void)state;
    memset(deep, 'd', sizeof(deep) - 1);
    deep[sizeof(deep) - 1] = '\0';
    (void)snprintf(text, sizeof(text), "0::/%s/docker-%s.scope\n", deep, ID_B);
    assert_int_equal(cgroup_path_parse(text, strlen(text), &cg), 0);
    assert_string_equal(cg.id, ID_B);
    assert_string_equal(cg.runtime, "docker");
    assert_string_equal(cg.cpu_dir, "");
    assert_string_equal(cg.mem_dir, "");
}

/* ---- stat parsing ---- */

static void stat_parser_takes_the_name_up_to_the_last_parenthesis(void **state)
{
    static const struct {
        const char *line;
        const char *name;
        int ppid;
    } cases[] = {
        {"950 (a) b (c) S 1 950 950 0 -1 0 0 0 0 0 4 0 0 0 20 0 1 0 9000 0 384\n", "a) b (c", 1},
        {"77 ((sd-pam)) S 76 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1500 0 128\n", "(sd-pam)", 76},
        {"5 ()) R 0 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0\n", ")", 0},
        {"6 () S 2 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0\n", "", 2},
        {"7 (x y z) S 3 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0", "x y z", 3},
        {"8 (0123456789abcdefghij) S 3 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0\n",
         "0123456789abcde", 3},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct proc_stat f;

        if (proc_stat_parse(cases[i].line, strlen(cases[i].line), &f) != 0)
            fail_msg("case %zu refused", i);
        assert_string_equal(f.name, cases[i].name);
        assert_int_equal(f.ppid, cases[i].ppid);
    }
}

static void stat_parser_reads_the_fields_it_needs(void **state)
{
    /* Captured: tests/fixtures/proc/real-host/12654/stat */
    static const char line[] =
        "12654 (busy) (loop) R 12611 12606 489 0 -1 4194368 274 0 0 0 189 0 0 0 20 0 1 0 440063 "
        "17645568 2786 18446744073709551615 94672470843392 94672470843733 140721470475552 0 0 0 "
        "0 16781318 0 0 0 0 17 0 0 0 0 0 0 94672470855088 94672470855704 94672925777920 "
        "140721470482586 140721470482637 140721470482637 140721470484431 0\n";
    struct proc_stat f;

    (void)state;
    assert_int_equal(proc_stat_parse(line, sizeof(line) - 1, &f), 0);
    assert_int_equal(f.pid, 12654);
    assert_string_equal(f.name, "busy) (loop");
    assert_int_equal(f.state, 'R');
    assert_int_equal(f.ppid, 12611);
    assert_int_equal(f.utime_ticks, 189);
    assert_int_equal(f.stime_ticks, 0);
    assert_int_equal(f.threads, 1);
    assert_int_equal(f.start_ticks, 440063);
    assert_int_equal(f.rss_pages, 2786);
}

static void stat_parser_rejects_malformed_lines(void **state)
{
    static const char *const bad[] = {
        "",
        "12",
        "12 nginx S 1 0 0 0 -1 0 0 0 0 0 5 5 0 0 20 0 1 0 100 0 10\n",        /* no parentheses */
        "12 (nginx S 1 0 0 0 -1 0 0 0 0 0 5 5 0 0 20 0 1 0 100 0 10\n",       /* no ')' */
        "(nginx) S 1 0 0 0 -1 0 0 0 0 0 5 5 0 0 20 0 1 0 100 0 10\n",         /* no pid */
        "0 (x) S 1 0 0 0 -1 0 0 0 0 0 5 5 0 0 20 0 1 0 100 0 10\n",           /* pid 0 */
        "1x (x) S 1 0 0 0 -1 0 0 0 0 0 5 5 0 0 20 0 1 0 100 0 10\n",          /* pid not a number */
        "99999999999 (x) S 1 0 0 0 -1 0 0 0 0 0 5 5 0 0 20 0 1 0 100 0 10\n", /* beyond int */
        "12(x) S 1 0 0 0 -1 0 0 0 0 0 5 5 0 0 20 0 1 0 100 0 10\n",           /* no blank */
        "12 (x) S\n",                                                 /* cut after the state */
        "12 (x) S 1 0 0 0 -1 0 0 0 0 0 5 5 0 0 20 0 1 0 100 0\n",     /* no rss */
        "12 (x) S 1 0 0 0 -1 0 0 0 0 0 5x 5 0 0 20 0 1 0 100 0 10\n", /* utime not a number */
        "12 (x) S 1 0 0 0 -1 0 0 0 0 0 -5 5 0 0 20 0 1 0 100 0 10\n", /* negative utime */
        "12 (x) S -1 0 0 0 -1 0 0 0 0 0 5 5 0 0 20 0 1 0 100 0 10\n", /* negative ppid */
        "12 (x) S 1 0 0 0 -1 0 0 0 0 0 99999999999999999999999 5 0 0 20 0 1 0 100 0 10\n",
        "12 (x) S 1 0 0 0 -1 0 0 0 0 0 5 5 0 0 20 0 99999999999 0 100 0 10\n", /* threads */
        "12 (x) 7 1 0 0 0 -1 0 0 0 0 0 5 5 0 0 20 0 1 0 100 0 10\n",   /* state not a letter */
        "12 (x) SS 1 0 0 0 -1 0 0 0 0 0 5 5 0 0 20 0 1 0 100 0 10\n",  /* state two letters */
        "12 (x) S  1 0 0 0 -1 0 0 0 0 0 5 5 0 0 20 0 1 0 100 0 10\n",  /* two blanks */
        "12 (x) S 1 0 0 0 -1 0 0 0 0 0 5 5 0 0 20 0 1 0 100 0 - 10\n", /* lone minus */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct proc_stat f;

        if (proc_stat_parse(bad[i], strlen(bad[i]), &f) != -EBADMSG)
            fail_msg("case %zu (%s) accepted", i, bad[i]);
    }
}

static void stat_parser_cleans_names_into_printable_utf8(void **state)
{
    static const struct {
        const char *comm;
        const char *name;
    } cases[] = {
        {"\x01"
         "bad\xff"
         "\xc3\xa9t\xc3",
         "?bad?\xc3\xa9t?"}, /* control, bad byte, é, cut é */
        {"tab\there", "tab?here"},
        {"new\nline", "new?line"},
        {"\xe2\x82\xac"
         "uro",
         "\xe2\x82\xac"
         "uro"},                      /* € */
        {"\xed\xa0\x80", "???"},      /* a UTF-16 surrogate */
        {"\xc0\xaf", "??"},           /* overlong '/' */
        {"\xf4\x90\x80\x80", "????"}, /* beyond U+10FFFF */
        {"\xf0\x9f\x98\x80"
         "smile",
         "\xf0\x9f\x98\x80"
         "smile"}, /* 😀 */
        {"del\x7f", "del?"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char line[256];
        struct proc_stat f;
        int len =
            snprintf(line, sizeof(line),
                     "42 (%s) S 1 0 0 0 -1 0 0 0 0 0 5 5 0 0 20 0 1 0 100 0 10\n", cases[i].comm);

        assert_int_equal(proc_stat_parse(line, (size_t)len, &f), 0);
        if (strcmp(f.name, cases[i].name) != 0)
            fail_msg("case %zu: name '%s'", i, f.name);
    }
}

/* ---- procscan on the fixture trees ---- */

static void real_host_capture_gives_names_memory_and_no_rate_yet(void **state)
{
    struct test_state *ts = *state;
    struct procscan *scan;
    const struct proc_table *table;
    const struct proc_info *busy;

    scan = scan_tree(ts, "real-host", 0);
    table = procscan_table(scan);
    assert_int_equal(table->count, 4);
    assert_int_equal(table->scans, 1);
    assert_int_equal(table->procs_malformed, 0);
    assert_int_equal(table->container_count, 0); /* process_api/<32 hex> is no container */
    /* sorted by pid whatever the directory order */
    assert_int_equal(table->procs[0].pid, 2);
    assert_int_equal(table->procs[1].pid, 12611);
    assert_int_equal(table->procs[2].pid, 12612);
    assert_int_equal(table->procs[3].pid, 12654);

    busy = find_proc(scan, 12654);
    assert_string_equal(busy->name, "busy) (loop");
    assert_int_equal(busy->state, 'R');
    assert_int_equal(busy->ppid, 12611);
    assert_int_equal(busy->cpu_ticks, 189);
    assert_int_equal(busy->start_ticks, 440063);
    assert_int_equal(busy->rss_bytes, 2786 * 4096);
    assert_true(busy->mem_mb == 2786.0 * 4096 / 1048576);
    assert_false(busy->has_cpu);
    assert_true(busy->cpu_pct == 0.0);
    assert_true(busy->gpu_mem_mb == 0.0);
    assert_string_equal(busy->container_id, "");
    assert_int_equal(busy->container, -1);

    assert_string_equal(find_proc(scan, 2)->name, "kthreadd");
    assert_int_equal(find_proc(scan, 2)->rss_bytes, 0);
    assert_string_equal(find_proc(scan, 12611)->name, "sockholder");
    assert_int_equal(find_proc(scan, 12611)->rss_bytes, 3699 * 4096);
    assert_string_equal(find_proc(scan, 12612)->name, "sleep");
    assert_null(proc_table_find(table, 3));
    procscan_free(scan);
}

static void real_host_cpu_pct_comes_from_two_captures(void **state)
{
    struct test_state *ts = *state;
    struct procscan *scan;

    /* The two reads of 12654/stat were 1158 ms apart (README). */
    scan = scan_two(ts, "real-host", 10000, "real-host-later", 11158);
    assert_true(find_proc(scan, 12654)->has_cpu);
    /* 303 - 189 = 114 ticks at 100/s over 1.158 s = 98.4456 % */
    assert_true(metric_round(find_proc(scan, 12654)->cpu_pct, 2) == 98.45);
    assert_true(find_proc(scan, 12654)->cpu_pct == 114.0 * 100000.0 / (100.0 * 1158.0));
    assert_true(find_proc(scan, 12611)->has_cpu);
    assert_true(find_proc(scan, 12611)->cpu_pct == 0.0);
    assert_true(find_proc(scan, 2)->cpu_pct == 0.0);
    assert_int_equal(procscan_table(scan)->scans, 2);
    procscan_free(scan);
}

static void precise_rss_reads_statm(void **state)
{
    struct test_state *ts = *state;
    struct procscan_config config = {
        .proc_root = ts->proc_link, .ticks_per_s = 100, .page_size = 4096, .precise_rss = true};
    struct procscan *scan;

    use_proc(ts, "real-host");
    assert_int_equal(procscan_new(&config, &scan), 0);
    assert_int_equal(procscan_update(scan, 0), 0);
    /* statm "4879 3751 ..." where stat's rss field says 3699 */
    assert_int_equal(find_proc(scan, 12611)->rss_bytes, 3751 * 4096);
    assert_int_equal(find_proc(scan, 12654)->rss_bytes, 2813 * 4096);
    assert_int_equal(find_proc(scan, 2)->rss_bytes, 0);
    procscan_free(scan);
}

struct expected_container {
    int pid;
    const char *id, *runtime, *pod_uid;
};

/* Scans fixture tree `tree` (12 processes) once and checks each listed pid's container id,
 * runtime and pod uid. The caller frees the scan. */
static struct procscan *scan_containers(const struct test_state *ts, const char *tree,
                                        const struct expected_container *expect, size_t count)
{
    struct procscan *scan = scan_tree(ts, tree, 0);

    assert_int_equal(procscan_table(scan)->count, 12);
    for (size_t i = 0; i < count; i++) {
        const struct proc_info *info = find_proc(scan, expect[i].pid);

        if (strcmp(info->container_id, expect[i].id) != 0 ||
            strcmp(info->runtime, expect[i].runtime) != 0 ||
            strcmp(info->pod_uid, expect[i].pod_uid) != 0)
            fail_msg("pid %d: container '%s' runtime '%s' pod '%s'", expect[i].pid,
                     info->container_id, info->runtime, info->pod_uid);
    }
    return scan;
}

static void cgroup_v1_host_gives_docker_and_kubernetes_containers(void **state)
{
    static const struct expected_container expect[] = {
        {1, "", "", ""},
        {812, "", "", ""},
        {1400, "", "", ""},
        {2100, ID_A, "docker", ""},
        {2101, ID_A, "docker", ""},
        {2300, ID_B, "docker", ""},
        {3100, ID_C, "", UID_1},
        {3200, ID_D, "docker", UID_2},
        {3300, ID_E, "", UID_3},
    };
    struct test_state *ts = *state;
    struct procscan *scan;
    const struct proc_table *table;
    const struct container_info *c;

    scan = scan_containers(ts, "container-v1", expect, sizeof(expect) / sizeof(expect[0]));
    table = procscan_table(scan);
    for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
        const struct proc_info *info = find_proc(scan, expect[i].pid);

        if (expect[i].id[0] == '\0')
            assert_int_equal(info->container, -1);
        else
            assert_string_equal(table->containers[info->container].id, expect[i].id);
    }
    assert_string_equal(find_proc(scan, 950)->name, "(sd-pam)");

    /* A (3 procs: 2100 2101 2200), B, C, D, E, sorted by id */
    assert_int_equal(table->container_count, 5);
    assert_string_equal(table->containers[0].id, ID_A);
    assert_string_equal(table->containers[4].id, ID_E);
    c = find_container(table, ID_A);
    assert_string_equal(c->short_id, "3f4e5d6c7b8a");
    assert_string_equal(c->runtime, "docker");
    assert_true(c->cgroup_v1);
    assert_int_equal(c->procs, 3);
    assert_string_equal(c->cpu_dir, "cpu,cpuacct/docker/" ID_A);
    assert_string_equal(c->mem_dir, "memory/docker/" ID_A);
    assert_true(c->procs_mem_mb == 10.0 + 15.0 + 4.0); /* 2560 + 3840 + 1024 pages */
    c = find_container(table, ID_C);
    assert_string_equal(c->pod_uid, UID_1);
    assert_string_equal(c->cpu_dir, "cpu,cpuacct/kubepods/besteffort/pod" UID_1 "/" ID_C);
    procscan_free(scan);
}

static void cpu_pct_is_tick_delta_over_the_interval(void **state)
{
    static const struct {
        int pid;
        bool has_cpu;
        double cpu_pct; /* Δticks / 100 per s / 5 s */
    } expect[] = {
        {1, true, 0.6},     {812, true, 4.4},   {950, true, 0.0},   {1400, true, 0.2},
        {2100, true, 10.0}, {2101, true, 25.0}, {2300, true, 2.0},  {3100, true, 1.0},
        {3200, true, 7.4},  {3300, true, 0.0},  {2200, false, 0.0}, /* pid reused: another start
                                                                       time */
        {2400, false, 0.0},                                         /* new */
    };
    struct test_state *ts = *state;
    struct procscan *scan;
    const struct proc_table *table;

    scan = scan_two(ts, "container-v1", 1000, "container-v1-later", 6000);
    table = procscan_table(scan);
    assert_int_equal(table->count, 12);
    assert_null(proc_table_find(table, 1500)); /* exited */
    for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
        const struct proc_info *info = find_proc(scan, expect[i].pid);

        if (info->has_cpu != expect[i].has_cpu || info->cpu_pct != expect[i].cpu_pct)
            fail_msg("pid %d: has_cpu %d cpu_pct %.17g", expect[i].pid, info->has_cpu,
                     info->cpu_pct);
    }
    assert_string_equal(find_proc(scan, 2200)->name, "python3");
    assert_string_equal(find_proc(scan, 2200)->container_id, ID_A);
    assert_int_equal(find_container(table, ID_A)->procs, 4);
    assert_true(find_container(table, ID_A)->procs_cpu_pct == 35.0);
    procscan_free(scan);
}

static void cgroup_v2_host_gives_podman_crio_and_containerd_containers(void **state)
{
    static const struct expected_container expect[] = {
        {1, "", "", ""},
        {700, "", "", ""}, /* conmon */
        {701, ID_P, "podman", ""},
        {720, ID_Q, "podman", ""},
        {800, "", "", ""},
        {810, ID_R, "cri-o", UID_4},
        {811, "", "", ""}, /* conmon */
        {900, ID_S, "containerd", UID_5},
        {910, ID_T, "containerd", ""},
        {920, ID_U, "docker", ""},
        {950, "", "", ""},
        {960, "", "", ""},
    };
    struct test_state *ts = *state;
    struct procscan *scan;
    const struct proc_table *table;
    const struct container_info *c;

    scan = scan_containers(ts, "container-v2", expect, sizeof(expect) / sizeof(expect[0]));
    table = procscan_table(scan);
    assert_string_equal(find_proc(scan, 950)->name, "a) b (c");
    assert_string_equal(find_proc(scan, 960)->name, "kworker/0:1-eve");
    assert_int_equal(find_proc(scan, 960)->state, 'I');
    assert_int_equal(table->container_count, 6);
    c = find_container(table, ID_P);
    assert_false(c->cgroup_v1);
    assert_string_equal(c->cpu_dir, "machine.slice/libpod-" ID_P ".scope");
    assert_string_equal(c->mem_dir, c->cpu_dir);
    assert_int_equal(c->procs, 1);
    procscan_free(scan);
}

static void same_now_keeps_the_scan_already_made(void **state)
{
    struct test_state *ts = *state;
    struct procscan *scan;

    /* the second update at the same now_ms is the second collector of the cycle */
    scan = scan_two(ts, "container-v1", 500, "container-v1-later", 500);
    assert_int_equal(procscan_table(scan)->scans, 1);
    assert_non_null(proc_table_find(procscan_table(scan), 1500));
    procscan_free(scan);
}

static void malformed_pids_are_skipped_and_counted(void **state)
{
    struct test_state *ts = *state;
    struct procscan *scan;
    const struct proc_table *table;

    scan = scan_tree(ts, "malformed", 0);
    table = procscan_table(scan);
    /* 10 11 12 13 14 19 20 malformed; 16 has no stat; self, 0123, 12abc are no pids */
    assert_int_equal(table->procs_malformed, 7);
    assert_int_equal(table->count, 3);
    assert_int_equal(table->procs[0].pid, 15);
    assert_int_equal(table->procs[1].pid, 17);
    assert_int_equal(table->procs[2].pid, 18);
    assert_string_equal(find_proc(scan, 15)->container_id, ""); /* garbage cgroup file */
    assert_string_equal(find_proc(scan, 17)->name, "?bad?\xc3\xa9t?");
    assert_string_equal(find_proc(scan, 18)->runtime, "docker");
    procscan_free(scan);
}

static void missing_proc_root_gives_enoent_and_keeps_the_table(void **state)
{
    struct test_state *ts = *state;
    struct procscan *scan;

    scan = scan_tree(ts, "container-v1", 0);
    assert_int_equal(unlink(ts->proc_link), 0);
    assert_int_equal(procscan_update(scan, 5000), -ENOENT);
    assert_int_equal(procscan_table(scan)->count, 12);
    assert_int_equal(procscan_table(scan)->scans, 1);
    /* Back: the rates cover the whole time since the last good scan. */
    use_proc(ts, "container-v1-later");
    assert_int_equal(procscan_update(scan, 10000), 0);
    assert_true(find_proc(scan, 2101)->cpu_pct == 12.5); /* 125 ticks over 10 s */
    procscan_free(scan);
}

static void process_count_is_bounded(void **state)
{
    struct test_state *ts = *state;
    struct procscan_config config = {
        .proc_root = ts->proc_link, .ticks_per_s = 100, .max_procs = 5, .kept_fds = -1};
    struct procscan *scan;

    use_proc(ts, "container-v1");
    assert_int_equal(procscan_new(&config, &scan), 0);
    assert_int_equal(procscan_update(scan, 0), 0);
    assert_int_equal(procscan_table(scan)->count, 5);
    assert_int_equal(procscan_table(scan)->procs_dropped, 7);
    procscan_free(scan);
}

static int open_fd_count(void)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *entry;
    int count = 0;

    assert_non_null(dir);
    while ((entry = readdir(dir)) != NULL)
        count += entry->d_name[0] != '.';
    closedir(dir);
    return count;
}

static const char stat_before[] = "4242 (worker) S 1 0 0 0 -1 0 0 0 0 0 100 50 0 0 20 0 3 0 "
                                  "7000 0 256\n";
static const char stat_after[] = "4242 (worker) R 1 0 0 0 -1 0 0 0 0 0 130 70 0 0 20 0 3 0 "
                                 "7000 0 512\n";

/* A pid directory in the temporary proc root. */
static void make_pid(const struct test_state *ts, const char *root, const char *pid,
                     const char *stat_text)
{
    char dir[256];

    (void)snprintf(dir, sizeof(dir), "%s/%s", root, pid);
    (void)mkdir(root, 0700);
    (void)mkdir(dir, 0700);
    write_file(dir, "stat", stat_text);
    write_file(dir, "cgroup", "0::/\n");
    (void)ts;
}

static void kept_stat_fds_read_fresh_values_and_are_closed(void **state)
{
    struct test_state *ts = *state;
    struct procscan_config config = {.proc_root = NULL, .ticks_per_s = 100, .page_size = 4096};
    struct procscan *scan;
    char root[128];
    int fds_before = open_fd_count();

    (void)snprintf(root, sizeof(root), "%s/own", ts->dir);
    make_pid(ts, root, "4242", stat_before);
    config.proc_root = root;
    assert_int_equal(procscan_new(&config, &scan), 0);
    assert_int_equal(procscan_update(scan, 0), 0);
    assert_int_equal(open_fd_count(), fds_before + 1); /* the stat file stays open */
    make_pid(ts, root, "4242", stat_after);            /* rewritten in place */
    assert_int_equal(procscan_update(scan, 2000), 0);
    assert_int_equal(find_proc(scan, 4242)->state, 'R');
    assert_true(find_proc(scan, 4242)->cpu_pct == 25.0); /* 50 ticks over 2 s */
    assert_int_equal(find_proc(scan, 4242)->rss_bytes, 512 * 4096);
    assert_int_equal(open_fd_count(), fds_before + 1);
    procscan_free(scan);
    assert_int_equal(open_fd_count(), fds_before);
}

static void scan_of_the_real_proc_finds_this_process(void **state)
{
    struct procscan_config config = {.proc_root = "/proc"};
    struct procscan *scan;
    const struct proc_info *self;
    struct timespec start;
    struct timespec now;
    volatile unsigned long spin = 0;

    (void)state;
    assert_int_equal(procscan_new(&config, &scan), 0);
    assert_int_equal(procscan_update(scan, 1), 0);
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        for (int i = 0; i < 100000; i++)
            spin++;
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < 300);
    assert_int_equal(procscan_update(scan, 301), 0);
    assert_true(procscan_table(scan)->count > 1);
    self = proc_table_find(procscan_table(scan), (int)getpid());
    assert_non_null(self);
    assert_string_equal(self->name, "test_procscan");
    assert_true(self->has_cpu);
    assert_true(self->cpu_pct > 0.0);
    assert_true(self->rss_bytes > 0);
    procscan_free(scan);
}

static void scan_constructor_rejects_bad_arguments(void **state)
{
    struct procscan_config config = {.proc_root = NULL};
    struct procscan *scan = NULL;
    char long_root[PATH_MAX + 10];

    (void)state;
    assert_int_equal(procscan_new(NULL, &scan), -EINVAL);
    assert_int_equal(procscan_new(&config, &scan), -EINVAL);
    memset(long_root, 'a', sizeof(long_root) - 1);
    long_root[sizeof(long_root) - 1] = '\0';
    config.proc_root = long_root;
    assert_int_equal(procscan_new(&config, &scan), -EINVAL);
    config.proc_root = "/proc";
    config.ticks_per_s = -1;
    assert_int_equal(procscan_new(&config, &scan), -EINVAL);
    assert_null(scan);
    procscan_free(NULL);
}

/* The n-th allocation fails, for every n: procscan_new or procscan_update returns -ENOMEM,
 * the previous table stays, nothing leaks. */
static void scan_fails_cleanly_when_any_allocation_fails(void **state)
{
#if FAULT_INJECTION
    struct test_state *ts = *state;
    long fail_at;
    int failures = 0;
    int fds_before = open_fd_count();

    if (!alloc_fail_works())
        skip();
    use_proc(ts, "container-v1");
    /* Some failures are absorbed (a container table that cannot grow drops the container),
     * so every n up to a bound is tried, each ending in 0 or -ENOMEM without a leak. */
    for (fail_at = 0; fail_at < 64; fail_at++) {
        struct procscan_config config = {
            .proc_root = ts->proc_link, .ticks_per_s = 100, .max_procs = 0, .kept_fds = 4};
        struct procscan *scan = NULL;
        int rc;

        alloc_fail_arm(fail_at);
        rc = procscan_new(&config, &scan);
        if (rc == 0) {
            rc = procscan_update(scan, 0);
            if (rc == 0)
                rc = procscan_update(scan, 1000);
            if (rc != 0)
                assert_true(procscan_table(scan)->scans <= 1);
        }
        procscan_free(scan);
        alloc_fail_disarm();
        assert_int_equal(alloc_fail_live(), 0);
        if (rc != 0 && rc != -ENOMEM)
            fail_msg("allocation %ld failing gave %d", fail_at, rc);
        failures += rc == -ENOMEM;
    }
    print_message("  %ld allocations made to fail in turn, %d gave -ENOMEM\n", fail_at, failures);
    assert_true(failures >= 4);
    assert_int_equal(open_fd_count(), fds_before); /* kept stat fds closed on every path */
#else
    (void)state;
    skip();
#endif
}

/* ---- proc collector ---- */

static void proc_collector_ranks_top_n_by_cpu_and_by_memory(void **state)
{
    struct test_state *ts = *state;
    struct collector_env env = {.proc_root = ts->proc_link, .top_n = 3};
    struct procscan *scan;
    struct collector proc;

    use_proc(ts, "container-v1");
    scan = new_scan(ts);
    assert_int_equal(collector_proc_new(&env, scan, &proc), 0);
    assert_string_equal(proc.name, "proc");
    assert_int_equal(proc.collect(proc.ctx, 1000, ts->batch), 0);
    /* First cycle: memory only (a CPU share needs two scans). */
    assert_int_equal(ts->batch->count, 3);
    assert_nth(ts->batch, 0, "proc.top.mem_mb", "process", "postgres:2300", 128.0);
    assert_nth(ts->batch, 1, "proc.top.mem_mb", "process", "dockerd:812", 80.0);
    assert_nth(ts->batch, 2, "proc.top.mem_mb", "process", "kube-proxy:3100", 40.0);

    metric_batch_reset(ts->batch, 0);
    use_proc(ts, "container-v1-later");
    assert_int_equal(proc.collect(proc.ctx, 6000, ts->batch), 0);
    assert_int_equal(ts->batch->count, 6);
    assert_nth(ts->batch, 0, "proc.top.cpu_pct", "process", "nginx:2101", 25.0);
    assert_nth(ts->batch, 1, "proc.top.cpu_pct", "process", "nginx:2100", 10.0);
    assert_nth(ts->batch, 2, "proc.top.cpu_pct", "process", "coredns:3200", 7.4);
    assert_nth(ts->batch, 3, "proc.top.mem_mb", "process", "postgres:2300", 128.0);
    assert_nth(ts->batch, 4, "proc.top.mem_mb", "process", "dockerd:812", 80.0);
    assert_nth(ts->batch, 5, "proc.top.mem_mb", "process", "kube-proxy:3100", 40.0);
    proc.destroy(proc.ctx);
    procscan_free(scan);
}

static void proc_collector_breaks_ties_by_pid_and_leaves_out_zeros(void **state)
{
    struct test_state *ts = *state;
    struct collector_env env = {.proc_root = ts->proc_link}; /* top_n 0: 10 */
    struct procscan *scan;
    struct collector proc;
    size_t cpu_samples = 0;
    size_t mem_samples = 0;

    use_proc(ts, "container-v2");
    scan = new_scan(ts);
    assert_int_equal(collector_proc_new(&env, scan, &proc), 0);
    assert_int_equal(proc.collect(proc.ctx, 0, ts->batch), 0);
    metric_batch_reset(ts->batch, 0);
    use_proc(ts, "container-v2-later");
    assert_int_equal(proc.collect(proc.ctx, 5000, ts->batch), 0);
    /* 10 processes used CPU (conmon 700 and 811 did not); 11 have resident memory (not the
     * kworker). */
    for (size_t i = 0; i < ts->batch->count; i++) {
        if (strcmp(ts->batch->samples[i].name, "proc.top.cpu_pct") == 0)
            cpu_samples++;
        else
            mem_samples++;
    }
    assert_int_equal(cpu_samples, 10);
    assert_int_equal(mem_samples, 10);
    assert_nth(ts->batch, 0, "proc.top.cpu_pct", "process", "coredns:810", 30.0);
    assert_nth(ts->batch, 1, "proc.top.cpu_pct", "process", "httpd:701", 10.0); /* tie: */
    assert_nth(ts->batch, 2, "proc.top.cpu_pct", "process", "etcd:900", 10.0);  /* lower pid */
    assert_nth(ts->batch, 3, "proc.top.cpu_pct", "process", "redis-server:720", 5.0);
    assert_nth(ts->batch, 9, "proc.top.cpu_pct", "process", "a) b (c:950", 0.4);
    assert_null(find_sample(ts->batch, "proc.top.cpu_pct", "conmon:700"));
    assert_sample(ts->batch, "proc.top.cpu_pct", "kworker/0:1-eve:960", 0.8);
    assert_nth(ts->batch, 10, "proc.top.mem_mb", "process", "etcd:900", 100.0);
    assert_null(find_sample(ts->batch, "proc.top.mem_mb", "kworker/0:1-eve:960"));
    proc.destroy(proc.ctx);
    procscan_free(scan);
}

static void proc_collector_reports_missing_and_malformed_sources(void **state)
{
    struct test_state *ts = *state;
    struct collector_env env = {.proc_root = ts->proc_link};
    struct procscan *scan;
    struct collector proc;
    char root[128];

    scan = new_scan(ts); /* the link does not exist yet */
    assert_int_equal(collector_proc_new(&env, scan, &proc), 0);
    assert_int_equal(proc.collect(proc.ctx, 0, ts->batch), -ENOENT);
    /* A directory without pids */
    (void)snprintf(root, sizeof(root), "%s/empty", ts->dir);
    assert_int_equal(mkdir(root, 0700), 0);
    assert_int_equal(symlink(root, ts->proc_link), 0);
    assert_int_equal(proc.collect(proc.ctx, 1, ts->batch), -ENOENT);
    /* Only malformed pids */
    make_pid(ts, root, "77", "77 (broken S 1\n");
    assert_int_equal(proc.collect(proc.ctx, 2, ts->batch), -EBADMSG);
    assert_int_equal(ts->batch->count, 0);
    proc.destroy(proc.ctx);
    procscan_free(scan);
}

static void proc_collector_full_batch_gives_enospc(void **state)
{
    struct test_state *ts = *state;
    struct collector_env env = {.proc_root = ts->proc_link, .top_n = 3};
    struct procscan *scan;
    struct collector proc;

    use_proc(ts, "container-v1");
    scan = new_scan(ts);
    assert_int_equal(collector_proc_new(&env, scan, &proc), 0);
    while (ts->batch->count < AGENT_BATCH_MAX - 1)
        assert_int_equal(metric_batch_add(ts->batch, "filler", 0.0), 0);
    assert_int_equal(proc.collect(proc.ctx, 0, ts->batch), -ENOSPC);
    assert_int_equal(ts->batch->count, AGENT_BATCH_MAX);
    proc.destroy(proc.ctx);
    procscan_free(scan);
}

static void proc_collector_rejects_bad_arguments(void **state)
{
    struct test_state *ts = *state;
    struct collector_env env = {.proc_root = "/proc", .top_n = COLLECTOR_PROC_MAX_TOP + 1};
    struct procscan *scan = new_scan(ts);
    struct collector proc = {0};

    assert_int_equal(collector_proc_new(&env, scan, &proc), -EINVAL);
    env.top_n = 1;
    assert_int_equal(collector_proc_new(&env, NULL, &proc), -EINVAL);
    assert_int_equal(collector_proc_new(NULL, scan, &proc), -EINVAL);
    assert_null(proc.ctx);
    procscan_free(scan);
}

/* ---- container collector ---- */

/* A container collector on tree (proc and sys) after its first collect, at 1000 ms. */
static void run_container_cycles(struct test_state *ts, const char *tree,
                                 struct collector *out_container, struct procscan **out_scan)
{
    struct collector_env env = {.proc_root = ts->proc_link, .sys_root = ts->sys_link};

    use_proc(ts, tree);
    use_sys(ts, tree);
    *out_scan = new_scan(ts);
    assert_int_equal(collector_container_new(&env, *out_scan, out_container), 0);
    assert_string_equal(out_container->name, "container");
    assert_int_equal(out_container->collect(out_container->ctx, 1000, ts->batch), 0);
}

static void container_v1_cpu_and_memory_come_from_cpuacct_and_memory(void **state)
{
    struct test_state *ts = *state;
    struct collector container;
    struct procscan *scan;

    run_container_cycles(ts, "container-v1", &container, &scan);
    /* First cycle: memory only. E (pause) has no cgroup files: skipped. */
    assert_int_equal(ts->batch->count, 4);
    assert_nth(ts->batch, 0, "container.mem_mb", "container", "3f4e5d6c7b8a", 26.0);
    assert_nth(ts->batch, 1, "container.mem_mb", "container", "b0c1d2e3f405", 128.0);
    assert_nth(ts->batch, 2, "container.mem_mb", "container", "c001d00dcafe", 40.0);
    assert_nth(ts->batch, 3, "container.mem_mb", "container", "d1e2f3a4b5c6", 21.0);

    metric_batch_reset(ts->batch, 0);
    use_proc(ts, "container-v1-later");
    use_sys(ts, "container-v1-later");
    assert_int_equal(container.collect(container.ctx, 6000, ts->batch), 0);
    assert_int_equal(ts->batch->count, 8);
    /* cpuacct.usage deltas in ns over 5 s */
    assert_nth(ts->batch, 0, "container.cpu_pct", "container", "3f4e5d6c7b8a", 35.0);
    assert_nth(ts->batch, 1, "container.mem_mb", "container", "3f4e5d6c7b8a", 27.0);
    assert_sample(ts->batch, "container.cpu_pct", "b0c1d2e3f405", 2.0);
    assert_sample(ts->batch, "container.cpu_pct", "c001d00dcafe", 1.0);
    assert_sample(ts->batch, "container.cpu_pct", "d1e2f3a4b5c6", 7.4);
    assert_null(find_sample(ts->batch, "container.cpu_pct", "e5e5e5e5e5e5"));
    assert_null(find_sample(ts->batch, "container.mem_mb", "e5e5e5e5e5e5"));
    container.destroy(container.ctx);
    procscan_free(scan);
}

static void container_v2_cpu_and_memory_come_from_cpu_stat_and_memory_current(void **state)
{
    struct test_state *ts = *state;
    struct collector container;
    struct procscan *scan;

    run_container_cycles(ts, "container-v2", &container, &scan);
    metric_batch_reset(ts->batch, 0);
    use_proc(ts, "container-v2-later");
    use_sys(ts, "container-v2-later");
    assert_int_equal(container.collect(container.ctx, 6000, ts->batch), 0);
    /* usage_usec deltas over 5 s */
    assert_sample(ts->batch, "container.cpu_pct", "a0a1a2a3a4a5", 10.0);
    assert_sample(ts->batch, "container.mem_mb", "a0a1a2a3a4a5", 50.0);
    assert_sample(ts->batch, "container.cpu_pct", "111122223333", 5.0);
    assert_sample(ts->batch, "container.mem_mb", "111122223333", 8.0);
    assert_sample(ts->batch, "container.cpu_pct", "2c3d4e5f6071", 30.0);
    assert_sample(ts->batch, "container.mem_mb", "2c3d4e5f6071", 30.0);
    assert_null(find_sample(ts->batch, "container.cpu_pct", "5e6f7a8b9c0d")); /* no cpu.stat */
    assert_sample(ts->batch, "container.mem_mb", "5e6f7a8b9c0d", 100.0);
    assert_sample(ts->batch, "container.cpu_pct", "7e57ab1e7e57", 2.0);
    assert_null(find_sample(ts->batch, "container.mem_mb", "7e57ab1e7e57")); /* no memory */
    assert_null(find_sample(ts->batch, "container.mem_mb", "0123456789ab")); /* no files */
    assert_int_equal(ts->batch->count, 8);
    container.destroy(container.ctx);
    procscan_free(scan);
}

static void container_with_malformed_or_missing_cgroup_files_is_skipped(void **state)
{
    struct test_state *ts = *state;
    struct collector container;
    struct procscan *scan;

    run_container_cycles(ts, "malformed", &container, &scan);
    assert_int_equal(container.collect(container.ctx, 2000, ts->batch), 0);
    assert_int_equal(ts->batch->count, 0);
    /* No sys tree at all */
    assert_int_equal(unlink(ts->sys_link), 0);
    use_proc(ts, "container-v1");
    assert_int_equal(container.collect(container.ctx, 3000, ts->batch), 0);
    assert_int_equal(ts->batch->count, 0);
    container.destroy(container.ctx);
    procscan_free(scan);
}

static void container_collector_shares_the_scan_with_the_proc_collector(void **state)
{
    struct test_state *ts = *state;
    struct collector_env env = {.proc_root = ts->proc_link, .sys_root = ts->sys_link, .top_n = 1};
    struct collector proc;
    struct collector container;
    struct procscan *scan;

    use_proc(ts, "container-v1");
    use_sys(ts, "container-v1");
    scan = new_scan(ts);
    assert_int_equal(collector_proc_new(&env, scan, &proc), 0);
    assert_int_equal(collector_container_new(&env, scan, &container), 0);
    assert_int_equal(proc.collect(proc.ctx, 1000, ts->batch), 0);
    assert_int_equal(container.collect(container.ctx, 1000, ts->batch), 0);
    assert_int_equal(procscan_table(scan)->scans, 1); /* one scan for both */
    container.destroy(container.ctx);
    proc.destroy(proc.ctx);
    procscan_free(scan);
}

static void container_collector_rejects_bad_arguments(void **state)
{
    struct test_state *ts = *state;
    struct collector_env env = {.proc_root = "/proc", .sys_root = NULL};
    struct procscan *scan = new_scan(ts);
    struct collector container = {0};

    assert_int_equal(collector_container_new(&env, scan, &container), -EINVAL);
    env.sys_root = "/sys";
    assert_int_equal(collector_container_new(&env, NULL, &container), -EINVAL);
    assert_null(container.ctx);
    procscan_free(scan);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cgroup_path_recognises_every_runtime_layout),
        cmocka_unit_test(cgroup_path_rejects_malformed_text),
        cmocka_unit_test(cgroup_path_too_long_for_a_dir_keeps_the_id),
        cmocka_unit_test(stat_parser_takes_the_name_up_to_the_last_parenthesis),
        cmocka_unit_test(stat_parser_reads_the_fields_it_needs),
        cmocka_unit_test(stat_parser_rejects_malformed_lines),
        cmocka_unit_test(stat_parser_cleans_names_into_printable_utf8),
        cmocka_unit_test_setup_teardown(real_host_capture_gives_names_memory_and_no_rate_yet,
                                        state_setup, state_teardown),
        cmocka_unit_test_setup_teardown(real_host_cpu_pct_comes_from_two_captures, state_setup,
                                        state_teardown),
        cmocka_unit_test_setup_teardown(precise_rss_reads_statm, state_setup, state_teardown),
        cmocka_unit_test_setup_teardown(cgroup_v1_host_gives_docker_and_kubernetes_containers,
                                        state_setup, state_teardown),
        cmocka_unit_test_setup_teardown(cpu_pct_is_tick_delta_over_the_interval, state_setup,
                                        state_teardown),
        cmocka_unit_test_setup_teardown(cgroup_v2_host_gives_podman_crio_and_containerd_containers,
                                        state_setup, state_teardown),
        cmocka_unit_test_setup_teardown(same_now_keeps_the_scan_already_made, state_setup,
                                        state_teardown),
        cmocka_unit_test_setup_teardown(malformed_pids_are_skipped_and_counted, state_setup,
                                        state_teardown),
        cmocka_unit_test_setup_teardown(missing_proc_root_gives_enoent_and_keeps_the_table,
                                        state_setup, state_teardown),
        cmocka_unit_test_setup_teardown(process_count_is_bounded, state_setup, state_teardown),
        cmocka_unit_test_setup_teardown(kept_stat_fds_read_fresh_values_and_are_closed, state_setup,
                                        state_teardown),
        cmocka_unit_test(scan_of_the_real_proc_finds_this_process),
        cmocka_unit_test(scan_constructor_rejects_bad_arguments),
        cmocka_unit_test_setup_teardown(scan_fails_cleanly_when_any_allocation_fails, state_setup,
                                        state_teardown),
        cmocka_unit_test_setup_teardown(proc_collector_ranks_top_n_by_cpu_and_by_memory,
                                        state_setup, state_teardown),
        cmocka_unit_test_setup_teardown(proc_collector_breaks_ties_by_pid_and_leaves_out_zeros,
                                        state_setup, state_teardown),
        cmocka_unit_test_setup_teardown(proc_collector_reports_missing_and_malformed_sources,
                                        state_setup, state_teardown),
        cmocka_unit_test_setup_teardown(proc_collector_full_batch_gives_enospc, state_setup,
                                        state_teardown),
        cmocka_unit_test_setup_teardown(proc_collector_rejects_bad_arguments, state_setup,
                                        state_teardown),
        cmocka_unit_test_setup_teardown(container_v1_cpu_and_memory_come_from_cpuacct_and_memory,
                                        state_setup, state_teardown),
        cmocka_unit_test_setup_teardown(
            container_v2_cpu_and_memory_come_from_cpu_stat_and_memory_current, state_setup,
            state_teardown),
        cmocka_unit_test_setup_teardown(container_with_malformed_or_missing_cgroup_files_is_skipped,
                                        state_setup, state_teardown),
        cmocka_unit_test_setup_teardown(container_collector_shares_the_scan_with_the_proc_collector,
                                        state_setup, state_teardown),
        cmocka_unit_test_setup_teardown(container_collector_rejects_bad_arguments, state_setup,
                                        state_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
