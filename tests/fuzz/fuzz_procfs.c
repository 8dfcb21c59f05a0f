/* libFuzzer target for the agent's /proc and cgroup parsers: the first byte picks one of
 * cgroup_path_parse, proc_stat_parse and connscan_parse_line (tcp, tcp6, udp, udp6), the
 * rest is its input. Beyond "no crash": every string result is terminated within its field,
 * a container id is empty or 64 hex digits, and a refused input leaves nothing behind.
 * Single-threaded. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "edge-agent/cgroup_path.h"
#include "edge-agent/connscan.h"
#include "edge-agent/proc_stat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_terminated(const char *field, size_t size)
{
    if (memchr(field, '\0', size) == NULL)
        abort();
}

static void fuzz_cgroup(const char *text, size_t len)
{
    struct cgroup_container cg;
    int rc = cgroup_path_parse(text, len, &cg);
    size_t id_len;

    check_terminated(cg.id, sizeof(cg.id));
    check_terminated(cg.runtime, sizeof(cg.runtime));
    check_terminated(cg.pod_uid, sizeof(cg.pod_uid));
    check_terminated(cg.cpu_dir, sizeof(cg.cpu_dir));
    check_terminated(cg.mem_dir, sizeof(cg.mem_dir));
    id_len = strlen(cg.id);
    if ((rc != 0 && rc != -EBADMSG) || (id_len != 0 && id_len != 64) || (rc != 0 && id_len != 0) ||
        (id_len == 0 && (cg.cpu_dir[0] || cg.mem_dir[0])))
        abort();
    for (size_t i = 0; i < id_len; i++) {
        if (!((cg.id[i] >= '0' && cg.id[i] <= '9') || (cg.id[i] >= 'a' && cg.id[i] <= 'f')))
            abort();
    }
}

static void fuzz_stat(const char *text, size_t len)
{
    struct proc_stat f;
    int rc = proc_stat_parse(text, len, &f);

    check_terminated(f.name, sizeof(f.name));
    if (rc != 0 && rc != -EBADMSG)
        abort();
    if (rc == 0 && f.pid <= 0)
        abort();
    for (const unsigned char *p = (const unsigned char *)f.name; *p != '\0'; p++) {
        if (*p < 0x20 || *p == 0x7f)
            abort(); /* control characters are replaced */
    }
}

static void fuzz_conn(const char *text, size_t len, unsigned which)
{
    struct conn_info c;
    int rc = connscan_parse_line(text, len, (which & 1) ? CONN_PROTO_UDP : CONN_PROTO_TCP,
                                 (which & 2) ? AF_INET6 : AF_INET, &c);

    check_terminated(c.local_addr, sizeof(c.local_addr));
    check_terminated(c.remote_addr, sizeof(c.remote_addr));
    if ((rc != 0 && rc != -EBADMSG) || (rc == 0 && (c.state == 0 || c.state > 255)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data + 1;

    if (size == 0)
        return 0;
    switch (data[0] % 3) {
    case 0:
        fuzz_cgroup(text, size - 1);
        break;
    case 1:
        fuzz_stat(text, size - 1);
        break;
    default:
        fuzz_conn(text, size - 1, data[0] / 3);
        break;
    }
    return 0;
}
