/* Socket counts from the kernel's sock_diag netlink interface (NETLINK_SOCK_DIAG): cheap
 * where /proc/net/tcp is not. Reading /proc/net/tcp or tcp6 walks every bucket of the TCP
 * established hash table, whose size follows RAM, not the number of sockets (262144 buckets
 * and ~4.8 ms per file on a 24 GiB VM); a LISTEN-only dump walks the small listening table.
 * The agent's network namespace only. Thread-safe (a socket per call). */
#ifndef UPDRAFT_AGENT_SOCKDIAG_H
#define UPDRAFT_AGENT_SOCKDIAG_H

#include <stddef.h>

/* Counts TCP sockets in LISTEN, IPv4 and IPv6 (a dual-stack listener counts once, as in
 * /proc/net/tcp6). 0, or -errno: -EPROTONOSUPPORT / -ENOENT without inet_diag support,
 * -EBADMSG on an unexpected reply, -EIO. Fits struct connscan_config.tcp_listeners_fn. */
int sockdiag_tcp_listeners(size_t *count) __attribute__((warn_unused_result));

#endif
