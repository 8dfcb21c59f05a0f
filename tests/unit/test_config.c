/* Unit tests for common/config (parser, precedence, errors, printing, command line), and the
 * small pure parts of common/clock and common/log they lean on. Single-threaded; redirects
 * stdout/stderr into temporary files to check what the CLI and the logger print. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/clock.h"
#include "common/config.h"
#define LOG_MODULE "test"
#include "common/log.h"

struct test_config {
    char *host;
    int64_t port;
    bool tls;
    int64_t keepalive_ms;
    char *password;
    int64_t max_bytes;
    char *level;
};

static const struct config_option test_opts[] = {
    {.section = "mqtt",
     .key = "host",
     .type = CONFIG_TYPE_STRING,
     .offset = offsetof(struct test_config, host),
     .min = 1,
     .max = 64,
     .default_text = "localhost",
     .help = "broker host name or address"},
    {.section = "mqtt",
     .key = "port",
     .type = CONFIG_TYPE_INT,
     .offset = offsetof(struct test_config, port),
     .min = 1,
     .max = 65535,
     .default_text = "1883",
     .help = "broker TCP port"},
    {.section = "mqtt",
     .key = "tls",
     .type = CONFIG_TYPE_BOOL,
     .offset = offsetof(struct test_config, tls),
     .default_text = "false",
     .help = "connect with TLS"},
    {.section = "mqtt",
     .key = "keepalive",
     .type = CONFIG_TYPE_DURATION,
     .offset = offsetof(struct test_config, keepalive_ms),
     .min = 1000,
     .max = 3600000,
     .default_text = "30s",
     .help = "MQTT keepalive"},
    {.section = "mqtt",
     .key = "password",
     .type = CONFIG_TYPE_STRING,
     .offset = offsetof(struct test_config, password),
     .min = 0,
     .max = 32,
     .default_text = "",
     .secret = true,
     .help = "broker password"},
    {.section = "store",
     .key = "max-size",
     .type = CONFIG_TYPE_SIZE,
     .offset = offsetof(struct test_config, max_bytes),
     .min = 1024,
     .max = 1073741824,
     .default_text = "64MiB",
     .help = "largest database"},
    {.section = "log",
     .key = "level",
     .type = CONFIG_TYPE_ENUM,
     .offset = offsetof(struct test_config, level),
     .default_text = "info",
     .choices = "error|warn|info|debug",
     .help = "least severe level logged"},
};
#define N_OPTS (sizeof test_opts / sizeof test_opts[0])

static bool flag_once;
static const struct config_flag test_flags[] = {
    {.name = "once", .target = &flag_once, .help = "collect once and exit"},
};
static const struct config_program test_program = {
    .name = "updraft-test",
    .version = "0.1.0",
    .summary = "Exercises the config parser.",
    .opts = test_opts,
    .n_opts = N_OPTS,
    .flags = test_flags,
    .n_flags = 1,
};

/* ---- helpers ---- */

static int cfg_setup(void **state)
{
    struct test_config *cfg = calloc(1, sizeof *cfg);
    struct config_error err = {{0}};
    if (cfg == NULL || config_set_defaults(test_opts, N_OPTS, cfg, &err) != 0) {
        fprintf(stderr, "defaults: %s\n", err.message);
        free(cfg);
        return -1;
    }
    flag_once = false;
    *state = cfg;
    return 0;
}

static int cfg_teardown(void **state)
{
    config_free(test_opts, N_OPTS, *state);
    free(*state);
    return 0;
}

static int load(struct test_config *cfg, const char *text, struct config_error *err)
{
    return config_load_text(test_opts, N_OPTS, cfg, text, strlen(text), "test.conf", err);
}

/* Loads text expecting an error; checks the whole message. */
static void assert_load_error(const char *text, const char *expected)
{
    struct test_config cfg = {0};
    struct config_error err = {{0}};
    assert_int_equal(config_set_defaults(test_opts, N_OPTS, &cfg, &err), 0);
    assert_int_equal(load(&cfg, text, &err), -EINVAL);
    assert_string_equal(err.message, expected);
    config_free(test_opts, N_OPTS, &cfg);
}

static void write_temp_file(const char *text, char *path, size_t size)
{
    snprintf(path, size, "/tmp/test_config_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

struct capture {
    int fd;
    int saved_fd;
    FILE *file;
};

static void capture_start(struct capture *cap, int fd)
{
    fflush(stdout);
    fflush(stderr);
    cap->fd = fd;
    cap->file = tmpfile();
    assert_non_null(cap->file);
    cap->saved_fd = dup(fd);
    assert_true(cap->saved_fd >= 0);
    assert_true(dup2(fileno(cap->file), fd) >= 0);
}

/* Restores the descriptor; returns what was written (caller frees). */
static char *capture_stop(struct capture *cap)
{
    fflush(stdout);
    fflush(stderr);
    assert_true(dup2(cap->saved_fd, cap->fd) >= 0);
    close(cap->saved_fd);
    assert_int_equal(fseek(cap->file, 0, SEEK_END), 0);
    long size = ftell(cap->file);
    assert_true(size >= 0);
    rewind(cap->file);
    char *text = calloc(1, (size_t)size + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)size, cap->file), (size_t)size);
    fclose(cap->file);
    return text;
}

struct cli_outcome {
    enum config_cli_result result;
    char *out;
    char *err;
};

static void run_cli(struct test_config *cfg, char **argv, char *const *envp,
                    struct cli_outcome *outcome)
{
    int argc = 0;
    while (argv[argc] != NULL)
        argc++;
    struct capture out;
    struct capture err;
    capture_start(&out, STDOUT_FILENO);
    capture_start(&err, STDERR_FILENO);
    outcome->result = config_cli(&test_program, argc, argv, envp, cfg);
    outcome->err = capture_stop(&err);
    outcome->out = capture_stop(&out);
}

