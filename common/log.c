/* Logging (see log.h): one event per line to stderr, as text, as text with journald <N>
 * priority prefixes, or as JSON. Each line is built in a bounded buffer and written with one
 * write(2) under a mutex, so lines from threads never interleave. Thread-safe; log_setup
 * runs once before threads start. */
#include "common/log.h"

#include "common/clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 2048 /* bytes in a line, newline included; longer events end in "..." */
#define LOG_TAIL_MAX 8    /* kept free for "...", the JSON closing "} and the newline */

enum log_level log_threshold = LOG_LEVEL_INFO;

static pthread_mutex_t log_mutex = PTHREAD_MUTEX_INITIALIZER;
static enum log_format log_output_format = LOG_FORMAT_TEXT;
static char log_program[64] = "updraft";
static int log_journal = -1; /* -1 until JOURNAL_STREAM is checked, then 0 or 1 */

static const char *const log_level_names[] = {"error", "warn", "info", "debug"};
static const char *const log_priorities[] = {"<3>", "<4>", "<6>", "<7>"};

struct log_line {
    char buf[LOG_LINE_MAX];
    size_t len;
    bool truncated; /* something did not fit: nothing more is added but the tail */
};

/* Appends all of s or, when it does not fit before the tail room, nothing. */
static void line_put(struct log_line *line, const char *s, size_t n)
{
    if (line->truncated || line->len + n > LOG_LINE_MAX - LOG_TAIL_MAX) {
        line->truncated = true;
        return;
    }
    memcpy(line->buf + line->len, s, n);
    line->len += n;
}

static void line_puts(struct log_line *line, const char *s)
{
    line_put(line, s, strlen(s));
}

/* Ends the line: "..." if anything was cut, then closing (JSON) and the newline. */
static void line_finish(struct log_line *line, bool cut, const char *closing)
{
    char tail[LOG_TAIL_MAX];
    int n = snprintf(tail, sizeof tail, "%s%s\n", cut || line->truncated ? "..." : "", closing);
    if (n > 0 && (size_t)n < sizeof tail && line->len + (size_t)n <= LOG_LINE_MAX) {
        memcpy(line->buf + line->len, tail, (size_t)n);
        line->len += (size_t)n;
    }
}

/* Text lines stay one line: control characters (a '\n' in an error string) become spaces. */
static void line_put_text(struct log_line *line, const char *s)
{
    for (; *s != '\0' && !line->truncated; s++) {
        char c = *s;
        if ((unsigned char)c < 0x20 || c == 0x7f)
            c = ' ';
        line_put(line, &c, 1);
    }
}

/* Length of the valid UTF-8 sequence (2..4 bytes) starting at p, or 0. */
static size_t utf8_sequence_len(const unsigned char *p)
{
    size_t len;
    uint32_t code;
    uint32_t lowest;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        len = 2, code = p[0] & 0x1fu, lowest = 0x80;
    } else if ((p[0] & 0xf0u) == 0xe0) {
        len = 3, code = p[0] & 0x0fu, lowest = 0x800;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        len = 4, code = p[0] & 0x07u, lowest = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0u) != 0x80) /* also stops at the terminating NUL */
            return 0;
        code = (code << 6) | (p[i] & 0x3fu);
    }
    if (code < lowest || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
        return 0;
    return len;
}

/* JSON string contents: escapes per RFC 8259; invalid UTF-8 becomes U+FFFD. */
static void line_put_json(struct log_line *line, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p != '\0' && !line->truncated) {
        char escaped[8];
        size_t len = 1;
        if (*p == '"' || *p == '\\') {
            snprintf(escaped, sizeof escaped, "\\%c", *p);
        } else if (*p == '\n' || *p == '\r' || *p == '\t') {
            snprintf(escaped, sizeof escaped, "\\%c", *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't');
        } else if (*p < 0x20 || *p == 0x7f) {
            snprintf(escaped, sizeof escaped, "\\u%04x", *p);
        } else if (*p < 0x80) {
            line_put(line, (const char *)p++, 1);
            continue;
        } else if ((len = utf8_sequence_len(p)) > 0) {
            line_put(line, (const char *)p, len);
            p += len;
            continue;
        } else {
            snprintf(escaped, sizeof escaped, "\\ufffd");
            len = 1;
        }
        line_puts(line, escaped);
        p += len;
    }
}

