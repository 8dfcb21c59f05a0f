/* Configuration (see config.h): the strict INI parser, typed values, files and environment
 * behind one option table per program (printing and the command line: config_cli.c). Owns the
 * strings it stores in a program's config struct (freed by config_free); the struct must start
 * zeroed, since every store frees the previous string. Not thread-safe: start-up, or one config
 * owner thread. */
#include "common/config.h"

#include "common/clock.h"
#include "common/config_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_LINE_MAX 4096          /* bytes in one line of a file */
#define CONFIG_FILE_MAX ((size_t)1024 * 1024) /* bytes in a config file */
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct config_unit {
    const char *name;
    int64_t scale;
};

/* Largest first: formatting picks the first unit that divides the value exactly. */
static const struct config_unit duration_units[] = {
    {"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1},
};
static const struct config_unit size_units[] = {
    {"GiB", 1073741824}, {"MiB", 1048576}, {"KiB", 1024}, {"GB", 1000000000},
    {"MB", 1000000},     {"kB", 1000},     {"", 1},
};
static const char *const bool_true[] = {"true", "yes", "on", "1"};
static const char *const bool_false[] = {"false", "no", "off", "0"};

static const char expect_int[] = "an integer like 42";
static const char expect_bool[] = "true/false, yes/no, on/off or 1/0";
static const char expect_duration[] = "a duration like 500ms, 5s, 15m, 1h, 7d";
static const char expect_size[] = "a size like 512, 64KiB, 64MiB, 1GiB, 10kB, 10MB, 1GB";

static void error_set(struct config_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void error_set(struct config_error *err, const char *fmt, ...)
{
    if (err == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}

/* Our own character classes: <ctype.h> depends on the locale and on unsigned char casts. */
bool config_is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' ||
           c == '-' || c == '.';
}

static bool is_control(char c)
{
    unsigned char u = (unsigned char)c;
    return (u < 0x20 && c != '\t') || u == 0x7f;
}

static char *skip_blank(char *p)
{
    while (config_is_blank(*p))
        p++;
    return p;
}

static void *option_field(const struct config_option *opt, void *cfg)
{
    return (char *)cfg + opt->offset;
}

const void *config_option_field_const(const struct config_option *opt, const void *cfg)
{
    return (const char *)cfg + opt->offset;
}

bool config_option_is_string(const struct config_option *opt)
{
    return opt->type == CONFIG_TYPE_STRING || opt->type == CONFIG_TYPE_ENUM;
}

static const struct config_option *option_find(const struct config_option *opts, size_t n_opts,
                                               const char *section, const char *key)
{
    for (size_t i = 0; i < n_opts; i++)
        if (strcmp(opts[i].section, section) == 0 && strcmp(opts[i].key, key) == 0)
            return &opts[i];
    return NULL;
}

/* "section.key" (len bytes, need not be NUL-terminated); the key is after the last '.'. */
const struct config_option *config_option_find_dotted(const struct config_option *opts,
                                                      size_t n_opts, const char *dotted, size_t len)
{
    char name[CONFIG_NAME_MAX];
    if (len >= sizeof name)
        return NULL;
    memcpy(name, dotted, len);
    name[len] = '\0';
    char *dot = strrchr(name, '.');
    if (dot == NULL)
        return NULL;
    *dot = '\0';
    return option_find(opts, n_opts, name, dot + 1);
}

bool config_section_seen_before(const struct config_option *opts, size_t index)
{
    for (size_t i = 0; i < index; i++)
        if (strcmp(opts[i].section, opts[index].section) == 0)
            return true;
    return false;
}

static bool section_known(const struct config_option *opts, size_t n_opts, const char *name)
{
    for (size_t i = 0; i < n_opts; i++)
        if (strcmp(opts[i].section, name) == 0)
            return true;
    return false;
}

/* Appends to a bounded list "a, b, c"; silently stops when buf is full. */
static void list_append(char *buf, size_t size, const char *item, size_t item_len)
{
    size_t used = strlen(buf);
    const char *sep = used > 0 ? ", " : "";
    if (used + strlen(sep) + item_len < size)
        snprintf(buf + used, size - used, "%s%.*s", sep, (int)item_len, item);
}

static void list_sections(const struct config_option *opts, size_t n_opts, char *buf, size_t size)
{
    buf[0] = '\0';
    for (size_t i = 0; i < n_opts; i++)
        if (!config_section_seen_before(opts, i))
            list_append(buf, size, opts[i].section, strlen(opts[i].section));
}

static void list_choices(const char *choices, char *buf, size_t size)
{
    buf[0] = '\0';
    for (const char *p = choices; p != NULL && *p != '\0';) {
        const char *bar = strchr(p, '|');
        size_t len = bar != NULL ? (size_t)(bar - p) : strlen(p);
        list_append(buf, size, p, len);
        p = bar != NULL ? bar + 1 : p + len;
    }
}

static bool enum_has(const char *choices, const char *text)
{
    size_t len = strlen(text);
    for (const char *p = choices; p != NULL && *p != '\0';) {
        const char *bar = strchr(p, '|');
        size_t choice_len = bar != NULL ? (size_t)(bar - p) : strlen(p);
        if (choice_len == len && len > 0 && memcmp(p, text, len) == 0)
            return true;
        p = bar != NULL ? bar + 1 : p + choice_len;
    }
    return false;
}

static void format_scaled(int64_t value, const struct config_unit *units, size_t n_units,
                          const char *zero, char *buf, size_t size)
{
    if (value == 0) {
        snprintf(buf, size, "%s", zero);
        return;
    }
    for (size_t i = 0; i < n_units; i++) {
        if (value % units[i].scale == 0) {
            snprintf(buf, size, "%" PRId64 "%s", value / units[i].scale, units[i].name);
            return;
        }
    }
}

void config_format_amount(enum config_type type, int64_t value, char *buf, size_t size)
{
    if (type == CONFIG_TYPE_DURATION)
        format_scaled(value, duration_units, ARRAY_LEN(duration_units), "0s", buf, size);
    else if (type == CONFIG_TYPE_SIZE)
        format_scaled(value, size_units, ARRAY_LEN(size_units), "0", buf, size);
    else
        snprintf(buf, size, "%" PRId64, value);
}

/* "1..65535", "1s..1h", "1KiB..64MiB". */
void config_format_range(const struct config_option *opt, char *buf, size_t size)
{
    char low[32];
    char high[32];
    config_format_amount(opt->type, opt->min, low, sizeof low);
    if (opt->max == INT64_MAX)
        snprintf(high, sizeof high, "max");
    else
        config_format_amount(opt->type, opt->max, high, sizeof high);
    snprintf(buf, size, "%s..%s", low, high);
}

/* Decimal integer, sign allowed, nothing else: -EINVAL malformed, -ERANGE beyond int64. */
static int parse_int(const char *text, int64_t *out)
{
    const char *digits = (*text == '-' || *text == '+') ? text + 1 : text;
    if (!is_digit(*digits))
        return -EINVAL;
    errno = 0;
    char *end = NULL;
    long long value = strtoll(text, &end, 10);
    if (*end != '\0')
        return -EINVAL;
    if (errno == ERANGE)
        return -ERANGE;
    *out = value;
    return 0;
}

static int parse_size(const char *text, int64_t *out)
{
    if (!is_digit(*text))
        return -EINVAL;
    errno = 0;
    char *end = NULL;
    long long value = strtoll(text, &end, 10);
    bool too_big = errno == ERANGE;
    for (size_t i = 0; i < ARRAY_LEN(size_units); i++) {
        if (strcmp(end, size_units[i].name) != 0)
            continue;
        if (too_big || value > INT64_MAX / size_units[i].scale)
            return -ERANGE;
        *out = value * size_units[i].scale;
        return 0;
    }
    return -EINVAL;
}

static int parse_duration(const char *text, int64_t *out)
{
    /* clock_parse_duration_ms uses strtoll, which would also take " 5s" and "+5s". */
    if (!is_digit(*text))
        return -EINVAL;
    return clock_parse_duration_ms(text, out);
}

static int apply_number(const struct config_option *opt, void *cfg, const char *text,
                        const char *where, struct config_error *err)
{
    const char *shown = opt->secret ? CONFIG_MASK : text;
    const char *expected = expect_int;
    int64_t value = 0;
    int rc;
    if (opt->type == CONFIG_TYPE_DURATION) {
        rc = parse_duration(text, &value);
        expected = expect_duration;
    } else if (opt->type == CONFIG_TYPE_SIZE) {
        rc = parse_size(text, &value);
        expected = expect_size;
    } else {
        rc = parse_int(text, &value);
    }
    if (rc == -EINVAL) {
        error_set(err, "%s: \"%.64s\" is not valid: expected %s", where, shown, expected);
        return -EINVAL;
    }
    if (rc == -ERANGE || value < opt->min || value > opt->max) {
        char range[80];
        config_format_range(opt, range, sizeof range);
        error_set(err, "%s: %.64s is out of range %s", where, shown, range);
        return -EINVAL;
    }
    *(int64_t *)option_field(opt, cfg) = value;
    return 0;
}

static int apply_bool(const struct config_option *opt, void *cfg, const char *text,
                      const char *where, struct config_error *err)
{
    for (size_t i = 0; i < ARRAY_LEN(bool_true); i++) {
        if (strcmp(text, bool_true[i]) == 0 || strcmp(text, bool_false[i]) == 0) {
            *(bool *)option_field(opt, cfg) = strcmp(text, bool_true[i]) == 0;
            return 0;
        }
    }
    error_set(err, "%s: \"%.64s\" is not valid: expected %s", where,
              opt->secret ? CONFIG_MASK : text, expect_bool);
    return -EINVAL;
}

static int store_string(const struct config_option *opt, void *cfg, const char *text,
                        const char *where, struct config_error *err)
{
    char *copy = strdup(text);
    if (copy == NULL) {
        error_set(err, "%s: out of memory", where);
        return -ENOMEM;
    }
    char **slot = option_field(opt, cfg);
    free(*slot);
    *slot = copy;
    return 0;
}

/* Never echoes the value: strings hold host names, but also passwords. */
static int apply_string(const struct config_option *opt, void *cfg, const char *text,
                        const char *where, struct config_error *err)
{
    size_t len = strlen(text);
    if (opt->min > 0 && len == 0) {
        error_set(err, "%s: must not be empty", where);
        return -EINVAL;
    }
    if (opt->min > 0 && len < (uint64_t)opt->min) {
        error_set(err, "%s: too short (%zu characters, at least %" PRId64 ")", where, len,
                  opt->min);
        return -EINVAL;
    }
    if (opt->max > 0 && len > (uint64_t)opt->max) {
        error_set(err, "%s: too long (%zu characters, at most %" PRId64 ")", where, len, opt->max);
        return -EINVAL;
    }
    return store_string(opt, cfg, text, where, err);
}

static int apply_enum(const struct config_option *opt, void *cfg, const char *text,
                      const char *where, struct config_error *err)
{
    if (!enum_has(opt->choices, text)) {
        char choices[200];
        list_choices(opt->choices, choices, sizeof choices);
        error_set(err, "%s: \"%.64s\" is not one of: %s", where, opt->secret ? CONFIG_MASK : text,
                  choices);
        return -EINVAL;
    }
    return store_string(opt, cfg, text, where, err);
}

/* Parses text for opt and stores it; where ("hub.conf:3: [mqtt] port") starts any error. */
static int option_apply(const struct config_option *opt, void *cfg, const char *text,
                        const char *where, struct config_error *err)
{
    for (const char *p = text; *p != '\0'; p++) {
        if (is_control(*p)) {
            error_set(err, "%s: control characters are not allowed", where);
            return -EINVAL;
        }
    }
    switch (opt->type) {
    case CONFIG_TYPE_STRING:
        return apply_string(opt, cfg, text, where, err);
    case CONFIG_TYPE_ENUM:
        return apply_enum(opt, cfg, text, where, err);
    case CONFIG_TYPE_BOOL:
        return apply_bool(opt, cfg, text, where, err);
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_DURATION:
    case CONFIG_TYPE_SIZE:
        return apply_number(opt, cfg, text, where, err);
    }
    error_set(err, "%s: unknown option type", where);
    return -EINVAL;
}

int config_set_defaults(const struct config_option *opts, size_t n_opts, void *cfg,
                        struct config_error *err)
{
    for (size_t i = 0; i < n_opts; i++) {
        char where[CONFIG_NAME_MAX + 32];
        snprintf(where, sizeof where, "default of [%s] %s", opts[i].section, opts[i].key);
        const char *text = opts[i].default_text != NULL ? opts[i].default_text : "";
        int rc = option_apply(&opts[i], cfg, text, where, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- Files and text ---- */

struct parse_state {
    const struct config_option *opts;
    size_t n_opts;
    void *cfg;
    const char *source;
    size_t line_no;
    size_t *first_line; /* per option: the line that set it in this text, 0 = not yet */
    char section[CONFIG_NAME_MAX];
    struct config_error *err;
};

static int parse_fail(struct parse_state *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int parse_fail(struct parse_state *st, const char *fmt, ...)
{
    if (st->err == NULL)
        return -EINVAL;
    char *msg = st->err->message;
    int n = snprintf(msg, sizeof st->err->message, "%s:%zu: ", st->source, st->line_no);
    if (n >= 0 && (size_t)n < sizeof st->err->message) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg + n, sizeof st->err->message - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* After the '[': "name]", then only blanks or a comment. */
static int parse_section(struct parse_state *st, char *p)
{
    char *name = p;
    while (is_name_char(*p))
        p++;
    char *end = p;
    if (end == name || *p != ']')
        return parse_fail(st, "malformed section line (expected [name])");
    p = skip_blank(p + 1);
    if (*p != '\0' && *p != '#' && *p != ';')
        return parse_fail(st, "malformed section line (text after ']')");
    *end = '\0';
    if (!section_known(st->opts, st->n_opts, name)) {
        char known[200];
        list_sections(st->opts, st->n_opts, known, sizeof known);
        return parse_fail(st, "unknown section [%.64s] (known: %s)", name, known);
    }
    /* Known sections come from the table; their names fit unless the table is absurd. */
    if ((size_t)(end - name) >= sizeof st->section)
        return parse_fail(st, "section name too long");
    memcpy(st->section, name, (size_t)(end - name) + 1);
    return 0;
}

/* In place: "\"a \\\"b\\\" # c\"  # comment" -> "a \"b\" # c". NULL reason on success. */
static const char *parse_quoted(char *p, char **out)
{
    char *dst = p;
    char *src = p + 1;
    while (*src != '\0' && *src != '"') {
        if (*src == '\\') {
            if (src[1] != '"' && src[1] != '\\')
                return "unknown escape in quoted value (only \\\" and \\\\)";
            src++;
        }
        *dst++ = *src++;
    }
    if (*src != '"')
        return "missing closing quote";
    *dst = '\0';
    src = skip_blank(src + 1);
    if (*src != '\0' && *src != '#' && *src != ';')
        return "text after the closing quote";
    *out = p;
    return NULL;
}

/* In place: the value after '=', trimmed; an unquoted value ends at a blank-led '#' or ';'. */
static const char *parse_value(char *p, char **out)
{
    p = skip_blank(p);
    if (*p == '"')
        return parse_quoted(p, out);
    for (char *c = p; *c != '\0'; c++) {
        if ((*c == '#' || *c == ';') && (c == p || config_is_blank(c[-1]))) {
            *c = '\0';
            break;
        }
    }
    size_t len = strlen(p);
    while (len > 0 && config_is_blank(p[len - 1]))
        p[--len] = '\0';
    *out = p;
    return NULL;
}

static int parse_assignment(struct parse_state *st, char *p)
{
    char *key = p;
    while (is_name_char(*p))
        p++;
    char *key_end = p;
    p = skip_blank(p);
    if (key_end == key || *p != '=')
        return parse_fail(st, "malformed line (expected [section], key = value or a comment)");
    *key_end = '\0';
    if (st->section[0] == '\0')
        return parse_fail(st, "%.64s: key outside any section (add a [section] line above)", key);
    const struct config_option *opt = option_find(st->opts, st->n_opts, st->section, key);
    if (opt == NULL)
        return parse_fail(st, "[%s] %.64s: unknown key", st->section, key);
    size_t index = (size_t)(opt - st->opts);
    if (st->first_line[index] != 0)
        return parse_fail(st, "[%s] %s: duplicate key (first set on line %zu)", st->section, key,
                          st->first_line[index]);
    char *value = NULL;
    const char *reason = parse_value(p + 1, &value);
    if (reason != NULL)
        return parse_fail(st, "[%s] %s: %s", st->section, key, reason);
    char where[sizeof st->err->message];
    snprintf(where, sizeof where, "%s:%zu: [%s] %s", st->source, st->line_no, opt->section,
             opt->key);
    st->first_line[index] = st->line_no;
    return option_apply(opt, st->cfg, value, where, st->err);
}

static int parse_line(struct parse_state *st, const char *raw, size_t len)
{
    char line[CONFIG_LINE_MAX];
    if (len > 0 && raw[len - 1] == '\r')
        len--;
    if (len >= sizeof line)
        return parse_fail(st, "line longer than %d bytes", CONFIG_LINE_MAX - 1);
    for (size_t i = 0; i < len; i++)
        if (is_control(raw[i]))
            return parse_fail(st, "malformed line (control character at column %zu)", i + 1);
    memcpy(line, raw, len);
    line[len] = '\0';
    char *p = skip_blank(line);
    if (*p == '\0' || *p == '#' || *p == ';')
        return 0;
    if (*p == '[')
        return parse_section(st, p + 1);
    return parse_assignment(st, p);
}

int config_load_text(const struct config_option *opts, size_t n_opts, void *cfg, const char *text,
                     size_t len, const char *source_name, struct config_error *err)
{
    struct parse_state st = {
        .opts = opts,
        .n_opts = n_opts,
        .cfg = cfg,
        .source = source_name != NULL ? source_name : "config",
        .err = err,
    };
    st.first_line = calloc(n_opts + 1, sizeof *st.first_line);
    if (st.first_line == NULL) {
        error_set(err, "%s: out of memory", st.source);
        return -ENOMEM;
    }
    if (text == NULL)
        len = 0;
    size_t pos = 0;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        pos = 3; /* a UTF-8 byte order mark from a Windows editor */
    int rc = 0;
    while (rc == 0 && pos < len) {
        const char *line = text + pos;
        const char *newline = memchr(line, '\n', len - pos);
        size_t line_len = newline != NULL ? (size_t)(newline - line) : len - pos;
        pos += line_len + (newline != NULL ? 1 : 0);
        st.line_no++;
        rc = parse_line(&st, line, line_len);
    }
    free(st.first_line);
    return rc;
}

/* Reads the whole file (at most CONFIG_FILE_MAX bytes) into *out (caller frees). */
static int file_read(const char *path, char **out, size_t *out_len, struct config_error *err)
{
    size_t cap = 4096;
    size_t len = 0;
    char *buf = NULL;
    int rc = 0;
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        rc = -errno;
        error_set(err, "%s: cannot open: %s", path, strerror(-rc));
        goto out;
    }
    for (;;) {
        char *grown = realloc(buf, cap);
        if (grown == NULL) {
            rc = -ENOMEM;
            error_set(err, "%s: out of memory", path);
            goto out;
        }
        buf = grown;
        errno = 0;
        len += fread(buf + len, 1, cap - len, file);
        if (ferror(file)) {
            rc = errno != 0 ? -errno : -EIO;
            error_set(err, "%s: cannot read: %s", path, strerror(-rc));
            goto out;
        }
        if (len < cap)
            break;
        if (cap >= CONFIG_FILE_MAX) {
            rc = -EFBIG;
            error_set(err, "%s: too large (a config file has less than %zu bytes)", path,
                      CONFIG_FILE_MAX);
            goto out;
        }
        cap *= 2;
    }
    *out = buf;
    *out_len = len;
    buf = NULL;
out:
    free(buf);
    if (file != NULL)
        fclose(file);
    return rc;
}

int config_load_file(const struct config_option *opts, size_t n_opts, void *cfg, const char *path,
                     struct config_error *err)
{
    char *text = NULL;
    size_t len = 0;
    int rc = file_read(path, &text, &len, err);
    if (rc == 0)
        rc = config_load_text(opts, n_opts, cfg, text, len, path, err);
    free(text);
    return rc;
}

/* ---- Environment and single settings ---- */

/* "UPDRAFT_MQTT_KEEP_ALIVE" for [mqtt] keep-alive; false if it does not fit. */
static bool env_name(const struct config_option *opt, char *buf, size_t size)
{
    int n = snprintf(buf, size, "UPDRAFT_%s_%s", opt->section, opt->key);
    if (n < 0 || (size_t)n >= size)
        return false;
    for (char *p = buf; *p != '\0'; p++) {
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
        else if (*p == '.' || *p == '-')
            *p = '_';
    }
    return true;
}

int config_load_env(const struct config_option *opts, size_t n_opts, void *cfg, char *const *envp,
                    struct config_error *err)
{
    for (char *const *var = envp; var != NULL && *var != NULL; var++) {
        const char *eq = strchr(*var, '=');
        if (strncmp(*var, "UPDRAFT_", 8) != 0 || eq == NULL)
            continue;
        size_t name_len = (size_t)(eq - *var);
        for (size_t i = 0; i < n_opts; i++) {
            char name[CONFIG_NAME_MAX];
            if (!env_name(&opts[i], name, sizeof name) || strlen(name) != name_len ||
                memcmp(name, *var, name_len) != 0)
                continue;
            int rc = option_apply(&opts[i], cfg, eq + 1, name, err);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

int config_set(const struct config_option *opts, size_t n_opts, void *cfg, const char *dotted_key,
               const char *text, const char *source, struct config_error *err)
{
    const char *where = source != NULL ? source : dotted_key;
    const struct config_option *opt =
        config_option_find_dotted(opts, n_opts, dotted_key, strlen(dotted_key));
    if (opt == NULL) {
        error_set(err, "%s: unknown key %.64s", where, dotted_key);
        return -EINVAL;
    }
    return option_apply(opt, cfg, text != NULL ? text : "", where, err);
}

void config_free(const struct config_option *opts, size_t n_opts, void *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < n_opts; i++) {
        if (!config_option_is_string(&opts[i]))
            continue;
        char **slot = option_field(&opts[i], cfg);
        free(*slot);
        *slot = NULL;
    }
}
