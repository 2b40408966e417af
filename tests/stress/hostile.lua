-- hostile.lua - hostile input straight at the milter socket, for miltertest
-- (run by tests/e2e/stress.sh: miltertest -D port=PORT -D rcpts=N -s hostile.lua).
--
-- Each case opens its own connection, speaks like Postfix (macro v first),
-- and sends something no sane MTA sends: CR/LF in addresses and macros,
-- many recipients in one message, absurd {cipher_bits}, a second MAIL
-- without RSET. Each case prints one line
--   RESULT <name> pass|fail <detail>
-- and the script judges nothing else: stress.sh turns the lines into TAP
-- and checks that the worker survived. "refused" means any reply but
-- continue or accept (reject, tempfail, or a reply code: miltertest does not
-- show the code). miltertest fills in steps a script skips (a RCPT without
-- MAIL gets a made-up MAIL) and overflows a stack buffer on 10 KB
-- arguments, so events out of order, NUL and 10 KB addresses and macros are
-- sent by milter_raw.pl instead. Configuration the cases rely on (stress.sh):
--   contoso.example  reject unless TLS and a verified certificate
--                    mail.contoso.example from "Contoso Demo Root CA"
--   tailspin.example reject unless TLS with at least 256 cipher bits

local sock = "inet:" .. port .. "@127.0.0.1"
local nrcpts = tonumber(rcpts or "1000")
local SMFIR_REJECT_CODES = { [SMFIR_REJECT] = true, [SMFIR_TEMPFAIL] = true,
                             [SMFIR_REPLYCODE] = true }
mt.set_timeout(20)

local function result(name, ok, detail)
    mt.echo("RESULT " .. name .. " " .. (ok and "pass" or "fail") .. " " .. (detail or ""))
end

-- A new connection from 127.0.0.1 that says it is Postfix; nil on failure.
local function open(name)
    local conn = mt.connect(sock, 3, 0.2)
    if conn == nil then
        result(name, false, "cannot connect to " .. sock)
        return nil
    end
    mt.macro(conn, SMFIC_CONNECT, "v", "Postfix 3.7.11", "{client_addr}", "127.0.0.1")
    local err = mt.conninfo(conn, "client.example", "127.0.0.1")
    if err ~= nil then
        result(name, false, "conninfo: " .. tostring(err))
        return nil
    end
    return conn
end

-- The reply to the last event as a printable character.
local function reply(conn)
    local r = mt.getreply(conn)
    if type(r) == "number" and r > 0 then return string.char(r) end
    return tostring(r)
end

-- Macros of a TLS session; extra pairs override.
local function tls_macros(extra)
    local m = { ["{tls_version}"] = "TLSv1.3", ["{cipher}"] = "TLS_AES_256_GCM_SHA384",
                ["{cipher_bits}"] = "256", ["{cert_subject}"] = "mail.contoso.example",
                ["{cert_issuer}"] = "Contoso Demo Root CA" }
    for k, v in pairs(extra or {}) do m[k] = v end
    return m
end

-- MAIL with the given macros (a table; nil sends none), then one RCPT.
-- Returns the RCPT reply character, or nil and an error.
local function mail_rcpt(conn, macros, sender, rcpt)
    if macros ~= nil then
        local args = {}
        for k, v in pairs(macros) do
            if v ~= false then
                table.insert(args, k)
                table.insert(args, v)
            end
        end
        mt.macro(conn, SMFIC_MAIL, (table.unpack or unpack)(args))
    end
    local err = mt.mailfrom(conn, sender)
    if err ~= nil then return nil, "MAIL: " .. tostring(err) end
    err = mt.rcptto(conn, rcpt)
    if err ~= nil then return nil, "RCPT: " .. tostring(err) end
    return reply(conn)
end

-- One case: MAIL and RCPT on a fresh connection; want "refused" or "continue".
local function case(name, want, macros, sender, rcpt)
    local conn = open(name)
    if conn == nil then return end
    local r, err = mail_rcpt(conn, macros, sender, rcpt)
    if r == nil then
        result(name, false, err)
    elseif want == "refused" then
        local code = string.byte(r)
        result(name, SMFIR_REJECT_CODES[code] == true, "got reply " .. r .. ", want a refusal")
    else
        result(name, r == "c", "got reply " .. r .. ", want c (continue)")
    end
    mt.disconnect(conn)
end



-- Controls: the harness sees both a refusal and an acceptance.
case("control_plaintext_partner_refused", "refused", nil,
     "<alice@contoso.example>", "<r@example.org>")
case("control_certificate_partner_accepted", "continue", tls_macros(),
     "<alice@contoso.example>", "<r@example.org>")

-- CR/LF in addresses.
case("crlf_in_sender", "refused", nil,
     "<alice@contoso.example>\r\nRCPT TO:<x@example.org>", "<r@example.org>")
