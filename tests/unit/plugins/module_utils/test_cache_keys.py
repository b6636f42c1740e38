# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Security issue 12, findings 1 and 7: what names a cache entry, and what its key is made of."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.tokenops.oauth2.plugins.module_utils.cache import CacheKeys, OtherSecret, TokenCache
from ansible_collections.tokenops.oauth2.plugins.module_utils.client import TokenClient
from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import build_profile

from .fakes import FakeTransport, json_response

MASTER = b'm' * 32
BASE = dict(token_url='https://idp.example/token', client_id='integrator', client_secret='s3cret')


def name_of(profile_name, keys=None, **options):
    keys = keys or CacheKeys(MASTER)
    return keys.entry_name('token', build_profile(profile_name, dict(BASE, **options)).identity(keys.keyed_hash))


# -- finding 1: whom a token is for ----------------------------------------------------------------------------

@pytest.mark.parametrize('options, other', [
    (dict(grant_type='password', username='u', password='alice-pw'),
     dict(grant_type='password', username='u', password='bob-pw')),
    (dict(grant_type='authorization_code', code='c1', redirect_uri='https://app/cb'),
     dict(grant_type='authorization_code', code='c2', redirect_uri='https://app/cb')),
    (dict(extra_params={'account': 'alice'}), dict(extra_params={'account': 'bob'})),
    (dict(headers={'X-Tenant': 'alice'}), dict(headers={'X-Tenant': 'bob'})),
    (dict(client_auth='client_secret_basic'), dict(client_auth='client_secret_post')),
    (dict(), dict(issuer='https://idp.example')),
], ids=['password', 'code', 'extra_params', 'headers', 'client_auth', 'issuer'])
def test_what_changes_whom_a_token_is_for_changes_the_entry(options, other):
    assert name_of('p', **options) != name_of('p', **other)
    assert name_of('p', **options) == name_of('p', **options), 'and the same profile finds its entry again'


def test_a_refresh_token_profile_is_named_without_its_refresh_token_which_its_chain_tells_apart(tmp_path):
    """Each run writes the rotated refresh token back to the profile, so it cannot name the entry (every run would
    miss); the entry's chain of refresh tokens tells another account under the same profile name apart instead."""
    assert name_of('p', grant_type='refresh_token', refresh_token='alice-rt') == \
        name_of('p', grant_type='refresh_token', refresh_token='alice-rotated')
    cache = TokenCache(str(tmp_path / 'cache'))
    alice = build_profile('p', dict(BASE, grant_type='refresh_token', refresh_token='alice-rt'))
    TokenClient(alice, cache=cache, transport=FakeTransport(json_response(
        {'access_token': 'alice-access', 'token_type': 'Bearer', 'expires_in': 3600,
         'refresh_token': 'alice-rotated'}))).get_token()
    bob = build_profile('p', dict(BASE, grant_type='refresh_token', refresh_token='bob-rt'))
    answer = {'access_token': 'bob-access', 'token_type': 'Bearer', 'expires_in': 3600}
    transport = FakeTransport(json_response(answer), json_response(answer))
    for force_refresh in (False, True):
        assert TokenClient(bob, cache=cache, transport=transport).get_token(force_refresh).access_token == 'bob-access'
    assert [call['data']['refresh_token'] for call in transport.calls] == ['bob-rt', 'bob-rt']


def test_two_profiles_never_share_an_entry():
    assert name_of('alice') != name_of('bob')


def test_secrets_enter_the_identity_only_as_keyed_hashes():
    keys = CacheKeys(MASTER)
    profile = build_profile('p', dict(BASE, grant_type='password', username='u', password='pa55word',
                                      extra_params={'api_key': 'ap1-key'}, headers={'X-Key': 'head3r'}))
    identity = json.dumps(profile.identity(keys.keyed_hash))
    assert not [s for s in ('pa55word', 'ap1-key', 'head3r', 's3cret') if s in identity]
    assert keys.keyed_hash('pa55word') in identity
    assert CacheKeys(b'n' * 32).keyed_hash('pa55word') != keys.keyed_hash('pa55word'), 'keyed by the master key'


