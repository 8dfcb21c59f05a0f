/* Host facts (see hostfacts.h): small line-oriented readers of /proc and /etc files, each
 * leaving its fact unknown when the source is missing or does not parse. Keeps no state. */
#include "edge-agent/hostfacts.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Lines longer than this (cpuinfo "flags", stat "intr") are read up to it; the rest is
 * skipped, which is harmless because no fact we read lives there. */
#define LINE_MAX_BYTES 512

struct roots {
    const char *proc;
    const char *etc;
    const char *usr;
    const char *var;
};

static void copy_text(char *out, size_t out_size, const char *text, size_t len)
{
    if (len >= out_size)
        len = out_size - 1;
    memcpy(out, text, len);
    out[len] = '\0';
}

/* Writes "<root>/<rel>"; false when it does not fit. */
static bool join_path(char *out, size_t out_size, const char *root, const char *rel)
{
    int n = snprintf(out, out_size, "%s/%s", root, rel);

    return n > 0 && (size_t)n < out_size;
}

static FILE *open_under(const char *root, const char *rel)
{
    char path[PATH_MAX];

    if (!join_path(path, sizeof(path), root, rel))
        return NULL;
    return fopen(path, "re");
}

/* Next line without its newline, or NULL at the end. A line longer than the buffer is
 * returned cut and its remainder skipped. */
static char *next_line(FILE *f, char *buf, size_t size)
{
    size_t len;
    int c;

    if (fgets(buf, (int)size, f) == NULL)
        return NULL;
    len = strlen(buf);
    if (len > 0 && buf[len - 1] == '\n') {
        buf[len - 1] = '\0';
        return buf;
    }
    while ((c = fgetc(f)) != EOF && c != '\n')
        ;
    return buf;
}

