# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.tokenops.oauth2.plugins.module_utils.cache import TokenCache
from ansible_collections.tokenops.oauth2.plugins.module_utils.client import TokenClient
from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import ProfileError, TokenEndpointError
from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import build_profile

from .fakes import FakeTransport, json_response


class Clock(object):
    def __init__(self, now=1700000000.0):
        self.now = now

    def __call__(self):
        return self.now


def profile(**options):
    base = dict(token_url='https://idp.example/token', client_id='app', client_secret='s3cret')
    base.update(options)
    return build_profile('p', base)


def token_body(n, expires_in=100, refresh_token=None):
    body = {'access_token': 'access-%s' % n, 'token_type': 'Bearer', 'expires_in': expires_in}
    if refresh_token:
        body['refresh_token'] = refresh_token
    return json_response(body)


@pytest.fixture
def cache(tmp_path):
    return TokenCache(str(tmp_path / 'cache'))


def client(prof, transport, cache=None, clock=None, warnings=None):
    return TokenClient(prof, cache=cache, transport=transport, clock=clock or Clock(),
                       warn=(warnings.append if warnings is not None else None))


def test_without_cache_every_call_asks_the_server():
    transport = FakeTransport(token_body(1), token_body(2))
    c = client(profile(), transport)
    assert c.get_token().access_token == 'access-1'
    assert c.get_token().access_token == 'access-2'


def test_the_lifetime_counts_from_when_the_request_was_sent():
    # The server counts expires_in from its answer; an answer that took 7 s to arrive must not add 7 s of life.
    clock = Clock()

    class SlowTransport(FakeTransport):
        def request(self, *args, **kwargs):
            clock.now += 7
            return FakeTransport.request(self, *args, **kwargs)
    token = client(profile(), SlowTransport(token_body(1, expires_in=100)), clock=clock).get_token()
    assert token.expires_at_ts == 1700000000.0 + 100


def test_cache_hit_until_renew_window(cache):
    clock = Clock()
    transport = FakeTransport(token_body(1, expires_in=100), token_body(2, expires_in=100))
    assert client(profile(), transport, cache, clock).get_token().access_token == 'access-1'
    clock.now += 89  # default renew window: min(60, 10% of 100) = 10 s before expiry
    hit = client(profile(), transport, cache, clock).get_token()
    assert hit.access_token == 'access-1' and hit.from_cache
    clock.now += 1
    assert client(profile(), transport, cache, clock).get_token().access_token == 'access-2'
    assert len(transport.calls) == 2


def test_renew_before_from_profile(cache):
    clock = Clock()
    transport = FakeTransport(token_body(1, expires_in=100), token_body(2))
    client(profile(renew_before=50), transport, cache, clock).get_token()
    clock.now += 50
    assert client(profile(renew_before=50), transport, cache, clock).get_token().access_token == 'access-2'


def test_force_refresh_skips_cache(cache):
    transport = FakeTransport(token_body(1), token_body(2))
    client(profile(), transport, cache).get_token()
    assert client(profile(), transport, cache).get_token(force_refresh=True).access_token == 'access-2'


def test_due_token_is_refreshed_and_rotated_refresh_token_persisted(cache):
    clock = Clock()
    prof = profile(grant_type='password', username='u', password='pw')
    transport = FakeTransport(token_body(1, refresh_token='r1'), token_body(2, refresh_token='r2'))
    client(prof, transport, cache, clock).get_token()
    clock.now += 1000
    token = client(prof, transport, cache, clock).get_token()
    assert transport.calls[1]['data'] == {'grant_type': 'refresh_token', 'refresh_token': 'r1'}
    assert token.refresh_token == 'r2'
    # The rotated refresh token is what the cache now holds.
    key = client(prof, transport, cache, clock).cache_key()
    assert cache.load(key, 's3cret')['refresh_token'] == 'r2'


