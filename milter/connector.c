/*
 * connector.c - forcetls connector: the command line, and the steps from
 * a PEM file or a probed server to the printed connector blocks.
 *
 * Owns: the options (--cert, --probe, --CAfile, --timeout, --name,
 * --helo; "--opt VALUE" or "--opt=VALUE"), the default EHLO name, and the
 * one-line errors: "forcetls: ..." on stderr and exit 1 for a bad option,
 * an unreadable file, a failed probe, or output that cannot be written.
 *
 * Must not: print anything on stdout before every step succeeded (a
 * half-written block must never be pasted), or read the certificate,
 * speak SMTP or lay out the output itself (certinfo.c, probe.c,
 * connector_block.c).
 *
 * Threads: a command-line program; single-threaded. It ignores SIGPIPE
 * (a probed server may close its end while we write).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509v3.h>

#include "addr.h"
#include "config_syntax.h"
#include "connector.h"
#include "log.h"
#include "probe.h"
#include "tlsfacts.h"

/* The options of one run. */
struct options {
    const char *cert, *probe, *cafile, *name, *helo;
    long timeout_s;
};

/* Print the usage of connector. */
void connector_usage(FILE *out)
{
    fprintf(out, "usage: %s\n", CONNECTOR_SYNOPSIS);
    fprintf(out,
            "  --cert FILE       the partner's certificate (PEM, leaf first,"
            " chain allowed)\n"
            "  --probe HOST[:PORT]  read it from the partner's server over"
            " STARTTLS (port 25)\n"
            "  --CAfile FILE     verify the chain and name its root\n"
            "  --timeout SECONDS the whole probe (default %d)\n"
            "  --name NAME       the connectors' name (default: the CN's"
            " parent domain)\n"
            "  --helo NAME       the EHLO name of the probe (default: this"
            " host's name)\n", CONNECTOR_TIMEOUT_DEFAULT);
}

/* A one-line error, its argument escaped; returns 1 (the exit status). */
static int error_value(const char *what, const char *value)
{
    char esc[LOG_VALUE_BUF];

    log_value(value, esc, sizeof esc);
    fprintf(stderr, "forcetls: connector: %s %s\n", what, esc);
    return 1;
}

/* Parse --timeout's value: whole seconds, 1 to CONNECTOR_TIMEOUT_MAX. */
static bool parse_timeout(const char *text, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 ||
        v < 1 || v > CONNECTOR_TIMEOUT_MAX)
        return false;
    *out = v;
    return true;
}

