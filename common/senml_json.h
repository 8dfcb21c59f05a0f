/* SenML JSON (RFC 8428 §5) decoding and encoding. The decoder is a single-pass scanner
 * of untrusted bytes (no JSON library, bounded, fuzzed: tests/fuzz/fuzz_senml_json.c);
 * the encoder writes the compact form updraft agents send. Pure: no I/O, no clock. */
#ifndef UPDRAFT_COMMON_SENML_JSON_H
#define UPDRAFT_COMMON_SENML_JSON_H

#include "common/senml.h"

/* Decodes a SenML JSON pack (a JSON array of record objects) of len bytes (need not be
 * NUL-terminated) and resolves it (RFC 8428 §4.6): base fields carry forward, times below
 * 2^28 are relative to now_ms, names are checked against §4.5.1, each record holds exactly
 * one of v/vs/vb/vd or else a sum, fields ending in '_' are refused (must-understand),
 * bver above SENML_VERSION is refused. Unknown string fields become labels (at most
 * SENML_MAX_LABELS, else -E2BIG); other unknown fields are skipped.
 * Returns 0 and *out (free with senml_pack_free), or:
 *   -EBADMSG  not JSON, or not a SenML pack (err says where and why)
 *   -E2BIG    more than SENML_MAX_RECORDS records, or a string over its limit
 *   -ENOMEM   allocation failed
 * err (may be NULL) is filled on failure. */
int senml_json_decode(const char *json, size_t len, int64_t now_ms, struct senml_pack **out,
                      struct senml_error *err) __attribute__((warn_unused_result));

/* Growing output buffer for the encoder; start zeroed, release with senml_buf_free. */
struct senml_buf {
    char *data;
    size_t len;
    size_t cap;
};
void senml_buf_free(struct senml_buf *buf);

/* A finite number as the encoder writes it: "%.15g" when that reads back the same double,
 * else "%.16g", else "%.17g" (a fast path gives the same bytes for values with at most 3
 * decimals below 2^33, without printf). Returns the length; text is NUL-terminated. */
#define SENML_NUMBER_TEXT 40
int senml_number_text(double value, char text[static SENML_NUMBER_TEXT]);

/* Appends pack to buf as compact SenML JSON: the first record carries bn = base_name (may be
 * NULL for none) and bt = the first record's time; later records carry t relative to bt
 * only when their time differs; bid/sq are written on the first record when set in pack.
 * Names in pack are full resolved names; base_name must be a prefix of each, which is
 * stripped. Numbers use the shortest form that round-trips ("%.17g" fallback).
 * Returns 0, -ENOMEM, or -EINVAL when pack holds what the decoder could not read back:
 *   - a name that is NULL, not valid by RFC 8428 §4.5.1, or does not start with base_name;
 *   - a NaN/Inf time, v, s or ut (JSON cannot carry them);
 *   - a record with no value and no sum, or a vs/vd record whose string is NULL;
 *   - more than SENML_MAX_LABELS labels, a label key that is empty, longer than
 *     SENML_MAX_LABEL_KEY, ends in '_' or is a SenML field name, or a NULL label value;
 *   - a unit, vs/vd, label or boot_id string that is not valid UTF-8;
 *   - seq (when has_seq) above 2^53. */
int senml_json_encode(const struct senml_pack *pack, const char *base_name, struct senml_buf *buf)
    __attribute__((warn_unused_result));

#endif
