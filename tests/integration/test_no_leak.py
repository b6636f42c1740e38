# -*- coding: utf-8 -*-
"""No secret or token used by a playbook appears anywhere in its -vvvv output (issue 2's leak check): raw, form-encoded,
or as the HTTP Basic credentials of the clients that authenticate with Basic. A negative control runs the same
playbook against a copy of the collection whose token results are not censored, and the same search must find the
tokens there: the search can fail."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil

import pytest

from token_helper import basic_credentials, cache_env, encoded, write_vars
from ansible_runner_helper import REPO_ROOT, run_playbook

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


def leak_run(tmp_path, oidc_provider, oauth2_server, extra_env=None):
    """Run leak_check.yml at -vvvv; return (output, {secret or token or encoded form: what it is}, tokens)."""
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
    env = dict(cache_env(tmp_path), **(extra_env or {}))
    proc = run_playbook('leak_check.yml', '-vvvv', '-e', '@' + variables, extra_env=env)
    with open(results_file) as handle:
        obtained = json.load(handle)

    tokens = secret_strings(obtained)
    assert len(tokens) >= 6, 'the playbook obtained access and refresh tokens'
    secrets = {basic['client_secret'], post['client_secret'], web['client_secret'], node_client['client_secret'],
               node_user['password'], code, verifier, 'wrong-secret-9f8e7d6c5b4a', 'typo-secret-1a2b3c4d5e6f',
               'down-secret-0a9b8c7d6e5f'}
    # The clients that authenticate with HTTP Basic (cc_basic and its wrong secrets, web, the node server's app).
    basic_pairs = [(p['client_id'], p['client_secret']) for name, p in profiles.items()
                   if name not in ('cc_post',)]
    assert profiles['cc_post']['client_auth'] == 'client_secret_post' and basic['client_auth'] == 'client_secret_basic'
    needles = dict((s, 'a secret') for s in secrets)
    needles.update((s, 'a form-encoded secret') for s in encoded(secrets) - secrets)
    needles.update((s, 'HTTP Basic credentials') for pair in basic_pairs for s in basic_credentials(*pair))
    needles.update((t, 'a token') for t in tokens)
    # The run did exercise what it claims: the failures happened and were reported.
    assert proc.stdout.count('invalid_client') >= 2
    assert "unknown key 'clientid'" in proc.stdout and 'cannot connect' in proc.stdout
    return proc.stdout, needles, tokens


def leaked(text, needles):
    return sorted((what, s[:6] + '...') for s, what in needles.items() if s in text)


@pytest.mark.smoke
def test_no_secret_or_token_in_vvvv_output(tmp_path, oidc_provider, oauth2_server):
    out, needles, tokens = leak_run(tmp_path, oidc_provider, oauth2_server)
    found = leaked(out, needles)
    assert not found, 'leaked into -vvvv output: %s' % found
    # Cache files are named by hash and hold no secret in the clear.
    cache_dir = cache_env(tmp_path)['TOKENOPS_OAUTH2_CACHE_DIR']
    for name in os.listdir(cache_dir):
        with open(os.path.join(cache_dir, name), 'rb') as handle:
            content = handle.read().decode('latin-1')
        assert not [s for s in needles if s in name or s in content], name


CENSORING = "result['_ansible_no_log'] = True"


def uncensored_collection(root):
    """A copy of the collection whose token plugin does not censor its results; returns its collections path."""
    tree = os.path.join(str(root), 'collections', 'ansible_collections', 'tokenops', 'oauth2')
    os.makedirs(tree)
    for name in ('galaxy.yml', 'meta', 'plugins', 'roles', 'playbooks'):
        source = os.path.join(REPO_ROOT, name)
        (shutil.copytree if os.path.isdir(source) else shutil.copy2)(source, os.path.join(tree, name))
    action = os.path.join(tree, 'plugins', 'action', 'token.py')
    with open(action) as handle:
        text = handle.read()
    assert text.count(CENSORING) == 2, 'the controller and host paths each censor the result'
    with open(action, 'w') as handle:
        handle.write(text.replace(CENSORING, 'pass  # negative control: not censored'))
    return os.path.join(str(root), 'collections')


def test_negative_control_without_censoring_the_search_finds_the_tokens(tmp_path, oidc_provider, oauth2_server):
    """The same run against a collection that does not censor the token module's result: the search above must find
    the tokens in the output, or it proves nothing."""
    collections = uncensored_collection(tmp_path / 'uncensored')
    out, needles, tokens = leak_run(tmp_path, oidc_provider, oauth2_server,
                                    extra_env={'ANSIBLE_COLLECTIONS_PATH': collections})
    assert os.path.join(collections, 'ansible_collections', 'tokenops', 'oauth2') in out, \
        'the run did not use the uncensored copy'
    found = leaked(out, dict((t, 'a token') for t in tokens))
    assert found, 'without censoring, no token was found in the -vvvv output: the leak search cannot fail'
