/* Reading of /proc, /sys and cgroup text files through a caller-owned fixed buffer, shared by
 * the collectors and scanners: line by line for sources that can be longer than any buffer
 * worth keeping (mount tables of container hosts, diskstats, net/dev with hundreds of veth
 * interfaces, /proc/stat, /proc/net/tcp), or the head of a short file as one NUL-terminated
 * text. No allocation. Thread-safe as long as each caller brings its own buffer. */
#ifndef UPDRAFT_AGENT_PROC_LINES_H
#define UPDRAFT_AGENT_PROC_LINES_H

#include <stddef.h>

/* Called with one line, without its newline (not NUL-terminated; may contain NUL bytes).
 * Returns 0 to go on, a positive value to stop reading (proc_lines_read then returns 0), or
 * a negative errno to stop with that error. */
typedef int (*proc_lines_fn)(void *arg, const char *line, size_t len);

/* Reads the file at path chunk by chunk into buf (buf_size bytes, at least 2) and calls
 * on_line for every line; a last line without its newline counts too. Returns 0, -ENOENT
 * (the file or a directory on its path is missing), -EIO (open or read failed otherwise),
 * -EBADMSG (a line does not fit buf_size - 1 bytes), or what on_line returned. */
int proc_lines_read(const char *path, char *buf, size_t buf_size, proc_lines_fn on_line, void *arg)
    __attribute__((warn_unused_result));

/* Like proc_lines_read, but a line that does not fit buf_size - 1 bytes goes to on_long
 * with the buf_size bytes it starts with (instead of -EBADMSG): on_long returns 0 to skip
 * the rest of that line and go on with the next, a positive value to stop (0 is returned),
 * or a negative errno to stop with that error. */
int proc_lines_read_long(const char *path, char *buf, size_t buf_size, proc_lines_fn on_line,
                         proc_lines_fn on_long, void *arg) __attribute__((warn_unused_result));

/* Calls on_line for every line of text[0..len) already in memory; a last line without its
 * newline counts too. Returns 0 or what on_line returned (a positive value: 0). */
int proc_lines_each(const char *text, size_t len, proc_lines_fn on_line, void *arg)
    __attribute__((warn_unused_result));

/* Reads the head of the file at path into buf: at most buf_size - 1 bytes (buf_size at
 * least 1), always NUL-terminated, their count in *len (buf_size - 1 when the file may be
 * longer). Returns 0, -ENOENT (the file or a directory on its path is missing) or -EIO
 * (open or read failed otherwise); *len and buf then hold what was read before, maybe
 * nothing. */
int proc_lines_read_text(const char *path, char *buf, size_t buf_size, size_t *len)
    __attribute__((warn_unused_result));

#endif
