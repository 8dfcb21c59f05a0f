/* What the SenML CBOR decoder and encoder share so that whatever the encoder writes, the decoder
 * reads back: the fields and their RFC 8428 §6 (Table 4) integer labels. Internal to
 * common/senml_cbor_*.c. Pure; thread-safe. */
#ifndef UPDRAFT_COMMON_SENML_CBOR_INTERNAL_H
#define UPDRAFT_COMMON_SENML_CBOR_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* 2^53, as for JSON (where every integer up to it is exact), so a pack translates both ways. */
#define SENML_CBOR_MAX_SEQ (UINT64_C(1) << 53)

/* 2^64 as a double: integers from -2^64 to 2^64 - 1 have a CBOR head (major type 0 or 1). */
#define SENML_CBOR_TWO_POW_64 18446744073709551616.0

/* The fields the decoder reads itself. Those from BN to UT travel under integer labels; BID and
 * SQ (updraft's, see senml.h) under their text names, like any extension field. */
enum senml_cbor_field {
    SENML_CBOR_FIELD_UNKNOWN,
    SENML_CBOR_FIELD_BN,
    SENML_CBOR_FIELD_BT,
    SENML_CBOR_FIELD_BU,
    SENML_CBOR_FIELD_BV,
    SENML_CBOR_FIELD_BS,
    SENML_CBOR_FIELD_BVER,
    SENML_CBOR_FIELD_N,
    SENML_CBOR_FIELD_U,
    SENML_CBOR_FIELD_V,
    SENML_CBOR_FIELD_VS,
    SENML_CBOR_FIELD_VB,
    SENML_CBOR_FIELD_VD,
    SENML_CBOR_FIELD_S,
    SENML_CBOR_FIELD_T,
    SENML_CBOR_FIELD_UT,
    SENML_CBOR_FIELD_BID,
    SENML_CBOR_FIELD_SQ,
    SENML_CBOR_FIELD_COUNT
};

/* RFC 8428 Table 4: base fields negative, the others non-negative. */
#define SENML_CBOR_LABEL_BVER (-1)
#define SENML_CBOR_LABEL_BN (-2)
#define SENML_CBOR_LABEL_BT (-3)
#define SENML_CBOR_LABEL_BU (-4)
#define SENML_CBOR_LABEL_BV (-5)
#define SENML_CBOR_LABEL_BS (-6)
#define SENML_CBOR_LABEL_N 0
#define SENML_CBOR_LABEL_U 1
#define SENML_CBOR_LABEL_V 2
#define SENML_CBOR_LABEL_VS 3
#define SENML_CBOR_LABEL_VB 4
#define SENML_CBOR_LABEL_S 5
#define SENML_CBOR_LABEL_T 6
#define SENML_CBOR_LABEL_UT 7
#define SENML_CBOR_LABEL_VD 8

/* The field the len bytes of a text key name (its JSON name: "bn", "v", "bid", ...), or
 * SENML_CBOR_FIELD_UNKNOWN. */
enum senml_cbor_field senml_cbor_field_by_name(const char *key, size_t len);

#endif
