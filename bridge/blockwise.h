/* Block1 (RFC 7959) reassembly for the transfers libcoap 4.3.1 hands over in pieces: it
 * reassembles a request body only when the blocks carry Size1, which RFC 7959 §4 makes
 * optional. Keyed by the caller (peer, resource, Request-Tag); blocks must come in order (a
 * retransmitted last block is accepted again); bounded in entries, body size and idle time.
 * Pure: no I/O, the clock comes in. Not thread-safe (the CoAP thread owns it). */
#ifndef UPDRAFT_BRIDGE_BLOCKWISE_H
#define UPDRAFT_BRIDGE_BLOCKWISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BLOCKWISE_KEY_MAX 160

enum blockwise_result {
    BLOCKWISE_CONTINUE,   /* stored: answer 2.31 Continue */
    BLOCKWISE_COMPLETE,   /* *body (malloc'd, the caller frees) holds the whole body */
    BLOCKWISE_INCOMPLETE, /* out of order, or no transfer to continue: 4.08 */
    BLOCKWISE_TOO_LARGE,  /* beyond max_body: 4.13 */
    BLOCKWISE_BUSY,       /* every slot in use (or no memory): 5.03 */
};

struct blockwise;

struct blockwise *blockwise_new(size_t max_transfers, size_t max_body, int64_t idle_ms);
void blockwise_free(struct blockwise *t); /* accepts NULL */

/* Block num (more: the M bit) of block_size bytes, data/len its payload, of the transfer
 * named by key. */
enum blockwise_result blockwise_add(struct blockwise *t, const void *key, size_t key_len,
                                    unsigned num, bool more, size_t block_size, const uint8_t *data,
                                    size_t len, int64_t now_ms, uint8_t **body, size_t *body_len);

size_t blockwise_active(const struct blockwise *t);

#endif