static void cli_outcome_free(struct cli_outcome *outcome)
{
    free(outcome->out);
    free(outcome->err);
}

/* ---- defaults, files, precedence ---- */

static void defaults_are_parsed_from_their_text(void **state)
{
    struct test_config *cfg = *state;
    assert_string_equal(cfg->host, "localhost");
    assert_int_equal(cfg->port, 1883);
    assert_false(cfg->tls);
    assert_int_equal(cfg->keepalive_ms, 30000);
    assert_string_equal(cfg->password, "");
    assert_int_equal(cfg->max_bytes, 64 * 1024 * 1024);
    assert_string_equal(cfg->level, "info");
}

static void bad_default_fails_naming_the_option(void **state)
{
    (void)state;
    struct test_config cfg = {0};
    struct config_option opts[] = {test_opts[1]};
    opts[0].default_text = "70000";
    struct config_error err = {{0}};
    assert_int_equal(config_set_defaults(opts, 1, &cfg, &err), -EINVAL);
    assert_string_equal(err.message, "default of [mqtt] port: 70000 is out of range 1..65535");
}

static void file_overrides_defaults(void **state)
{
    struct test_config *cfg = *state;
    char path[64];
    write_temp_file("# broker\n[mqtt]\nhost = broker.lan\nport = 8883\ntls = yes\n\n"
                    "[log]\nlevel = debug\n",
                    path, sizeof path);
    struct config_error err = {{0}};
    int rc = config_load_file(test_opts, N_OPTS, cfg, path, &err);
    unlink(path);
    assert_int_equal(rc, 0);
    assert_string_equal(cfg->host, "broker.lan");
    assert_int_equal(cfg->port, 8883);
    assert_true(cfg->tls);
    assert_string_equal(cfg->level, "debug");
    assert_int_equal(cfg->keepalive_ms, 30000); /* untouched: still the default */
}

static void env_overrides_file(void **state)
{
    struct test_config *cfg = *state;
    char path[64];
    char config_var[96];
    write_temp_file("[mqtt]\nhost = from-file\nport = 1884\n", path, sizeof path);
    snprintf(config_var, sizeof config_var, "UPDRAFT_CONFIG=%s", path);
    char *argv[] = {"updraft-test", NULL};
    char *envp[] = {config_var, "UPDRAFT_MQTT_PORT=2000", "UPDRAFT_STORE_MAX_SIZE=1MiB", NULL};
    struct cli_outcome outcome;
    run_cli(cfg, argv, envp, &outcome);
    unlink(path);
    assert_int_equal(outcome.result, CONFIG_CLI_RUN);
    assert_string_equal(cfg->host, "from-file");
    assert_int_equal(cfg->port, 2000);
    assert_int_equal(cfg->max_bytes, 1024 * 1024);
    assert_string_equal(outcome.err, "");
    cli_outcome_free(&outcome);
}

static void flags_override_env(void **state)
{
    struct test_config *cfg = *state;
    char path[64];
    write_temp_file("[mqtt]\nhost = from-file\nport = 1884\n", path, sizeof path);
    char *argv[] = {"updraft-test", "--config",  path, "--mqtt.port=3000",
                    "--mqtt.host",  "from-flag", NULL};
    char *envp[] = {"UPDRAFT_MQTT_PORT=2000", "UPDRAFT_MQTT_HOST=from-env", NULL};
    struct cli_outcome outcome;
    run_cli(cfg, argv, envp, &outcome);
    unlink(path);
    assert_int_equal(outcome.result, CONFIG_CLI_RUN);
    assert_int_equal(cfg->port, 3000);
    assert_string_equal(cfg->host, "from-flag");
    cli_outcome_free(&outcome);
}

static void env_variables_for_other_programs_are_ignored(void **state)
{
    struct test_config *cfg = *state;
    char *envp[] = {"UPDRAFT_HUB_DB=/var/lib/x", "PATH=/usr/bin", "UPDRAFT_MQTT_PORTS=9",
                    "UPDRAFT_LOG_LEVEL=warn", NULL};
    struct config_error err = {{0}};
    assert_int_equal(config_load_env(test_opts, N_OPTS, cfg, envp, &err), 0);
    assert_int_equal(cfg->port, 1883);
    assert_string_equal(cfg->level, "warn");
}

static void env_error_names_the_variable(void **state)
{
    struct test_config *cfg = *state;
    char *envp[] = {"UPDRAFT_MQTT_PORT=70000", NULL};
    struct config_error err = {{0}};
    assert_int_equal(config_load_env(test_opts, N_OPTS, cfg, envp, &err), -EINVAL);
    assert_string_equal(err.message, "UPDRAFT_MQTT_PORT: 70000 is out of range 1..65535");
}

static void strings_set_again_replace_the_previous_value(void **state)
{
    struct test_config *cfg = *state;
    struct config_error err = {{0}};
    assert_int_equal(load(cfg, "[mqtt]\nhost = first\n", &err), 0);
    assert_int_equal(config_set(test_opts, N_OPTS, cfg, "mqtt.host", "second", "--mqtt.host", &err),
                     0);
    char *envp[] = {"UPDRAFT_MQTT_HOST=third", NULL};
    assert_int_equal(config_load_env(test_opts, N_OPTS, cfg, envp, &err), 0);
    assert_string_equal(cfg->host, "third"); /* the sanitizer checks nothing leaked */
}

static void config_free_accepts_a_zeroed_config_and_nulls_strings(void **state)
{
    (void)state;
    struct test_config cfg = {0};
    config_free(test_opts, N_OPTS, &cfg);
    struct config_error err = {{0}};
    assert_int_equal(config_set_defaults(test_opts, N_OPTS, &cfg, &err), 0);
    config_free(test_opts, N_OPTS, &cfg);
    assert_null(cfg.host);
    assert_null(cfg.password);
    assert_null(cfg.level);
    config_free(test_opts, N_OPTS, &cfg);
}

