/* Parsing of the hub's ack and pushed config (see control.h), on common/json_scan. */
#include "edge-agent/control.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_scan.h"

static int fail(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (cap > 0)
        vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return -EBADMSG;
}

static int syntax(struct json_scan *s, char *why, size_t cap)
{
    return fail(why, cap, "not JSON at byte %zu: %s", (size_t)(s->p - s->start),
                s->reason ? s->reason : "syntax error");
}

/* Reads a string into buf (cap incl. NUL); too long or with NUL: refused. */
static int read_string(struct json_scan *s, char *buf, size_t cap, const char *what, char *why,
                       size_t wcap)
{
    struct json_scan_str str = {.buf = buf, .cap = cap - 1};
    if (!json_scan_peek(s, '"'))
        return fail(why, wcap, "%s: expected a string", what);
    if (json_scan_string(s, &str) != 0)
        return syntax(s, why, wcap);
    if (str.len >= cap || str.has_nul)
        return fail(why, wcap, "%s: longer than %zu bytes", what, cap - 1);
    buf[str.len] = '\0';
    return 0;
}

static int read_uint(struct json_scan *s, uint64_t max, uint64_t *out, const char *what,
                     char *why, size_t cap)
{
    double v = 0;
    if (!json_scan_at_number(s))
        return fail(why, cap, "%s: expected a number", what);
    if (json_scan_number(s, &v) != 0)
        return syntax(s, why, cap);
    if (v < 0 || v != floor(v) || v > (double)max)
        return fail(why, cap, "%s: %g is not an integer in 0..%llu", what, v,
                    (unsigned long long)max);
    *out = (uint64_t)v;
    return 0;
}

/* Calls field(key) for each member of the object at s->p. */
typedef int (*member_fn)(struct json_scan *s, const char *key, void *out, char *why, size_t cap);

static int each_member(struct json_scan *s, member_fn field, void *out, char *why, size_t cap)
{
    json_scan_ws(s);
    if (!json_scan_peek(s, '{'))
        return fail(why, cap, "not a JSON object");
    s->p++;
    json_scan_ws(s);
    if (json_scan_peek(s, '}')) {
        s->p++;
        return 0;
    }
    for (;;) {
        char key[32];
        json_scan_ws(s);
        int rc = read_string(s, key, sizeof key, "key", why, cap);
        if (rc != 0)
            return rc;
        json_scan_ws(s);
        if (!json_scan_peek(s, ':'))
            return syntax(s, why, cap);
        s->p++;
        json_scan_ws(s);
        if ((rc = field(s, key, out, why, cap)) != 0)
            return rc;
        json_scan_ws(s);
        if (json_scan_peek(s, '}')) {
            s->p++;
            return 0;
        }
        if (!json_scan_peek(s, ','))
            return syntax(s, why, cap);
        s->p++;
    }
}

