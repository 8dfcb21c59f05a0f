/* Topic names (see topic.h). Pure and thread-safe. */
#include "common/topic.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const kind_names[] = {
    [TOPIC_KIND_METRICS] = "metrics",     [TOPIC_KIND_HEARTBEAT] = "heartbeat",
    [TOPIC_KIND_STATE] = "state",         [TOPIC_KIND_INVENTORY] = "inventory",
    [TOPIC_KIND_CONFIG] = "config",       [TOPIC_KIND_ACK] = "ack",
};
#define KIND_COUNT (sizeof kind_names / sizeof kind_names[0])

const char *topic_kind_name(enum topic_kind kind)
{
    return kind_names[kind];
}

static bool id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

bool topic_host_valid(const char *host, size_t len)
{
    if (len == 0 || len > TOPIC_HOST_MAX)
        return false;
    if ((len == 1 && host[0] == '.') || (len == 2 && host[0] == '.' && host[1] == '.'))
        return false;
    for (size_t i = 0; i < len; i++)
        if (!id_char(host[i]))
            return false;
    return true;
}

bool topic_root_valid(const char *root)
{
    size_t len = strlen(root);
    if (len == 0 || len > TOPIC_ROOT_MAX || root[0] == '/' || root[len - 1] == '/')
        return false;
    for (size_t i = 0; i < len; i++) {
        if (root[i] == '/') {
            if (root[i + 1] == '/')
                return false;
        } else if (!id_char(root[i])) {
            return false;
        }
    }
    return true;
}

int topic_build(char *out, size_t out_size, const char *root, const char *host,
                enum topic_kind kind)
{
    if (!topic_root_valid(root) || !topic_host_valid(host, strlen(host)))
        return -EINVAL;
    int n = snprintf(out, out_size, "%s/v1/%s/%s", root, host, kind_names[kind]);
    return (n < 0 || (size_t)n >= out_size) ? -ENOSPC : 0;
}

int topic_filter(char *out, size_t out_size, const char *root, enum topic_kind kind)
{
    if (!topic_root_valid(root))
        return -EINVAL;
    int n = snprintf(out, out_size, "%s/v1/+/%s", root, kind_names[kind]);
    return (n < 0 || (size_t)n >= out_size) ? -ENOSPC : 0;
}

int topic_parse(const char *topic, const char *root, char *host, enum topic_kind *kind)
{
    size_t root_len = strlen(root);
    if (strncmp(topic, root, root_len) != 0 || strncmp(topic + root_len, "/v1/", 4) != 0)
        return -EINVAL;
    const char *host_start = topic + root_len + 4;
    const char *slash = strchr(host_start, '/');
    if (slash == NULL)
        return -EINVAL;
    size_t host_len = (size_t)(slash - host_start);
    if (!topic_host_valid(host_start, host_len))
        return -EINVAL;
    const char *kind_text = slash + 1;
    for (size_t k = 0; k < KIND_COUNT; k++) {
        if (strcmp(kind_text, kind_names[k]) == 0) {
            memcpy(host, host_start, host_len);
            host[host_len] = '\0';
            *kind = (enum topic_kind)k;
            return 0;
        }
    }
    return -EINVAL;
}
