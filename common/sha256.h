/* SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), and a constant-time comparison for MACs.
 * Pure: no I/O, no allocation. A struct sha256 has one owner; the functions are
 * thread-safe on distinct structs. */
#ifndef UPDRAFT_COMMON_SHA256_H
#define UPDRAFT_COMMON_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_BYTES 32
#define SHA256_BLOCK_BYTES 64

struct sha256 {
    uint32_t state[8];
    uint64_t total_bytes;              /* message length so far */
    uint8_t block[SHA256_BLOCK_BYTES]; /* input not yet compressed */
    size_t block_used;
};

/* Incremental hashing: init, any number of updates, final (which leaves s to be re-inited). */
void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, uint8_t digest[SHA256_DIGEST_BYTES]);

/* One call: digest of len bytes at data. */
void sha256_digest(const void *data, size_t len, uint8_t digest[SHA256_DIGEST_BYTES]);

/* HMAC-SHA256 of msg under key (any length; keys longer than a block are hashed first). */
void sha256_hmac(const void *key, size_t key_len, const void *msg, size_t msg_len,
                 uint8_t mac[SHA256_DIGEST_BYTES]);

/* True when the len bytes at a and b are equal. Takes the same time whatever the contents,
 * so comparing a received MAC leaks nothing about where it differs. */
bool sha256_mac_equal(const uint8_t *a, const uint8_t *b, size_t len);

#endif
