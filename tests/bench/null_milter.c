/*
 * null_milter.c - the baseline of bench_postfix.sh: a libmilter milter
 * that does nothing.
 *
 * It negotiates the same protocol steps as forcetls (negotiation.h: no
 * HELO, headers, end of headers, body, DATA or unknown commands; no reply
 * at connect and MAIL FROM) and registers the same envelope callbacks,
 * so that the benchmark can tell what forcetls costs on top of what any
 * libmilter milter costs. Because it negotiates "no reply" at connect and
 * MAIL FROM it answers those with SMFIS_NOREPLY, as forcetls does
 * (SMFIS_CONTINUE there makes libmilter log an error and send nothing);
 * RCPT TO gets SMFIS_CONTINUE. It keeps no state and, unless asked to,
 * requests no macros (the MTA then sends its default lists).
 *
 * It must not: decide anything, log per session, or listen anywhere but
 * the socket named on its command line.
 *
 * Usage: null_milter SOCKET [macros]   (unix:/path, inet:port@127.0.0.1, ...)
 * With "macros" it also asks the MTA for the macro lists forcetls asks for
 * (callbacks.c), to tell the MTA's cost of those macros from forcetls's own.
 * A unix socket is created world-writable so that Postfix's smtpd (user
 * postfix) can connect to it. SIGTERM, SIGINT or SIGHUP stop it (libmilter's
 * signal thread). Prints "null_milter: listening on SOCKET" on stderr once
 * the socket is open.
 *
 * Thread safety: no state at all; the callbacks only return constants.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>

#include <libmilter/mfapi.h>

#include "negotiation.h"

/* Set once in main() before any thread exists. */
static int null_want_macros;

/* Negotiate the same steps as forcetls; no actions; macro lists on request. */
static sfsistat null_negotiate(SMFICTX *ctx, unsigned long f0,
                               unsigned long f1, unsigned long f2,
                               unsigned long f3, unsigned long *pf0,
                               unsigned long *pf1, unsigned long *pf2,
                               unsigned long *pf3)
{
    (void)f2;
    (void)f3;
    *pf0 = null_want_macros ? f0 & SMFIF_SETSYMLIST : 0;
    *pf1 = f1 & NEGOTIATION_STEPS;
    *pf2 = 0;
    *pf3 = 0;
    if (*pf0 & SMFIF_SETSYMLIST) {
        smfi_setsymlist(ctx, SMFIM_CONNECT, (char *)NEGOTIATION_CONNECT_MACROS);
        smfi_setsymlist(ctx, SMFIM_ENVFROM, (char *)NEGOTIATION_ENVELOPE_MACROS);
        smfi_setsymlist(ctx, SMFIM_ENVRCPT, (char *)NEGOTIATION_ENVELOPE_MACROS);
    }
    return SMFIS_CONTINUE;
}

/* Connect: nothing to do, and no reply was negotiated. */
static sfsistat null_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *hostaddr)
{
    (void)ctx;
    (void)hostname;
    (void)hostaddr;
    return SMFIS_NOREPLY;
}

/* MAIL FROM: nothing to do, and no reply was negotiated. */
static sfsistat null_envfrom(SMFICTX *ctx, char **argv)
{
    (void)ctx;
    (void)argv;
    return SMFIS_NOREPLY;
}

/* RCPT TO: accept every recipient. */
static sfsistat null_envrcpt(SMFICTX *ctx, char **argv)
{
    (void)ctx;
    (void)argv;
    return SMFIS_CONTINUE;
}

static struct smfiDesc null_desc = {
    .xxfi_name = "null_milter",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_NONE,
    .xxfi_connect = null_connect,
    .xxfi_envfrom = null_envfrom,
    .xxfi_envrcpt = null_envrcpt,
    .xxfi_negotiate = null_negotiate,
};

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "macros") != 0)) {
        fprintf(stderr, "usage: null_milter SOCKET [macros]\n");
        return EX_USAGE;
    }
    null_want_macros = argc == 3;
    if (smfi_register(null_desc) != MI_SUCCESS) {
        fprintf(stderr, "null_milter: smfi_register failed\n");
        return EX_SOFTWARE;
    }
    /* Postfix's smtpd connects as user postfix: a unix socket must be writable. */
    umask(0);
    if (smfi_setconn(argv[1]) != MI_SUCCESS || smfi_opensocket(1) != MI_SUCCESS) {
        fprintf(stderr, "null_milter: cannot open %s\n", argv[1]);
        return EX_UNAVAILABLE;
    }
    fprintf(stderr, "null_milter: listening on %s\n", argv[1]);
    return smfi_main() == MI_SUCCESS ? EX_OK : EX_SOFTWARE;
}
