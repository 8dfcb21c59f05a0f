/* Socket scanner: the TCP and UDP sockets of <proc_root>/net/{tcp,tcp6,udp,udp6} as a plain
 * array (addresses as text), with listening sockets told from connections, and (on request)
 * the pid owning each socket.
 *
 * Cadence: reading tcp and tcp6 is expensive whatever the number of sockets: the kernel
 * walks its whole TCP established hash table for each (262144 buckets, ~4.8 ms per file on
 * the 24 GiB build VM). So the per-cycle counts (connscan_count, the "conn" collector) come
 * from net/snmp (CurrEstab), a listener count that does not read those files (sock_diag, see
 * sockdiag.h) and udp/udp6 (cheap); connscan_update, the full table, runs at inventory
 * cadence. connscan_map_pids walks <proc_root>/<pid>/fd and readlinks every fd: also at
 * inventory cadence only, bounded by max_fds. The owners it finds are kept (inode -> pid) and
 * applied by later updates, so sockets that outlive the map keep their pid; sockets opened
 * since show pid 0.
 *
 * Ownership: the agent creates one connscan, lends it to the "conn" collector and reads
 * connscan_table() for the inventory. Scope: the network namespace of proc_root (the agent's;
 * sockets inside containers with their own namespace are not listed). Not thread-safe. */
#ifndef UPDRAFT_AGENT_CONNSCAN_H
#define UPDRAFT_AGENT_CONNSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONNSCAN_ADDR_MAX 46            /* INET6_ADDRSTRLEN */
#define CONNSCAN_DEFAULT_MAX_CONNS 8192 /* sockets kept in the table; more: dropped */
#define CONNSCAN_DEFAULT_MAX_FDS 65536  /* fds readlink'ed per connscan_map_pids */

enum conn_proto {
    CONN_PROTO_TCP,
    CONN_PROTO_UDP,
};

/* The kernel's socket states as /proc/net shows them (hex). UDP uses ESTABLISHED for a
 * connected socket and CLOSE for an unconnected one. */
enum conn_state {
    CONN_STATE_ESTABLISHED = 0x01,
    CONN_STATE_SYN_SENT = 0x02,
    CONN_STATE_SYN_RECV = 0x03,
    CONN_STATE_FIN_WAIT1 = 0x04,
    CONN_STATE_FIN_WAIT2 = 0x05,
    CONN_STATE_TIME_WAIT = 0x06,
    CONN_STATE_CLOSE = 0x07,
    CONN_STATE_CLOSE_WAIT = 0x08,
    CONN_STATE_LAST_ACK = 0x09,
    CONN_STATE_LISTEN = 0x0a,
    CONN_STATE_CLOSING = 0x0b,
    CONN_STATE_NEW_SYN_RECV = 0x0c,
};

struct conn_info {
    enum conn_proto proto;
    int family;                         /* AF_INET (tcp, udp) or AF_INET6 (tcp6, udp6) */
    char local_addr[CONNSCAN_ADDR_MAX]; /* inet_ntop text; v4-mapped v6 shown as v4 */
    uint16_t local_port;
    char remote_addr[CONNSCAN_ADDR_MAX];
    uint16_t remote_port;
    unsigned state; /* enum conn_state value from the file (1..255) */
    bool listening; /* TCP LISTEN, or UDP bound with no remote (address and port 0) */
    unsigned uid;
    uint64_t inode; /* 0: no owning file (TIME_WAIT and the like) */
    int pid;        /* owner per the last connscan_map_pids (lowest pid if shared), 0 unknown */
};

