/* Device payloads in, MQTT payloads out (see payload.h). SenML through common/senml_*;
 * inventory and state documents through jansson. */
#include "bridge/payload.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/senml_cbor.h"

static const char *const kind_names[] = {"metrics", "heartbeat", "inventory", "state"};

enum topic_kind payload_topic_kind(enum payload_kind kind)
{
    static const enum topic_kind topics[] = {TOPIC_KIND_METRICS, TOPIC_KIND_HEARTBEAT,
                                             TOPIC_KIND_INVENTORY, TOPIC_KIND_STATE};
    return topics[kind];
}

int payload_kind_parse(const char *name, size_t len, enum payload_kind *kind)
{
    for (size_t i = 0; i < sizeof kind_names / sizeof kind_names[0]; i++) {
        if (strlen(kind_names[i]) == len && memcmp(kind_names[i], name, len) == 0) {
            *kind = (enum payload_kind)i;
            return 0;
        }
    }
    return -EINVAL;
}

static int refuse(struct payload_result *res, int code, const char *fmt, const char *arg)
{
    snprintf(res->diag, sizeof res->diag, fmt, arg);
    return code;
}

static int unsupported(struct payload_result *res, int cf, const char *accepted)
{
    if (cf == PAYLOAD_CF_NONE)
        snprintf(res->diag, sizeof res->diag, "no content-format; accepted here: %s", accepted);
    else
        snprintf(res->diag, sizeof res->diag, "content-format %d not accepted here (%s)", cf,
                 accepted);
    return PAYLOAD_UNSUPPORTED_FORMAT;
}

/* bn "<host>/" when every resolved name starts with it (our agents' packs), else none. */
static const char *base_name_for(const struct senml_pack *pack, const char *prefix)
{
    size_t n = strlen(prefix);
    for (size_t i = 0; i < pack->count; i++)
        if (strncmp(pack->records[i].name, prefix, n) != 0 || pack->records[i].name[n] == '\0')
            return NULL;
    return prefix;
}

static int translate_senml(int cf, const uint8_t *body, size_t len, const char *host,
                           int64_t now_ms, struct payload_result *res)
{
    struct senml_pack *pack = NULL;
    struct senml_error err;
    memset(&err, 0, sizeof err);
    int rc;
    if (cf == PAYLOAD_CF_SENML_CBOR)
        rc = senml_cbor_decode(body, len, now_ms, &pack, &err);
    else if (cf == PAYLOAD_CF_SENML_JSON || cf == PAYLOAD_CF_JSON)
        rc = senml_json_decode((const char *)body, len, now_ms, &pack, &err);
    else
        return unsupported(res, cf, "112, 110, 50");
    if (rc == -ENOMEM)
        return -ENOMEM;
    if (rc != 0) {
        senml_error_format(&err, res->diag, sizeof res->diag);
        return PAYLOAD_BAD_REQUEST;
    }
    if (pack->count == 0) {
        senml_pack_free(pack);
        return refuse(res, PAYLOAD_BAD_REQUEST, "%s", "empty pack: no records");
    }
    char prefix[80];
    snprintf(prefix, sizeof prefix, "%s/", host);
    rc = senml_json_encode(pack, base_name_for(pack, prefix), &res->out);
    if (pack->boot_id != NULL)
        snprintf(res->boot_id, sizeof res->boot_id, "%s", pack->boot_id);
    senml_pack_free(pack);
    if (rc == -ENOMEM)
        return -ENOMEM;
    if (rc != 0) /* a pack the decoder accepts but JSON cannot carry (e.g. a huge time) */
        return refuse(res, PAYLOAD_BAD_REQUEST, "%s", "pack cannot be carried as SenML JSON");
    return 0;
}

static int copy_out(struct payload_result *res, const char *text, size_t len)
{
    char *p = malloc(len + 1);
    if (p == NULL)
        return -ENOMEM;
    memcpy(p, text, len);
    p[len] = '\0';
    senml_buf_free(&res->out);
    res->out.data = p;
    res->out.len = len;
    res->out.cap = len + 1;
    return 0;
}

static void take_boot_id(struct payload_result *res, json_t *root)
{
    const char *bid = json_string_value(json_object_get(root, "boot_id"));
    if (bid != NULL && strlen(bid) < sizeof res->boot_id)
        snprintf(res->boot_id, sizeof res->boot_id, "%s", bid);
}

/* A JSON object, republished byte for byte. */
static int translate_inventory(int cf, const uint8_t *body, size_t len, struct payload_result *res)
{
    if (cf != PAYLOAD_CF_JSON)
        return unsupported(res, cf, "50");
    json_error_t jerr;
    json_t *root = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return refuse(res, PAYLOAD_BAD_REQUEST, "not JSON: %.100s", jerr.text);
    int rc = 0;
    if (!json_is_object(root))
        rc = refuse(res, PAYLOAD_BAD_REQUEST, "%s", "inventory must be a JSON object");
    else if (json_object_get(root, "host") != NULL &&
             !json_is_string(json_object_get(root, "host")))
        rc = refuse(res, PAYLOAD_BAD_REQUEST, "%s", "field \"host\": expected a string");
    else {
        take_boot_id(res, root);
        rc = copy_out(res, (const char *)body, len);
    }
    json_decref(root);
    return rc;
}

/* "online" / "offline", or {"state": "online"|"offline", ...} as the hub reads them. */
static int translate_state(int cf, const uint8_t *body, size_t len, struct payload_result *res)
{
    if (cf != PAYLOAD_CF_JSON && cf != PAYLOAD_CF_NONE && cf != 0)
        return unsupported(res, cf, "50, 0");
    const char *text = (const char *)body;
    if ((len == 6 && memcmp(text, "online", 6) == 0) ||
        (len == 7 && memcmp(text, "offline", 7) == 0)) {
        res->online = len == 6;
        return copy_out(res, text, len);
    }
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return refuse(res, PAYLOAD_BAD_REQUEST, "not JSON: %.100s", jerr.text);
    const char *state = json_string_value(json_object_get(root, "state"));
    int rc;
    if (state == NULL || (strcmp(state, "online") != 0 && strcmp(state, "offline") != 0)) {
        rc = refuse(res, PAYLOAD_BAD_REQUEST, "%s",
                    "field \"state\": expected \"online\" or \"offline\"");
    } else {
        res->online = strcmp(state, "online") == 0;
        take_boot_id(res, root);
        rc = copy_out(res, text, len);
    }
    json_decref(root);
    return rc;
}

int payload_translate(enum payload_kind kind, int cf, const uint8_t *body, size_t len,
                      const char *host, int64_t now_ms, struct payload_result *res)
{
    if (len == 0)
        return refuse(res, PAYLOAD_BAD_REQUEST, "%s", "empty body");
    switch (kind) {
    case PAYLOAD_METRICS:
    case PAYLOAD_HEARTBEAT:
        return translate_senml(cf, body, len, host, now_ms, res);
    case PAYLOAD_INVENTORY:
        return translate_inventory(cf, body, len, res);
    case PAYLOAD_STATE:
        return translate_state(cf, body, len, res);
    }
    return refuse(res, PAYLOAD_BAD_REQUEST, "%s", "unknown resource");
}

void payload_result_free(struct payload_result *res)
{
    senml_buf_free(&res->out);
}
