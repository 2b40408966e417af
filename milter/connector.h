/*
 * connector.h - forcetls connector: a ready-to-paste inbound and outbound
 * connector written from a partner's real certificate, read from a PEM
 * file (--cert) or from the partner's server over STARTTLS (--probe).
 */
#ifndef FORCETLS_CONNECTOR_H
#define FORCETLS_CONNECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "certinfo.h"

#define CONNECTOR_SYNOPSIS \
    "forcetls connector (--cert FILE | --probe HOST[:PORT]) [--CAfile FILE]\n" \
    "                          [--timeout SECONDS] [--name NAME] [--helo NAME]"

/* The default and the largest --timeout, in seconds. */
#define CONNECTOR_TIMEOUT_DEFAULT 10
#define CONNECTOR_TIMEOUT_MAX 3600

/* What the printer needs besides the certificate's facts. */
struct connector_source {
    const char *cert_file;       /* --cert FILE, or NULL */
    const char *probe_target;    /* --probe HOST[:PORT] as given, or NULL */
    const char *probe_address;   /* the address that answered */
    const char *probe_host;      /* the probed host when it is a name */
    bool host_covered;           /* the leaf is valid for probe_host */
    const char *cafile;          /* --CAfile, or NULL */
    const char *name;            /* --name, or NULL: from the certificate */
    int64_t now;                 /* UTC seconds: expired or not yet valid */
    /* The TLS session of a probe (probe_target set). */
    const char *tls_version;
    const char *tls_cipher;
    int tls_bits;
    bool forward_secret;
};

/*
 * Write len bytes of s as a libconfig string: in double quotes, with \\,
 * \" and every byte outside printable ASCII as \xHH, so that libconfig
 * reads back exactly those bytes (and the text stays on one line).
 */
void connector_quote(FILE *out, const char *s, size_t len);

/*
 * Print the facts header and the inbound and outbound blocks for info to
 * out. False when --name (src->name) is not a valid connector name; err
 * then holds the message.
 */
bool connector_print(const struct certinfo *info,
                     const struct connector_source *src, FILE *out,
                     char *err, size_t errsz);

/* The usage of connector. */
void connector_usage(FILE *out);

/* forcetls connector ARGS: the exit status (0 printed, 1 an error). */
int connector_main(int argc, char **argv);

#endif
