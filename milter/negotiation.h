/*
 * negotiation.h - what forcetls asks of the MTA in xxfi_negotiate: the
 * protocol steps it turns off and the macros it requests. Shared with the
 * benchmark's null milter (tests/bench/null_milter.c), so that the baseline
 * negotiates exactly what forcetls does. Needs <libmilter/mfapi.h>.
 */
#ifndef FORCETLS_NEGOTIATION_H
#define FORCETLS_NEGOTIATION_H

/* Steps never needed (HELO, headers, body, DATA, unknown), and no reply at CONNECT and MAIL. */
#define NEGOTIATION_STEPS \
    (SMFIP_NOHELO | SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NOBODY | \
     SMFIP_NODATA | SMFIP_NOUNKNOWN | SMFIP_NR_CONN | SMFIP_NR_MAIL)

/*
 * Macros needed at each stage. An MTA replaces its own list for a stage
 * with ours, so each list is complete; asking for the TLS macros at MAIL
 * and RCPT covers a client that skips the second EHLO after STARTTLS.
 */
#define NEGOTIATION_CONNECT_MACROS "v {client_addr}"
#define NEGOTIATION_ENVELOPE_MACROS \
    "i {tls_version} {cipher} {cipher_bits} {cert_subject} {cert_issuer} " \
    "{verify} {cn_subject} {cn_issuer} {client_addr} {mail_addr} {rcpt_addr}"

#endif