def test_refresh_without_rotation_keeps_old_refresh_token(cache):
    clock = Clock()
    prof = profile(grant_type='password', username='u', password='pw')
    transport = FakeTransport(token_body(1, refresh_token='r1'), token_body(2))
    client(prof, transport, cache, clock).get_token()
    clock.now += 1000
    assert client(prof, transport, cache, clock).get_token().refresh_token == 'r1'


def test_invalid_grant_falls_back_to_profile_grant(cache):
    clock = Clock()
    warnings = []
    prof = profile(grant_type='password', username='u', password='pw')
    transport = FakeTransport(token_body(1, refresh_token='r1'),
                              json_response({'error': 'invalid_grant'}, status=400),
                              token_body(3, refresh_token='r3'))
    client(prof, transport, cache, clock).get_token()
    clock.now += 1000
    token = client(prof, transport, cache, clock, warnings).get_token()
    assert token.access_token == 'access-3'
    assert transport.calls[2]['data']['grant_type'] == 'password'
    assert any('invalid_grant' in w for w in warnings)


def test_refresh_token_profile_uses_rotated_token_first(cache):
    clock = Clock()
    prof = profile(grant_type='refresh_token', refresh_token='initial')
    transport = FakeTransport(token_body(1, refresh_token='r1'), token_body(2, refresh_token='r2'))
    client(prof, transport, cache, clock).get_token()
    assert transport.calls[0]['data']['refresh_token'] == 'initial'
    clock.now += 1000
    client(prof, transport, cache, clock).get_token()
    assert transport.calls[1]['data']['refresh_token'] == 'r1'


def test_refresh_token_profile_all_refused(cache):
    clock = Clock()
    prof = profile(grant_type='refresh_token', refresh_token='initial')
    transport = FakeTransport(token_body(1, refresh_token='r1'),
                              json_response({'error': 'invalid_grant'}, status=400),
                              json_response({'error': 'invalid_grant'}, status=400))
    client(prof, transport, cache, clock).get_token()
    clock.now += 1000
    with pytest.raises(TokenEndpointError, match='onboard'):
        client(prof, transport, cache, clock).get_token()
    # 'initial' was retired when r1 was issued: sending it again is the reuse a server answers by revoking the grant.
    assert [call['data']['refresh_token'] for call in transport.calls] == ['initial', 'r1']


def test_a_written_back_refresh_token_still_finds_its_entry(cache):
    """The next run's profile holds the rotated refresh token the last one wrote back: a cache hit, not a renewal."""
    clock = Clock()
    transport = FakeTransport(token_body(1, refresh_token='r1'), token_body(2, refresh_token='r2'))
    client(profile(grant_type='refresh_token', refresh_token='initial'), transport, cache, clock).get_token()
    written_back = profile(grant_type='refresh_token', refresh_token='r1')
    assert client(written_back, transport, cache, clock).get_token().from_cache
    clock.now += 1000
    assert client(written_back, transport, cache, clock).get_token().refresh_token == 'r2'
    # A profile still configured with the token the chain started from (an AWX project checked out afresh) too.
    assert client(profile(grant_type='refresh_token', refresh_token='initial'), transport, cache, clock).get_token() \
        .from_cache
    assert [call['data']['refresh_token'] for call in transport.calls] == ['initial', 'r1']


def test_a_refresh_token_outside_the_chain_starts_a_new_one(cache):
    """Another onboarding under the profile's name: the held refresh token is never spent for it."""
    clock = Clock()
    transport = FakeTransport(token_body(1, refresh_token='r1'), token_body(2, refresh_token='other-1'),
                              token_body(3, refresh_token='other-2'))
    client(profile(grant_type='refresh_token', refresh_token='initial'), transport, cache, clock).get_token()
    onboarded_again = profile(grant_type='refresh_token', refresh_token='other')
    assert client(onboarded_again, transport, cache, clock).get_token().access_token == 'access-2'
    assert client(onboarded_again, transport, cache, clock).get_token(force_refresh=True).refresh_token == 'other-2'
    assert [call['data']['refresh_token'] for call in transport.calls] == ['initial', 'other', 'other-1']
    # The first chain is gone from this entry: its held token is no longer the first profile's either.
    assert client(profile(grant_type='refresh_token', refresh_token='r1'), transport, cache, clock).held_token() is None