static bool hex16(const char *id)
{
    if (strlen(id) != 16)
        return false;
    for (const char *c = id; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
            return false;
    return true;
}

typedef int (*element_fn)(struct json_scan *s, void *out, char *why, size_t cap);

/* Calls element for each element of the array whose '[' the caller has checked, up to and
 * including its ']'. Returns 0 or the first error. */
static int each_element(struct json_scan *s, element_fn element, void *out, char *why,
                        size_t cap)
{
    s->p++;
    for (bool first = true;; first = false) {
        json_scan_ws(s);
        if (json_scan_peek(s, ']')) {
            s->p++;
            return 0;
        }
        if (!first) {
            if (!json_scan_peek(s, ','))
                return syntax(s, why, cap);
            s->p++;
            json_scan_ws(s);
        }
        int rc = element(s, out, why, cap);
        if (rc != 0)
            return rc;
    }
}

static int ack_range(struct json_scan *s, void *out, char *why, size_t cap)
{
    struct control_ack *a = out;

    if (a->n_ranges == CONTROL_ACK_MAX_RANGES)
        return fail(why, cap, "ranges: more than %d", CONTROL_ACK_MAX_RANGES);
    if (!json_scan_peek(s, '['))
        return fail(why, cap, "ranges[%zu]: expected [first,last]", a->n_ranges);
    s->p++;
    uint64_t lo = 0, hi = 0;
    json_scan_ws(s);
    int rc = read_uint(s, UINT64_C(1) << 53, &lo, "range first", why, cap);
    json_scan_ws(s);
    if (rc == 0 && !json_scan_peek(s, ','))
        return syntax(s, why, cap);
    if (rc == 0) {
        s->p++;
        json_scan_ws(s);
        rc = read_uint(s, UINT64_C(1) << 53, &hi, "range last", why, cap);
    }
    json_scan_ws(s);
    if (rc == 0 && !json_scan_peek(s, ']'))
        return fail(why, cap, "ranges[%zu]: expected two numbers", a->n_ranges);
    if (rc != 0)
        return rc;
    s->p++;
    if (lo < 1 || hi < lo)
        return fail(why, cap, "ranges[%zu]: [%llu,%llu] is not 1 <= first <= last",
                    a->n_ranges, (unsigned long long)lo, (unsigned long long)hi);
    a->first[a->n_ranges] = lo;
    a->last[a->n_ranges++] = hi;
    return 0;
}

static int ack_ranges(struct json_scan *s, struct control_ack *a, char *why, size_t cap)
{
    if (!json_scan_peek(s, '['))
        return fail(why, cap, "ranges: expected an array");
    return each_element(s, ack_range, a, why, cap);
}

static int ack_member(struct json_scan *s, const char *key, void *out, char *why, size_t cap)
{
    struct control_ack *a = out;
    if (strcmp(key, "boot_id") == 0) {
        int rc = read_string(s, a->boot_id, sizeof a->boot_id, "boot_id", why, cap);
        if (rc == 0 && !hex16(a->boot_id))
            return fail(why, cap, "boot_id: expected 16 lowercase hex digits");
        return rc;
    }
    if (strcmp(key, "ranges") == 0)
        return ack_ranges(s, a, why, cap);
    return json_scan_skip(s, 1) == 0 ? 0 : syntax(s, why, cap); /* newer hubs may add fields */
}

/* The whole payload as one object, each member through member into out, nothing after. */
static int parse_object(const void *payload, size_t len, member_fn member, void *out,
                        char *why, size_t cap)
{
    struct json_scan s;
    json_scan_init(&s, payload, len);
    int rc = each_member(&s, member, out, why, cap);
    if (rc != 0)
        return rc;
    json_scan_ws(&s);
    return s.p == s.end ? 0 : fail(why, cap, "trailing bytes after the object");
}

int control_ack_parse(const void *payload, size_t len, struct control_ack *out, char *why,
                      size_t cap)
{
    memset(out, 0, sizeof *out);
    int rc = parse_object(payload, len, ack_member, out, why, cap);
    if (rc == 0 && out->boot_id[0] == '\0')
        rc = fail(why, cap, "boot_id missing");
    return rc;
}

/* "500ms", "10s", "5m", "1h" (a whole number and a unit). */
static int parse_duration(const char *text, int64_t *out_ms)
{
    char *end = NULL;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    if (end == text || errno != 0 || n < 0 || n > 86400000LL)
        return -EINVAL;
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(end, units[i].unit) == 0) {
            *out_ms = n * units[i].ms;
            return 0;
        }
    return -EINVAL;
}

static int config_interval(struct json_scan *s, struct control_config *c, char *why, size_t cap)
{
    if (json_scan_at_number(s)) {
        double v = 0;
        if (json_scan_number(s, &v) != 0)
            return syntax(s, why, cap);
        c->interval_ms = (int64_t)llround(v * 1000.0);
    } else {
        char text[32];
        int rc = read_string(s, text, sizeof text, "interval", why, cap);
        if (rc != 0)
            return rc;
        if (parse_duration(text, &c->interval_ms) != 0)
            return fail(why, cap, "interval: \"%s\" is not a duration like 10s or 500ms", text);
    }
    if (c->interval_ms < 100 || c->interval_ms > 3600000)
        return fail(why, cap, "interval: %lld ms is out of range 100ms..1h",
                    (long long)c->interval_ms);
    c->has_interval = true;
    return 0;
}

static bool name_ok(const char *n)
{
    if (*n == '\0')
        return false;
    for (; *n; n++)
        if (!((*n >= 'a' && *n <= 'z') || (*n >= '0' && *n <= '9') || *n == '_'))
            return false;
    return true;
}