/* The value of option name in argv at *i ("--opt V" or "--opt=V"), or NULL. */
static const char *option_value(int argc, char **argv, int *i, const char *name,
                                bool *matched)
{
    size_t n = strlen(name);
    const char *a = argv[*i];

    *matched = false;
    if (strncmp(a, name, n) != 0 || (a[n] != '\0' && a[n] != '='))
        return NULL;
    *matched = true;
    if (a[n] == '=')
        return a + n + 1;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

/* Parse the words after "connector"; 0 ok, 1 error (printed), 2 help. */
static int parse_options(int argc, char **argv, struct options *o)
{
    static const char *const names[] = {
        "--cert", "--probe", "--CAfile", "--timeout", "--name", "--helo",
    };
    const char **slots[] = { &o->cert, &o->probe, &o->cafile, NULL, &o->name,
                             &o->helo };
    const char *timeout = NULL, *why;

    memset(o, 0, sizeof *o);
    o->timeout_s = CONNECTOR_TIMEOUT_DEFAULT;
    for (int i = 0; i < argc; i++) {
        bool matched = false;
        size_t k;

        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 2;
        for (k = 0; k < sizeof names / sizeof names[0]; k++) {
            const char *v = option_value(argc, argv, &i, names[k], &matched);

            if (!matched)
                continue;
            if (v == NULL || v[0] == '\0') {
                fprintf(stderr, "forcetls: connector: %s needs a value\n",
                        names[k]);
                return 1;
            }
            if ((slots[k] != NULL ? *slots[k] : timeout) != NULL) {
                fprintf(stderr, "forcetls: connector: %s given twice\n",
                        names[k]);
                return 1;
            }
            *(slots[k] != NULL ? slots[k] : &timeout) = v;
            break;
        }
        if (!matched)
            return error_value("unknown option", argv[i]);
    }
    if ((o->cert == NULL) == (o->probe == NULL)) {
        fprintf(stderr, "forcetls: connector: give one of --cert FILE and"
                " --probe HOST[:PORT]\n");
        return 1;
    }
    if (timeout != NULL && !parse_timeout(timeout, &o->timeout_s))
        return error_value("--timeout: want whole seconds from 1 to "
                           "3600, got", timeout);
    if (o->name != NULL && !syntax_connector_name(o->name, &why)) {
        fprintf(stderr, "forcetls: connector: --name: %s\n", why);
        return 1;
    }
    if (o->helo != NULL)
        for (const char *p = o->helo; *p != '\0'; p++)
            if (*p <= ' ' || *p >= 0x7f || strlen(o->helo) > 255)
                return error_value("--helo: want a host name, got", o->helo);
    return 0;
}

/* This host's name for EHLO when it is a usable domain, else "localhost". */
static void default_helo(char *out, size_t outsz)
{
    char host[256], norm[ADDR_DOMAIN_MAX];

    if (gethostname(host, sizeof host) != 0)
        host[0] = '\0';
    host[sizeof host - 1] = '\0';
    if (host[0] != '\0' && addr_normalize_domain(host, strlen(host), norm,
                                                 sizeof norm, NULL))
        snprintf(out, outsz, "%s", norm);
    else
        snprintf(out, outsz, "localhost");
}

/* Read the chain (file or probe), its facts, and print; false: err set. */
static bool run(const struct options *o, X509_STORE *store, char *err,
                size_t errsz)
{
    struct connector_source src = {
        .cert_file = o->cert, .probe_target = o->probe, .cafile = o->cafile,
        .name = o->name, .now = (int64_t)time(NULL),
    };
    struct probe_request req = { .timeout_ms = o->timeout_s * 1000 };
    struct probe_result res = { .chain = NULL };
    struct certinfo *info = malloc(sizeof *info);
    char helo[256], *buf = NULL;
    size_t len = 0;
    FILE *mem = NULL;
    bool ok = false;

    if (info == NULL) {
        snprintf(err, errsz, "out of memory");
        return false;
    }
    if (o->cert != NULL) {
        res.chain = certinfo_read_pem(o->cert, err, errsz);
    } else if (probe_parse_target(o->probe, &req, err, errsz)) {
        default_helo(helo, sizeof helo);
        req.helo = o->helo != NULL ? o->helo : helo;
        if (probe_run(&req, &res, err, errsz)) {
            src.probe_address = res.address;
            src.tls_version = res.version;
            src.tls_cipher = res.cipher;
            src.tls_bits = res.bits;
            src.forward_secret = res.forward_secret;
        }
    }
    if (res.chain == NULL ||
        !certinfo_facts(res.chain, store, src.now, info, err, errsz))
        goto out;
    if (o->probe != NULL && req.host_is_name) {
        src.probe_host = req.host;
        src.host_covered = X509_check_host(sk_X509_value(res.chain, 0),
                                           req.host, 0, 0, NULL) == 1;
    }
    /* All of the output or none of it. */
    if ((mem = open_memstream(&buf, &len)) == NULL) {
        snprintf(err, errsz, "out of memory");
        goto out;
    }
    ok = connector_print(info, &src, mem, err, errsz);
    if (fclose(mem) != 0 && ok) {
        snprintf(err, errsz, "out of memory");
        ok = false;
    }
    if (ok && (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0)) {
        snprintf(err, errsz, "cannot write the output: %s", strerror(errno));
        ok = false;
    }
out:
    free(buf);
    certinfo_chain_free(res.chain);
    free(info);
    return ok;
}

/* forcetls connector ARGS (see connector.h). */
int connector_main(int argc, char **argv)
{
    struct options o;
    X509_STORE *store = NULL;
    char err[CERTINFO_ERR_MAX + PROBE_ERR_MAX];
    int r = parse_options(argc, argv, &o);

    if (r == 2) {
        connector_usage(stdout);
        return 0;
    }
    if (r != 0)
        return 1;
    signal(SIGPIPE, SIG_IGN);
    if (!tlsfacts_init()) {
        fprintf(stderr, "forcetls: cannot read OpenSSL's cipher table\n");
        return 1;
    }
    r = 0;
    if (o.cafile != NULL &&
        (store = certinfo_load_cafile(o.cafile, err, sizeof err)) == NULL)
        r = 1;
    else if (!run(&o, store, err, sizeof err))
        r = 1;
    if (r != 0)
        fprintf(stderr, "forcetls: %s\n", err);
    X509_STORE_free(store);
    tlsfacts_shutdown();
    return r;
}
