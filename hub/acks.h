/* End-to-end acknowledgements: which packs (boot id, sequence) each host's samples are now
 * committed for. The writer notes every committed pack; at most every interval_ms per host
 * the pending ranges go out as one message on <root>/v1/<host>/ack:
 *   {"boot_id":"0006744996778f72","ranges":[[1,5],[7,7]]}
 * (ranges are inclusive, ascending, newly committed since that host's previous ack). Only
 * this ack, never a broker PUBACK, tells a sender it may forget a pack.
 * Pure: no I/O and no clock (now comes in); not thread-safe (the writer thread owns it). */
#ifndef UPDRAFT_HUB_ACKS_H
#define UPDRAFT_HUB_ACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACKS_MAX_RANGES 64 /* per host and boot; more pending forces an early flush */

struct acks;

int acks_new(int64_t interval_ms, struct acks **out) __attribute__((warn_unused_result));
void acks_free(struct acks *acks); /* accepts NULL */

/* Notes that pack (boot_id, seq) of host is committed. -ENOSPC when that host's pending list
 * holds ACKS_MAX_RANGES gaps already (flush with force, then note again), -ENOMEM. */
int acks_note(struct acks *acks, const char *host, const char *boot_id, uint64_t seq)
    __attribute__((warn_unused_result));

/* Called once per ack message: payload is JSON, len bytes, borrowed for the call. */
typedef void (*acks_send_fn)(void *user, const char *host, const char *payload, size_t len);

/* Sends every host's pending ranges whose interval has passed (all of them when force), and
 * forgets them. Returns how many messages were sent. */
size_t acks_flush(struct acks *acks, int64_t now_mono_ms, bool force, acks_send_fn send,
                  void *user);

/* Milliseconds until the next flush is due (0 = now), or -1 when nothing is pending. */
int64_t acks_next_due_ms(const struct acks *acks, int64_t now_mono_ms);

#endif
