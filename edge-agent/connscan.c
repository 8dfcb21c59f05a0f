/* Socket scanner (see connscan.h). Owns the socket table (grown up to max_conns, rebuilt by
 * each update), the inode -> pid owners found by the last map, and a fixed line buffer.
 * Not thread-safe: the agent's one thread uses it. */
#include "edge-agent/connscan.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "edge-agent/proc_lines.h"
#include "edge-agent/proc_stat.h"

#define CS_READ_CHUNK (64 * 1024) /* lines are ~150 bytes (tcp) to ~180 (udp6) */
#define CS_INITIAL_CAPACITY 64
#define CS_LINK_MAX 64 /* "socket:[18446744073709551615]" fits */

struct cs_owner {
    uint64_t inode;
    int pid;
};

struct connscan {
    char proc_root[PATH_MAX];
    size_t max_conns;
    struct conn_info *conns; /* the table being built, then the published one */
    size_t count;
    size_t capacity;
    struct conn_info *spare; /* the previous table while an update runs */
    size_t spare_capacity;
    struct cs_owner *owners; /* sorted by inode */
    size_t owner_count;
    struct conn_table table;
    bool has_scan;
    int (*tcp_listeners_fn)(size_t *count);
    struct conn_counts counts; /* of the last connscan_count */
    bool has_counts;
    int64_t counted_mono_ms;
    char buf[CS_READ_CHUNK];
};

static const struct {
    const char *file;
    enum conn_proto proto;
    int family;
} cs_files[] = {
    {"net/tcp", CONN_PROTO_TCP, AF_INET},
    {"net/tcp6", CONN_PROTO_TCP, AF_INET6},
    {"net/udp", CONN_PROTO_UDP, AF_INET},
    {"net/udp6", CONN_PROTO_UDP, AF_INET6},
};

/* ---- parsing ---- */

static int cs_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Exactly digits hex digits at text. */
static int cs_parse_hex(const char *text, size_t digits, uint32_t *out)
{
    uint32_t value = 0;

    for (size_t i = 0; i < digits; i++) {
        int nibble = cs_hex_value(text[i]);

        if (nibble < 0)
            return -EBADMSG;
        value = value << 4 | (uint32_t)nibble;
    }
    *out = value;
    return 0;
}

/* ::ffff:a.b.c.d */
static bool cs_is_v4_mapped(const unsigned char bytes[16])
{
    static const unsigned char prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    return memcmp(bytes, prefix, sizeof(prefix)) == 0;
}

/* "0100007F:0035" or 32 hex digits ':' port. The kernel prints each 32-bit word of the
 * address as a number in host byte order, so the words are copied back as they are. */
static int cs_parse_endpoint(const char *text, size_t len, int family, char *addr, uint16_t *port,
                             bool *zero)
{
    size_t words = family == AF_INET ? 1 : 4;
    unsigned char bytes[16];
    uint32_t word;
    uint32_t port_value;
    const char *shown;

    if (len != words * 8 + 5 || text[words * 8] != ':')
        return -EBADMSG;
    for (size_t i = 0; i < words; i++) {
        if (cs_parse_hex(text + i * 8, 8, &word) < 0)
            return -EBADMSG;
        memcpy(bytes + i * 4, &word, sizeof(word));
    }
    if (cs_parse_hex(text + words * 8 + 1, 4, &port_value) < 0)
        return -EBADMSG;
    *port = (uint16_t)port_value;
    *zero = port_value == 0;
    for (size_t i = 0; i < words * 4; i++)
        *zero = *zero && bytes[i] == 0;
    if (family == AF_INET6 && cs_is_v4_mapped(bytes))
        shown = inet_ntop(AF_INET, bytes + 12, addr, CONNSCAN_ADDR_MAX);
    else
        shown = inet_ntop(family, bytes, addr, CONNSCAN_ADDR_MAX);
    return shown != NULL ? 0 : -EBADMSG;
}

static int cs_parse_decimal(const char *text, size_t len, uint64_t max, uint64_t *out)
{
    uint64_t value = 0;

    if (len == 0)
        return -EBADMSG;
    for (size_t i = 0; i < len; i++) {
        unsigned digit = (unsigned)(text[i] - '0');

        if (text[i] < '0' || text[i] > '9' || value > (max - digit) / 10)
            return -EBADMSG;
        value = value * 10 + digit;
    }
    *out = value;
    return 0;
}

#define CS_LINE_FIELDS 10 /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */

