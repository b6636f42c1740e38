# -*- coding: utf-8 -*-
"""module_utils.token_checks: what a check or introspection answer says is escaped and masked before it is shown."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import TokenEndpointError
from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import build_profile
from ansible_collections.tokenops.oauth2.plugins.module_utils.token import Token
from ansible_collections.tokenops.oauth2.plugins.module_utils.token_checks import revoke_tokens, validate_token

from .fakes import FakeTransport, json_response, text_response

TOKEN = Token('the-access-token-9f3e', 'Bearer', 1700000000.0, 1700003600.0)


def checked(profile_options, answer):
    base = dict(token_url='https://idp.example/token', client_id='app', client_secret='s3cret-xyz')
    base.update(profile_options)
    return validate_token(build_profile('p', base), FakeTransport(answer), TOKEN)


def test_an_owner_echoing_the_token_or_a_terminal_sequence_is_masked_and_escaped():
    result = checked(dict(validate_url='https://idp.example/check'),
                     json_response({'email': '\x1b]0;owned\x07 the-access-token-9f3e'}))
    assert result['owner'] == '\\x1b]0;owned\\x07 ********'


def test_an_introspected_scope_and_owner_are_escaped():
    result = checked(dict(introspection_url='https://idp.example/introspect'),
                     json_response({'active': True, 'sub': 's3cret-xyz', 'scope': 'read\x1b[2J'}))
    assert result['owner'] == '********' and result['scope'] == 'read\\x1b[2J'


def test_an_introspection_url_answered_by_a_token_endpoint_gets_a_hint_about_introspection():
    """django-oauth-toolkit's (and authlib's) token endpoint answers a request without grant_type with
    unsupported_grant_type: the hint must be about introspection_url, not about the profile's grant_type."""
    answer = json_response({'error': 'unsupported_grant_type'}, status=400, url='https://idp.example/token')
    with pytest.raises(TokenEndpointError) as info:
        checked(dict(introspection_url='https://idp.example/token'), answer)
    hint = info.value.hint
    assert 'introspection_url' in hint and 'introspection_endpoint' in hint and 'grant_type' not in hint


@pytest.mark.parametrize('status', [401, 403])
def test_a_refused_introspection_client_is_told_about_resource_server_credentials(status):
    answer = json_response({'error': 'invalid_client'}, status=status, url='https://idp.example/introspect')
    with pytest.raises(TokenEndpointError) as info:
        checked(dict(introspection_url='https://idp.example/introspect'), answer)
    assert 'introspection_client_id' in info.value.hint and 'sandbox' not in info.value.hint


def test_a_missing_revocation_endpoint_names_revocation_url():
    profile = build_profile('p', dict(token_url='https://idp.example/token', client_id='app',
                                      client_secret='s3cret-xyz', revocation_url='https://idp.example/x'))
    transport = FakeTransport(text_response('Not Found', status=404, content_type='text/plain'))
    with pytest.raises(TokenEndpointError) as info:
        revoke_tokens(profile, transport, [('access_token', TOKEN.access_token)])
    assert info.value.hint.startswith('check revocation_url: it must be an RFC 7009 revocation endpoint')
    assert 'token URL' not in info.value.hint
