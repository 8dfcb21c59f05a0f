/* Internals shared by spool.c (the API, segments, drops), spool_open.c (options, lock,
 * recovery), spool_log.c (done log, state file), spool_file.c (bytes on disk) and
 * spool_index.c (the in-memory index of held packs and the send queue). Not thread-safe.
 *
 * On disk, in the spool directory (all integers little-endian):
 *   lock                 flock'd while a spool is open (empty)
 *   seg-<16 hex>.log     segment files, named by their first record id, oldest first; each
 *                        is records back to back; rolled before passing segment_bytes
 *   acks.log             "done" log: 20-byte entries {u64 first_id, u64 last_id, u32 CRC-32C
 *                        of the 16 bytes before}: record ids acked or dropped while their
 *                        segment lives on. Appended without fsync, rewritten (compacted) at
 *                        open and when it doubles; losing it only causes resends.
 *   state                SPOOL_STATE_LEN bytes: "UDSS", u32 version 1, u64 dropped_total,
 *                        u32 n, SPOOL_DROP_RANGES_MAX x {16 boot id, u64 first_seq, u64
 *                        last_seq, u32 reason} (n used), u32 CRC-32C of all before; replaced
 *                        by rename.
 * A record: a 56-byte header, then the payload:
 *   0 "usp1" | 4 u32 payload length | 8 u64 record id | 16 u64 seq | 24 i64 time_ms |
 *   32 boot id (16 lowercase hex) | 48 u32 CRC-32C of the payload | 52 u32 CRC-32C of bytes
 *   0..51
 * Record ids increase across segments and restarts. Recovery trusts a header only when its
 * CRC holds; past a damaged header it resynchronises on the next valid one (the damage is
 * counted); when none follows, the rest is a torn tail and is truncated. */
#ifndef UPDRAFT_AGENT_SPOOL_INTERNAL_H
#define UPDRAFT_AGENT_SPOOL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge-agent/spool.h"

#define SPOOL_HDR_LEN 56
#define SPOOL_PAYLOAD_LIMIT ((uint32_t)16 << 20) /* recovery refuses longer lengths */
#define SPOOL_SEGMENT_LIMIT (UINT64_C(1) << 30)  /* offsets fit in 32 bits */
#define SPOOL_ACKLOG_ENTRY_LEN 20
#define SPOOL_STATE_LEN (4 + 4 + 8 + 4 + SPOOL_DROP_RANGES_MAX * 36 + 4)
#define SPOOL_ID_MAX (UINT64_C(1) << 62) /* recovery refuses larger record ids */
#define SPOOL_SEG_NAME_LEN 25            /* "seg-<16 hex>.log" and NUL */
#define SPOOL_ACKLOG_NAME "acks.log"
#define SPOOL_STATE_NAME "state"
#define SPOOL_LOCK_NAME "lock"
#define SPOOL_ACKLOG_COMPACT_MIN (UINT64_C(64) << 10)

/* ---- spool_file.c: CRC, encodings, the recovery scanner ---- */

bool spool_boot_id_valid(const char *boot_id, size_t len);

struct spool_hdr {
    uint32_t len;
    uint64_t id, seq;
    int64_t time_ms;
    char boot_id[SPOOL_BOOT_ID_LEN];
    uint32_t payload_crc;
};

void spool_hdr_encode(const struct spool_hdr *h, uint8_t out[SPOOL_HDR_LEN]);
/* 0, or -EBADMSG: bad magic or CRC, length past SPOOL_PAYLOAD_LIMIT, boot id not hex. */
int spool_hdr_decode(const uint8_t in[SPOOL_HDR_LEN], struct spool_hdr *h);

void spool_acklog_encode(uint64_t first_id, uint64_t last_id, uint8_t out[SPOOL_ACKLOG_ENTRY_LEN]);
/* 0, or -EBADMSG (CRC, first > last). */
int spool_acklog_decode(const uint8_t in[SPOOL_ACKLOG_ENTRY_LEN], uint64_t *first_id,
                        uint64_t *last_id);

