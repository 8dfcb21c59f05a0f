/* Configuration output and command line (see config.h): config_print (--print-config, secrets
 * masked), config_print_help and the start-up sequence config_cli, over the parser in config.c.
 * Not thread-safe: start-up, or one config owner thread. */
#include "common/config.h"

#include "common/config_internal.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* ---- Printing ---- */

static void format_scalar(const struct config_option *opt, const void *cfg, char *buf, size_t size)
{
    const void *field = config_option_field_const(opt, cfg);
    if (opt->type == CONFIG_TYPE_BOOL)
        snprintf(buf, size, "%s", *(const bool *)field ? "true" : "false");
    else
        config_format_amount(opt->type, *(const int64_t *)field, buf, size);
}

/* Quotes what the parser would otherwise trim or cut: edge blanks, comments, a leading '"'. */
static void print_string(const char *s, FILE *out)
{
    size_t len = strlen(s);
    bool quote = len == 0 || config_is_blank(s[0]) || s[0] == '"' || config_is_blank(s[len - 1]) ||
                 strpbrk(s, "#;") != NULL;
    if (!quote) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void print_option(const struct config_option *opt, const void *cfg, FILE *out)
{
    if (opt->help != NULL)
        fprintf(out, "# %s\n", opt->help);
    fprintf(out, "%s = ", opt->key);
    if (config_option_is_string(opt)) {
        const char *value = *(char *const *)config_option_field_const(opt, cfg);
        if (value == NULL)
            value = "";
        print_string(opt->secret && *value != '\0' ? CONFIG_MASK : value, out);
    } else {
        char value[48];
        format_scalar(opt, cfg, value, sizeof value);
        fputs(opt->secret ? CONFIG_MASK : value, out);
    }
    fputc('\n', out);
}

void config_print(const struct config_option *opts, size_t n_opts, const void *cfg, FILE *out)
{
    for (size_t i = 0; i < n_opts; i++) {
        if (config_section_seen_before(opts, i))
            continue;
        fprintf(out, "%s[%s]\n", i > 0 ? "\n" : "", opts[i].section);
        for (size_t j = i; j < n_opts; j++)
            if (strcmp(opts[j].section, opts[i].section) == 0)
                print_option(&opts[j], cfg, out);
    }
}

static const char *value_placeholder(const struct config_option *opt)
{
    switch (opt->type) {
    case CONFIG_TYPE_STRING:
        return "TEXT";
    case CONFIG_TYPE_INT:
        return "N";
    case CONFIG_TYPE_BOOL:
        return "BOOL";
    case CONFIG_TYPE_DURATION:
        return "DURATION";
    case CONFIG_TYPE_SIZE:
        return "SIZE";
    case CONFIG_TYPE_ENUM:
        return opt->choices != NULL ? opt->choices : "CHOICE";
    }
    return "VALUE";
}

/* "(default: 30s, range 1s..1h)", or "" when there is nothing to say. */
static void help_details(const struct config_option *opt, char *buf, size_t size)
{
    char range[96] = "";
    char bounds[80];
    if (opt->type == CONFIG_TYPE_INT || opt->type == CONFIG_TYPE_DURATION ||
        opt->type == CONFIG_TYPE_SIZE) {
        config_format_range(opt, bounds, sizeof bounds);
        snprintf(range, sizeof range, "range %s", bounds);
    } else if (opt->type == CONFIG_TYPE_STRING && opt->max > 0) {
        snprintf(range, sizeof range, "length %" PRId64 "..%" PRId64, opt->min, opt->max);
    } else if (opt->type == CONFIG_TYPE_STRING && opt->min > 0) {
        snprintf(range, sizeof range, "length at least %" PRId64, opt->min);
    }
    const char *def = opt->default_text;
    bool show_default = !opt->secret && def != NULL && *def != '\0';
    if (!show_default && range[0] == '\0')
        buf[0] = '\0';
    else
        snprintf(buf, size, " (%s%.64s%s%s)", show_default ? "default: " : "",
                 show_default ? def : "", show_default && range[0] != '\0' ? ", " : "", range);
}

void config_print_help(const struct config_option *opts, size_t n_opts, FILE *out)
{
    for (size_t i = 0; i < n_opts; i++) {
        char flag[CONFIG_NAME_MAX + 96];
        char details[200];
        snprintf(flag, sizeof flag, "--%s.%s=%s", opts[i].section, opts[i].key,
                 value_placeholder(&opts[i]));
        help_details(&opts[i], details, sizeof details);
        fprintf(out, "  %-36s %s%s\n", flag, opts[i].help != NULL ? opts[i].help : "", details);
    }
}

/* ---- Command line ---- */

enum cli_arg_kind {
    CLI_ARG_HELP,
    CLI_ARG_VERSION,
    CLI_ARG_PRINT,
    CLI_ARG_CONFIG,
    CLI_ARG_FLAG,
    CLI_ARG_OPTION,
    CLI_ARG_BAD,
};

struct cli_arg {
    enum cli_arg_kind kind;
    const char *value;                  /* CONFIG: the file; OPTION: the text */
    const struct config_flag *flag;     /* FLAG */
    char name[CONFIG_NAME_MAX + 2];     /* CONFIG/OPTION: "--section.key" */
    char problem[CONFIG_NAME_MAX + 64]; /* BAD: the reason */
};

struct cli_scan {
    bool help, version, print;
    const char *config_path;
    char problem[CONFIG_NAME_MAX + 64]; /* the first bad argument */
};

static bool cli_arg_simple(const struct config_program *prog, const char *arg, struct cli_arg *a)
{
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
        a->kind = CLI_ARG_HELP;
    else if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0)
        a->kind = CLI_ARG_VERSION;
    else if (strcmp(arg, "--print-config") == 0)
        a->kind = CLI_ARG_PRINT;
    else if (arg[0] == '-' && arg[1] != '-' && arg[1] != '\0')
        snprintf(a->problem, sizeof a->problem, "unknown option %.64s (see --help)", arg);
    else if (strncmp(arg, "--", 2) != 0)
        snprintf(a->problem, sizeof a->problem, "unexpected argument %.64s (see --help)", arg);
    else {
        for (size_t i = 0; i < prog->n_flags; i++) {
            if (strcmp(arg + 2, prog->flags[i].name) == 0) {
                a->kind = CLI_ARG_FLAG;
                a->flag = &prog->flags[i];
                return true;
            }
        }
        return false;
    }
    return true;
}

