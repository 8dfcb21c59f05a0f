/* A small JSON writer for the agent's documents: compact output into a fixed buffer, or only
 * counting the bytes it would write (to plan a bounded document), or only hashing them
 * (FNV-1a 64, for change digests). Strings are escaped and made valid UTF-8. Pure; a
 * struct json_out has one owner. */
#ifndef UPDRAFT_AGENT_JSON_OUT_H
#define UPDRAFT_AGENT_JSON_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_OUT_FNV_OFFSET 0xcbf29ce484222325ULL

struct json_out {
    char *buf;  /* NULL: count or hash only */
    size_t cap; /* bytes at buf, NUL included */
    size_t len; /* bytes produced so far, also past cap (then overflow is set) */
    bool overflow;
    bool hashing;
    uint64_t hash; /* FNV-1a 64 of the bytes, when hashing */
};

/* Writes into buf (cap >= 1 bytes; always NUL-terminated, "" once overflowed). */
void json_out_init_buffer(struct json_out *o, char *buf, size_t cap);
/* Counts only: len says how long the output would be. */
void json_out_init_count(struct json_out *o);
/* Hashes only: hash is the FNV-1a 64 of the output. */
void json_out_init_hash(struct json_out *o);

/* Appends text as it is (punctuation, keys known to need no escaping). */
void json_out_raw(struct json_out *o, const char *text);
/* Appends a quoted JSON string of text, read up to its NUL or max_len bytes, whichever comes
 * first: '"', '\\' and control characters escaped (\n, \t, ... or \u00XX); each byte that
 * does not start a valid UTF-8 sequence (overlong, surrogate, above U+10FFFF, cut short)
 * written as U+FFFD. */
void json_out_string(struct json_out *o, const char *text, size_t max_len);
/* json_out_string, or null when text is empty. */
void json_out_string_or_null(struct json_out *o, const char *text, size_t max_len);
/* Appends a decimal integer. */
void json_out_int(struct json_out *o, int64_t value);

#endif