int connscan_parse_line(const char *line, size_t len, enum conn_proto proto, int family,
                        struct conn_info *out)
{
    const char *field[CS_LINE_FIELDS];
    size_t field_len[CS_LINE_FIELDS];
    size_t n = 0;
    size_t pos = 0;
    uint32_t state;
    uint64_t number;
    bool local_zero; /* unused: a socket bound to the wildcard address is still listening */
    bool remote_zero;

    memset(out, 0, sizeof(*out));
    if (family != AF_INET && family != AF_INET6)
        return -EBADMSG;
    while (n < CS_LINE_FIELDS) {
        while (pos < len && line[pos] == ' ')
            pos++;
        if (pos == len)
            break;
        field[n] = line + pos;
        while (pos < len && line[pos] != ' ')
            pos++;
        field_len[n] = (size_t)(line + pos - field[n]);
        n++;
    }
    if (n < CS_LINE_FIELDS || field_len[0] < 2 || field[0][field_len[0] - 1] != ':' ||
        cs_parse_decimal(field[0], field_len[0] - 1, UINT32_MAX, &number) < 0)
        return -EBADMSG;
    out->proto = proto;
    out->family = family;
    if (cs_parse_endpoint(field[1], field_len[1], family, out->local_addr, &out->local_port,
                          &local_zero) < 0 ||
        cs_parse_endpoint(field[2], field_len[2], family, out->remote_addr, &out->remote_port,
                          &remote_zero) < 0)
        return -EBADMSG;
    if (field_len[3] != 2 || cs_parse_hex(field[3], 2, &state) < 0 || state == 0)
        return -EBADMSG;
    out->state = state;
    if (cs_parse_decimal(field[7], field_len[7], UINT32_MAX, &number) < 0)
        return -EBADMSG;
    out->uid = (unsigned)number;
    if (cs_parse_decimal(field[9], field_len[9], UINT64_MAX, &out->inode) < 0)
        return -EBADMSG;
    if (proto == CONN_PROTO_TCP)
        out->listening = state == CONN_STATE_LISTEN;
    else
        out->listening = remote_zero;
    return 0;
}

const char *conn_state_name(enum conn_proto proto, unsigned state)
{
    static const char *const tcp_names[] = {
        [CONN_STATE_ESTABLISHED] = "ESTABLISHED",
        [CONN_STATE_SYN_SENT] = "SYN_SENT",
        [CONN_STATE_SYN_RECV] = "SYN_RECV",
        [CONN_STATE_FIN_WAIT1] = "FIN_WAIT1",
        [CONN_STATE_FIN_WAIT2] = "FIN_WAIT2",
        [CONN_STATE_TIME_WAIT] = "TIME_WAIT",
        [CONN_STATE_CLOSE] = "CLOSE",
        [CONN_STATE_CLOSE_WAIT] = "CLOSE_WAIT",
        [CONN_STATE_LAST_ACK] = "LAST_ACK",
        [CONN_STATE_LISTEN] = "LISTEN",
        [CONN_STATE_CLOSING] = "CLOSING",
        [CONN_STATE_NEW_SYN_RECV] = "NEW_SYN_RECV",
    };

    switch (proto) {
    case CONN_PROTO_TCP:
        if (state < sizeof(tcp_names) / sizeof(tcp_names[0]) && tcp_names[state] != NULL)
            return tcp_names[state];
        break;
    case CONN_PROTO_UDP:
        if (state == CONN_STATE_ESTABLISHED)
            return "ESTAB";
        if (state == CONN_STATE_CLOSE)
            return "UNCONN";
        break;
    }
    return "UNKNOWN";
}

/* ---- reading ---- */

static int cs_owner_cmp(const void *a, const void *b)
{
    uint64_t ia = ((const struct cs_owner *)a)->inode;
    uint64_t ib = ((const struct cs_owner *)b)->inode;

    return (ia > ib) - (ia < ib);
}

static int cs_owner_of(const struct connscan *scan, uint64_t inode)
{
    struct cs_owner key = {.inode = inode};
    const struct cs_owner *found;

    if (inode == 0 || scan->owner_count == 0)
        return 0;
    found = bsearch(&key, scan->owners, scan->owner_count, sizeof(key), cs_owner_cmp);
    return found ? found->pid : 0;
}

/* tcpCurrEstab (RFC 1213), as the kernel counts it from 6.10 on. */
static bool cs_is_established(const struct conn_info *conn)
{
    return conn->proto == CONN_PROTO_TCP &&
           (conn->state == CONN_STATE_ESTABLISHED || conn->state == CONN_STATE_CLOSE_WAIT);
}

