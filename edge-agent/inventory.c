/* The inventory document (see inventory.h). A build sorts references to the input items
 * (three working arrays), ranks them, then writes the document with json_out: once in
 * counting mode to see whether it fits and to choose what to leave out, once for real. The
 * digest is the same writer in hashing mode over the stable part. */
#include "edge-agent/inventory.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "edge-agent/inventory_internal.h"

#define FIELD INVENTORY_FIELD

/* ---- sorting ---------------------------------------------------------------------------- */

/* Compares two fixed-size string members (each up to its NUL or its size). */
int inventory_field_cmp(const char *a, size_t a_size, const char *b, size_t b_size)
{
    size_t a_len = strnlen(a, a_size), b_len = strnlen(b, b_size);
    int c = memcmp(a, b, a_len < b_len ? a_len : b_len);

    return c != 0 ? c : (a_len > b_len) - (a_len < b_len);
}

static int int_cmp(int a, int b)
{
    return (a > b) - (a < b);
}

static int tag_cmp(const void *x, const void *y)
{
    const struct inventory_tag *a = ((const struct inventory_ref *)x)->item;
    const struct inventory_tag *b = ((const struct inventory_ref *)y)->item;

    return inventory_field_cmp(FIELD(a, key), FIELD(b, key));
}

static int container_cmp(const void *x, const void *y)
{
    const struct inventory_container *a = ((const struct inventory_ref *)x)->item;
    const struct inventory_container *b = ((const struct inventory_ref *)y)->item;
    int c = inventory_field_cmp(FIELD(a, id), FIELD(b, id));

    if (c == 0)
        c = inventory_field_cmp(FIELD(a, runtime), FIELD(b, runtime));
    return c != 0 ? c : inventory_field_cmp(FIELD(a, pod_uid), FIELD(b, pod_uid));
}

static int process_cmp(const void *x, const void *y)
{
    const struct inventory_process *a = ((const struct inventory_ref *)x)->item;
    const struct inventory_process *b = ((const struct inventory_ref *)y)->item;
    int c = int_cmp(a->pid, b->pid);

    if (c == 0)
        c = inventory_field_cmp(FIELD(a, name), FIELD(b, name));
    return c != 0 ? c : inventory_field_cmp(FIELD(a, container_id), FIELD(b, container_id));
}

static int listening_cmp(const void *x, const void *y)
{
    const struct inventory_socket *a = ((const struct inventory_ref *)x)->item;
    const struct inventory_socket *b = ((const struct inventory_ref *)y)->item;
    int c = inventory_field_cmp(FIELD(a, proto), FIELD(b, proto));

    if (c == 0)
        c = int_cmp(a->local_port, b->local_port);
    if (c == 0)
        c = inventory_field_cmp(FIELD(a, local_addr), FIELD(b, local_addr));
    return c != 0 ? c : int_cmp(a->pid, b->pid);
}

/* The edge a connection stands for: what the digest keeps of it. */
static int edge_cmp(const struct inventory_ref *x, const struct inventory_ref *y)
{
    const struct inventory_socket *a = x->item, *b = y->item;
    int c = inventory_field_cmp(FIELD(a, proto), FIELD(b, proto));

    if (c == 0)
        c = inventory_field_cmp(FIELD(a, local_addr), FIELD(b, local_addr));
    if (c == 0)
        c = int_cmp(x->service_port, y->service_port);
    if (c == 0)
        c = inventory_field_cmp(FIELD(a, remote_addr), FIELD(b, remote_addr));
    if (c == 0)
        c = int_cmp(x->inbound, y->inbound);
    return c != 0 ? c : int_cmp(a->pid, b->pid);
}

static int connection_cmp(const void *x, const void *y)
{
    const struct inventory_socket *a = ((const struct inventory_ref *)x)->item;
    const struct inventory_socket *b = ((const struct inventory_ref *)y)->item;
    int c = edge_cmp(x, y);

    if (c == 0)
        c = int_cmp(a->local_port, b->local_port);
    if (c == 0)
        c = int_cmp(a->remote_port, b->remote_port);
    return c != 0 ? c : inventory_field_cmp(FIELD(a, state), FIELD(b, state));
}

static int process_order_cmp(const void *x, const void *y)
{
    const struct inventory_ref *a = *(const struct inventory_ref *const *)x,
                               *b = *(const struct inventory_ref *const *)y;

    return a->rank != b->rank ? int_cmp((int)a->rank, (int)b->rank) : process_cmp(a, b);
}

static int connection_order_cmp(const void *x, const void *y)
{
    const struct inventory_ref *a = *(const struct inventory_ref *const *)x,
                               *b = *(const struct inventory_ref *const *)y;

    return a->rank != b->rank ? int_cmp((int)a->rank, (int)b->rank) : connection_cmp(a, b);
}

