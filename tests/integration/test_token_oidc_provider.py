# -*- coding: utf-8 -*-
"""tokenops.oauth2.token against npm oidc-provider: both client authentication methods, discovery, the
authorization code grant with PKCE, and refresh with rotation."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from token_helper import authorization_code_profile, cache_env, fail, introspect, obtain

from tests.servers.launch import start

ISO_UTC = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$')


def cc_profile(server, client, **options):
    profile = dict(token_url=server.url + '/token', client_id=client['client_id'],
                   client_secret=client['client_secret'], client_auth=client['client_auth'], scope=['api:read'],
                   resource='urn:tokenops:api')
    profile.update(options)
    return profile


def test_client_credentials_basic_and_post_with_module_and_lookup(tmp_path, oidc_provider):
    clients = oidc_provider.clients
    profiles = dict(basic=cc_profile(oidc_provider, clients['cc_basic']),
                    post=cc_profile(oidc_provider, clients['cc_post'], scope='api:read api:write'))
    results = obtain(tmp_path, profiles)
    for name, client in (('basic', clients['cc_basic']), ('post', clients['cc_post'])):
        module, lookup = results['module'][name], results['lookup'][name]
        assert module['token_type'] == 'Bearer' and module['profile'] == name
        assert ISO_UTC.match(module['expires_at']) and module['expires_in'] > 0
        assert module['header'] == 'Bearer ' + module['access_token']
        assert module['changed'] is False and module['from_cache'] is False
        # The lookup, a later task, is served from the cache the module filled.
        assert lookup['access_token'] == module['access_token'] and lookup['from_cache'] is True
        answer = introspect(oidc_provider, module['access_token'], client)
        assert answer['active'] is True and answer['client_id'] == client['client_id']
    assert results['module']['post']['scope'] == 'api:read api:write'


def test_issuer_discovery(tmp_path, oidc_provider):
    client = oidc_provider.clients['cc_basic']
    profile = cc_profile(oidc_provider, client, token_url=None, issuer=oidc_provider.url)
    del profile['token_url']
    results = obtain(tmp_path, dict(discovered=profile))
    assert introspect(oidc_provider, results['module']['discovered']['access_token'], client)['active']


def test_wrong_client_auth_method_is_refused_with_hint(tmp_path, oidc_provider):
    client = oidc_provider.clients['cc_basic']
    out = fail(tmp_path, dict(wrong=cc_profile(oidc_provider, client, client_auth='client_secret_post')), 'wrong')
    assert "profile 'wrong'" in out and 'invalid_client' in out and 'HTTP 401' in out
    assert 'check client_id/client_secret and client_auth' in out


def test_wrong_secret_via_lookup(tmp_path, oidc_provider):
    client = oidc_provider.clients['cc_basic']
    out = fail(tmp_path, dict(bad=cc_profile(oidc_provider, client, client_secret='not-the-secret')), 'bad',
               via='lookup')
    assert "profile 'bad'" in out and 'invalid_client' in out and oidc_provider.url + '/token' in out


def test_fetch_on_host_runs_the_module(tmp_path, oidc_provider):
    client = oidc_provider.clients['cc_post']
    results = obtain(tmp_path, dict(onhost=cc_profile(oidc_provider, client)), args=('-vvv',), token_fetch_on='host',
                     lookup=False)
    token = results['module']['onhost']
    assert token['from_cache'] is False
    assert introspect(oidc_provider, token['access_token'], client)['active']
    # The module itself ran on the host (Ansible shipped and executed it there)...
    # (pipelined since the secret-carrying modules are: -vvv names the module file it sends, not an AnsiballZ file)
    assert re.search(r'Using module file \S*/modules/token\.py', results['stdout']), \
        'the token module was not executed on the host'
    # ...and the controller did not fetch: its cache, which every controller-side fetch fills, is untouched.
    controller_cache = cache_env(tmp_path)['TOKENOPS_OAUTH2_CACHE_DIR']
    assert not os.path.exists(controller_cache) or not os.listdir(controller_cache), os.listdir(controller_cache)


def test_authorization_code_with_pkce_then_refresh_rotation(tmp_path):
    # A server of its own: its grant counters are moved by this test alone.
    with start('oidc_provider') as oidc_provider:
        check_code_then_refresh_rotation(tmp_path, oidc_provider)


def check_code_then_refresh_rotation(tmp_path, oidc_provider):
    profile = authorization_code_profile(oidc_provider, 'web')
    first = obtain(tmp_path, dict(web=profile), lookup=False)
    token = first['module']['web']
    assert token['refresh_token'], 'offline_access grants a refresh token'

    # The same profile, forced: the code is single-use, so a renewal must go through the refresh token we hold.
    second = obtain(tmp_path, dict(web=profile), lookup=False, token_force=True)
    renewed = second['module']['web']
    assert renewed['access_token'] != token['access_token']
    assert renewed['refresh_token'] != token['refresh_token'], 'oidc-provider rotates refresh tokens'

    # Again: the rotated refresh token from the cache is used (reusing the old one would revoke the grant).
    third = obtain(tmp_path, dict(web=profile), lookup=False, token_force=True)
    assert third['module']['web']['refresh_token'] not in (token['refresh_token'], renewed['refresh_token'])
    # One code exchange, then two refreshes: no renewal fell back to anything else or was retried.
    assert oidc_provider.stats()['by_grant'] == {'authorization_code': 1, 'refresh_token': 2}


def test_public_client_with_pkce(tmp_path, oidc_provider):
    profile = authorization_code_profile(oidc_provider, 'public')
    assert profile['client_auth'] == 'none'
    results = obtain(tmp_path, dict(public=profile), lookup=False)
    assert results['module']['public']['access_token']


def test_refresh_token_grant_profile(tmp_path, oidc_provider):
    seed_dir = tmp_path / 'seed'
    seed_dir.mkdir()
    seeded = obtain(seed_dir, dict(web=authorization_code_profile(oidc_provider, 'web')), lookup=False)
    client = oidc_provider.clients['web']
    profile = dict(token_url=oidc_provider.url + '/token', grant_type='refresh_token', client_id=client['client_id'],
                   client_secret=client['client_secret'], refresh_token=seeded['module']['web']['refresh_token'])
    results = obtain(tmp_path, dict(refreshed=profile), lookup=False)
    assert results['module']['refreshed']['access_token']
    assert results['module']['refreshed']['refresh_token'] != profile['refresh_token']


def test_used_code_is_not_retried_and_explained(tmp_path, oidc_provider):
    profile = authorization_code_profile(oidc_provider, 'web', cache=False)
    obtain(tmp_path, dict(web=profile), lookup=False)
    out = fail(tmp_path, dict(web=profile), 'web')
    assert 'invalid_grant' in out and 'obtain a new one' in out