def test_the_chain_keeps_its_start_and_the_newest(cache, monkeypatch):
    import ansible_collections.tokenops.oauth2.plugins.module_utils.client as client_module
    monkeypatch.setattr(client_module, 'CHAIN_LENGTH', 3)
    clock = Clock()
    transport = FakeTransport(*[token_body(n, refresh_token='r%d' % n) for n in range(1, 6)])
    for _rotation in range(5):
        client(profile(grant_type='refresh_token', refresh_token='initial'), transport, cache, clock).get_token(True)
    keys = cache.keys
    chain = client(profile(grant_type='refresh_token', refresh_token='r5'), transport, cache, clock).held_token() \
        .refresh_chain
    assert chain == [keys.keyed_hash(rt) for rt in ('initial', 'r4', 'r5')]
    for rotated_away in ('r1', 'r3'):
        assert client(profile(grant_type='refresh_token', refresh_token=rotated_away), transport, cache,
                      clock).held_token() is None


class Keeper(object):
    """keep_refresh_token: records what it was given, and what the cache held at that moment."""

    def __init__(self, cache=None, key=None):
        self.kept, self.cached_then, self.cache, self.key = [], [], cache, key

    def __call__(self, token, newest=None):
        self.kept.append(newest() if newest else token.refresh_token)
        if self.cache is not None:
            self.cached_then.append((self.cache.load(self.key, 's3cret') or {}).get('refresh_token'))


def test_a_rotated_refresh_token_is_kept_after_the_cache_holds_it_and_before_it_is_handed_out(cache):
    clock = Clock()
    prof = profile(grant_type='refresh_token', refresh_token='initial')
    transport = FakeTransport(token_body(1, refresh_token='r1'), token_body(2))
    keeper = Keeper(cache, client(prof, transport, cache).cache_key())
    assert TokenClient(prof, cache=cache, transport=transport, clock=clock, keep_refresh_token=keeper).get_token() \
        .refresh_token == 'r1'
    assert keeper.kept == ['r1'] and keeper.cached_then == ['r1']
    # Not rotated (the server kept r1): nothing new to keep beyond what is configured.
    clock.now += 1000
    written_back = profile(grant_type='refresh_token', refresh_token='r1')
    TokenClient(written_back, cache=cache, transport=transport, clock=clock, keep_refresh_token=keeper).get_token()
    assert keeper.kept == ['r1']


def test_a_held_refresh_token_not_yet_written_back_is_kept_on_a_cache_hit(cache):
    """An earlier write-back failed (or its process died): the next cache hit gives the newest one again, as the
    cache holds it when the write-back looks (a renewal may have come in between)."""
    clock = Clock()
    transport = FakeTransport(token_body(1, refresh_token='r1'), token_body(2, refresh_token='r2'))
    prof = profile(grant_type='refresh_token', refresh_token='initial')
    client(prof, transport, cache, clock).get_token()
    keeper = Keeper()
    token = TokenClient(prof, cache=cache, transport=transport, clock=clock, keep_refresh_token=keeper).get_token()
    assert token.from_cache and token.refresh_token == 'r1' and keeper.kept == ['r1']

    def renewed_meanwhile(token, newest):
        client(prof, transport, cache, clock).get_token(force_refresh=True)
        keeper(token, newest)
    TokenClient(prof, cache=cache, transport=transport, clock=clock, keep_refresh_token=renewed_meanwhile).get_token()
    assert keeper.kept == ['r1', 'r2']