struct spool_state {
    uint64_t dropped_total;
    size_t n_drops;
    struct spool_drop_range drops[SPOOL_DROP_RANGES_MAX];
};

void spool_state_encode(const struct spool_state *st, uint8_t out[SPOOL_STATE_LEN]);
/* 0, or -EBADMSG (then *st is zeroed). */
int spool_state_decode(const uint8_t *in, size_t len, struct spool_state *st);

/* Walks one segment file's records through a bounded read buffer. */
struct spool_scan {
    int fd;
    uint64_t size;
    uint64_t pos; /* where the next header is looked for */
    uint8_t *buf;
    size_t cap;
    uint64_t buf_off;
    size_t buf_len;
    uint64_t corrupt; /* damaged regions skipped (each one counts once) */
    uint64_t tail;    /* at the end: where the valid bytes end (the rest is torn) */
};

int spool_scan_init(struct spool_scan *s, int fd, uint64_t size)
    __attribute__((warn_unused_result));
void spool_scan_deinit(struct spool_scan *s);
/* 1: *h is the next record with a valid header, at *off (its payload is not checked yet);
 * 0: end (s->tail set); -EIO. */
int spool_scan_next(struct spool_scan *s, struct spool_hdr *h, uint64_t *off)
    __attribute__((warn_unused_result));
/* 1 when the payload of the record at off matches h->payload_crc, 0 when not, -EIO. */
int spool_scan_payload_ok(struct spool_scan *s, const struct spool_hdr *h, uint64_t off)
    __attribute__((warn_unused_result));

/* ---- spool_index.c: held packs in id order, boots, the send queue ---- */

enum spool_entry_state {
    SPOOL_ENTRY_UNSENT,
    SPOOL_ENTRY_SENT,
    SPOOL_ENTRY_DONE, /* acked or dropped: waits to be compacted away */
};

struct spool_entry {
    uint64_t id, seq;
    int64_t time_ms;
    int64_t sent_mono_ms; /* last send, when SENT */
    uint32_t offset;      /* of the header in its segment */
    uint32_t len;         /* payload bytes */
    uint32_t boot;        /* index in spool_index.boots */
    uint8_t state;        /* enum spool_entry_state */
};

struct spool_boot {
    char id[SPOOL_BOOT_ID_LEN];
    uint64_t first_id, last_id; /* span of its records in the spool */
    uint64_t last_seq;
    uint64_t live; /* held records */
    bool ordered;  /* its records are one id span, seq increasing */
};

struct spool_due {
    uint64_t id;
    int64_t sent_mono_ms;
};

struct spool_index {
    struct spool_entry *e; /* [head, n) sorted by id; all before head are gone */
    size_t n, cap, head;
    size_t done;   /* DONE entries in [head, n) */
    size_t unsent; /* no UNSENT entry in [head, unsent) */
    uint64_t live;
    struct spool_boot *boots;
    size_t n_boots, cap_boots;
    uint32_t latest_boot;   /* boot of the newest entry; UINT32_MAX when none */
    struct spool_due *fifo; /* ring of sends in send order */
    size_t fifo_cap, fifo_head, fifo_n;
    struct spool_due *heap; /* sends whose resend time has come, min-heap by id */
    size_t heap_n, heap_cap;
};

void spool_index_init(struct spool_index *idx);
void spool_index_free(struct spool_index *idx);
/* Room for one more entry and boot, so that spool_index_add cannot fail. 0 or -ENOMEM. */
int spool_index_reserve(struct spool_index *idx) __attribute__((warn_unused_result));
/* The boot's index, or UINT32_MAX when unknown. */
uint32_t spool_index_boot_find(const struct spool_index *idx, const char *boot_id);
/* Adds an UNSENT entry after spool_index_reserve; id must exceed every id held. A boot
 * that is not the latest (and still holds records) or a seq that does not increase makes
 * the boot unordered. */
struct spool_entry *spool_index_add(struct spool_index *idx, const char *boot_id, uint64_t id,
                                    uint64_t seq, int64_t time_ms, uint32_t offset, uint32_t len);
