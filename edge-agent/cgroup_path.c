/* Container identity from /proc/<pid>/cgroup text (see cgroup_path.h). Works on borrowed
 * slices of the caller's buffer; copies only the results into the caller's struct.
 * Pure and thread-safe. */
#include "edge-agent/cgroup_path.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* v1 hosts have about a dozen hierarchies; lines beyond this are checked but not used. */
#define CG_MAX_LINES 32
#define CG_HEX_ID_LEN 64
#define CG_POD_UID_MIN 32
#define CG_POD_UID_MAX 36

struct cg_slice {
    const char *text;
    size_t len;
};

struct cg_line {
    struct cg_slice controllers; /* "" on the v2 line */
    struct cg_slice path;        /* starts with '/' */
    bool unified;                /* "0::/path" */
};

/* A container cgroup found on one path. */
struct cg_match {
    const char *id;      /* CG_HEX_ID_LEN characters inside the path */
    const char *runtime; /* static string */
    size_t prefix_len;   /* path[0..prefix_len) is the container's cgroup */
    struct cg_slice pod; /* uid as written (may have '_'), len 0 when none */
};

static bool cg_slice_is(struct cg_slice s, const char *word)
{
    size_t len = strlen(word);

    return s.len == len && memcmp(s.text, word, len) == 0;
}

static bool cg_is_hex_id(const char *text, size_t len)
{
    if (len != CG_HEX_ID_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!((text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'f')))
            return false;
    }
    return true;
}

/* A pod uid: a UUID (36, dashes; the systemd layout writes '_' for '-') or a 32-hex hash
 * (static pods). */
static bool cg_is_pod_uid(struct cg_slice s)
{
    if (s.len < CG_POD_UID_MIN || s.len > CG_POD_UID_MAX)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.text[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-' || c == '_'))
            return false;
    }
    return true;
}

/* "<prefix><64 hex><suffix>" forms of runtime scopes and cgroupfs directories. */
static const struct {
    const char *prefix;
    const char *suffix;
    const char *runtime;
} cg_named_forms[] = {
    {"docker-", ".scope", "docker"}, {"cri-containerd-", ".scope", "containerd"},
    {"crio-", ".scope", "cri-o"},    {"crio-", "", "cri-o"},
    {"libpod-", ".scope", "podman"}, {"libpod-", "", "podman"},
};

static bool cg_is_pod_component(struct cg_slice c, struct cg_slice *uid);

/* Is component c (with parent component parent, len 0 at the root) a container cgroup? */
static bool cg_component_match(struct cg_slice c, struct cg_slice parent, struct cg_match *m)
{
    struct cg_slice unused;

    if (cg_is_hex_id(c.text, c.len)) {
        m->id = c.text;
        if (cg_slice_is(parent, "docker"))
            m->runtime = "docker";
        else if (cg_slice_is(parent, "containerd"))
            m->runtime = "containerd";
        else if (cg_is_pod_component(parent, &unused))
            m->runtime = "";
        else
            return false;
        return true;
    }
    for (size_t i = 0; i < sizeof(cg_named_forms) / sizeof(cg_named_forms[0]); i++) {
        size_t pre = strlen(cg_named_forms[i].prefix);
        size_t suf = strlen(cg_named_forms[i].suffix);

        if (c.len != pre + CG_HEX_ID_LEN + suf ||
            memcmp(c.text, cg_named_forms[i].prefix, pre) != 0 ||
            memcmp(c.text + pre + CG_HEX_ID_LEN, cg_named_forms[i].suffix, suf) != 0 ||
            !cg_is_hex_id(c.text + pre, CG_HEX_ID_LEN))
            continue;
        m->id = c.text + pre;
        m->runtime = cg_named_forms[i].runtime;
        return true;
    }
    return false;
}