def test_a_rotated_refresh_token_is_kept_when_the_cache_cannot_store_it(cache, monkeypatch):
    from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import CacheError

    def full(*_args):
        raise CacheError('disk full')
    monkeypatch.setattr(cache, 'store', full)
    keeper = Keeper()
    with pytest.raises(CacheError):
        TokenClient(profile(grant_type='refresh_token', refresh_token='initial'), cache=cache, clock=Clock(),
                    transport=FakeTransport(token_body(1, refresh_token='r1')), keep_refresh_token=keeper).get_token()
    assert keeper.kept == ['r1']


def test_without_a_cache_a_rotated_refresh_token_is_kept_too():
    keeper = Keeper()
    TokenClient(profile(grant_type='refresh_token', refresh_token='initial'), clock=Clock(),
                transport=FakeTransport(token_body(1, refresh_token='r1')), keep_refresh_token=keeper).get_token()
    assert keeper.kept == ['r1']


def test_other_errors_on_refresh_are_not_swallowed(cache):
    clock = Clock()
    prof = profile(grant_type='password', username='u', password='pw')
    transport = FakeTransport(token_body(1, refresh_token='r1'),
                              json_response({'error': 'invalid_client'}, status=401))
    client(prof, transport, cache, clock).get_token()
    clock.now += 1000
    with pytest.raises(TokenEndpointError, match='invalid_client'):
        client(prof, transport, cache, clock).get_token()


def test_temporarily_unavailable_is_retried(monkeypatch):
    monkeypatch.setattr('time.sleep', lambda s: None)
    transport = FakeTransport(json_response({'error': 'temporarily_unavailable'}, status=400), token_body(2))
    assert client(profile(), transport).get_token().access_token == 'access-2'


def test_code_exchange_is_never_retried(monkeypatch):
    monkeypatch.setattr('time.sleep', lambda s: None)
    prof = profile(grant_type='authorization_code', code='c', redirect_uri='http://127.0.0.1/cb')
    transport = FakeTransport(json_response({'error': 'temporarily_unavailable'}, status=400), token_body(2))
    with pytest.raises(TokenEndpointError):
        client(prof, transport).get_token()
    assert transport.calls[0]['retry_safe'] is False and len(transport.calls) == 1


def test_changed_secret_misses_cache(cache):
    transport = FakeTransport(token_body(1), token_body(2))
    client(profile(), transport, cache).get_token()
    assert client(profile(client_secret='rotated'), transport, cache).get_token().access_token == 'access-2'


def test_cache_files_are_private_and_encrypted(cache):
    transport = FakeTransport(token_body(1, refresh_token='refresh-secret'))
    client(profile(), transport, cache).get_token()
    assert stat.S_IMODE(os.stat(cache.directory).st_mode) == 0o700
    for name in os.listdir(cache.directory):
        path = os.path.join(cache.directory, name)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        with open(path, 'rb') as handle:
            content = handle.read()
        assert b'access-1' not in content and b'refresh-secret' not in content


def test_corrupt_cache_file_warns_once_and_is_replaced(cache):
    warnings = []
    transport = FakeTransport(token_body(1), token_body(2))
    c = client(profile(), transport, cache)
    c.get_token()
    with open(os.path.join(cache.directory, c.cache_key() + '.token'), 'w') as handle:
        handle.write('{not json')
    cache._warn = warnings.append
    assert client(profile(), transport, cache).get_token().access_token == 'access-2'
    assert len(warnings) == 1  # read unlocked, then again under the lock: one warning
    assert client(profile(), transport, cache).get_token().from_cache


def test_discovery_feeds_token_url():
    prof = build_profile('p', dict(issuer='https://idp.example/realms/x', client_id='app', client_secret='s'))
    transport = FakeTransport(
        json_response({}, status=404),
        json_response({'issuer': 'https://idp.example/realms/x', 'token_endpoint': 'https://idp.example/t'}),
        token_body(1))
    assert client(prof, transport).get_token().access_token == 'access-1'
    assert transport.calls[0]['url'] == 'https://idp.example/.well-known/oauth-authorization-server/realms/x'
    assert transport.calls[1]['url'] == 'https://idp.example/realms/x/.well-known/openid-configuration'
    assert transport.calls[2]['url'] == 'https://idp.example/t'


