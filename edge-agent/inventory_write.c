/* The JSON of each part of the inventory document (docs/topics.md, "inventory"), in the
 * sorted order of an inventory view. Pure. */
#include "edge-agent/inventory_internal.h"

#include <stdint.h>
#include <string.h>

#define FIELD INVENTORY_FIELD

/* ,"ips":[...] sorted by (interface, address), so getifaddrs' order does not matter. */
static void write_ips(struct json_out *o, const struct hostfacts *f)
{
    const struct hostfacts_ip *ips[HOSTFACTS_MAX_IPS];
    size_t ip_count = f->ip_count < HOSTFACTS_MAX_IPS ? f->ip_count : HOSTFACTS_MAX_IPS;

    /* insertion sort: at most HOSTFACTS_MAX_IPS */
    for (size_t i = 0; i < ip_count; i++) {
        size_t j = i;
        for (; j > 0; j--) {
            const struct hostfacts_ip *prev = ips[j - 1], *cur = &f->ips[i];
            int c = inventory_field_cmp(FIELD(prev, ifname), FIELD(cur, ifname));
            if (c < 0 || (c == 0 && inventory_field_cmp(FIELD(prev, addr), FIELD(cur, addr)) <= 0))
                break;
            ips[j] = ips[j - 1];
        }
        ips[j] = &f->ips[i];
    }
    json_out_raw(o, ",\"ips\":[");
    for (size_t i = 0; i < ip_count; i++) {
        json_out_raw(o, i > 0 ? ",{\"if\":" : "{\"if\":");
        json_out_string(o, FIELD(ips[i], ifname));
        json_out_raw(o, ",\"addr\":");
        json_out_string(o, FIELD(ips[i], addr));
        json_out_raw(o, "}");
    }
    json_out_raw(o, "]");
}

/* The text before a value (punctuation and key), then the string, or null when empty. */
static void write_string_or_null(struct json_out *o, const char *before, const char *text,
                                 size_t max_len)
{
    json_out_raw(o, before);
    json_out_string_or_null(o, text, max_len);
}

/* The text before a value, then the number, or null when it is not positive (unknown). */
static void write_positive_or_null(struct json_out *o, const char *before, int64_t value)
{
    json_out_raw(o, before);
    if (value > 0)
        json_out_int(o, value);
    else
        json_out_raw(o, "null");
}

static void write_facts(struct json_out *o, const struct inventory_input *in)
{
    const struct hostfacts *f = in->facts;

    write_string_or_null(o, "\"facts\":{\"hostname\":", FIELD(f, hostname));
    write_string_or_null(o, ",\"machine_id\":", FIELD(f, machine_id));
    write_string_or_null(o, ",\"os\":{\"id\":", FIELD(f, os_id));
    write_string_or_null(o, ",\"version\":", FIELD(f, os_version_id));
    write_string_or_null(o, ",\"pretty\":", FIELD(f, os_pretty));
    write_string_or_null(o, "},\"kernel\":", FIELD(f, kernel));
    write_string_or_null(o, ",\"cpu\":{\"model\":", FIELD(f, cpu_model));
    write_positive_or_null(o, ",\"cores\":", f->cpu_cores);
    write_positive_or_null(o, "},\"mem_total_mb\":", f->mem_total_mb);
    write_positive_or_null(o, ",\"boot_time\":", f->boot_time_ms);
    write_ips(o, f);
    json_out_raw(o, in->has_gpu ? ",\"has_gpu\":true}" : ",\"has_gpu\":false}");
}

/* The text before a value, then the string, only when it is not empty. */
static void write_string_if_set(struct json_out *o, const char *before, const char *text,
                                size_t max_len)
{
    if (strnlen(text, max_len) > 0) {
        json_out_raw(o, before);
        json_out_string(o, text, max_len);
    }
}

static void write_container(struct json_out *o, const struct inventory_container *c)
{
    json_out_raw(o, "{\"id\":");
    json_out_string(o, FIELD(c, id));
    json_out_raw(o, ",\"runtime\":");
    json_out_string(o, FIELD(c, runtime));
    write_string_if_set(o, ",\"pod_uid\":", FIELD(c, pod_uid));
    json_out_raw(o, "}");
}

void inventory_write_process(struct json_out *o, const struct inventory_process *p)
{
    json_out_raw(o, "{\"pid\":");
    json_out_int(o, p->pid);
    json_out_raw(o, ",\"name\":");
    json_out_string(o, FIELD(p, name));
    write_string_if_set(o, ",\"container\":", FIELD(p, container_id));
    json_out_raw(o, "}");
}

static void write_listening(struct json_out *o, const struct inventory_socket *s)
{
    json_out_raw(o, "{\"proto\":");
    json_out_string(o, FIELD(s, proto));
    json_out_raw(o, ",\"addr\":");
    json_out_string(o, FIELD(s, local_addr));
    json_out_raw(o, ",\"port\":");
    json_out_int(o, s->local_port);
    json_out_raw(o, ",\"pid\":");
    json_out_int(o, s->pid);
    json_out_raw(o, "}");
}

