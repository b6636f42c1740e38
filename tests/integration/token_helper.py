# -*- coding: utf-8 -*-
"""Run the token playbooks with profiles built by a test, and read back what they obtained."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
from urllib.parse import quote, quote_plus

import requests

from ansible_runner_helper import run_playbook

from tests.servers.launch import obtain_authorization_code, pkce_pair


def write_vars(tmp_path, profiles, **extra):
    path = os.path.join(str(tmp_path), 'vars-%d.json' % len(os.listdir(str(tmp_path))))
    data = dict(extra, oauth2_profiles=profiles)
    with open(path, 'w') as handle:
        json.dump(data, handle)
    return path


def cache_env(tmp_path):
    return {'TOKENOPS_OAUTH2_CACHE_DIR': os.path.join(str(tmp_path), 'cache')}


def obtain(tmp_path, profiles, names=None, args=(), lookup=True, **extra):
    """Run token_obtain.yml; return results['module'][name], results['lookup'][name] and results['stdout']."""
    names = list(names or profiles)
    results_file = os.path.join(str(tmp_path), 'results.json')
    variables = write_vars(tmp_path, profiles, token_names=names, token_results_file=results_file,
                           token_lookup=lookup, **extra)
    proc = run_playbook('token_obtain.yml', '-e', '@' + variables, *args, extra_env=cache_env(tmp_path))
    with open(results_file) as handle:
        raw = json.load(handle)
    return dict(module=dict((r['item'], r) for r in raw['module']), lookup=raw['lookup'], stdout=proc.stdout)


def fail(tmp_path, profiles, name, via='module', args=()):
    """Run token_fail.yml, which must fail; return the output."""
    variables = write_vars(tmp_path, profiles, token_name=name, token_via=via)
    proc = run_playbook('token_fail.yml', '-e', '@' + variables, *args, extra_env=cache_env(tmp_path), check=False)
    assert proc.returncode != 0, proc.stdout
    return proc.stdout


def basic_credentials(client_id, secret):
    """What an Authorization: Basic header would carry for this pair, raw or form-encoded (RFC 6749 2.3.1)."""
    texts = ['%s:%s' % (encode(client_id), encode(secret)) for encode in (str, quote_plus, lambda v: quote(v, safe=''))]
    return {base64.b64encode(text.encode()).decode() for text in texts}


def encoded(secrets):
    """The secrets as a form body or a query string carries them, where that differs from the secret itself."""
    return {quote_plus(s) for s in secrets if s} | {quote(s, safe='') for s in secrets if s}


def introspect(server, token, client):
    """Ask an oidc-provider whether it issued ``token`` (RFC 7662), authenticating as ``client``."""
    auth = (client['client_id'], client['client_secret']) if client['client_auth'] == 'client_secret_basic' else None
    data = {'token': token}
    if auth is None:
        data.update(client_id=client['client_id'], client_secret=client['client_secret'])
    answer = requests.post(server.url + '/token/introspection', data=data, auth=auth, timeout=10)
    answer.raise_for_status()
    return answer.json()


def authorization_code_profile(server, client_name, **options):
    """An authorization code profile with a fresh code (PKCE, offline_access: the server grants a refresh token too)."""
    client = server.clients[client_name]
    verifier, challenge = pkce_pair()
    redirect_uri = server.info['redirect_uri']
    code = obtain_authorization_code(server, client, redirect_uri=redirect_uri, scope='openid offline_access',
                                     code_challenge=challenge)
    profile = dict(token_url=server.url + '/token', grant_type='authorization_code', client_id=client['client_id'],
                   client_auth=client['client_auth'], code=code, redirect_uri=redirect_uri, code_verifier=verifier,
                   scope='openid offline_access')
    if client.get('client_secret'):
        profile['client_secret'] = client['client_secret']
    profile.update(options)
    return profile
