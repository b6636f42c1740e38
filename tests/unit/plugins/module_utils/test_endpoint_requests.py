# -*- coding: utf-8 -*-
"""module_utils.endpoint_requests: what each request to a provider sends, as its docstring and the profile docs say."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json

import pytest

from ansible_collections.tokenops.oauth2.plugins.module_utils.device_flow import DeviceAuthorization, poll_for_token
from ansible_collections.tokenops.oauth2.plugins.module_utils.discovery import discover
from ansible_collections.tokenops.oauth2.plugins.module_utils.endpoint_requests import (
    device_authorization_request, introspection_request, json_object, revocation_request, server_headers,
    token_check_request)
from ansible_collections.tokenops.oauth2.plugins.module_utils.grants import DEVICE_CODE_GRANT, build_token_request
from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import build_profile
from ansible_collections.tokenops.oauth2.plugins.module_utils.token import Token
from ansible_collections.tokenops.oauth2.plugins.module_utils.token_checks import revoke_tokens, validate_token

from .fakes import FakeTransport, json_response, text_response

TOKEN_URL = 'https://idp.example/token'
URL = 'https://idp.example/endpoint'
TOKEN = Token('the-access-token', 'Bearer', 1700000000.0, 1700003600.0)
GATEWAY = {'X-Api-Key': 'gateway-key-1'}


def profile(**options):
    base = dict(token_url=TOKEN_URL, client_id='app', client_secret='s3cret', scope='read', audience='api',
                resource=['https://a', 'https://b'], extra_params={'tenant': 't1'}, headers=GATEWAY)
    base.update(options)
    return build_profile('p', base)


def basic_pair(headers):
    return base64.b64decode(headers['Authorization'].split(' ', 1)[1]).decode('utf-8')


# --- the profile's headers: every authorization server endpoint that takes client credentials, nothing else ------

def authorization_server_requests(prof):
    return dict(
        token=build_token_request(prof, TOKEN_URL),
        device_poll=build_token_request(prof, TOKEN_URL, DEVICE_CODE_GRANT, device_code='dc'),
        device_authorization=device_authorization_request(prof, URL),
        introspection=introspection_request(prof, URL, 'at'),
        revocation=revocation_request(prof, URL, 'refresh_token', 'rt'))


@pytest.mark.parametrize('name', ['token', 'device_poll', 'device_authorization', 'introspection', 'revocation'])
def test_the_profiles_headers_go_to_every_authorization_server_endpoint(name):
    request = authorization_server_requests(profile())[name]
    assert request.headers['X-Api-Key'] == 'gateway-key-1'
    assert request.headers['Accept'] == 'application/json'
    assert basic_pair(request.headers) == 'app:s3cret'


def test_validate_url_gets_the_token_and_nothing_of_the_profile():
    """validate_url is the provider's API, another host than the authorization server: a gateway key meant for the
    authorization server must not reach it, nor the client's credentials."""
    transport = FakeTransport(json_response({'email': 'a@example.org'}))
    validate_token(profile(validate_url='https://api.example/test-token'), transport, TOKEN)
    call, = transport.calls
    assert call['headers'] == {'Accept': 'application/json', 'Authorization': 'Bearer the-access-token'}
    assert call['data'] == '' and call['method'] == 'POST'
    assert token_check_request('https://api.example/test-token', TOKEN).option == 'validate_url'


def test_discovery_sends_nothing_of_the_profile():
    """The document is public and cached per issuer for every profile that names it."""
    issuer = 'https://idp.example'
    transport = FakeTransport(json_response({'issuer': issuer, 'token_endpoint': TOKEN_URL}))
    discover(transport, profile(issuer=issuer, token_url=None))
    call, = transport.calls
    assert call['method'] == 'GET' and call['headers'] == {'Accept': 'application/json'} and 'data' not in call


def test_profile_header_values_are_sent_as_text():
    assert server_headers(profile(headers={'X-Trace': 1}))['X-Trace'] == '1'


# --- the form: what each request asks for ------------------------------------------------------------------------

def test_a_token_request_sends_scope_audience_resource_and_extra_params():
    request = build_token_request(profile(), TOKEN_URL)
    assert request.form == {'grant_type': 'client_credentials', 'scope': 'read', 'audience': 'api',
                            'resource': ['https://a', 'https://b'], 'tenant': 't1'}
    assert request.option == 'token_url' and request.retry_safe


