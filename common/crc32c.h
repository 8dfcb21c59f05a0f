/* CRC-32C (Castagnoli, reflected polynomial 0x82f63b78, RFC 3720), the checksum of the hub's
 * chunks and the agent's spool records. Pure; thread-safe. */
#ifndef UPDRAFT_COMMON_CRC32C_H
#define UPDRAFT_COMMON_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues crc (0 to start) over len bytes at buf: crc32c(0, "123456789", 9) = 0xe3069283. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

#endif