/* ---- syntax ---- */

static void quoted_values_keep_spaces_and_comment_characters(void **state)
{
    struct test_config *cfg = *state;
    struct config_error err = {{0}};
    assert_int_equal(load(cfg,
                          "[mqtt]\nhost = \"  a # b ; c  \"  # comment\n"
                          "password=\"say \\\"hi\\\" \\\\o/\"\n",
                          &err),
                     0);
    assert_string_equal(cfg->host, "  a # b ; c  ");
    assert_string_equal(cfg->password, "say \"hi\" \\o/");
}

static void inline_comments_end_unquoted_values(void **state)
{
    struct test_config *cfg = *state;
    struct config_error err = {{0}};
    assert_int_equal(load(cfg,
                          "[mqtt]\nhost = broker#1 # the first ; really\n"
                          "port=1884;comment-less\t; tab-led comment\n",
                          &err),
                     -EINVAL); /* "1884;comment-less" is not a number */
    assert_string_equal(err.message, "test.conf:3: [mqtt] port: \"1884;comment-less\" is not "
                                     "valid: expected an integer like 42");
    assert_string_equal(cfg->host, "broker#1");
    assert_int_equal(load(cfg, "[log]\nlevel = warn\t; tab-led comment\n", &err), 0);
    assert_string_equal(cfg->level, "warn");
}

static void comments_blank_lines_and_crlf_are_accepted(void **state)
{
    struct test_config *cfg = *state;
    struct config_error err = {{0}};
    const char *text = "\xEF\xBB\xBF# comment\r\n; another\r\n\r\n   \t\r\n[mqtt]  # section\r\n"
                       "  port   =   1999  \r\n[store]\r\nmax-size=2MB";
    assert_int_equal(load(cfg, text, &err), 0);
    assert_int_equal(cfg->port, 1999);
    assert_int_equal(cfg->max_bytes, 2000000);
}

static void load_text_names_its_source_and_needs_no_terminator(void **state)
{
    struct test_config *cfg = *state;
    struct config_error err = {{0}};
    const char text[] = "[mqtt]\nport = 1885XXXX";
    assert_int_equal(
        config_load_text(test_opts, N_OPTS, cfg, text, strlen(text) - 4, "pushed config", &err), 0);
    assert_int_equal(cfg->port, 1885);
    assert_int_equal(
        config_load_text(test_opts, N_OPTS, cfg, "[mqtt]\nport = x", 15, "pushed config", &err),
        -EINVAL);
    assert_non_null(strstr(err.message, "pushed config:2: [mqtt] port: "));
}

static void empty_value_sets_an_empty_string(void **state)
{
    struct test_config *cfg = *state;
    struct config_error err = {{0}};
    assert_int_equal(load(cfg, "[mqtt]\npassword = \"x\"\n", &err), 0);
    assert_int_equal(config_set(test_opts, N_OPTS, cfg, "mqtt.password", "", NULL, &err), 0);
    assert_string_equal(cfg->password, "");
    assert_int_equal(load(cfg, "[mqtt]\npassword =\n", &err), 0);
    assert_string_equal(cfg->password, "");
}

/* ---- errors ---- */

static void rejects_unknown_section_with_file_and_line(void **state)
{
    (void)state;
    assert_load_error("[mqtt]\nport = 1\n[http]\n",
                      "test.conf:3: unknown section [http] (known: mqtt, store, log)");
}

static void rejects_unknown_key_with_file_and_line(void **state)
{
    (void)state;
    assert_load_error("[mqtt]\n\nprot = 1884\n", "test.conf:3: [mqtt] prot: unknown key");
    assert_load_error("[log]\nhost = x\n", "test.conf:2: [log] host: unknown key");
}

static void rejects_duplicate_key_naming_the_first_line(void **state)
{
    (void)state;
    assert_load_error("[mqtt]\nport = 1\n[log]\nlevel = info\n[mqtt]\nport = 2\n",
                      "test.conf:6: [mqtt] port: duplicate key (first set on line 2)");
}

static void rejects_key_before_any_section(void **state)
{
    (void)state;
    assert_load_error("# top\nport = 1\n",
                      "test.conf:2: port: key outside any section (add a [section] line above)");
}

