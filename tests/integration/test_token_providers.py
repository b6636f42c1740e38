# -*- coding: utf-8 -*-
"""The presets against reproductions of the provider documents in shared/providers (tests/servers/
provider_quirks.py): Harbor Lockers on Keycloak, DepotFinity, a Spring password grant, LockitNetwork's
authorization code flow. Each preset's URLs are pointed at the reproduction with base_url/api_url."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import requests

from token_helper import fail, obtain

from tests.servers.launch import obtain_authorization_code


def harbor(server, environment, client_name, **options):
    client = server.clients[client_name]
    profile = dict(preset='harbor_lockers', tower_id='0100A1' if environment == 'sandbox' else '1000B7',
                   base_url='%s/harbor/%s' % (server.url, environment), client_id=client['client_id'],
                   client_secret=client['client_secret'])
    profile.update(options)
    return profile


def quirks_requests(server):
    return requests.get(server.url + '/_requests', timeout=10).json()


def test_harbor_sandbox_backend_and_sdk_tokens(tmp_path, quirks_server):
    profiles = dict(backend=harbor(quirks_server, 'sandbox', 'harbor_sandbox'),
                    sdk=harbor(quirks_server, 'sandbox', 'harbor_sandbox', scope='tower_access'))
    seen = len(quirks_requests(quirks_server))  # the server is shared: only what this test's run sent counts
    results = obtain(tmp_path, profiles)
    backend = results['module']['backend']
    assert backend['refresh_token'] is None, 'Keycloak sends "refresh_token": null'
    assert backend['token_type'] == 'Bearer' and 295 <= backend['expires_in'] <= 300
    assert backend['scope'] == 'service_provider' and results['module']['sdk']['scope'] == 'tower_access'
    # The token works against the test-token endpoint of the same environment.
    check = requests.post(quirks_server.url + '/harbor/sandbox/api/v1/login/test-token',
                          headers={'Authorization': backend['header']}, timeout=10)
    assert check.status_code == 200 and check.json()['email']
    # The secret went in the form body, as Keycloak's client_secret_post (the preset's choice), never as Basic.
    sent = [r for r in quirks_requests(quirks_server)[seen:] if r['path'].endswith('/openid-connect/token')]
    assert len(sent) == 2, 'one request per profile (the lookup is served from the cache)'
    assert all('authorization' not in dict((k.lower(), v) for k, v in r['headers'].items()) for r in sent)
    assert all(r['form']['client_secret'] == profiles['backend']['client_secret'] for r in sent)


def test_harbor_sandbox_credentials_on_production_explained(tmp_path, quirks_server):
    wrong = harbor(quirks_server, 'production', 'harbor_sandbox')
    out = fail(tmp_path, dict(harbor=wrong), 'harbor')
    assert "profile 'harbor'" in out and 'HTTP 401' in out
    assert 'sandbox vs production' in out


def test_harbor_unknown_tower_prefix_fails_before_any_request(tmp_path, quirks_server):
    out = fail(tmp_path, dict(harbor=harbor(quirks_server, 'sandbox', 'harbor_sandbox', tower_id='2200X')), 'harbor')
    assert "tower_id '2200X' does not start with '01' (sandbox) or '10' (production)" in out


def depotfinity(server, **options):
    client = server.clients['depotfinity']
    profile = dict(preset='depotfinity', region='eu', base_url=server.url, client_id=client['client_id'],
                   client_secret=client['client_secret'])
    profile.update(options)
    return profile


def test_depotfinity_basic_client_credentials(tmp_path, quirks_server):
    results = obtain(tmp_path, dict(depot=depotfinity(quirks_server)))
    token = results['module']['depot']
    assert token['token_type'] == 'Bearer' and 3590 <= token['expires_in'] <= 3600


def test_depotfinity_403_explained(tmp_path, quirks_server):
    out = fail(tmp_path, dict(depot=depotfinity(quirks_server, client_secret='wrong-secret')), 'depot')
    assert "profile 'depot'" in out and 'HTTP 403' in out and 'invalid_client' in out
    assert 'DepotFinity answers 403 for any refused token request' in out


def test_depotfinity_needs_region(tmp_path, quirks_server):
    profile = depotfinity(quirks_server)
    del profile['region'], profile['base_url']
    out = fail(tmp_path, dict(depot=profile), 'depot')
    assert "preset 'depotfinity' needs 'region'" in out


def breakout(server, **options):
    client, user = server.clients['breakout'], server.users['breakout']
    profile = dict(preset='spring_security_oauth2', base_url=server.url, client_id=client['client_id'],
                   client_secret=client['client_secret'], username=user['username'], password=user['password'],
                   scope=['read', 'write'])
    profile.update(options)
    return profile


def test_spring_password_grant_lowercase_bearer_and_refresh(tmp_path, quirks_server):
    results = obtain(tmp_path, dict(breakout=breakout(quirks_server)))
    token = results['module']['breakout']
    assert token['token_type'] == 'Bearer', 'Spring sends "bearer"'
    assert token['scope'] == 'read write' and token['refresh_token']
    me = requests.get(quirks_server.url + '/me/', headers={'Authorization': token['header']}, timeout=10)
    assert me.status_code == 200
    assert 'RFC 9700' in results['stdout']
    # A forced renewal refreshes (Spring hands back the same refresh token, which we keep).
    again = obtain(tmp_path, dict(breakout=breakout(quirks_server)), lookup=False, token_force=True)
    assert again['module']['breakout']['refresh_token'] == token['refresh_token']
    assert again['module']['breakout']['access_token'] != token['access_token']


def test_lockitnetwork_code_flow_then_refresh(tmp_path, quirks_server):
    client = quirks_server.clients['lockit']
    redirect_uri = client['redirect_uris'][0]
    code = obtain_authorization_code(quirks_server, client, redirect_uri=redirect_uri, scope=None)
    profile = dict(preset='lockitnetwork', base_url=quirks_server.url, client_id=client['client_id'],
                   client_secret=client['client_secret'], code=code, redirect_uri=redirect_uri)
    first = obtain(tmp_path, dict(lockit=profile), lookup=False)
    token = first['module']['lockit']
    assert token['refresh_token'] and 604790 <= token['expires_in'] <= 604800
    second = obtain(tmp_path, dict(lockit=profile), lookup=False, token_force=True)
    assert second['module']['lockit']['refresh_token'] != token['refresh_token'], 'rotated'
    exchanges = [r for r in quirks_requests(quirks_server) if r['path'] == '/oauth/access-token']
    assert [r['form']['grant_type'] for r in exchanges[-2:]] == ['authorization_code', 'refresh_token']
