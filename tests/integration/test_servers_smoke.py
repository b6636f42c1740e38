"""The test servers are real and enforce what the engine's tests rely on (plain ``requests``, no engine)."""

import base64
import json
import re
import time
import uuid

import pytest
import requests

from tests.servers.launch import approve_device_code, obtain_authorization_code, pkce_pair

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def basic(client):
    return (client["client_id"], client["client_secret"])


def post_creds(client, **form):
    return dict(form, client_id=client["client_id"], client_secret=client["client_secret"])


def jwt_claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# ---- oidc-provider --------------------------------------------------------------------------------
def test_oidc_client_credentials_basic_only(oidc_provider):
    client, token_url = oidc_provider.clients["cc_basic"], oidc_provider.url + "/token"
    ok = requests.post(token_url, auth=basic(client), data={"grant_type": "client_credentials",
                                                            "scope": "api:read api:write"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["scope"] == "api:read api:write" and ok.json()["token_type"] == "Bearer"
    wrong = requests.post(token_url, data=post_creds(client, grant_type="client_credentials"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"


def test_oidc_client_credentials_post_only(oidc_provider):
    client, token_url = oidc_provider.clients["cc_post"], oidc_provider.url + "/token"
    ok = requests.post(token_url, data=post_creds(client, grant_type="client_credentials", scope="api:read"))
    assert ok.status_code == 200 and ok.json()["scope"] == "api:read", ok.text
    wrong = requests.post(token_url, auth=basic(client), data={"grant_type": "client_credentials"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    bad_secret = requests.post(token_url, data=dict(post_creds(client, grant_type="client_credentials"),
                                                    client_secret="nope"))
    assert bad_secret.status_code == 401 and bad_secret.json()["error"] == "invalid_client"


def test_oidc_code_pkce_refresh_rotation(oidc_provider):
    client, token_url = oidc_provider.clients["web"], oidc_provider.url + "/token"
    redirect_uri = client["redirect_uris"][0]
    verifier, challenge = pkce_pair()
    code = obtain_authorization_code(oidc_provider, client, redirect_uri, "openid offline_access", challenge)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    assert requests.post(token_url, auth=basic(client), data=dict(form, code_verifier="x" * 43)).status_code == 400
    code = obtain_authorization_code(oidc_provider, client, redirect_uri, "openid offline_access", challenge)
    first = requests.post(token_url, auth=basic(client), data=dict(form, code=code, code_verifier=verifier))
    assert first.status_code == 200, first.text
    old_refresh = first.json()["refresh_token"]
    me = requests.get(oidc_provider.url + "/me", headers={"Authorization": "Bearer " + first.json()["access_token"]})
    assert me.json()["sub"] == "alice"

    second = requests.post(token_url, auth=basic(client), data={"grant_type": "refresh_token",
                                                                "refresh_token": old_refresh})
    assert second.status_code == 200, second.text
    assert second.json()["refresh_token"] != old_refresh  # rotated on every use
    reuse = requests.post(token_url, auth=basic(client), data={"grant_type": "refresh_token",
                                                               "refresh_token": old_refresh})
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"


def test_oidc_public_client_requires_pkce(oidc_provider):
    client = oidc_provider.clients["public"]
    with pytest.raises(AssertionError, match="invalid_request"):
        obtain_authorization_code(oidc_provider, client, scope="openid")
    verifier, challenge = pkce_pair()
    code = obtain_authorization_code(oidc_provider, client, scope="openid", code_challenge=challenge)
    token = requests.post(oidc_provider.url + "/token", data={
        "grant_type": "authorization_code", "client_id": client["client_id"], "code": code,
        "redirect_uri": client["redirect_uris"][0], "code_verifier": verifier})
    assert token.status_code == 200, token.text


def test_oidc_device_flow(oidc_provider):
    client = oidc_provider.clients["device"]
    start = requests.post(oidc_provider.url + "/device/auth",
                          data={"client_id": client["client_id"], "scope": "openid"}).json()
    poll = {"grant_type": DEVICE_GRANT, "client_id": client["client_id"], "device_code": start["device_code"]}
    pending = requests.post(oidc_provider.url + "/token", data=poll)
    assert pending.json()["error"] == "authorization_pending"
    approve_device_code(oidc_provider, start["user_code"])
    assert requests.post(oidc_provider.url + "/token", data=poll).status_code == 200


def test_oidc_introspection_revocation_and_stats(oidc_provider):
    client = oidc_provider.clients["cc_basic"]
    oidc_provider.reset_stats()
    token = requests.post(oidc_provider.url + "/token", auth=basic(client),
                          data={"grant_type": "client_credentials", "scope": "api:read"}).json()["access_token"]
    introspect = oidc_provider.url + "/token/introspection"
    assert requests.post(introspect, auth=basic(client), data={"token": token}).json()["active"] is True
    assert requests.post(oidc_provider.url + "/token/revocation", auth=basic(client),
                         data={"token": token}).status_code == 200
    assert requests.post(introspect, auth=basic(client), data={"token": token}).json()["active"] is False
    assert oidc_provider.stats() == {"token_requests": 1, "by_grant": {"client_credentials": 1}}


def test_oidc_short_ttl(oidc_provider_short_ttl):
    client = oidc_provider_short_ttl.clients["cc_post"]
    token = requests.post(oidc_provider_short_ttl.url + "/token",
                          data=post_creds(client, grant_type="client_credentials", scope="api:read"))
    assert token.json()["expires_in"] == 3


# ---- @node-oauth/oauth2-server ------------------------------------------------------------------
def test_oauth2_server_password_refresh_rotation_and_me(oauth2_server):
    client, user = oauth2_server.clients["app"], oauth2_server.users["admin"]
    token_url = oauth2_server.url + "/token"
    first = requests.post(token_url, auth=basic(client), data={
        "grant_type": "password", "username": user["username"], "password": user["password"], "scope": "read write"})
    assert first.status_code == 200, first.text
    me = requests.get(oauth2_server.url + "/me", headers={"Authorization": "Bearer " + first.json()["access_token"]})
    assert me.json()["user"]["username"] == user["username"]
    refresh = {"grant_type": "refresh_token", "refresh_token": first.json()["refresh_token"]}
    second = requests.post(token_url, auth=basic(client), data=refresh)
    assert second.status_code == 200 and second.json()["refresh_token"] != refresh["refresh_token"]
    reuse = requests.post(token_url, auth=basic(client), data=refresh)
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    assert requests.get(oauth2_server.url + "/me").status_code == 401


def test_oauth2_server_basic_only(oauth2_server):
    client, token_url = oauth2_server.clients["app"], oauth2_server.url + "/token"
    assert requests.post(token_url, auth=basic(client), data={"grant_type": "client_credentials"}).status_code == 200
    no_basic = requests.post(token_url, data=post_creds(client, grant_type="client_credentials"))
    assert no_basic.status_code == 401 and no_basic.json()["error"] == "invalid_client"


# ---- authlib -------------------------------------------------------------------------------------
def test_authlib_auth_method_enforced(authlib_server):
    token_url = authlib_server.url + "/oauth/token"
    basic_client, post_client = authlib_server.clients["basic"], authlib_server.clients["post"]
    assert requests.post(token_url, auth=basic(basic_client), data={"grant_type": "client_credentials"}).ok
    assert requests.post(token_url, data=post_creds(post_client, grant_type="client_credentials")).ok
    for wrong in (requests.post(token_url, data=post_creds(basic_client, grant_type="client_credentials")),
                  requests.post(token_url, auth=basic(post_client), data={"grant_type": "client_credentials"})):
        assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"


def test_authlib_refresh_rotation_introspect_revoke(authlib_server):
    client, user = authlib_server.clients["basic"], authlib_server.users["alice"]
    url = authlib_server.url
    first = requests.post(url + "/oauth/token", auth=basic(client), data={
        "grant_type": "password", "username": user["username"], "password": user["password"], "scope": "read"}).json()
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    second = requests.post(url + "/oauth/token", auth=basic(client), data=refresh)
    assert second.status_code == 200 and second.json()["refresh_token"] != first["refresh_token"]
    reuse = requests.post(url + "/oauth/token", auth=basic(client), data=refresh)
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    access = second.json()["access_token"]
    info = requests.post(url + "/oauth/introspect", auth=basic(client), data={"token": access}).json()
    assert info["active"] is True and info["username"] == "alice" and info["scope"] == "read"
    assert requests.post(url + "/oauth/revoke", auth=basic(client), data={"token": access}).status_code == 200
    gone = requests.post(url + "/oauth/introspect", auth=basic(client), data={"token": access})
    assert gone.json() == {"active": False}


# ---- provider reproductions ---------------------------------------------------------------------
def harbor_url(server, env, name="harbor_token"):
    return server.url + server.info["endpoints"][name].format(env=env)


def test_harbor_client_credentials(quirks_server):
    prod = quirks_server.clients["harbor_production"]
    url = harbor_url(quirks_server, "production")
    ok = requests.post(url, data=post_creds(prod, grant_type="client_credentials", scope="service_provider"))
    assert ok.status_code == 200
    assert re.fullmatch(r'\{"access_token":"[\w.-]+","refresh_token":null,"refresh_expires_in":0,'
                        r'"expires_in":300,"token_type":"Bearer"\}', ok.text), ok.text
    token = ok.json()["access_token"]
    assert jwt_claims(token)["exp"] - time.time() == pytest.approx(300, abs=5)
    # Basic header alone: Keycloak's client_secret_post looks only at the body.
    basic_only = requests.post(url, auth=basic(prod), data={"grant_type": "client_credentials"})
    assert basic_only.status_code == 401 and basic_only.json()["error"] == "unauthorized_client"
    wrong = requests.post(url, data=dict(post_creds(prod, grant_type="client_credentials"), client_secret="x"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    sandbox_on_prod = requests.post(url, data=post_creds(quirks_server.clients["harbor_sandbox"],
                                                         grant_type="client_credentials"))
    assert sandbox_on_prod.status_code == 401
    bad_scope = requests.post(url, data=post_creds(prod, grant_type="client_credentials", scope="admin"))
    assert bad_scope.status_code == 400 and bad_scope.json()["error"] == "invalid_scope"

    test_token = harbor_url(quirks_server, "production", "harbor_test_token")
    me = requests.post(test_token, headers={"Authorization": "Bearer " + token})
    assert me.status_code == 200 and me.text.startswith('{"email":"test@test.com","isActive":true,')
    assert me.json()["clientId"] == prod["client_id"]
    assert requests.post(harbor_url(quirks_server, "sandbox", "harbor_test_token"),
                         headers={"Authorization": "Bearer " + token}).status_code == 401
    assert requests.post(test_token, headers={"Authorization": "Bearer nope"}).status_code == 401


def test_harbor_sandbox_and_tower_access(quirks_server):
    sandbox = quirks_server.clients["harbor_sandbox"]
    ok = requests.post(harbor_url(quirks_server, "sandbox"),
                       data=post_creds(sandbox, grant_type="client_credentials", scope="tower_access"))
    assert ok.status_code == 200 and ok.json()["refresh_token"] is None


def test_depotfinity(quirks_server):
    client, url = quirks_server.clients["depotfinity"], quirks_server.url + "/oauth2/token"
    ok = requests.post(url, auth=basic(client), data={"grant_type": "client_credentials"},
                       headers={"Accept": "application/json"})
    assert ok.status_code == 200 and list(ok.json()) == ["access_token", "expires_in", "token_type"]
    assert ok.json()["expires_in"] == 3600 and ok.json()["access_token"].count(".") == 2
    for bad in (requests.post(url, data=post_creds(client, grant_type="client_credentials")),
                requests.post(url, auth=(client["client_id"], "x"), data={"grant_type": "client_credentials"}),
                requests.post(url, auth=basic(client), data={"grant_type": "password"}),
                requests.post(url, auth=basic(client))):
        assert bad.status_code == 403 and set(bad.json()) == {"error", "error_description"}


def test_breakout_spring(quirks_server):
    client, user = quirks_server.clients["breakout"], quirks_server.users["breakout"]
    url = quirks_server.url + "/oauth/token"
    ok = requests.post(url, auth=basic(client), data={
        "username": user["username"], "password": user["password"], "grant_type": "password", "scope": "read write"})
    assert ok.status_code == 200
    assert re.fullmatch(r'\{"access_token":"[\w-]+","token_type":"bearer","refresh_token":"\w+",'
                        r'"expires_in":42961,"scope":"read write"\}', ok.text), ok.text
    me = requests.get(quirks_server.url + "/me/", headers={"Authorization": "Bearer " + ok.json()["access_token"]})
    assert me.status_code == 200 and me.json()["email"] == user["username"]
    refreshed = requests.post(url, auth=basic(client),
                              data={"refresh_token": ok.json()["refresh_token"], "grant_type": "refresh_token"})
    assert refreshed.status_code == 200 and refreshed.json()["token_type"] == "bearer"
    assert refreshed.json()["refresh_token"] == ok.json()["refresh_token"]  # Spring reuses refresh tokens
    assert requests.post(url, data={"grant_type": "password"}).status_code == 401
    bad_user = requests.post(url, auth=basic(client), data={"grant_type": "password", "username": "x", "password": "y"})
    assert bad_user.status_code == 400 and bad_user.json()["error"] == "invalid_grant"


def test_lockit_code_flow(quirks_server):
    client, url = quirks_server.clients["lockit"], quirks_server.url + "/oauth/access-token"
    redirect_uri = client["redirect_uris"][0]
    verifier, challenge = pkce_pair()
    code = obtain_authorization_code(quirks_server, client, redirect_uri, scope=None, code_challenge=challenge)
    exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "code_verifier": verifier}
    assert requests.post(url, data=exchange).status_code == 401  # Basic is required
    ok = requests.post(url, auth=basic(client), data=exchange)
    assert ok.status_code == 200 and list(ok.json()) == ["access_token", "refresh_token", "token_type", "expires_in"]
    assert ok.json()["token_type"] == "Bearer" and ok.json()["expires_in"] == 604800
    again = requests.post(url, auth=basic(client), data=exchange)  # codes are single use
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"

    code = obtain_authorization_code(quirks_server, client, redirect_uri, scope=None)
    mismatch = requests.post(url, auth=basic(client), data={"grant_type": "authorization_code", "code": code,
                                                            "redirect_uri": "http://127.0.0.1/other"})
    assert mismatch.status_code == 400 and mismatch.json()["error"] == "invalid_grant"

    refresh = {"grant_type": "refresh_token", "refresh_token": ok.json()["refresh_token"]}
    assert requests.post(url, auth=basic(client), data=refresh).status_code == 200
    assert requests.post(url, auth=basic(client), data=refresh).status_code == 400  # rotated


# ---- fault endpoints ----------------------------------------------------------------------------
@pytest.mark.parametrize("name, status, content_type, check", [
    ("html-502", 502, "text/html", lambda r: r.text.startswith("<html>")),
    ("html-200", 200, "text/html", lambda r: "<form" in r.text),
    ("text-plain", 200, "text/plain", lambda r: r.text == "access granted"),
    ("form-encoded", 200, "application/x-www-form-urlencoded", lambda r: r.text.startswith("access_token=")),
    ("truncated-json", 200, "application/json", lambda r: r.text.endswith('"expires_in": 36')),
    ("no-access-token", 200, "application/json", lambda r: "access_token" not in r.json()),
    ("expires-in-string", 200, "application/json", lambda r: r.json()["expires_in"] == "3600"),
    ("expires-in-float", 200, "application/json", lambda r: '"expires_in":3600.0' in r.text),
    ("no-expires-jwt", 200, "application/json",
     lambda r: "expires_in" not in r.json() and jwt_claims(r.json()["access_token"])["exp"] > time.time()),
    ("no-expires-opaque", 200, "application/json",
     lambda r: "expires_in" not in r.json() and "." not in r.json()["access_token"]),
    ("negative-expires", 200, "application/json", lambda r: r.json()["expires_in"] < 0),
    ("invalid-client", 401, "application/json", lambda r: r.json()["error"] == "invalid_client"),
    ("invalid-scope", 400, "application/json", lambda r: r.json()["error"] == "invalid_scope"),
    ("invalid-grant", 400, "application/json", lambda r: r.json()["error"] == "invalid_grant"),
    ("unsupported-grant-type", 400, "application/json", lambda r: r.json()["error"] == "unsupported_grant_type"),
])
def test_fault_bodies(quirks_server, name, status, content_type, check):
    r = requests.post(f"{quirks_server.url}/fault/{name}", data={"grant_type": "client_credentials"})
    assert r.status_code == status and r.headers["Content-Type"].startswith(content_type)
    assert check(r), r.text


@pytest.mark.parametrize("name, status", [("flaky-500", 500), ("flaky-502", 502), ("flaky-503", 503),
                                          ("temporarily-unavailable", 400), ("rate-limited", 429)])
def test_fault_transient_then_success(quirks_server, name, status):
    url = f"{quirks_server.url}/fault/{name}?n=2&key={uuid.uuid4().hex}"
    for attempt in range(2):
        failed = requests.post(url, data={"grant_type": "client_credentials"})
        assert failed.status_code == status, attempt
    if name == "rate-limited":
        assert failed.headers["Retry-After"] == "1"
    if name == "temporarily-unavailable":
        assert failed.json() == {"error": "temporarily_unavailable"}
    assert requests.post(url, data={"grant_type": "client_credentials"}).status_code == 200


def test_fault_slow(quirks_server):
    started = time.monotonic()
    assert requests.post(quirks_server.url + "/fault/slow?delay=0.5").status_code == 200
    assert time.monotonic() - started >= 0.5
    with pytest.raises(requests.Timeout):
        requests.post(quirks_server.url + "/fault/slow?delay=1", timeout=0.2)


def test_fault_redirect_records_what_arrived(quirks_server):
    fault = quirks_server.clients["fault"]
    requests.post(quirks_server.url + "/_requests/reset")
    # 307 keeps method and body; requests keeps Authorization on the same host.
    r = requests.post(quirks_server.url + "/fault/redirect?status=307", auth=basic(fault),
                      data=post_creds(fault, grant_type="client_credentials"))
    assert r.status_code == 200 and r.json()["received_credentials"] == {"authorization": True, "client_secret": True}
    # Another host name: requests drops the Authorization header (the body still follows a 307).
    r = requests.post(quirks_server.url + "/fault/redirect?status=307&cross_host=1", auth=basic(fault),
                      data={"grant_type": "client_credentials"})
    assert r.json()["received_credentials"] == {"authorization": False, "client_secret": False}
    log = requests.get(quirks_server.url + "/_requests").json()
    assert [e["path"] for e in log] == ["/fault/redirect", "/fault/redirect-target"] * 2
    assert log[1]["form"]["client_secret"] == fault["client_secret"]
    assert "Authorization" in log[1]["headers"] and "Authorization" not in log[3]["headers"]
    assert requests.get(quirks_server.url + "/_stats").json()["token_requests"] >= 4


@pytest.mark.parametrize("name, path, data, status", [
    ("depotfinity", "/oauth2/token", {"grant_type": "client_credentials"}, 403),
    ("breakout", "/oauth/token", {"grant_type": "password", "username": "admin@break-out.org",
                                  "password": "password"}, 400),
    ("lockit", "/oauth/access-token", {"grant_type": "refresh_token", "refresh_token": "any"}, 400),
])
def test_basic_only_providers_refuse_a_secret_also_in_the_body(quirks_server, name, path, data, status):
    """Their documents say HTTP Basic, and RFC 6749 2.3.1 one method per request: a client that sends the secret in
    the body as well is refused, so an integration test notices such a client."""
    client = quirks_server.clients[name]
    both = requests.post(quirks_server.url + path, auth=basic(client),
                         data=dict(data, client_id=client["client_id"], client_secret=client["client_secret"]))
    assert both.status_code == status and both.json()["error"] == "invalid_request", both.text
    assert "more than one" in both.json()["error_description"]
