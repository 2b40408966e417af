/*
 * fuzz_socketmap.c - libFuzzer target: a byte stream from a socketmap
 * client (Postfix, or anything that can reach policy_socket), through the
 * netstring reader and policymap_answer(), against the shipped example
 * configuration (or $FUZZ_CONFIG).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "netstring.h"
#include "policymap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The configuration every input is answered from, loaded once. */
static const struct config *fuzz_config(void)
{
    static struct config *config;
    static int tried;

    if (!tried) {
        char path[4096];
        const char *env = getenv("FUZZ_CONFIG");
        const char *top = getenv("top_srcdir");
        struct config_error err;

        tried = 1;
        if (env != NULL)
            snprintf(path, sizeof(path), "%s", env);
        else
            snprintf(path, sizeof(path), "%s/conf/forcetls.conf", top ? top : ".");
        config = config_load(path, &err);
        if (config == NULL)
            fprintf(stderr, "fuzz_socketmap: %s (answering without a configuration)\n",
                    err.text);
    }
    return config;
}

/* Read every netstring of the input and answer it, as the server does. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct netstring_reader reader;
    const char *in = (const char *)data;

    netstring_reader_init(&reader, NETSTRING_MAX);
    while (size > 0) {
        char reply[POLICYMAP_REPLY_MAX], framed[POLICYMAP_REPLY_MAX + 16];
        size_t used = 0, len;
        enum netstring_status st = netstring_feed(&reader, in, size, &used);

        in += used;
        size -= used;
        if (st != NETSTRING_OK)
            break;
        policymap_answer(fuzz_config(), netstring_payload(&reader, &len), reply,
                         sizeof(reply));
        netstring_encode(reply, strnlen(reply, sizeof(reply)), framed, sizeof(framed));
    }
    return 0;
}
