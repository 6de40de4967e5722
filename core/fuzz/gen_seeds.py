#!/usr/bin/env python3
"""Writes the hand-made seed corpora: core/fuzz/seeds/<target>/<name>.

Run by `scripts/fuzz.sh seeds` (or directly); the output is committed. The formats are
described in src/lib.rs: text sections separated by a line `%%`, responses as
`STATUS\\nName: value\\n\\nBODY`, `@name: value` lines are harness instructions;
flow_inputs is a byte program (see src/flow_inputs.rs).
"""

import json
import os
import shutil
import struct
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds")
ISSUER = "https://as.example.com"


def resp(status, body="", ctype="application/json", headers=(), pseudo=()):
    lines = [str(status)]
    if ctype:
        lines.append(f"Content-Type: {ctype}")
    lines += [f"{k}: {v}" for k, v in headers]
    lines += [f"@{k}: {v}" for k, v in pseudo]
    if not isinstance(body, str):
        body = json.dumps(body, separators=(",", ":"))
    return "\n".join(lines) + "\n\n" + body


def sections(*parts):
    return "\n%%\n".join(parts)


TOKEN = {"access_token": "2YotnFZFEjr1zCsicMWpAA", "token_type": "Bearer", "expires_in": 3600,
         "refresh_token": "tGzv3JOkF0XG5Qx2TlKWIA", "scope": "openid offline_access", "x_custom": {"a": [1, 2.5, None]}}
DEVICE = {"device_code": "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS", "user_code": "WDJB-MJHT",
          "verification_uri": "https://as.example.com/device",
          "verification_uri_complete": "https://as.example.com/device?user_code=WDJB-MJHT",
          "expires_in": 1800, "interval": 5}
HTML_502 = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
PENDING = {"error": "authorization_pending", "error_description": "The user has not yet approved"}


def metadata(issuer=ISSUER, **extra):
    m = {"issuer": issuer, "authorization_endpoint": f"{ISSUER}/authorize", "token_endpoint": f"{ISSUER}/token",
         "device_authorization_endpoint": f"{ISSUER}/device", "code_challenge_methods_supported": ["S256"],
         "authorization_response_iss_parameter_supported": True, "scopes_supported": ["openid"]}
    m.update(extra)
    return m


