/* Fixture trees for the collector and scanner unit tests (linked into every unit-test
 * binary): a temporary directory standing in for proc_root, filled with copies of or a
 * symlink to tests/fixtures/<kind>/<tree> (or under $FIXTURES_DIR). Failures are cmocka
 * failures of the calling test. Not thread-safe. */
#ifndef UPDRAFT_TESTS_SUPPORT_FIXTURE_TREE_H
#define UPDRAFT_TESTS_SUPPORT_FIXTURE_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct metric_batch;

/* $FIXTURES_DIR when set and not empty, else "tests/fixtures". */
const char *fixture_tree_dir(void);

/* Creates /tmp/updraft-test-<name>-XXXXXX into dir (size bytes). 0, or -1 on failure. */
int fixture_tree_mkdtemp(char *dir, size_t size, const char *name);

/* Allocates *batch (reset to now_ms) and creates the directory of fixture_tree_mkdtemp.
 * 0, or -1 with nothing left allocated. Release both with fixture_tree_close. */
int fixture_tree_open(char *dir, size_t size, const char *name, int64_t now_ms,
                      struct metric_batch **batch);

/* Removes dir (fixture_tree_remove) and frees batch; batch may be NULL. */
void fixture_tree_close(const char *dir, struct metric_batch *batch);

/* Removes path and everything below it; what cannot be removed stays. */
void fixture_tree_remove(const char *path);

/* Writes the realpath of <fixtures>/<kind>/<tree> into out (size >= PATH_MAX); fails the
 * test when the tree does not exist. */
void fixture_tree_path(const char *kind, const char *tree, char *out, size_t size);

/* Makes link a symlink to <fixtures>/<kind>/<tree>, replacing what was there. */
void fixture_tree_link(const char *link, const char *kind, const char *tree);

/* Copies the file from to the file to. */
void fixture_tree_copy_file(const char *from, const char *to);

/* Copies each of files[0..count) that <fixtures>/proc/<tree> has into dir; with
 * remove_missing the others are removed from dir. Fails the test when the tree has none. */
void fixture_tree_copy(const char *dir, const char *tree, const char *const *files, size_t count,
                       bool remove_missing);

/* Writes len bytes of text to <dir>/<file>. */
void fixture_tree_write(const char *dir, const char *file, const char *text, size_t len);

#endif
