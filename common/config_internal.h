/* The contract between config.c (parsing, typed values, files, environment) and config_cli.c
 * (printing, --help, the command line). Not part of the public API: only those two files
 * include it. Not thread-safe, like config.h. */
#ifndef UPDRAFT_COMMON_CONFIG_INTERNAL_H
#define UPDRAFT_COMMON_CONFIG_INTERNAL_H

#include "common/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_NAME_MAX 128    /* bytes in "section.key" or an environment name, with the NUL */
#define CONFIG_MASK "********" /* what secrets print and echo as */

/* The parser's blank (' ' or '\t'); the printer quotes values with edge blanks it would trim. */
bool config_is_blank(char c);

/* The field opt describes inside a program's config struct cfg (borrowed, read-only). */
const void *config_option_field_const(const struct config_option *opt, const void *cfg);

/* True for STRING and ENUM options, whose field is a char * owned by the config. */
bool config_option_is_string(const struct config_option *opt);

/* The option named by "section.key" (len bytes, need not be NUL-terminated; the key is after
 * the last '.'), or NULL if there is none or the name is CONFIG_NAME_MAX bytes or longer. */
const struct config_option *config_option_find_dotted(const struct config_option *opts,
                                                      size_t n_opts, const char *dotted,
                                                      size_t len);

/* True if an option before opts[index] has the same section (so a section is listed once). */
bool config_section_seen_before(const struct config_option *opts, size_t index);

/* value written as it would be in a file: DURATION "30s", SIZE "64MiB" (largest exact unit),
 * otherwise decimal. Truncated to size bytes, always NUL-terminated. */
void config_format_amount(enum config_type type, int64_t value, char *buf, size_t size);

/* opt's min..max in the same notation: "1..65535", "1s..1h", "1KiB..max". */
void config_format_range(const struct config_option *opt, char *buf, size_t size);

#endif
