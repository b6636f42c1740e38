# -*- coding: utf-8 -*-
"""Token validation (provider check endpoint, RFC 7662), revocation (RFC 7009) and private_key_jwt client
authentication (RFC 7523) against real servers."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ansible_runner_helper import run_playbook
from token_helper import cache_env, fail, introspect, obtain, write_vars

from tests.servers.launch import obtain_authorization_code, pkce_pair, start


def b64(number):
    raw = number.to_bytes((number.bit_length() + 7) // 8, 'big')
    return base64.urlsafe_b64encode(raw).rstrip(b'=').decode()


def public_jwk(key, kid):
    numbers = key.public_key().public_numbers()
    if isinstance(key, rsa.RSAPrivateKey):
        return dict(kty='RSA', kid=kid, use='sig', alg='RS256', n=b64(numbers.n), e=b64(numbers.e))
    return dict(kty='EC', kid=kid, use='sig', alg='ES256', crv='P-256', x=b64(numbers.x).rjust(43, 'A'),
                y=b64(numbers.y).rjust(43, 'A'))


def write_key(path, key):
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)
    return str(path)


@pytest.fixture(scope='module')
def jwt_keys():
    return dict(rsa=rsa.generate_private_key(public_exponent=65537, key_size=2048),
                ec=ec.generate_private_key(ec.SECP256R1()),
                stranger=rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture(scope='module')
def jwt_server(jwt_keys):
    jwks = dict(keys=[public_jwk(jwt_keys['rsa'], 'rsa-1'), public_jwk(jwt_keys['ec'], 'ec-1')])
    with start('oidc_provider', private_key_jwt_jwks=jwks) as server:
        yield server


@pytest.mark.parametrize('kind, kid, alg', [('rsa', 'rsa-1', 'RS256'), ('ec', 'ec-1', 'ES256')])
def test_private_key_jwt_client_credentials(tmp_path, jwt_server, jwt_keys, kind, kid, alg):
    key_file = write_key(tmp_path / 'client.pem', jwt_keys[kind])
    profile = dict(issuer=jwt_server.url, client_id='jwt-app', client_auth='private_key_jwt',
                   client_assertion_key=key_file, client_assertion_kid=kid, client_assertion_alg=alg,
                   scope='api:read', resource='urn:tokenops:api')
    results = obtain(tmp_path, dict(signed=profile), token_validate=True)
    token = results['module']['signed']
    assert token['validation']['valid'] is True and token['validation']['method'] == 'introspection'
    assert token['validation']['owner'] == 'jwt-app'


def test_private_key_jwt_with_an_unregistered_key_is_refused(tmp_path, jwt_server, jwt_keys):
    key_file = write_key(tmp_path / 'stranger.pem', jwt_keys['stranger'])
    profile = dict(token_url=jwt_server.url + '/token', client_id='jwt-app', client_auth='private_key_jwt',
                   client_assertion_key=key_file, scope='api:read', resource='urn:tokenops:api')
    out = fail(tmp_path, dict(signed=profile), 'signed')
    assert "profile 'signed'" in out and 'invalid_client' in out


def harbor(server, environment, client_name, api_environment=None):
    client = server.clients[client_name]
    return dict(preset='harbor_lockers', environment=environment, client_id=client['client_id'],
                client_secret=client['client_secret'], base_url='%s/harbor/%s' % (server.url, environment),
                api_url='%s/harbor/%s' % (server.url, api_environment or environment))


def test_validate_with_harbor_test_token(tmp_path, quirks_server):
    results = obtain(tmp_path, dict(harbor=harbor(quirks_server, 'sandbox', 'harbor_sandbox')), token_validate=True)
    validation = results['module']['harbor']['validation']
    assert validation == dict(valid=True, method='validate_url', owner='test@test.com')


def test_validate_against_the_other_environment_explained(tmp_path, quirks_server):
    profile = harbor(quirks_server, 'sandbox', 'harbor_sandbox', api_environment='production')
    out = fail(tmp_path, dict(harbor=profile), 'harbor', args=('-e', 'token_validate=true'))
    assert 'the token was refused by validate_url' in out
    assert 'issued by a different environment (sandbox vs production)' in out


def test_revoke_cached_tokens(tmp_path, oidc_provider):
    web = oidc_provider.clients['web']
    verifier, challenge = pkce_pair()
    redirect_uri = oidc_provider.info['redirect_uri']
    code = obtain_authorization_code(oidc_provider, web, redirect_uri=redirect_uri, scope='openid offline_access',
                                     code_challenge=challenge)
    profile = dict(issuer=oidc_provider.url, grant_type='authorization_code', client_id=web['client_id'],
                   client_secret=web['client_secret'], code=code, redirect_uri=redirect_uri, code_verifier=verifier)
    results = obtain(tmp_path, dict(web=profile), lookup=False)
    token = results['module']['web']
    assert introspect(oidc_provider, token['access_token'], web)['active'] is True

    run_playbook('token_revoke.yml', '-e', '@' + write_vars(tmp_path, dict(web=profile), token_name='web'),
                 extra_env=cache_env(tmp_path))
    assert introspect(oidc_provider, token['access_token'], web)['active'] is False
    refresh = requests.post(oidc_provider.url + '/token', auth=(web['client_id'], web['client_secret']), timeout=10,
                            data=dict(grant_type='refresh_token', refresh_token=token['refresh_token']))
    assert refresh.status_code == 400 and refresh.json()['error'] == 'invalid_grant'
