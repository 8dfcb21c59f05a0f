/* What inventory.c (sorting, selection, digest) and inventory_write.c (the JSON of each
 * part) share. Internal to edge-agent/inventory*.c. Pure. */
#ifndef UPDRAFT_AGENT_INVENTORY_INTERNAL_H
#define UPDRAFT_AGENT_INVENTORY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "edge-agent/inventory.h"
#include "edge-agent/json_out.h"

/* A fixed-size string member and its size, for the functions reading up to either. */
#define INVENTORY_FIELD(s, m) (s)->m, sizeof((s)->m)

/* Why a process is written, best first. */
enum inventory_rank {
    INVENTORY_RANK_LISTENS,   /* owns a listening socket */
    INVENTORY_RANK_CONNECTS,  /* owns a connection */
    INVENTORY_RANK_CONTAINER, /* runs in a container */
    INVENTORY_RANK_TOP,       /* only among the top ones */
    INVENTORY_RANK_EXCLUDED,  /* not written */
};

/* A reference to one input item with what the sort and the selection need. */
struct inventory_ref {
    const void *item;
    unsigned rank;    /* processes: enum inventory_rank; connections: 0 for the first of its
                       * edge in sort order, 1 for the others */
    int service_port; /* connections: the port that is not ephemeral */
    bool inbound;     /* connections: the local port is one this host listens on */
    bool kept;        /* written into the document */
};

/* The input's lists as sorted references (the document's order). */
struct inventory_view {
    const struct inventory_input *in;
    struct inventory_ref *tags, *containers, *processes, *listening, *connections;
    /* selection order: (rank, then sort order); process_order holds the selected only */
    struct inventory_ref **process_order, **connection_order;
    size_t selected; /* processes with a rank other than EXCLUDED */
};

enum inventory_mode {
    INVENTORY_MODE_DOCUMENT, /* the document: kept items, ts, truncation */
    INVENTORY_MODE_DIGEST,   /* the stable part hashed by inventory_digest */
};

/* Compares two fixed-size string members (each read up to its NUL or its size). */
int inventory_field_cmp(const char *a, size_t a_size, const char *b, size_t b_size);

/* Writes the whole document of v; truncated (document mode) adds "totals". */
void inventory_write_document(struct json_out *o, const struct inventory_view *v,
                              enum inventory_mode mode, bool truncated);
/* One element of the processes or connections array (to measure it). */
void inventory_write_process(struct json_out *o, const struct inventory_process *p);
void inventory_write_connection(struct json_out *o, const struct inventory_socket *s);

#endif
