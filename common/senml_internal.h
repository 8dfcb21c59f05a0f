/* What the SenML JSON and CBOR codecs share, so that both read and write a pack by the same
 * rules: the fields and their JSON names, resolving a record against the base fields in force
 * (RFC 8428 §4.6), labels, the checks an encoder makes before writing a record, and the output
 * buffer. Internal to common/senml*.c. Pure (no I/O, no clock, no logging); thread-safe. */
#ifndef UPDRAFT_COMMON_SENML_INTERNAL_H
#define UPDRAFT_COMMON_SENML_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/senml.h"
#include "common/senml_json.h" /* struct senml_buf */

/* 2^53: every integer up to it is exact in a double, so a sequence number translates both ways
 * between JSON and CBOR. */
#define SENML_MAX_SEQ (UINT64_C(1) << 53)

#define SENML_XSTR(x) #x
#define SENML_STR(x) SENML_XSTR(x)

/* The fields the decoders read themselves. BID and SQ are updraft's (see senml.h). */
enum senml_field {
    SENML_FIELD_UNKNOWN,
    SENML_FIELD_BN,
    SENML_FIELD_BT,
    SENML_FIELD_BU,
    SENML_FIELD_BV,
    SENML_FIELD_BS,
    SENML_FIELD_BVER,
    SENML_FIELD_N,
    SENML_FIELD_U,
    SENML_FIELD_V,
    SENML_FIELD_VS,
    SENML_FIELD_VB,
    SENML_FIELD_VD,
    SENML_FIELD_S,
    SENML_FIELD_T,
    SENML_FIELD_UT,
    SENML_FIELD_BID,
    SENML_FIELD_SQ,
    SENML_FIELD_COUNT
};

#define SENML_FIELD_BIT(id) (1u << (id))
#define SENML_BASE_FIELDS                                                                          \
    (SENML_FIELD_BIT(SENML_FIELD_BN) | SENML_FIELD_BIT(SENML_FIELD_BT) |                           \
     SENML_FIELD_BIT(SENML_FIELD_BU) | SENML_FIELD_BIT(SENML_FIELD_BV) |                           \
     SENML_FIELD_BIT(SENML_FIELD_BS) | SENML_FIELD_BIT(SENML_FIELD_BVER))
#define SENML_VALUE_FIELDS                                                                         \
    (SENML_FIELD_BIT(SENML_FIELD_V) | SENML_FIELD_BIT(SENML_FIELD_VS) |                            \
     SENML_FIELD_BIT(SENML_FIELD_VB) | SENML_FIELD_BIT(SENML_FIELD_VD))
#define SENML_REGULAR_FIELDS                                                                       \
    (SENML_VALUE_FIELDS | SENML_FIELD_BIT(SENML_FIELD_N) | SENML_FIELD_BIT(SENML_FIELD_U) |        \
     SENML_FIELD_BIT(SENML_FIELD_S) | SENML_FIELD_BIT(SENML_FIELD_T) |                             \
     SENML_FIELD_BIT(SENML_FIELD_UT))

/* The field the len bytes of key name by its JSON name ("bn", "v", "bid", ...), or
 * SENML_FIELD_UNKNOWN (also for a key containing NUL). */
enum senml_field senml_field_by_name(const char *key, size_t len);

/* The JSON name of id ("bn", "v", "bid", ...); "" for SENML_FIELD_UNKNOWN. */
const char *senml_field_name(enum senml_field id);

/* ---- decoding (common/senml_resolve.c) ------------------------------------------------- */

/* Why a shared check refused: what goes into struct senml_error besides index and offset. */
struct senml_refusal {
    enum senml_error_kind kind;
    const char *field; /* the field to blame, or NULL for the one being read */
    char reason[sizeof((struct senml_error *)0)->reason];
};

/* Base fields in force (RFC 8428 §4.1): each applies from its record on. name points into
 * memory the decoder keeps (its own buffer, or the input). Start with senml_bases_init;
 * release with senml_bases_deinit. */
struct senml_bases {
    const char *name;
    size_t name_len;
    char *unit; /* owned; NULL when none */
    double time, value, sum;
    bool has_sum;
    double version;
};

/* What one record said, before resolution. name points into memory the decoder keeps. */
struct senml_draft {
    uint32_t seen; /* SENML_FIELD_BIT per field read */
    const char *name;
    size_t name_len;
    double time, value, sum;
};

void senml_bases_init(struct senml_bases *bases);
void senml_bases_deinit(struct senml_bases *bases);
/* bu: takes ownership of unit (NULL for none). */
void senml_bases_unit_set(struct senml_bases *bases, char *unit);
/* bver of record index (already a positive integer no newer than SENML_VERSION): -EBADMSG when
 * it differs from the pack's (§4.4). */
int senml_bases_version_set(struct senml_bases *bases, long index, double version,
                            struct senml_refusal *why) __attribute__((warn_unused_result));