/* "pod<uid>" (cgroupfs) or "kubepods[-<qos>]-pod<uid>.slice" (systemd). */
static bool cg_is_pod_component(struct cg_slice c, struct cg_slice *uid)
{
    static const char slice_head[] = "kubepods-";
    static const char slice_tail[] = ".slice";

    if (c.len > 3 && memcmp(c.text, "pod", 3) == 0) {
        *uid = (struct cg_slice){c.text + 3, c.len - 3};
        return cg_is_pod_uid(*uid);
    }
    if (c.len > sizeof(slice_head) - 1 + sizeof(slice_tail) - 1 &&
        memcmp(c.text, slice_head, sizeof(slice_head) - 1) == 0 &&
        memcmp(c.text + c.len - (sizeof(slice_tail) - 1), slice_tail, sizeof(slice_tail) - 1) ==
            0) {
        size_t body_end = c.len - (sizeof(slice_tail) - 1);

        /* The uid follows the last "-pod" (QoS names contain none). */
        for (size_t i = body_end; i >= sizeof(slice_head) - 1 + 3; i--) {
            if (memcmp(c.text + i - 4, "-pod", 4) == 0) {
                *uid = (struct cg_slice){c.text + i, body_end - i};
                return cg_is_pod_uid(*uid);
            }
        }
    }
    return false;
}

/* The component of path ending at end (exclusive): [*start, end). */
static struct cg_slice cg_component_before(struct cg_slice path, size_t end)
{
    size_t start = end;

    while (start > 0 && path.text[start - 1] != '/')
        start--;
    return (struct cg_slice){path.text + start, end - start};
}

/* Finds the innermost container cgroup on path, and the pod above it. */
static bool cg_find_container(struct cg_slice path, struct cg_match *m)
{
    size_t end = path.len;

    memset(m, 0, sizeof(*m));
    while (end > 0) {
        struct cg_slice c = cg_component_before(path, end);
        size_t start = (size_t)(c.text - path.text);
        struct cg_slice parent = {path.text, 0};

        if (start > 0)
            parent = cg_component_before(path, start - 1);
        if (c.len > 0 && cg_component_match(c, parent, m)) {
            m->prefix_len = end;
            /* The nearest pod component above the container names its pod. */
            for (size_t up = start; up > 0;) {
                struct cg_slice a = cg_component_before(path, up - 1);

                if (cg_is_pod_component(a, &m->pod))
                    break;
                m->pod.len = 0;
                up = (size_t)(a.text - path.text);
            }
            return true;
        }
        if (start == 0)
            break;
        end = start - 1;
    }
    return false;
}

/* Splits "N:controllers:/path". */
static int cg_parse_line(const char *line, size_t len, struct cg_line *out)
{
    const char *colon1 = memchr(line, ':', len);
    const char *colon2;
    size_t digits;

    if (colon1 == NULL)
        return -EBADMSG;
    digits = (size_t)(colon1 - line);
    if (digits == 0)
        return -EBADMSG;
    for (size_t i = 0; i < digits; i++) {
        if (line[i] < '0' || line[i] > '9')
            return -EBADMSG;
    }
    colon2 = memchr(colon1 + 1, ':', len - digits - 1);
    if (colon2 == NULL || colon2 + 1 == line + len || colon2[1] != '/')
        return -EBADMSG;
    out->controllers = (struct cg_slice){colon1 + 1, (size_t)(colon2 - colon1 - 1)};
    out->path = (struct cg_slice){colon2 + 1, (size_t)(line + len - colon2 - 1)};
    out->unified = digits == 1 && line[0] == '0' && out->controllers.len == 0;
    for (size_t i = 0; i < out->path.len; i++) {
        if (out->path.text[i] == '\0')
            return -EBADMSG;
    }
    return 0;
}

/* Does the comma-separated controller list name controller? */
static bool cg_has_controller(struct cg_slice list, const char *controller)
{
    size_t want = strlen(controller);
    size_t pos = 0;

    while (pos <= list.len) {
        const char *comma = memchr(list.text + pos, ',', list.len - pos);
        size_t end = comma ? (size_t)(comma - list.text) : list.len;

        if (end - pos == want && memcmp(list.text + pos, controller, want) == 0)
            return true;
        pos = end + 1;
    }
    return false;
}