def seeds():
    s = {}
    s["token_response"] = {
        "json": resp(200, TOKEN),
        "json_charset": resp(200, TOKEN, "application/json; charset=utf-8", pseudo=[("scope", "openid")]),
        "github_form": resp(200, "access_token=gho_16C7e42F292c6912E7710c838347Ae178B4a&scope=repo%2Cgist&token_type=bearer",
                            "application/x-www-form-urlencoded"),
        "form_as_text": resp(200, "access_token=x&token_type=bearer&expires_in=5", "text/plain"),
        "dpop": resp(200, {"access_token": "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU", "token_type": "DPoP", "expires_in": 2677}),
        "no_scope_requested": resp(200, {"access_token": "a", "token_type": "bearer"}, pseudo=[("scope", "read write")]),
        "empty_scope": resp(200, {"access_token": "a", "token_type": "Bearer", "scope": ""}, pseudo=[("scope", "read")]),
        "invalid_grant": resp(400, {"error": "invalid_grant", "error_description": "refresh token revoked\u0007",
                                    "error_uri": "https://as.example.com/errors#invalid_grant"}),
        "error_200": resp(200, {"error": "authorization_pending", "access_token": "SECRET-not-for-errors-123"}),
        "html_502": resp(502, HTML_502, "text/html"),
        "json_array": resp(200, "[1,2,3]"),
        "mac": resp(200, {"access_token": "SECRET-access-token-123", "token_type": "mac"}),
        "expires_string": resp(200, {"access_token": "a", "token_type": "Bearer", "expires_in": "3600"}),
        "expires_float": resp(200, {"access_token": "a", "token_type": "Bearer", "expires_in": 1.5e300}),
        "expires_negative": resp(200, {"access_token": "a", "token_type": "Bearer", "expires_in": -1}),
        "expires_soon": resp(200, {"access_token": "SECRET-access-token-123", "token_type": "Bearer", "expires_in": "soon"}),
        "huge_now": resp(200, {"access_token": "a", "token_type": "Bearer", "expires_in": 18446744073709551615},
                         pseudo=[("now", "18446744073709551615")]),
        "empty": resp(200, ""),
        "unicode": resp(200, {"access_token": "\u00e9\u2603\U0001F600", "token_type": "BEARER", "id_token": "a.b.c", "\u00e9": "\u0000"}),
        "no_content_type": resp(200, TOKEN, ""),
        "status_0": resp(0, TOKEN),
    }
    s["error_body"] = {
        "retry_seconds": resp(503, "", "text/plain", [("Retry-After", "120")]),
        "retry_date": resp(429, {"message": "slow"}, headers=[("retry-after", "Sun, 06 Nov 1994 08:49:37 GMT")]),
        "retry_date_2015": resp(503, "{}", headers=[("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT")], pseudo=[("now", "0")]),
        "retry_garbage": resp(503, "{}", headers=[("Retry-After", "in a while")]),
        "retry_big": resp(503, "{}", headers=[("Retry-After", "99999999999999999999")]),
        "retry_far_date": resp(503, "{}", headers=[("Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT")]),
        "oauth_error": resp(400, {"error": "invalid_client", "error_description": "line1\nline2\ttab", "error_uri": "https://x"}),
        "oauth_error_form": resp(200, "error=slow_down&interval=10", "application/x-www-form-urlencoded"),
        "html_502": resp(502, HTML_502, "text/html"),
        "null": resp(500, "null"),
        "string": resp(200, '"just a string"'),
        "two_content_types": resp(200, "a=b", "text/html", [("content-type", "application/x-www-form-urlencoded")]),
        "www_authenticate": resp(401, {"error": "invalid_token"}, headers=[("WWW-Authenticate", 'Bearer error="invalid_token"')]),
        "error_not_string": resp(400, {"error": 42}),
        "unexpected_status": resp(418, {"ok": True}),
    }
    dev = lambda *parts: sections(*parts)
    s["device_response"] = {
        "approved": dev(resp(200, DEVICE), resp(400, PENDING), resp(400, {"error": "slow_down"}), resp(200, TOKEN)),
        "faults": dev(resp(200, DEVICE), resp(503, "Service Unavailable", "text/plain", [("Retry-After", "30")]),
                      resp(502, HTML_502, "text/html"), resp(0, "connection reset", "", pseudo=[("transport", "connect")]),
                      resp(429, "{}", headers=[("Retry-After", "Sun, 06 Nov 1994 08:49:37 GMT")]),
                      resp(500, {"error": "server_error"}), resp(503, {"error": "temporarily_unavailable"}), resp(200, TOKEN)),
        "slow_down_interval": dev(resp(200, DEVICE), resp(400, {"error": "slow_down", "interval": 20}), resp(400, PENDING), resp(200, TOKEN)),
        "github": dev(resp(200, "device_code=3584d83530557fdd1f46af8289938c8ef79f9dc5&expires_in=900&interval=5&user_code=WDJB-MJHT&verification_uri=https%3A%2F%2Fgithub.com%2Flogin%2Fdevice",
                           "application/x-www-form-urlencoded"),
                      resp(200, "error=authorization_pending&error_description=pending", "application/x-www-form-urlencoded"),
                      resp(200, "access_token=gho_x&token_type=bearer&scope=repo", "application/x-www-form-urlencoded")),
        "denied": dev(resp(200, DEVICE), resp(400, PENDING), resp(400, {"error": "access_denied"})),
        "expired": dev(resp(200, DEVICE), resp(400, {"error": "expired_token"})),
        "google": dev(resp(200, {"device_code": "AH-1Ng", "user_code": "GQVQ-JKEC", "verification_url": "https://www.google.com/device",
                                 "expires_in": 1800, "interval": 5}), resp(428, {"error": "authorization_pending"}), resp(200, TOKEN)),
        "transport_first": dev(resp(0, "", "", pseudo=[("transport", "dns")])),
        "margin_early_late": dev(resp(200, DEVICE, pseudo=[("margin", "2000")]), resp(400, PENDING, pseudo=[("early", "1234"), ("delay", "800")]),
                                 resp(200, TOKEN, pseudo=[("late", "60000")])),
        "local_expiry": dev(resp(200, dict(DEVICE, expires_in=2, interval=0)), resp(400, PENDING), resp(400, PENDING)),
        "wrong_id": dev(resp(200, DEVICE, pseudo=[("id", "7")]), resp(400, PENDING, pseudo=[("id", "1")]), resp(200, TOKEN)),
        "bad_verification_uri": dev(resp(200, dict(DEVICE, verification_uri="http://evil.example.com/device"))),
        "interval_string": dev(resp(200, dict(DEVICE, interval="10", expires_in="600")), resp(400, PENDING), resp(200, TOKEN)),
    }
    s["discovery"] = {
        "oidc": sections("0 auto", resp(200, metadata())),
        "fallback": sections("2 auto", resp(404, "<h1>Not Found</h1>", "text/html"), resp(200, metadata(f"{ISSUER}/tenant/1"))),
        "issuer_mismatch": sections("1 oauth", resp(200, metadata(ISSUER))),
        "html_200": sections("0 openid", resp(200, "<html>login</html>", "text/html")),
        "gone": sections("3 auto", resp(410, ""), resp(410, "")),
        "wrong_types": sections("0 auto", resp(200, metadata(authorization_response_iss_parameter_supported="yes"))),
        "not_object": sections("4 auto", resp(200, "[]"), resp(200, metadata("https://login.example.com/a/b/"))),
        "transport": sections("0 auto", resp(0, "", "", pseudo=[("transport", "tls")])),
        "oauth_error": sections("0 auto", resp(400, {"error": "invalid_request"})),
    }
    claims = '{"iss":"{iss}","aud":["{client_id}","other"],"nonce":"{nonce}","exp":{now_s}0,"iat":{now_s}}'
    ok_token = resp(200, '{"access_token":"at","token_type":"Bearer","expires_in":60,"refresh_token":"rt","id_token":"{id_token}"}')
    s["callback_url"] = {
        "success_iss": sections("0", "{redirect_uri}?code=SplxlOBeZQQYbYS6WxSbIA&state={state}&iss={iss}", ok_token, claims),
        "pasted_relative": sections("1", "  /cb?state={state}&code=abc\n", resp(200, "access_token=x&token_type=bearer", "application/x-www-form-urlencoded"), "{}"),
        "https_error": sections("2", "{redirect_uri}?error=access_denied&error_description=no&state={state}", ok_token, claims),
        "wrong_state": sections("0", "{redirect_uri}?code=abc&state=x{state}&iss={iss}", ok_token, claims),
        "iss_missing": sections("0", "{redirect_uri}?code=abc&state={state}", ok_token, claims),
        "iss_wrong": sections("0", "{redirect_uri}?code=abc&state={state}&iss=https%3A%2F%2Fevil.example", ok_token, claims),
        "ipv6_nonce": sections("3", "{redirect_uri}?code=abc&state={state}&iss={iss}", ok_token, claims),
        "nonce_mismatch": sections("2", "{redirect_uri}?code=abc&state={state}", ok_token, claims.replace("{nonce}", "x")),
        "id_token_expired": sections("0", "{redirect_uri}?code=abc&state={state}&iss={iss}", ok_token, claims.replace("{now_s}0", "1")),
        "id_token_aud": sections("0", "{redirect_uri}?code=abc&state={state}&iss={iss}", ok_token, claims.replace('["{client_id}","other"]', '"other"')),
        "late": sections("0\n@delay: 999999", "{redirect_uri}?code=abc&state={state}&iss={iss}", ok_token, claims),
        "junk": sections("1", "not a url at all", ok_token, claims),
        "wrong_path": sections("1", "http://localhost:53682/favicon.ico?state={state}&code=a", ok_token, claims),
        "exchange_error": sections("0", "{redirect_uri}?code=abc&state={state}&iss={iss}", resp(400, {"error": "invalid_grant"}), claims),
        "duplicate_params": sections("0", "{redirect_uri}?state={state}&state=x&code=&code=abc&iss={iss}&iss=x", ok_token, claims),
    }
    tokens = {"access_token": "2YotnFZFEjr1zCsicMWpAA", "token_type": "Bearer", "expires_at": 1700003600000,
              "refresh_token": "tGzv3JOkF0XG5Qx2TlKWIA", "scope": "openid offline_access"}
    oauth = {"schema_version": 1, "updated_at": 1700000000000, "kind": "oauth", "issuer": ISSUER, "client_id": "termauth-cli",
             "grant": "device_code", "tokens": tokens}
    j = lambda v: json.dumps(v)
    s["credential_record"] = {
        "oauth": j(oauth),
        "oauth_granted_scope": j(dict(oauth, granted_scope="openid offline_access profile", grant="authorization_code")),
        "client_credentials": j(dict(oauth, grant="client_credentials", tokens={"access_token": "a", "token_type": "Bearer", "expires_at": 5})),
        "no_refresh": j(dict(oauth, tokens={"access_token": "a", "token_type": "DPoP", "expires_at": 1700000060000})),
        "no_expiry": j(dict(oauth, tokens={"access_token": "a", "token_type": "Bearer", "refresh_token": "r"})),
        "max_expiry": j(dict(oauth, updated_at=0, tokens=dict(tokens, expires_at=18446744073709551615))),
        "api_key": j({"schema_version": 1, "updated_at": 0, "kind": "api_key", "key": "glpat-xxxxxxxxxxxxxxxxxxxx", "presentation": {"scheme": "bearer"}}),
        "api_key_header": j({"schema_version": 1, "updated_at": 0, "kind": "api_key", "key": "k1234567890123",
                             "presentation": {"scheme": "header", "name": "Authorization", "prefix": "token "}}),
        "newer": j({"schema_version": 99, "kind": "oauth"}),
        "zero": j(dict(oauth, schema_version=0)),
        "corrupt": "{\"schema_version\":1,",
        "missing": j({"schema_version": 1, "kind": "oauth", "issuer": ISSUER}),
        "secret_wrong_type": j(dict(oauth, tokens=dict(tokens, expires_at="SECRET-refresh-1234567"))),
        "key_number": j({"schema_version": 1, "updated_at": 0, "kind": "api_key", "key": 12345678901234}),
        "extra_members": j(dict(oauth, unknown=True, tokens=dict(tokens, extra={"x": 1}, id_token="h.e30.s"))),
    }
    s["flow_inputs"] = flow_inputs()
    s["proxy"] = {
        "https_proxy": sections("https://as.example.com/token", "proxy.corp:3128", ".internal"),
        "loopback": sections("http://127.0.0.1:8080/token", "http://p:1", ""),
        "localhost_subdomain": sections("http://app.localhost:8080/token", "http://p:1", ""),
        "no_proxy_ipv6": sections("https://[2001:db8::5]:443/", "socks5h://u:pw@p:1080", "[2001:db8::5]:443, ::1"),
        "unsupported": sections("https://as.example.com/", "ftp://user:hunter22@p:21", "x"),
        "star": sections("https://as.example.com/", "http://p:1", "*"),
    }
    s["roundtrip"] = roundtrip(oauth)
    record = j(dict(oauth, tokens=dict(tokens, expires_at=1700000030000)))
    profiles = j({"schema_version": 1, "active": {"1c2a4925b0dc941f": "work", "x": 5}})
    lock = j({"pid": 9, "host": "h", "created_at": 1699999999000, "nonce": "n"})
    meta = j({"fetched_at": 1699999000000, "metadata": {"issuer": ISSUER, "token_endpoint": ISSUER + "/token",
                                                        "revocation_endpoint": ISSUER + "/revoke"}})
    refreshed = resp(200, {"access_token": "new-access-token-1", "token_type": "Bearer", "expires_in": 60, "refresh_token": "r2"})
    s["session"] = {
        "token_refresh": b"\x00" + sections(profiles, record, "", "", meta, refreshed).encode(),
        "token_lock_busy": b"\x00" + sections("", record, "", lock, meta, refreshed).encode(),
        "token_stale_lock": b"\x40" + sections("", record, "", lock, meta, refreshed).encode(),
        "refresh_invalid_grant": b"\x01" + sections("", record, "", "", meta, resp(400, {"error": "invalid_grant"})).encode(),
        "logout": b"\x02" + sections("", record, "", "", meta, resp(200, ""), resp(503, "<html>busy</html>", "text/html")).encode(),
        "status_corrupt": b"\x03" + sections("{", "{\"schema_version\":1,", "{}", "", "").encode(),
        "profiles": b"\x04" + sections("default@1c2a4925b0dc941f.json", "work@1c2a4925b0dc941f.keyring", ".x.tmp").encode(),
        "discover": b"\x05" + sections("", "", "", "", "{\"fetched_at\":1}", resp(200, {"issuer": ISSUER})).encode(),
        "keyring_pointer": b"\x00" + sections("", "", "{}", "", meta).encode(),
    }
    return s