void senml_draft_init(struct senml_draft *d);
/* Records that field id is read: -EBADMSG for a duplicate or a second value field. */
int senml_draft_accept(struct senml_draft *d, enum senml_field id, struct senml_refusal *why)
    __attribute__((warn_unused_result));
/* Where the number of field id goes (id one of bt, bv, bs, v, s, t, ut), noting what it
 * implies: bs a base sum, v a number value, ut an update time. */
double *senml_draft_number(struct senml_bases *bases, struct senml_draft *d,
                           struct senml_record *rec, enum senml_field id);

/* Ends the record read into the next slot of pack->records and d: one with base fields only
 * (RFC 8428 §5.1.7) yields no record, another is resolved (senml_record_resolve) and counted.
 * Returns 0, or -EBADMSG, -E2BIG or -ENOMEM (why filled); the slot is cleared unless counted. */
int senml_record_finish(const struct senml_bases *bases, const struct senml_draft *d,
                        int64_t now_ms, struct senml_pack *pack, struct senml_refusal *why)
    __attribute__((warn_unused_result));

/* Resolves the record read into rec and d against bases (RFC 8428 §4.6): value or sum
 * present, name (bn + n, checked), time (relative to now_ms below 2^28), value, sum, unit.
 * Returns 0, -EBADMSG, -E2BIG or -ENOMEM (why filled); rec keeps what it got (clear it). */
int senml_record_resolve(const struct senml_bases *bases, const struct senml_draft *d,
                         int64_t now_ms, struct senml_record *rec, struct senml_refusal *why)
    __attribute__((warn_unused_result));

/* Whether a label with key (key_len bytes, 1.., key holding its first SENML_MAX_LABEL_KEY
 * bytes NUL-terminated) may be added to rec: -E2BIG (key too long, too many labels) or
 * -EBADMSG (duplicate). */
int senml_label_check(const struct senml_record *rec, const char *key, size_t key_len,
                      struct senml_refusal *why) __attribute__((warn_unused_result));
/* Adds a label (after senml_label_check): copies key, takes ownership of value (freed on
 * failure). 0 or -ENOMEM. */
int senml_label_add(struct senml_record *rec, const char *key, char *value)
    __attribute__((warn_unused_result));

/* bid / sq: the first of a pack is kept; senml_pack_boot_id_offer takes ownership. */
void senml_pack_boot_id_offer(struct senml_pack *pack, char *boot_id);
void senml_pack_seq_offer(struct senml_pack *pack, uint64_t seq);
/* Makes room for one more record (cap: the room so far, 0 at first). 0 or -ENOMEM. */
int senml_pack_reserve(struct senml_pack *pack, size_t *cap) __attribute__((warn_unused_result));

/* Frees what rec owns and zeroes it. */
void senml_record_clear(struct senml_record *rec);

/* Where a decoder is, for error detail, and what it resolves against. */
struct senml_decoder {
    int64_t now_ms;
    struct senml_error *err; /* may be NULL */
    long index;              /* array index of the record being read, -1 outside records */
    const char *field;       /* key whose value is being read, "" when none */
    struct senml_bases bases;
};

/* Starts dec (bases too) and clears err when not NULL. */
void senml_decoder_init(struct senml_decoder *dec, int64_t now_ms, struct senml_error *err);
void senml_decoder_deinit(struct senml_decoder *dec);
/* Fills dec->err (when not NULL) with kind, reason, offset (a byte offset in the input), the
 * record index and the field being read (what is not printable or a quote as '?'); returns
 * code. */
int senml_decoder_fail(struct senml_decoder *dec, enum senml_error_kind kind, int code,
                       const char *reason, size_t offset);
/* The same for a shared check that refused (why->field, when set, becomes dec->field). */
int senml_decoder_refused(struct senml_decoder *dec, int code, const struct senml_refusal *why,
                          size_t offset);

/* ---- encoding (common/senml_buf.c, common/senml.c) ------------------------------------- */

/* 0, or -EINVAL when rec holds what a decoder could not read back as the same record (see
 * senml_json_encode): name, finite numbers, a value or sum, strings, labels. base_name (base_len
 * bytes) must prefix the name. */
int senml_record_encodable(const struct senml_record *rec, const char *base_name, size_t base_len)
    __attribute__((warn_unused_result));

/* Makes room for n more bytes plus the NUL that keeps data terminated. 0 or -ENOMEM. */
int senml_buf_reserve(struct senml_buf *buf, size_t n) __attribute__((warn_unused_result));
/* Appends n bytes, keeping data NUL-terminated. 0 or -ENOMEM. */
int senml_buf_put(struct senml_buf *buf, const void *bytes, size_t n)
    __attribute__((warn_unused_result));
/* Cuts buf back to len bytes (what it held before a failed encode). */
void senml_buf_truncate(struct senml_buf *buf, size_t len);

#endif
