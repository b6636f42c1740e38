# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""TokenClient, unchanged, over the shared store (SharedTokenCache on a real Redis) against a real authorization server
(oidc-provider): the interface the file cache has is enough for single flight across processes. Entries are named and
sealed with the shared key ring (shared_cache.key_ring: CacheKeys under cache_key), as the plugins do."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_redis_store import Worker, fresh_prefix, open_store  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.tokenops.oauth2.plugins.module_utils.client import TokenClient  # noqa: E402
from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import build_profile  # noqa: E402
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.shared_cache import (  # noqa: E402
    SharedTokenCache, key_ring)


def test_processes_starting_cold_send_one_token_request(redis_server, oidc_provider):
    client = oidc_provider.clients['cc_basic']
    prefix = fresh_prefix()
    workers = [Worker(redis_server, 'client', prefix, 'ignored', oidc_provider.url + '/token', client['client_id'],
                      CLIENT_SECRET=client['client_secret']) for _worker in range(6)]
    try:
        assert [w.event()['event'] for w in workers] == ['ready'] * 6
        before = oidc_provider.stats()['token_requests']
        for worker in workers:
            worker.send('go')
        results = [w.event() for w in workers]
    finally:
        for worker in workers:
            worker.close()
    assert oidc_provider.stats()['token_requests'] - before == 1
    assert len(set(r['digest'] for r in results)) == 1
    assert sorted(r['from_cache'] for r in results) == [False] + [True] * 5
    # Whoever waited was woken by the holder's store, never by a lease running out.
    assert sum(r['stats']['lease_expired'] for r in results) == 0


def test_entries_are_opaque_and_live_as_long_as_their_token(redis_server, oidc_provider):
    client = oidc_provider.clients['cc_basic']
    profile = build_profile('shared', dict(token_url=oidc_provider.url + '/token', client_id=client['client_id'],
                                           client_secret=client['client_secret'], scope='api:read',
                                           resource='urn:tokenops:api'))
    store = open_store(redis_server)
    cache = SharedTokenCache(store, key_ring('k' * 32), profile_name=profile.name)
    token = TokenClient(profile, cache=cache).get_token()
    again = TokenClient(profile, cache=cache).get_token()
    assert again.from_cache and again.access_token == token.access_token
    admin = redis_server.admin()
    keys = admin.keys(store.prefix + '*')
    assert len(keys) == 1 and keys[0].startswith((store.prefix + 't:').encode())
    stored = admin.hget(keys[0], 'data')
    for plain in (token.access_token, client['client_id'], client['client_secret'], oidc_provider.url):
        assert plain.encode() not in stored and plain.encode() not in keys[0]
    # No refresh token: the entry goes a little after the access token expires.
    assert 0 < admin.pttl(keys[0]) <= (token.expires_at_ts - time.time() + 61) * 1000
