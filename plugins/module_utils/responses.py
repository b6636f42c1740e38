# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading token endpoint answers as real servers send them, and explaining the ones that are not tokens.

Every string of an answer that reaches a message or a result goes through ``redaction.server_text`` (or
``rfc6749_error``): the server may be hostile, and may echo what the request carried.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import math
import re

from urllib.parse import urlsplit, urlunsplit

from ansible_collections.tokenops.oauth2.plugins.module_utils.endpoint_requests import json_object
from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import TokenEndpointError
from ansible_collections.tokenops.oauth2.plugins.module_utils.presets import PRESETS
from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import HEADER_NAME
from ansible_collections.tokenops.oauth2.plugins.module_utils.redaction import rfc6749_error, server_text
from ansible_collections.tokenops.oauth2.plugins.module_utils.token import Token
from ansible_collections.tokenops.oauth2.plugins.module_utils.url_rules import without_userinfo

# A lifetime beyond this is a server bug (milliseconds sent as seconds, say), not a token to cache for years.
MAX_EXPIRES_IN = 400 * 24 * 3600
EXCERPT_LENGTH = 160
LOCATION_LENGTH = 200
SCOPE_LENGTH = 2000
TOKEN_TYPE_LENGTH = 40
# RFC 6749 appendix A.12 and A.17: access and refresh tokens are 1*VSCHAR, printable ASCII. Anything else would
# break (or inject into) the headers and files the token is delivered to.
VSCHAR = re.compile(r'^[\x20-\x7e]+\Z')

STATUS_HINTS = {
    400: 'check grant_type, scope and the grant inputs the server expects',
    401: 'check client_id/client_secret, client_auth, and the environment (sandbox vs production)',
    403: 'the server refused this client: check client_id/client_secret and what the client is allowed to request',
    404: 'check the token URL',
    405: 'check the token URL: this endpoint does not accept POST',
}

ERROR_HINTS = {
    'invalid_client': 'check client_id/client_secret and client_auth (basic vs post), and that the client is '
                      'registered in this environment (sandbox vs production)',
    'unauthorized_client': 'the client is not allowed this grant or this client authentication method: check '
                           'grant_type and client_auth against the client registration',
    'invalid_grant': 'the code, refresh token or user credentials were refused (expired, revoked or already used):'
                     ' obtain a new one',
    'invalid_scope': 'check scope against the scopes this client may request',
    'unsupported_grant_type': 'the server does not offer this grant_type for this client',
    'invalid_request': 'a required parameter is missing or malformed: check the profile against the provider docs',
    'temporarily_unavailable': 'the server is overloaded or in maintenance: try again later',
}


def answer_secrets(profile, response):
    """What must not show in a message quoting RESPONSE: the profile's secrets and what the request carried."""
    return profile.secret_values() + list(getattr(response, 'sent_secrets', ()))


def excerpt(text, secrets):
    """A short, single-line, tag-free and secret-free excerpt of a body, for an error message."""
    plain = re.sub(r'<(script|style)\b.*?</\1>', ' ', text or '', flags=re.S | re.I)
    plain = re.sub(r'<[^>]+>', ' ', plain)
    return server_text(' '.join(plain.split()), secrets, EXCERPT_LENGTH)


def shown_location(location, secrets):
    """Where a redirect points, for a message: scheme, host and path only. Its query and fragment are left out
    (a gateway may copy the request's form into them), and so are credentials."""
    if not location:
        return 'an address it does not give'
    try:
        parts = urlsplit(without_userinfo(location))
        location = urlunsplit((parts.scheme, parts.netloc, parts.path, '', ''))
    except ValueError:
        pass
    return server_text(location, secrets, LOCATION_LENGTH)


# The other endpoints a profile names, by their option: what each is, and the key of a discovery document that names
# it. The hints above are the token endpoint's: at another endpoint they mislead (an introspection_url pointing at the
# token endpoint is answered unsupported_grant_type, which is no reason to check grant_type), so an answer from one of
# these gets hints about that endpoint instead.
ENDPOINTS = {
    'introspection_url': ('an RFC 7662 introspection endpoint', 'introspection_endpoint'),
    'revocation_url': ('an RFC 7009 revocation endpoint', 'revocation_endpoint'),
    'device_authorization_url': ('an RFC 8628 device authorization endpoint', 'device_authorization_endpoint'),
    'validate_url': ("the provider's token check endpoint", None),
}
# Who may call an endpoint: what a refused client (401, 403, invalid_client) should check there.
CLIENT_HINTS = {
    'introspection_url': 'the server refused these client credentials for introspection; many servers let only a '
                         'resource server introspect: give its credentials as introspection_client_id and '
                         'introspection_client_secret',
    'revocation_url': 'a token is revoked by the client it was issued to: check client_id/client_secret and client_auth',
}