/* The latest update. Borrowed: valid until the next connscan_update/_map_pids/_free. */
struct conn_table {
    const struct conn_info *conns; /* in file order: tcp, tcp6, udp, udp6 */
    size_t count;
    size_t dropped;     /* sockets beyond max_conns: counted below, not in conns */
    size_t malformed;   /* lines that did not parse (skipped) */
    size_t established; /* TCP sockets in ESTABLISHED or CLOSE_WAIT (tcpCurrEstab of RFC 1213),
                         * v4 and v6, dropped ones included */
    size_t listening;   /* sockets with listening set (dropped ones included) */
    int64_t scanned_mono_ms;
    uint64_t scans;
    /* From the last connscan_map_pids: */
    size_t fds_scanned; /* readlinks done */
    bool fds_truncated; /* max_fds reached before every process was seen */
    size_t pids_denied; /* processes whose fd directory could not be opened */
};

struct connscan_config {
    const char *proc_root; /* "/proc"; copied */
    size_t max_conns;      /* 0: CONNSCAN_DEFAULT_MAX_CONNS */
    /* Counts TCP LISTEN sockets (v4 + v6) without reading tcp/tcp6, for connscan_count: the
     * agent sets sockdiag_tcp_listeners. NULL (tests on fixture trees): connscan_count reads
     * the four files. */
    int (*tcp_listeners_fn)(size_t *count);
};

/* The per-cycle counts, same meaning as in struct conn_table. */
struct conn_counts {
    size_t established;
    size_t listening;
    bool from_tables; /* true when they came from reading all four files (fallback) */
};

struct connscan;

/* -EINVAL (NULL or proc_root too long), -ENOMEM. */
int connscan_new(const struct connscan_config *config, struct connscan **out)
    __attribute__((warn_unused_result));
void connscan_free(struct connscan *scan); /* accepts NULL */

/* Reads the four files once per cycle (a second call with the same now_mono_ms keeps the
 * table). A missing file is skipped (tcp6/udp6 without IPv6). Returns 0, -ENOENT (none of
 * the four exists), -EIO, -EBADMSG (a file's first line is not the header; nothing kept),
 * -ENOMEM. On an error the previous table is kept. */
int connscan_update(struct connscan *scan, int64_t now_mono_ms) __attribute__((warn_unused_result));

/* The counts of this cycle, cheaply: established = CurrEstab of <proc_root>/net/snmp (the
 * kernel's count of ESTABLISHED and CLOSE_WAIT TCP sockets, v4 and v6; kernels before 6.10
 * count ESTABLISHED only), listening = tcp_listeners_fn + the unconnected sockets of udp and
 * udp6. Without net/snmp or tcp_listeners_fn (or when either fails) the counts come from a
 * connscan_update of this cycle instead. Once per now_mono_ms, like connscan_update. Returns
 * 0 or an error of connscan_update (-ENOENT, -EIO, -EBADMSG, -ENOMEM). */
int connscan_count(struct connscan *scan, int64_t now_mono_ms, struct conn_counts *out)
    __attribute__((warn_unused_result));

/* Finds the owning pid of each socket in the table: readlink of <proc_root>/<pid>/fd/<n>
 * ("socket:[<inode>]"), at most max_fds readlinks (0: CONNSCAN_DEFAULT_MAX_FDS). Processes
 * whose fds cannot be read (not root) are skipped and counted. Returns 0, -ENOENT (proc_root
 * missing), -ENOMEM. */
int connscan_map_pids(struct connscan *scan, size_t max_fds) __attribute__((warn_unused_result));

/* The latest table (count 0 before the first update). Never NULL. */
const struct conn_table *connscan_table(const struct connscan *scan);

/* "ESTABLISHED", "LISTEN", ... for TCP; "ESTAB" / "UNCONN" for UDP; "UNKNOWN" otherwise. */
const char *conn_state_name(enum conn_proto proto, unsigned state);

/* Parses one socket line of /proc/net/{tcp,udp}[6] (not the header): "sl: local rem st
 * tx:rx tr:when retrnsmt uid timeout inode ...". family says which file (AF_INET addresses
 * are 8 hex digits, AF_INET6 32). 0 or -EBADMSG. Pure; addresses in this host's byte order. */
int connscan_parse_line(const char *line, size_t len, enum conn_proto proto, int family,
                        struct conn_info *out) __attribute__((warn_unused_result));

#endif
