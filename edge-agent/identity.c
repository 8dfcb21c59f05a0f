/* Host id and boot id (see identity.h). Not thread-safe; called at start. */
#include "edge-agent/identity.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "common/topic.h"

static void sanitize(char *id)
{
    for (char *p = id; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            *p = '-';
    }
}

int identity_default_host(char *out, size_t out_size)
{
    char name[256] = "";
    if (gethostname(name, sizeof name - 1) == 0) {
        name[strcspn(name, ".")] = '\0';
        name[TOPIC_HOST_MAX] = '\0';
        sanitize(name);
        if (topic_host_valid(name, strlen(name)) && strcmp(name, "localhost") != 0) {
            snprintf(out, out_size, "%s", name);
            return 0;
        }
    }
    FILE *f = fopen("/etc/machine-id", "r");
    if (f != NULL) {
        char id[64] = "";
        if (fgets(id, sizeof id, f) != NULL) {
            id[strcspn(id, "\n")] = '\0';
            if (topic_host_valid(id, strlen(id))) {
                snprintf(out, out_size, "%s", id);
                fclose(f);
                return 0;
            }
        }
        fclose(f);
    }
    if (name[0] != '\0' && topic_host_valid(name, strlen(name))) {
        snprintf(out, out_size, "%s", name);
        return 0;
    }
    return -ENOENT;
}

int identity_new_boot_id(char *out, size_t out_size)
{
    unsigned char bytes[8];
    if (out_size < 17 || getrandom(bytes, sizeof bytes, 0) != (ssize_t)sizeof bytes)
        return -EIO;
    for (size_t i = 0; i < sizeof bytes; i++)
        snprintf(out + 2 * i, 3, "%02x", bytes[i]);
    return 0;
}