def roundtrip(oauth):
    """Every spec and input of the conversation vectors, and records: first byte = the shape."""
    out = {"record": bytes([1]) + json.dumps(oauth).encode()}
    vectors = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "vectors")
    for sub, spec_shape, input_shape in (("", 0, 4), ("session", 2, 3)):
        d = os.path.join(vectors, sub)
        for name in sorted(os.listdir(d)):
            if not name.endswith(".json"):
                continue
            v = json.load(open(os.path.join(d, name)))
            stem = (sub + "_" if sub else "flow_") + name[:-5]
            out[stem + "_spec"] = bytes([spec_shape]) + json.dumps(v["spec"]).encode()
            inputs = [st["handle"] for st in v["steps"] if "handle" in st]
            for i, inp in enumerate(inputs[:3]):
                out[f"{stem}_input{i}"] = bytes([input_shape]) + json.dumps(inp).encode()
            if sub == "session":
                out[stem + "_environment"] = bytes([5]) + json.dumps(v["spec"]["environment"]).encode()
    return out


def flow_inputs():
    # Opcodes (src/flow_inputs.rs): 0/1 poll after u16*10 ms; 2 poll at the deadline (+u8);
    # 3 canned response [which, index]; 4 arbitrary response; 5 transport error [kind];
    # 6 redirect [variant, (text)]; 7 cancel; 8 clock backwards [u16 s]; 9 drain.
    def poll(ms):
        return bytes([0]) + struct.pack(">H", min(ms // 10, 0xFFFF))

    deadline = bytes([2, 0])
    drain = bytes([9])

    def canned(i, which=2):
        return bytes([3, which, i])

    def arbitrary(status, ctype, body, retry=0):
        b = body.encode()
        return bytes([4, 2]) + struct.pack(">H", status) + bytes([ctype, retry, len(b)]) + b

    def redirect(v, text=b""):
        return bytes([6, v]) + (bytes([len(text)]) + text if v % 7 in (4, 6) else b"")

    p = {}
    def polled(*answers):
        # drain (to the WaitUntil), poll at the deadline (a SendRequest), answer.
        return b"".join(drain + deadline + a for a in answers)

    p["device_approved"] = bytes([0]) + drain + canned(0) + polled(canned(2), canned(3), canned(5)) + drain
    p["device_faults"] = bytes([1]) + drain + canned(0) + polled(canned(7), canned(8), canned(9), bytes([5, 3]), canned(19), canned(6)) + drain
    p["device_cancel"] = bytes([0]) + drain + canned(1) + polled(canned(4)) + drain + bytes([7]) + drain + canned(5)
    p["device_expiry"] = bytes([0]) + drain + canned(1) + poll(5000) + poll(5000) + drain
    p["device_dup"] = bytes([0]) + drain + canned(0) + canned(0, 1) + canned(0, 0) + polled(canned(5)) + canned(5, 1) + drain
    p["authcode_ok"] = bytes([2]) + drain + redirect(0) + drain + canned(17) + drain
    p["authcode_relative"] = bytes([2]) + drain + redirect(5) + drain + canned(5)
    p["authcode_bad"] = bytes([2]) + drain + redirect(4, b"http://127.0.0.1:8400/other") + redirect(2) + drain
    p["authcode_timeout"] = bytes([2]) + drain + deadline + drain + redirect(0)
    p["authcode_https"] = bytes([3]) + drain + redirect(6, b"code=x&iss=https%3A%2F%2Fas.example.com") + drain + arbitrary(200, 0, '{"access_token":"a","token_type":"bearer"}')
    p["client_credentials"] = bytes([4]) + drain + canned(5) + drain
    p["password_error"] = bytes([5]) + drain + canned(18) + drain
    p["refresh"] = bytes([6]) + drain + canned(6) + drain
    p["revocation"] = bytes([7]) + drain + canned(15) + drain + canned(15) + drain
    p["revocation_error"] = bytes([7]) + drain + arbitrary(400, 0, '{"error":"unsupported_token_type"}') + drain
    p["introspection"] = bytes([8]) + drain + canned(16)
    p["discovery_fallback"] = bytes([9]) + drain + canned(14) + drain + canned(13) + drain
    p["discovery_oauth"] = bytes([10]) + drain + canned(12)
    p["api_key"] = bytes([11]) + poll(0) + poll(0) + bytes([7]) + drain
    p["clock_backwards"] = bytes([0]) + drain + canned(0) + drain + bytes([8, 0, 100]) + deadline + bytes([8, 0xFF, 0xFF]) + canned(2) + polled(canned(5))
    return p


def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    n = 0
    for target, files in seeds().items():
        d = os.path.join(ROOT, target)
        os.makedirs(d)
        for name, content in files.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(content if isinstance(content, bytes) else content.encode())
            n += 1
    print(f"wrote {n} seeds under {ROOT}", file=sys.stderr)


if __name__ == "__main__":
    main()
