/* SenML codec test helpers (see senml_fixture.h). */
#include "tests/support/senml_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct senml_pack *senml_fixture_pack_new(size_t count)
{
    struct senml_pack *pack = calloc(1, sizeof *pack);

    assert_non_null(pack);
    pack->records = calloc(count + 1, sizeof *pack->records);
    assert_non_null(pack->records);
    pack->count = count;
    return pack;
}

char *senml_fixture_strdup(const char *text)
{
    char *copy = text != NULL ? strdup(text) : NULL;

    assert_true(text == NULL || copy != NULL);
    return copy;
}

void senml_fixture_label_add(struct senml_record *rec, const char *key, const char *value)
{
    rec->labels[rec->label_count].key = senml_fixture_strdup(key);
    rec->labels[rec->label_count].value = senml_fixture_strdup(value);
    rec->label_count++;
}

void senml_fixture_assert_string(const char *got, const char *want)
{
    if (want == NULL) {
        assert_null(got);
    } else {
        assert_non_null(got);
        assert_string_equal(got, want);
    }
}

char *senml_fixture_read_file(const char *path, size_t *len)
{
    FILE *file = fopen(path, "rb");
    char *data = NULL;
    long size;

    if (file == NULL)
        return NULL;
    if (fseek(file, 0, SEEK_END) == 0 && (size = ftell(file)) >= 0 &&
        fseek(file, 0, SEEK_SET) == 0) {
        data = malloc((size_t)size + 1);
        assert_non_null(data);
        assert_int_equal(fread(data, 1, (size_t)size, file), (size_t)size);
        data[size] = '\0';
        *len = (size_t)size;
    }
    fclose(file);
    return data;
}

void senml_fixture_vectors(const char *suffix, glob_t *found)
{
    const char *dir = getenv("SENML_VECTORS_DIR");
    char pattern[4096];

    snprintf(pattern, sizeof pattern, "%s/*%s",
             dir != NULL && dir[0] != '\0' ? dir : "../shared/senml-rfc8428", suffix);
    assert_int_equal(glob(pattern, 0, NULL, found), 0);
}

void senml_fixture_check_refusal(const struct senml_refusal *row, size_t i, int ret,
                                 const struct senml_error *err)
{
    if (ret != row->code || err->kind != row->kind || err->index != row->index ||
        strcmp(err->field, row->field) != 0 || strcmp(err->reason, row->reason) != 0 ||
        (row->offset != SENML_FIXTURE_UNCHECKED && err->offset != row->offset))
        fail_msg(
            "row %zu: %.200s\n  want %d, kind %d, index %ld, field \"%s\", \"%s\", offset %zu\n"
            "  got  %d, kind %d, index %ld, field \"%s\", \"%s\", offset %zu",
            i, row->input, row->code, row->kind, row->index, row->field, row->reason, row->offset,
            ret, err->kind, err->index, err->field, err->reason, err->offset);
}
