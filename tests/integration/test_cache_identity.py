# -*- coding: utf-8 -*-
"""Security issue 12, finding 1: a cache entry belongs to one profile and one subject, never to a client.

One integrator, two customer accounts: two refresh_token profiles of the same client at oidc-provider, one holding
Alice's refresh token, one Bob's. Every token each profile gets (module and lookup, cold, warm and forced) must be
issued for its own account, which the server itself tells by introspection.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import requests

from token_helper import introspect, obtain

from tests.servers.launch import obtain_authorization_code, pkce_pair


def refresh_token_of(server, client, username):
    """A refresh token issued to ``username`` for ``client``: the authorization a person would give once."""
    verifier, challenge = pkce_pair()
    redirect_uri = server.info['redirect_uri']
    code = obtain_authorization_code(server, client, redirect_uri=redirect_uri, scope='openid offline_access',
                                     code_challenge=challenge, username=username)
    answer = requests.post(server.url + '/token', auth=(client['client_id'], client['client_secret']), timeout=10,
                           data=dict(grant_type='authorization_code', code=code, redirect_uri=redirect_uri,
                                     code_verifier=verifier))
    answer.raise_for_status()
    return answer.json()['refresh_token']


def account_profile(server, client, refresh_token):
    return dict(token_url=server.url + '/token', grant_type='refresh_token', client_id=client['client_id'],
                client_secret=client['client_secret'], client_auth=client['client_auth'],
                refresh_token=refresh_token, scope='openid offline_access')


def subject_of(server, client, token):
    answer = introspect(server, token, client)
    assert answer['active'], 'the server no longer knows this token'
    return answer['sub']


def test_two_accounts_of_one_client_never_get_each_others_tokens(tmp_path, oidc_provider):
    client = oidc_provider.clients['web']
    accounts = dict(alice='alice', bob='bob')
    profiles = dict((name, account_profile(oidc_provider, client, refresh_token_of(oidc_provider, client, user)))
                    for name, user in accounts.items())

    def check(results, via):
        for name, user in accounts.items():
            for kind in ('access_token', 'refresh_token'):
                token = results[via][name][kind]
                assert subject_of(oidc_provider, client, token) == user, \
                    "profile '%s' (%s) holds an %s issued to '%s'" % (name, via, kind,
                                                                      subject_of(oidc_provider, client, token))

    # Cold: Alice's profile runs first and fills the cache; Bob's must not be served her entry.
    cold = obtain(tmp_path, profiles)
    check(cold, 'module')
    check(cold, 'lookup')
    assert cold['lookup']['bob']['from_cache'], 'a profile still finds its own entry'

    # Forced renewal: each profile spends its own held refresh token. The refresh token each result carries is the
    # one the deliver role writes back to the profile's refresh_token_vars_file.
    forced = obtain(tmp_path, profiles, token_force=True, lookup=False)
    check(forced, 'module')
    assert forced['module']['bob']['refresh_token'] != cold['module']['bob']['refresh_token'], 'it was rotated'
