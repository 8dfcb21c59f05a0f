/* Host facts for the inventory document: hostname, machine id, OS, kernel, CPU, memory, boot
 * time (files under configurable roots, so tests read fixture trees) and IP addresses
 * (getifaddrs, with a pure filter tests feed a fixed list). Owns nothing, keeps no state:
 * thread-safe on distinct structs. */
#ifndef UPDRAFT_AGENT_HOSTFACTS_H
#define UPDRAFT_AGENT_HOSTFACTS_H

#include <stddef.h>
#include <stdint.h>

struct ifaddrs;

#define HOSTFACTS_MAX_IPS 32

/* Where the facts are read. NULL members mean the real locations. Borrowed for the call. */
struct hostfacts_options {
    const char *proc_root; /* "/proc": cpuinfo, meminfo, stat, sys/kernel/{hostname,osrelease} */
    const char *etc_root;  /* "/etc": machine-id, os-release */
    const char *usr_root;  /* "/usr": lib/os-release when <etc_root>/os-release is missing */
    const char *var_root;  /* "/var": lib/dbus/machine-id when <etc_root>/machine-id is not set */
};

struct hostfacts_ip {
    char ifname[16]; /* IF_NAMESIZE */
    char addr[46];   /* INET6_ADDRSTRLEN, no prefix length, no scope */
};

/* Strings are NUL-terminated, "" when unknown; numbers are 0 when unknown. Longer values are
 * cut at the field's size, possibly inside a UTF-8 sequence (the inventory writer replaces
 * broken sequences). */
struct hostfacts {
    char hostname[65];      /* <proc_root>/sys/kernel/hostname, else gethostname(2) */
    char machine_id[33];    /* 32 hex digits: <etc_root>/machine-id, else the dbus copy */
    char os_id[64];         /* os-release ID ("debian") */
    char os_version_id[64]; /* os-release VERSION_ID ("12") */
    char os_pretty[128];    /* os-release PRETTY_NAME */
    char kernel[128];       /* <proc_root>/sys/kernel/osrelease ("6.1.0-18-amd64") */
    char cpu_model[128];    /* cpuinfo "model name", else ARM "Model" (the board), else
                             * "Hardware" (the SoC) */
    int cpu_cores;          /* "processor" lines in cpuinfo, else sysconf online CPUs */
    int64_t mem_total_mb;   /* meminfo MemTotal / 1024 */
    int64_t boot_time_ms;   /* <proc_root>/stat btime, milliseconds since the epoch */
    struct hostfacts_ip ips[HOSTFACTS_MAX_IPS];
    size_t ip_count;
    size_t ips_dropped; /* addresses beyond HOSTFACTS_MAX_IPS */
};

/* Fills every fact except the IPs (ip_count is set to 0). A missing or unreadable source
 * leaves its fact unknown; it is not an error (a container may hide /proc/sys, a minimal
 * image may lack os-release). Returns 0, or -EINVAL when opts or out is NULL or a root is so
 * long that the paths under it do not fit PATH_MAX. */
int hostfacts_read(const struct hostfacts_options *opts, struct hostfacts *out)
    __attribute__((warn_unused_result));

/* Replaces out's IPs with the usable addresses in list (as from getifaddrs(3); NULL = none):
 * IPv4 and IPv6 addresses of interfaces that are up and not loopback, without loopback
 * (127/8, ::1) and IPv6 link-local (fe80::/10) addresses, which mean nothing off the link.
 * In list order; beyond HOSTFACTS_MAX_IPS they are counted in ips_dropped. Pure. */
void hostfacts_set_ips(struct hostfacts *out, const struct ifaddrs *list);

/* hostfacts_set_ips with this host's getifaddrs(3). Returns 0 or -errno from getifaddrs
 * (the IPs are then left empty). */
int hostfacts_read_ips(struct hostfacts *out) __attribute__((warn_unused_result));

#endif
