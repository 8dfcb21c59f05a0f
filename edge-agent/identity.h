/* Who this agent is: the host id used in topics and the boot id that, with the per-boot
 * sequence, names every pack it sends. Reads the system once at start. */
#ifndef UPDRAFT_AGENT_IDENTITY_H
#define UPDRAFT_AGENT_IDENTITY_H

#include <stddef.h>

/* Writes the default host id: the hostname (up to the first '.', characters outside
 * [A-Za-z0-9._-] replaced by '-'), else /etc/machine-id. out_size >= 65.
 * Returns 0 or -ENOENT when neither gives a valid id. */
int identity_default_host(char *out, size_t out_size) __attribute__((warn_unused_result));

/* Writes a fresh random boot id: 16 lowercase hex digits (out_size >= 17). Returns 0 or -EIO. */
int identity_new_boot_id(char *out, size_t out_size) __attribute__((warn_unused_result));

#endif