static void rejects_malformed_lines(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *message;
    } rows[] = {
        {"[mqtt]\njust some words\n",
         "test.conf:2: malformed line (expected [section], key = value or a comment)"},
        {"[mqtt]\n= 5\n",
         "test.conf:2: malformed line (expected [section], key = value or a comment)"},
        {"[mqtt\n", "test.conf:1: malformed section line (expected [name])"},
        {"[]\n", "test.conf:1: malformed section line (expected [name])"},
        {"[mqtt] port = 1\n", "test.conf:1: malformed section line (text after ']')"},
        {"[mqtt]\nhost = \"open\n", "test.conf:2: [mqtt] host: missing closing quote"},
        {"[mqtt]\nhost = \"a\" b\n", "test.conf:2: [mqtt] host: text after the closing quote"},
        {"[mqtt]\nhost = \"a\\n\"\n",
         "test.conf:2: [mqtt] host: unknown escape in quoted value (only \\\" and \\\\)"},
        {"[mqtt]\nhost = a\x01"
         "b\n",
         "test.conf:2: malformed line (control character at column 9)"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        assert_load_error(rows[i].text, rows[i].message);
    struct test_config cfg = {0};
    struct config_error err = {{0}};
    const char with_nul[] = "[mqtt]\nhost = a\0b\n";
    assert_int_equal(
        config_load_text(test_opts, N_OPTS, &cfg, with_nul, sizeof with_nul - 1, "nul", &err),
        -EINVAL);
    assert_string_equal(err.message, "nul:2: malformed line (control character at column 9)");
}

static void rejects_overlong_lines(void **state)
{
    (void)state;
    char *text = malloc(5000);
    assert_non_null(text);
    memcpy(text, "[mqtt]\nhost = ", 14);
    memset(text + 14, 'a', 4980);
    text[4994] = '\0';
    assert_load_error(text, "test.conf:2: line longer than 4095 bytes");
    free(text);
}

static void rejects_bad_values_saying_the_expected_form(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *message;
    } rows[] = {
        {"[mqtt]\nport = 18x\n",
         "test.conf:2: [mqtt] port: \"18x\" is not valid: expected an integer like 42"},
        {"[mqtt]\nport = \" 1\"\n",
         "test.conf:2: [mqtt] port: \" 1\" is not valid: expected an integer like 42"},
        {"[mqtt]\nport =\n",
         "test.conf:2: [mqtt] port: \"\" is not valid: expected an integer like 42"},
        {"[mqtt]\ntls = maybe\n", "test.conf:2: [mqtt] tls: \"maybe\" is not valid: expected "
                                  "true/false, yes/no, on/off or 1/0"},
        {"[mqtt]\nkeepalive = 5 minutes\n",
         "test.conf:2: [mqtt] keepalive: \"5 minutes\" is not valid: expected a duration like "
         "500ms, 5s, 15m, 1h, 7d"},
        {"[mqtt]\nkeepalive = -5s\n", "test.conf:2: [mqtt] keepalive: \"-5s\" is not valid: "
                                      "expected a duration like 500ms, 5s, 15m, 1h, 7d"},
        {"[store]\nmax-size = 64M\n",
         "test.conf:2: [store] max-size: \"64M\" is not valid: expected a size like 512, "
         "64KiB, 64MiB, 1GiB, 10kB, 10MB, 1GB"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        assert_load_error(rows[i].text, rows[i].message);
}

static void rejects_out_of_range_printing_the_range_in_units(void **state)
{
    (void)state;
    assert_load_error("[mqtt]\nport = 70000\n",
                      "test.conf:2: [mqtt] port: 70000 is out of range 1..65535");
    assert_load_error("[mqtt]\nport = 0\n", "test.conf:2: [mqtt] port: 0 is out of range 1..65535");
    assert_load_error("[mqtt]\nport = 99999999999999999999\n",
                      "test.conf:2: [mqtt] port: 99999999999999999999 is out of range 1..65535");
    assert_load_error("[mqtt]\nkeepalive = 2h\n",
                      "test.conf:2: [mqtt] keepalive: 2h is out of range 1s..1h");
    assert_load_error("[mqtt]\nkeepalive = 999ms\n",
                      "test.conf:2: [mqtt] keepalive: 999ms is out of range 1s..1h");
    assert_load_error("[store]\nmax-size = 2GiB\n",
                      "test.conf:2: [store] max-size: 2GiB is out of range 1KiB..1GiB");
    assert_load_error("[store]\nmax-size = 99999999999GB\n",
                      "test.conf:2: [store] max-size: 99999999999GB is out of range 1KiB..1GiB");
}

static void rejects_strings_too_long_or_too_short_without_echoing_them(void **state)
{
    (void)state;
    assert_load_error("[mqtt]\nhost =\n", "test.conf:2: [mqtt] host: must not be empty");
    assert_load_error("[mqtt]\npassword = 0123456789abcdef0123456789abcdef!\n",
                      "test.conf:2: [mqtt] password: too long (33 characters, at most 32)");
    struct config_option opts[] = {test_opts[0]};
    opts[0].min = 3;
    struct test_config cfg = {0};
    struct config_error err = {{0}};
    assert_int_equal(config_set(opts, 1, &cfg, "mqtt.host", "ab", "--mqtt.host", &err), -EINVAL);
    assert_string_equal(err.message, "--mqtt.host: too short (2 characters, at least 3)");
    assert_null(cfg.host);
}

static void rejects_enum_values_listing_the_choices(void **state)
{
    (void)state;
    assert_load_error("[log]\nlevel = verbose\n", "test.conf:2: [log] level: \"verbose\" is not "
                                                  "one of: error, warn, info, debug");
    assert_load_error("[log]\nlevel = INFO\n",
                      "test.conf:2: [log] level: \"INFO\" is not one of: error, warn, info, debug");
}

static void config_set_rejects_unknown_keys(void **state)
{
    struct test_config *cfg = *state;
    struct config_error err = {{0}};
    assert_int_equal(config_set(test_opts, N_OPTS, cfg, "mqtt.prot", "1", "--mqtt.prot", &err),
                     -EINVAL);
    assert_string_equal(err.message, "--mqtt.prot: unknown key mqtt.prot");
    assert_int_equal(config_set(test_opts, N_OPTS, cfg, "port", "1", NULL, &err), -EINVAL);
    assert_string_equal(err.message, "port: unknown key port");
}

static void missing_config_file_is_an_error_naming_the_path(void **state)
{
    struct test_config *cfg = *state;
    struct config_error err = {{0}};
    assert_int_equal(config_load_file(test_opts, N_OPTS, cfg, "/nonexistent/hub.conf", &err),
                     -ENOENT);
    assert_string_equal(err.message,
                        "/nonexistent/hub.conf: cannot open: No such file or directory");
    char *argv[] = {"updraft-test", "--config=/nonexistent/hub.conf", NULL};
    struct cli_outcome outcome;
    run_cli(cfg, argv, NULL, &outcome);
    assert_int_equal(outcome.result, CONFIG_CLI_EXIT_ERROR);
    assert_string_equal(outcome.err, "updraft-test: /nonexistent/hub.conf: cannot open: No such "
                                     "file or directory\n");
    cli_outcome_free(&outcome);
}

static void file_errors_carry_the_path_and_line(void **state)
{
    struct test_config *cfg = *state;
    char path[64];
    char expected[160];
    write_temp_file("[mqtt]\n\n\nport = 70000\n", path, sizeof path);
    struct config_error err = {{0}};
    int rc = config_load_file(test_opts, N_OPTS, cfg, path, &err);
    unlink(path);
    assert_int_equal(rc, -EINVAL);
    snprintf(expected, sizeof expected, "%s:4: [mqtt] port: 70000 is out of range 1..65535", path);
    assert_string_equal(err.message, expected);
}

/* ---- values ---- */

static void parses_sizes_in_binary_and_decimal_units(void **state)
{
    struct test_config *cfg = *state;
    static const struct {
        const char *text;
        int64_t bytes;
    } rows[] = {
        {"1024", 1024},  {"1KiB", 1024},     {"64MiB", 64 << 20}, {"1GiB", 1 << 30},
        {"10kB", 10000}, {"10MB", 10000000}, {"1GB", 1000000000}, {"0001KiB", 1024},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct config_error err = {{0}};
        assert_int_equal(
            config_set(test_opts, N_OPTS, cfg, "store.max-size", rows[i].text, NULL, &err), 0);
        assert_int_equal(cfg->max_bytes, rows[i].bytes);
    }
}

static void parses_booleans_in_every_spelling(void **state)
{
    struct test_config *cfg = *state;
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    struct config_error err = {{0}};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(config_set(test_opts, N_OPTS, cfg, "mqtt.tls", yes[i], NULL, &err), 0);
        assert_true(cfg->tls);
        assert_int_equal(config_set(test_opts, N_OPTS, cfg, "mqtt.tls", no[i], NULL, &err), 0);
        assert_false(cfg->tls);
    }
}

/* ---- printing ---- */

static char *print_to_string(const struct test_config *cfg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    config_print(test_opts, N_OPTS, cfg, out);
    fclose(out);
    return text;
}

static void printed_config_loads_back_to_the_same_values(void **state)
{
    struct test_config *cfg = *state;
    struct config_error err = {{0}};
    assert_int_equal(load(cfg,
                          "[mqtt]\nhost = \" #;\\\\ \\\"x\\\" \"\nport = 65535\ntls = on\n"
                          "keepalive = 90s\n[store]\nmax-size = 2000KiB\n[log]\nlevel=error\n",
                          &err),
                     0);
    char *text = print_to_string(cfg);
    struct test_config copy = {0};
    assert_int_equal(config_set_defaults(test_opts, N_OPTS, &copy, &err), 0);
    assert_int_equal(
        config_load_text(test_opts, N_OPTS, &copy, text, strlen(text), "printed", &err), 0);
    assert_string_equal(copy.host, " #;\\ \"x\" ");
    assert_string_equal(copy.host, cfg->host);
    assert_int_equal(copy.port, cfg->port);
    assert_int_equal(copy.tls, cfg->tls);
    assert_int_equal(copy.keepalive_ms, cfg->keepalive_ms);
    assert_int_equal(copy.max_bytes, cfg->max_bytes);
    assert_string_equal(copy.level, cfg->level);
    config_free(test_opts, N_OPTS, &copy);
    free(text);
}

static void printed_config_masks_secrets(void **state)
{
    struct test_config *cfg = *state;
    struct config_error err = {{0}};
    assert_int_equal(load(cfg, "[mqtt]\npassword = hunter2\n", &err), 0);
    char *text = print_to_string(cfg);
    assert_null(strstr(text, "hunter2"));
    assert_non_null(strstr(text, "\n# broker password\npassword = ********\n"));
    free(text);
}

static void print_uses_the_largest_exact_unit(void **state)
{
    struct test_config *cfg = *state;
    char *text = print_to_string(cfg);
    assert_string_equal(text, "[mqtt]\n"
                              "# broker host name or address\nhost = localhost\n"
                              "# broker TCP port\nport = 1883\n"
                              "# connect with TLS\ntls = false\n"
                              "# MQTT keepalive\nkeepalive = 30s\n"
                              "# broker password\npassword = \"\"\n"
                              "\n[store]\n# largest database\nmax-size = 64MiB\n"
                              "\n[log]\n# least severe level logged\nlevel = info\n");
    free(text);
    cfg->keepalive_ms = 1500;
    cfg->max_bytes = 1000000;
    text = print_to_string(cfg);
    assert_non_null(strstr(text, "keepalive = 1500ms\n"));
    assert_non_null(strstr(text, "max-size = 1MB\n"));
    free(text);
    cfg->keepalive_ms = 2 * 86400000;
    cfg->max_bytes = 1025;
    text = print_to_string(cfg);
    assert_non_null(strstr(text, "keepalive = 2d\n"));
    assert_non_null(strstr(text, "max-size = 1025\n"));
    free(text);
}

static void print_help_lists_every_option_with_default_and_range(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    config_print_help(test_opts, N_OPTS, out);
    fclose(out);
    assert_non_null(strstr(text, "--mqtt.port=N"));
    assert_non_null(strstr(text, "broker TCP port (default: 1883, range 1..65535)\n"));
    assert_non_null(strstr(text, "MQTT keepalive (default: 30s, range 1s..1h)\n"));
    assert_non_null(strstr(text, "--log.level=error|warn|info|debug"));
    assert_non_null(strstr(text, "largest database (default: 64MiB, range 1KiB..1GiB)\n"));
    assert_non_null(strstr(text, "broker password (length 0..32)\n"));
    free(text);
}

/* ---- command line ---- */

static void help_prints_usage_and_returns_exit_ok(void **state)
{
    struct test_config *cfg = *state;
    char *argv[] = {"updraft-test", "--bogus", "-h", NULL};
    struct cli_outcome outcome;
    run_cli(cfg, argv, NULL, &outcome);
    assert_int_equal(outcome.result, CONFIG_CLI_EXIT_OK);
    assert_non_null(strstr(outcome.out, "Usage: updraft-test [--config FILE] [--print-config] "
                                        "[--help] [--version] [--section.key=VALUE ...]\n"));
    assert_non_null(strstr(outcome.out, "--once"));
    assert_non_null(strstr(outcome.out, "collect once and exit"));
    assert_non_null(strstr(outcome.out, "--mqtt.keepalive=DURATION"));
    assert_string_equal(outcome.err, "");
    cli_outcome_free(&outcome);
}

static void version_prints_name_and_version_and_returns_exit_ok(void **state)
{
    struct test_config *cfg = *state;
    char *argv[] = {"updraft-test", "--version", NULL};
    struct cli_outcome outcome;
    run_cli(cfg, argv, NULL, &outcome);
    assert_int_equal(outcome.result, CONFIG_CLI_EXIT_OK);
    assert_string_equal(outcome.out, "updraft-test 0.1.0\n");
    cli_outcome_free(&outcome);
    char *short_argv[] = {"updraft-test", "-V", NULL};
    run_cli(cfg, short_argv, NULL, &outcome);
    assert_int_equal(outcome.result, CONFIG_CLI_EXIT_OK);
    assert_string_equal(outcome.out, "updraft-test 0.1.0\n");
    cli_outcome_free(&outcome);
}

static void print_config_shows_everything_applied_and_returns_exit_ok(void **state)
{
    struct test_config *cfg = *state;
    char *argv[] = {"updraft-test", "--print-config",         "--mqtt.port",
                    "4000",         "--mqtt.password=s3cret", NULL};
    char *envp[] = {"UPDRAFT_LOG_LEVEL=debug", NULL};
    struct cli_outcome outcome;
    run_cli(cfg, argv, envp, &outcome);
    assert_int_equal(outcome.result, CONFIG_CLI_EXIT_OK);
    assert_non_null(strstr(outcome.out, "port = 4000\n"));
    assert_non_null(strstr(outcome.out, "level = debug\n"));
    assert_non_null(strstr(outcome.out, "password = ********\n"));
    assert_null(strstr(outcome.out, "s3cret"));
    assert_null(cfg->host); /* config_cli freed what it loaded */
    cli_outcome_free(&outcome);
}

static void unknown_flag_returns_exit_error(void **state)
{
    struct test_config *cfg = *state;
    char *argv[] = {"updraft-test", "--foo=1", NULL};
    struct cli_outcome outcome;
    run_cli(cfg, argv, NULL, &outcome);
    assert_int_equal(outcome.result, CONFIG_CLI_EXIT_ERROR);
    assert_string_equal(outcome.err, "updraft-test: unknown option --foo (see --help)\n");
    assert_string_equal(outcome.out, "");
    cli_outcome_free(&outcome);
    char *positional[] = {"updraft-test", "hub.conf", NULL};
    run_cli(cfg, positional, NULL, &outcome);
    assert_int_equal(outcome.result, CONFIG_CLI_EXIT_ERROR);
    assert_string_equal(outcome.err, "updraft-test: unexpected argument hub.conf (see --help)\n");
    cli_outcome_free(&outcome);
}

static void flag_without_value_returns_exit_error(void **state)
{
    struct test_config *cfg = *state;
    char *argv[] = {"updraft-test", "--mqtt.port", NULL};
    struct cli_outcome outcome;
    run_cli(cfg, argv, NULL, &outcome);
    assert_int_equal(outcome.result, CONFIG_CLI_EXIT_ERROR);
    assert_string_equal(outcome.err, "updraft-test: --mqtt.port needs a value\n");
    cli_outcome_free(&outcome);
    char *config_argv[] = {"updraft-test", "--config", NULL};
    run_cli(cfg, config_argv, NULL, &outcome);
    assert_int_equal(outcome.result, CONFIG_CLI_EXIT_ERROR);
    assert_string_equal(outcome.err, "updraft-test: --config needs a FILE\n");
    cli_outcome_free(&outcome);
}

static void bad_flag_value_names_the_flag(void **state)
{
    struct test_config *cfg = *state;
    char *argv[] = {"updraft-test", "--mqtt.port=70000", NULL};
    struct cli_outcome outcome;
    run_cli(cfg, argv, NULL, &outcome);
    assert_int_equal(outcome.result, CONFIG_CLI_EXIT_ERROR);
    assert_string_equal(outcome.err, "updraft-test: --mqtt.port: 70000 is out of range 1..65535\n");
    cli_outcome_free(&outcome);
}

static void program_flags_set_their_bool(void **state)
{
    struct test_config *cfg = *state;
    char *argv[] = {"updraft-test", "--once", "--log.level", "warn", NULL};
    struct cli_outcome outcome;
    run_cli(cfg, argv, NULL, &outcome);
    assert_int_equal(outcome.result, CONFIG_CLI_RUN);
    assert_true(flag_once);
    assert_string_equal(cfg->level, "warn");
    assert_string_equal(cfg->host, "localhost");
    cli_outcome_free(&outcome);
}

/* ---- clock ---- */

static void parses_durations_in_every_unit(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t ms;
    } rows[] = {
        {"500ms", 500},  {"5s", 5000},      {"5", 5000}, {"15m", 900000},
        {"1h", 3600000}, {"7d", 604800000}, {"0s", 0},   {"0ms", 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int64_t ms = -1;
        assert_int_equal(clock_parse_duration_ms(rows[i].text, &ms), 0);
        assert_int_equal(ms, rows[i].ms);
    }
}

static void rejects_malformed_durations(void **state)
{
    (void)state;
    static const char *const rows[] = {"",    "s",    "5x",   "5 s",
                                       "-1s", "5sec", "1.5s", "99999999999999999d"};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int64_t ms = -1;
        assert_int_equal(clock_parse_duration_ms(rows[i], &ms), -EINVAL);
        assert_int_equal(ms, -1);
    }
}