void inventory_write_connection(struct json_out *o, const struct inventory_socket *s)
{
    json_out_raw(o, "{\"proto\":");
    json_out_string(o, FIELD(s, proto));
    json_out_raw(o, ",\"local\":");
    json_out_string(o, FIELD(s, local_addr));
    json_out_raw(o, ",\"lport\":");
    json_out_int(o, s->local_port);
    json_out_raw(o, ",\"remote\":");
    json_out_string(o, FIELD(s, remote_addr));
    json_out_raw(o, ",\"rport\":");
    json_out_int(o, s->remote_port);
    json_out_raw(o, ",\"state\":");
    json_out_string(o, FIELD(s, state));
    json_out_raw(o, ",\"pid\":");
    json_out_int(o, s->pid);
    json_out_raw(o, "}");
}

/* The digest's form of a connection: its edge only (see inventory_digest). */
static void write_edge(struct json_out *o, const struct inventory_ref *r)
{
    const struct inventory_socket *s = r->item;

    json_out_string(o, FIELD(s, proto));
    json_out_string(o, FIELD(s, local_addr));
    json_out_int(o, r->service_port);
    json_out_string(o, FIELD(s, remote_addr));
    json_out_raw(o, r->inbound ? "in" : "out");
    json_out_int(o, s->pid);
    json_out_raw(o, ";");
}

static void write_tags(struct json_out *o, const struct inventory_view *v)
{
    json_out_raw(o, ",\"tags\":{");
    for (size_t i = 0; i < v->in->tag_count; i++) {
        const struct inventory_tag *t = v->tags[i].item;
        if (i > 0)
            json_out_raw(o, ",");
        json_out_string(o, FIELD(t, key));
        json_out_raw(o, ":");
        json_out_string(o, FIELD(t, value));
    }
    json_out_raw(o, "}");
}

/* Writes the document (mode DOCUMENT: kept items; truncated adds the totals) or the
 * digest's stable form of it (mode DIGEST). */
void inventory_write_document(struct json_out *o, const struct inventory_view *v,
                              enum inventory_mode mode, bool truncated)
{
    const struct inventory_input *in = v->in;
    size_t n = 0;

    json_out_raw(o, "{\"v\":1,\"host\":");
    json_out_string(o, in->host, SIZE_MAX);
    if (mode == INVENTORY_MODE_DOCUMENT) {
        json_out_raw(o, ",\"ts\":");
        json_out_int(o, in->ts_ms);
    }
    json_out_raw(o, ",\"agent_version\":");
    json_out_string(o, in->agent_version, SIZE_MAX);
    json_out_raw(o, ",\"boot_id\":");
    json_out_string(o, in->boot_id, SIZE_MAX);
    json_out_raw(o, ",");
    write_facts(o, in);
    write_tags(o, v);
    json_out_raw(o, ",\"containers\":[");
    for (size_t i = 0; i < in->container_count; i++) {
        if (i > 0)
            json_out_raw(o, ",");
        write_container(o, v->containers[i].item);
    }
    json_out_raw(o, "],\"processes\":[");
    for (size_t i = 0; i < in->process_count; i++) {
        const struct inventory_ref *r = &v->processes[i];
        if (mode == INVENTORY_MODE_DOCUMENT ? !r->kept : r->rank >= INVENTORY_RANK_TOP)
            continue;
        if (n++ > 0)
            json_out_raw(o, ",");
        inventory_write_process(o, r->item);
    }
    json_out_raw(o, "],\"listening\":[");
    for (size_t i = 0; i < in->listening_count; i++) {
        if (i > 0)
            json_out_raw(o, ",");
        write_listening(o, v->listening[i].item);
    }
    json_out_raw(o, "],\"connections\":[");
    n = 0;
    for (size_t i = 0; i < in->connection_count; i++) {
        const struct inventory_ref *r = &v->connections[i];
        if (mode == INVENTORY_MODE_DIGEST) {
            if (r->rank == 0)
                write_edge(o, r);
            continue;
        }
        if (!r->kept)
            continue;
        if (n++ > 0)
            json_out_raw(o, ",");
        inventory_write_connection(o, r->item);
    }
    if (mode == INVENTORY_MODE_DIGEST) {
        json_out_raw(o, "]}");
        return;
    }
    if (!truncated) {
        json_out_raw(o, "],\"truncated\":false}");
        return;
    }
    json_out_raw(o, "],\"truncated\":true,\"totals\":{\"processes\":");
    json_out_int(o, (int64_t)v->selected);
    json_out_raw(o, ",\"connections\":");
    json_out_int(o, (int64_t)in->connection_count);
    json_out_raw(o, "}}");
}
