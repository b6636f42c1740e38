# -*- coding: utf-8 -*-
"""No secret or token used by a playbook appears anywhere in its -vvvv output (issue 2's leak check)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from token_helper import cache_env, write_vars
from ansible_runner_helper import run_playbook

from tests.servers.launch import obtain_authorization_code, pkce_pair


def secret_strings(value):
    """Every string under the keys that hold secrets, in a results structure."""
    found = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ('access_token', 'refresh_token', 'header') and isinstance(item, str) and item:
                found.add(item.split(' ', 1)[-1])
            else:
                found |= secret_strings(item)
    elif isinstance(value, list):
        for item in value:
            found |= secret_strings(item)
    return found


@pytest.mark.smoke
def test_no_secret_or_token_in_vvvv_output(tmp_path, oidc_provider, oauth2_server):
    basic, post, web = (oidc_provider.clients[n] for n in ('cc_basic', 'cc_post', 'web'))
    node_client, node_user = oauth2_server.clients['app'], oauth2_server.users['admin']
    verifier, challenge = pkce_pair()
    redirect_uri = oidc_provider.info['redirect_uri']
    code = obtain_authorization_code(oidc_provider, web, redirect_uri=redirect_uri, scope='openid offline_access',
                                     code_challenge=challenge)
    token_url = oidc_provider.url + '/token'

    def cc(client, **extra):
        profile = dict(token_url=token_url, client_id=client['client_id'], client_secret=client['client_secret'],
                       client_auth=client['client_auth'], scope='api:read', resource='urn:tokenops:api')
        profile.update(extra)
        return profile

    profiles = dict(
        cc_basic=cc(basic), cc_post=cc(post),
        password=dict(token_url=oauth2_server.url + '/token', grant_type='password',
                      client_id=node_client['client_id'], client_secret=node_client['client_secret'],
                      username=node_user['username'], password=node_user['password'], scope='read'),
        code=dict(token_url=token_url, grant_type='authorization_code', client_id=web['client_id'],
                  client_secret=web['client_secret'], code=code, redirect_uri=redirect_uri, code_verifier=verifier),
        wrong_secret=cc(basic, client_secret='wrong-secret-9f8e7d6c5b4a'),
        typo=cc(basic, client_secret='typo-secret-1a2b3c4d5e6f', clientid='x'),
        down=cc(basic, token_url='http://127.0.0.1:9/token', client_secret='down-secret-0a9b8c7d6e5f', retries=0),
    )
    results_file = os.path.join(str(tmp_path), 'leak-results.json')
    variables = write_vars(tmp_path, profiles, leak_results_file=results_file)
    proc = run_playbook('leak_check.yml', '-vvvv', '-e', '@' + variables, extra_env=cache_env(tmp_path))
    with open(results_file) as handle:
        obtained = json.load(handle)

    tokens = secret_strings(obtained)
    assert len(tokens) >= 6, 'the playbook obtained access and refresh tokens'
    secrets = {basic['client_secret'], post['client_secret'], web['client_secret'], node_client['client_secret'],
               node_user['password'], code, verifier, 'wrong-secret-9f8e7d6c5b4a', 'typo-secret-1a2b3c4d5e6f',
               'down-secret-0a9b8c7d6e5f'}
    leaked = sorted(s for s in secrets | tokens if s in proc.stdout)
    assert not leaked, 'leaked into -vvvv output: %s' % ', '.join(s[:6] + '...' for s in leaked)
    # The run did exercise what it claims: the failures happened and were reported.
    assert proc.stdout.count('invalid_client') >= 2
    assert "unknown key 'clientid'" in proc.stdout and 'cannot connect' in proc.stdout
    # Cache files are named by hash and hold no secret in the clear.
    cache_dir = cache_env(tmp_path)['TOKENOPS_OAUTH2_CACHE_DIR']
    for name in os.listdir(cache_dir):
        with open(os.path.join(cache_dir, name), 'rb') as handle:
            content = handle.read().decode('latin-1')
        assert not [s for s in secrets | tokens if s in name or s in content], name