def test_a_held_refresh_token_serves_only_its_own_profile(tmp_path):
    """Bob's profile, same client as Alice's, never spends the refresh token held for Alice."""
    cache = TokenCache(str(tmp_path / 'cache'))
    answer = json_response({'access_token': 'alice-access', 'token_type': 'Bearer', 'expires_in': 3600,
                            'refresh_token': 'alice-rotated'})
    alice = build_profile('alice', dict(BASE, grant_type='refresh_token', refresh_token='alice-rt'))
    TokenClient(alice, cache=cache, transport=FakeTransport(answer)).get_token()
    bob = build_profile('bob', dict(BASE, grant_type='refresh_token', refresh_token='bob-rt'))
    transport = FakeTransport(json_response({'access_token': 'bob-access', 'token_type': 'Bearer',
                                             'expires_in': 3600}))
    token = TokenClient(bob, cache=cache, transport=transport).get_token(force_refresh=True)
    assert token.access_token == 'bob-access'
    assert [call['data']['refresh_token'] for call in transport.calls] == ['bob-rt']


# -- finding 7: names and keys come from the master key ----------------------------------------------------------

def test_names_reveal_nothing_and_depend_on_the_master_key():
    name = name_of('p', grant_type='password', username='alice@example.org', password='pw')
    assert name.startswith('v2-') and 'alice' not in name and 'integrator' not in name
    assert name != name_of('p', CacheKeys(b'n' * 32), grant_type='password', username='alice@example.org',
                           password='pw')


def test_an_entry_opens_only_with_master_key_secret_and_name():
    keys = CacheKeys(MASTER)
    sealed = keys.seal('v2-a', 'pw', {'access_token': 'at'})
    assert keys.unseal('v2-a', 'pw', sealed) == {'access_token': 'at'}
    assert b'at"' not in sealed and b'pw' not in sealed
    with pytest.raises(OtherSecret):
        keys.unseal('v2-a', 'another-pw', sealed)  # the secret changed: stale, not damaged
    with pytest.raises(OtherSecret):
        CacheKeys(b'n' * 32).unseal('v2-a', 'pw', sealed)  # copied to another controller: the password is not enough
    with pytest.raises(OtherSecret):
        keys.unseal('v2-b', 'pw', sealed)  # renamed to another entry's name
    with pytest.raises(ValueError):
        keys.unseal('v2-a', 'pw', sealed.replace(b'"version":2', b'"version":1'))


def test_open_is_unseal_that_answers_none_for_a_stale_or_damaged_entry():
    """The sealer interface of the shared store: CacheKeys(shared key) serves it as it is."""
    keys = CacheKeys(MASTER)
    sealed = keys.seal('v2-a', None, {'document': {}})
    assert keys.open('v2-a', None, sealed) == {'document': {}}
    assert keys.open('v2-a', 'other', sealed) is None and keys.open('v2-a', None, b'{"version": 2') is None


def test_a_master_key_must_be_long_enough():
    with pytest.raises(ValueError):
        CacheKeys(b'short')


def test_a_public_clients_entry_needs_the_master_key(tmp_path):
    """Without a client secret the password is the profile's secret; the entry still does not open elsewhere."""
    profile = build_profile('p', dict(token_url='https://idp.example/token', client_id='app', client_auth='none',
                                      grant_type='password', username='u', password='pw'))
    cache = TokenCache(str(tmp_path / 'here'))
    client = TokenClient(profile, cache=cache, transport=FakeTransport(json_response(
        {'access_token': 'at', 'token_type': 'Bearer', 'expires_in': 3600})))
    client.get_token()
    key = client.cache_key()
    elsewhere = TokenCache(str(tmp_path / 'elsewhere'))
    with open(os.path.join(cache.directory, key + '.token'), 'rb') as source:
        with open(os.path.join(elsewhere.directory, key + '.token'), 'wb') as copy:
            copy.write(source.read())
    os.chmod(os.path.join(elsewhere.directory, key + '.token'), 0o600)
    assert cache.load(key, 'pw')['access_token'] == 'at'
    assert elsewhere.load(key, 'pw') is None
