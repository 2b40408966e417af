/*
 * fuzz_tlsfacts.c - libFuzzer target: TLS macros as Postfix or Sendmail
 * pass them. The input is split at NUL bytes into the eight macro values.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tlsfacts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Split buf (NUL-terminated pieces) into at most max values. */
static size_t split_values(char *buf, size_t len, const char **values, size_t max)
{
    size_t n = 0, start = 0;

    for (size_t i = 0; i <= len && n < max; i++) {
        if (i == len || buf[i] == '\0') {
            buf[i] = '\0';
            values[n++] = buf + start;
            start = i + 1;
        }
    }
    return n;
}

/* Normalise one set of macros in every dialect. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    char buf[2048], decoded[256];
    const char *v[8] = { NULL };
    struct tls_facts facts;

    if (!ready)
        ready = tlsfacts_init();
    if (size >= sizeof(buf))
        size = sizeof(buf) - 1;
    memcpy(buf, data, size);
    buf[size] = '\0';
    split_values(buf, size, v, 8);
    const struct tls_macros m = {
        .tls_version = v[0], .cipher = v[1], .cipher_bits = v[2],
        .cert_subject = v[3], .cert_issuer = v[4], .verify = v[5],
        .cn_subject = v[6], .cn_issuer = v[7],
    };
    for (int d = MTA_UNKNOWN; d <= MTA_SENDMAIL; d++)
        tlsfacts_from_macros(&facts, (enum mta_dialect)d, &m);
    if (v[0] != NULL) {
        tlsfacts_xtext_decode(v[0], decoded, sizeof(decoded));
        tlsfacts_cipher_is_forward_secret(v[0]);
        tlsfacts_dialect(v[0]);
    }
    return 0;
}
