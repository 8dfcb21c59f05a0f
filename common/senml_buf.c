/* The output buffer of the SenML encoders (struct senml_buf, see senml_json.h and
 * senml_internal.h): grows by doubling, keeps its bytes NUL-terminated. Pure; thread-safe (no
 * shared state). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/senml_internal.h"
#include "common/senml_json.h"

void senml_buf_free(struct senml_buf *buf)
{
    if (buf == NULL)
        return;
    free(buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
}

int senml_buf_reserve(struct senml_buf *buf, size_t n)
{
    size_t cap;
    char *data;

    if (n >= SIZE_MAX - buf->len)
        return -ENOMEM;
    if (buf->len + n + 1 <= buf->cap)
        return 0;
    cap = buf->cap != 0 ? buf->cap : 256;
    while (cap < buf->len + n + 1)
        cap = cap > SIZE_MAX / 2 ? buf->len + n + 1 : cap * 2;
    data = realloc(buf->data, cap);
    if (data == NULL)
        return -ENOMEM;
    buf->data = data;
    buf->cap = cap;
    return 0;
}

int senml_buf_put(struct senml_buf *buf, const void *bytes, size_t n)
{
    int ret = senml_buf_reserve(buf, n);

    if (ret != 0)
        return ret;
    if (n > 0)
        memcpy(buf->data + buf->len, bytes, n);
    buf->len += n;
    buf->data[buf->len] = '\0';
    return 0;
}

void senml_buf_truncate(struct senml_buf *buf, size_t len)
{
    if (buf->data == NULL)
        return;
    buf->len = len;
    buf->data[len] = '\0';
}