/* The entry with this id in [head, n), or NULL. */
struct spool_entry *spool_index_find(struct spool_index *idx, uint64_t id);
/* First position in [head, n) whose id >= id. */
size_t spool_index_lower(const struct spool_index *idx, uint64_t id);
/* Positions [*from, *to) holding every entry of boot with seq in [first, last]; entries
 * there may belong to other boots when it is unordered (check entry->boot). */
void spool_index_boot_span(const struct spool_index *idx, uint32_t boot, uint64_t first_seq,
                           uint64_t last_seq, size_t *from, size_t *to);
/* Marks a held entry DONE. */
void spool_index_done(struct spool_index *idx, struct spool_entry *e);
/* Advances head past DONE entries and compacts when half is waste (entry pointers move). */
void spool_index_settle(struct spool_index *idx);
/* The oldest held entry, or NULL. */
const struct spool_entry *spool_index_oldest(const struct spool_index *idx);

int spool_index_sent(struct spool_index *idx, struct spool_entry *e, int64_t now_mono_ms)
    __attribute__((warn_unused_result));
void spool_index_reset_sent(struct spool_index *idx);
/* The oldest due entry, or NULL. */
struct spool_entry *spool_index_due(struct spool_index *idx, int64_t now_mono_ms,
                                    int64_t resend_after_ms);
int64_t spool_index_due_in(struct spool_index *idx, int64_t now_mono_ms, int64_t resend_after_ms);
/* Drops due-queue items of records no longer SENT at that time, from the front. */
void spool_index_purge(struct spool_index *idx);

/* ---- spool.c, spool_open.c, spool_log.c: the spool itself ---- */

struct spool_segment {
    uint64_t name_id;           /* in its file name */
    uint64_t first_id, last_id; /* span of its records (when records > 0) */
    uint64_t records;           /* valid records in the file, held or not */
    uint64_t live;              /* held records */
    uint64_t bytes;             /* file size */
};

struct spool {
    struct spool_options opts; /* defaults applied; opts.dir is dir */
    char *dir;
    int dir_fd, lock_fd, acklog_fd;
    int active_fd; /* segs[n_segs - 1] when has_active */
    int read_fd;   /* a cached read handle on segment read_name_id */
    uint64_t read_name_id;
    bool has_active;
    struct spool_segment *segs; /* oldest first */
    size_t n_segs, cap_segs;
    uint64_t disk_bytes;
    uint64_t next_id;
    struct spool_index idx;
    uint64_t acklog_bytes, acklog_limit;
    bool acklog_failed; /* a write failed since the flag was cleared */
    struct spool_state state;
    bool state_dirty;
    uint64_t corrupt_total, truncated_bytes, acked_total;
    char errmsg[256];
};

/* Formats errmsg, returns rc. */
int spool_fail(struct spool *sp, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void spool_seg_name(char out[SPOOL_SEG_NAME_LEN], uint64_t name_id);
/* Counts a dropped pack into the state (dropped_total unless corrupt) and its ranges. */
void spool_note_drop(struct spool *sp, const char *boot_id, uint64_t seq,
                     enum spool_drop_reason reason);
/* Writes the state file when it changed (failures go to errmsg: counts are not data). */
void spool_state_save(struct spool *sp);
/* Replaces acks.log by the ranges of ids done within live segments; failures leave the
 * old log (or none) and go to errmsg. */
void spool_acklog_rewrite(struct spool *sp);

/* Ids on their way to the done log, written SPOOL_RUN_BATCH entries at a time. Ids added in
 * increasing order join one range until spool_run_break (a held record came between);
 * spool_run_end writes what is left. Start zeroed. */
#define SPOOL_RUN_BATCH 64
struct spool_run {
    uint8_t buf[SPOOL_RUN_BATCH * SPOOL_ACKLOG_ENTRY_LEN];
    size_t n;
    uint64_t first, last;
    bool open;
};

void spool_run_add(struct spool_run *r, uint64_t id);
void spool_run_break(struct spool *sp, struct spool_run *r);
void spool_run_end(struct spool *sp, struct spool_run *r);

#endif
