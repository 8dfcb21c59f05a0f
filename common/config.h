/* Configuration: one strict INI-like parser ("[section]" lines, "key = value" lines,
 * '#' or ';' comments) driven by a typed option table per program. Precedence:
 * defaults (text, parsed by the same code) < file < UPDRAFT_<SECTION>_<KEY> environment <
 * command-line flags (--section.key=value). Errors name the source, the key and the
 * allowed range. Not thread-safe: used at start-up (and by a config owner thread). */
#ifndef UPDRAFT_COMMON_CONFIG_H
#define UPDRAFT_COMMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum config_type {
    CONFIG_TYPE_STRING,   /* char * (owned by the config, freed by config_free); min/max = length bounds */
    CONFIG_TYPE_INT,      /* int64_t, decimal, within min..max */
    CONFIG_TYPE_BOOL,     /* bool: true/false, yes/no, on/off, 1/0 */
    CONFIG_TYPE_DURATION, /* int64_t milliseconds: "500ms", "5s", "15m", "1h", "7d"; bare number = s */
    CONFIG_TYPE_SIZE,     /* int64_t bytes: "512", "64KiB", "64MiB", "1GiB", "10kB", "10MB", "1GB" */
    CONFIG_TYPE_ENUM,     /* char * (owned), one of the '|'-separated choices */
};

struct config_option {
    const char *section;      /* "mqtt" */
    const char *key;          /* "keepalive" */
    enum config_type type;
    size_t offset;            /* offsetof(struct program_config, field) */
    int64_t min, max;         /* INT/DURATION(ms)/SIZE(bytes): value range; STRING: length range */
    const char *default_text; /* the default, as it would be written in a file; "" for empty */
    const char *choices;      /* ENUM only: "error|warn|info|debug" */
    bool secret;              /* masked ("********") by config_print */
    const char *help;         /* one line for --help and --print-config */
};

struct config_error {
    char message[320]; /* one line, e.g. "hub.conf:12: [http] port: 70000 is out of range 1..65535" */
};

/* Sets every option of cfg from its default_text. Returns 0 or -EINVAL (a bad default:
 * a programming error that a unit test catches). */
int config_set_defaults(const struct config_option *opts, size_t n_opts, void *cfg,
                        struct config_error *err) __attribute__((warn_unused_result));

/* Parses the file at path. Unknown section or key, duplicate key, a line that is not
 * "[section]" / "key = value" / comment / blank, bad value, out of range: -EINVAL with
 * "path:line: ..." in err. Unreadable file: -errno with the reason in err. */
int config_load_file(const struct config_option *opts, size_t n_opts, void *cfg, const char *path,
                     struct config_error *err) __attribute__((warn_unused_result));

/* Same as config_load_file for text already in memory (len bytes, need not be
 * NUL-terminated); source_name stands for the path in errors ("pushed config"). */
int config_load_text(const struct config_option *opts, size_t n_opts, void *cfg, const char *text,
                     size_t len, const char *source_name, struct config_error *err)
    __attribute__((warn_unused_result));

/* Applies UPDRAFT_<SECTION>_<KEY> variables (upper case, '.' and '-' as '_') from envp
 * (NULL-terminated, like environ). Variables naming no option of this table are ignored
 * (other programs share the environment). Bad value: -EINVAL naming the variable. */
int config_load_env(const struct config_option *opts, size_t n_opts, void *cfg, char *const *envp,
                    struct config_error *err) __attribute__((warn_unused_result));

/* Sets "section.key" to text; source names where it came from for errors ("--mqtt.port").
 * Unknown key or bad value: -EINVAL. */
int config_set(const struct config_option *opts, size_t n_opts, void *cfg, const char *dotted_key,
               const char *text, const char *source, struct config_error *err)
    __attribute__((warn_unused_result));

/* Writes the effective config as a loadable file (sections, "key = value", help as
 * comments, secrets masked). */
void config_print(const struct config_option *opts, size_t n_opts, const void *cfg, FILE *out);

/* Writes "--section.key=VALUE  help (default: ..., range)" lines. */
void config_print_help(const struct config_option *opts, size_t n_opts, FILE *out);

/* Frees the strings config_set* and config_load* allocated in cfg. Accepts a zeroed cfg. */
void config_free(const struct config_option *opts, size_t n_opts, void *cfg);

/* A program's command line. Boolean flags of its own (--once, --dry-run) go in flags. */
struct config_flag {
    const char *name; /* "once" for --once */
    bool *target;
    const char *help;
};

struct config_program {
    const char *name;    /* "updraft-agent" */
    const char *version; /* "0.1.0" */
    const char *summary; /* one line for --help */
    const struct config_option *opts;
    size_t n_opts;
    const struct config_flag *flags;
    size_t n_flags;
};

enum config_cli_result {
    CONFIG_CLI_RUN,        /* cfg is loaded: run the program */
    CONFIG_CLI_EXIT_OK,    /* --help, --version or --print-config was printed: exit 0 */
    CONFIG_CLI_EXIT_ERROR, /* a one-line reason went to stderr: exit 2 */
};

/* The whole start-up sequence: defaults, then the file named by --config FILE (or
 * --config=FILE, or UPDRAFT_CONFIG when no flag), then environment, then flags
 * "--section.key=value" / "--section.key value". Handles --help/-h, --version/-V and
 * --print-config (printed after everything is applied). A bad flag, file or value prints
 * "<program>: <reason>" on stderr and returns CONFIG_CLI_EXIT_ERROR. */
enum config_cli_result config_cli(const struct config_program *prog, int argc, char **argv,
                                  char *const *envp, void *cfg);

#endif
