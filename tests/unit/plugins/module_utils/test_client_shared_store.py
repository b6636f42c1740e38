# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What TokenClient does with a shared store's answers that the file cache never gives: a write refused by the fence,
and the refresh token's expiry the store's TTL is taken from."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib

from ansible_collections.tokenops.oauth2.plugins.module_utils.cache import CacheKeys
from ansible_collections.tokenops.oauth2.plugins.module_utils.client import TokenClient

from .fakes import FakeTransport, json_response
from .test_client import Clock, profile, token_body


class FencedCache(object):
    """A shared store in miniature: another controller stores ``newer`` while we renew, so our write is refused."""

    def __init__(self, newer):
        self.records = {}
        self.newer = newer
        self.writes = []
        self.keys = CacheKeys(b'k' * 32)  # names entries, as every cache does

    def load(self, key, secret):
        return self.records.get(key)

    def store(self, key, secret, record):
        self.writes.append(record)
        self.records[key] = self.newer
        return False

    @contextlib.contextmanager
    def lock(self, key, shared=False, blocking=True):
        yield True


def test_a_write_refused_by_the_fence_hands_out_the_newer_stored_token():
    clock = Clock()
    newer = dict(access_token='theirs', token_type='Bearer', refresh_token='their-refresh', scope=None,
                 obtained_at=clock.now, expires_at_ts=clock.now + 100)
    cache = FencedCache(newer)
    token = TokenClient(profile(), cache=cache, transport=FakeTransport(token_body(1)), clock=clock).get_token()
    assert [w['access_token'] for w in cache.writes] == ['access-1']
    assert token.access_token == 'theirs' and token.refresh_token == 'their-refresh'


def test_the_refresh_token_expiry_is_kept_when_the_server_says_it():
    clock = Clock()
    answer = json_response({'access_token': 'a', 'expires_in': 300, 'refresh_token': 'r', 'refresh_expires_in': 1800})
    token = TokenClient(profile(), transport=FakeTransport(answer), clock=clock).get_token()
    assert token.refresh_expires_at_ts == clock.now + 1800 and token.to_record()['refresh_expires_at_ts'] == clock.now + 1800
    # Keycloak's offline tokens say 0: they do not expire. Nonsense is ignored, never an error.
    for said in (0, -5, 'soon', True, None, 10 ** 12):
        answer = json_response({'access_token': 'a', 'expires_in': 300, 'refresh_token': 'r', 'refresh_expires_in': said})
        assert TokenClient(profile(), transport=FakeTransport(answer), clock=clock).get_token().refresh_expires_at_ts is None
