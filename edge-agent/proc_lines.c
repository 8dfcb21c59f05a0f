/* Reading of /proc text files through a caller's fixed buffer (proc_lines.h), line by line
 * or as one short text. Owns nothing; thread-safe with one buffer per caller. */
#include "edge-agent/proc_lines.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static int proc_lines_open(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return (errno == ENOENT || errno == ENOTDIR) ? -ENOENT : -EIO;
    return fd;
}

/* Hands the complete lines in buf[0..fill) to on_line; *consumed is how many bytes they
 * took. */
static int proc_lines_split(const char *buf, size_t fill, size_t *consumed,
                            proc_lines_fn on_line, void *arg)
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

/* Drops got freshly read bytes at the start of buf up to and including the first newline;
 * returns how many bytes after it stay (moved to the start), or -1 when there is none. */
static ssize_t proc_lines_skip(char *buf, size_t got)
{
    const char *newline = memchr(buf, '\n', got);
    size_t rest;

    if (newline == NULL)
        return -1;
    rest = got - (size_t)(newline - buf) - 1;
    memmove(buf, newline + 1, rest);
    return (ssize_t)rest;
}

int proc_lines_read_long(const char *path, char *buf, size_t buf_size, proc_lines_fn on_line,
                         proc_lines_fn on_long, void *arg)
{
    bool skipping = false; /* inside a line too long for buf, after on_long saw its start */
    size_t fill = 0;
    int rc = 0;
    int fd;

    if (buf_size < 2)
        return -EINVAL;
    fd = proc_lines_open(path);
    if (fd < 0)
        return fd;
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
        if (skipping) {
            ssize_t rest = proc_lines_skip(buf, (size_t)got);

            if (rest < 0)
                continue; /* fill stays 0: the long line goes on */
            skipping = false;
            fill = (size_t)rest;
        } else {
            fill += (size_t)got;
        }
        rc = proc_lines_split(buf, fill, &consumed, on_line, arg);
        if (rc != 0)
            break;
        memmove(buf, buf + consumed, fill - consumed);
        fill -= consumed;
        if (fill == buf_size) { /* one line fills the whole buffer */
            rc = on_long == NULL ? -EBADMSG : on_long(arg, buf, fill);
            if (rc != 0)
                break;
            skipping = true;
            fill = 0;
        }
    }
    close(fd);
    return rc > 0 ? 0 : rc;
}

int proc_lines_read(const char *path, char *buf, size_t buf_size, proc_lines_fn on_line, void *arg)
{
    return proc_lines_read_long(path, buf, buf_size, on_line, NULL, arg);
}

int proc_lines_each(const char *text, size_t len, proc_lines_fn on_line, void *arg)
{
    size_t consumed;
    int rc = proc_lines_split(text, len, &consumed, on_line, arg);

    if (rc == 0 && consumed < len)
        rc = on_line(arg, text + consumed, len - consumed);
    return rc > 0 ? 0 : rc;
}

int proc_lines_read_text(const char *path, char *buf, size_t buf_size, size_t *len)
{
    size_t fill = 0;
    int rc = 0;
    int fd;

    *len = 0;
    if (buf_size < 1)
        return -EINVAL;
    buf[0] = '\0';
    fd = proc_lines_open(path);
    if (fd < 0)
        return fd;
    while (fill < buf_size - 1) {
        ssize_t got = read(fd, buf + fill, buf_size - 1 - fill);

        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = -EIO;
            break;
        }
        if (got == 0)
            break;
        fill += (size_t)got;
    }
    close(fd);
    buf[fill] = '\0';
    *len = fill;
    return rc;
}
