# -*- coding: utf-8 -*-
"""The password grant and refresh-token rotation against two more independent servers: npm
@node-oauth/oauth2-server and Python authlib, both of which reject a reused refresh token."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
import requests

from token_helper import fail, obtain


def password_profile(server, client, user, token_path):
    return dict(token_url=server.url + token_path, grant_type='password', client_id=client['client_id'],
                client_secret=client['client_secret'], client_auth=client['client_auth'],
                username=user['username'], password=user['password'], scope=['read', 'write'])


def node_profile(server):
    return password_profile(server, server.clients['app'], server.users['admin'], '/token')


def test_password_grant_and_api_call(tmp_path, oauth2_server):
    results = obtain(tmp_path, dict(node=node_profile(oauth2_server)))
    token = results['module']['node']
    assert token['refresh_token'] and token['scope'] == 'read write'
    assert 'RFC 9700' in results['stdout'], 'the password grant is deprecated: the run warns'
    me = requests.get(oauth2_server.url + '/me', headers={'Authorization': token['header']}, timeout=10)
    assert me.status_code == 200 and me.json()


@pytest.mark.parametrize('client_name', ['basic', 'post'])
def test_authlib_enforces_each_auth_method(tmp_path, authlib_server, client_name):
    client = authlib_server.clients[client_name]
    profile = password_profile(authlib_server, client, authlib_server.users['alice'], '/oauth/token')
    results = obtain(tmp_path, dict(alice=profile))
    token = results['module']['alice']
    # authlib introspects a client's own tokens only, authenticated the way that client must.
    data, auth = {'token': token['access_token']}, None
    if client_name == 'basic':
        auth = (client['client_id'], client['client_secret'])
    else:
        data.update(client_id=client['client_id'], client_secret=client['client_secret'])
    answer = requests.post(authlib_server.url + '/oauth/introspect', data=data, auth=auth, timeout=10)
    assert answer.json().get('active') is True
    other = 'client_secret_post' if client_name == 'basic' else 'client_secret_basic'
    # A fresh cache: the token above is the same token identity and would still be served from the cache.
    (tmp_path / 'swapped').mkdir()
    out = fail(tmp_path / 'swapped', dict(swapped=dict(profile, client_auth=other)), 'swapped')
    assert "profile 'swapped'" in out and 'invalid_client' in out


@pytest.mark.parametrize('kind', ['oauth2_server', 'authlib'])
def test_rotation_never_reuses_a_refresh_token(tmp_path, kind, oauth2_server, authlib_server):
    server = oauth2_server if kind == 'oauth2_server' else authlib_server
    profile = node_profile(server) if kind == 'oauth2_server' else password_profile(
        server, server.clients['basic'], server.users['alice'], '/oauth/token')
    server.reset_stats()
    seen = []
    for _attempt in range(4):
        results = obtain(tmp_path, dict(p=profile), lookup=False, token_force=True)
        # A reused refresh token would be refused (invalid_grant) and we would warn and fall back.
        assert 'invalid_grant' not in results['stdout']
        seen.append(results['module']['p']['refresh_token'])
    assert len(set(seen)) == 4, 'each renewal rotated the refresh token and we kept the newest'
    by_grant = server.stats()['by_grant']
    assert by_grant.get('refresh_token') == 3 and by_grant.get('password') == 1


def test_invalid_grant_on_refresh_falls_back_to_password(tmp_path, oauth2_server):
    profile = node_profile(oauth2_server)
    first = obtain(tmp_path, dict(p=profile), lookup=False)
    # Spend the refresh token we hold behind the collection's back, as another tool sharing the client might.
    client = oauth2_server.clients['app']
    spent = requests.post(oauth2_server.url + '/token', auth=(client['client_id'], client['client_secret']),
                          data=dict(grant_type='refresh_token', refresh_token=first['module']['p']['refresh_token']),
                          timeout=10)
    assert spent.status_code == 200
    second = obtain(tmp_path, dict(p=profile), lookup=False, token_force=True)
    assert 'refused the held refresh token (invalid_grant); falling back' in second['stdout']
    assert second['module']['p']['access_token'] != first['module']['p']['access_token']