def _endpoint_hint(option, status, error):
    name, discovery_key = ENDPOINTS[option]
    what = name + (' (a discovery document names it %s)' % discovery_key if discovery_key else '')
    if error == 'unsupported_grant_type':
        return "that is a token endpoint's answer: set %s to %s" % (option, what)
    if error == 'invalid_client' or status in (401, 403):
        return CLIENT_HINTS.get(option) or ERROR_HINTS['invalid_client']
    if error == 'invalid_request' or status in (404, 405):
        return 'check %s: it must be %s' % (option, what)
    return ERROR_HINTS.get(error)


def _hint(profile, status, error, option='token_url'):
    if option in ENDPOINTS:
        hint = _endpoint_hint(option, status, error)
    else:
        preset = PRESETS.get(profile.get('preset') or '', {})
        # A preset's own word on a status wins: it knows how that provider misuses it (DepotFinity's 403s).
        hint = preset.get('hints', {}).get(status) or ERROR_HINTS.get(error) or STATUS_HINTS.get(status)
    return hint or ('the server failed: try again later, or ask its operators' if status >= 500 else None)


def error_from_response(response, profile, what='token request', option='token_url'):
    """A TokenEndpointError for an answer that is not a token, with the server's own words first. ``option`` names the
    endpoint that answered (the profile option holding its URL): the hint depends on it."""
    secrets = answer_secrets(profile, response)
    body = json_object(response)
    common = dict(profile=profile.name, url=response.url, status=response.status)
    endpoint = ENDPOINTS[option][0] if option in ENDPOINTS else 'a token endpoint'
    if 300 <= response.status < 400:
        return TokenEndpointError(
            '%s was redirected to %s; credentials were not sent on' % (
                what, shown_location(response.headers.get('Location'), secrets)),
            hint='set the URL to the final endpoint (a redirect often means http instead of https or a missing '
                 'path segment)', **common)
    if body is not None and isinstance(body.get('error'), str):
        # error_uri is never shown: it is wherever the server wants the operator to go.
        error = rfc6749_error(body['error'], secrets)
        description = server_text(body.get('error_description') or None, secrets)
        return TokenEndpointError(
            '%s refused' % what + ('' if error else ' with an error code that is not RFC 6749 (not shown)'),
            error=error, error_description=description, hint=_hint(profile, response.status, error, option), **common)
    if body is None and response.text.strip():
        # The Content-Type header is the server's too: it may echo the request or hold escape sequences.
        kind = server_text(response.content_type, secrets, 100) or 'a body that is not JSON'
        return TokenEndpointError(
            'the URL answered with %s, not %s: "%s"' % (kind, endpoint, excerpt(response.text, secrets)),
            hint=_hint(profile, response.status, None, option) if response.status >= 400 else
            'check %s: it must be %s itself, not a login page or a proxy' % (option, endpoint), **common)
    return TokenEndpointError('%s failed' % what, hint=_hint(profile, response.status, None, option), **common)


def _jwt_exp(access_token):
    """The ``exp`` claim of a JWT, read without verifying it: we only need to know when to renew."""
    parts = access_token.split('.')
    if len(parts) != 3:
        return None
    try:
        payload = parts[1] + '=' * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload.encode('ascii')).decode('utf-8'))
        exp = claims.get('exp') if isinstance(claims, dict) else None
        return float(exp) if isinstance(exp, (int, float)) and not isinstance(exp, bool) else None
    except (ValueError, TypeError, UnicodeError, OverflowError):
        return None


def _usable_lifetime(seconds):
    """Whether SECONDS (a float) is a lifetime to schedule a renewal by. NaN and Infinity are floats too: JSON
    decoders read the bare words, and NaN compares false with everything, so a token would never be due."""
    return math.isfinite(seconds) and 0 < seconds <= MAX_EXPIRES_IN


