/* Temporary directories for the unit tests (see temp_dir.h). */
#include "tests/support/temp_dir.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

void temp_dir_make(const char *name, char *dir, size_t size, const char *file, char *path,
                   size_t path_size)
{
    snprintf(dir, size, "/tmp/updraft-%s-XXXXXX", name);
    assert_non_null(mkdtemp(dir));
    if (file != NULL)
        snprintf(path, path_size, "%s/%s", dir, file);
}

void temp_dir_remove(const char *dir)
{
    char cmd[128];

    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}