static int key_cmp(const void *x, const void *y)
{
    long long a = *(const long long *)x, b = *(const long long *)y;

    return (a > b) - (a < b);
}

/* ---- the view: sorted, ranked references ------------------------------------------------ */

static bool has_key(const long long *keys, size_t count, long long key)
{
    return count > 0 && bsearch(&key, keys, count, sizeof(*keys), key_cmp) != NULL;
}

/* What makes a connection inbound: a listening socket of the same proto family ("tcp6"
 * listens for "tcp" too: the first three letters) on its local port. */
static long long port_key(const struct inventory_socket *s)
{
    size_t len = strnlen(s->proto, 3);
    unsigned long long family = 0;

    for (size_t i = 0; i < len; i++)
        family = family << 8 | (unsigned char)s->proto[i];
    return (long long)(family << 32 | (uint32_t)s->local_port);
}

static int check_input(const struct inventory_input *in)
{
    if (in == NULL || in->host == NULL || in->agent_version == NULL || in->boot_id == NULL ||
        in->facts == NULL || (in->tag_count > 0 && in->tags == NULL) ||
        (in->container_count > 0 && in->containers == NULL) ||
        (in->process_count > 0 && in->processes == NULL) ||
        (in->listening_count > 0 && in->listening == NULL) ||
        (in->connection_count > 0 && in->connections == NULL) ||
        in->top_process_count > in->process_count)
        return -EINVAL;
    if (in->tag_count > INVENTORY_MAX_TAGS || in->container_count > INVENTORY_MAX_ITEMS ||
        in->process_count > INVENTORY_MAX_ITEMS || in->listening_count > INVENTORY_MAX_ITEMS ||
        in->connection_count > INVENTORY_MAX_ITEMS)
        return -E2BIG;
    return 0;
}

static void refs_fill(struct inventory_ref *refs, const void *items, size_t size, size_t count,
                      int (*cmp)(const void *, const void *))
{
    for (size_t i = 0; i < count; i++)
        refs[i] = (struct inventory_ref){.item = (const char *)items + i * size};
    if (count > 1)
        qsort(refs, count, sizeof(*refs), cmp);
}

/* scratch: listening_count + connection_count keys */
static void rank_processes(struct inventory_view *v, long long *scratch)
{
    const struct inventory_input *in = v->in;
    long long *listen_pids = scratch, *conn_pids = scratch + in->listening_count;

    for (size_t i = 0; i < in->listening_count; i++)
        listen_pids[i] = in->listening[i].pid;
    for (size_t i = 0; i < in->connection_count; i++)
        conn_pids[i] = in->connections[i].pid;
    qsort(listen_pids, in->listening_count, sizeof(long long), key_cmp);
    qsort(conn_pids, in->connection_count, sizeof(long long), key_cmp);
    for (size_t i = 0; i < in->process_count; i++) {
        const struct inventory_process *p = &in->processes[i];
        struct inventory_ref *r = &v->processes[i];
        *r = (struct inventory_ref){.item = p, .rank = INVENTORY_RANK_EXCLUDED};
        /* pid 0 marks a socket without a known owner, not a process */
        if (p->pid > 0 && has_key(listen_pids, in->listening_count, p->pid))
            r->rank = INVENTORY_RANK_LISTENS;
        else if (p->pid > 0 && has_key(conn_pids, in->connection_count, p->pid))
            r->rank = INVENTORY_RANK_CONNECTS;
        else if (strnlen(p->container_id, sizeof(p->container_id)) > 0)
            r->rank = INVENTORY_RANK_CONTAINER;
        else if (i < in->top_process_count)
            r->rank = INVENTORY_RANK_TOP;
    }
    if (in->process_count > 1)
        qsort(v->processes, in->process_count, sizeof(struct inventory_ref), process_cmp);
    v->selected = 0;
    for (size_t i = 0; i < in->process_count; i++)
        if (v->processes[i].rank != INVENTORY_RANK_EXCLUDED)
            v->process_order[v->selected++] = &v->processes[i];
    if (v->selected > 1)
        qsort(v->process_order, v->selected, sizeof(struct inventory_ref *), process_order_cmp);
}

/* scratch: listening_count keys */
static void rank_connections(struct inventory_view *v, long long *scratch)
{
    const struct inventory_input *in = v->in;

    for (size_t i = 0; i < in->listening_count; i++)
        scratch[i] = port_key(&in->listening[i]);
    qsort(scratch, in->listening_count, sizeof(long long), key_cmp);
    for (size_t i = 0; i < in->connection_count; i++) {
        const struct inventory_socket *c = &in->connections[i];
        bool inbound = has_key(scratch, in->listening_count, port_key(c));
        v->connections[i] =
            (struct inventory_ref){.item = c,
                                   .inbound = inbound,
                                   .service_port = inbound ? c->local_port : c->remote_port};
    }
    if (in->connection_count > 1)
        qsort(v->connections, in->connection_count, sizeof(struct inventory_ref), connection_cmp);
    for (size_t i = 0; i < in->connection_count; i++) {
        v->connections[i].rank = i > 0 && edge_cmp(&v->connections[i - 1], &v->connections[i]) == 0;
        v->connection_order[i] = &v->connections[i];
    }
    if (in->connection_count > 1)
        qsort(v->connection_order, in->connection_count, sizeof(struct inventory_ref *),
              connection_order_cmp);
}

