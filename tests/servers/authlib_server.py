"""A real OAuth 2.0 authorization server built with authlib + flask, for the test suite.

    python tests/servers/authlib_server.py [PORT] [CONFIG_JSON]

PORT (argv or $PORT, default 0 = any free port). CONFIG_JSON (argv or $AUTHLIB_SERVER_CONFIG) may set
access_token_ttl (s, default 3600) and introspection: "own" (the default: a client may introspect its own tokens)
or "resource_server" (only the client ``resource_server`` may, any token; to the others every token is inactive, as
RFC 7662 section 2.2 has a server answer a client that may not introspect it). Prints ``READY <port>`` on stdout
once listening.

POST /oauth/token       password, refresh_token (rotating; reuse is invalid_grant), client_credentials
                        (the public client ``public``, without a secret: password and refresh_token only)
POST /oauth/introspect  RFC 7662
POST /oauth/revoke      RFC 7009
GET  /me                Bearer -> the token's user
GET  /_clients, GET /_stats, POST /_stats/reset
Each client authenticates with exactly one method (its ``client_auth``); the other is invalid_client.
"""

import json
import logging
import os
import sys
import time

# Plain http on 127.0.0.1; authlib refuses it otherwise. Must be set before authlib is imported.
os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector, current_token  # noqa: E402
from authlib.oauth2.rfc6749 import grants  # noqa: E402
from authlib.oauth2.rfc6750 import BearerTokenValidator  # noqa: E402
from authlib.oauth2.rfc7009 import RevocationEndpoint  # noqa: E402
from authlib.oauth2.rfc7662 import IntrospectionEndpoint  # noqa: E402
from flask import Flask, jsonify, request  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from parent_watch import exit_with_parent  # noqa: E402  (run as a script: its folder is on sys.path)

SCOPES = ["read", "write"]
GRANTS = ["password", "refresh_token", "client_credentials"]
CLIENTS = {
    "basic": {
        "client_id": "authlib-basic",
        "client_secret": "authlib-basic-secret",
        "client_auth": "client_secret_basic",
        "grant_types": GRANTS,
        "scope": "read write",
    },
    "post": {
        "client_id": "authlib-post",
        "client_secret": "authlib-post-secret",
        "client_auth": "client_secret_post",
        "grant_types": GRANTS,
        "scope": "read write",
    },
    # A native app (RFC 8252) using the password grant: no secret, so the token cache keys its entries by the
    # user's password and the controller's master key.
    "public": {
        "client_id": "authlib-public",
        "client_secret": None,
        "client_auth": "none",
        "grant_types": ["password", "refresh_token"],
        "scope": "read write",
    },
    # A resource server: it obtains no tokens, it only introspects them.
    "resource_server": {
        "client_id": "authlib-resource-server",
        "client_secret": "authlib-resource-server-secret",
        "client_auth": "client_secret_basic",
        "grant_types": [],
        "scope": "",
    },
}
USERS = {"alice": {"id": 1, "username": "alice", "password": "alice-password"}}
BOTH_SECRET_METHODS = ["client_secret_basic", "client_secret_post"]
ANY_METHOD = BOTH_SECRET_METHODS + ["none"]  # check_endpoint_auth_method still allows each client its own only


class Client:
    """authlib ClientMixin over one CLIENTS entry."""

    def __init__(self, data):
        self.data = data
        self.client_id = data["client_id"]

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        allowed = set(self.data["scope"].split())
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri):
        return False

    def check_client_secret(self, client_secret):
        return self.data["client_secret"] is not None and client_secret == self.data["client_secret"]

    def check_endpoint_auth_method(self, method, endpoint):
        # The whole point of this server: one client, one method, at every endpoint.
        return method == self.data["client_auth"]

    def check_response_type(self, response_type):
        return False

    def check_grant_type(self, grant_type):
        return grant_type in self.data["grant_types"]


class Token:
    """authlib TokenMixin; kept in memory by access and refresh token value."""

    def __init__(self, client_id, user, payload):
        self.client_id = client_id
        self.user = user
        self.access_token = payload["access_token"]
        self.refresh_token = payload.get("refresh_token")
        self.scope = payload.get("scope", "")
        self.expires_in = payload["expires_in"]
        self.issued_at = int(time.time())
        self.revoked = False

    def check_client(self, client):
        return client.get_client_id() == self.client_id

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return self.expires_in

    def is_expired(self):
        return time.time() >= self.issued_at + self.expires_in

    def is_revoked(self):
        return self.revoked

    def get_user(self):
        return self.user

    def get_client(self):
        return query_client(self.client_id)


