/* Unit tests for the host facts: fixture trees under tests/fixtures/{proc,etc,usr,var}/<tree>
 * (or $FIXTURES_DIR; see tests/fixtures/proc/README.md), temporary files for the parsing edge
 * cases, a fixed ifaddrs list for the address filter, and this machine. Single-threaded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edge-agent/hostfacts.h"
#include "tests/support/fixture_tree.h"

/* Roots of fixture tree `tree` (each <fixtures>/<kind>/<tree>). */
struct tree_roots {
    char proc[PATH_MAX], etc[PATH_MAX], usr[PATH_MAX], var[PATH_MAX];
};

static struct hostfacts_options tree_options(struct tree_roots *r, const char *tree)
{
    (void)snprintf(r->proc, sizeof(r->proc), "%s/proc/%s", fixture_tree_dir(), tree);
    (void)snprintf(r->etc, sizeof(r->etc), "%s/etc/%s", fixture_tree_dir(), tree);
    (void)snprintf(r->usr, sizeof(r->usr), "%s/usr/%s", fixture_tree_dir(), tree);
    (void)snprintf(r->var, sizeof(r->var), "%s/var/%s", fixture_tree_dir(), tree);
    return (struct hostfacts_options){
        .proc_root = r->proc, .etc_root = r->etc, .usr_root = r->usr, .var_root = r->var};
}

/* The facts hostfacts_read must find in a fixture tree. */
struct expected_facts {
    const char *hostname, *machine_id, *os_id, *os_version_id, *os_pretty, *kernel, *cpu_model;
    long cpu_cores;
    int64_t mem_total_mb, boot_time_ms;
};

/* Reads fixture tree `tree` into *f and checks every fact but the IPs against want. */
static void assert_tree_facts(const char *tree, const struct expected_facts *want,
                              struct hostfacts *f)
{
    struct tree_roots roots;
    struct hostfacts_options opts = tree_options(&roots, tree);

    assert_int_equal(hostfacts_read(&opts, f), 0);
    assert_string_equal(f->hostname, want->hostname);
    assert_string_equal(f->machine_id, want->machine_id);
    assert_string_equal(f->os_id, want->os_id);
    assert_string_equal(f->os_version_id, want->os_version_id);
    assert_string_equal(f->os_pretty, want->os_pretty);
    assert_string_equal(f->kernel, want->kernel);
    assert_string_equal(f->cpu_model, want->cpu_model);
    assert_int_equal(f->cpu_cores, want->cpu_cores);
    assert_int_equal(f->mem_total_mb, want->mem_total_mb);
    assert_int_equal(f->boot_time_ms, want->boot_time_ms);
}

static void reads_the_captured_vm(void **state)
{
    static const struct expected_facts want = {
        .hostname = "vm",
        .machine_id = "3d1219c7c4c5404aaa1f6d2a48adfda4",
        .os_id = "debian",
        .os_version_id = "12",
        .os_pretty = "Debian GNU/Linux 12 (bookworm)",
        .kernel = "6.18.44-fc-v857",
        .cpu_model = "AMD EPYC",
        .cpu_cores = 2,        /* the ~1000-byte flags lines do not hide a processor */
        .mem_total_mb = 24105, /* 24683652 kB / 1024 */
        .boot_time_ms = 1796142250000,
    };
    struct hostfacts f;

    (void)state;
    assert_tree_facts("facts-vm", &want, &f);
    assert_int_equal(f.ip_count, 0);
}

static void reads_an_arm_board_with_usr_and_dbus_fallbacks(void **state)
{
    static const struct expected_facts want = {
        .hostname = "greenhouse-pi",
        /* /etc/machine-id says "uninitialized": the dbus copy is used */
        .machine_id = "5b0e9f6a2c7d4e18a3f1b6c9d2e4f7a0",
        /* no /etc/os-release: /usr/lib/os-release */
        .os_id = "ubuntu",
        .os_version_id = "24.04",
        .os_pretty = "Ubuntu 24.04.1 LTS",
        .kernel = "6.8.0-1012-raspi",
        /* arm64: no "model name"; the board ("Model") beats the SoC ("Hardware") */
        .cpu_model = "Raspberry Pi 4 Model B Rev 1.4",
        .cpu_cores = 4,
        .mem_total_mb = 7811, /* 7998632 kB / 1024 */
        .boot_time_ms = 1795305600000,
    };
    struct hostfacts f;

    (void)state;
    assert_tree_facts("facts-pi", &want, &f);
}