/* Classifies argv[*i]; "--section.key VALUE" and "--config FILE" also consume argv[*i + 1]. */
static void cli_arg_read(const struct config_program *prog, int argc, char **argv, int *i,
                         struct cli_arg *a)
{
    const char *arg = argv[*i];
    memset(a, 0, sizeof *a);
    a->kind = CLI_ARG_BAD;
    if (cli_arg_simple(prog, arg, a))
        return;
    const char *name = arg + 2;
    const char *eq = strchr(name, '=');
    size_t name_len = eq != NULL ? (size_t)(eq - name) : strlen(name);
    int shown_len = (int)(name_len > 64 ? 64 : name_len);
    bool is_config = name_len == 6 && memcmp(name, "config", 6) == 0;
    if (!is_config && config_option_find_dotted(prog->opts, prog->n_opts, name, name_len) == NULL) {
        snprintf(a->problem, sizeof a->problem, "unknown option --%.*s (see --help)", shown_len,
                 name);
        return;
    }
    snprintf(a->name, sizeof a->name, "--%.*s", (int)name_len, name);
    if (eq != NULL)
        a->value = eq + 1;
    else if (*i + 1 < argc)
        a->value = argv[++*i];
    if (a->value == NULL || (is_config && *a->value == '\0')) {
        snprintf(a->problem, sizeof a->problem, "%s needs a %s", a->name,
                 is_config ? "FILE" : "value");
        return;
    }
    a->kind = is_config ? CLI_ARG_CONFIG : CLI_ARG_OPTION;
}

