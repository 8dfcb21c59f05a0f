/* One line of /proc/<pid>/stat: the fields the process scanner needs, and the comm name
 * made safe to publish. Pure: no I/O, no allocation. */
#ifndef UPDRAFT_AGENT_PROC_STAT_H
#define UPDRAFT_AGENT_PROC_STAT_H

#include <stddef.h>
#include <stdint.h>

#define PROC_STAT_NAME_MAX 16 /* bytes incl. NUL: the kernel's comm is at most 15 */

struct proc_stat {
    int pid;
    char name[PROC_STAT_NAME_MAX]; /* comm; bytes that are not printable ASCII or part of a
                                    * whole UTF-8 sequence become '?' */
    char state;                    /* 'R', 'S', 'D', 'Z', 'I', ... */
    int ppid;
    uint64_t utime_ticks;
    uint64_t stime_ticks;
    unsigned threads;
    uint64_t start_ticks; /* after boot */
    uint64_t rss_pages;
};

/* Parses "pid (comm) state ppid ... utime stime ... threads ... starttime vsize rss ..." from
 * text[0..len) (need not be NUL-terminated). The name is what lies between the first '(' and
 * the last ')', so names with blanks and parentheses are safe; longer than 15 bytes it is cut.
 * Needs the first 24 fields, all numbers; later ones are ignored. 0 or -EBADMSG (*out is then
 * zeroed or partly filled: do not use it). */
int proc_stat_parse(const char *text, size_t len, struct proc_stat *out)
    __attribute__((warn_unused_result));

/* The pid a /proc directory entry names ("1234"), or 0 for any other name ("self", "0123",
 * "12ab", beyond INT_MAX). */
int proc_stat_entry_pid(const char *name);

#endif
