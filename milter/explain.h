/*
 * explain.h - forcetls explain: what the daemon would do with one mail.
 *
 * The words of a command line (KEY=VALUE) become the session facts and
 * envelope the daemon would build from the MTA's macros; the daemon's own
 * engine (policy_decide_traced) judges each recipient, and the result is
 * printed as text or as one JSON object, each recipient's last line being
 * the decision line the daemon would log (policy_format_line, s=explain).
 */
#ifndef FORCETLS_EXPLAIN_H
#define FORCETLS_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "addr.h"
#include "policy.h"

/* Room for a "forcetls: ..." message of explain_parse or explain_run. */
#define EXPLAIN_ERR_MAX 1536

/* One mail to explain, from the command line. */
struct explain_request {
    const char *config_path;       /* -c FILE, else CONFIG_DEFAULT_PATH */
    bool json;                     /* --json */
    int64_t now;                   /* at=DATE, else the caller's current time */
    bool at_given;
    const char *sender_text;       /* as given; "<>" when sender= is absent */
    struct addr_path sender;
    size_t rcpt_count;             /* at least one */
    const char **rcpt_text;        /* as given (argv's strings) */
    struct addr_path *rcpt;        /* parsed, rcpt_count of them */
    struct policy_session session; /* facts as tlsfacts_from_macros builds them */
    bool bits_from_openssl;        /* bits= absent: OpenSSL's bits for cipher= */
};

enum explain_parse_result {
    EXPLAIN_PARSE_OK = 0,
    EXPLAIN_PARSE_HELP,            /* -h: print explain_usage, exit 0 */
    EXPLAIN_PARSE_ERROR,           /* err holds the message (without "forcetls: ") */
};

/*
 * Parse the words after "explain" (argv[0] is the first of them) into req,
 * judging at now unless at= says otherwise. tlsfacts_init() must have run
 * (forward secrecy and OpenSSL's cipher bits). req points into argv; free
 * it with explain_request_free (also after an error).
 */
enum explain_parse_result explain_parse(int argc, char **argv, int64_t now,
                                        struct explain_request *req,
                                        char *err, size_t errsz);

void explain_request_free(struct explain_request *req);

#define EXPLAIN_SYNOPSIS \
    "forcetls explain [-c FILE] [--json] [at=DATE] KEY=VALUE..."

/* The usage of explain: "usage: " EXPLAIN_SYNOPSIS, then the keys. */
void explain_usage(FILE *out);
/* The keys and options of explain, for a usage text after the synopsis. */
void explain_usage_keys(FILE *out);

/*
 * Load req->config_path, judge every recipient and print the result to
 * out. False (nothing printed) with err set when the configuration does
 * not load ("FILE:LINE: message") or memory runs out.
 */
bool explain_run(const struct explain_request *req, FILE *out, char *err,
                 size_t errsz);

/*
 * Print the explanation of req under config to out (text or JSON); false
 * (nothing printed) when memory runs out.
 */
bool explain_print(const struct config *config,
                   const struct explain_request *req, FILE *out);

/* forcetls explain ARGS: the exit status (0 explained, 1 an error). */
int explain_main(int argc, char **argv);

#endif
