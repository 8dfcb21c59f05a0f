/* What a device may post, checked and turned into the payload the MQTT topic carries
 * (docs/coap.md): SenML CBOR / SenML JSON / JSON packs become compact SenML JSON, inventory
 * and state documents are checked JSON. Pure: no I/O, no clock (now comes in), no logging. */
#ifndef UPDRAFT_BRIDGE_PAYLOAD_H
#define UPDRAFT_BRIDGE_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/senml_json.h"
#include "common/topic.h"

/* CoAP Content-Formats (RFC 7252 §12.3, RFC 8428 §12.3). */
#define PAYLOAD_CF_JSON 50
#define PAYLOAD_CF_SENML_JSON 110
#define PAYLOAD_CF_SENML_CBOR 112
#define PAYLOAD_CF_NONE (-1) /* the request carried no Content-Format option */

/* The resources a device posts to, in the order of topic_kind where they match. */
enum payload_kind {
    PAYLOAD_METRICS,
    PAYLOAD_HEARTBEAT,
    PAYLOAD_INVENTORY,
    PAYLOAD_STATE,
};

/* Refusals, as CoAP response codes written class * 100 + detail (400 is 4.00). */
#define PAYLOAD_BAD_REQUEST 400
#define PAYLOAD_UNSUPPORTED_FORMAT 415

struct payload_result {
    struct senml_buf out; /* the payload to publish (JSON text, out.len bytes) */
    char boot_id[33];     /* the pack's bid or the document's boot_id; "" when none */
    bool online;          /* PAYLOAD_STATE: the state posted */
    char diag[160];       /* why it was refused (one short line) */
};

/* The topic a kind is republished on. */
enum topic_kind payload_topic_kind(enum payload_kind kind);

/* "metrics" / "heartbeat" / "inventory" / "state" -> 0 and *kind, else -EINVAL. */
int payload_kind_parse(const char *name, size_t len, enum payload_kind *kind)
    __attribute__((warn_unused_result));

/* Checks body (len bytes, content-format cf) posted for host as kind and fills res->out.
 * Returns 0, PAYLOAD_BAD_REQUEST or PAYLOAD_UNSUPPORTED_FORMAT (res->diag says why), or
 * -ENOMEM. res starts zeroed; release with payload_result_free whatever the outcome. */
int payload_translate(enum payload_kind kind, int cf, const uint8_t *body, size_t len,
                      const char *host, int64_t now_ms, struct payload_result *res)
    __attribute__((warn_unused_result));

void payload_result_free(struct payload_result *res);

#endif