def test_the_device_code_poll_is_a_token_request_without_scope():
    """RFC 8628 section 3.4: the scope was granted with the device code; what the token is for and the extra
    parameters go with every token request (as with the authorization code exchange)."""
    request = build_token_request(profile(), TOKEN_URL, DEVICE_CODE_GRANT, device_code='dc')
    assert request.form == {'grant_type': DEVICE_CODE_GRANT, 'device_code': 'dc', 'audience': 'api',
                            'resource': ['https://a', 'https://b'], 'tenant': 't1'}
    assert request.retry_safe


def test_the_device_authorization_request_asks_for_scope_audience_and_resource_only():
    request = device_authorization_request(profile(), URL)
    assert request.form == {'scope': 'read', 'audience': 'api', 'resource': ['https://a', 'https://b']}
    assert request.option == 'device_authorization_url'


@pytest.mark.parametrize('build, option, hint', [
    (lambda prof: introspection_request(prof, URL, 'at'), 'introspection_url', 'access_token'),
    (lambda prof: revocation_request(prof, URL, 'refresh_token', 'rt'), 'revocation_url', 'refresh_token'),
])
def test_introspection_and_revocation_send_the_token_and_nothing_the_token_request_asks_for(build, option, hint):
    request = build(profile(client_auth='client_secret_post'))
    assert request.form == {'token': request.form['token'], 'token_type_hint': hint, 'client_id': 'app',
                            'client_secret': 's3cret'}
    assert request.option == option


def test_introspection_authenticates_as_the_resource_server_with_the_profiles_headers():
    request = introspection_request(profile(introspection_client_id='rs', introspection_client_secret='rs-secret'),
                                    URL, 'at')
    assert basic_pair(request.headers) == 'rs:rs-secret' and request.headers['X-Api-Key'] == 'gateway-key-1'
    assert request.form == {'token': 'at', 'token_type_hint': 'access_token'}


def test_revocation_authenticates_as_the_profiles_client_even_with_a_resource_server():
    request = revocation_request(profile(introspection_client_id='rs', introspection_client_secret='rs-secret'),
                                 URL, 'access_token', 'at')
    assert basic_pair(request.headers) == 'app:s3cret'


# --- the checks take what they need, not a TokenClient -----------------------------------------------------------

def never_discovered():
    raise AssertionError('discovery is asked for only when the URL option is not set')


def test_checks_use_the_discovered_endpoints_only_when_the_profile_names_none():
    transport = FakeTransport(json_response({'active': True, 'sub': 'alice'}), json_response({}))
    prof = profile(introspection_url=URL, revocation_url=URL)
    assert validate_token(prof, transport, TOKEN, never_discovered)['owner'] == 'alice'
    assert revoke_tokens(prof, transport, [('access_token', 'at')], never_discovered) == ['access_token']
    transport = FakeTransport(json_response({'active': True, 'sub': 'bob'}))
    found = validate_token(profile(), transport, TOKEN, lambda: {'introspection_endpoint': URL + '/found'})
    assert found['owner'] == 'bob' and transport.calls[0]['url'] == URL + '/found'


# --- answers -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('answer, expected', [
    (json_response({'a': 1}), {'a': 1}),
    (json_response(['a']), None),
    (json_response('a'), None),
    (text_response('<h1>login</h1>'), None),
    (text_response(''), None),
])
def test_json_object_is_a_mapping_or_none(answer, expected):
    assert json_object(answer) == expected


# --- a client assertion is fresh for every poll ------------------------------------------------------------------

def test_every_device_code_poll_carries_a_fresh_client_assertion(tmp_path):
    """An RFC 7523 assertion lives 60 seconds and its jti is single-use (oidc-provider refuses a replay): the device
    flow polls for minutes, so each poll needs an assertion of its own."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = tmp_path / 'key.pem'
    pem.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    prof = build_profile('p', dict(token_url=TOKEN_URL, client_id='tv', client_auth='private_key_jwt',
                                   client_assertion_key=str(pem)))
    pending = json_response({'error': 'authorization_pending'}, status=400)
    transport = FakeTransport(pending, pending, json_response({'access_token': 'at', 'expires_in': 300}))
    poll_for_token(prof, TOKEN_URL, DeviceAuthorization('dc', 'WDJB-MJHT', 'https://idp.example/device', 600, 5),
                   transport, sleep=lambda seconds: None, clock=lambda: 100.0)

    def claims(call):
        part = call['data']['client_assertion'].split('.')[1]
        return json.loads(base64.urlsafe_b64decode(part + '=' * (-len(part) % 4)))
    jtis = [claims(call)['jti'] for call in transport.calls]
    assert len(jtis) == 3 and len(set(jtis)) == 3
