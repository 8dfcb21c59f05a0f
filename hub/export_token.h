/* Signed export download tokens. A token carries what an export needs (format, host, metric,
 * labels, absolute window) and when it expires, followed by an HMAC-SHA256 of those bytes
 * under the hub's secret key; the whole is base64url without padding, so it travels in a
 * query string as it is. Layout before encoding (integers big-endian):
 *   version u8 (1) | format u8 | from_ms i64 | to_ms i64 | expires_ms i64 |
 *   host len u8 + bytes | metric len u16 + bytes | labels len u16 + bytes | mac[32]
 * Pure: no I/O, no clock (now comes in), no allocation; thread-safe. */
#ifndef UPDRAFT_HUB_EXPORT_TOKEN_H
#define UPDRAFT_HUB_EXPORT_TOKEN_H

#include <stddef.h>
#include <stdint.h>

enum export_format {
    EXPORT_FORMAT_CSV = 1,
};

struct export_token {
    enum export_format format;
    char host[65];          /* 1..64 bytes */
    char metric[257];       /* 1..256 bytes */
    char labels[513];       /* canonical labels, 0..512 bytes */
    int64_t from_ms, to_ms; /* wall clock, both inclusive, from_ms < to_ms */
    int64_t expires_ms;     /* wall clock: valid while now_ms <= expires_ms */
};

/* Longest token text, with the NUL. */
#define EXPORT_TOKEN_MAX 1200

/* Writes the token text (and a NUL) to out. Returns 0, or -EINVAL for fields out of the
 * bounds above (or an empty key), -ENOSPC when out_size < what it needs (EXPORT_TOKEN_MAX is
 * always enough). */
int export_token_sign(const struct export_token *token, const uint8_t *key, size_t key_len,
                      char *out, size_t out_size) __attribute__((warn_unused_result));

/* Checks text (its MAC under key first, in constant time, then its layout) and fills *out.
 * Returns 0; -EBADMSG for anything that is not a token this key signed (garbage, tampered,
 * another key, too long); -EKEYEXPIRED when it is genuine but now_ms > expires_ms (then *out
 * is filled too, to say when it expired). */
int export_token_verify(const char *text, const uint8_t *key, size_t key_len, int64_t now_ms,
                        struct export_token *out) __attribute__((warn_unused_result));

#endif