static void leaves_missing_facts_unknown(void **state)
{
    char name[256] = "";
    struct expected_facts want = {
        .hostname = name, /* gethostname, without the proc file */
        .machine_id = "",
        .os_id = "",
        .os_version_id = "",
        .os_pretty = "",
        .kernel = "",
        .cpu_model = "",
        .cpu_cores = sysconf(_SC_NPROCESSORS_ONLN),
        .mem_total_mb = 0,
        .boot_time_ms = 0,
    };
    struct hostfacts f;

    (void)state;
    assert_int_equal(gethostname(name, sizeof(name) - 1), 0);
    name[64] = '\0';
    assert_tree_facts("facts-missing", &want, &f);
}

/* A temporary root with files written by the test. */
struct temp_root {
    char dir[64];
    char files[8][PATH_MAX];
    size_t file_count;
    char subdirs[4][PATH_MAX];
    size_t subdir_count;
};

static void temp_root_init(struct temp_root *t)
{
    memset(t, 0, sizeof(*t));
    assert_int_equal(fixture_tree_mkdtemp(t->dir, sizeof(t->dir), "hostfacts"), 0);
}

static void temp_mkdir(struct temp_root *t, const char *rel)
{
    char path[PATH_MAX];

    assert_true(t->subdir_count < 4);
    (void)snprintf(path, sizeof(path), "%s/%s", t->dir, rel);
    memcpy(t->subdirs[t->subdir_count++], path, sizeof(path));
    assert_int_equal(mkdir(path, 0700), 0);
}

static void temp_write(struct temp_root *t, const char *rel, const char *text)
{
    char path[PATH_MAX];

    assert_true(t->file_count < 8);
    (void)snprintf(path, sizeof(path), "%s/%s", t->dir, rel);
    memcpy(t->files[t->file_count++], path, sizeof(path));
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void temp_root_remove(struct temp_root *t)
{
    for (size_t i = 0; i < t->file_count; i++)
        (void)unlink(t->files[i]);
    while (t->subdir_count > 0)
        (void)rmdir(t->subdirs[--t->subdir_count]);
    (void)rmdir(t->dir);
}

static void parses_os_release_quoting_and_comments(void **state)
{
    struct temp_root t;
    struct hostfacts f;

    (void)state;
    temp_root_init(&t);
    temp_write(&t, "os-release",
               "# ID=commented\n"
               "NAME=\"Not Read\"\n"
               "  ID=alpine   \n"
               "VERSION_ID='3.20.1'\n"
               "PRETTY_NAME=\"Alpine \\\"edge\\\" \\\\ \\$HOME\"\n"
               "ID_LIKE=ignored\n"
               "VERSION_ID_EXTRA=ignored\n");
    temp_write(&t, "machine-id", "  3D1219C7C4C5404AAA1F6D2A48ADFDA4  \n");
    struct hostfacts_options opts = {
        .proc_root = t.dir, .etc_root = t.dir, .usr_root = t.dir, .var_root = t.dir};
    assert_int_equal(hostfacts_read(&opts, &f), 0);
    assert_string_equal(f.os_id, "alpine");
    assert_string_equal(f.os_version_id, "3.20.1");
    assert_string_equal(f.os_pretty, "Alpine \"edge\" \\ $HOME");
    assert_string_equal(f.machine_id, "3D1219C7C4C5404AAA1F6D2A48ADFDA4");
    temp_root_remove(&t);
}

static void refuses_a_machine_id_that_is_not_32_hex_digits(void **state)
{
    static const char *const bad[] = {"",
                                      "\n",
                                      "uninitialized\n",
                                      "3d1219c7c4c5404aaa1f6d2a48adfda\n",   /* 31 */
                                      "3d1219c7c4c5404aaa1f6d2a48adfda4a\n", /* 33 */
                                      "3d1219c7c4c5404aaa1f6d2a48adfdag\n"};
    struct hostfacts f;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct temp_root t;
        temp_root_init(&t);
        temp_write(&t, "machine-id", bad[i]);
        struct hostfacts_options opts = {
            .proc_root = t.dir, .etc_root = t.dir, .usr_root = t.dir, .var_root = t.dir};
        assert_int_equal(hostfacts_read(&opts, &f), 0);
        assert_string_equal(f.machine_id, "");
        temp_root_remove(&t);
    }
}

