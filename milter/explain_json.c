/*
 * explain_json.c - forcetls explain --json: one JSON object on one line,
 *   { "config": PATH, "at": TIME, "session": {...},
 *     "recipients": [ { "rcpt", "connectors": [ { "name", "direction",
 *       "line", "matched_by": [...], "checks": [ { "check", "result",
 *       "detail" } ], "identity", "phase", "monitor_until",
 *       "tempfail_until", "decision", "reason", "would" } ], "connector",
 *       "decision", "reason", "would", "reply", "logged", "tlspolicy",
 *       "transport", "line" } ] }
 * (forcetls(1) describes each member).
 *
 * Owns JSON string escaping: '"', '\\' and control bytes escaped (\n, \t
 * ... or \u00XX), bytes above 0x7f kept where they form valid UTF-8 and
 * written \u00XX otherwise, so that the output is always valid JSON
 * whatever bytes the command line or the configuration held.
 *
 * Must not: decide (see explain.c). Threads: single-threaded.
 */
#include <stdio.h>
#include <string.h>

#include "cidr.h"
#include "config_syntax.h"
#include "explain_internal.h"
#include "json.h"

/* "key": then the string. */
static void member_str(FILE *out, const char *key, const char *value, bool comma)
{
    fprintf(out, "%s\"%s\":", comma ? "," : "", key);
    json_string(out, value);
}

/* A date member: its text, or null for an open bound. */
static void member_date(FILE *out, const char *key, int64_t t)
{
    char buf[SYNTAX_UTC_TEXT];

    member_str(out, key, explain_date(t, buf, sizeof buf), true);
}

/* A strlist as an array of strings. */
static void json_list(FILE *out, const struct strlist *l)
{
    putc('[', out);
    for (size_t i = 0; i < l->count; i++) {
        if (i > 0)
            putc(',', out);
        json_string(out, l->items[i]);
    }
    putc(']', out);
}

/* The session facts. */
static void print_session(const struct explain_request *req, FILE *out)
{
    const struct tls_facts *t = &req->session.tls;
    char ip[64];

    if (req->session.have_client_ip)
        ip_format(&req->session.client_ip, ip, sizeof ip);
    fputs("\"session\":{", out);
    member_str(out, "sender", req->sender_text, false);
    member_str(out, "client", req->session.have_client_ip ? ip : NULL, true);
    member_str(out, "tls", t->tls ? t->version_text : "none", true);
    member_str(out, "cipher", t->tls ? t->cipher : NULL, true);
    fprintf(out, ",\"bits\":%d,\"bits_from_openssl\":%s,\"forward_secret\":%s",
            t->tls ? t->cipher_bits : 0,
            req->bits_from_openssl ? "true" : "false",
            t->forward_secret ? "true" : "false");
    member_str(out, "cert", t->cert_verified ? t->cert_cn : NULL, true);
    member_str(out, "issuer", t->cert_verified ? t->issuer_cn : NULL, true);
    putc('}', out);
}

/* The identity that accepted the certificate, or null. */
static void print_identity(const struct explain_view *v, FILE *out)
{
    const struct cert_identity *id = explain_identity(v);

    fputs(",\"identity\":", out);
    if (id == NULL) {
        fputs("null", out);
        return;
    }
    fprintf(out, "{\"line\":%d,\"names\":", id->line);
    json_list(out, &id->names);
    fputs(",\"issuers\":", out);
    json_list(out, &id->issuers);
    member_date(out, "valid_from", id->valid_from);
    member_date(out, "valid_until", id->valid_until);
    putc('}', out);
}