ACCESS = {}
REFRESH = {}
STATS = {"token_requests": 0, "by_grant": {}}


def query_client(client_id):
    data = next((c for c in CLIENTS.values() if c["client_id"] == client_id), None)
    return Client(data) if data else None


def save_token(payload, req):
    user = req.user if req.user and "username" in req.user else None
    token = Token(req.client.client_id, user, payload)
    ACCESS[token.access_token] = token
    if token.refresh_token:
        REFRESH[token.refresh_token] = token


def find_token(value, hint=None):
    if hint == "refresh_token":
        return REFRESH.get(value)
    return ACCESS.get(value) or (None if hint == "access_token" else REFRESH.get(value))


class PasswordGrant(grants.ResourceOwnerPasswordCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ANY_METHOD

    def authenticate_user(self, username, password):
        user = next((u for u in USERS.values() if u["username"] == username), None)
        if user and user["password"] == password:
            return {"id": user["id"], "username": user["username"]}
        return None


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = BOTH_SECRET_METHODS


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ANY_METHOD
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotate on every use

    def authenticate_refresh_token(self, refresh_token):
        token = REFRESH.get(refresh_token)
        if token and not token.revoked:
            return token
        return None

    def authenticate_user(self, refresh_token):
        return refresh_token.user

    def revoke_old_credential(self, refresh_token):
        refresh_token.revoked = True


class Introspection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = BOTH_SECRET_METHODS
    policy = "own"  # or "resource_server": see the module docstring

    def query_token(self, token_string, token_type_hint):
        return find_token(token_string, token_type_hint)

    def check_permission(self, token, client, request):
        if self.policy == "resource_server":
            return client.client_id == CLIENTS["resource_server"]["client_id"]
        return token.client_id == client.client_id

    def introspect_token(self, token):
        return {
            "active": True,
            "client_id": token.client_id,
            "token_type": "Bearer",
            "scope": token.scope,
            "username": token.user["username"] if token.user else None,
            "exp": token.issued_at + token.expires_in,
            "iat": token.issued_at,
        }


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = BOTH_SECRET_METHODS

    def query_token(self, token_string, token_type_hint):
        return find_token(token_string, token_type_hint)

    def revoke_token(self, token, request):
        token.revoked = True


class Validator(BearerTokenValidator):
    def authenticate_token(self, token_string):
        return ACCESS.get(token_string)


def create_app(config):
    app = Flask(__name__)
    ttl = int(config.get("access_token_ttl", 3600))
    app.config.update(
        OAUTH2_SCOPES_SUPPORTED=SCOPES,
        OAUTH2_REFRESH_TOKEN_GENERATOR=True,
        OAUTH2_TOKEN_EXPIRES_IN={g: ttl for g in GRANTS},
    )
    server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
    server.register_grant(PasswordGrant)
    server.register_grant(ClientCredentialsGrant)
    server.register_grant(RefreshTokenGrant)
    Introspection.policy = config.get("introspection", "own")
    server.register_endpoint(Introspection)
    server.register_endpoint(Revocation)
    protect = ResourceProtector()
    protect.register_token_validator(Validator())

    @app.post("/oauth/token")
    def token():
        STATS["token_requests"] += 1
        grant = request.form.get("grant_type", "")
        STATS["by_grant"][grant] = STATS["by_grant"].get(grant, 0) + 1
        return server.create_token_response()

    @app.post("/oauth/introspect")
    def introspect():
        return server.create_endpoint_response(Introspection.ENDPOINT_NAME)

    @app.post("/oauth/revoke")
    def revoke():
        return server.create_endpoint_response(Revocation.ENDPOINT_NAME)

    @app.get("/me")
    @protect()
    def me():
        return jsonify(user=current_token.user, client_id=current_token.client_id, scope=current_token.scope)

    @app.get("/_clients")
    def clients():
        return jsonify(clients=CLIENTS, users=USERS, scopes=SCOPES)

    @app.get("/_stats")
    def stats():
        return jsonify(STATS)

    @app.post("/_stats/reset")
    def reset_stats():
        STATS["token_requests"] = 0
        STATS["by_grant"] = {}
        return jsonify(STATS)

    return app


def main():
    port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PORT", 0))
    config = json.loads(sys.argv[2] if len(sys.argv) > 2 else os.environ.get("AUTHLIB_SERVER_CONFIG", "{}"))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no per-request lines on stderr
    httpd = make_server("127.0.0.1", port, create_app(config), threaded=True)
    exit_with_parent()
    print(f"READY {httpd.server_port}", flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
