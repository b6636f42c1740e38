# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

from ansible_collections.tokenops.oauth2.plugins.module_utils.client_auth import basic_authorization
from ansible_collections.tokenops.oauth2.plugins.module_utils.grants import build_token_request
from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import build_profile

URL = 'https://idp.example/token'


def profile(**options):
    base = dict(token_url=URL, client_id='app', client_secret='s3cret')
    base.update(options)
    return build_profile('p', base)


def decoded(header):
    return base64.b64decode(header.split(' ', 1)[1]).decode('utf-8')


def test_basic_is_form_encoded_per_rfc6749():
    assert decoded(basic_authorization('my app', 'p@ss:w%rd+')) == 'my+app:p%40ss%3Aw%25rd%2B'


def test_basic_raw_for_servers_that_want_it():
    assert decoded(basic_authorization('my app', 'p:w', 'raw')) == 'my app:p:w'


def test_client_credentials_basic():
    request = build_token_request(profile(scope=['a', 'b']), URL)
    assert request.form == {'grant_type': 'client_credentials', 'scope': 'a b'}
    assert decoded(request.headers['Authorization']) == 'app:s3cret'
    assert request.retry_safe


def test_client_secret_post_puts_credentials_in_body():
    request = build_token_request(profile(client_auth='client_secret_post'), URL)
    assert request.form['client_id'] == 'app' and request.form['client_secret'] == 's3cret'
    assert 'Authorization' not in request.headers


def test_public_client_sends_only_its_id():
    request = build_token_request(profile(client_auth='none', client_secret=None), URL)
    assert request.form['client_id'] == 'app' and 'client_secret' not in request.form


def test_password_grant():
    request = build_token_request(profile(grant_type='password', username='u@example.org', password='pw'), URL)
    assert request.form['username'] == 'u@example.org' and request.form['password'] == 'pw'


def test_authorization_code_is_never_retried_and_sends_verifier():
    request = build_token_request(profile(grant_type='authorization_code', code='c0de', redirect_uri='http://127.0.0.1/cb',
                                          code_verifier='v' * 43), URL)
    assert request.form['code'] == 'c0de' and request.form['code_verifier'] == 'v' * 43
    assert request.form['redirect_uri'] == 'http://127.0.0.1/cb'
    assert not request.retry_safe


def test_refresh_uses_the_given_refresh_token():
    request = build_token_request(profile(grant_type='refresh_token', refresh_token='old'), URL,
                                  refresh_token='rotated')
    assert request.form == {'grant_type': 'refresh_token', 'refresh_token': 'rotated'}


def test_audience_resource_extra_params_headers():
    request = build_token_request(profile(audience='api', resource=['https://a', 'https://b'],
                                          extra_params={'tenant': 't1'}, headers={'X-Trace': 1}), URL)
    assert request.form['audience'] == 'api'
    assert request.form['resource'] == ['https://a', 'https://b']
    assert request.form['tenant'] == 't1'
    assert request.headers['X-Trace'] == '1'
    assert request.headers['Accept'] == 'application/json'


def test_private_key_jwt_assertion_is_signed_for_the_endpoint(tmp_path):
    import json

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    pem = tmp_path / 'key.pem'
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    prof = build_profile('p', dict(token_url=URL, client_id='app', client_auth='private_key_jwt',
                                   client_assertion_key=str(pem), client_assertion_kid='k1'))
    request = build_token_request(prof, URL)
    assert request.form['client_assertion_type'] == 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
    header, claims, signature = request.form['client_assertion'].split('.')

    def decode(part):
        return json.loads(base64.urlsafe_b64decode(part + '=' * (-len(part) % 4)))
    assert decode(header) == {'alg': 'ES256', 'typ': 'JWT', 'kid': 'k1'}
    body = decode(claims)
    assert body['iss'] == body['sub'] == 'app' and body['aud'] == URL and body['exp'] - body['iat'] == 60
    assert len(base64.urlsafe_b64decode(signature + '=' * (-len(signature) % 4))) == 64
    assert 'Authorization' not in request.headers


def test_private_key_jwt_needs_a_key():
    import pytest

    from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import ProfileError
    with pytest.raises(ProfileError, match='client_assertion_key'):
        build_profile('p', dict(token_url=URL, client_id='app', client_auth='private_key_jwt'))
