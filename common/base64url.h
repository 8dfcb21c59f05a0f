/* base64url (RFC 4648 section 5: A-Z a-z 0-9 - _) without padding, for tokens that travel in
 * URLs. Decoding is strict: no padding, no other characters, and the unused low bits of the
 * last character must be zero, so each byte string has exactly one text. Pure. */
#ifndef UPDRAFT_COMMON_BASE64URL_H
#define UPDRAFT_COMMON_BASE64URL_H

#include <stddef.h>
#include <stdint.h>

/* Characters base64url_encode writes for len bytes (without the NUL). */
#define BASE64URL_ENCODED_LEN(len) (((len) / 3) * 4 + ((len) % 3 == 0 ? 0 : (len) % 3 + 1))

/* Writes the text of len bytes and a NUL to out. Returns 0, or -ENOSPC when out_size is
 * smaller than BASE64URL_ENCODED_LEN(len) + 1 (out is then left unchanged). */
int base64url_encode(const void *data, size_t len, char *out, size_t out_size)
    __attribute__((warn_unused_result));

/* Decodes text_len characters into out (at most out_size bytes); *out_len gets the count.
 * Returns 0, -EBADMSG for text that is not canonical unpadded base64url, -ENOSPC when the
 * bytes do not fit. */
int base64url_decode(const char *text, size_t text_len, uint8_t *out, size_t out_size,
                     size_t *out_len) __attribute__((warn_unused_result));

#endif