static void formats_rfc3339_with_milliseconds_only_when_present(void **state)
{
    (void)state;
    char buf[32];
    assert_string_equal(clock_format_rfc3339(0, buf, sizeof buf), "1970-01-01T00:00:00Z");
    assert_string_equal(clock_format_rfc3339(1795321968123, buf, sizeof buf),
                        "2026-11-22T04:32:48.123Z");
    assert_string_equal(clock_format_rfc3339(1795321968000, buf, sizeof buf),
                        "2026-11-22T04:32:48Z");
    assert_string_equal(clock_format_rfc3339(1795321968007, buf, sizeof buf),
                        "2026-11-22T04:32:48.007Z");
}

/* ---- log ---- */

static void parses_log_levels_and_formats(void **state)
{
    (void)state;
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++) {
        enum log_level level = LOG_LEVEL_ERROR;
        assert_int_equal(log_level_parse(names[i], &level), 0);
        assert_int_equal(level, i);
    }
    enum log_level level = LOG_LEVEL_INFO;
    assert_int_equal(log_level_parse("warning", &level), -EINVAL);
    assert_int_equal(log_level_parse("INFO", &level), -EINVAL);
    assert_int_equal(log_level_parse("", &level), -EINVAL);
    assert_int_equal(level, LOG_LEVEL_INFO);
    enum log_format format = LOG_FORMAT_TEXT;
    assert_int_equal(log_format_parse("json", &format), 0);
    assert_int_equal(format, LOG_FORMAT_JSON);
    assert_int_equal(log_format_parse("text", &format), 0);
    assert_int_equal(format, LOG_FORMAT_TEXT);
    assert_int_equal(log_format_parse("xml", &format), -EINVAL);
}