/* One matched connector. */
static void print_connector(const struct explain_view *v, FILE *out)
{
    const struct policy_trace_connector *tc = v->tc;
    const struct schedule *s = explain_schedule(v);
    char buf[EXPLAIN_WORDS_MAX];
    static const char *const results[] = {
        [POLICY_RESULT_SKIPPED] = "skipped", [POLICY_RESULT_PASSED] = "ok",
        [POLICY_RESULT_FAILED] = "fail",
    };
    size_t n = 0;

    putc('{', out);
    member_str(out, "name", explain_connector_name(v), false);
    member_str(out, "direction", explain_direction_name(tc->match.direction), true);
    fprintf(out, ",\"line\":%d,\"matched_by\":[", explain_connector_line(v));
    for (size_t i = 0; i < EXPLAIN_HOW_COUNT; i++)
        if (tc->how & explain_how_bit(i)) {
            if (n++ > 0)
                putc(',', out);
            json_string(out, explain_how_key(explain_how_bit(i)));
        }
    fputs("],\"checks\":[", out);
    n = 0;
    for (int c = 0; c < POLICY_CHECK_COUNT; c++) {
        enum policy_result r;

        if (!explain_check_shown(v, (enum policy_check)c))
            continue;
        r = explain_check_result(v, (enum policy_check)c);
        explain_check_detail(v, (enum policy_check)c, buf, sizeof buf);
        fputs(n++ > 0 ? ",{" : "{", out);
        member_str(out, "check", explain_check_key((enum policy_check)c), false);
        member_str(out, "result", (unsigned)r <= POLICY_RESULT_FAILED ?
                   results[r] : "unknown", true);
        member_str(out, "detail", buf, true);
        putc('}', out);
    }
    putc(']', out);
    print_identity(v, out);
    member_str(out, "phase", explain_phase_name(tc->phase), true);
    member_date(out, "monitor_until", s != NULL ? s->monitor_until : CONFIG_NO_START);
    member_date(out, "tempfail_until", s != NULL ? s->tempfail_until : CONFIG_NO_START);
    member_str(out, "decision", policy_decision_name(tc->decision), true);
    member_str(out, "reason", policy_reason_name(tc->reason), true);
    member_str(out, "would", tc->would > tc->decision ?
               policy_decision_name(tc->would) : NULL, true);
    putc('}', out);
}

/* One recipient. */
static void print_recipient(const struct config *config,
                            const struct explain_request *req,
                            const struct explain_recipient *r, FILE *out)
{
    const struct verdict *v = &r->verdict;
    char reply[EXPLAIN_WORDS_MAX];
    size_t n = 0;

    putc('{', out);
    member_str(out, "rcpt", r->text, false);
    fputs(",\"connectors\":[", out);
    for (size_t i = 0; i < r->trace.count && i < POLICY_MAX_MATCHES; i++) {
        struct explain_view view = { config, req, r, &r->trace.connectors[i] };

        if (!explain_view_valid(&view))
            continue;
        if (n++ > 0)
            putc(',', out);
        print_connector(&view, out);
    }
    putc(']', out);
    member_str(out, "connector", policy_deciding_name(config, v), true);
    member_str(out, "decision", policy_decision_name(v->decision), true);
    member_str(out, "reason", policy_reason_name(v->reason), true);
    member_str(out, "would", v->would > v->decision ?
               policy_decision_name(v->would) : NULL, true);
    member_str(out, "reply", explain_reply(r, reply, sizeof reply) ? reply : NULL,
               true);
    fprintf(out, ",\"logged\":%s", r->logged ? "true" : "false");
    member_str(out, "tlspolicy", r->outbound ? r->tlspolicy : NULL, true);
    member_str(out, "transport", r->outbound ? r->transport : NULL, true);
    member_str(out, "line", r->line, true);
    putc('}', out);
}

/* The JSON output; see explain_internal.h. */
void explain_print_json(const struct config *config,
                        const struct explain_request *req,
                        struct explain_recipient *r, FILE *out)
{
    char at[SYNTAX_UTC_TEXT];

    syntax_format_utc(req->now, at, sizeof at);
    putc('{', out);
    member_str(out, "config", req->config_path, false);
    member_str(out, "at", at, true);
    putc(',', out);
    print_session(req, out);
    fputs(",\"recipients\":[", out);
    for (size_t i = 0; i < req->rcpt_count; i++) {
        explain_judge(config, req, i, r);
        if (i > 0)
            putc(',', out);
        print_recipient(config, req, r, out);
    }
    fputs("]}\n", out);
}