/* Writes the directory of the container (whose id is id) on line, or "" when that line does
 * not lead into the same container or the result does not fit. */
static void cg_write_dir(const struct cg_line *line, const char *id, char *dir)
{
    struct cg_match m;
    int len;

    dir[0] = '\0';
    if (line == NULL || !cg_find_container(line->path, &m) || memcmp(m.id, id, CG_HEX_ID_LEN) != 0)
        return;
    if (line->unified)
        len = snprintf(dir, CGROUP_DIR_MAX, "%.*s", (int)(m.prefix_len - 1), line->path.text + 1);
    else
        len = snprintf(dir, CGROUP_DIR_MAX, "%.*s/%.*s", (int)line->controllers.len,
                       line->controllers.text, (int)(m.prefix_len - 1), line->path.text + 1);
    if (len < 0 || len >= CGROUP_DIR_MAX)
        dir[0] = '\0';
}

static void cg_copy_pod_uid(struct cg_slice uid, char *out)
{
    for (size_t i = 0; i < uid.len; i++)
        out[i] = (char)(uid.text[i] == '_' ? '-' : uid.text[i]);
    out[uid.len] = '\0';
}

/* Picks the identity from the most telling line: v2's unified line, else v1's cpuacct and
 * memory lines, else any line (name=systemd also carries the container's path). */
static void cg_resolve(const struct cg_line *lines, size_t count, struct cgroup_container *out)
{
    const struct cg_line *cpu = NULL;
    const struct cg_line *mem = NULL;
    const struct cg_line *order[CG_MAX_LINES + 2];
    size_t n_order = 0;
    struct cg_match m;

    for (size_t i = 0; i < count; i++) {
        if (!lines[i].unified)
            out->v1 = true;
    }
    for (size_t i = 0; i < count; i++) {
        if (out->v1 && !lines[i].unified && cpu == NULL &&
            cg_has_controller(lines[i].controllers, "cpuacct"))
            cpu = &lines[i];
        if (out->v1 && !lines[i].unified && mem == NULL &&
            cg_has_controller(lines[i].controllers, "memory"))
            mem = &lines[i];
        if (!out->v1 && lines[i].unified && cpu == NULL)
            cpu = mem = &lines[i];
    }
    if (cpu != NULL)
        order[n_order++] = cpu;
    if (mem != NULL)
        order[n_order++] = mem;
    for (size_t i = 0; i < count; i++)
        order[n_order++] = &lines[i];

    for (size_t i = 0; i < n_order; i++) {
        if (!cg_find_container(order[i]->path, &m))
            continue;
        memcpy(out->id, m.id, CG_HEX_ID_LEN);
        out->id[CG_HEX_ID_LEN] = '\0';
        (void)snprintf(out->runtime, sizeof(out->runtime), "%s", m.runtime);
        cg_copy_pod_uid(m.pod, out->pod_uid);
        cg_write_dir(cpu, out->id, out->cpu_dir);
        cg_write_dir(mem, out->id, out->mem_dir);
        return;
    }
}

int cgroup_path_parse(const char *text, size_t len, struct cgroup_container *out)
{
    struct cg_line lines[CG_MAX_LINES];
    size_t count = 0;
    size_t seen = 0;
    size_t start = 0;

    memset(out, 0, sizeof(*out));
    while (start < len) {
        const char *newline = memchr(text + start, '\n', len - start);
        size_t line_len = newline ? (size_t)(newline - text) - start : len - start;
        struct cg_line line;

        if (cg_parse_line(text + start, line_len, &line) < 0) {
            memset(out, 0, sizeof(*out));
            return -EBADMSG;
        }
        if (count < CG_MAX_LINES)
            lines[count++] = line;
        seen++;
        start += line_len + 1;
    }
    if (seen == 0)
        return -EBADMSG;
    cg_resolve(lines, count, out);
    return 0;
}
