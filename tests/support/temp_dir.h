/* Temporary directories for the unit tests that keep files (linked into every unit-test
 * binary): made under /tmp and removed with everything in them. Failures are cmocka failures
 * of the calling test. Not thread-safe. */
#ifndef UPDRAFT_TESTS_SUPPORT_TEMP_DIR_H
#define UPDRAFT_TESTS_SUPPORT_TEMP_DIR_H

#include <stddef.h>

/* Creates /tmp/updraft-<name>-XXXXXX into dir (size bytes); with file, <dir>/<file> goes into
 * path (path_size bytes). */
void temp_dir_make(const char *name, char *dir, size_t size, const char *file, char *path,
                   size_t path_size);

/* Removes dir and everything in it (rm -rf); fails the test unless that succeeds. */
void temp_dir_remove(const char *dir);

#endif
