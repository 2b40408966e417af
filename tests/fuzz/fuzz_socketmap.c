/*
 * fuzz_socketmap.c - libFuzzer target: a byte stream from a socketmap
 * client (Postfix, or anything that can reach policy_socket), through a
 * policyconn (netstring framing across reads, pipelining, back-pressure)
 * and policymap_answer(), against the shipped example configuration (or
 * $FUZZ_CONFIG).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "netstring.h"
#include "policyconn.h"
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

/* The server's answer function, without logging. */
static bool fuzz_answer(void *ctx, const char *request, char *reply, size_t replysz)
{
    (void)ctx;
    return policymap_answer(fuzz_config(), request, reply, replysz) != POLICYMAP_BAD_REQUEST;
}

/*
 * Read every netstring of the input and answer it, as the server does:
 * through a policyconn, in reads whose size the first byte chooses, with
 * a client that reads its replies a few bytes at a time.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct policyconn conn;
    const char *in = (const char *)data;
    size_t chunk = size > 0 ? (size_t)data[0] % 64 + 1 : 1;
    int64_t now = 0;

    policyconn_init(&conn, now);
    for (int rounds = 0; rounds < 1000000 && !policyconn_done(&conn); rounds++) {
        size_t len;
        if (policyconn_output(&conn, &len) != NULL)
            policyconn_sent(&conn, len < chunk * 7 ? len : chunk * 7, now);
        if (policyconn_wants_read(&conn)) {
            size_t n = size < chunk ? size : chunk;
            if (n > 0)
                memcpy(policyconn_read_buffer(&conn), in, n);
            policyconn_received(&conn, n);
            in += n;
            size -= n;
        }
        policyconn_process(&conn, fuzz_answer, NULL, ++now);
        if (now >= policyconn_deadline(&conn) && policyconn_output(&conn, &len) == NULL)
            break;
    }
    return 0;
}
