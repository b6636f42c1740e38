# -*- coding: utf-8 -*-
"""module_utils.token_checks: what a check or introspection answer says is escaped and masked before it is shown."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.tokenops.oauth2.plugins.module_utils.client import TokenClient
from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import build_profile
from ansible_collections.tokenops.oauth2.plugins.module_utils.token import Token
from ansible_collections.tokenops.oauth2.plugins.module_utils.token_checks import validate_token

from .fakes import FakeTransport, json_response

TOKEN = Token('the-access-token-9f3e', 'Bearer', 1700000000.0, 1700003600.0)


def checked(profile_options, answer):
    base = dict(token_url='https://idp.example/token', client_id='app', client_secret='s3cret-xyz')
    base.update(profile_options)
    client = TokenClient(build_profile('p', base), transport=FakeTransport(answer))
    return validate_token(client, TOKEN)


def test_an_owner_echoing_the_token_or_a_terminal_sequence_is_masked_and_escaped():
    result = checked(dict(validate_url='https://idp.example/check'),
                     json_response({'email': '\x1b]0;owned\x07 the-access-token-9f3e'}))
    assert result['owner'] == '\\x1b]0;owned\\x07 ********'


def test_an_introspected_scope_and_owner_are_escaped():
    result = checked(dict(introspection_url='https://idp.example/introspect'),
                     json_response({'active': True, 'sub': 's3cret-xyz', 'scope': 'read\x1b[2J'}))
    assert result['owner'] == '********' and result['scope'] == 'read\\x1b[2J'
