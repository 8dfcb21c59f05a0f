/* The hub's fleet: one entry per host id seen (or loaded from the store), with its MQTT
 * state (birth / Last Will), last message time, boot id and sequence, and the latest cpu and
 * memory summary. Status is "online" when the last state is not "offline" and a message came
 * within stale_after_ms (monotonic). Thread-safe: one mutex; readers get copies. */
#ifndef UPDRAFT_HUB_HOSTS_H
#define UPDRAFT_HUB_HOSTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub/store.h"

struct hosts;

struct host_view {
    struct store_host rec;   /* persisted fields */
    bool online;             /* derived status */
    int64_t age_ms;          /* since the last message (monotonic), -1 when none since start */
    bool has_cpu, has_mem;
    double cpu_pct, mem_pct; /* latest cpu.utilization / mem.used_pct */
    uint64_t packs, samples; /* accepted since the hub started */
};

int hosts_new(int64_t stale_after_ms, size_t max_hosts, struct hosts **out)
    __attribute__((warn_unused_result));
void hosts_free(struct hosts *hosts); /* accepts NULL */

/* Adds a host read from the store (at start). */
int hosts_load(struct hosts *hosts, const struct store_host *rec, int64_t now_wall_ms,
               int64_t now_mono_ms) __attribute__((warn_unused_result));

bool hosts_known(struct hosts *hosts, const char *id);

/* Records a message from id (creating the host). -ENOSPC when max_hosts is reached. */
int hosts_touch(struct hosts *hosts, const char *id, int64_t now_wall_ms, int64_t now_mono_ms)
    __attribute__((warn_unused_result));

/* State message: online (with version and boot id, either may be NULL) or offline. */
void hosts_set_state(struct hosts *hosts, const char *id, bool online, const char *agent_version,
                     const char *boot_id, int64_t now_wall_ms);

/* An accepted pack: boot id / sequence when present, summary values when present. */
struct host_pack_info {
    const char *boot_id; /* NULL when absent */
    bool has_seq;
    uint64_t seq;
    size_t samples;
    bool has_cpu, has_mem;
    double cpu_pct, mem_pct;
};
void hosts_note_pack(struct hosts *hosts, const char *id, const struct host_pack_info *info);

/* Copies every host (sorted by id) into a new array (*out, free()) and its length. */
int hosts_snapshot(struct hosts *hosts, int64_t now_mono_ms, struct host_view **out, size_t *count)
    __attribute__((warn_unused_result));
/* Copies one host. -ENOENT when unknown. */
int hosts_get(struct hosts *hosts, const char *id, int64_t now_mono_ms, struct host_view *out)
    __attribute__((warn_unused_result));

/* Copies the records changed since the last call (for the writer to persist) into a new
 * array (*out, free()). */
int hosts_take_dirty(struct hosts *hosts, struct store_host **out, size_t *count)
    __attribute__((warn_unused_result));

size_t hosts_count(struct hosts *hosts);

#endif
