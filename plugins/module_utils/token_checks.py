# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What can be asked about a token once it is held: is it accepted (the provider's own check endpoint, or RFC 7662
introspection), and withdrawing it (RFC 7009 revocation)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.tokenops.oauth2.plugins.module_utils.endpoint_requests import (
    introspection_request, json_object, revocation_request, token_check_request)
from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import ProfileError, TokenEndpointError
from ansible_collections.tokenops.oauth2.plugins.module_utils.redaction import server_text
from ansible_collections.tokenops.oauth2.plugins.module_utils.responses import (
    SCOPE_LENGTH, answer_secrets, error_from_response)

# Keys, in order of preference, that say whom a token belongs to in a check or introspection answer.
OWNER_KEYS = ('email', 'username', 'preferred_username', 'sub', 'clientId', 'client_id')


def _no_discovery():
    return {}


def _owner(body, secrets):
    """Whom the answer says the token belongs to, fit to show (a check endpoint may echo the token itself)."""
    return server_text(next((body[k] for k in OWNER_KEYS if body.get(k)), None), secrets, 200)


def validate_token(profile, transport, token, discovered=_no_discovery):
    """Check ``token`` with the profile's validate_url, else with introspection; return what was learned.

    ``discovered`` returns the issuer's discovery document; it is called only when introspection_url is not set."""
    if profile.get('validate_url'):
        url = profile['validate_url']
        response = token_check_request(url, token).send(transport)
        if response.status == 200:
            body = json_object(response) or {}
            return dict(valid=True, method='validate_url',
                        owner=_owner(body, answer_secrets(profile, response) + [token.access_token]))
        if response.status == 401:
            raise TokenEndpointError(
                'the token was refused by validate_url', profile=profile.name, url=url, status=401,
                hint='the token was issued by a different environment (sandbox vs production) than the one '
                     'validate_url belongs to, or it has expired')
        raise error_from_response(response, profile, what='token validation', option='validate_url')
    url = profile.get('introspection_url') or discovered().get('introspection_endpoint')
    if not url:
        raise ProfileError('validate needs validate_url or introspection_url (or an issuer whose discovery '
                           'document names an introspection_endpoint)', profile=profile.name)
    response = introspection_request(profile, url, token.access_token).send(transport)
    body = json_object(response)
    if response.status != 200 or body is None:
        raise error_from_response(response, profile, what='token introspection', option='introspection_url')
    if body.get('active') is not True:
        hint = 'it expired or was revoked: obtain a new one (force_refresh: true)'
        if not profile.get('introspection_client_id'):
            # RFC 7662 section 2.2: a server says "inactive" to a client that may not introspect the token, too.
            hint += ('; or this server lets only a resource server introspect tokens: give its credentials as '
                     'introspection_client_id and introspection_client_secret')
        raise TokenEndpointError('the authorization server says the token is not active', profile=profile.name,
                                 url=url, status=200, hint=hint)
    secrets = answer_secrets(profile, response) + [token.access_token]
    return dict(valid=True, method='introspection', owner=_owner(body, secrets),
                scope=server_text(body.get('scope'), secrets, SCOPE_LENGTH))


def revoke_tokens(profile, transport, tokens, discovered=_no_discovery):
    """Revoke each (kind, value) of TOKENS, in order (RFC 7009); return the kinds revoked, each once.

    ``discovered`` returns the issuer's discovery document; it is called only when revocation_url is not set."""
    url = profile.get('revocation_url') or discovered().get('revocation_endpoint')
    if not url:
        raise ProfileError('revocation needs revocation_url (or an issuer whose discovery document names a '
                           'revocation_endpoint)', profile=profile.name)
    revoked = []
    for kind, value in tokens:
        response = revocation_request(profile, url, kind, value).send(transport)
        body = json_object(response) or {}
        if response.status == 200:
            if kind not in revoked:
                revoked.append(kind)
        elif body.get('error') == 'unsupported_token_type':
            continue  # a server may revoke refresh tokens only; that is not a failure
        else:
            raise error_from_response(response, profile, what='token revocation', option='revocation_url')
    return revoked
