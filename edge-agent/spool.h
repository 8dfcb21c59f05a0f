/* The agent's durable on-disk spool: every metrics pack is appended (and fdatasync'd) before
 * it is published, and leaves only when the hub's end-to-end ack covers its (boot id, seq),
 * or when the size or age bound drops it (oldest first, counted). Survives restarts: packs
 * of earlier boots keep their boot id and seq. Picks what to (re)send next, oldest first.
 * One owner: not thread-safe; one spool per directory (a flock'd lock file).
 * On-disk format: see spool_internal.h. */
#ifndef UPDRAFT_AGENT_SPOOL_H
#define UPDRAFT_AGENT_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPOOL_BOOT_ID_LEN 16 /* lowercase hex digits, as identity_new_boot_id writes */
#define SPOOL_DEFAULT_MAX_BYTES (UINT64_C(64) << 20)
#define SPOOL_DEFAULT_MAX_AGE_MS (INT64_C(24) * 3600 * 1000)
#define SPOOL_DEFAULT_SEGMENT_BYTES (UINT64_C(1) << 20)
#define SPOOL_DEFAULT_RECORD_MAX_BYTES ((size_t)256 << 10)
#define SPOOL_DROP_RANGES_MAX 16 /* the most recent drop ranges kept (and persisted) */

/* Zero fields take the defaults. Constraints (else -EINVAL): record_max_bytes + 56 <=
 * segment_bytes <= 1 GiB, 2 * segment_bytes <= max_bytes, max_age_ms >= 0. */
struct spool_options {
    const char *dir;         /* created 0700 if missing (not its parents) */
    uint64_t max_bytes;      /* bound on the segment files' total size */
    int64_t max_age_ms;      /* spool_expire drops packs older than this (pack time) */
    uint64_t segment_bytes;  /* a segment file is rolled before it would pass this */
    size_t record_max_bytes; /* largest payload; larger appends get -EMSGSIZE */
    bool no_fsync;           /* tests and benchmarks only: appends are not durable */
};

/* A held pack, as spool_next_due and spool_read describe it. */
struct spool_record {
    uint64_t id; /* spool record id: the handle for mark_sent */
    char boot_id[SPOOL_BOOT_ID_LEN + 1];
    uint64_t seq;
    int64_t time_ms; /* wall clock of the pack */
    size_t len;      /* payload bytes */
    bool resend;     /* it was sent before (since open / reset) */
};

enum spool_drop_reason {
    SPOOL_DROP_SIZE,    /* the size bound (or a full disk) dropped the oldest segment */
    SPOOL_DROP_AGE,     /* older than max_age_ms */
    SPOOL_DROP_CORRUPT, /* its bytes on disk were damaged (header intact, so known) */
};

/* Consecutive seqs of one boot dropped for one reason. */
struct spool_drop_range {
    char boot_id[SPOOL_BOOT_ID_LEN + 1];
    uint64_t first_seq, last_seq; /* inclusive */
    enum spool_drop_reason reason;
};

struct spool_stats {
    uint64_t records;    /* packs held (not acked, not dropped) */
    uint64_t disk_bytes; /* segment files' total size: what max_bytes bounds */
    uint64_t segments;
    int64_t oldest_ms;        /* time_ms of the oldest held pack; 0 when none */
    uint64_t dropped_total;   /* size and age drops, ever (persisted in <dir>/state) */
    uint64_t corrupt_total;   /* damaged records or regions skipped since open */
    uint64_t truncated_bytes; /* torn tails cut off at open */
    uint64_t acked_total;     /* packs acked since open */
};

struct spool;

/* Opens (creating if needed) the spool in opts->dir: takes the lock (-EBUSY when another
 * spool holds it), recovers every segment (torn tails truncated, damaged records skipped and
 * counted), forgets packs acked or dropped before. Every held pack starts as never sent.
 * Call spool_expire next. Returns 0, -EINVAL, -EBUSY, -ENOMEM or -EIO; on error writes a
 * reason to errmsg (errmsg_size bytes; may be NULL). Writes *out only on success. */
