/* Parsing of /proc/<pid>/stat lines (see proc_stat.h). Pure and thread-safe. */
#include "edge-agent/proc_stat.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#define PROC_STAT_MIN_FIELDS 24 /* up to rss */

/* Length of the valid UTF-8 sequence at text[0..len), or 0. */
static size_t stat_utf8_len(const unsigned char *text, size_t len)
{
    size_t need;
    unsigned char lo = 0x80;
    unsigned char hi = 0xbf;

    if (text[0] >= 0xc2 && text[0] <= 0xdf)
        need = 2;
    else if (text[0] >= 0xe0 && text[0] <= 0xef)
        need = 3;
    else if (text[0] >= 0xf0 && text[0] <= 0xf4)
        need = 4;
    else
        return 0;
    if (len < need)
        return 0;
    /* Overlong forms, UTF-16 surrogates and code points beyond U+10FFFF. */
    if (text[0] == 0xe0)
        lo = 0xa0;
    else if (text[0] == 0xed)
        hi = 0x9f;
    else if (text[0] == 0xf0)
        lo = 0x90;
    else if (text[0] == 0xf4)
        hi = 0x8f;
    if (text[1] < lo || text[1] > hi)
        return 0;
    for (size_t i = 2; i < need; i++) {
        if (text[i] < 0x80 || text[i] > 0xbf)
            return 0;
    }
    return need;
}

/* Copies a comm into name (PROC_STAT_NAME_MAX), keeping printable ASCII and whole UTF-8
 * sequences; every other byte becomes '?', so the name is safe as a label value. */
static void stat_clean_name(const char *comm, size_t len, char *name)
{
    const unsigned char *in = (const unsigned char *)comm;
    size_t out = 0;
    size_t pos = 0;

    while (pos < len && out < PROC_STAT_NAME_MAX - 1) {
        size_t seq = 0;

        if (in[pos] >= 0x20 && in[pos] < 0x7f) {
            name[out++] = (char)in[pos++];
            continue;
        }
        if (in[pos] >= 0x80)
            seq = stat_utf8_len(in + pos, len - pos);
        if (seq > 0 && out + seq <= PROC_STAT_NAME_MAX - 1) {
            memcpy(name + out, in + pos, seq);
            out += seq;
            pos += seq;
        } else {
            name[out++] = '?';
            pos += seq > 0 ? seq : 1;
        }
    }
    name[out] = '\0';
}

/* One blank-separated decimal field, optionally negative; *value only for non-negative
 * numbers (*negative tells). Advances *pos past it. */
static int stat_next_number(const char *text, size_t len, size_t *pos, uint64_t *value,
                            bool *negative)
{
    size_t p = *pos;
    size_t digits = 0;
    uint64_t number = 0;

    if (p >= len || text[p] != ' ')
        return -EBADMSG;
    p++;
    *negative = p < len && text[p] == '-';
    if (*negative)
        p++;
    while (p < len && text[p] >= '0' && text[p] <= '9') {
        unsigned digit = (unsigned)(text[p] - '0');

        if (number > (UINT64_MAX - digit) / 10)
            return -EBADMSG;
        number = number * 10 + digit;
        digits++;
        p++;
    }
    if (digits == 0 || (p < len && text[p] != ' ' && text[p] != '\n'))
        return -EBADMSG;
    *value = number;
    *pos = p;
    return 0;
}

int proc_stat_parse(const char *text, size_t len, struct proc_stat *out)
{
    const char *open;
    const char *close = NULL;
    size_t pos;
    uint64_t pid = 0;
    int field;

    memset(out, 0, sizeof(*out));
    open = memchr(text, '(', len);
    for (size_t i = len; open != NULL && i > (size_t)(open - text); i--) {
        if (text[i - 1] == ')') {
            close = text + i - 1;
            break;
        }
    }
    if (open == NULL || close == NULL || open == text || open[-1] != ' ')
        return -EBADMSG;
    for (const char *p = text; p < open - 1; p++) {
        if (*p < '0' || *p > '9' || pid > INT_MAX / 10)
            return -EBADMSG;
        pid = pid * 10 + (uint64_t)(*p - '0');
    }
    if (pid == 0 || pid > INT_MAX)
        return -EBADMSG;
    out->pid = (int)pid;
    stat_clean_name(open + 1, (size_t)(close - open - 1), out->name);

    pos = (size_t)(close - text) + 1;
    if (len - pos < 3 || text[pos] != ' ' || text[pos + 1] < 'A' || text[pos + 1] > 'z' ||
        (pos + 2 < len && text[pos + 2] != ' '))
        return -EBADMSG;
    out->state = text[pos + 1];
    pos += 2;
    for (field = 4; field <= PROC_STAT_MIN_FIELDS; field++) {
        uint64_t value = 0;
        bool negative = false;

        if (stat_next_number(text, len, &pos, &value, &negative) < 0)
            return -EBADMSG;
        switch (field) {
        case 4:
            if (negative || value > INT_MAX)
                return -EBADMSG;
            out->ppid = (int)value;
            break;
        case 14:
        case 15:
        case 20:
        case 22:
        case 24:
            if (negative || (field == 20 && value > UINT_MAX))
                return -EBADMSG;
            if (field == 14)
                out->utime_ticks = value;
            else if (field == 15)
                out->stime_ticks = value;
            else if (field == 20)
                out->threads = (unsigned)value;
            else if (field == 22)
                out->start_ticks = value;
            else
                out->rss_pages = value;
            break;
        default:
            break;
        }
    }
    return 0;
}

int proc_stat_entry_pid(const char *name)
{
    long pid = 0;

    if (name[0] < '1' || name[0] > '9')
        return 0;
    for (const char *p = name; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || pid > INT_MAX / 10)
            return 0;
        pid = pid * 10 + (*p - '0');
    }
    return pid <= INT_MAX ? (int)pid : 0;
}
