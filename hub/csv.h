/* CSV text as RFC 4180 writes it: fields joined by ',', each row ending in CRLF; a field that
 * holds ',', '"', CR or LF is put in double quotes with its quotes doubled; anything else
 * (empty, spaces, UTF-8) is written as it is. Also the number text of export cells. Pure: no
 * I/O, no allocation; thread-safe. */
#ifndef UPDRAFT_HUB_CSV_H
#define UPDRAFT_HUB_CSV_H

#include <stddef.h>

/* Longest text csv_number_format writes, with the NUL. */
#define CSV_NUMBER_MAX 32

/* One cell of a row: len bytes at text (need not be NUL-terminated; may hold NULs). */
struct csv_field {
    const char *text;
    size_t len;
};

/* Bytes csv_row_write writes for these n fields, CRLF included. */
size_t csv_row_size(const struct csv_field *fields, size_t n);

/* Writes the row (quoting as above, CRLF at the end) to out, which has room for
 * csv_row_size(fields, n) bytes; no NUL is added. Returns the bytes written. */
size_t csv_row_write(char *out, const struct csv_field *fields, size_t n);

/* The shortest "%.15g" / "%.16g" / "%.17g" text of value that reads back (strtod) as the same
 * double: 0.1 stays "0.1", and no value loses a bit. NaN and infinities give "NaN", "Inf",
 * "-Inf". out_size >= CSV_NUMBER_MAX. Returns out. */
char *csv_number_format(double value, char *out, size_t out_size);

#endif
