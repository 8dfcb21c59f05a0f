/* libFuzzer target for export download tokens (hub/export_token.c, common/base64url.c): any
 * bytes as token text must be refused or accepted without a crash or sanitizer report; the
 * same bytes signed with the right key (to get past the MAC into the layout parser) must
 * either be refused or give fields within their bounds that sign back to the same token. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64url.h"
#include "common/sha256.h"
#include "hub/export_token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t KEY[] = "fuzz-key-fuzz-key-fuzz-key-32by";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct export_token t;
    char text[2 * EXPORT_TOKEN_MAX];
    if (size < sizeof text) {
        memcpy(text, data, size);
        text[size] = '\0';
        (void)export_token_verify(text, KEY, sizeof KEY, 0, &t);
    }
    uint8_t bytes[EXPORT_TOKEN_MAX];
    if (size + SHA256_DIGEST_BYTES > sizeof bytes)
        return 0;
    memcpy(bytes, data, size);
    sha256_hmac(KEY, sizeof KEY, data, size, bytes + size);
    if (base64url_encode(bytes, size + SHA256_DIGEST_BYTES, text, sizeof text) != 0)
        return 0;
    int rc = export_token_verify(text, KEY, sizeof KEY, 0, &t);
    if (rc == -EBADMSG)
        return 0;
    if ((rc != 0 && rc != -EKEYEXPIRED) || strlen(t.host) == 0 || strlen(t.host) > 64 ||
        strlen(t.metric) == 0 || strlen(t.metric) > 256 || strlen(t.labels) > 512 ||
        t.from_ms >= t.to_ms)
        abort();
    char again[EXPORT_TOKEN_MAX];
    if (export_token_sign(&t, KEY, sizeof KEY, again, sizeof again) != 0 ||
        strcmp(again, text) != 0)
        abort(); /* a parsed token must be exactly what signing its fields gives */
    return 0;
}