static void view_free(struct inventory_view *v)
{
    free(v->tags);
    free(v->process_order);
    v->tags = NULL;
    v->process_order = NULL;
}

static int view_init(struct inventory_view *v, const struct inventory_input *in)
{
    size_t refs, orders;
    long long *scratch = NULL;
    int ret = check_input(in);

    memset(v, 0, sizeof(*v));
    if (ret != 0)
        return ret;
    v->in = in;
    refs = in->tag_count + in->container_count + in->process_count + in->listening_count +
           in->connection_count;
    orders = in->process_count + in->connection_count;
    /* +1: calloc(0) may return NULL */
    v->tags = calloc(refs + 1, sizeof(struct inventory_ref));
    v->process_order = calloc(orders + 1, sizeof(struct inventory_ref *));
    scratch = calloc(in->listening_count + in->connection_count + 1, sizeof(long long));
    if (v->tags == NULL || v->process_order == NULL || scratch == NULL) {
        ret = -ENOMEM;
        goto out;
    }
    v->containers = v->tags + in->tag_count;
    v->processes = v->containers + in->container_count;
    v->listening = v->processes + in->process_count;
    v->connections = v->listening + in->listening_count;
    v->connection_order = v->process_order + in->process_count;
    refs_fill(v->tags, in->tags, sizeof(*in->tags), in->tag_count, tag_cmp);
    for (size_t i = 0; i < in->tag_count; i++) {
        const struct inventory_tag *t = v->tags[i].item;
        if (t->key[0] == '\0' || (i > 0 && tag_cmp(&v->tags[i - 1], &v->tags[i]) == 0)) {
            ret = -EINVAL;
            goto out;
        }
    }
    refs_fill(v->containers, in->containers, sizeof(*in->containers), in->container_count,
              container_cmp);
    refs_fill(v->listening, in->listening, sizeof(*in->listening), in->listening_count,
              listening_cmp);
    rank_processes(v, scratch);
    rank_connections(v, scratch);
out:
    free(scratch);
    if (ret != 0)
        view_free(v);
    return ret;
}

/* ---- selection under the bound ---------------------------------------------------------- */

static size_t measure(const struct inventory_view *v, bool truncated)
{
    struct json_out o;

    json_out_init_count(&o);
    inventory_write_document(&o, v, INVENTORY_MODE_DOCUMENT, truncated);
    return o.len;
}

static size_t item_size(const struct inventory_ref *r, bool is_process)
{
    struct json_out o;

    json_out_init_count(&o);
    if (is_process)
        inventory_write_process(&o, r->item);
    else
        inventory_write_connection(&o, r->item);
    return o.len;
}

/* Keeps the next item of a list when it fits in *room; false once the list is done. */
static bool keep_next(struct inventory_ref **order, size_t count, size_t *next, bool is_process,
                      size_t *room)
{
    size_t size;

    if (*next == count)
        return false;
    size = item_size(order[*next], is_process) + (*next > 0); /* the comma */
    if (size > *room)
        return false;
    *room -= size;
    order[(*next)++]->kept = true;
    return true;
}

/* Keeps processes and connections in turns, best first, while they fit. False when not
 * even the document without them fits. */
static bool select_within(struct inventory_view *v, size_t max_len)
{
    size_t base = measure(v, true), room, next_process = 0, next_connection = 0;
    bool processes_open = true, connections_open = true;

    if (base > max_len)
        return false;
    room = max_len - base;
    while (processes_open || connections_open) {
        if (processes_open)
            processes_open = keep_next(v->process_order, v->selected, &next_process, true, &room);
        if (connections_open)
            connections_open = keep_next(v->connection_order, v->in->connection_count,
                                         &next_connection, false, &room);
    }
    return true;
}

int inventory_build(const struct inventory_input *in, char *out, size_t out_size,
                    struct inventory_result *res)
{
    struct inventory_view v;
    struct json_out o;
    bool truncated = false;
    int ret;

