# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared store's settings: the cache_url forms, what is refused (a password in the URL above all, never echoed),
and which settings a profile needs with it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import build_profile
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.redis_store import entry_ttl_ms
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.store_settings import (
    StoreSettingsError, default_fallback, parse_store_url, shared_store_settings)

KEY = 'K' * 32


@pytest.mark.parametrize('url, scheme, hosts, db, user, extra', [
    ('redis://cache.example', 'redis', [('cache.example', 6379)], 0, None, {}),
    ('redis://tokenops@cache.example:6380/2', 'redis', [('cache.example', 6380)], 2, 'tokenops', {}),
    ('REDIS://h/', 'redis', [('h', 6379)], 0, None, {}),
    ('rediss://tokenops@10.0.0.5:6390/0', 'rediss', [('10.0.0.5', 6390)], 0, 'tokenops', {}),
    ('redis://[::1]:7000/1', 'redis', [('::1', 7000)], 1, None, {}),
    ('redis://to%40ken@h', 'redis', [('h', 6379)], 0, 'to@ken', {}),
    ('unix:///run/redis/redis.sock', 'unix', [], 0, None, dict(path='/run/redis/redis.sock')),
    ('unix://tokenops@/run/redis.sock?db=3', 'unix', [], 3, 'tokenops', dict(path='/run/redis.sock')),
    ('redis+sentinel://s1:26379,s2,[::1]:26380/tokens', 'redis+sentinel',
     [('s1', 26379), ('s2', 26379), ('::1', 26380)], 0, None, dict(service_name='tokens')),
    ('redis+sentinel://tokenops@s1:26379/tokens/4', 'redis+sentinel', [('s1', 26379)], 4, 'tokenops',
     dict(service_name='tokens')),
])
def test_url_forms(url, scheme, hosts, db, user, extra):
    location = parse_store_url(url)
    assert (location.scheme, location.hosts, location.db, location.username) == (scheme, hosts, db, user)
    for name, value in extra.items():
        assert getattr(location, name) == value
    assert '@' not in location.display, 'messages name the URL without user information'
    assert location.tls == (scheme == 'rediss')


@pytest.mark.parametrize('url, says', [
    ('http://cache.example', 'scheme must be one of'),
    ('cache.example:6379', 'scheme must be one of'),
    ('redis://', 'host is missing'),
    ('redis://h:0', 'port'), ('redis://h:70000', 'port'), ('redis://h:port', 'port'),
    ('redis://h/db', 'database'), ('redis://h/1/2', 'the path is the database number only'),
    ('redis://h/99999999', 'database'),
    ('redis://h?ssl_cert_reqs=none', 'takes no ?parameters'),
    ('redis://h#frag', 'fragment'),
    ('redis://a,b/0', 'several hosts are for redis+sentinel'),
    ('redis://h /0', 'without spaces'), ('redis://h\n', 'without spaces'), (u'redis://hé', 'ASCII'),
    ('unix://host/path', 'not a host'), ('unix://', 'absolute path'), ('unix:///run/?db=1', 'absolute path'),
    ('unix:///run/r.sock?timeout=1', "unknown parameter 'timeout'"),
    ('redis+sentinel://s1:26379', 'service name'), ('redis+sentinel://s1/svc/1/2', 'service_name[/db]'),
    ('redis+sentinel://s1,/svc', 'host is missing'),
    ('redis://' + 'h' * 3000, 'longer than'),
    (['redis://h'], 'must be a string'), (6379, 'must be a string'),
])
def test_bad_urls_say_what_is_wrong(url, says):
    with pytest.raises(StoreSettingsError) as failure:
        parse_store_url(url, profile='p')
    message = str(failure.value)
    assert says in message and "profile 'p'" in message and 'cache_url' in message


@pytest.mark.parametrize('url', ['redis://tokenops:Sup3rSecret@h:6379/0', 'redis://:Sup3rSecret@h',
                                 'rediss://u:Sup3rSecret@h', 'unix://u:Sup3rSecret@/run/r.sock',
                                 'redis+sentinel://u:Sup3rSecret@s1/svc'])
def test_a_password_in_the_url_is_refused_and_never_repeated(url):
    with pytest.raises(StoreSettingsError) as failure:
        parse_store_url(url)
    assert 'Sup3rSecret' not in str(failure.value) and 'must not hold a password' in str(failure.value)
    assert 'cache_password' in failure.value.hint


def profile(**options):
    base = dict(token_url='https://idp.example/token', client_id='app', client_secret='s3cret')
    base.update(options)
    return build_profile('p', base)


def test_no_store_without_a_url_or_with_the_cache_off():
    assert shared_store_settings(profile(), dict(cache_key=KEY)) is None
    assert shared_store_settings(profile(cache=False, cache_url='redis://h'), dict(cache_key=KEY)) is None


def test_the_profiles_url_and_fallback_win_over_the_plugin_settings():
    settings = shared_store_settings(profile(cache_url='redis://mine', cache_fallback='fail'),
                                     dict(cache_url='redis://everyone', cache_fallback='local', cache_key=KEY,
                                          cache_password='pw'))
    assert settings.location.hosts == [('mine', 6379)] and settings.fallback == 'fail'
    assert (settings.password, settings.key) == ('pw', KEY)
    assert 'pw' not in repr(settings) and KEY not in repr(settings)


