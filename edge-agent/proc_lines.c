/* Line-by-line reading of /proc text files through a caller's fixed buffer (proc_lines.h).
 * Owns nothing; thread-safe with one buffer per caller. */
#include "edge-agent/proc_lines.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* Hands the complete lines in buf[0..fill) to on_line; *consumed is how many bytes they
 * took. */
static int proc_lines_split(char *buf, size_t fill, size_t *consumed, proc_lines_fn on_line,
                            void *arg)
{
    size_t start = 0;
    int rc = 0;

    for (;;) {
        const char *newline = memchr(buf + start, '\n', fill - start);

        if (newline == NULL)
            break;
        rc = on_line(arg, buf + start, (size_t)(newline - buf) - start);
        start = (size_t)(newline - buf) + 1;
        if (rc != 0)
            break;
    }
    *consumed = start;
    return rc;
}

int proc_lines_read(const char *path, char *buf, size_t buf_size, proc_lines_fn on_line, void *arg)
{
    size_t fill = 0;
    int rc = 0;
    int fd;

    if (buf_size < 2)
        return -EINVAL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return (errno == ENOENT || errno == ENOTDIR) ? -ENOENT : -EIO;
    for (;;) {
        size_t consumed;
        ssize_t got = read(fd, buf + fill, buf_size - fill);

        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = -EIO;
            break;
        }
        if (got == 0) {
            if (fill > 0)
                rc = on_line(arg, buf, fill);
            break;
        }
        fill += (size_t)got;
        rc = proc_lines_split(buf, fill, &consumed, on_line, arg);
        if (rc != 0)
            break;
        memmove(buf, buf + consumed, fill - consumed);
        fill -= consumed;
        if (fill == buf_size) {
            rc = -EBADMSG; /* one line fills the whole buffer */
            break;
        }
    }
    close(fd);
    return rc > 0 ? 0 : rc;
}
