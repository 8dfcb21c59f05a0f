/* Fixture trees for the unit tests (see fixture_tree.h). */
#include "tests/support/fixture_tree.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edge-agent/batch.h"

const char *fixture_tree_dir(void)
{
    const char *dir = getenv("FIXTURES_DIR");

    return (dir != NULL && dir[0] != '\0') ? dir : "tests/fixtures";
}

int fixture_tree_mkdtemp(char *dir, size_t size, const char *name)
{
    int len = snprintf(dir, size, "/tmp/updraft-test-%s-XXXXXX", name);

    if (len < 0 || (size_t)len >= size || mkdtemp(dir) == NULL)
        return -1;
    return 0;
}

int fixture_tree_open(char *dir, size_t size, const char *name, int64_t now_ms,
                      struct metric_batch **batch)
{
    struct metric_batch *made = calloc(1, sizeof(*made));

    if (made == NULL || fixture_tree_mkdtemp(dir, size, name) != 0) {
        free(made);
        return -1;
    }
    metric_batch_reset(made, now_ms);
    *batch = made;
    return 0;
}

void fixture_tree_close(const char *dir, struct metric_batch *batch)
{
    fixture_tree_remove(dir);
    free(batch);
}

void fixture_tree_remove(const char *path)
{
    DIR *dir = opendir(path);
    struct dirent *entry;
    char child[512];

    if (dir != NULL) {
        while ((entry = readdir(dir)) != NULL) {
            struct stat st;

            if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
                continue;
            (void)snprintf(child, sizeof(child), "%s/%s", path, entry->d_name);
            if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
                fixture_tree_remove(child);
            else
                (void)unlink(child);
        }
        closedir(dir);
    }
    (void)rmdir(path);
}

void fixture_tree_path(const char *kind, const char *tree, char *out, size_t size)
{
    char relative[PATH_MAX];

    (void)snprintf(relative, sizeof(relative), "%s/%s/%s", fixture_tree_dir(), kind, tree);
    if (size < PATH_MAX || realpath(relative, out) == NULL)
        fail_msg("fixture tree %s not found (run from the repository root or set FIXTURES_DIR)",
                 relative);
}

void fixture_tree_link(const char *link, const char *kind, const char *tree)
{
    char absolute[PATH_MAX];

    fixture_tree_path(kind, tree, absolute, sizeof(absolute));
    (void)unlink(link);
    assert_int_equal(symlink(absolute, link), 0);
}

void fixture_tree_copy_file(const char *from, const char *to)
{
    char chunk[4096];
    size_t got;
    FILE *in = fopen(from, "rb");
    FILE *out;

    if (in == NULL)
        fail_msg("cannot open fixture %s (run from the repository root or set FIXTURES_DIR)", from);
    out = fopen(to, "wb");
    assert_non_null(out);
    while ((got = fread(chunk, 1, sizeof(chunk), in)) > 0)
        assert_int_equal(fwrite(chunk, 1, got, out), got);
    assert_int_equal(fclose(in), 0);
    assert_int_equal(fclose(out), 0);
}

void fixture_tree_copy(const char *dir, const char *tree, const char *const *files, size_t count,
                       bool remove_missing)
{
    char from[512];
    char to[512];
    int copied = 0;

    for (size_t i = 0; i < count; i++) {
        (void)snprintf(from, sizeof(from), "%s/proc/%s/%s", fixture_tree_dir(), tree, files[i]);
        (void)snprintf(to, sizeof(to), "%s/%s", dir, files[i]);
        if (access(from, F_OK) == 0) {
            fixture_tree_copy_file(from, to);
            copied++;
        } else if (remove_missing) {
            (void)unlink(to);
        }
    }
    if (copied == 0)
        fail_msg("fixture tree %s/proc/%s not found (run from the repository root or set "
                 "FIXTURES_DIR)",
                 fixture_tree_dir(), tree);
}

void fixture_tree_write(const char *dir, const char *file, const char *text, size_t len)
{
    char path[512];
    FILE *out;

    (void)snprintf(path, sizeof(path), "%s/%s", dir, file);
    out = fopen(path, "wb");
    assert_non_null(out);
    assert_int_equal(fwrite(text, 1, len, out), len);
    assert_int_equal(fclose(out), 0);
}
