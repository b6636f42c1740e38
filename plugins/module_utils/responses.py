# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading token endpoint answers as real servers send them, and explaining the ones that are not tokens."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import re


from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import TokenEndpointError
from ansible_collections.tokenops.oauth2.plugins.module_utils.presets import PRESETS
from ansible_collections.tokenops.oauth2.plugins.module_utils.redaction import redact
from ansible_collections.tokenops.oauth2.plugins.module_utils.token import Token

# A lifetime beyond this is a server bug (milliseconds sent as seconds, say), not a token to cache for years.
MAX_EXPIRES_IN = 400 * 24 * 3600
EXCERPT_LENGTH = 160

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


def excerpt(text, secrets):
    """A short, single-line, tag-free and secret-free excerpt of a body, for an error message."""
    plain = re.sub(r'<(script|style)\b.*?</\1>', ' ', text or '', flags=re.S | re.I)
    plain = re.sub(r'<[^>]+>', ' ', plain)
    plain = ' '.join(plain.split())
    plain = redact(plain, secrets)
    return plain[:EXCERPT_LENGTH] + ('...' if len(plain) > EXCERPT_LENGTH else '')


def _hint(profile, status, error):
    preset = PRESETS.get(profile.get('preset') or '', {})
    # A preset's own word on a status wins: it knows how that provider misuses it (DepotFinity's 403s).
    return (preset.get('hints', {}).get(status) or ERROR_HINTS.get(error) or STATUS_HINTS.get(status)
            or ('the server failed: try again later, or ask its operators' if status >= 500 else None))


def _load_json(response):
    try:
        body = json.loads(response.text)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def error_from_response(response, profile, what='token request'):
    """A TokenEndpointError for an answer that is not a token, with the server's own words first."""
    secrets = profile.secret_values() + list(getattr(response, 'sent_secrets', ()))
    body = _load_json(response)
    common = dict(profile=profile.name, url=response.url, status=response.status)
    if 300 <= response.status < 400:
        return TokenEndpointError(
            '%s was redirected to %s; credentials were not sent on' % (what, response.headers.get('Location')),
            hint='set the URL to the final endpoint (a redirect often means http instead of https or a missing '
                 'path segment)', **common)
    if body is not None and isinstance(body.get('error'), str):
        error = body['error']
        description = body.get('error_description')
        description = redact(str(description), secrets) if description else None
        return TokenEndpointError('%s refused' % what, error=error, error_description=description,
                                  hint=_hint(profile, response.status, error), **common)
    if body is None and response.text.strip():
        kind = response.content_type or 'a body that is not JSON'
        return TokenEndpointError(
            'the URL answered with %s, not a token endpoint: "%s"' % (kind, excerpt(response.text, secrets)),
            hint=_hint(profile, response.status, None) if response.status >= 400 else
            'check the URL: it must be the token endpoint itself, not a login page or a proxy', **common)
    return TokenEndpointError('%s failed' % what, hint=_hint(profile, response.status, None), **common)


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
    except (ValueError, TypeError, UnicodeError):
        return None


def _expires_at(body, profile, now, common):
    raw = body.get('expires_in')
    if raw is None or raw == '':
        exp = _jwt_exp(body['access_token'])
        return exp if exp is not None and exp > now else now + profile['default_ttl']
    try:
        if isinstance(raw, bool):
            raise ValueError
        expires_in = float(raw)
    except (TypeError, ValueError):
        raise TokenEndpointError('the token response has expires_in=%r, which is not a number' % (raw,),
                                 hint='the server is not RFC 6749 compliant; report it to its operators', **common)
    if expires_in <= 0 or expires_in > MAX_EXPIRES_IN:
        raise TokenEndpointError(
            'the token response has expires_in=%r, which is not a usable lifetime' % (raw,),
            hint='the server sent an already expired or absurd lifetime; report it to its operators', **common)
    return now + expires_in


def parse_token_response(response, profile, now, requested_scope=None):
    """Turn a token endpoint answer into a Token, or raise TokenEndpointError that says what went wrong."""
    if response.status != 200:
        raise error_from_response(response, profile)
    body = _load_json(response)
    common = dict(profile=profile.name, url=response.url, status=response.status)
    if body is None:
        raise error_from_response(response, profile)
    if isinstance(body.get('error'), str):
        raise error_from_response(response, profile)
    access_token = body.get('access_token')
    if not isinstance(access_token, str) or not access_token:
        raise TokenEndpointError('the JSON answer has no access_token (keys: %s)' % ', '.join(sorted(body)),
                                 hint='check the token URL and grant_type', **common)
    token_type = body.get('token_type') or 'Bearer'
    if not isinstance(token_type, str):
        raise TokenEndpointError('token_type is not a string', **common)
    # RFC 6749 section 5.1: the type is case-insensitive; Spring sends "bearer". Callers build headers from it.
    token_type = 'Bearer' if token_type.lower() == 'bearer' else token_type
    refresh_token = body.get('refresh_token') or None  # absent, null (Keycloak) and "" all mean none
    granted = body.get('scope')
    if isinstance(granted, list):
        granted = ' '.join(str(s) for s in granted)
    return Token(
        access_token=access_token, token_type=token_type, obtained_at=now,
        expires_at_ts=_expires_at(body, profile, now, common),
        refresh_token=refresh_token if isinstance(refresh_token, str) else None,
        scope=granted or requested_scope, profile=profile.name)
