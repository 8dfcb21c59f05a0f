/* What the SenML CBOR decoder and encoder share so that whatever the encoder writes, the decoder
 * reads back: the RFC 8428 §6 (Table 4) integer labels of the fields (enum senml_field, in
 * common/senml_internal.h, names them). Internal to common/senml_cbor_*.c. Pure; thread-safe. */
#ifndef UPDRAFT_COMMON_SENML_CBOR_INTERNAL_H
#define UPDRAFT_COMMON_SENML_CBOR_INTERNAL_H

#include <stdint.h>

/* 2^64 as a double: integers from -2^64 to 2^64 - 1 have a CBOR head (major type 0 or 1). */
#define SENML_CBOR_TWO_POW_64 18446744073709551616.0

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

#endif
