/*
 * fuzz_addr.c - libFuzzer target: envelope paths, domains and IP addresses
 * as an MTA (or a hostile client through it) can send them.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "addr.h"
#include "cidr.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Feed one input, NUL-terminated, to every parser of untrusted text. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[1024], out[ADDR_MAX], escaped[LOG_VALUE_BUF];
    struct addr_path path;
    struct ip_addr ip;
    struct cidr prefix;
    const char *err;

    if (size >= sizeof(text))
        size = sizeof(text) - 1;
    memcpy(text, data, size);
    text[size] = '\0';
    addr_parse_path(text, &path);
    addr_normalize_domain(text, size, out, sizeof(out), &err);
    addr_normalize_pattern(text, out, sizeof(out), &err);
    addr_normalize_address(text, out, sizeof(out), &err);
    if (ip_parse(text, &ip))
        ip_format(&ip, out, sizeof(out));
    cidr_parse(text, &prefix, &err);
    log_value(text, escaped, sizeof(escaped));
    return 0;
}