static void names_the_cpu_from_model_name_board_or_soc(void **state)
{
    static const struct {
        const char *cpuinfo;
        const char *model;
        int cores;
    } rows[] = {
        /* 32-bit ARM kernels: "model name" per processor, board lines at the end */
        {"processor\t: 0\nmodel name\t: ARMv7 Processor rev 4 (v7l)\n\n"
         "processor\t: 1\nmodel name\t: ARMv7 Processor rev 4 (v7l)\n\n"
         "Hardware\t: BCM2835\nModel\t\t: Raspberry Pi 3 Model B Rev 1.2\n",
         "ARMv7 Processor rev 4 (v7l)", 2},
        /* an arm64 board without "Model": the SoC */
        {"processor\t: 0\nBogoMIPS\t: 48.00\n\nHardware\t: Allwinner sun50i  \n",
         "Allwinner sun50i", 1},
        /* no name at all; "processor" only as a whole key */
        {"processor\t: 0\nprocessors\t: 9\nmodel\t\t: 17\n", "", 1},
        /* no processor lines: the count comes from sysconf */
        {"model name\t: Some CPU\n", "Some CPU", -1},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct temp_root t;
        struct hostfacts f;
        temp_root_init(&t);
        temp_write(&t, "cpuinfo", rows[i].cpuinfo);
        struct hostfacts_options opts = {
            .proc_root = t.dir, .etc_root = t.dir, .usr_root = t.dir, .var_root = t.dir};
        assert_int_equal(hostfacts_read(&opts, &f), 0);
        assert_string_equal(f.cpu_model, rows[i].model);
        assert_int_equal(f.cpu_cores,
                         rows[i].cores > 0 ? rows[i].cores : sysconf(_SC_NPROCESSORS_ONLN));
        temp_root_remove(&t);
    }
}

static void reads_proc_files_with_odd_content(void **state)
{
    struct temp_root t;
    struct hostfacts f;
    char long_line[2000];

    (void)state;
    memset(long_line, 'x', sizeof(long_line) - 1);
    long_line[sizeof(long_line) - 1] = '\0';
    temp_root_init(&t);
    temp_mkdir(&t, "sys");
    temp_mkdir(&t, "sys/kernel");
    temp_write(&t, "sys/kernel/hostname", "\n");              /* empty: gethostname instead */
    temp_write(&t, "sys/kernel/osrelease", "6.1.0-18-amd64"); /* no newline */
    temp_write(&t, "meminfo", "MemFree: 10 kB\nMemTotal:   oops kB\n");
    /* a line longer than the reader's 512-byte buffer whose remainder starts with "btime":
     * the remainder is not a line of its own */
    char stat[2100];
    (void)snprintf(stat, sizeof(stat), "intr %.506sbtime 5 %.900s\nbtime 1700000000\n", long_line,
                   long_line);
    temp_write(&t, "stat", stat);
    struct hostfacts_options opts = {
        .proc_root = t.dir, .etc_root = t.dir, .usr_root = t.dir, .var_root = t.dir};
    assert_int_equal(hostfacts_read(&opts, &f), 0);
    assert_true(f.hostname[0] != '\0');
    assert_string_equal(f.kernel, "6.1.0-18-amd64");
    assert_int_equal(f.mem_total_mb, 0);
    assert_int_equal(f.boot_time_ms, 1700000000000);
    temp_root_remove(&t);
}

static void refuses_null_arguments_and_roots_too_long(void **state)
{
    struct hostfacts f;
    struct hostfacts_options opts = {0};
    char *root = malloc(PATH_MAX);

    (void)state;
    assert_non_null(root);
    memset(root, 'a', PATH_MAX - 10);
    root[PATH_MAX - 10] = '\0';
    assert_int_equal(hostfacts_read(NULL, &f), -EINVAL);
    assert_int_equal(hostfacts_read(&opts, NULL), -EINVAL);
    opts.proc_root = root; /* "<root>/sys/kernel/osrelease" is past PATH_MAX */
    assert_int_equal(hostfacts_read(&opts, &f), -EINVAL);
    free(root);
}

/* ---- addresses -------------------------------------------------------------------------- */

struct fake_if {
    struct ifaddrs ifa;
    struct sockaddr_storage addr;
};

static void fake_if_set(struct fake_if *f, const char *name, unsigned flags, int family,
                        const char *text, struct fake_if *next)
{
    memset(f, 0, sizeof(*f));
    f->ifa.ifa_name = (char *)name;
    f->ifa.ifa_flags = flags;
    f->ifa.ifa_next = next != NULL ? &next->ifa : NULL;
    if (family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&f->addr;
        in->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, text, &in->sin_addr), 1);
    } else if (family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&f->addr;
        in6->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
    } else {
        f->addr.ss_family = (sa_family_t)family;
    }
    f->ifa.ifa_addr = family != AF_UNSPEC ? (struct sockaddr *)&f->addr : NULL;
}