def test_discovery_rejects_another_issuer():
    prof = build_profile('p', dict(issuer='https://idp.example', client_id='app', client_secret='s'))
    transport = FakeTransport(json_response({'issuer': 'https://evil.example', 'token_endpoint': 'https://evil'}))
    with pytest.raises(TokenEndpointError, match="names issuer 'https://evil.example'"):
        client(prof, transport).get_token()


@pytest.mark.parametrize('issuer', ['https://evil.example/\x1b]0;owned\x07', ['https://idp.example'], 42])
def test_a_hostile_discovery_issuer_is_named_escaped(issuer):
    prof = build_profile('p', dict(issuer='https://idp.example', client_id='app', client_secret='s'))
    transport = FakeTransport(json_response({'issuer': issuer, 'token_endpoint': 'https://idp.example/t'}))
    with pytest.raises(TokenEndpointError, match='names issuer') as err:
        client(prof, transport).get_token()
    assert '\x1b' not in str(err.value) and '\x07' not in str(err.value)


@pytest.mark.parametrize('endpoint', ['https://user:discovered-pw@idp.example/t', ['https://idp.example/t'],
                                      'https://idp.example/\x1b[2Jt'])
def test_a_discovered_token_endpoint_must_be_a_plain_url(endpoint):
    prof = build_profile('p', dict(issuer='https://idp.example', client_id='app', client_secret='s'))
    transport = FakeTransport(json_response({'issuer': 'https://idp.example', 'token_endpoint': endpoint}))
    with pytest.raises(TokenEndpointError, match='token_endpoint') as err:
        client(prof, transport).get_token()
    assert 'discovered-pw' not in str(err.value) and '\x1b' not in str(err.value)
    assert len(transport.calls) == 1, 'nothing was sent to it'


REVOKE_URL = 'https://idp.example/revoke'


def revoked_ok():
    return json_response({}, url=REVOKE_URL)


def test_without_a_cache_or_a_refresh_token_state_absent_says_there_is_nothing_to_revoke():
    transport = FakeTransport()
    with pytest.raises(ProfileError) as info:
        client(profile(cache=False, revocation_url=REVOKE_URL), transport).revoke_held()
    assert 'there are none' in str(info.value) and 'refresh_token' in info.value.hint and not transport.calls


def test_without_a_cache_the_refresh_token_given_is_revoked():
    transport = FakeTransport(revoked_ok())
    prof = profile(cache=False, revocation_url=REVOKE_URL, grant_type='refresh_token', refresh_token='given-rt')
    assert client(prof, transport).revoke_held() == ['refresh_token']
    assert [c['data'] for c in transport.calls] == [{'token': 'given-rt', 'token_type_hint': 'refresh_token'}]


def test_the_cached_tokens_and_the_profiles_older_refresh_token_are_all_revoked(cache):
    prof = profile(revocation_url=REVOKE_URL, grant_type='refresh_token', refresh_token='onboarded-rt')
    first = client(prof, FakeTransport(token_body(1, refresh_token='rotated-rt')), cache=cache)
    first.get_token()
    transport = FakeTransport(revoked_ok(), revoked_ok(), revoked_ok())
    assert client(prof, transport, cache=cache).revoke_held() == ['refresh_token', 'access_token']
    assert [c['data']['token'] for c in transport.calls] == ['rotated-rt', 'onboarded-rt', 'access-1']
    assert client(prof, FakeTransport(), cache=cache).held_token() is None


def test_check_mode_revokes_nothing(cache):
    prof = profile(cache=False, revocation_url=REVOKE_URL, grant_type='refresh_token', refresh_token='given-rt')
    transport = FakeTransport()
    assert client(prof, transport).revoke_held(check_mode=True) == ['refresh_token'] and not transport.calls