static const char *skip_space(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* Length of s without trailing white space. */
static size_t trimmed_len(const char *s, size_t len)
{
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        len--;
    return len;
}

/* The first line of <root>/<rel>, trimmed, into out. False when missing or empty. */
static bool read_first_line(const char *root, const char *rel, char *out, size_t out_size)
{
    char line[LINE_MAX_BYTES];
    FILE *f = open_under(root, rel);
    const char *text;
    bool found = false;

    if (f == NULL)
        return false;
    if (next_line(f, line, sizeof(line)) != NULL) {
        text = skip_space(line);
        size_t len = trimmed_len(text, strlen(text));
        if (len > 0) {
            copy_text(out, out_size, text, len);
            found = true;
        }
    }
    fclose(f);
    return found;
}

/* "key : value" (cpuinfo) or "Key: value" (meminfo): when line's key is key, returns the
 * value with leading blanks skipped, else NULL. */
static const char *colon_value(const char *line, const char *key)
{
    const char *colon = strchr(line, ':');
    size_t key_len;

    if (colon == NULL)
        return NULL;
    key_len = trimmed_len(line, (size_t)(colon - line));
    if (key_len != strlen(key) || memcmp(line, key, key_len) != 0)
        return NULL;
    return skip_space(colon + 1);
}

static void read_hostname(const struct roots *r, struct hostfacts *out)
{
    char name[256];

    if (read_first_line(r->proc, "sys/kernel/hostname", out->hostname, sizeof(out->hostname)))
        return;
    if (gethostname(name, sizeof(name) - 1) == 0) {
        name[sizeof(name) - 1] = '\0';
        copy_text(out->hostname, sizeof(out->hostname), name, strlen(name));
    }
}

static bool machine_id_valid(const char *id)
{
    size_t i;

    for (i = 0; id[i] != '\0'; i++)
        if (!isxdigit((unsigned char)id[i]))
            return false;
    return i == 32;
}

/* systemd leaves "uninitialized" (or an empty file) in /etc/machine-id until first boot
 * completes; the dbus copy is then the one to use. */
static void read_machine_id(const struct roots *r, struct hostfacts *out)
{
    char id[LINE_MAX_BYTES];

    if ((read_first_line(r->etc, "machine-id", id, sizeof(id)) && machine_id_valid(id)) ||
        (read_first_line(r->var, "lib/dbus/machine-id", id, sizeof(id)) && machine_id_valid(id)))
        copy_text(out->machine_id, sizeof(out->machine_id), id, strlen(id));
}

/* An os-release(5) value: quoted with " or ' (backslash escapes inside double quotes), or
 * bare up to trailing white space. */
static void os_release_value(const char *value, char *out, size_t out_size)
{
    char quote = *value;
    size_t len = 0;

    if (quote != '"' && quote != '\'') {
        copy_text(out, out_size, value, trimmed_len(value, strlen(value)));
        return;
    }
    for (const char *p = value + 1; *p != '\0' && *p != quote; p++) {
        if (quote == '"' && *p == '\\' && p[1] != '\0')
            p++;
        if (len + 1 < out_size)
            out[len++] = *p;
    }
    out[len] = '\0';
}

static void read_os_release(const struct roots *r, struct hostfacts *out)
{
    char line[LINE_MAX_BYTES];
    FILE *f = open_under(r->etc, "os-release");

    if (f == NULL)
        f = open_under(r->usr, "lib/os-release");
    if (f == NULL)
        return;
    while (next_line(f, line, sizeof(line)) != NULL) {
        const char *key = skip_space(line);
        const char *eq = strchr(key, '=');

        if (*key == '#' || eq == NULL)
            continue;
        size_t key_len = (size_t)(eq - key);
        if (key_len == 2 && memcmp(key, "ID", 2) == 0)
            os_release_value(eq + 1, out->os_id, sizeof(out->os_id));
        else if (key_len == 10 && memcmp(key, "VERSION_ID", 10) == 0)
            os_release_value(eq + 1, out->os_version_id, sizeof(out->os_version_id));
        else if (key_len == 11 && memcmp(key, "PRETTY_NAME", 11) == 0)
            os_release_value(eq + 1, out->os_pretty, sizeof(out->os_pretty));
    }
    fclose(f);
}

static void set_model(char *out, size_t out_size, const char *value)
{
    size_t len = trimmed_len(value, strlen(value));

    if (len > 0)
        copy_text(out, out_size, value, len);
}

/* x86 and 32-bit ARM name the CPU in "model name" on every processor; arm64 kernels do not,
 * and Raspberry Pi kernels add the board ("Model") and SoC ("Hardware") at the end. */
static void read_cpuinfo(const struct roots *r, struct hostfacts *out)
{
    char line[LINE_MAX_BYTES];
    char model[sizeof(out->cpu_model)] = "";
    char board[sizeof(out->cpu_model)] = "";
    char soc[sizeof(out->cpu_model)] = "";
    int processors = 0;
    FILE *f = open_under(r->proc, "cpuinfo");
    const char *value;

    while (f != NULL && next_line(f, line, sizeof(line)) != NULL) {
        if (colon_value(line, "processor") != NULL)
            processors++;
        else if (model[0] == '\0' && (value = colon_value(line, "model name")) != NULL)
            set_model(model, sizeof(model), value);
        else if (board[0] == '\0' && (value = colon_value(line, "Model")) != NULL)
            set_model(board, sizeof(board), value);
        else if (soc[0] == '\0' && (value = colon_value(line, "Hardware")) != NULL)
            set_model(soc, sizeof(soc), value);
    }
    if (f != NULL)
        fclose(f);
    const char *best = model[0] != '\0' ? model : board[0] != '\0' ? board : soc;
    copy_text(out->cpu_model, sizeof(out->cpu_model), best, strlen(best));
    if (processors == 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        processors = online > 0 && online <= INT_MAX ? (int)online : 0;
    }
    out->cpu_cores = processors;
}

/* A non-negative decimal at the start of text (after blanks); -1 when there is none. */
static long long leading_number(const char *text)
{
    char *end;
    long long value;

    errno = 0;
    value = strtoll(text, &end, 10);
    if (end == text || errno != 0 || value < 0)
        return -1;
    return value;
}

static void read_meminfo(const struct roots *r, struct hostfacts *out)
{
    char line[LINE_MAX_BYTES];
    FILE *f = open_under(r->proc, "meminfo");
    const char *value;

    if (f == NULL)
        return;
    while (next_line(f, line, sizeof(line)) != NULL) {
        if ((value = colon_value(line, "MemTotal")) != NULL) {
            long long kib = leading_number(value);
            if (kib > 0)
                out->mem_total_mb = kib / 1024;
            break;
        }
    }
    fclose(f);
}

static void read_boot_time(const struct roots *r, struct hostfacts *out)
{
    char line[LINE_MAX_BYTES];
    FILE *f = open_under(r->proc, "stat");

    if (f == NULL)
        return;
    while (next_line(f, line, sizeof(line)) != NULL) {
        if (strncmp(line, "btime ", 6) == 0) {
            long long seconds = leading_number(line + 6);
            if (seconds > 0 && seconds < INT64_MAX / 1000)
                out->boot_time_ms = (int64_t)seconds * 1000;
            break;
        }
    }
    fclose(f);
}

int hostfacts_read(const struct hostfacts_options *opts, struct hostfacts *out)
{
    char probe[PATH_MAX];
    struct roots r;

    if (opts == NULL || out == NULL)
        return -EINVAL;
    r.proc = opts->proc_root != NULL ? opts->proc_root : "/proc";
    r.etc = opts->etc_root != NULL ? opts->etc_root : "/etc";
    r.usr = opts->usr_root != NULL ? opts->usr_root : "/usr";
    r.var = opts->var_root != NULL ? opts->var_root : "/var";
    /* The longest path read under each root must fit; then none is cut silently. */
    if (!join_path(probe, sizeof(probe), r.proc, "sys/kernel/osrelease") ||
        !join_path(probe, sizeof(probe), r.etc, "machine-id") ||
        !join_path(probe, sizeof(probe), r.usr, "lib/os-release") ||
        !join_path(probe, sizeof(probe), r.var, "lib/dbus/machine-id"))
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    read_hostname(&r, out);
    read_machine_id(&r, out);
    read_os_release(&r, out);
    (void)read_first_line(r.proc, "sys/kernel/osrelease", out->kernel, sizeof(out->kernel));
    read_cpuinfo(&r, out);
    read_meminfo(&r, out);
    read_boot_time(&r, out);
    return 0;
}

static bool address_usable(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) != 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        return !IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) && !IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr);
    }
    return false;
}

