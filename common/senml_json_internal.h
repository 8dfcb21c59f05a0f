/* What the SenML JSON decoder and encoder share so that whatever the encoder writes, the
 * decoder reads back. Internal to common/senml_json_*.c. Pure; thread-safe. */
#ifndef UPDRAFT_COMMON_SENML_JSON_INTERNAL_H
#define UPDRAFT_COMMON_SENML_JSON_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#define SENML_JSON_MAX_SEQ 9007199254740992.0 /* 2^53: every integer up to it is exact */

/* True when the len bytes of key name a field the decoder reads itself (bn, n, v, bid, ...),
 * so the key cannot carry a label. */
bool senml_json_field_known(const char *key, size_t len);

#endif
