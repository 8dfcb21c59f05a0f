/* The bridge's memory of CoAP exchanges: (peer, message id) -> what became of the request,
 * so a retransmitted CON (libcoap 4.3.1 hands it to the handler again) is answered, not
 * published twice. Bounded by count (the oldest entry goes first) and by age. Pure: no I/O,
 * the clock comes in. Not thread-safe (the CoAP thread owns it). */
#ifndef UPDRAFT_BRIDGE_DEDUPE_H
#define UPDRAFT_BRIDGE_DEDUPE_H

#include <stddef.h>
#include <stdint.h>

#define DEDUPE_PEER_MAX 28 /* bytes of a peer key: a sockaddr_in6 fits */

enum dedupe_state {
    DEDUPE_PENDING, /* published, waiting for the broker's PUBACK */
    DEDUPE_DONE,    /* answered with code */
};

struct dedupe_entry {
    uint8_t peer[DEDUPE_PEER_MAX];
    uint8_t peer_len;
    uint16_t mid;
    enum dedupe_state state;
    int code;        /* class * 100 + detail, when DONE */
    int max_age_s;   /* Max-Age sent with a 5.03; 0 none */
    int64_t born_ms; /* monotonic */
    uint32_t next;   /* hash chain (index + 1; 0 ends) */
};

struct dedupe;

/* capacity entries (rounded up to a power of two, at least 16), remembered window_ms. */
struct dedupe *dedupe_new(size_t capacity, int64_t window_ms);
void dedupe_free(struct dedupe *d); /* accepts NULL */

/* The live entry for (peer, mid), or NULL. The pointer is valid until the next insert. */
struct dedupe_entry *dedupe_find(struct dedupe *d, const void *peer, size_t peer_len, uint16_t mid,
                                 int64_t now_ms);

/* Remembers (peer, mid) as PENDING (replacing the oldest entry when full). peer_len is cut
 * to DEDUPE_PEER_MAX. Returns the entry (valid until the next insert). */
struct dedupe_entry *dedupe_insert(struct dedupe *d, const void *peer, size_t peer_len,
                                   uint16_t mid, int64_t now_ms);

/* Marks (peer, mid) answered with code (when it is still remembered). */
void dedupe_done(struct dedupe *d, const void *peer, size_t peer_len, uint16_t mid, int code,
                 int max_age_s, int64_t now_ms);

size_t dedupe_count(const struct dedupe *d);

#endif
