/* Line-by-line reading of /proc text files through a caller-owned fixed buffer, for the
 * collectors whose sources can be longer than any buffer worth keeping (mount tables of
 * container hosts, diskstats, net/dev with hundreds of veth interfaces). No allocation.
 * Thread-safe as long as each caller brings its own buffer. */
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

#endif
