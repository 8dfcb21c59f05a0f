/* libFuzzer target for write-ahead records (hub/wal.c): any bytes must be decoded or refused
 * without a crash, sanitizer report or endless loop; what decoded (all of it, or the samples
 * before a refusal) must re-encode to a record that decodes to the same samples bit for bit,
 * and re-encoding that gives the same bytes; a callback's stop must be returned as is
 * (else abort). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hub/wal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MIN_SAMPLE_LEN 11 /* id, delta, kind, 8 value bytes */
#define STOP_RC 12345

struct samples {
    struct wal_sample *s;
    size_t n, cap;
    size_t stop_at; /* 1-based call that returns STOP_RC; 0: never */
};

static int collect(void *user, const struct wal_sample *s)
{
    struct samples *c = user;
    if (c->n == c->cap)
        abort(); /* more samples than the bytes can hold */
    if (s->series_id <= 0)
        abort(); /* the decoder must refuse id 0 and ids past INT64_MAX */
    c->s[c->n++] = *s;
    return c->stop_at != 0 && c->n == c->stop_at ? STOP_RC : 0;
}

static int decode(const uint8_t *buf, size_t len, struct samples *c, size_t stop_at)
{
    c->n = 0;
    c->stop_at = stop_at;
    return wal_decode(buf, len, collect, c);
}

static void same_or_abort(const struct wal_sample *a, const struct wal_sample *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t va, vb;
        memcpy(&va, &a[i].value, sizeof va);
        memcpy(&vb, &b[i].value, sizeof vb);
        if (a[i].series_id != b[i].series_id || a[i].ts_ms != b[i].ts_ms ||
            a[i].kind != b[i].kind || va != vb)
            abort();
    }
}

static void encode_or_abort(struct wal_buf *b, const struct wal_sample *s, size_t n)
{
    wal_buf_reset(b);
    for (size_t i = 0; i < n; i++)
        if (wal_buf_add(b, &s[i]) != 0)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t cap = size / MIN_SAMPLE_LEN + 1;
    struct samples first = {calloc(cap, sizeof *first.s), 0, cap, 0};
    struct samples again = {calloc(cap, sizeof *again.s), 0, cap, 0};
    struct wal_buf b = {0}, b2 = {0};
    if (first.s == NULL || again.s == NULL)
        goto out;

    int rc = decode(data, size, &first, 0);
    if (rc != 0 && rc != -EBADMSG)
        abort();
    if (size == 0 && rc != -EBADMSG)
        abort();

    /* Re-encode what was given; it decodes whole, to the same samples, no longer than input. */
    encode_or_abort(&b, first.s, first.n);
    if (first.n > 0) {
        if (decode(b.out.buf, b.out.len, &again, 0) != 0 || again.n != first.n)
            abort();
        same_or_abort(first.s, again.s, first.n);
        if (rc == 0 && b.out.len > size)
            abort(); /* canonical varints are never longer than what was read */
        encode_or_abort(&b2, again.s, again.n);
        if (b2.out.len != b.out.len || memcmp(b2.out.buf, b.out.buf, b.out.len) != 0)
            abort(); /* encoding is deterministic */
    }

    /* Stopping at the k-th sample returns the callback's result after exactly k calls. */
    if (first.n > 0) {
        size_t k = 1 + (size_t)data[size - 1] % first.n;
        if (decode(data, size, &again, k) != STOP_RC || again.n != k)
            abort();
        same_or_abort(first.s, again.s, k);
    }
out:
    wal_buf_free(&b);
    wal_buf_free(&b2);
    free(first.s);
    free(again.s);
    return 0;
}
