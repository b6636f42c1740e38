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


def test_the_profiles_headers_reach_the_token_endpoint_and_never_validate_url(tmp_path, quirks_server):
    """The profile's headers are for the authorization server (a gateway's key, say): Harbor's test-token endpoint is
    its API, another host in production, and gets the token alone."""
    profile = harbor(quirks_server, 'sandbox', 'harbor_sandbox')
    profile['headers'] = {'X-Gateway-Key': 'gw-key-7c1e'}
    requests.post(quirks_server.url + '/_requests/reset', timeout=30)
    obtain(tmp_path, dict(harbor=profile), lookup=False, token_validate=True)
    seen = requests.get(quirks_server.url + '/_requests', timeout=30).json()
    token_requests = [r for r in seen if r['path'].endswith('/openid-connect/token')]
    checks = [r for r in seen if r['path'].endswith('/login/test-token')]
    assert token_requests and checks
    assert all(r['headers'].get('X-Gateway-Key') == 'gw-key-7c1e' for r in token_requests)
    assert not any('gw-key-7c1e' in repr(r['headers']) for r in checks)
    assert all(r['headers']['Authorization'].startswith('Bearer ') for r in checks)


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


def authlib_password_profile(server, client_name='basic', **options):
    client, user = server.clients[client_name], server.users['alice']
    profile = dict(token_url=server.url + '/oauth/token', grant_type='password', client_id=client['client_id'],
                   client_secret=client['client_secret'], client_auth=client['client_auth'],
                   username=user['username'], password=user['password'], scope='read write')
    profile.update(options)
    return profile


@pytest.fixture(scope='module')
def introspection_by_resource_server():
    """authlib, where only the resource server may introspect: to any other client every token is inactive."""
    with start('authlib', introspection='resource_server') as server:
        yield server


def test_validate_introspects_with_the_resource_servers_credentials(tmp_path, introspection_by_resource_server):
    server = introspection_by_resource_server
    resource_server = server.clients['resource_server']
    profile = authlib_password_profile(server, introspection_url=server.url + '/oauth/introspect')

    out = fail(tmp_path, dict(own_client=profile), 'own_client', args=('-e', 'token_validate=true'))
    assert 'the authorization server says the token is not active' in out
    assert 'introspection_client_id' in out, 'the hint names the way out'

    profile.update(introspection_client_id=resource_server['client_id'],
                   introspection_client_secret=resource_server['client_secret'])
    (tmp_path / 'resource_server').mkdir()
    results = obtain(tmp_path / 'resource_server', dict(resource_server=profile), lookup=False, token_validate=True,
                     args=('-vvvv',))
    validation = results['module']['resource_server']['validation']
    assert validation == dict(valid=True, method='introspection', owner='alice', scope='read write')
    assert resource_server['client_secret'] not in results['stdout']


def test_a_wrong_introspection_url_gets_a_hint_about_introspection(tmp_path, authlib_server):
    """The token endpoint put in introspection_url answers unsupported_grant_type: the hint must not send the
    operator to the profile's grant_type."""
    profile = authlib_password_profile(authlib_server, introspection_url=authlib_server.url + '/oauth/token')
    out = fail(tmp_path, dict(wrong=profile), 'wrong', args=('-e', 'token_validate=true'))
    assert 'token introspection refused' in out and 'unsupported_grant_type' in out
    assert "that is a token endpoint's answer: set introspection_url to an RFC 7662 introspection endpoint" in out
    assert 'does not offer this grant_type' not in out


def test_state_absent_without_a_cache_revokes_the_refresh_token_it_is_given(tmp_path, authlib_server):
    client = authlib_server.clients['basic']
    issued = requests.post(authlib_server.url + '/oauth/token', auth=(client['client_id'], client['client_secret']),
                           data=dict(grant_type='password', username='alice', password='alice-password',
                                     scope='read'), timeout=10).json()
    profile = dict(token_url=authlib_server.url + '/oauth/token', revocation_url=authlib_server.url + '/oauth/revoke',
                   grant_type='refresh_token', refresh_token=issued['refresh_token'], cache=False,
                   client_id=client['client_id'], client_secret=client['client_secret'])
    run_playbook('token_revoke_given.yml', '-e', '@' + write_vars(tmp_path, dict(given=profile), token_name='given'))
    refresh = requests.post(authlib_server.url + '/oauth/token', auth=(client['client_id'], client['client_secret']),
                            data=dict(grant_type='refresh_token', refresh_token=issued['refresh_token']), timeout=10)
    assert refresh.status_code == 400 and refresh.json()['error'] == 'invalid_grant'


def test_state_absent_without_a_cache_or_a_refresh_token_is_an_error(tmp_path, authlib_server):
    client = authlib_server.clients['basic']
    profile = dict(token_url=authlib_server.url + '/oauth/token', revocation_url=authlib_server.url + '/oauth/revoke',
                   cache=False, client_id=client['client_id'], client_secret=client['client_secret'])
    proc = run_playbook('token_revoke_given.yml', '-e', '@' + write_vars(tmp_path, dict(bare=profile),
                                                                         token_name='bare'), check=False)
    assert proc.returncode != 0
    assert "profile 'bare': state=absent revokes the tokens kept in the token cache" in proc.stdout
    assert 'give the refresh token to revoke as refresh_token' in proc.stdout
