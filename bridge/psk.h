/* The bridge's pre-shared keys: a file of lines "<identity> <host> <key>" ('#' starts a
 * comment; the key is text, or "hex:" and an even number of hex digits; 1..PSK_KEY_MAX
 * bytes). Each identity is bound to the one host it may post for. Pure: parsing takes the
 * text, not a path (psk_load reads the file). */
#ifndef UPDRAFT_BRIDGE_PSK_H
#define UPDRAFT_BRIDGE_PSK_H

#include <stddef.h>
#include <stdint.h>

#include "common/topic.h"

#define PSK_IDENTITY_MAX 128
#define PSK_KEY_MAX 64

struct psk_entry {
    char identity[PSK_IDENTITY_MAX + 1];
    char host[TOPIC_HOST_MAX + 1];
    uint8_t key[PSK_KEY_MAX];
    size_t key_len;
};

struct psk_table {
    struct psk_entry *entries;
    size_t count;
};

/* Parses text (len bytes). Returns 0 and *out, -EINVAL with "line N: reason" in err, or
 * -ENOMEM. A duplicate identity is an error. */
int psk_parse(const char *text, size_t len, struct psk_table *out, char *err, size_t err_size)
    __attribute__((warn_unused_result));

/* Reads and parses path (at most 1 MiB). -errno when it cannot be read. */
int psk_load(const char *path, struct psk_table *out, char *err, size_t err_size)
    __attribute__((warn_unused_result));

/* The entry of identity (len bytes, not NUL-terminated), or NULL. */
const struct psk_entry *psk_find(const struct psk_table *t, const uint8_t *identity, size_t len);

void psk_free(struct psk_table *t); /* wipes the keys; accepts a zeroed table */

#endif