static void ratelimit_allows_the_first_then_hands_back_the_suppressed_count(void **state)
{
    (void)state;
    struct log_ratelimit rl = {0};
    uint64_t suppressed = 99;
    assert_true(log_ratelimit_allow(&rl, 1000, 5000, &suppressed));
    assert_int_equal(suppressed, 0);
    assert_false(log_ratelimit_allow(&rl, 1001, 5000, &suppressed));
    assert_false(log_ratelimit_allow(&rl, 3000, 5000, &suppressed));
    assert_false(log_ratelimit_allow(&rl, 5999, 5000, &suppressed));
    assert_true(log_ratelimit_allow(&rl, 6000, 5000, &suppressed));
    assert_int_equal(suppressed, 3);
    assert_false(log_ratelimit_allow(&rl, 6001, 5000, &suppressed));
    assert_true(log_ratelimit_allow(&rl, 20000, 5000, &suppressed));
    assert_int_equal(suppressed, 1);
    struct log_ratelimit at_zero = {0};
    assert_true(log_ratelimit_allow(&at_zero, 0, 100, &suppressed));
    assert_false(log_ratelimit_allow(&at_zero, 0, 100, &suppressed));
}

static char *log_capture(enum log_format format, const char *journal, const char *message)
{
    if (journal != NULL)
        setenv("JOURNAL_STREAM", journal, 1);
    else
        unsetenv("JOURNAL_STREAM");
    log_setup("updraft-test", LOG_LEVEL_INFO, format);
    struct capture err;
    capture_start(&err, STDERR_FILENO);
    log_warn("%s", message);
    char *text = capture_stop(&err);
    unsetenv("JOURNAL_STREAM");
    log_setup("updraft-test", LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
    return text;
}

static void text_lines_have_utc_time_level_and_module(void **state)
{
    (void)state;
    char *text = log_capture(LOG_FORMAT_TEXT, NULL, "connection lost\nretrying");
    /* "2026-11-22T04:32:48.123Z warn  test: ..." */
    assert_int_equal(strlen(text), 24 + strlen(" warn  test: connection lost retrying\n"));
    assert_int_equal(text[4], '-');
    assert_int_equal(text[10], 'T');
    assert_int_equal(text[19], '.');
    assert_int_equal(text[23], 'Z');
    assert_string_equal(text + 24, " warn  test: connection lost retrying\n");
    free(text);
}

static void journal_lines_have_a_priority_prefix_and_no_time(void **state)
{
    (void)state;
    char *text = log_capture(LOG_FORMAT_TEXT, "8:1234", "disk full");
    assert_string_equal(text, "<4>warn  test: disk full\n");
    free(text);
}

static void json_lines_escape_strings(void **state)
{
    (void)state;
    char *text = log_capture(LOG_FORMAT_JSON, NULL, "say \"hi\"\\\n\t\x01 caf\xc3\xa9 \xff");
    assert_true(strncmp(text, "{\"ts\":\"", 7) == 0);
    assert_non_null(strstr(text, "Z\",\"level\":\"warn\",\"program\":\"updraft-test\","
                                 "\"module\":\"test\",\"msg\":\"say \\\"hi\\\"\\\\\\n\\t\\u0001 "
                                 "caf\xc3\xa9 \\ufffd\"}\n"));
    free(text);
}

static void long_messages_are_cut_with_an_ellipsis(void **state)
{
    (void)state;
    char *long_message = malloc(5000);
    assert_non_null(long_message);
    memset(long_message, '"', 4999);
    long_message[4999] = '\0';
    char *text = log_capture(LOG_FORMAT_TEXT, NULL, long_message);
    size_t len = strlen(text);
    assert_true(len <= 2048);
    assert_string_equal(text + len - 5, "\"...\n");
    free(text);
    text = log_capture(LOG_FORMAT_JSON, NULL, long_message);
    len = strlen(text);
    assert_true(len <= 2048);
    assert_string_equal(text + len - 8, "\\\"...\"}\n");
    free(text);
    free(long_message);
}

static int evaluations;

static int count_evaluation(void)
{
    return ++evaluations;
}

static void log_macros_skip_their_arguments_below_the_threshold(void **state)
{
    (void)state;
    evaluations = 0;
    log_debug("never %d", count_evaluation());
    assert_int_equal(evaluations, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(defaults_are_parsed_from_their_text, cfg_setup,
                                        cfg_teardown),
        cmocka_unit_test(bad_default_fails_naming_the_option),
        cmocka_unit_test_setup_teardown(file_overrides_defaults, cfg_setup, cfg_teardown),
        cmocka_unit_test_setup_teardown(env_overrides_file, cfg_setup, cfg_teardown),
        cmocka_unit_test_setup_teardown(flags_override_env, cfg_setup, cfg_teardown),
        cmocka_unit_test_setup_teardown(env_variables_for_other_programs_are_ignored, cfg_setup,
                                        cfg_teardown),
        cmocka_unit_test_setup_teardown(env_error_names_the_variable, cfg_setup, cfg_teardown),
        cmocka_unit_test_setup_teardown(strings_set_again_replace_the_previous_value, cfg_setup,
                                        cfg_teardown),
        cmocka_unit_test(config_free_accepts_a_zeroed_config_and_nulls_strings),
        cmocka_unit_test_setup_teardown(quoted_values_keep_spaces_and_comment_characters, cfg_setup,
                                        cfg_teardown),
        cmocka_unit_test_setup_teardown(inline_comments_end_unquoted_values, cfg_setup,
                                        cfg_teardown),
        cmocka_unit_test_setup_teardown(comments_blank_lines_and_crlf_are_accepted, cfg_setup,
                                        cfg_teardown),
        cmocka_unit_test_setup_teardown(load_text_names_its_source_and_needs_no_terminator,
                                        cfg_setup, cfg_teardown),
        cmocka_unit_test_setup_teardown(empty_value_sets_an_empty_string, cfg_setup, cfg_teardown),
        cmocka_unit_test(rejects_unknown_section_with_file_and_line),
        cmocka_unit_test(rejects_unknown_key_with_file_and_line),
        cmocka_unit_test(rejects_duplicate_key_naming_the_first_line),
        cmocka_unit_test(rejects_key_before_any_section),
        cmocka_unit_test(rejects_malformed_lines),
        cmocka_unit_test(rejects_overlong_lines),
        cmocka_unit_test(rejects_bad_values_saying_the_expected_form),
        cmocka_unit_test(rejects_out_of_range_printing_the_range_in_units),
        cmocka_unit_test(rejects_strings_too_long_or_too_short_without_echoing_them),
        cmocka_unit_test(rejects_enum_values_listing_the_choices),
        cmocka_unit_test_setup_teardown(config_set_rejects_unknown_keys, cfg_setup, cfg_teardown),
        cmocka_unit_test_setup_teardown(missing_config_file_is_an_error_naming_the_path, cfg_setup,
                                        cfg_teardown),
        cmocka_unit_test_setup_teardown(file_errors_carry_the_path_and_line, cfg_setup,
                                        cfg_teardown),
        cmocka_unit_test_setup_teardown(parses_sizes_in_binary_and_decimal_units, cfg_setup,
                                        cfg_teardown),
        cmocka_unit_test_setup_teardown(parses_booleans_in_every_spelling, cfg_setup, cfg_teardown),
        cmocka_unit_test_setup_teardown(printed_config_loads_back_to_the_same_values, cfg_setup,
                                        cfg_teardown),
        cmocka_unit_test_setup_teardown(printed_config_masks_secrets, cfg_setup, cfg_teardown),
        cmocka_unit_test_setup_teardown(print_uses_the_largest_exact_unit, cfg_setup, cfg_teardown),
        cmocka_unit_test(print_help_lists_every_option_with_default_and_range),
        cmocka_unit_test_setup_teardown(help_prints_usage_and_returns_exit_ok, cfg_setup,
                                        cfg_teardown),
        cmocka_unit_test_setup_teardown(version_prints_name_and_version_and_returns_exit_ok,
                                        cfg_setup, cfg_teardown),
        cmocka_unit_test_setup_teardown(print_config_shows_everything_applied_and_returns_exit_ok,
                                        cfg_setup, cfg_teardown),
        cmocka_unit_test_setup_teardown(unknown_flag_returns_exit_error, cfg_setup, cfg_teardown),
        cmocka_unit_test_setup_teardown(flag_without_value_returns_exit_error, cfg_setup,
                                        cfg_teardown),
        cmocka_unit_test_setup_teardown(bad_flag_value_names_the_flag, cfg_setup, cfg_teardown),
        cmocka_unit_test_setup_teardown(program_flags_set_their_bool, cfg_setup, cfg_teardown),
        cmocka_unit_test(parses_durations_in_every_unit),
        cmocka_unit_test(rejects_malformed_durations),
        cmocka_unit_test(formats_rfc3339_with_milliseconds_only_when_present),
        cmocka_unit_test(parses_log_levels_and_formats),
        cmocka_unit_test(ratelimit_allows_the_first_then_hands_back_the_suppressed_count),
        cmocka_unit_test(text_lines_have_utc_time_level_and_module),
        cmocka_unit_test(journal_lines_have_a_priority_prefix_and_no_time),
        cmocka_unit_test(json_lines_escape_strings),
        cmocka_unit_test(long_messages_are_cut_with_an_ellipsis),
        cmocka_unit_test(log_macros_skip_their_arguments_below_the_threshold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