/* Adds one parsed socket: counted always, kept while the table has room. */
static int cs_add(struct connscan *scan, const struct conn_info *conn)
{
    if (cs_is_established(conn))
        scan->table.established++;
    if (conn->listening)
        scan->table.listening++;
    if (scan->count == scan->max_conns) {
        scan->table.dropped++;
        return 0;
    }
    if (scan->count == scan->capacity) {
        size_t capacity = scan->capacity ? scan->capacity * 2 : CS_INITIAL_CAPACITY;
        struct conn_info *grown;

        if (capacity > scan->max_conns)
            capacity = scan->max_conns;
        grown = realloc(scan->conns, capacity * sizeof(*grown));
        if (grown == NULL)
            return -ENOMEM;
        scan->conns = grown;
        scan->capacity = capacity;
    }
    scan->conns[scan->count] = *conn;
    scan->conns[scan->count].pid = cs_owner_of(scan, conn->inode);
    scan->count++;
    return 0;
}

/* The header: "  sl  local_address rem_address ...". */
static bool cs_is_header(const char *line, size_t len)
{
    size_t pos = 0;

    while (pos < len && line[pos] == ' ')
        pos++;
    return len - pos >= 3 && memcmp(line + pos, "sl ", 3) == 0;
}

/* How a file's sockets are used: into the table, or only counted. */
struct cs_sink {
    enum conn_proto proto;
    int family;
    struct conn_counts *count_only; /* NULL: into the table */
};

/* One line: the header (first line), else a socket. */
static int cs_line(struct connscan *scan, const char *line, size_t len, size_t index,
                   const struct cs_sink *sink)
{
    struct conn_info conn;

    if (index == 0)
        return cs_is_header(line, len) ? 0 : -EBADMSG;
    if (connscan_parse_line(line, len, sink->proto, sink->family, &conn) < 0) {
        if (sink->count_only == NULL)
            scan->table.malformed++;
        return 0;
    }
    if (sink->count_only != NULL) {
        sink->count_only->established += cs_is_established(&conn);
        sink->count_only->listening += conn.listening;
        return 0;
    }
    return cs_add(scan, &conn);
}

/* One file being read: where its lines go, and how many came so far. */
struct cs_reader {
    struct connscan *scan;
    const struct cs_sink *sink;
    size_t index;
};

static int cs_reader_line(void *arg, const char *line, size_t len)
{
    struct cs_reader *r = arg;

    return cs_line(r->scan, line, len, r->index++, r->sink);
}

/* A line longer than the buffer is garbage: it is skipped, unless it stands for the header. */
static int cs_reader_long_line(void *arg, const char *line, size_t len)
{
    struct cs_reader *r = arg;

    (void)line;
    (void)len;
    if (r->index++ == 0)
        return -EBADMSG;
    if (r->sink->count_only == NULL)
        r->scan->table.malformed++;
    return 0;
}

/* Reads one file line by line through buf. -ENOENT when it does not exist. */
static int cs_read_file(struct connscan *scan, const char *file, const struct cs_sink *sink)
{
    struct cs_reader reader = {.scan = scan, .sink = sink, .index = 0};
    char path[PATH_MAX];
    int rc;

    if (snprintf(path, sizeof(path), "%s/%s", scan->proc_root, file) >= (int)sizeof(path))
        return -ENOENT;
    rc = proc_lines_read_long(path, scan->buf, sizeof(scan->buf), cs_reader_line,
                              cs_reader_long_line, &reader);
    if (rc == 0 && reader.index == 0)
        rc = -EBADMSG; /* empty: not even the header */
    return rc;
}

int connscan_update(struct connscan *scan, int64_t now_mono_ms)
{
    struct conn_table saved = scan->table;
    struct conn_info *swap = scan->spare;
    size_t swap_capacity = scan->spare_capacity;
    size_t saved_count = scan->count;
    int found = 0;
    int rc = 0;

    if (scan->has_scan && now_mono_ms == scan->table.scanned_mono_ms)
        return 0;
    /* Build into the spare array; the published one stays intact until the end. */
    scan->spare = scan->conns;
    scan->spare_capacity = scan->capacity;
    scan->conns = swap;
    scan->capacity = swap_capacity;
    scan->count = 0;
    scan->table.dropped = scan->table.malformed = 0;
    scan->table.established = scan->table.listening = 0;

    for (size_t i = 0; i < sizeof(cs_files) / sizeof(cs_files[0]); i++) {
        struct cs_sink sink = {cs_files[i].proto, cs_files[i].family, NULL};

        rc = cs_read_file(scan, cs_files[i].file, &sink);
        if (rc == -ENOENT) {
            rc = 0;
            continue;
        }
        if (rc < 0)
            break;
        found++;
    }
    if (rc == 0 && found == 0)
        rc = -ENOENT;
    if (rc < 0) {
        swap = scan->conns;
        swap_capacity = scan->capacity;
        scan->conns = scan->spare;
        scan->capacity = scan->spare_capacity;
        scan->count = saved_count;
        scan->spare = swap;
        scan->spare_capacity = swap_capacity;
        scan->table = saved;
        return rc;
    }
    scan->has_scan = true;
    scan->table.conns = scan->conns;
    scan->table.count = scan->count;
    scan->table.scanned_mono_ms = now_mono_ms;
    scan->table.scans++;
    return 0;
}