    if (out == NULL || out_size == 0 || res == NULL)
        return -EINVAL;
    out[0] = '\0';
    if ((ret = view_init(&v, in)) != 0)
        return ret;
    memset(res, 0, sizeof(*res));
    json_out_init_hash(&o);
    inventory_write_document(&o, &v, INVENTORY_MODE_DIGEST, false);
    res->digest = o.hash;
    for (size_t i = 0; i < v.selected; i++)
        v.process_order[i]->kept = true;
    for (size_t i = 0; i < in->connection_count; i++)
        v.connection_order[i]->kept = true;
    if (measure(&v, false) > out_size - 1) {
        truncated = true;
        for (size_t i = 0; i < v.selected; i++)
            v.process_order[i]->kept = false;
        for (size_t i = 0; i < in->connection_count; i++)
            v.connection_order[i]->kept = false;
        if (!select_within(&v, out_size - 1)) {
            ret = -ENOSPC;
            goto out;
        }
    }
    json_out_init_buffer(&o, out, out_size);
    inventory_write_document(&o, &v, INVENTORY_MODE_DOCUMENT, truncated);
    res->len = o.len;
    res->truncated = truncated;
    res->processes_total = v.selected;
    res->connections_total = in->connection_count;
    for (size_t i = 0; i < v.selected; i++)
        res->processes_written += v.process_order[i]->kept;
    for (size_t i = 0; i < in->connection_count; i++)
        res->connections_written += v.connection_order[i]->kept;
out:
    view_free(&v);
    return ret;
}

int inventory_digest(const struct inventory_input *in, uint64_t *digest)
{
    struct inventory_view v;
    struct json_out o;
    int ret;

    if (digest == NULL)
        return -EINVAL;
    if ((ret = view_init(&v, in)) != 0)
        return ret;
    json_out_init_hash(&o);
    inventory_write_document(&o, &v, INVENTORY_MODE_DIGEST, false);
    *digest = o.hash;
    view_free(&v);
    return 0;
}

/* ---- tags from config ------------------------------------------------------------------- */

static bool tag_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

static size_t trim(const char **text, size_t len)
{
    while (len > 0 && (**text == ' ' || **text == '\t')) {
        (*text)++;
        len--;
    }
    while (len > 0 && ((*text)[len - 1] == ' ' || (*text)[len - 1] == '\t'))
        len--;
    return len;
}

/* One "key=value" item of len bytes into *tag. */
static int tag_parse(const char *item, size_t len, struct inventory_tag *tag)
{
    const char *eq = memchr(item, '=', len);
    const char *key = item, *value;
    size_t key_len, value_len;

    if (eq == NULL)
        return -EINVAL;
    key_len = trim(&key, (size_t)(eq - item));
    value = eq + 1;
    value_len = trim(&value, (size_t)(item + len - value));
    if (key_len == 0 || key_len >= sizeof(tag->key) || value_len >= sizeof(tag->value))
        return -EINVAL;
    for (size_t i = 0; i < key_len; i++)
        if (!tag_key_char(key[i]))
            return -EINVAL;
    memset(tag, 0, sizeof(*tag));
    memcpy(tag->key, key, key_len);
    memcpy(tag->value, value, value_len);
    return 0;
}

int inventory_tags_parse(const char *list, struct inventory_tag *tags, size_t max_tags,
                         size_t *count)
{
    size_t n = 0;

    if (list == NULL || count == NULL || (max_tags > 0 && tags == NULL))
        return -EINVAL;
    for (const char *p = list;;) {
        const char *comma = strchr(p, ',');
        const char *item = p;
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        const char *probe = item;

        if (trim(&probe, len) == 0) {
            if (comma != NULL || n > 0) /* "a=1,,b=2" and "a=1," are mistakes */
                return -EINVAL;
            break;
        }
        if (n == max_tags)
            return -E2BIG;
        int ret = tag_parse(item, len, &tags[n]);
        if (ret != 0)
            return ret;
        for (size_t i = 0; i < n; i++)
            if (strcmp(tags[i].key, tags[n].key) == 0)
                return -EINVAL;
        n++;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    *count = n;
    return 0;
}

/* ---- cadence ---------------------------------------------------------------------------- */

void inventory_policy_init(struct inventory_policy *p)
{
    memset(p, 0, sizeof(*p));
    p->min_interval_ms = INVENTORY_DEFAULT_MIN_INTERVAL_MS;
    p->max_interval_ms = INVENTORY_DEFAULT_MAX_INTERVAL_MS;
}

bool inventory_due(const struct inventory_policy *p, uint64_t digest, int64_t now_mono_ms)
{
    int64_t since;

    if (!p->published)
        return true;
    since = now_mono_ms - p->last_publish_mono_ms;
    if (since >= p->max_interval_ms)
        return true;
    return digest != p->last_digest && since >= p->min_interval_ms;
}

void inventory_policy_published(struct inventory_policy *p, uint64_t digest, int64_t now_mono_ms)
{
    p->published = true;
    p->last_digest = digest;
    p->last_publish_mono_ms = now_mono_ms;
}