def _expires_at(body, profile, now, common, secrets):
    raw = body.get('expires_in')
    if raw is None or raw == '':
        # An unverified claim: used only when it is a plausible lifetime, like expires_in.
        exp = _jwt_exp(body['access_token'])
        return exp if exp is not None and _usable_lifetime(exp - now) else now + profile['default_ttl']
    # expires_in is shown when refused: it may echo the request, or hold escape sequences.
    shown = "'%s'" % server_text(raw, secrets, 40) if isinstance(raw, str) else server_text(raw, secrets, 40)
    try:
        expires_in = None if isinstance(raw, bool) else float(raw)
    except (TypeError, ValueError, OverflowError):
        # Raised outside this block: float's own message quotes the value, and a chained traceback would show it.
        expires_in = None
    if expires_in is None:
        raise TokenEndpointError('the token response has expires_in=%s, which is not a number' % shown,
                                 hint='the server is not RFC 6749 compliant; report it to its operators', **common)
    if not _usable_lifetime(expires_in):
        raise TokenEndpointError(
            'the token response has expires_in=%s, which is not a usable lifetime' % shown,
            hint='the server sent an already expired or absurd lifetime; report it to its operators', **common)
    return now + expires_in


def _refresh_expires_at(body, now):
    """When the refresh token expires, from Keycloak's (and others') ``refresh_expires_in``; None when the server did
    not say, or said 0 (Keycloak's offline tokens, which do not expire). Not RFC 6749: a value we cannot read is
    ignored rather than refused, and only decides how long the shared store keeps the entry."""
    raw = body.get('refresh_expires_in')
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not 0 < raw <= MAX_EXPIRES_IN:
        return None
    return now + raw


def parse_token_response(response, profile, now, requested_scope=None):
    """Turn a token endpoint answer into a Token, or raise TokenEndpointError that says what went wrong."""
    if response.status != 200:
        raise error_from_response(response, profile)
    body = json_object(response)
    common = dict(profile=profile.name, url=response.url, status=response.status)
    if body is None:
        raise error_from_response(response, profile)
    if isinstance(body.get('error'), str):
        raise error_from_response(response, profile)
    secrets = answer_secrets(profile, response)
    access_token = body.get('access_token')
    if not isinstance(access_token, str) or not access_token:
        raise TokenEndpointError('the JSON answer has no access_token (keys: %s)' % server_text(
            ', '.join(sorted(body)), secrets, 200), hint='check the token URL and grant_type', **common)
    for key in ('access_token', 'refresh_token'):
        value = body.get(key)
        if isinstance(value, str) and value and not VSCHAR.match(value):
            raise TokenEndpointError(
                'the %s has characters RFC 6749 does not allow in a token (control characters or non-ASCII); it '
                'is not shown' % key, hint='the server is not RFC 6749 compliant; report it to its operators',
                **common)
    token_type = body.get('token_type') or 'Bearer'
    if not isinstance(token_type, str):
        raise TokenEndpointError('token_type is not a string', **common)
    # Consumers put it in front of the token in an Authorization header: an RFC 9110 token, like a header name.
    if len(token_type) > TOKEN_TYPE_LENGTH or not HEADER_NAME.match(token_type):
        raise TokenEndpointError(
            "the token response has token_type '%s', which is not an HTTP authentication scheme"
            % server_text(token_type, secrets, TOKEN_TYPE_LENGTH),
            hint='the server is not RFC 6749 compliant; report it to its operators', **common)
    # RFC 6749 section 5.1: the type is case-insensitive; Spring sends "bearer". Callers build headers from it.
    token_type = 'Bearer' if token_type.lower() == 'bearer' else token_type
    refresh_token = body.get('refresh_token') or None  # absent, null (Keycloak) and "" all mean none
    granted = body.get('scope')
    if isinstance(granted, list):
        granted = ' '.join(str(s) for s in granted)
    granted = server_text(granted or None, secrets, SCOPE_LENGTH)
    return Token(
        access_token=access_token, token_type=token_type, obtained_at=now,
        expires_at_ts=_expires_at(body, profile, now, common, secrets),
        refresh_token=refresh_token if isinstance(refresh_token, str) else None,
        refresh_expires_at_ts=_refresh_expires_at(body, now) if refresh_token else None,
        scope=granted or requested_scope, profile=profile.name)