/* ---- cheap counts ---- */

/* CurrEstab from the "Tcp:" name and value lines of <proc_root>/net/snmp. */
static int cs_read_curr_estab(struct connscan *scan, size_t *out)
{
    char path[PATH_MAX];
    const char *names = NULL;
    const char *values = NULL;
    size_t len;

    if (snprintf(path, sizeof(path), "%s/net/snmp", scan->proc_root) >= (int)sizeof(path))
        return -ENOENT;
    if (proc_lines_read_text(path, scan->buf, sizeof(scan->buf), &len) < 0)
        return -ENOENT;
    for (char *line = scan->buf; line != NULL && *line != '\0';) {
        char *newline = strchr(line, '\n');

        if (newline != NULL)
            *newline = '\0';
        if (strncmp(line, "Tcp: ", 5) == 0) {
            if (names == NULL) {
                names = line + 5;
            } else {
                values = line + 5;
                break;
            }
        }
        line = newline ? newline + 1 : NULL;
    }
    if (names == NULL || values == NULL)
        return -EBADMSG;
    /* The n-th name goes with the n-th value. */
    for (;;) {
        size_t name_len = strcspn(names, " ");
        size_t value_len = strcspn(values, " ");
        uint64_t value;

        if (name_len == 0 || value_len == 0)
            return -EBADMSG;
        if (name_len == 9 && memcmp(names, "CurrEstab", 9) == 0) {
            if (cs_parse_decimal(values, value_len, SIZE_MAX, &value) < 0)
                return -EBADMSG;
            *out = (size_t)value;
            return 0;
        }
        names += name_len + (names[name_len] == ' ');
        values += value_len + (values[value_len] == ' ');
    }
}

int connscan_count(struct connscan *scan, int64_t now_mono_ms, struct conn_counts *out)
{
    struct conn_counts counts = {0};
    size_t tcp_listeners = 0;
    int rc = -ENOENT;

    if (scan->has_counts && now_mono_ms == scan->counted_mono_ms) {
        *out = scan->counts;
        return 0;
    }
    if (scan->tcp_listeners_fn != NULL && cs_read_curr_estab(scan, &counts.established) == 0 &&
        scan->tcp_listeners_fn(&tcp_listeners) == 0) {
        counts.listening = tcp_listeners;
        rc = 0;
        for (size_t i = 2; i < sizeof(cs_files) / sizeof(cs_files[0]) && rc == 0; i++) {
            struct cs_sink sink = {cs_files[i].proto, cs_files[i].family, &counts};

            rc = cs_read_file(scan, cs_files[i].file, &sink);
            if (rc == -ENOENT)
                rc = 0;
        }
    }
    if (rc != 0) {
        /* The files it is, then. */
        rc = connscan_update(scan, now_mono_ms);
        if (rc < 0)
            return rc;
        counts.established = scan->table.established;
        counts.listening = scan->table.listening;
        counts.from_tables = true;
    }
    scan->counts = counts;
    scan->has_counts = true;
    scan->counted_mono_ms = now_mono_ms;
    *out = counts;
    return 0;
}

/* ---- owners ---- */

/* The inode of a "socket:[N]" link text, or 0. */
static uint64_t cs_socket_inode(const char *link, size_t len)
{
    static const char head[] = "socket:[";
    uint64_t inode;

    if (len < sizeof(head) + 1 || memcmp(link, head, sizeof(head) - 1) != 0 || link[len - 1] != ']')
        return 0;
    if (cs_parse_decimal(link + sizeof(head) - 1, len - sizeof(head), UINT64_MAX, &inode) < 0)
        return 0;
    return inode;
}

/* Records pid as an owner of inode when the table has that socket (lowest pid wins). */
static void cs_claim(struct connscan *scan, uint64_t inode, int pid)
{
    struct cs_owner key = {.inode = inode};
    struct cs_owner *found =
        bsearch(&key, scan->owners, scan->owner_count, sizeof(key), cs_owner_cmp);

    if (found != NULL && (found->pid == 0 || pid < found->pid))
        found->pid = pid;
}

