/* Helpers shared by the SenML JSON and CBOR codec unit tests (linked into every unit-test
 * binary): building packs by hand, comparing optional strings, reading the RFC 8428
 * vectors. Failures are cmocka failures of the calling test. Not thread-safe. */
#ifndef UPDRAFT_TESTS_SUPPORT_SENML_FIXTURE_H
#define UPDRAFT_TESTS_SUPPORT_SENML_FIXTURE_H

#include <glob.h>
#include <stddef.h>

#include "common/senml.h"

#define SENML_FIXTURE_UNCHECKED ((size_t)-1)

/* An input a decoder must refuse, and the error it must give. */
struct senml_refusal {
    const char *input; /* JSON text, or CBOR written as hex */
    int code;
    enum senml_error_kind kind;
    long index;
    const char *field;
    const char *reason;
    size_t offset; /* SENML_FIXTURE_UNCHECKED to skip */
};

/* A pack of count zeroed records (room for one more); free with senml_pack_free. */
struct senml_pack *senml_fixture_pack_new(size_t count);

/* A malloc'd copy of text, or NULL for NULL. */
char *senml_fixture_strdup(const char *text);

/* Appends the label key=value (copied) to rec. */
void senml_fixture_label_add(struct senml_record *rec, const char *key, const char *value);

/* got is NULL when want is, else the same string. */
void senml_fixture_assert_string(const char *got, const char *want);

/* The whole file, NUL-terminated, its length in *len (caller frees); NULL if unreadable. */
char *senml_fixture_read_file(const char *path, size_t *len);

/* The vector files named ...<suffix> in $SENML_VECTORS_DIR (default ../shared/senml-rfc8428);
 * fails the test when there are none. Release with globfree. */
void senml_fixture_vectors(const char *suffix, glob_t *found);

/* Fails the test, naming row number i, unless ret and err are what row wants. */
void senml_fixture_check_refusal(const struct senml_refusal *row, size_t i, int ret,
                                 const struct senml_error *err);

#endif
