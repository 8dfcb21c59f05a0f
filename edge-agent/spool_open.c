/* Opening a spool (spool.h): options, the directory and its lock, then recovery: the state
 * file, the done log (ids acked or dropped before), and every segment, whose torn tails are
 * truncated and whose damaged records are skipped and counted. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edge-agent/spool_internal.h"

struct id_range {
    uint64_t first, last;
};

/* What recovery gathers before the index exists. */
struct recovery {
    struct id_range *done; /* sorted, disjoint */
    size_t n_done;
    uint64_t max_id; /* largest id seen anywhere (+1 = next id) */
    bool any_id;
    uint64_t last_record_id; /* record ids must increase through the segments */
    bool any_record;
};

static int check_options(const struct spool_options *in, struct spool_options *o, char *msg,
                         size_t msg_size)
{
    *o = *in;
    if (o->dir == NULL || o->dir[0] == '\0') {
        snprintf(msg, msg_size, "spool: no directory");
        return -EINVAL;
    }
    if (o->max_bytes == 0)
        o->max_bytes = SPOOL_DEFAULT_MAX_BYTES;
    if (o->max_age_ms == 0)
        o->max_age_ms = SPOOL_DEFAULT_MAX_AGE_MS;
    if (o->segment_bytes == 0)
        o->segment_bytes = SPOOL_DEFAULT_SEGMENT_BYTES;
    if (o->record_max_bytes == 0) {
        o->record_max_bytes = SPOOL_DEFAULT_RECORD_MAX_BYTES;
        if (o->segment_bytes > SPOOL_HDR_LEN &&
            o->segment_bytes - SPOOL_HDR_LEN < o->record_max_bytes)
            o->record_max_bytes = (size_t)(o->segment_bytes - SPOOL_HDR_LEN);
    }
    if (o->max_age_ms < 0 || o->segment_bytes > SPOOL_SEGMENT_LIMIT ||
        o->record_max_bytes > SPOOL_PAYLOAD_LIMIT ||
        o->record_max_bytes + SPOOL_HDR_LEN > o->segment_bytes ||
        o->max_bytes / 2 < o->segment_bytes) {
        snprintf(msg, msg_size,
                 "spool %s: want record_max_bytes + %d <= segment_bytes <= 1 GiB, "
                 "2 * segment_bytes <= max_bytes, max_age_ms >= 0",
                 o->dir, SPOOL_HDR_LEN);
        return -EINVAL;
    }
    return 0;
}

static int open_dir(struct spool *sp)
{
    if (mkdir(sp->dir, 0700) != 0 && errno != EEXIST)
        return spool_fail(sp, -EIO, "spool %s: cannot create: %s", sp->dir, strerror(errno));
    sp->dir_fd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sp->dir_fd < 0)
        return spool_fail(sp, -EIO, "spool %s: %s", sp->dir, strerror(errno));
    sp->lock_fd = openat(sp->dir_fd, SPOOL_LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (sp->lock_fd < 0)
        return spool_fail(sp, -EIO, "spool %s/%s: %s", sp->dir, SPOOL_LOCK_NAME, strerror(errno));
    if (flock(sp->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            return spool_fail(sp, -EBUSY, "spool %s: in use by another agent", sp->dir);
        return spool_fail(sp, -EIO, "spool %s: lock: %s", sp->dir, strerror(errno));
    }
    return 0;
}

static void load_state(struct spool *sp)
{
    int fd = openat(sp->dir_fd, SPOOL_STATE_NAME, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    uint8_t buf[SPOOL_STATE_LEN + 1];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n < 0 || spool_state_decode(buf, (size_t)n, &sp->state) != 0)
        (void)spool_fail(sp, 0, "spool %s/%s: unreadable, drop counts restart at 0", sp->dir,
                         SPOOL_STATE_NAME);
}

static int by_first(const void *a, const void *b)
{
    const struct id_range *x = a, *y = b;
    return x->first < y->first ? -1 : x->first > y->first;
}

static int add_range(struct recovery *r, size_t *cap, uint64_t first, uint64_t last)
{
    if (r->n_done == *cap) {
        size_t want = *cap != 0 ? *cap * 2 : 16;
        struct id_range *moved = realloc(r->done, want * sizeof *moved);
        if (moved == NULL)
            return -ENOMEM;
        r->done = moved;
        *cap = want;
    }
    r->done[r->n_done++] = (struct id_range){first, last};
    return 0;
}

/* Reads the done log (entries with a bad CRC and a torn tail are ignored) into sorted,
 * merged ranges. */
static int load_done(struct spool *sp, struct recovery *r)
{
    int fd = openat(sp->dir_fd, SPOOL_ACKLOG_NAME, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0
                               : spool_fail(sp, -EIO, "spool %s/%s: %s", sp->dir, SPOOL_ACKLOG_NAME,
                                            strerror(errno));
    uint8_t buf[64 * SPOOL_ACKLOG_ENTRY_LEN];
    size_t cap = 0, have = 0;
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, buf + have, sizeof buf - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n < 0)
                rc = spool_fail(sp, -EIO, "spool %s/%s: %s", sp->dir, SPOOL_ACKLOG_NAME,
                                strerror(errno));
            break;
        }
        have += (size_t)n;
        size_t used = have - have % SPOOL_ACKLOG_ENTRY_LEN;
        for (size_t off = 0; off < used && rc == 0; off += SPOOL_ACKLOG_ENTRY_LEN) {
            uint64_t first, last;
            if (spool_acklog_decode(buf + off, &first, &last) == 0 && last <= SPOOL_ID_MAX)
                rc = add_range(r, &cap, first, last);
        }
        if (rc != 0)
            break;
        memmove(buf, buf + used, have - used);
        have -= used;
    }
    close(fd);
    if (rc != 0)
        return rc;
    if (r->n_done > 0)
        qsort(r->done, r->n_done, sizeof *r->done, by_first);
    size_t w = 0;
    for (size_t i = 0; i < r->n_done; i++) {
        if (w > 0 && r->done[i].first <= r->done[w - 1].last + 1) {
            if (r->done[i].last > r->done[w - 1].last)
                r->done[w - 1].last = r->done[i].last;
        } else {
            r->done[w++] = r->done[i];
        }
    }
    r->n_done = w;
    if (w > 0 && (!r->any_id || r->done[w - 1].last > r->max_id)) {
        r->max_id = r->done[w - 1].last;
        r->any_id = true;
    }
    return 0;
}

