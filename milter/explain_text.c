/*
 * explain_text.c - forcetls explain's text output: the session, then per
 * recipient the matched connectors with their checks (ok, FAIL or -, and
 * why), schedule and outcome, the recipient's outcome, the SMTP reply, the
 * outbound socketmap answers, and last the decision line the daemon would
 * log.
 *
 * Must not: decide, or print a value from the command line unescaped
 * (log_value: one item, one line). The decision line is printed as
 * policy_format_line wrote it, unindented, so that it can be compared
 * with the daemon's own line byte for byte.
 *
 * Threads: single-threaded (a command-line program).
 */
#include <stdio.h>
#include <string.h>

#include "cidr.h"
#include "config_syntax.h"
#include "explain_internal.h"

/* "ok", "FAIL" or "-". */
static const char *result_word(enum policy_result r)
{
    return r == POLICY_RESULT_PASSED ? "ok" :
        r == POLICY_RESULT_FAILED ? "FAIL" : "-";
}

/* The session facts in one line. */
static void print_session(const struct explain_request *req, FILE *out)
{
    const struct tls_facts *t = &req->session.tls;
    char buf[EXPLAIN_WORDS_MAX] = "", ip[64];

    if (req->session.have_client_ip) {
        ip_format(&req->session.client_ip, ip, sizeof ip);
        explain_append(buf, sizeof buf, "client %s; ", ip);
    } else {
        explain_append(buf, sizeof buf, "client unknown; ");
    }
    if (!t->tls) {
        explain_append(buf, sizeof buf, "plaintext (no TLS)");
    } else {
        explain_append_value(buf, sizeof buf, t->version_text);
        explain_append(buf, sizeof buf, ", cipher ");
        explain_append_value(buf, sizeof buf, t->cipher);
        explain_append(buf, sizeof buf, ", %d bits%s, %s; ", t->cipher_bits,
                       req->bits_from_openssl ? " (OpenSSL's value)" : "",
                       t->forward_secret ? "forward-secret" :
                       "not forward-secret");
        if (!t->cert_verified) {
            explain_append(buf, sizeof buf, "no verified client certificate");
        } else {
            explain_append(buf, sizeof buf, "verified certificate ");
            explain_append_value(buf, sizeof buf, t->cert_cn);
            explain_append(buf, sizeof buf, " issued by ");
            if (t->issuer_cn[0] == '\0')
                explain_append(buf, sizeof buf, "an unnamed CA (no issuer CN)");
            else
                explain_append_quoted(buf, sizeof buf, t->issuer_cn);
        }
    }
    fprintf(out, "session: %s\n", buf);
    buf[0] = '\0';
    explain_append_value(buf, sizeof buf, req->sender_text);
    fprintf(out, "sender: %s%s\n", buf,
            req->sender.null_path ? " (the null sender)" : "");
}

/* One matched connector: how, each check, schedule, outcome. */
static void print_connector(const struct explain_view *v, FILE *out)
{
    char buf[EXPLAIN_WORDS_MAX];
    const struct policy_trace_connector *tc = v->tc;
    size_t n = 0;

    fprintf(out, "  %s connector %s (line %d), matched by ",
            explain_direction_name(tc->match.direction),
            explain_connector_name(v), explain_connector_line(v));
    for (size_t i = 0; i < EXPLAIN_HOW_COUNT; i++)
        if (tc->how & explain_how_bit(i)) {
            explain_how_words(v, explain_how_bit(i), buf, sizeof buf);
            fprintf(out, "%s%s", n++ > 0 ? ", " : "", buf);
        }
    fprintf(out, "%s\n", n == 0 ? "nothing the trace names" : "");
    for (int c = 0; c < POLICY_CHECK_COUNT; c++) {
        if (!explain_check_shown(v, (enum policy_check)c))
            continue;
        explain_check_detail(v, (enum policy_check)c, buf, sizeof buf);
        fprintf(out, "    %-17s %-4s  %s\n", explain_check_label((enum policy_check)c),
                result_word(explain_check_result(v, (enum policy_check)c)), buf);
    }
    explain_schedule_words(v, buf, sizeof buf);
    fprintf(out, "    %-17s %-4s  %s\n", "schedule", "", buf);
    fprintf(out, "    %-17s %-4s  %s, reason %s", "outcome", "",
            policy_decision_name(tc->decision), policy_reason_name(tc->reason));
    if (tc->would > tc->decision)
        fprintf(out, " (would be %s)", policy_decision_name(tc->would));
    fprintf(out, "\n");
}

/* One recipient, its decision line last. */
static void print_recipient(const struct config *config,
                            const struct explain_request *req,
                            const struct explain_recipient *r, FILE *out)
{
    char buf[EXPLAIN_WORDS_MAX] = "";

    explain_append_value(buf, sizeof buf, r->text);
    fprintf(out, "\nrecipient %s\n", buf);
    for (size_t i = 0; i < r->trace.count && i < POLICY_MAX_MATCHES; i++) {
        struct explain_view v = { config, req, r, &r->trace.connectors[i] };

        if (explain_view_valid(&v))
            print_connector(&v, out);
    }
    explain_outcome_words(config, r, buf, sizeof buf);
    fprintf(out, "  outcome: %s\n", buf);
    if (explain_reply(r, buf, sizeof buf))
        fprintf(out, "  reply: %s\n", buf);
    else
        fprintf(out, "  reply: none, the recipient is accepted%s\n",
                r->verdict.decision == DECISION_MONITOR ?
                " (monitor: the failure is only logged)" : "");
    if (r->outbound) {
        buf[0] = '\0';
        explain_append_value(buf, sizeof buf, r->tlspolicy_key);
        fprintf(out, "  tlspolicy %s: %s\n", buf, r->tlspolicy);
        buf[0] = '\0';
        explain_append_value(buf, sizeof buf, r->addr->address);
        fprintf(out, "  transport %s: %s\n", buf, r->transport);
    }
    fprintf(out, "%s\n", r->line);
}

/* The text output; see explain_internal.h. */
void explain_print_text(const struct config *config,
                        const struct explain_request *req,
                        struct explain_recipient *r, FILE *out)
{
    char at[SYNTAX_UTC_TEXT], path[EXPLAIN_WORDS_MAX] = "";

    explain_append_value(path, sizeof path, req->config_path);
    syntax_format_utc(req->now, at, sizeof at);
    fprintf(out, "configuration %s, judged at %s%s\n", path, at,
            req->at_given ? "" : " (now)");
    print_session(req, out);
    for (size_t i = 0; i < req->rcpt_count; i++) {
        explain_judge(config, req, i, r);
        print_recipient(config, req, r, out);
    }
}