static void keeps_addresses_of_interfaces_that_are_up_and_not_loopback(void **state)
{
    struct fake_if ifs[10];
    struct hostfacts f;
    const unsigned up = IFF_UP | IFF_RUNNING;

    (void)state;
    fake_if_set(&ifs[0], "lo", up | IFF_LOOPBACK, AF_INET, "127.0.0.1", &ifs[1]);
    fake_if_set(&ifs[1], "lo", up | IFF_LOOPBACK, AF_INET6, "::1", &ifs[2]);
    fake_if_set(&ifs[2], "eth0", up, AF_PACKET, NULL, &ifs[3]);
    fake_if_set(&ifs[3], "eth0", up, AF_INET, "192.0.2.2", &ifs[4]);
    fake_if_set(&ifs[4], "eth0", up, AF_INET6, "fd00::2", &ifs[5]);
    fake_if_set(&ifs[5], "eth0", up, AF_INET6, "fe80::fc:ff:fe00:1", &ifs[6]);
    fake_if_set(&ifs[6], "ifb0", 0, AF_INET, "198.51.100.1", &ifs[7]);  /* down */
    fake_if_set(&ifs[7], "tun0", up, AF_UNSPEC, NULL, &ifs[8]);         /* no address */
    fake_if_set(&ifs[8], "dummy0", up, AF_INET, "127.0.0.53", &ifs[9]); /* 127/8 anywhere */
    fake_if_set(&ifs[9], "docker0", up, AF_INET, "172.17.0.1", NULL);
    f.ip_count = 99;
    hostfacts_set_ips(&f, &ifs[0].ifa);
    assert_int_equal(f.ip_count, 3);
    assert_int_equal(f.ips_dropped, 0);
    assert_string_equal(f.ips[0].ifname, "eth0");
    assert_string_equal(f.ips[0].addr, "192.0.2.2");
    assert_string_equal(f.ips[1].ifname, "eth0");
    assert_string_equal(f.ips[1].addr, "fd00::2");
    assert_string_equal(f.ips[2].ifname, "docker0");
    assert_string_equal(f.ips[2].addr, "172.17.0.1");
    hostfacts_set_ips(&f, NULL);
    assert_int_equal(f.ip_count, 0);
}

static void counts_addresses_beyond_the_maximum(void **state)
{
    enum { N = HOSTFACTS_MAX_IPS + 8 };
    struct fake_if *ifs = calloc(N, sizeof(*ifs));
    char texts[N][16];
    struct hostfacts f;

    (void)state;
    assert_non_null(ifs);
    for (int i = N - 1; i >= 0; i--) {
        (void)snprintf(texts[i], sizeof(texts[i]), "10.0.0.%d", i + 1);
        fake_if_set(&ifs[i], "a-very-long-interface-name", IFF_UP, AF_INET, texts[i],
                    i + 1 < N ? &ifs[i + 1] : NULL);
    }
    hostfacts_set_ips(&f, &ifs[0].ifa);
    assert_int_equal(f.ip_count, HOSTFACTS_MAX_IPS);
    assert_int_equal(f.ips_dropped, 8);
    assert_string_equal(f.ips[0].ifname, "a-very-long-int"); /* cut at IF_NAMESIZE */
    assert_string_equal(f.ips[HOSTFACTS_MAX_IPS - 1].addr, "10.0.0.32");
    free(ifs);
}

static void reads_this_machine(void **state)
{
    struct hostfacts_options opts = {0};
    struct hostfacts f;

    (void)state;
    assert_int_equal(hostfacts_read(&opts, &f), 0);
    assert_true(f.hostname[0] != '\0');
    assert_true(f.kernel[0] != '\0');
    assert_true(f.cpu_cores > 0);
    assert_true(f.mem_total_mb > 0);
    assert_true(f.boot_time_ms > 0);
    assert_int_equal(hostfacts_read_ips(&f), 0);
    for (size_t i = 0; i < f.ip_count; i++) {
        assert_true(f.ips[i].ifname[0] != '\0');
        assert_true(strcmp(f.ips[i].addr, "127.0.0.1") != 0);
        assert_true(strcmp(f.ips[i].addr, "::1") != 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_the_captured_vm),
        cmocka_unit_test(reads_an_arm_board_with_usr_and_dbus_fallbacks),
        cmocka_unit_test(leaves_missing_facts_unknown),
        cmocka_unit_test(parses_os_release_quoting_and_comments),
        cmocka_unit_test(refuses_a_machine_id_that_is_not_32_hex_digits),
        cmocka_unit_test(names_the_cpu_from_model_name_board_or_soc),
        cmocka_unit_test(reads_proc_files_with_odd_content),
        cmocka_unit_test(refuses_null_arguments_and_roots_too_long),
        cmocka_unit_test(keeps_addresses_of_interfaces_that_are_up_and_not_loopback),
        cmocka_unit_test(counts_addresses_beyond_the_maximum),
        cmocka_unit_test(reads_this_machine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
