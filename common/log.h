/* Logging: levels, one event per line, text to stderr (with <N> priority prefixes under
 * systemd's JOURNAL_STREAM) or JSON lines. Each .c file defines LOG_MODULE before including
 * this header. Macros do not evaluate their arguments below the level. Thread-safe. */
#ifndef UPDRAFT_COMMON_LOG_H
#define UPDRAFT_COMMON_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

extern enum log_level log_threshold;

/* program names the process in JSON lines; called once at start, before threads. */
void log_setup(const char *program, enum log_level level, enum log_format format);

/* "error" | "warn" | "info" | "debug" -> 0 and *out, else -EINVAL. */
int log_level_parse(const char *text, enum log_level *out) __attribute__((warn_unused_result));
int log_format_parse(const char *text, enum log_format *out) __attribute__((warn_unused_result));

void log_write(enum log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define LOG_AT_(lvl, ...)                                                                          \
    do {                                                                                           \
        if (log_threshold >= (lvl))                                                                \
            log_write((lvl), LOG_MODULE, __VA_ARGS__);                                             \
    } while (0)
#define log_error(...) LOG_AT_(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) LOG_AT_(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) LOG_AT_(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) LOG_AT_(LOG_LEVEL_DEBUG, __VA_ARGS__)

/* Rate limit for a repeating complaint: allows the first event, then one per period_ms;
 * events in between are counted and handed back (*suppressed) with the next allowed one.
 * Not thread-safe: one owner per struct (or the caller's lock). Start zeroed. */
struct log_ratelimit {
    int64_t next_ms;
    uint64_t suppressed;
};
bool log_ratelimit_allow(struct log_ratelimit *rl, int64_t now_mono_ms, int64_t period_ms,
                         uint64_t *suppressed);

#endif
