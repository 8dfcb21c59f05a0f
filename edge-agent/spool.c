/* The agent's spool (spool.h): segments, appends and the size bound, acks, age expiry, what
 * to send next. Opening and recovery live in spool_open.c, the done log and state file in
 * spool_log.c, bytes on disk in spool_file.c, the index in spool_index.c. One owner, no
 * threads. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/crc32c.h"
#include "edge-agent/spool_internal.h"

#define LEAVE_ACKED (-1)

int spool_fail(struct spool *sp, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sp->errmsg, sizeof sp->errmsg, fmt, ap);
    va_end(ap);
    return rc;
}

const char *spool_errmsg(const struct spool *sp)
{
    return sp != NULL ? sp->errmsg : "no spool";
}

void spool_seg_name(char out[SPOOL_SEG_NAME_LEN], uint64_t name_id)
{
    snprintf(out, SPOOL_SEG_NAME_LEN, "seg-%016" PRIx64 ".log", name_id);
}

/* ---- segments ---- */

/* The segment holding record id, or SIZE_MAX. */
static size_t seg_find(const struct spool *sp, uint64_t id)
{
    size_t lo = 0, hi = sp->n_segs;
    while (lo < hi) { /* first segment whose span starts after id */
        size_t mid = lo + (hi - lo) / 2;
        if (sp->segs[mid].records > 0 && sp->segs[mid].first_id <= id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || sp->segs[lo - 1].last_id < id)
        return SIZE_MAX;
    return lo - 1;
}

/* A held entry leaves: acked (why LEAVE_ACKED) or dropped for reason why. */
static void leave(struct spool *sp, struct spool_entry *e, int why)
{
    size_t s = seg_find(sp, e->id);
    if (s != SIZE_MAX)
        sp->segs[s].live--;
    if (why == LEAVE_ACKED)
        sp->acked_total++;
    else
        spool_note_drop(sp, sp->idx.boots[e->boot].id, e->seq, (enum spool_drop_reason)why);
    spool_index_done(&sp->idx, e);
}

static bool is_active(const struct spool *sp, size_t s)
{
    return sp->has_active && s + 1 == sp->n_segs;
}

static void roll(struct spool *sp)
{
    if (sp->has_active)
        close(sp->active_fd);
    sp->active_fd = -1;
    sp->has_active = false;
}

/* Deletes segment s, dropping its held records for reason. */
static void segment_delete(struct spool *sp, size_t s, enum spool_drop_reason reason)
{
    struct spool_segment *seg = &sp->segs[s];
    struct spool_index *idx = &sp->idx;
    for (size_t k = spool_index_lower(idx, seg->first_id);
         seg->live > 0 && k < idx->n && idx->e[k].id <= seg->last_id; k++)
        if (idx->e[k].state != SPOOL_ENTRY_DONE)
            leave(sp, &idx->e[k], (int)reason);
    if (is_active(sp, s))
        roll(sp);
    if (sp->read_fd >= 0 && sp->read_name_id == seg->name_id) {
        close(sp->read_fd);
        sp->read_fd = -1;
    }
    char name[SPOOL_SEG_NAME_LEN];
    spool_seg_name(name, seg->name_id);
    if (unlinkat(sp->dir_fd, name, 0) != 0 && errno != ENOENT)
        (void)spool_fail(sp, -EIO, "%s/%s: cannot delete: %s", sp->dir, name, strerror(errno));
    sp->disk_bytes -= seg->bytes;
    memmove(seg, seg + 1, (sp->n_segs - s - 1) * sizeof *seg);
    sp->n_segs--;
}

/* Deletes the segments (but the active one) nothing is held in. */
static void sweep(struct spool *sp)
{
    for (size_t s = sp->n_segs; s-- > 0;)
        if (sp->segs[s].live == 0 && !is_active(sp, s))
            segment_delete(sp, s, SPOOL_DROP_SIZE);
}

/* After a call that changed what is held: compacts, deletes, persists. */
static void tidy(struct spool *sp)
{
    spool_index_purge(&sp->idx);
    spool_index_settle(&sp->idx);
    sweep(sp);
    if (sp->acklog_bytes > sp->acklog_limit)
        spool_acklog_rewrite(sp);
    spool_state_save(sp);
}

static int segment_create(struct spool *sp)
{
    char name[SPOOL_SEG_NAME_LEN];
    spool_seg_name(name, sp->next_id);
    int fd = openat(sp->dir_fd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    if (!sp->opts.no_fsync && fsync(sp->dir_fd) != 0) {
        int rc = -errno;
        close(fd);
        (void)unlinkat(sp->dir_fd, name, 0);
        return rc;
    }
    sp->segs[sp->n_segs++] =
        (struct spool_segment){.name_id = sp->next_id, .first_id = sp->next_id};
    sp->active_fd = fd;
    sp->has_active = true;
    return 0;
}

/* Writes one record at the end of the active segment, durably; on failure the segment is
 * cut back to where it was. Returns 0 or -errno. */
static int segment_write(struct spool *sp, const uint8_t *hdr, const void *payload, size_t len)
{
    struct spool_segment *seg = &sp->segs[sp->n_segs - 1];
    size_t total = SPOOL_HDR_LEN + len, done = 0;
    int rc = 0;
    while (done < total) {
        struct iovec iov[2];
        int n_iov = 0;
        if (done < SPOOL_HDR_LEN)
            iov[n_iov++] = (struct iovec){(void *)(hdr + done), SPOOL_HDR_LEN - done};
        size_t from = done > SPOOL_HDR_LEN ? done - SPOOL_HDR_LEN : 0;
        if (len > from)
            iov[n_iov++] = (struct iovec){(uint8_t *)payload + from, len - from};
        ssize_t n = pwritev(sp->active_fd, iov, n_iov, (off_t)(seg->bytes + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? -errno : -EIO;
            break;
        }
        done += (size_t)n;
    }
    if (rc == 0 && !sp->opts.no_fsync && fdatasync(sp->active_fd) != 0)
        rc = -errno;
    if (rc != 0) {
        if (ftruncate(sp->active_fd, (off_t)seg->bytes) != 0 || done == total)
            roll(sp); /* its state is uncertain: append to a new file */
    }
    return rc;
}

/* Puts the record on disk: rolls the active segment when full, drops the oldest segments
 * for the size bound and, when the disk is full, until it fits. */
static int place_record(struct spool *sp, const uint8_t *hdr, const void *payload, size_t len)
{
    uint64_t rec_bytes = SPOOL_HDR_LEN + len;
    if (sp->has_active && sp->segs[sp->n_segs - 1].bytes + rec_bytes > sp->opts.segment_bytes)
        roll(sp);
    while (sp->disk_bytes + rec_bytes > sp->opts.max_bytes && sp->n_segs > 0 && !is_active(sp, 0))
        segment_delete(sp, 0, SPOOL_DROP_SIZE);
    for (;;) {
        int rc = sp->has_active ? 0 : segment_create(sp);
        if (rc == 0)
            rc = segment_write(sp, hdr, payload, len);
        if (rc == 0)
            return 0;
        if (rc != -ENOSPC && rc != -EDQUOT)
            return spool_fail(sp, -EIO, "%s: cannot append: %s", sp->dir, strerror(-rc));
        /* Disk full: drop the oldest segment, the active one last (its packs are the
         * oldest then), until nothing is left to drop. */
        if (sp->n_segs == 0 || (sp->n_segs == 1 && sp->segs[0].records == 0))
            return spool_fail(sp, -EIO, "%s: disk full, nothing left to drop", sp->dir);
        segment_delete(sp, 0, SPOOL_DROP_SIZE);
    }
}

/* ---- the API ---- */

void spool_close(struct spool *sp)
{
    if (sp == NULL)
        return;
    if (sp->dir_fd >= 0)
        spool_state_save(sp);
    int fds[] = {sp->active_fd, sp->read_fd, sp->acklog_fd, sp->lock_fd, sp->dir_fd};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    spool_index_free(&sp->idx);
    free(sp->segs);
    free(sp->dir);
    free(sp);
}

int spool_append(struct spool *sp, const char *boot_id, uint64_t seq, int64_t time_ms,
                 const void *payload, size_t len, uint64_t *id_out)
{
    if (sp == NULL || boot_id == NULL || (payload == NULL && len > 0) ||
        !spool_boot_id_valid(boot_id, strnlen(boot_id, SPOOL_BOOT_ID_LEN + 1)))
        return -EINVAL;
    if (len > sp->opts.record_max_bytes)
        return -EMSGSIZE;
    struct spool_index *idx = &sp->idx;
    uint32_t b = spool_index_boot_find(idx, boot_id);
    if (b != UINT32_MAX &&
        (b == idx->latest_boot ? seq <= idx->boots[b].last_seq : idx->boots[b].live > 0))
        return -EINVAL;
    if (spool_index_reserve(idx) != 0)
        return -ENOMEM;
    if (sp->n_segs == sp->cap_segs) {
        size_t cap = sp->cap_segs != 0 ? sp->cap_segs * 2 : 4;
        struct spool_segment *segs = realloc(sp->segs, cap * sizeof *segs);
        if (segs == NULL)
            return -ENOMEM;
        sp->segs = segs;
        sp->cap_segs = cap;
    }
    struct spool_hdr h = {.len = (uint32_t)len,
                          .id = sp->next_id,
                          .seq = seq,
                          .time_ms = time_ms,
                          .payload_crc = crc32c(0, payload, len)};
    memcpy(h.boot_id, boot_id, SPOOL_BOOT_ID_LEN);
    uint8_t hdr[SPOOL_HDR_LEN];
    spool_hdr_encode(&h, hdr);
    int rc = place_record(sp, hdr, payload, len);
    if (rc == 0) {
        struct spool_segment *seg = &sp->segs[sp->n_segs - 1];
        (void)spool_index_add(idx, boot_id, h.id, seq, time_ms, (uint32_t)seg->bytes,
                              (uint32_t)len);
        if (seg->records++ == 0)
            seg->first_id = h.id;
        seg->last_id = h.id;
        seg->live++;
        seg->bytes += SPOOL_HDR_LEN + len;
        sp->disk_bytes += SPOOL_HDR_LEN + len;
        sp->next_id++;
        if (id_out != NULL)
            *id_out = h.id;
    }
    tidy(sp);
    return rc;
}

int spool_ack(struct spool *sp, const char *boot_id, uint64_t first_seq, uint64_t last_seq)
{
    if (sp == NULL || boot_id == NULL || first_seq > last_seq ||
        !spool_boot_id_valid(boot_id, strnlen(boot_id, SPOOL_BOOT_ID_LEN + 1)))
        return -EINVAL;
    struct spool_index *idx = &sp->idx;
    uint32_t b = spool_index_boot_find(idx, boot_id);
    if (b == UINT32_MAX || idx->boots[b].live == 0)
        return 0;
    size_t from, to;
    spool_index_boot_span(idx, b, first_seq, last_seq, &from, &to);
    struct spool_run run = {.n = 0};
    int acked = 0;
    for (size_t k = from; k < to; k++) {
        struct spool_entry *e = &idx->e[k];
        if (e->state == SPOOL_ENTRY_DONE)
            continue;
        if (e->boot != b || e->seq < first_seq || e->seq > last_seq) {
            spool_run_break(sp, &run);
            continue;
        }
        spool_run_add(&run, e->id);
        leave(sp, e, LEAVE_ACKED);
        acked++;
    }
    spool_run_end(sp, &run);
    tidy(sp);
    return acked;
}

uint64_t spool_expire(struct spool *sp, int64_t now_wall_ms)
{
    if (sp == NULL || now_wall_ms < INT64_MIN + sp->opts.max_age_ms)
        return 0;
    int64_t cutoff = now_wall_ms - sp->opts.max_age_ms;
    struct spool_index *idx = &sp->idx;
    struct spool_run run = {.n = 0};
    uint64_t dropped = 0;
    for (size_t k = idx->head; k < idx->n; k++) {
        struct spool_entry *e = &idx->e[k];
        if (e->state == SPOOL_ENTRY_DONE)
            continue;
        if (e->time_ms >= cutoff)
            break;
        spool_run_add(&run, e->id);
        leave(sp, e, SPOOL_DROP_AGE);
        dropped++;
    }
    if (dropped > 0) {
        spool_run_end(sp, &run);
        tidy(sp);
    }
    return dropped;
}

int spool_mark_sent(struct spool *sp, uint64_t id, int64_t now_mono_ms)
{
    if (sp == NULL)
        return -EINVAL;
    struct spool_entry *e = spool_index_find(&sp->idx, id);
    if (e == NULL || e->state == SPOOL_ENTRY_DONE)
        return -ENOENT;
    return spool_index_sent(&sp->idx, e, now_mono_ms);
}

void spool_reset_sent(struct spool *sp)
{
    if (sp != NULL)
        spool_index_reset_sent(&sp->idx);
}

static int read_full(int fd, void *buf, size_t len, uint64_t off)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EBADMSG; /* shorter than the index says */
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

/* A read handle on the segment holding e: the active one, or the cached one. */
static int segment_fd(struct spool *sp, const struct spool_entry *e)
{
    size_t s = seg_find(sp, e->id);
    if (s == SIZE_MAX)
        return -EBADMSG;
    if (is_active(sp, s))
        return sp->active_fd;
    if (sp->read_fd >= 0 && sp->read_name_id == sp->segs[s].name_id)
        return sp->read_fd;
    if (sp->read_fd >= 0)
        close(sp->read_fd);
    char name[SPOOL_SEG_NAME_LEN];
    spool_seg_name(name, sp->segs[s].name_id);
    sp->read_fd = openat(sp->dir_fd, name, O_RDONLY | O_CLOEXEC);
    if (sp->read_fd < 0)
        return spool_fail(sp, -EIO, "%s/%s: %s", sp->dir, name, strerror(errno));
    sp->read_name_id = sp->segs[s].name_id;
    return sp->read_fd;
}

/* Describes e in rec and reads its payload into buf (when not NULL), checking every byte
 * against the record's CRCs. 0, -EMSGSIZE, -EBADMSG (damaged), -EIO. */
static int read_entry(struct spool *sp, const struct spool_entry *e, struct spool_record *rec,
                      void *buf, size_t buf_size)
{
    *rec = (struct spool_record){.id = e->id,
                                 .seq = e->seq,
                                 .time_ms = e->time_ms,
                                 .len = e->len,
                                 .resend = e->state == SPOOL_ENTRY_SENT};
    memcpy(rec->boot_id, sp->idx.boots[e->boot].id, SPOOL_BOOT_ID_LEN);
    if (buf == NULL)
        return 0;
    if (buf_size < e->len)
        return -EMSGSIZE;
    int fd = segment_fd(sp, e);
    if (fd < 0)
        return fd;
    uint8_t raw[SPOOL_HDR_LEN];
    struct spool_hdr h;
    int rc = read_full(fd, raw, sizeof raw, e->offset);
    if (rc == 0)
        rc = read_full(fd, buf, e->len, (uint64_t)e->offset + SPOOL_HDR_LEN);
    if (rc != 0 && rc != -EBADMSG)
        return spool_fail(sp, -EIO, "%s: reading record %" PRIu64 ": %s", sp->dir, e->id,
                          strerror(-rc));
    if (rc == 0 && (spool_hdr_decode(raw, &h) != 0 || h.id != e->id || h.len != e->len ||
                    h.payload_crc != crc32c(0, buf, e->len)))
        rc = -EBADMSG;
    return rc;
}

/* A record found damaged after open: dropped, counted, noted done. */
static void drop_corrupt(struct spool *sp, struct spool_entry *e)
{
    struct spool_run run = {.n = 0};
    spool_run_add(&run, e->id);
    sp->corrupt_total++;
    leave(sp, e, SPOOL_DROP_CORRUPT);
    spool_run_end(sp, &run);
    tidy(sp);
}

int spool_read(struct spool *sp, uint64_t id, struct spool_record *rec, void *buf, size_t buf_size)
{
    if (sp == NULL || rec == NULL)
        return -EINVAL;
    struct spool_entry *e = spool_index_find(&sp->idx, id);
    if (e == NULL || e->state == SPOOL_ENTRY_DONE)
        return -ENOENT;
    int rc = read_entry(sp, e, rec, buf, buf_size);
    if (rc == -EBADMSG)
        drop_corrupt(sp, e);
    return rc;
}

int spool_next_due(struct spool *sp, int64_t now_mono_ms, int64_t resend_after_ms,
                   struct spool_record *rec, void *buf, size_t buf_size)
{
    if (sp == NULL || rec == NULL || resend_after_ms < 0)
        return -EINVAL;
    for (;;) {
        struct spool_entry *e = spool_index_due(&sp->idx, now_mono_ms, resend_after_ms);
        if (e == NULL)
            return 0;
        int rc = read_entry(sp, e, rec, buf, buf_size);
        if (rc != -EBADMSG)
            return rc == 0 ? 1 : rc;
        drop_corrupt(sp, e);
    }
}

int64_t spool_due_in_ms(struct spool *sp, int64_t now_mono_ms, int64_t resend_after_ms)
{
    if (sp == NULL || resend_after_ms < 0)
        return -1;
    return spool_index_due_in(&sp->idx, now_mono_ms, resend_after_ms);
}

void spool_stats(const struct spool *sp, struct spool_stats *out)
{
    const struct spool_entry *oldest = spool_index_oldest(&sp->idx);
    *out = (struct spool_stats){.records = sp->idx.live,
                                .disk_bytes = sp->disk_bytes,
                                .segments = sp->n_segs,
                                .oldest_ms = oldest != NULL ? oldest->time_ms : 0,
                                .dropped_total = sp->state.dropped_total,
                                .corrupt_total = sp->corrupt_total,
                                .truncated_bytes = sp->truncated_bytes,
                                .acked_total = sp->acked_total};
}

size_t spool_drops(const struct spool *sp, struct spool_drop_range *out, size_t max)
{
    size_t n = sp->state.n_drops;
    for (size_t i = 0; i < n && i < max; i++)
        out[i] = sp->state.drops[i];
    return n;
}
