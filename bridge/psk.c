/* PSK file parsing (see psk.h). */
#include "bridge/psk.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PSK_FILE_MAX (1 << 20)

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The key field (tok, n bytes) into e. Returns NULL or the reason. */
static const char *parse_key(const char *tok, size_t n, struct psk_entry *e)
{
    if (n > 4 && memcmp(tok, "hex:", 4) == 0) {
        tok += 4;
        n -= 4;
        if (n % 2 != 0)
            return "hex key has an odd number of digits";
        if (n / 2 > PSK_KEY_MAX)
            return "key longer than 64 bytes";
        for (size_t i = 0; i < n; i += 2) {
            int hi = hexval(tok[i]), lo = hexval(tok[i + 1]);
            if (hi < 0 || lo < 0)
                return "hex key has a character that is not a hex digit";
            e->key[i / 2] = (uint8_t)(hi << 4 | lo);
        }
        e->key_len = n / 2;
        return NULL;
    }
    if (n > PSK_KEY_MAX)
        return "key longer than 64 bytes";
    memcpy(e->key, tok, n);
    e->key_len = n;
    return NULL;
}

/* Splits a line into at most 4 whitespace-separated fields. Returns the count. */
static size_t split(const char *line, size_t len, const char *tok[4], size_t tlen[4])
{
    size_t nf = 0, i = 0;
    while (i < len && nf < 4) {
        while (i < len && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i == len)
            break;
        size_t start = i;
        while (i < len && line[i] != ' ' && line[i] != '\t')
            i++;
        tok[nf] = line + start;
        tlen[nf++] = i - start;
    }
    return nf;
}

static const char *parse_line(const char *line, size_t len, struct psk_entry *e)
{
    const char *tok[4];
    size_t tlen[4];
    size_t nf = split(line, len, tok, tlen);
    if (nf != 3)
        return "expected three fields: <identity> <host> <key>";
    if (tlen[0] > PSK_IDENTITY_MAX)
        return "identity longer than 128 bytes";
    if (!topic_host_valid(tok[1], tlen[1]))
        return "host is not a valid host id";
    memcpy(e->identity, tok[0], tlen[0]);
    e->identity[tlen[0]] = '\0';
    memcpy(e->host, tok[1], tlen[1]);
    e->host[tlen[1]] = '\0';
    return parse_key(tok[2], tlen[2], e);
}

int psk_parse(const char *text, size_t len, struct psk_table *out, char *err, size_t err_size)
{
    memset(out, 0, sizeof *out);
    size_t cap = 0, lineno = 0, pos = 0;
    while (pos < len) {
        size_t end = pos;
        while (end < len && text[end] != '\n')
            end++;
        lineno++;
        size_t n = end - pos;
        const char *hash = memchr(text + pos, '#', n);
        if (hash != NULL)
            n = (size_t)(hash - (text + pos));
        while (n > 0 &&
               (text[pos + n - 1] == '\r' || text[pos + n - 1] == ' ' || text[pos + n - 1] == '\t'))
            n--;
        const char *tok[4];
        size_t tlen[4];
        if (split(text + pos, n, tok, tlen) > 0) {
            if (out->count == cap) {
                cap = cap ? cap * 2 : 16;
                struct psk_entry *grown = realloc(out->entries, cap * sizeof *grown);
                if (grown == NULL) {
                    psk_free(out);
                    return -ENOMEM;
                }
                out->entries = grown;
            }
            struct psk_entry *e = &out->entries[out->count];
            memset(e, 0, sizeof *e);
            const char *why = parse_line(text + pos, n, e);
            if (why == NULL && psk_find(out, (const uint8_t *)e->identity, strlen(e->identity)))
                why = "identity listed twice";
            if (why != NULL) {
                snprintf(err, err_size, "line %zu: %s", lineno, why);
                psk_free(out);
                return -EINVAL;
            }
            out->count++;
        }
        pos = end + 1;
    }
    return 0;
}

int psk_load(const char *path, struct psk_table *out, char *err, size_t err_size)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        int e = errno;
        snprintf(err, err_size, "cannot open %s: %s", path, strerror(e));
        return -e;
    }
    char *buf = malloc(PSK_FILE_MAX + 1);
    if (buf == NULL) {
        fclose(f);
        return -ENOMEM;
    }
    size_t n = fread(buf, 1, PSK_FILE_MAX + 1, f);
    bool bad = ferror(f) != 0;
    fclose(f);
    int rc;
    if (bad) {
        snprintf(err, err_size, "cannot read %s", path);
        rc = -EIO;
    } else if (n > PSK_FILE_MAX) {
        snprintf(err, err_size, "%s is larger than 1 MiB", path);
        rc = -EFBIG;
    } else {
        char inner[200];
        rc = psk_parse(buf, n, out, inner, sizeof inner);
        if (rc == -EINVAL)
            snprintf(err, err_size, "%s: %s", path, inner);
    }
    explicit_bzero(buf, PSK_FILE_MAX + 1);
    free(buf);
    return rc;
}

const struct psk_entry *psk_find(const struct psk_table *t, const uint8_t *identity, size_t len)
{
    for (size_t i = 0; i < t->count; i++)
        if (strlen(t->entries[i].identity) == len &&
            memcmp(t->entries[i].identity, identity, len) == 0)
            return &t->entries[i];
    return NULL;
}

void psk_free(struct psk_table *t)
{
    if (t->entries != NULL)
        explicit_bzero(t->entries, t->count * sizeof *t->entries);
    free(t->entries);
    memset(t, 0, sizeof *t);
}