/* "2026-11-22T04:32:48.123Z": always with milliseconds, so lines align. */
static void format_timestamp(char *buf, size_t size)
{
    int64_t now_ms = clock_wall_ms();
    time_t secs = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(now_ms % 1000));
}

static void line_build_text(struct log_line *line, enum log_level level, const char *module,
                            const char *msg, bool cut)
{
    char head[96];
    if (log_journal == 1) {
        snprintf(head, sizeof head, "%s%-5s ", log_priorities[level], log_level_names[level]);
    } else {
        char ts[64];
        format_timestamp(ts, sizeof ts);
        snprintf(head, sizeof head, "%s %-5s ", ts, log_level_names[level]);
    }
    line_puts(line, head);
    line_put_text(line, module);
    line_puts(line, ": ");
    line_put_text(line, msg);
    line_finish(line, cut, "");
}

/* Every fixed piece starts by closing the previous string, so a cut always lands inside a
 * string and line_finish's "\"}" yields valid JSON. */
static void line_build_json(struct log_line *line, enum log_level level, const char *module,
                            const char *msg, bool cut)
{
    char ts[64];
    format_timestamp(ts, sizeof ts);
    line_puts(line, "{\"ts\":\"");
    line_puts(line, ts);
    line_puts(line, "\",\"level\":\"");
    line_puts(line, log_level_names[level]);
    line_puts(line, "\",\"program\":\"");
    line_put_json(line, log_program);
    line_puts(line, "\",\"module\":\"");
    line_put_json(line, module);
    line_puts(line, "\",\"msg\":\"");
    line_put_json(line, msg);
    line_finish(line, cut, "\"}");
}

static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* stderr is gone: nowhere left to complain */
        buf += n;
        len -= (size_t)n;
    }
}

void log_setup(const char *program, enum log_level level, enum log_format format)
{
    pthread_mutex_lock(&log_mutex);
    snprintf(log_program, sizeof log_program, "%s", program != NULL ? program : "updraft");
    log_threshold = level;
    log_output_format = format;
    log_journal = getenv("JOURNAL_STREAM") != NULL;
    pthread_mutex_unlock(&log_mutex);
}

void log_write(enum log_level level, const char *module, const char *fmt, ...)
{
    int saved_errno = errno; /* callers may log, then look at errno */
    char msg[LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        snprintf(msg, sizeof msg, "(unformattable message)");
    if ((unsigned)level > LOG_LEVEL_DEBUG)
        level = LOG_LEVEL_DEBUG;
    if (module == NULL)
        module = "-";
    static struct log_line line; /* 2 KiB, used only under log_mutex */
    pthread_mutex_lock(&log_mutex);
    if (log_journal < 0)
        log_journal = getenv("JOURNAL_STREAM") != NULL;
    line.len = 0;
    line.truncated = false;
    if (log_output_format == LOG_FORMAT_JSON)
        line_build_json(&line, level, module, msg, n >= (int)sizeof msg);
    else
        line_build_text(&line, level, module, msg, n >= (int)sizeof msg);
    write_all(STDERR_FILENO, line.buf, line.len);
    pthread_mutex_unlock(&log_mutex);
    errno = saved_errno;
}

int log_level_parse(const char *text, enum log_level *out)
{
    for (size_t i = 0; text != NULL && i < sizeof log_level_names / sizeof log_level_names[0];
         i++) {
        if (strcmp(text, log_level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

int log_format_parse(const char *text, enum log_format *out)
{
    if (text != NULL && strcmp(text, "text") == 0)
        *out = LOG_FORMAT_TEXT;
    else if (text != NULL && strcmp(text, "json") == 0)
        *out = LOG_FORMAT_JSON;
    else
        return -EINVAL;
    return 0;
}

bool log_ratelimit_allow(struct log_ratelimit *rl, int64_t now_mono_ms, int64_t period_ms,
                         uint64_t *suppressed)
{
    bool first = rl->next_ms == 0 && rl->suppressed == 0;
    if (!first && now_mono_ms < rl->next_ms) {
        rl->suppressed++;
        return false;
    }
    if (suppressed != NULL)
        *suppressed = rl->suppressed;
    rl->suppressed = 0;
    if (period_ms < 0)
        period_ms = 0;
    if (now_mono_ms > 0 && period_ms > INT64_MAX - now_mono_ms)
        rl->next_ms = INT64_MAX;
    else
        rl->next_ms = now_mono_ms + period_ms;
    return true;
}
