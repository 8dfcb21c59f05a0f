/* SenML (RFC 8428) data model and resolution: a decoded pack is a flat list of resolved
 * records (base name/time/unit/value/sum applied, relative times made absolute).
 * Pure: no I/O, no clock (now comes in as now_ms), no logging. Not thread-safe per
 * object; distinct objects may be used from distinct threads. */
#ifndef UPDRAFT_COMMON_SENML_H
#define UPDRAFT_COMMON_SENML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SENML_MAX_RECORDS 10000 /* records per pack; more is -E2BIG */
#define SENML_MAX_NAME 256      /* bytes in a resolved name (bn + n) */
#define SENML_MAX_STRING 4096   /* bytes in vs / vd / a label value */
#define SENML_MAX_LABELS 8      /* extra string fields kept per record */
#define SENML_MAX_LABEL_KEY 32
#define SENML_VERSION 10       /* highest bver we understand (RFC 8428 default) */
#define SENML_RELATIVE_LIMIT_S 268435456.0 /* 2^28: times below are relative to now */

/* Extra fields updraft puts on the first record of a pack it sends (see docs/payloads.md).
 * They are not labels. */
#define SENML_FIELD_BOOT_ID "bid" /* string: the sender's boot id */
#define SENML_FIELD_SEQ "sq"      /* number: per-boot sequence of the pack, 1, 2, ... */

enum senml_kind {
    SENML_KIND_NONE,   /* sum-only record */
    SENML_KIND_NUMBER, /* v (plus bv) */
    SENML_KIND_STRING, /* vs */
    SENML_KIND_BOOL,   /* vb */
    SENML_KIND_DATA,   /* vd, base64url text as received */
};

struct senml_label {
    char *key;   /* field name, 1..SENML_MAX_LABEL_KEY bytes */
    char *value; /* string value */
};

/* One resolved record. Strings are NUL-terminated and owned by the pack. */
struct senml_record {
    char *name;     /* resolved name (bn + n), never NULL */
    char *unit;     /* resolved unit (u, else bu), NULL when none */
    double time_s;  /* resolved absolute time, seconds since the epoch (bt + t; relative made absolute) */
    enum senml_kind kind;
    double value;   /* SENML_KIND_NUMBER: bv + v */
    char *string;   /* SENML_KIND_STRING / SENML_KIND_DATA: vs / vd */
    bool boolean;   /* SENML_KIND_BOOL: vb */
    bool has_sum;
    double sum;     /* bs + s when has_sum */
    bool has_update_time;
    double update_time_s; /* ut */
    struct senml_label labels[SENML_MAX_LABELS];
    size_t label_count;
};

struct senml_pack {
    struct senml_record *records;
    size_t count;
    char *boot_id;    /* SENML_FIELD_BOOT_ID of the first record that has it, or NULL */
    bool has_seq;
    uint64_t seq;     /* SENML_FIELD_SEQ, when has_seq */
};

/* Why a pack was refused. index is the record (0-based) or -1 for the pack itself;
 * field is the offending field name ("" when none); reason is a short English phrase. */
enum senml_error_kind {
    SENML_ERROR_SYNTAX,    /* the bytes are not JSON (or not CBOR) */
    SENML_ERROR_STRUCTURE, /* well-formed, but not a pack: not an array, an element not a map */
    SENML_ERROR_RECORD,    /* a record breaks RFC 8428: wrong type, no value, bad name, ... */
    SENML_ERROR_LIMIT,     /* more records, labels or longer strings than our limits */
};

struct senml_error {
    enum senml_error_kind kind;
    long index;
    char field[SENML_MAX_LABEL_KEY + 1];
    char reason[128];
    size_t offset; /* byte offset in the input where decoding stopped, when known */
};

void senml_pack_free(struct senml_pack *pack); /* accepts NULL */

/* True when name matches RFC 8428 §4.5.1: ^[a-zA-Z0-9][a-zA-Z0-9:./_-]*$ (and fits). */
bool senml_name_valid(const char *name, size_t len);

/* Formats err as "record 3: field \"v\": expected a number" into out (always terminated). */
void senml_error_format(const struct senml_error *err, char *out, size_t out_size);

#endif
