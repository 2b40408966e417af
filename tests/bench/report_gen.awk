# report_gen.awk - decision lines for bench_report.sh: n lines (-v n=N) in
# the RFC 3164 form of syslog, about 300 bytes each, from 200 inbound and
# 50 outbound connectors and 1,000 unmatched sender domains, with a mix of
# decisions, reasons, TLS versions, ciphers, certificate names and issuers.
BEGIN {
    split("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec", mon, " ")
    split("TLSv1.3 TLSv1.3 TLSv1.3 TLSv1.2 TLSv1.2 TLSv1.1 TLSv1 none", tlsv, " ")
    split("TLS_AES_256_GCM_SHA384 TLS_AES_128_GCM_SHA256 ECDHE-RSA-AES256-GCM-SHA384 ECDHE-RSA-AES128-GCM-SHA256 AES128-SHA", ciph, " ")
    split("accept accept accept accept reject tempfail monitor", dec, " ")
    split("ok ok ok no_tls tls_version cert_issuer_mismatch cert_name_mismatch", rsn, " ")
    for (i = 0; i < n; i++) {
        t = int(i / 12)                       # seconds into the period
        day = 1 + int(t / 86400) % 28; s = t % 86400
        stamp = sprintf("%s %2d %02d:%02d:%02d", mon[1 + int(t / (86400 * 28)) % 12],
                        day, int(s / 3600), int(s / 60) % 60, s % 60)
        k = (i * 7919) % 1250
        v = tlsv[1 + i % 8]; c = (v == "none") ? "none" : ciph[1 + i % 5]
        cert = (v == "none") ? "cert=none" : \
            sprintf("cert=mail.p%d.example issuer=\"Issuing CA %d\"", k, k % 7)
        if (k < 1000) {
            d = dec[1 + i % 7]; r = (d == "accept") ? "ok" : rsn[1 + i % 7]
            if (r == "ok") r = "no_tls"
            if (d == "accept") r = "ok"
            w = (d == "monitor") ? " would=reject" : ""
            conn = (k < 800) ? sprintf("direction=inbound connector=in%d", k % 200) : \
                               sprintf("direction=outbound connector=out%d", k % 50)
            dom = sprintf("p%d.example", k)
        } else {
            d = "accept"; r = "ok"; w = ""
            conn = "direction=none connector=none"
            dom = sprintf("u%d.example", k)
        }
        printf "%s mx1 forcetls-milter[812]: s=%x%05d decision=%s%s %s stage=rcpt " \
               "reason=%s client=198.51.%d.%d sender=<alice%d@%s> " \
               "rcpt=<bob%d@example.org> tls=%s cipher=%s %s\n",
               stamp, k, i % 100000, d, w, conn, r, k % 256, i % 7, i % 13, dom,
               i % 97, v, c, cert
    }
}