static bool is_done(const struct recovery *r, uint64_t id)
{
    size_t lo = 0, hi = r->n_done;
    while (lo < hi) { /* first range starting after id */
        size_t mid = lo + (hi - lo) / 2;
        if (r->done[mid].first <= id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && r->done[lo - 1].last >= id;
}

static bool parse_seg_name(const char *name, uint64_t *id)
{
    if (strlen(name) != SPOOL_SEG_NAME_LEN - 1 || strncmp(name, "seg-", 4) != 0 ||
        strcmp(name + 20, ".log") != 0)
        return false;
    uint64_t v = 0;
    for (int i = 4; i < 20; i++) {
        char c = name[i];
        if (c >= '0' && c <= '9')
            v = v << 4 | (uint64_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = v << 4 | (uint64_t)(c - 'a' + 10);
        else
            return false;
    }
    *id = v;
    return v <= SPOOL_ID_MAX;
}

static int by_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The name ids of the segment files, sorted. */
static int list_segments(struct spool *sp, uint64_t **out, size_t *n_out)
{
    int fd = dup(sp->dir_fd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        return err == ENOMEM ? -ENOMEM
                             : spool_fail(sp, -EIO, "spool %s: %s", sp->dir, strerror(err));
    }
    rewinddir(d);
    uint64_t *ids = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (de == NULL) {
            if (errno != 0)
                rc = errno == ENOMEM
                         ? -ENOMEM
                         : spool_fail(sp, -EIO, "spool %s: %s", sp->dir, strerror(errno));
            break;
        }
        uint64_t id;
        if (!parse_seg_name(de->d_name, &id))
            continue;
        if (n == cap) {
            size_t want = cap != 0 ? cap * 2 : 16;
            uint64_t *moved = realloc(ids, want * sizeof *moved);
            if (moved == NULL) {
                rc = -ENOMEM;
                break;
            }
            ids = moved;
            cap = want;
        }
        ids[n++] = id;
    }
    closedir(d);
    if (rc != 0) {
        free(ids);
        return rc;
    }
    if (n > 0)
        qsort(ids, n, sizeof *ids, by_u64);
    *out = ids;
    *n_out = n;
    return 0;
}

/* Indexes one valid-header record of seg: skipped when done, dropped as corrupt when its
 * payload fails the CRC. */
static int recover_record(struct spool *sp, struct recovery *r, struct spool_scan *scan,
                          struct spool_segment *seg, const struct spool_hdr *h, uint64_t off)
{
    if ((r->any_record && h->id <= r->last_record_id) || h->id > SPOOL_ID_MAX || off > UINT32_MAX) {
        scan->corrupt++; /* out of order: a copy, or bytes that only look like a record */
        return 0;
    }
    r->last_record_id = h->id;
    r->any_record = true;
    if (seg->records++ == 0)
        seg->first_id = h->id;
    seg->last_id = h->id;
    if (!r->any_id || h->id > r->max_id)
        r->max_id = h->id;
    r->any_id = true;
    if (is_done(r, h->id))
        return 0;
    int ok = spool_scan_payload_ok(scan, h, off);
    if (ok < 0)
        return ok;
    if (ok == 0) {
        sp->corrupt_total++;
        spool_note_drop(sp, h->boot_id, h->seq, SPOOL_DROP_CORRUPT);
        return 0;
    }
    if (spool_index_reserve(&sp->idx) != 0)
        return -ENOMEM;
    (void)spool_index_add(&sp->idx, h->boot_id, h->id, h->seq, h->time_ms, (uint32_t)off, h->len);
    seg->live++;
    return 0;
}

/* Scans segment name_id: indexes what it holds, truncates a torn tail, deletes it when
 * nothing in it is held. */
static int recover_segment(struct spool *sp, struct recovery *r, uint64_t name_id)
{
    char name[SPOOL_SEG_NAME_LEN];
    spool_seg_name(name, name_id);
    int fd = openat(sp->dir_fd, name, O_RDWR | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int rc = spool_fail(sp, -EIO, "spool %s/%s: %s", sp->dir, name, strerror(errno));
        if (fd >= 0)
            close(fd);
        return rc;
    }
    struct spool_segment seg = {.name_id = name_id, .bytes = (uint64_t)st.st_size};
    struct spool_scan scan;
    int rc = spool_scan_init(&scan, fd, seg.bytes);
    while (rc == 0) {
        struct spool_hdr h;
        uint64_t off;
        rc = spool_scan_next(&scan, &h, &off);
        if (rc == 1)
            rc = recover_record(sp, r, &scan, &seg, &h, off);
        else if (rc == 0)
            break;
    }
    if (rc == -EIO)
        rc = spool_fail(sp, -EIO, "spool %s/%s: read error", sp->dir, name);
    if (rc == 0 && scan.tail < seg.bytes) {
        if (ftruncate(fd, (off_t)scan.tail) != 0 || (!sp->opts.no_fsync && fdatasync(fd) != 0))
            rc = spool_fail(sp, -EIO, "spool %s/%s: cannot cut its torn tail: %s", sp->dir, name,
                            strerror(errno));
        sp->truncated_bytes += seg.bytes - scan.tail;
        seg.bytes = scan.tail;
    }
    sp->corrupt_total += scan.corrupt;
    spool_scan_deinit(&scan);
    close(fd);
    if (rc != 0)
        return rc;
    if (!r->any_id || name_id > r->max_id) { /* a new segment must get a new name */
        r->max_id = name_id;
        r->any_id = true;
    }
    if (seg.live == 0) {
        if (unlinkat(sp->dir_fd, name, 0) != 0 && errno != ENOENT)
            return spool_fail(sp, -EIO, "spool %s/%s: cannot delete: %s", sp->dir, name,
                              strerror(errno));
        return 0;
    }
    sp->segs[sp->n_segs++] = seg;
    sp->disk_bytes += seg.bytes;
    return 0;
}

static int recover(struct spool *sp)
{
    struct recovery r = {.done = NULL};
    uint64_t *names = NULL;
    size_t n_names = 0;
    int rc = load_done(sp, &r);
    if (rc == 0)
        rc = list_segments(sp, &names, &n_names);
    if (rc == 0 && n_names > 0) {
        sp->segs = calloc(n_names + 1, sizeof *sp->segs);
        sp->cap_segs = n_names + 1;
        if (sp->segs == NULL)
            rc = -ENOMEM;
    }
    for (size_t i = 0; i < n_names && rc == 0; i++)
        rc = recover_segment(sp, &r, names[i]);
    if (rc == 0)
        sp->next_id = r.any_id ? r.max_id + 1 : 0;
    free(names);
    free(r.done);
    return rc;
}

int spool_open(const struct spool_options *opts, struct spool **out, char *errmsg,
               size_t errmsg_size)
{
    char scratch[8];
    if (errmsg == NULL || errmsg_size == 0) {
        errmsg = scratch;
        errmsg_size = sizeof scratch;
    }
    errmsg[0] = '\0';
    if (opts == NULL || out == NULL) {
        snprintf(errmsg, errmsg_size, "spool: no options");
        return -EINVAL;
    }
    struct spool_options o;
    int rc = check_options(opts, &o, errmsg, errmsg_size);
    if (rc != 0)
        return rc;
    struct spool *sp = calloc(1, sizeof *sp);
    if (sp == NULL) {
        snprintf(errmsg, errmsg_size, "spool: out of memory");
        return -ENOMEM;
    }
    sp->dir_fd = sp->lock_fd = sp->acklog_fd = sp->active_fd = sp->read_fd = -1;
    spool_index_init(&sp->idx);
    sp->dir = strdup(o.dir);
    rc = -ENOMEM;
    if (sp->dir == NULL)
        goto out;
    o.dir = sp->dir;
    sp->opts = o;
    rc = open_dir(sp);
    if (rc != 0)
        goto out;
    load_state(sp);
    rc = recover(sp);
    if (rc != 0)
        goto out;
    spool_index_settle(&sp->idx);
    spool_acklog_rewrite(sp);
    if (sp->acklog_fd < 0) /* no tidy log: append to what is there */
        sp->acklog_fd =
            openat(sp->dir_fd, SPOOL_ACKLOG_NAME, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    spool_state_save(sp);
    *out = sp;
    sp = NULL;
    rc = 0;
out:
    if (sp != NULL) {
        if (rc == -ENOMEM && sp->errmsg[0] == '\0')
            snprintf(sp->errmsg, sizeof sp->errmsg, "spool %s: out of memory", o.dir);
        snprintf(errmsg, errmsg_size, "%s", sp->errmsg);
        spool_close(sp);
    }
    return rc;
}