case("crlf_in_sender_domain", "refused", nil,
     "<alice@contoso.example\r\n>", "<r@example.org>")
case("crlf_in_recipient", "refused", nil,
     "<alice@contoso.example>", "<r@example.org>\r\nDATA")
-- CR/LF in macros: a certificate name or TLS version with a line break is
-- not the configured one.
case("crlf_in_cert_subject", "refused",
     tls_macros({ ["{cert_subject}"] = "mail.contoso.example\r\n" }),
     "<alice@contoso.example>", "<r@example.org>")
case("crlf_in_cert_issuer", "refused",
     tls_macros({ ["{cert_issuer}"] = "Contoso Demo Root CA\r\nX: y" }),
     "<alice@contoso.example>", "<r@example.org>")
case("crlf_in_tls_version", "refused",
     tls_macros({ ["{tls_version}"] = "\r\n", ["{cert_subject}"] = false }),
     "<alice@contoso.example>", "<r@example.org>")

-- Absurd {cipher_bits} against a 256-bit floor; the control passes it.
case("cipher_bits_256_control", "continue",
     tls_macros({ ["{cipher_bits}"] = "256" }), "<bob@tailspin.example>", "<r@example.org>")
case("cipher_bits_minus_1", "refused",
     tls_macros({ ["{cipher_bits}"] = "-1" }), "<bob@tailspin.example>", "<r@example.org>")
case("cipher_bits_99999999999", "refused",
     tls_macros({ ["{cipher_bits}"] = "99999999999" }), "<bob@tailspin.example>",
     "<r@example.org>")
case("cipher_bits_empty", "refused",
     tls_macros({ ["{cipher_bits}"] = "" }), "<bob@tailspin.example>", "<r@example.org>")

-- Many recipients in one message: every one answered, none accepted
-- (plaintext partner); and all accepted for the certificate partner.
local function many(name, macros, want)
    local conn = open(name)
    if conn == nil then return end
    local r, err = mail_rcpt(conn, macros, "<alice@contoso.example>", "<m0@example.org>")
    local got = { [r or "?"] = 1 }
    if r == nil then
        result(name, false, err)
        mt.disconnect(conn)
        return
    end
    for i = 1, nrcpts - 1 do
        err = mt.rcptto(conn, "<m" .. i .. "@example.org>")
        if err ~= nil then
            result(name, false, "RCPT " .. i .. ": " .. tostring(err))
            mt.disconnect(conn)
            return
        end
        local c = reply(conn)
        got[c] = (got[c] or 0) + 1
    end
    local summary = ""
    for k, v in pairs(got) do summary = summary .. k .. "=" .. v .. " " end
    local ok
    if want == "refused" then
        ok = (got["c"] or 0) == 0 and (got["a"] or 0) == 0
    else
        ok = (got["c"] or 0) == nrcpts
    end
    result(name, ok, nrcpts .. " recipients answered: " .. summary)
    mt.disconnect(conn)
end
many("many_recipients_plaintext_partner", nil, "refused")
many("many_recipients_certificate_partner", tls_macros(), "continue")

-- A second MAIL without RSET: the second transaction's sender and macros
-- count, not the first's.
do
    local name = "second_mail_partner_after_unmatched"
    local conn = open(name)
    if conn ~= nil then
        mt.mailfrom(conn, "<carol@unrelated.example>")
        local r, err = mail_rcpt(conn, nil, "<alice@contoso.example>", "<r@example.org>")
        result(name, r ~= nil and SMFIR_REJECT_CODES[string.byte(r)] == true,
               err or ("got reply " .. r .. ", want a refusal"))
        mt.disconnect(conn)
    end
    name = "second_mail_plaintext_after_certificate"
    conn = open(name)
    if conn ~= nil then
        local r, err = mail_rcpt(conn, tls_macros(), "<alice@contoso.example>", "<r1@example.org>")
        if r ~= "c" then
            result(name, false, err or ("control: got reply " .. r .. ", want c"))
        else
            r, err = mail_rcpt(conn, { ["{tls_version}"] = "", ["{cipher}"] = "" },
                               "<alice@contoso.example>", "<r2@example.org>")
            result(name, r ~= nil and SMFIR_REJECT_CODES[string.byte(r)] == true,
                   err or ("got reply " .. r .. ", want a refusal"))
        end
        mt.disconnect(conn)
    end
end

-- Abrupt disconnects in the middle of a transaction.
for i = 1, 20 do
    local conn = mt.connect(sock, 3, 0.2)
    if conn ~= nil then
        mt.macro(conn, SMFIC_CONNECT, "v", "Postfix 3.7.11")
        mt.conninfo(conn, "client.example", "127.0.0.1")
        mt.mailfrom(conn, "<alice@contoso.example>")
        mt.disconnect(conn, false)
    end
end
case("after_abrupt_disconnects_still_refused", "refused", nil,
     "<alice@contoso.example>", "<r@example.org>")
