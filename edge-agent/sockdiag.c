/* sock_diag netlink counts (see sockdiag.h). Opens, uses and closes one netlink socket per
 * call; a fixed receive buffer on the stack. */
#include "edge-agent/sockdiag.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SOCKDIAG_TCP_LISTEN 10 /* TCP_LISTEN in the kernel's state numbering */
#define SOCKDIAG_RECV_MAX 16384

/* Sends one dump request and counts the sockets in the reply. */
static int sockdiag_dump_count(int fd, int family, size_t *count)
{
    struct {
        struct nlmsghdr header;
        struct inet_diag_req_v2 request;
    } message;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    /* aligned for the nlmsghdr casts below */
    uint32_t buf[SOCKDIAG_RECV_MAX / sizeof(uint32_t)];

    memset(&message, 0, sizeof(message));
    message.header.nlmsg_len = sizeof(message);
    message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    message.header.nlmsg_seq = (uint32_t)family;
    message.request.sdiag_family = (uint8_t)family;
    message.request.sdiag_protocol = IPPROTO_TCP;
    message.request.idiag_states = 1u << SOCKDIAG_TCP_LISTEN;
    if (sendto(fd, &message, sizeof(message), 0, (struct sockaddr *)&kernel, sizeof(kernel)) !=
        (ssize_t)sizeof(message))
        return -EIO;
    for (;;) {
        ssize_t got = recv(fd, buf, sizeof(buf), 0);
        const struct nlmsghdr *header = (const struct nlmsghdr *)(const void *)buf;
        size_t left;

        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -EIO;
        left = (size_t)got;
        for (; NLMSG_OK(header, left); header = NLMSG_NEXT(header, left)) {
            if (header->nlmsg_type == NLMSG_DONE)
                return 0;
            if (header->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *error = NLMSG_DATA(header);

                if (header->nlmsg_len < NLMSG_LENGTH(sizeof(*error)))
                    return -EBADMSG;
                return error->error < 0 ? error->error : -EBADMSG;
            }
            if (header->nlmsg_type != SOCK_DIAG_BY_FAMILY)
                return -EBADMSG;
            (*count)++;
        }
    }
}

int sockdiag_tcp_listeners(size_t *count)
{
    size_t total = 0;
    int rc;
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

    if (fd < 0)
        return -errno;
    rc = sockdiag_dump_count(fd, AF_INET, &total);
    if (rc == 0) {
        rc = sockdiag_dump_count(fd, AF_INET6, &total);
        /* A kernel without IPv6 has no IPv6 listeners. */
        if (rc == -ENOENT || rc == -EAFNOSUPPORT || rc == -EPROTONOSUPPORT)
            rc = 0;
    }
    close(fd);
    if (rc == 0)
        *count = total;
    return rc;
}
