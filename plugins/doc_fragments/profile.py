# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The profile options, documented once for the module, the action plugin and the lookup. The presets' lines
    # restate module_utils/presets.py (summary, inputs, choices); tests/unit/plugins/module_utils/test_presets.py
    # checks that the two agree.
    # Defaults are stated in prose: a preset may set an option, so the argument spec has no defaults of its own.
    DOCUMENTATION = r'''
options:
  preset:
    description:
      - A known provider whose documented settings fill every option the profile leaves unset. Every URL a preset
        builds can be overridden, by the URL option itself or by O(base_url) / O(api_url).
      - V(harbor_lockers) - Harbor Lockers accounts (Keycloak realm harbor), client credentials with the secret in
        the body. Inputs O(environment) or O(tower_id); O(scope) V(service_provider) or V(tower_access).
      - V(lockitnetwork) - LockitNetwork API, authorization code then refresh token, HTTP Basic client
        authentication.
      - V(depotfinity) - DepotFinity token management API, client credentials with HTTP Basic against the regional
        server. Input O(region).
      - V(keycloak) - Any Keycloak realm, base_url and realm build the token URL. Inputs O(base_url) and O(realm).
      - V(spring_security_oauth2) - Spring Security OAuth2 servers, /oauth/token, HTTP Basic, password grant. Input
        O(base_url).
    type: str
    choices: [harbor_lockers, lockitnetwork, depotfinity, keycloak, spring_security_oauth2]
  token_url:
    description:
      - The token endpoint. Required unless O(issuer) or O(preset) provides it.
      - Plain C(http://) is refused unless the host is loopback (C(localhost) itself or a loopback IP address, not
        C(*.localhost)) or O(allow_insecure_http=true).
      - No URL option may hold credentials (C(https://user:password@host/)); give them as O(client_id) and
        O(client_secret).
      - Proxies come from C(https_proxy), C(http_proxy), C(all_proxy) and C(no_proxy); a loopback host is always
        reached directly.
    type: str
  issuer:
    description:
      - Issuer identifier; the token endpoint is read from its RFC 8414 or OpenID Connect discovery document,
        whose C(issuer) must match this value exactly.
    type: str
  authorization_url:
    description: The authorization endpoint, for the first authorization of an authorization-code profile.
    type: str
  device_authorization_url:
    description: The device authorization endpoint (RFC 8628), for onboarding a headless controller.
    type: str
  introspection_url:
    description: The RFC 7662 introspection endpoint, used to validate a token when O(validate_url) is not set.
    type: str
  introspection_client_id:
    description:
      - The client that introspects tokens, for a server that lets only a resource server (or some other
        privileged client) call its introspection endpoint. Without it, the profile's own client introspects.
      - Needs O(introspection_client_secret). Used only to validate a token by introspection (C(validate=true) of
        the module and the lookup); revocation authenticates as the profile's client, since RFC 7009 has a token
        revoked by the client it was issued to.
    type: str
  introspection_client_secret:
    description: The secret of O(introspection_client_id). Never shown, like O(client_secret).
    type: str
  introspection_client_auth:
    description:
      - How O(introspection_client_id) authenticates at the introspection endpoint. Defaults to
        V(client_secret_basic), as in RFC 7662's examples.
    type: str
    choices: [client_secret_basic, client_secret_post]
  revocation_url:
    description: The RFC 7009 revocation endpoint, used to revoke cached tokens.
    type: str
  grant_type:
    description: The grant used to obtain a token. Defaults to V(client_credentials).
    type: str
    choices: [client_credentials, password, authorization_code, refresh_token]
  client_id:
    description: The client identifier. Always required.
    type: str
  client_secret:
    description: The client secret. Required unless O(client_auth) is V(none) or V(private_key_jwt).
    type: str
  client_auth:
    description:
      - How the client authenticates at the token endpoint. Defaults to V(client_secret_basic).
      - V(client_secret_basic) sends an HTTP Basic C(Authorization) header; V(client_secret_post) sends the
        credentials in the form body; V(private_key_jwt) sends a JWT signed with O(client_assertion_key)
        (RFC 7523); V(none) sends only C(client_id) (public clients).
    type: str
    choices: [client_secret_basic, client_secret_post, private_key_jwt, none]
  client_assertion_key:
    description:
      - For O(client_auth=private_key_jwt), an unencrypted PEM private key (RSA or EC P-256) that signs the client
        assertion. Its public key must be registered with the authorization server.
    type: path
  client_assertion_kid:
    description: The C(kid) header of the client assertion, naming the registered key.
    type: str
  client_assertion_alg:
    description: The signing algorithm of the client assertion. Defaults to V(ES256) for an EC key, else V(RS256).
    type: str
    choices: [RS256, ES256]
  basic_encoding:
    description:
      - With O(client_auth=client_secret_basic), whether client id and secret are form-encoded before base64
        (V(form), RFC 6749 section 2.3.1, the default) or joined as they are (V(raw)), as some servers expect.
    type: str
    choices: [form, raw]
  scope:
    description:
      - Scopes to request, as a space-separated string or a list (sent space-joined).
      - Sent with token requests and the device authorization request; not in the device code poll, since the
        device code was issued for it (RFC 8628).
    type: raw
  audience:
    description:
      - The C(audience) parameter some servers need to pick the API the token is for.
      - Sent with every token request and with the device authorization (and authorization) request.
    type: str
  resource:
    description:
      - RFC 8707 resource indicator(s), a URI or a list of URIs (a list is sent as repeated parameters).
      - Sent with every token request and with the device authorization (and authorization) request.
    type: raw
  username:
    description: The resource owner's user name, for O(grant_type=password).
    type: str
  password:
    description: The resource owner's password, for O(grant_type=password).
    type: str
  refresh_token:
    description:
      - The refresh token, for O(grant_type=refresh_token). A rotated refresh token held in the cache takes
        precedence, since the server may already have retired this one.
    type: str
  code:
    description: The authorization code to exchange, for O(grant_type=authorization_code). Never retried.
    type: str
  redirect_uri:
    description: The redirect URI the code was issued to, for O(grant_type=authorization_code).
    type: str
  code_verifier:
    description: The PKCE code verifier (RFC 7636) belonging to O(code).
    type: str
  extra_params:
    description:
      - Further form parameters for every token request (the profile's grant, a refresh, the authorization code
        exchange and the device code poll). Not sent to the device authorization, introspection or revocation
        endpoints, which have parameters of their own.
      - Treated as secret, never shown.
    type: dict
  headers:
    description:
      - Further HTTP headers for every request to the authorization server that carries the client's credentials
        (token requests, device authorization, introspection and revocation), say the API key or tenant a gateway
        in front of it needs.
      - Not sent to O(validate_url), the provider's API (a resource server, often on another host), nor when the
        discovery document of O(issuer) is fetched (it is public, and cached per issuer).
      - Treated as secret, never shown.
    type: dict
  timeout:
    description: Seconds to wait for one answer. Defaults to V(10).
    type: float
  retries:
    description:
      - How often a failed request is retried on connection errors, 408, 429, 5xx and
        C(temporarily_unavailable), with exponential backoff and jitter, honouring C(Retry-After). Defaults to V(3).
      - An authorization-code exchange is never retried.
    type: int
  deadline:
    description: Overall seconds for a request and all its retries. Defaults to V(60).
    type: float
  validate_certs:
    description: Whether to verify the server's TLS certificate. Defaults to V(true).
    type: bool
  ca_path:
    description: A CA bundle (PEM) to verify the server's certificate with.
    type: path
  client_cert:
    description: A client certificate (PEM) for mutual TLS.
    type: path
  client_key:
    description: The private key of O(client_cert), when it is not in the same file.
    type: path
  allow_insecure_http:
    description: Allow a plain C(http://) URL to a host that is not loopback. Defaults to V(false).
    type: bool
  renew_before:
    description:
      - Seconds before expiry at which a cached token counts as due for renewal.
      - Defaults to the smaller of 60 seconds and 10% of the token's lifetime.
    type: int
  default_ttl:
    description:
      - Lifetime in seconds assumed when the server sends no C(expires_in) and the token is not a JWT with an
        C(exp) claim. Defaults to V(300).
    type: int
  validate_url:
    description: An endpoint that accepts the token, used to check it (Harbor's test-token endpoint).
    type: str
  refresh_token_vars_file:
    description:
      - The YAML vars file on the controller where the playbook C(tokenops.oauth2.onboard) stores this profile's
        refresh token, vault-encrypted, and where the lookup and the module (on the controller; so the role
        C(tokenops.oauth2.deliver) and the playbook C(tokenops.oauth2.rotate) too) write a rotated one back,
        encrypted with the run's vault secret, before they hand out the access token.
      - A relative path is relative to the inventory directory.
    type: path
  refresh_token_var:
    description:
      - The variable in O(refresh_token_vars_file) that holds the refresh token.
      - Defaults to C(vault_<profile>_refresh_token).
    type: str
  cache:
    description: Whether to use the controller token cache. Defaults to V(true) on the controller.
    type: bool
  cache_dir:
    description:
      - Token cache directory for this profile, overriding the plugin setting.
      - It must belong to the user that runs the task and be writable by no one else (a symbolic link is refused).
      - For the module run on a managed host, the cache is used only when this is set.
    type: path
  cache_url:
    description:
      - The shared token store (Redis) for this profile, overriding the setting C(cache_url) (ansible.cfg
        C([tokenops_oauth2] cache_url), C(TOKENOPS_OAUTH2_CACHE_URL)); C(ansible-doc -t lookup tokenops.oauth2.token)
        describes the URL forms and the store's other settings.
      - Used on the controller only; the module run on a managed host (C(fetch_on=host) of M(tokenops.oauth2.token)) ignores it.
    type: str
  cache_fallback:
    description:
      - What to do when the shared store (O(cache_url)) cannot be used, overriding the setting C(cache_fallback)
        described by C(ansible-doc -t lookup tokenops.oauth2.token).
    type: str
    choices: [local, fail]
  base_url:
    description: Base URL a preset builds its endpoints from (a private deployment, a test server).
    type: str
  api_url:
    description: Base URL of the provider's API, from which a preset builds O(validate_url).
    type: str
  realm:
    description: Keycloak realm, for O(preset=keycloak).
    type: str
  region:
    description: DepotFinity region (for example V(eu)), for O(preset=depotfinity).
    type: str
  environment:
    description: Harbor Lockers environment, V(production) or V(sandbox), for O(preset=harbor_lockers).
    type: str
  tower_id:
    description:
      - Harbor Lockers tower ID; its first two digits pick the environment (V(10) production, V(01) sandbox).
    type: str
'''