int spool_open(const struct spool_options *opts, struct spool **out, char *errmsg,
               size_t errmsg_size) __attribute__((warn_unused_result));
/* Releases the lock and memory; accepts NULL. Held packs stay on disk. */
void spool_close(struct spool *sp);

/* The detail of the last -EIO (or of a non-fatal ack-log or state-file failure). */
const char *spool_errmsg(const struct spool *sp);

/* Appends a pack, durable on return (unless no_fsync). boot_id: SPOOL_BOOT_ID_LEN lowercase
 * hex digits, NUL-terminated; within a boot seq must increase, and a boot whose packs are
 * still held cannot append again once another boot has. When the pack would pass max_bytes
 * (or the disk is full) the oldest segment is dropped first, never -ENOSPC. Writes the
 * pack's id to *id_out when not NULL. Returns 0, -EINVAL, -EMSGSIZE (len >
 * record_max_bytes), -ENOMEM or -EIO. */
int spool_append(struct spool *sp, const char *boot_id, uint64_t seq, int64_t time_ms,
                 const void *payload, size_t len, uint64_t *id_out)
    __attribute__((warn_unused_result));

/* The hub acked seqs first..last (inclusive) of boot_id: those packs leave the spool (the
 * ack is noted in an unsynced log, so a crash may cost a harmless resend). Returns how many
 * packs were newly acked (0 for an unknown boot), or -EINVAL. */
int spool_ack(struct spool *sp, const char *boot_id, uint64_t first_seq, uint64_t last_seq)
    __attribute__((warn_unused_result));

/* Drops (oldest first, counted) held packs whose time_ms < now_wall_ms - max_age_ms, in
 * append order: it stops at the first younger pack. O(1) when nothing expires; call it
 * after open and about once per collection. Returns how many were dropped. */
uint64_t spool_expire(struct spool *sp, int64_t now_wall_ms);

/* Notes that pack id was handed to the transport at now_mono_ms (monotonic, never
 * decreasing between calls). Returns 0, -ENOENT (not held: acked or dropped), -ENOMEM
 * (nothing changed: the pack stays as due as it was). */
int spool_mark_sent(struct spool *sp, uint64_t id, int64_t now_mono_ms)
    __attribute__((warn_unused_result));

/* Forgets every send (on reconnect): all held packs become due again, oldest first. O(n). */
void spool_reset_sent(struct spool *sp);

/* Finds the oldest (smallest id) held pack that is due: never sent since open / reset, or
 * last sent at or before now_mono_ms - resend_after_ms. Describes it in *rec and, when buf
 * is not NULL, reads its payload into buf (buf_size bytes). It stays due until
 * spool_mark_sent. A pack found damaged on disk is dropped (counted) and the next one taken.
 * O(log n) amortized. Returns 1 (found), 0 (nothing due), -EMSGSIZE (buf too small: rec is
 * filled, rec->len says how much is needed), -EINVAL or -EIO. */
int spool_next_due(struct spool *sp, int64_t now_mono_ms, int64_t resend_after_ms,
                   struct spool_record *rec, void *buf, size_t buf_size)
    __attribute__((warn_unused_result));

/* Milliseconds until spool_next_due would find something (0 = now), -1 when nothing held
 * waits: for the caller's sleep. */
int64_t spool_due_in_ms(struct spool *sp, int64_t now_mono_ms, int64_t resend_after_ms);

/* Reads held pack id: as spool_next_due for one pack. Returns 0, -ENOENT, -EMSGSIZE,
 * -EBADMSG (damaged on disk: dropped and counted) or -EIO. */
int spool_read(struct spool *sp, uint64_t id, struct spool_record *rec, void *buf, size_t buf_size)
    __attribute__((warn_unused_result));

void spool_stats(const struct spool *sp, struct spool_stats *out);

/* Copies up to max of the most recent drop ranges (oldest first); returns how many exist
 * (at most SPOOL_DROP_RANGES_MAX). Persisted across restarts with dropped_total. */
size_t spool_drops(const struct spool *sp, struct spool_drop_range *out, size_t max);

#endif