/* Appends one name of the collectors array to the comma-separated list. */
static int config_collector(struct json_scan *s, void *out, char *why, size_t cap)
{
    struct control_config *c = out;
    size_t used = strlen(c->collectors);
    char name[32] = "";

    int rc = read_string(s, name, sizeof name, "collectors[]", why, cap);
    if (rc != 0)
        return rc;
    if (!name_ok(name))
        return fail(why, cap, "collectors: \"%s\" is not a collector name", name);
    int n = snprintf(c->collectors + used, sizeof c->collectors - used, "%s%s",
                     used ? "," : "", name);
    if (n < 0 || (size_t)n >= sizeof c->collectors - used)
        return fail(why, cap, "collectors: list too long");
    return 0;
}

static int config_collectors(struct json_scan *s, struct control_config *c, char *why, size_t cap)
{
    c->has_collectors = true;
    c->collectors[0] = '\0';
    if (json_scan_peek(s, '"')) {
        int rc = read_string(s, c->collectors, sizeof c->collectors, "collectors", why, cap);
        for (char *p = c->collectors; rc == 0 && *p; p++)
            if (*p == ' ')
                return fail(why, cap, "collectors: separate names with commas only");
        return rc;
    }
    if (!json_scan_peek(s, '['))
        return fail(why, cap, "collectors: expected an array of names");
    return each_element(s, config_collector, c, why, cap);
}

static bool label_key_ok(const char *k)
{
    if (*k == '\0')
        return false;
    for (; *k; k++)
        if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') ||
              *k == '_' || *k == '.' || *k == '-'))
            return false;
    return true;
}

static bool label_value_ok(const char *v)
{
    for (; *v; v++)
        if ((unsigned char)*v < 0x20 || *v == ',' || *v == '=' || *v == '"' || *v == '\\')
            return false;
    return true;
}

struct labels_out {
    struct control_config *c;
    size_t used;
};

static int label_member(struct json_scan *s, const char *key, void *out, char *why, size_t cap)
{
    struct labels_out *lo = out;
    char value[128] = "";
    if (!label_key_ok(key))
        return fail(why, cap, "labels: key \"%s\" must be [A-Za-z0-9_.-]+", key);
    int rc = read_string(s, value, sizeof value, "labels value", why, cap);
    if (rc != 0)
        return rc;
    if (!label_value_ok(value))
        return fail(why, cap, "labels.%s: value may not contain control characters , = \" \\",
                    key);
    size_t room = sizeof lo->c->labels - lo->used;
    int n = snprintf(lo->c->labels + lo->used, room, "%s%s=%s", lo->used ? "," : "", key, value);
    if (n < 0 || (size_t)n >= room)
        return fail(why, cap, "labels: more than %d bytes", CONTROL_LABELS_MAX - 1);
    lo->used += (size_t)n;
    return 0;
}

static int config_member(struct json_scan *s, const char *key, void *out, char *why, size_t cap)
{
    struct control_config *c = out;
    uint64_t v = 0;
    int rc;
    if (strcmp(key, "version") == 0) {
        if ((rc = read_uint(s, INT64_C(1) << 53, &v, "version", why, cap)) != 0)
            return rc;
        if (v < 1)
            return fail(why, cap, "version: must be >= 1");
        c->version = (int64_t)v;
        return 0;
    }
    if (strcmp(key, "interval") == 0)
        return config_interval(s, c, why, cap);
    if (strcmp(key, "collectors") == 0)
        return config_collectors(s, c, why, cap);
    if (strcmp(key, "top_n") == 0) {
        if ((rc = read_uint(s, 100, &v, "top_n", why, cap)) != 0)
            return rc;
        if (v < 1)
            return fail(why, cap, "top_n: %llu is out of range 1..100", (unsigned long long)v);
        c->top_n = (unsigned)v;
        c->has_top_n = true;
        return 0;
    }
    if (strcmp(key, "labels") == 0) {
        struct labels_out lo = {c, 0};
        c->has_labels = true;
        c->labels[0] = '\0';
        return each_member(s, label_member, &lo, why, cap);
    }
    return fail(why, cap, "unknown key \"%s\" (known: version, interval, collectors, top_n, "
                          "labels)", key);
}

int control_config_parse(const void *payload, size_t len, struct control_config *out,
                         char *why, size_t cap)
{
    if (len > CONTROL_CONFIG_MAX_BYTES)
        return fail(why, cap, "config of %zu bytes is larger than %d", len,
                    CONTROL_CONFIG_MAX_BYTES);
    memset(out, 0, sizeof *out);
    int rc = parse_object(payload, len, config_member, out, why, cap);
    if (rc == 0 && out->version == 0)
        rc = fail(why, cap, "version missing");
    return rc;
}
