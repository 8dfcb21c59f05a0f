/* The spool's memory across restarts (spool_internal.h): the state file (drop counts and
 * the most recent drop ranges) and the done log (ids acked or dropped while their segment
 * lives on), appended in batches and rewritten when it doubles. Neither is fsync'd: losing
 * them costs resends and counts, never packs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "edge-agent/spool_internal.h"

#define ACKLOG_TMP_NAME "acks.log.tmp"
#define STATE_TMP_NAME "state.tmp"

void spool_note_drop(struct spool *sp, const char *boot_id, uint64_t seq,
                     enum spool_drop_reason reason)
{
    struct spool_state *st = &sp->state;
    if (reason != SPOOL_DROP_CORRUPT)
        st->dropped_total++;
    sp->state_dirty = true;
    struct spool_drop_range *last = st->n_drops > 0 ? &st->drops[st->n_drops - 1] : NULL;
    if (last != NULL && last->reason == reason && last->last_seq + 1 == seq &&
        memcmp(last->boot_id, boot_id, SPOOL_BOOT_ID_LEN) == 0) {
        last->last_seq = seq;
        return;
    }
    if (st->n_drops == SPOOL_DROP_RANGES_MAX) {
        memmove(&st->drops[0], &st->drops[1], (SPOOL_DROP_RANGES_MAX - 1) * sizeof st->drops[0]);
        st->n_drops--;
    }
    struct spool_drop_range *d = &st->drops[st->n_drops++];
    memcpy(d->boot_id, boot_id, SPOOL_BOOT_ID_LEN);
    d->boot_id[SPOOL_BOOT_ID_LEN] = '\0';
    d->first_seq = d->last_seq = seq;
    d->reason = reason;
}

static int write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

void spool_state_save(struct spool *sp)
{
    if (!sp->state_dirty)
        return;
    uint8_t buf[SPOOL_STATE_LEN];
    spool_state_encode(&sp->state, buf);
    int fd = openat(sp->dir_fd, STATE_TMP_NAME, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = fd < 0 ? -errno : write_all(fd, buf, sizeof buf);
    if (fd >= 0 && close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && renameat(sp->dir_fd, STATE_TMP_NAME, sp->dir_fd, SPOOL_STATE_NAME) != 0)
        rc = -errno;
    if (rc != 0)
        (void)spool_fail(sp, -EIO, "%s/%s: %s", sp->dir, SPOOL_STATE_NAME, strerror(-rc));
    else
        sp->state_dirty = false;
}

static void acklog_write(struct spool *sp, const uint8_t *buf, size_t len)
{
    if (sp->acklog_fd < 0)
        return;
    int rc = write_all(sp->acklog_fd, buf, len);
    if (rc == 0) {
        sp->acklog_bytes += len;
        return;
    }
    sp->acklog_failed = true;
    (void)spool_fail(sp, -EIO, "%s/%s: %s", sp->dir, SPOOL_ACKLOG_NAME, strerror(-rc));
    if (ftruncate(sp->acklog_fd, (off_t)sp->acklog_bytes) != 0) { /* keep entries aligned */
        close(sp->acklog_fd);
        sp->acklog_fd = -1;
    }
}

static void run_emit(struct spool *sp, struct spool_run *r, uint64_t first, uint64_t last)
{
    spool_acklog_encode(first, last, r->buf + r->n * SPOOL_ACKLOG_ENTRY_LEN);
    if (++r->n == SPOOL_RUN_BATCH) {
        acklog_write(sp, r->buf, r->n * SPOOL_ACKLOG_ENTRY_LEN);
        r->n = 0;
    }
}

void spool_run_add(struct spool_run *r, uint64_t id)
{
    if (!r->open)
        r->first = id;
    r->last = id;
    r->open = true;
}

void spool_run_break(struct spool *sp, struct spool_run *r)
{
    if (r->open)
        run_emit(sp, r, r->first, r->last);
    r->open = false;
}

void spool_run_end(struct spool *sp, struct spool_run *r)
{
    spool_run_break(sp, r);
    if (r->n > 0)
        acklog_write(sp, r->buf, r->n * SPOOL_ACKLOG_ENTRY_LEN);
    r->n = 0;
}

void spool_acklog_rewrite(struct spool *sp)
{
    int fd = openat(sp->dir_fd, ACKLOG_TMP_NAME,
                    O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        (void)spool_fail(sp, -EIO, "%s/%s: %s", sp->dir, ACKLOG_TMP_NAME, strerror(errno));
        return;
    }
    int old_fd = sp->acklog_fd;
    uint64_t old_bytes = sp->acklog_bytes;
    sp->acklog_fd = fd;
    sp->acklog_bytes = 0;
    sp->acklog_failed = false;
    struct spool_run run = {.n = 0};
    const struct spool_index *idx = &sp->idx;
    size_t k = idx->head;
    for (size_t s = 0; s < sp->n_segs; s++) {
        const struct spool_segment *seg = &sp->segs[s];
        if (seg->records == 0)
            continue;
        uint64_t next = seg->first_id; /* first id not yet known held or done */
        for (; k < idx->n && idx->e[k].id <= seg->last_id; k++) {
            if (idx->e[k].state == SPOOL_ENTRY_DONE || idx->e[k].id < next)
                continue;
            if (idx->e[k].id > next)
                run_emit(sp, &run, next, idx->e[k].id - 1);
            next = idx->e[k].id + 1;
        }
        if (next <= seg->last_id)
            run_emit(sp, &run, next, seg->last_id);
    }
    spool_run_end(sp, &run);
    if (sp->acklog_fd >= 0 && !sp->acklog_failed &&
        renameat(sp->dir_fd, ACKLOG_TMP_NAME, sp->dir_fd, SPOOL_ACKLOG_NAME) == 0) {
        if (old_fd >= 0)
            close(old_fd);
    } else {
        (void)spool_fail(sp, -EIO, "%s/%s: cannot rewrite: %s", sp->dir, SPOOL_ACKLOG_NAME,
                         strerror(errno));
        if (sp->acklog_fd >= 0)
            close(sp->acklog_fd);
        (void)unlinkat(sp->dir_fd, ACKLOG_TMP_NAME, 0);
        sp->acklog_fd = old_fd;
        sp->acklog_bytes = old_bytes;
    }
    uint64_t limit = 2 * sp->acklog_bytes;
    sp->acklog_limit = limit > SPOOL_ACKLOG_COMPACT_MIN ? limit : SPOOL_ACKLOG_COMPACT_MIN;
}