@pytest.mark.parametrize('grant, extra, fallback', [
    ('client_credentials', {}, 'local'),
    ('password', dict(username='u', password='p'), 'local'),
    ('refresh_token', dict(refresh_token='r'), 'fail'),
    ('authorization_code', dict(code='c', redirect_uri='https://app/cb'), 'fail'),
])
def test_the_default_fallback_depends_on_the_grant(grant, extra, fallback):
    assert default_fallback(grant) == fallback
    settings = shared_store_settings(profile(grant_type=grant, **extra), dict(cache_url='redis://h', cache_key=KEY))
    assert settings.fallback == fallback


@pytest.mark.parametrize('store, says', [
    (dict(), 'needs the shared store key cache_key'),
    (dict(cache_key='tiny-key-value'), 'shorter than 32'),
    (dict(cache_key=['a', 'list']), 'cache_key must be a string'),
    (dict(cache_key=KEY, cache_password='pass-word\nvalue'), 'cache_password must be one line'),
    (dict(cache_key=KEY, cache_fallback='sometimes'), "cache_fallback must be local or fail, got 'sometimes'"),
    (dict(cache_key=KEY, cache_ca_path='/nonexistent/ca.pem'), 'cache_ca_path /nonexistent/ca.pem is not a'),
])
def test_settings_a_store_needs(store, says):
    with pytest.raises(StoreSettingsError) as failure:
        shared_store_settings(profile(), dict(store, cache_url='redis://h'))
    assert says in str(failure.value)
    for secret in ('tiny-key-value', 'pass-word', KEY):
        assert secret not in str(failure.value), 'a secret setting was quoted'


def test_the_key_can_come_from_a_private_file(tmp_path):
    key_file = tmp_path / 'store.key'
    key_file.write_text(KEY + '\n')
    key_file.chmod(0o600)
    store = dict(cache_url='redis://h', cache_key_file=str(key_file))
    assert shared_store_settings(profile(), store).key == KEY
    assert shared_store_settings(profile(), dict(store, cache_key='L' * 32)).key == 'L' * 32, 'cache_key wins'
    link = tmp_path / 'mounted.key'
    link.symlink_to(key_file)
    assert shared_store_settings(profile(), dict(store, cache_key_file=str(link))).key == KEY


@pytest.mark.parametrize('content, mode, says', [
    (KEY, 0o644, 'can be read or changed by others (mode 0644'),
    (KEY, 0o620, 'can be read or changed by others'),
    ('short\n', 0o600, 'the key in cache_key_file is shorter than 32'),
    ('', 0o600, 'shorter than 32'),
    (b'\xff' * 40, 0o600, 'not UTF-8'),
    ('k' * 5000, 0o600, 'longer than a key'),
    (None, None, 'cannot read cache_key_file'),
    ('directory', None, 'not a regular file'),
])
def test_a_key_file_others_can_read_or_that_holds_no_key_is_refused(tmp_path, content, mode, says):
    key_file = tmp_path / 'store.key'
    if content == 'directory':
        key_file.mkdir()
    elif isinstance(content, bytes):
        key_file.write_bytes(content)
    elif content is not None:
        key_file.write_text(content)
    if mode is not None:
        key_file.chmod(mode)
    with pytest.raises(StoreSettingsError) as failure:
        shared_store_settings(profile(), dict(cache_url='redis://h', cache_key_file=str(key_file)))
    assert says in str(failure.value) and KEY not in str(failure.value)


def test_tls_files_need_a_tls_url(tmp_path):
    ca = tmp_path / 'ca.pem'
    ca.write_text('x')
    with pytest.raises(StoreSettingsError) as failure:
        shared_store_settings(profile(), dict(cache_url='redis://h', cache_key=KEY, cache_ca_path=str(ca)))
    assert 'rediss://' in str(failure.value)
    settings = shared_store_settings(profile(), dict(cache_url='rediss://h', cache_key=KEY, cache_ca_path=str(ca)))
    assert settings.ca_path == str(ca)


def test_profile_keys_are_validated_with_the_profile():
    with pytest.raises(Exception) as failure:
        profile(cache_fallback='sometimes')
    assert 'cache_fallback' in str(failure.value)


@pytest.mark.parametrize('record, expected', [
    (dict(access_token='a', expires_at_ts=1300.0), (300 + 60) * 1000),
    (dict(access_token='a', expires_at_ts=1300.0, refresh_token='r'), None),
    (dict(access_token='a', expires_at_ts=1300.0, refresh_token='r', refresh_expires_at_ts=8200.0), 7200 * 1000),
    # A refresh token said to expire before the access token: the entry still outlives the access token.
    (dict(access_token='a', expires_at_ts=1300.0, refresh_token='r', refresh_expires_at_ts=1100.0), 360 * 1000),
    (dict(access_token='a', expires_at_ts=500.0), 1000),  # long expired: gone at once (never 0 or negative)
])
def test_entry_ttls(record, expected):
    assert entry_ttl_ms(record, 1000.0) == expected