/* Readlinks the fds of one process; false once max_fds is reached. */
static bool cs_map_process(struct connscan *scan, int proc_fd, int pid, size_t max_fds)
{
    char path[32];
    struct dirent *entry;
    DIR *fds;
    int fd_dir;

    (void)snprintf(path, sizeof(path), "%d/fd", pid);
    fd_dir = openat(proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd_dir < 0) {
        if (errno != ENOENT)
            scan->table.pids_denied++;
        return true;
    }
    fds = fdopendir(fd_dir);
    if (fds == NULL) {
        close(fd_dir);
        scan->table.pids_denied++;
        return true;
    }
    while ((entry = readdir(fds)) != NULL) {
        char link[CS_LINK_MAX];
        ssize_t len;
        uint64_t inode;

        if (entry->d_name[0] == '.')
            continue;
        if (scan->table.fds_scanned == max_fds) {
            scan->table.fds_truncated = true;
            closedir(fds);
            return false;
        }
        scan->table.fds_scanned++;
        len = readlinkat(dirfd(fds), entry->d_name, link, sizeof(link));
        if (len <= 0 || (size_t)len == sizeof(link))
            continue;
        inode = cs_socket_inode(link, (size_t)len);
        if (inode != 0)
            cs_claim(scan, inode, pid);
    }
    closedir(fds);
    return true;
}

/* The owners array becomes one entry per distinct socket inode of the table, pid 0. */
static int cs_owners_reset(struct connscan *scan)
{
    struct cs_owner *owners = NULL;
    size_t n = 0;
    size_t kept = 0;

    if (scan->count > 0) {
        owners = malloc(scan->count * sizeof(*owners));
        if (owners == NULL)
            return -ENOMEM;
    }
    for (size_t i = 0; i < scan->count; i++) {
        if (scan->conns[i].inode != 0)
            owners[n++] = (struct cs_owner){scan->conns[i].inode, 0};
    }
    if (n > 0)
        qsort(owners, n, sizeof(*owners), cs_owner_cmp);
    /* A socket listed twice (one inode) is one entry. */
    for (size_t i = 0; i < n; i++) {
        if (kept == 0 || owners[i].inode != owners[kept - 1].inode)
            owners[kept++] = owners[i];
    }
    free(scan->owners);
    scan->owners = owners;
    scan->owner_count = kept;
    return 0;
}

int connscan_map_pids(struct connscan *scan, size_t max_fds)
{
    struct dirent *entry;
    DIR *dir;
    int rc;

    if (max_fds == 0)
        max_fds = CONNSCAN_DEFAULT_MAX_FDS;
    dir = opendir(scan->proc_root);
    if (dir == NULL)
        return (errno == ENOENT || errno == ENOTDIR) ? -ENOENT : errno == ENOMEM ? -ENOMEM : -EIO;
    rc = cs_owners_reset(scan);
    if (rc < 0) {
        closedir(dir);
        return rc;
    }
    scan->table.fds_scanned = 0;
    scan->table.fds_truncated = false;
    scan->table.pids_denied = 0;
    while (scan->owner_count > 0 && (entry = readdir(dir)) != NULL) {
        int pid = proc_stat_entry_pid(entry->d_name);

        if (pid != 0 && !cs_map_process(scan, dirfd(dir), pid, max_fds))
            break;
    }
    closedir(dir);
    for (size_t i = 0; i < scan->count; i++)
        scan->conns[i].pid = cs_owner_of(scan, scan->conns[i].inode);
    return 0;
}

/* ---- lifecycle ---- */

int connscan_new(const struct connscan_config *config, struct connscan **out)
{
    struct connscan *scan;
    int len;

    if (config == NULL || out == NULL || config->proc_root == NULL)
        return -EINVAL;
    scan = calloc(1, sizeof(*scan));
    if (scan == NULL)
        return -ENOMEM;
    len = snprintf(scan->proc_root, sizeof(scan->proc_root), "%s", config->proc_root);
    if (len <= 0 || (size_t)len >= sizeof(scan->proc_root) - 16) {
        free(scan);
        return -EINVAL;
    }
    scan->max_conns = config->max_conns ? config->max_conns : CONNSCAN_DEFAULT_MAX_CONNS;
    scan->tcp_listeners_fn = config->tcp_listeners_fn;
    *out = scan;
    return 0;
}

void connscan_free(struct connscan *scan)
{
    if (scan == NULL)
        return;
    free(scan->conns);
    free(scan->spare);
    free(scan->owners);
    free(scan);
}

const struct conn_table *connscan_table(const struct connscan *scan)
{
    return &scan->table;
}