void hostfacts_set_ips(struct hostfacts *out, const struct ifaddrs *list)
{
    out->ip_count = 0;
    out->ips_dropped = 0;
    for (const struct ifaddrs *ifa = list; ifa != NULL; ifa = ifa->ifa_next) {
        char text[INET6_ADDRSTRLEN];
        const void *bytes;

        if (ifa->ifa_addr == NULL || (ifa->ifa_flags & IFF_UP) == 0 ||
            (ifa->ifa_flags & IFF_LOOPBACK) != 0 || !address_usable(ifa->ifa_addr))
            continue;
        if (ifa->ifa_addr->sa_family == AF_INET)
            bytes = &((const struct sockaddr_in *)(const void *)ifa->ifa_addr)->sin_addr;
        else
            bytes = &((const struct sockaddr_in6 *)(const void *)ifa->ifa_addr)->sin6_addr;
        if (inet_ntop(ifa->ifa_addr->sa_family, bytes, text, sizeof(text)) == NULL)
            continue;
        if (out->ip_count == HOSTFACTS_MAX_IPS) {
            out->ips_dropped++;
            continue;
        }
        struct hostfacts_ip *ip = &out->ips[out->ip_count++];
        const char *name = ifa->ifa_name != NULL ? ifa->ifa_name : "";
        copy_text(ip->ifname, sizeof(ip->ifname), name, strlen(name));
        copy_text(ip->addr, sizeof(ip->addr), text, strlen(text));
    }
}

int hostfacts_read_ips(struct hostfacts *out)
{
    struct ifaddrs *list = NULL;

    out->ip_count = 0;
    out->ips_dropped = 0;
    if (getifaddrs(&list) != 0)
        return errno > 0 ? -errno : -EIO;
    hostfacts_set_ips(out, list);
    freeifaddrs(list);
    return 0;
}
