"""Stdlib reproductions of the real providers in shared/providers/*.txt, plus fault endpoints.

    python tests/servers/provider_quirks.py [PORT] [CONFIG_JSON]

PORT (argv or $PORT, default 0 = any free port). CONFIG_JSON (argv or $QUIRKS_CONFIG) may override the
token lifetimes: harbor_expires_in (300), depotfinity_expires_in (3600), breakout_expires_in (42961),
lockit_expires_in (604800). With tls_cert and tls_key (PEM file paths; the certificate file may hold the chain)
it serves HTTPS instead of HTTP. Prints ``READY <port>`` on stdout once listening.

Responses follow the provider documents byte for byte where they show them (key order, compact JSON,
lowercase "bearer" for Spring, HTTP 403 for every DepotFinity error). The full path list is in
tests/servers/README.md and in GET /_clients ("endpoints").
"""

import base64
import hashlib
import json
import os
import secrets
import ssl
import sys
import threading
import time
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from parent_watch import exit_with_parent  # run as a script: its folder is on sys.path

CONFIG = {
    "harbor_expires_in": 300,
    "depotfinity_expires_in": 3600,
    "breakout_expires_in": 42961,
    "lockit_expires_in": 604800,
}

HARBOR_ENVS = ("production", "sandbox")
HARBOR_SCOPES = ("service_provider", "tower_access")
CLIENTS = {
    # Keycloak realm "harbor", one client per environment (sandbox credentials fail on production).
    "harbor_production": {
        "client_id": "harbor-production-client", "client_secret": "harbor-production-secret",
        "client_auth": "client_secret_post", "environment": "production", "scopes": list(HARBOR_SCOPES),
    },
    "harbor_sandbox": {
        "client_id": "harbor-sandbox-client", "client_secret": "harbor-sandbox-secret",
        "client_auth": "client_secret_post", "environment": "sandbox", "scopes": list(HARBOR_SCOPES),
    },
    "depotfinity": {
        "client_id": "depotfinity-client", "client_secret": "depotfinity-secret",
        "client_auth": "client_secret_basic",
    },
    # Values from the breakout wiki page.
    "breakout": {
        "client_id": "breakout_app", "client_secret": "123456789", "client_auth": "client_secret_basic",
        "scopes": ["read", "write"],
    },
    # Values from the LockitNetwork guide (its curl example uses "top-secret").
    "lockit": {
        "client_id": "example-client", "client_secret": "top-secret", "client_auth": "client_secret_basic",
        "redirect_uris": ["https://example-client.com/auth_code", "http://127.0.0.1/callback"],
    },
    # Used for the /fault/* token endpoints; they accept any credentials and just record them.
    "fault": {"client_id": "fault-client", "client_secret": "fault-secret", "client_auth": "client_secret_basic"},
}
USERS = {
    "breakout": {"username": "admin@break-out.org", "password": "password"},
    "lockit": {"username": "lockit-user", "id": 4711},  # the scripted user who always approves
}

ENDPOINTS = {
    "harbor_token": "/harbor/{env}/realms/harbor/protocol/openid-connect/token",
    "harbor_test_token": "/harbor/{env}/api/v1/login/test-token",
    "depotfinity_token": "/oauth2/token",
    "breakout_token": "/oauth/token",
    "breakout_me": "/me/",
    "lockit_authorize": "/oauth/authorize",
    "lockit_token": "/oauth/access-token",
}

# The user JSON that Harbor's test-token endpoint returns, as shown in the document (clientId filled in).
HARBOR_USER = (
    '{"email":"test@test.com","isActive":true,"isSuperuser":true,'
    '"fullName":"name","emailValidated":true,"status":null,'
    '"id":"0dab72be57ba56","createdAt":"2023-09-26T17:27:52.889000",'
    '"updatedAt":null,"role":1,"clientId":%s,"appSettings":null}'
)

LOCK = threading.Lock()
STATE = {}  # every mutable store; reset by POST /_requests/reset


