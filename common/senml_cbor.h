/* SenML CBOR (RFC 8428 §6, Content-Format 112) decoding and encoding into and out of the same
 * struct senml_pack as SenML JSON, so a pack translates between the two. The decoder is a
 * single-pass reader of untrusted bytes (no CBOR library, bounded, fuzzed:
 * tests/fuzz/fuzz_senml_cbor.c); the encoder writes the compact form. Pure: no I/O, no clock. */
#ifndef UPDRAFT_COMMON_SENML_CBOR_H
#define UPDRAFT_COMMON_SENML_CBOR_H

#include <stddef.h>
#include <stdint.h>

#include "common/senml.h"
#include "common/senml_json.h" /* struct senml_buf */

/* Most bytes in a vd byte string: its base64url text (how the pack holds data values, as SenML
 * JSON carries them) must fit SENML_MAX_STRING. */
#define SENML_CBOR_MAX_DATA ((size_t)SENML_MAX_STRING / 4 * 3)

/* Decodes a SenML CBOR pack (an array of record maps) of len bytes and resolves it exactly as
 * senml_json_decode does (same rules, limits, labels, bid/sq and error detail; err->field is
 * the field's JSON name, or an unknown integer label in decimal). On the wire:
 *   - arrays and maps of definite or indefinite length; integers of every width; float16
 *     (RFC 8949 Appendix D), float32, float64; non-shortest forms are accepted;
 *   - fields under their Table 4 integer labels; a text key that names one of them is refused;
 *     other integer labels are skipped. Text keys are extension fields as in JSON: ending in
 *     '_' refused (must-understand), "bid"/"sq" read, other text values kept as labels, the
 *     rest skipped (validated, nested at most CBOR_SCAN_MAX_DEPTH levels);
 *   - numbers are integers, floats or decimal fractions (tag 4 [exponent, mantissa], read as
 *     strtod would read "<mantissa>e<exponent>"); integers beyond 2^53 round to the nearest
 *     double, as long JSON numbers do; NaN and infinities are refused. bver is an unsigned
 *     integer (§6); sq an integer from 0 to 2^53 (exact, whatever the encoding);
 *   - n, u, vs, bn, bu, bid and labels are definite-length text strings (valid UTF-8, no
 *     U+0000); vd is a definite-length byte string (at most SENML_CBOR_MAX_DATA bytes), kept
 *     in the record as its unpadded base64url text, as the JSON decoder keeps it;
 *   - tags: tag 55799 (self-described CBOR) is accepted before the pack, tag 4 where a number
 *     is read, any tag inside a skipped value; any other tag is refused.
 * Duplicate keys are refused among the fields the decoder reads or keeps (as in JSON; a
 * repeated skipped field is not detected). Bytes after the pack are refused.
 * Returns 0 and *out (free with senml_pack_free), or:
 *   -EBADMSG  not well-formed CBOR, truncated, or not a SenML pack (err says where and why)
 *   -E2BIG    more than SENML_MAX_RECORDS records, or a string over its limit
 *   -ENOMEM   allocation failed
 * err (may be NULL) is filled on failure; err->offset is a byte offset in cbor. */
int senml_cbor_decode(const uint8_t *cbor, size_t len, int64_t now_ms, struct senml_pack **out,
                      struct senml_error *err) __attribute__((warn_unused_result));

/* Appends pack to buf as compact SenML CBOR, with the layout of senml_json_encode: definite
 * lengths, integer labels in shortest form, the first record carries bn = base_name (may be
 * NULL) and bt, later records t relative to bt when their time differs, bid/sq (text keys) on
 * the first record. Each number is written in the shortest of: integer (when exact and not
 * -0), float16, float32, float64 that gives the same double back. vd text becomes a byte
 * string. buf->len counts the bytes (buf->data is also NUL-terminated, as for JSON).
 * Returns 0, -ENOMEM, or -EINVAL (buf unchanged) for whatever senml_json_encode refuses
 * (bad or unprefixed names, NaN/Inf numbers, no value and no sum, bad labels, invalid UTF-8,
 * seq above 2^53) and for vd text that is not canonical unpadded base64url. */
int senml_cbor_encode(const struct senml_pack *pack, const char *base_name, struct senml_buf *buf)
    __attribute__((warn_unused_result));

#endif