static void cli_scan_args(const struct config_program *prog, int argc, char **argv,
                          struct cli_scan *scan)
{
    for (int i = 1; i < argc; i++) {
        struct cli_arg a;
        cli_arg_read(prog, argc, argv, &i, &a);
        switch (a.kind) {
        case CLI_ARG_HELP:
            scan->help = true;
            break;
        case CLI_ARG_VERSION:
            scan->version = true;
            break;
        case CLI_ARG_PRINT:
            scan->print = true;
            break;
        case CLI_ARG_CONFIG:
            scan->config_path = a.value;
            break;
        case CLI_ARG_FLAG:
            *a.flag->target = true;
            break;
        case CLI_ARG_OPTION:
            break;
        case CLI_ARG_BAD:
            if (scan->problem[0] == '\0')
                memcpy(scan->problem, a.problem, sizeof scan->problem);
            break;
        }
    }
}

static int cli_apply_options(const struct config_program *prog, int argc, char **argv, void *cfg,
                             struct config_error *err)
{
    for (int i = 1; i < argc; i++) {
        struct cli_arg a;
        cli_arg_read(prog, argc, argv, &i, &a);
        if (a.kind != CLI_ARG_OPTION)
            continue;
        int rc = config_set(prog->opts, prog->n_opts, cfg, a.name + 2, a.value, a.name, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static void cli_usage(const struct config_program *prog, FILE *out)
{
    fprintf(out,
            "Usage: %s [--config FILE] [--print-config] [--help] [--version] "
            "[--section.key=VALUE ...]\n",
            prog->name);
    if (prog->summary != NULL)
        fprintf(out, "%s\n", prog->summary);
    fprintf(out, "\nOptions:\n");
    fprintf(out, "  %-36s %s\n", "--config FILE",
            "read settings from FILE (default: $UPDRAFT_CONFIG)");
    fprintf(out, "  %-36s %s\n", "--print-config", "print the effective settings (secrets masked)");
    fprintf(out, "  %-36s %s\n", "--help, -h", "print this help");
    fprintf(out, "  %-36s %s\n", "--version, -V", "print the version");
    for (size_t i = 0; i < prog->n_flags; i++) {
        char flag[CONFIG_NAME_MAX];
        snprintf(flag, sizeof flag, "--%s", prog->flags[i].name);
        fprintf(out, "  %-36s %s\n", flag, prog->flags[i].help != NULL ? prog->flags[i].help : "");
    }
    fprintf(out, "\nSettings (in FILE as [section] key = value, in the environment as "
                 "UPDRAFT_SECTION_KEY):\n");
    config_print_help(prog->opts, prog->n_opts, out);
}

static const char *env_lookup(char *const *envp, const char *name)
{
    size_t len = strlen(name);
    for (char *const *var = envp; var != NULL && *var != NULL; var++)
        if (strncmp(*var, name, len) == 0 && (*var)[len] == '=')
            return *var + len + 1;
    return NULL;
}

enum config_cli_result config_cli(const struct config_program *prog, int argc, char **argv,
                                  char *const *envp, void *cfg)
{
    struct cli_scan scan = {0};
    struct config_error err = {{0}};
    cli_scan_args(prog, argc, argv, &scan);
    if (scan.help) {
        cli_usage(prog, stdout);
        return CONFIG_CLI_EXIT_OK;
    }
    if (scan.version) {
        printf("%s %s\n", prog->name, prog->version);
        return CONFIG_CLI_EXIT_OK;
    }
    if (scan.problem[0] != '\0') {
        fprintf(stderr, "%s: %s\n", prog->name, scan.problem);
        return CONFIG_CLI_EXIT_ERROR;
    }
    const char *path = scan.config_path;
    if (path == NULL)
        path = env_lookup(envp, "UPDRAFT_CONFIG");
    int rc = config_set_defaults(prog->opts, prog->n_opts, cfg, &err);
    if (rc == 0 && path != NULL && *path != '\0')
        rc = config_load_file(prog->opts, prog->n_opts, cfg, path, &err);
    if (rc == 0)
        rc = config_load_env(prog->opts, prog->n_opts, cfg, envp, &err);
    if (rc == 0)
        rc = cli_apply_options(prog, argc, argv, cfg, &err);
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", prog->name, err.message);
        config_free(prog->opts, prog->n_opts, cfg);
        return CONFIG_CLI_EXIT_ERROR;
    }
    if (scan.print) {
        config_print(prog->opts, prog->n_opts, cfg, stdout);
        config_free(prog->opts, prog->n_opts, cfg);
        return CONFIG_CLI_EXIT_OK;
    }
    return CONFIG_CLI_RUN;
}