def reset_state():
    STATE.update(
        requests=[], stats={"token_requests": 0, "by_grant": {}, "by_path": {}},
        counters={}, harbor_tokens={}, breakout_access={}, breakout_refresh={},
        lockit_codes={}, lockit_access={}, lockit_refresh={},
    )


reset_state()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_like(claims):
    """A JWT-shaped token (header.payload.signature); the signature is random bytes, never verified."""
    header = b64url(json.dumps({"alg": "RS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    return f"{header}.{payload}.{b64url(secrets.token_bytes(32))}"


def compact(obj):
    return json.dumps(obj, separators=(",", ":"))


def find_client(client_id):
    return next((c for c in CLIENTS.values() if c["client_id"] == client_id), None)


class Streamed:
    """A body sent chunk by chunk (LENGTH bytes in all), for answers too big to hold: GET /_stats says how much of
    each the client took before hanging up ("streamed": {path: [{"sent", "length"}, ...]})."""

    def __init__(self, length, chunks):
        self.length, self.chunks = length, chunks


class Reply(Exception):
    """A response. Routes return one, or raise one to answer at once (errors, early exits)."""

    def __init__(self, status, body, content_type="application/json", headers=None):
        super().__init__(status)
        self.status, self.body, self.content_type, self.headers = status, body, content_type, headers or {}


def json_error(status, error, description=None, headers=None, **extra):
    body = {"error": error}
    if description is not None:
        body["error_description"] = description
    body.update(extra)
    return Reply(status, compact(body), headers=headers)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive with Content-Length, like the real servers

    def log_message(self, fmt, *args):  # quiet: tests read /_requests instead
        pass

    # ---- plumbing -------------------------------------------------------------------------------
    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def dispatch(self):
        split = urlsplit(self.path)
        self.route_path = split.path
        self.query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        self.raw_body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        ctype = self.headers.get("Content-Type", "")
        is_form = ctype.startswith("application/x-www-form-urlencoded")
        self.form = {k: v[-1] for k, v in parse_qs(self.raw_body).items()} if is_form else {}
        if not self.route_path.startswith("/_"):
            self.record()
        try:
            handler = self.find_route()
            if handler is None:
                raise Reply(404, compact({"detail": "Not Found"}))
            reply = handler()
        except Reply as raised:
            reply = raised
        self.send(reply.status, reply.body, reply.content_type, reply.headers)

    def record(self):
        with LOCK:
            STATE["requests"].append({
                "method": self.command, "path": self.route_path, "query": self.query,
                "headers": dict(self.headers.items()), "form": self.form, "body": self.raw_body,
                "time": time.time(),  # when it arrived, for tests of how long a client waited between attempts
            })
            if self.command == "POST" and "test-token" not in self.route_path:  # a token endpoint
                stats = STATE["stats"]
                stats["token_requests"] += 1
                grant = self.form.get("grant_type", "")
                stats["by_grant"][grant] = stats["by_grant"].get(grant, 0) + 1
                stats["by_path"][self.route_path] = stats["by_path"].get(self.route_path, 0) + 1

    def send(self, status, body, content_type="application/json", headers=None):
        streamed = isinstance(body, Streamed)
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(body.length if streamed else len(data)))
        self.end_headers()
        if not streamed:
            self.wfile.write(data)
            return
        sent = 0
        try:
            for chunk in body.chunks:
                self.wfile.write(chunk)
                sent += len(chunk)
        except OSError:  # the client hung up: how much it took is in GET /_stats ("streamed")
            self.close_connection = True
        with LOCK:
            STATE["stats"].setdefault("streamed", {}).setdefault(self.route_path, []).append(
                dict(sent=sent, length=body.length))

    def basic_auth(self):
        """(client_id, client_secret) from an HTTP Basic header, or (None, None)."""
        header = self.headers.get("Authorization", "")
        if not header.lower().startswith("basic "):
            return None, None
        try:
            user, _colon, password = base64.b64decode(header[6:].strip()).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None, None
        return user, password

    def refuse_a_second_method(self, status):
        """The Basic-only providers (DepotFinity, breakout, LockitNetwork): their documents send the client's
        credentials with HTTP Basic, and RFC 6749 2.3.1 lets a client use one authentication method per request.
        A secret (or an assertion) in the body as well is refused, not ignored, so a client sending both is noticed."""
        if self.basic_auth()[0] is not None and ("client_secret" in self.form or "client_assertion" in self.form):
            raise json_error(status, "invalid_request",
                             "The client used more than one authentication method (HTTP Basic and the request body)")

    def bearer(self):
        header = self.headers.get("Authorization", "")
        return header[7:].strip() if header.lower().startswith("bearer ") else None

    def find_route(self):
        path, method = self.route_path, self.command
        routes = {
            ("GET", "/_requests"): self.get_requests, ("POST", "/_requests/reset"): self.reset_requests,
            ("GET", "/_stats"): self.get_stats, ("POST", "/_stats/reset"): self.reset_stats,
            ("GET", "/_clients"): self.get_clients,
            ("POST", "/oauth2/token"): self.depotfinity_token,
            ("POST", "/oauth/token"): self.breakout_token,
            ("GET", "/me/"): self.breakout_me,
            ("GET", "/oauth/authorize"): self.lockit_authorize,
            ("POST", "/oauth/access-token"): self.lockit_token,
        }
        if (method, path) in routes:
            return routes[(method, path)]
        parts = path.split("/")
        if len(parts) > 3 and parts[1] == "harbor" and parts[2] in HARBOR_ENVS:
            self.harbor_env = parts[2]
            rest = "/" + "/".join(parts[3:])
            if rest == "/realms/harbor/protocol/openid-connect/token" and method == "POST":
                return self.harbor_token
            if rest == "/api/v1/login/test-token":
                return self.harbor_test_token if method == "POST" else self.method_not_allowed
        fault = FAULTS.get(path[len("/fault/"):]) if path.startswith("/fault/") else None
        return (lambda: fault(self)) if fault else None

    def method_not_allowed(self):
        raise Reply(405, compact({"detail": "Method Not Allowed"}))

    # ---- test API -------------------------------------------------------------------------------
    def get_requests(self):
        with LOCK:
            return Reply(200, compact(STATE["requests"]))

    def reset_requests(self):
        with LOCK:
            reset_state()
        return Reply(200, compact({"reset": True}))

    def get_stats(self):
        with LOCK:
            return Reply(200, compact(STATE["stats"]))

    def reset_stats(self):
        with LOCK:
            STATE["stats"] = {"token_requests": 0, "by_grant": {}, "by_path": {}}
            return Reply(200, compact(STATE["stats"]))

    def get_clients(self):
        return Reply(200, compact({"clients": CLIENTS, "users": USERS, "endpoints": ENDPOINTS,
                                  "harbor_environments": list(HARBOR_ENVS), "config": CONFIG}))

    # ---- Harbor Lockers on Keycloak -------------------------------------------------------------
    def harbor_token(self):
        env, form = self.harbor_env, self.form
        if not form.get("client_secret"):
            # Keycloak's client_secret_post authenticator looks only at the body.
            raise json_error(401, "unauthorized_client", "Client secret not provided in request")
        client = find_client(form.get("client_id", ""))
        if not client or client.get("environment") != env or client["client_secret"] != form["client_secret"]:
            raise json_error(401, "invalid_client", "Invalid client or Invalid client credentials")
        grant = form.get("grant_type")
        if grant == "refresh_token":
            # Harbor's client_credentials tokens come with refresh_token null: nothing can be refreshed.
            raise json_error(400, "invalid_grant", "Invalid refresh token")
        if grant != "client_credentials":
            raise json_error(400, "unsupported_grant_type", "Unsupported grant_type")
        scopes = form.get("scope", "").split()
        if any(s not in client["scopes"] for s in scopes):
            raise json_error(400, "invalid_scope", "Invalid scopes: " + form.get("scope", ""))
        ttl = int(CONFIG["harbor_expires_in"])
        now = int(time.time())
        issuer = f"http://127.0.0.1:{self.server.server_address[1]}/harbor/{env}/realms/harbor"
        token = jwt_like({
            "exp": now + ttl, "iat": now, "jti": secrets.token_hex(8), "iss": issuer,
            "azp": client["client_id"], "scope": " ".join(scopes), "typ": "Bearer",
        })
        with LOCK:
            STATE["harbor_tokens"][token] = {"env": env, "client_id": client["client_id"], "exp": now + ttl}
        return Reply(200, compact({
            "access_token": token, "refresh_token": None, "refresh_expires_in": 0,
            "expires_in": ttl, "token_type": "Bearer",
        }))

    def harbor_test_token(self):
        with LOCK:
            info = STATE["harbor_tokens"].get(self.bearer() or "")
        if not info or info["env"] != self.harbor_env or info["exp"] <= time.time():
            raise Reply(401, compact({"detail": "Could not validate credentials"}),
                        headers={"WWW-Authenticate": "Bearer"})
        return Reply(200, HARBOR_USER % json.dumps(info["client_id"]))

    # ---- DepotFinity: Basic only, every error is 403 --------------------------------------------
    def depotfinity_token(self):
        self.refuse_a_second_method(403)
        client_id, secret = self.basic_auth()
        if client_id is None:
            raise json_error(403, "invalid_client", "Client authentication with HTTP Basic is required")
        client = find_client(client_id)
        if not client or client is not CLIENTS["depotfinity"] or client["client_secret"] != secret:
            raise json_error(403, "invalid_client", "Client authentication failed")
        grant = self.form.get("grant_type")
        if not grant:
            raise json_error(403, "invalid_request", "Missing grant_type parameter")
        if grant != "client_credentials":
            raise json_error(403, "unsupported_grant_type", f"Unsupported grant type: {grant}")
        ttl = int(CONFIG["depotfinity_expires_in"])
        now = int(time.time())
        token = jwt_like({"iss": "depotfinity", "sub": client_id, "iat": now, "exp": now + ttl})
        return Reply(200, compact({"access_token": token, "expires_in": ttl, "token_type": "Bearer"}))

    # ---- breakout (Spring Security OAuth2) ------------------------------------------------------
    def breakout_token(self):
        self.refuse_a_second_method(400)
        client_id, secret = self.basic_auth()
        client = CLIENTS["breakout"]
        challenge = {"WWW-Authenticate": 'Basic realm="oauth2/client"'}
        if client_id is None:
            raise json_error(401, "unauthorized", "Full authentication is required to access this resource",
                             headers=challenge)
        if client_id != client["client_id"] or secret != client["client_secret"]:
            raise json_error(401, "unauthorized", "Bad credentials", headers=challenge)
        grant = self.form.get("grant_type", "")
        with LOCK:
            if grant == "password":
                user = USERS["breakout"]
                if self.form.get("username") != user["username"] or self.form.get("password") != user["password"]:
                    raise json_error(400, "invalid_grant", "Bad credentials")
                scopes = self.form.get("scope", "read write").split()
                bad = [s for s in scopes if s not in client["scopes"]]
                if bad:
                    raise json_error(400, "invalid_scope", "Invalid scope: " + " ".join(bad),
                                     scope=" ".join(client["scopes"]))
                refresh = secrets.token_hex(16)
                STATE["breakout_refresh"][refresh] = {"user": user["username"], "scope": " ".join(scopes)}
            elif grant == "refresh_token":
                refresh = self.form.get("refresh_token", "")
                if refresh not in STATE["breakout_refresh"]:
                    raise json_error(400, "invalid_grant", f"Invalid refresh token: {refresh}")
            else:
                raise json_error(400, "unsupported_grant_type", f"Unsupported grant type: {grant}")
            # Spring reuses refresh tokens by default: the same refresh_token comes back every time.
            grant_info = STATE["breakout_refresh"][refresh]
            access = str(uuid.uuid4())
            ttl = int(CONFIG["breakout_expires_in"])
            STATE["breakout_access"][access] = dict(grant_info, exp=time.time() + ttl)
        return Reply(200, compact({
            "access_token": access, "token_type": "bearer", "refresh_token": refresh,
            "expires_in": ttl, "scope": grant_info["scope"],
        }), headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    def breakout_me(self):
        token = self.bearer()
        with LOCK:
            info = STATE["breakout_access"].get(token or "")
        if not info or info["exp"] <= time.time():
            raise json_error(401, "invalid_token", f"Invalid access token: {token}",
                             headers={"WWW-Authenticate": 'Bearer realm="oauth2-resource", error="invalid_token"'})
        return Reply(200, compact({"id": 1, "email": info["user"], "firstname": "Admin", "lastname": "Breakout"}))

    # ---- LockitNetwork: authorization code (+ optional PKCE S256) -------------------------------
    def lockit_authorize(self):
        q = self.query
        client = find_client(q.get("client_id", ""))
        if client is not CLIENTS["lockit"]:
            raise json_error(400, "invalid_client", "Unknown client_id")
        redirect_uri = q.get("redirect_uri") or client["redirect_uris"][0]
        if redirect_uri not in client["redirect_uris"]:
            raise json_error(400, "invalid_request", "redirect_uri is not registered for this client")
        params = {}
        if q.get("response_type") != "code":
            params["error"] = "unsupported_response_type"
        elif q.get("code_challenge") and q.get("code_challenge_method", "plain") != "S256":
            params.update(error="invalid_request", error_description="only S256 code_challenge_method is supported")
        else:
            code = secrets.token_urlsafe(24)
            with LOCK:
                STATE["lockit_codes"][code] = {
                    "redirect_uri": q.get("redirect_uri"), "challenge": q.get("code_challenge"),
                    "exp": time.time() + 60,
                }
            params["code"] = code
        if "state" in q:
            params["state"] = q["state"]
        sep = "&" if "?" in redirect_uri else "?"
        return Reply(302, b"", content_type=None, headers={"Location": redirect_uri + sep + urlencode(params)})

    def lockit_token(self):
        self.refuse_a_second_method(400)
        client_id, secret = self.basic_auth()
        client = CLIENTS["lockit"]
        if client_id != client["client_id"] or secret != client["client_secret"]:
            raise json_error(401, "invalid_client", "Client authentication failed",
                             headers={"WWW-Authenticate": 'Basic realm="LockitNetwork"'})
        form, grant = self.form, self.form.get("grant_type")
        with LOCK:
            if grant == "authorization_code":
                info = STATE["lockit_codes"].pop(form.get("code", ""), None)  # single use
                if not info or info["exp"] <= time.time():
                    raise json_error(400, "invalid_grant", "Authorization code is invalid or expired")
                if info["redirect_uri"] != form.get("redirect_uri"):
                    raise json_error(400, "invalid_grant", "redirect_uri does not match the authorization request")
                if info["challenge"]:
                    verifier = form.get("code_verifier", "")
                    if b64url(hashlib.sha256(verifier.encode()).digest()) != info["challenge"]:
                        raise json_error(400, "invalid_grant", "code_verifier does not match code_challenge")
            elif grant == "refresh_token":
                if STATE["lockit_refresh"].pop(form.get("refresh_token", ""), None) is None:
                    raise json_error(400, "invalid_grant", "Refresh token is invalid")
            else:
                raise json_error(400, "unsupported_grant_type", "Unsupported grant type")
            access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            ttl = int(CONFIG["lockit_expires_in"])
            STATE["lockit_access"][access] = time.time() + ttl
            STATE["lockit_refresh"][refresh] = True  # rotated: the one just used is gone
        return Reply(200, compact({
            "access_token": access, "refresh_token": refresh, "token_type": "Bearer", "expires_in": ttl,
        }))


# ---- fault endpoints: /fault/<name> -------------------------------------------------------------
def ok_token(**extra):
    body = {"access_token": "fault-" + secrets.token_hex(8), "token_type": "Bearer", "expires_in": 3600}
    body.update(extra)
    return Reply(200, compact(body))


def countdown(h):
    """True while this path (and optional ?key=) has failed fewer than ?n= times (default 1)."""
    key = (h.route_path, h.query.get("key", ""))
    with LOCK:
        seen = STATE["counters"].get(key, 0)
        STATE["counters"][key] = seen + 1
    return seen < int(h.query.get("n", 1))


HTML_ERROR = (  # what an nginx in front of the token endpoint sends for a dead upstream
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
HTML_LOGIN = (  # an SSO login page answered with 200 instead of a token
    '<!DOCTYPE html><html><head><title>Sign in</title></head><body><form method="post" action="/login">'
    '<input name="username"><input name="password" type="password"><button>Sign in</button></form></body></html>'
)


def fault_flaky(status):
    def handler(h):
        if countdown(h):
            raise Reply(status, compact({"error": "server_error", "error_description": f"HTTP {status}"}))
        return ok_token()
    return handler


def fault_rate_limited(h):
    if countdown(h):
        raise Reply(429, compact({"error": "rate_limited", "error_description": "Too many requests"}),
                    headers={"Retry-After": h.query.get("retry_after", "1")})
    return ok_token()


def fault_temporarily_unavailable(h):
    if countdown(h):
        raise json_error(400, "temporarily_unavailable")
    return ok_token()


def fault_slow(h):
    time.sleep(float(h.query.get("delay", 2)))
    return ok_token()


def fault_redirect(h):
    # ?status=301|302|303|307|308 (default 302); ?cross_host=1 sends it to http://localhost:PORT instead.
    target = "/fault/redirect-target"
    if h.query.get("cross_host"):
        target = f"http://localhost:{h.server.server_address[1]}{target}"
    return Reply(int(h.query.get("status", 302)), b"", content_type=None, headers={"Location": target})


def fault_redirect_target(h):
    # What arrived here is also in GET /_requests; the response says it too, for convenience.
    leaked = {"authorization": "Authorization" in h.headers, "client_secret": "client_secret" in h.form}
    return ok_token(received_credentials=leaked)


def fault_no_expires_jwt(h):
    now = int(time.time())
    token = jwt_like({"sub": "fault", "iat": now, "exp": now + int(h.query.get("exp_in", 3600))})
    return Reply(200, compact({"access_token": token, "token_type": "Bearer"}))


# ---- hostile endpoints: what a malicious or compromised server can put in front of the operator ----------------
# A terminal attack (window title, screen clear, colour, bell), a right-to-left override, and a phishing address.
TERMINAL_ATTACK = "\x1b]0;owned\x07\x1b[2J\x1b[31mRED\x1b[0m\u202eevil\u202c"
PHISHING_URI = "https://phish.invalid/help"


def echo_of(h):
    """The request as a debug page or a proxy echoes it: the Authorization header, the X-Leak-Check header, the raw
    form body."""
    return "authorization=%s x-leak=%s body=%s" % (
        h.headers.get("Authorization"), h.headers.get("X-Leak-Check"), h.raw_body)


def fault_echo_error(h):
    # The echo in the RFC 6749 "error" field itself (its character set allows all of it), not in error_description.
    return json_error(400, "invalid_client " + echo_of(h), "rejected", error_uri=PHISHING_URI)


def fault_echo_location(h):
    # A redirect whose Location carries the echo in its path and its query (as a misconfigured SSO gateway does).
    echo = echo_of(h)
    location = "https://elsewhere.invalid/echo/%s?%s&auth=%s" % (
        echo.replace(" ", "/"), h.raw_body, h.headers.get("Authorization"))
    return Reply(302, b"", content_type=None, headers={"Location": location})


def fault_hostile_text(h):
    return json_error(400, "invalid_request" + TERMINAL_ATTACK, TERMINAL_ATTACK + " call +1 555 0100",
                      error_uri=PHISHING_URI)


def fault_hostile_token(h):
    # A token whose token_type would inject a header line and whose scope attacks the terminal.
    return ok_token(token_type="Bearer\r\nX-Injected: 1", scope="read " + TERMINAL_ATTACK)


def fault_hostile_device(h):
    # RFC 8628 device authorization response whose strings meant for the person attack the terminal;
    # ?field= picks which (verification_uri by default).
    body = {"device_code": "dev-" + secrets.token_hex(8), "user_code": "WDJB-MJHT",
            "verification_uri": "https://idp.invalid/device", "expires_in": 2, "interval": 1}
    field = h.query.get("field", "verification_uri")
    body[field] = str(body.get(field) or "https://idp.invalid/device") + TERMINAL_ATTACK
    return Reply(200, compact(body))


def fault_echo_expires_in(h):
    # A token answer whose expires_in is the request echoed (a debug build that fills fields from the request).
    return ok_token(expires_in=echo_of(h))


def fault_echo_keys(h):
    # No access_token; the request echoed, and terminal escape sequences, as the names of the answer's keys.
    return Reply(200, compact({echo_of(h): 1, TERMINAL_ATTACK: 2, "token_type": "Bearer"}))


def fault_nan_expires(h):
    # Python's and JavaScript's JSON encoders write NaN and Infinity as bare words; ?value= picks which.
    value = h.query.get("value", "NaN")
    return Reply(200, '{"access_token":"fault-nan","token_type":"Bearer","expires_in":%s}' % value)


def fault_far_exp_jwt(h):
    # A JWT without expires_in whose exp is ?exp= (default 1e20: far beyond any date a computer shows).
    token = jwt_like({"sub": "fault", "exp": float(h.query.get("exp", "1e20"))})
    return Reply(200, compact({"access_token": token, "token_type": "Bearer"}))


def fault_hostile_content_type(h):
    # An answer that is not JSON under a Content-Type holding the request echoed and terminal escape sequences.
    kind = "text/html" + TERMINAL_ATTACK.replace("\u202e", "").replace("\u202c", "") + echo_of(h).replace(";", ",")
    return Reply(502, "<html>bad gateway</html>", kind.encode("latin-1", "replace").decode("latin-1"))


def zeros(length, chunk=1 << 20):
    while length > 0:
        yield bytes(min(chunk, length))
        length -= chunk


def fault_huge_body(h):
    # ?mb= megabytes (default 64) of a body that never ends in anything useful, with HTTP ?status= (200).
    length = int(h.query.get("mb", 64)) << 20
    return Reply(int(h.query.get("status", 200)), Streamed(length, (b"{" + chunk[1:] for chunk in zeros(length))))


def dribble(length, every):
    for _byte in range(length):
        time.sleep(every)
        yield b" "


def fault_dribble(h):
    # A body of ?length= bytes (1000) sent one byte every ?every= seconds (0.2): each read of the client returns within
    # its timeout, the whole answer takes minutes.
    length = int(h.query.get("length", 1000))
    return Reply(200, Streamed(length, dribble(length, float(h.query.get("every", 0.2)))))


_BOMBS = {}


def fault_gzip_bomb(h):
    # ?mb= megabytes (default 200) of zeros, gzip-compressed to a few hundred kilobytes: Content-Encoding: gzip.
    mb = int(h.query.get("mb", 200))
    with LOCK:
        if mb not in _BOMBS:
            packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip stream
            _BOMBS[mb] = b"".join(packer.compress(chunk) for chunk in zeros(mb << 20)) + packer.flush()
    return Reply(200, _BOMBS[mb], headers={"Content-Encoding": "gzip"})


def fault_device_code(h):
    # RFC 8628 device authorization response whose expires_in and interval are ?expires_in= and ?interval=, written
    # as they are into the JSON (Infinity, NaN, 1e999, huge numbers), and whose verification_uri is ?uri=.
    return Reply(200, '{"device_code":"dev-%s","user_code":"WDJB-MJHT","verification_uri":%s,"expires_in":%s,'
                      '"interval":%s}' % (secrets.token_hex(8), json.dumps(h.query.get("uri", "https://idp.invalid/device")),
                                          h.query.get("expires_in", "600"), h.query.get("interval", "1")))


FAULTS = {
    # Bodies that are not a usable token response.
    "html-502": lambda h: Reply(502, HTML_ERROR, "text/html"),
    "html-200": lambda h: Reply(200, HTML_LOGIN, "text/html; charset=utf-8"),
    "text-plain": lambda h: Reply(200, "access granted", "text/plain"),
    "form-encoded": lambda h: Reply(200, "access_token=form-token&token_type=bearer&expires_in=3600",
                                    "application/x-www-form-urlencoded"),
    "truncated-json": lambda h: Reply(200, '{"access_token": "abc", "expires_in": 36'),
    "no-access-token": lambda h: Reply(200, compact({"token_type": "Bearer", "expires_in": 3600})),
    # expires_in variants.
    "expires-in-string": lambda h: ok_token(expires_in="3600"),
    "expires-in-float": lambda h: Reply(
        200, '{"access_token":"fault-float","token_type":"Bearer","expires_in":3600.0}'),
    "no-expires-jwt": fault_no_expires_jwt,
    "no-expires-opaque": lambda h: Reply(200, compact({"access_token": "opaque-" + secrets.token_hex(8),
                                                       "token_type": "Bearer"})),
    "negative-expires": lambda h: ok_token(expires_in=-60),
    # Transient failures, then success (?n= failures, default 1; ?key= separates counters).
    "flaky-500": fault_flaky(500),
    "flaky-502": fault_flaky(502),
    "flaky-503": fault_flaky(503),
    "rate-limited": fault_rate_limited,
    "temporarily-unavailable": fault_temporarily_unavailable,
    "slow": fault_slow,
    "redirect": fault_redirect,
    "redirect-target": fault_redirect_target,
    # Final OAuth errors.
    "invalid-client": lambda h: json_error(401, "invalid_client", "Client authentication failed",
                                           headers={"WWW-Authenticate": 'Basic realm="fault"'}),
    "invalid-scope": lambda h: json_error(400, "invalid_scope", "The requested scope is invalid"),
    "invalid-grant": lambda h: json_error(400, "invalid_grant", "The provided grant is invalid"),
    "unsupported-grant-type": lambda h: json_error(400, "unsupported_grant_type", "The grant type is not supported"),
    "ok": lambda h: ok_token(),
    # Hostile servers (issue #12): echoes in "error" and in a Location, terminal attacks, phishing error_uri.
    "echo-error": fault_echo_error,
    "echo-location": fault_echo_location,
    "hostile-text": fault_hostile_text,
    "hostile-token": fault_hostile_token,
    "hostile-device": fault_hostile_device,
    # Hostile servers (issue #12, the review after): fields and headers that reach messages, numbers that are not,
    # answers too big to hold.
    "echo-expires-in": fault_echo_expires_in,
    "echo-keys": fault_echo_keys,
    "nan-expires": fault_nan_expires,
    "far-exp-jwt": fault_far_exp_jwt,
    "hostile-content-type": fault_hostile_content_type,
    "hostile-scope": lambda h: ok_token(scope=h.query.get("scope", "read\nINJECTED=1")),
    "redirect-scheme": lambda h: Reply(int(h.query.get("status", 307)), b"", content_type=None,
                                       headers={"Location": h.query.get("to", "file:///etc/shadow")}),
    "device-code": fault_device_code,
    "slow-down": lambda h: json_error(400, "slow_down", "Polling too fast"),
    "access-denied": lambda h: json_error(400, "access_denied", "The user denied the request"),
    "dribble": fault_dribble,
    "huge-body": fault_huge_body,
    "gzip-bomb": fault_gzip_bomb,
}


def main():
    port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PORT", 0))
    CONFIG.update(json.loads(sys.argv[2] if len(sys.argv) > 2 else os.environ.get("QUIRKS_CONFIG", "{}")))
    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    httpd.daemon_threads = True
    if CONFIG.get("tls_cert"):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(CONFIG["tls_cert"], CONFIG.get("tls_key"))
        # The handshake happens in the request's thread (on its first read), so a client that rejects the
        # certificate, or never speaks, cannot hold up the accept loop.
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
    exit_with_parent()
    print(f"READY {httpd.server_address[1]}", flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
