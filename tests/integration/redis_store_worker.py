# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A separate process using the shared store, as another controller would: test_redis_store.py starts several.

    python redis_store_worker.py MODE URL PREFIX NAME [ARGS...]     (password in STORE_PASSWORD)

Modes (each prints one JSON line per event, flushed):
- ``contend ROUNDS MARKER_DIR``: take the lease ROUNDS times; inside, create MARKER_DIR/inside exclusively (a second
  holder at the same time finds it there: a violation), sleep a little, remove it. Prints the counts.
- ``hold LEASE_MS``: take the lease, print ``held``, then sleep until killed.
- ``stale LEASE_MS``: take the lease, read the entry, print ``read`` with its generation, then on a line ``write`` from
  stdin write over what it read and print whether the fence let it.
- ``wait``: wait for the renewal that holds the lock now; print how it woke and the store's wake-up counts.
- ``client TOKEN_URL CLIENT_ID``: a TokenClient through the SharedTokenCache, sealed with the shared key ring as the
  plugins seal it (client secret in CLIENT_SECRET); wait for
  a line ``go`` on stdin (so that all start at once), get a token, print its digest and whether it came from the store.
"""

import hashlib
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
import tests.conftest  # noqa: E402,F401  pylint: disable=unused-import  # makes the collection importable

from ansible_collections.tokenops.oauth2.plugins.plugin_utils.redis_store import RedisStore  # noqa: E402
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.store_settings import (  # noqa: E402
    SharedStoreSettings, parse_store_url)


def say(**event):
    sys.stdout.write(json.dumps(event) + '\n')
    sys.stdout.flush()


def open_store(url, prefix, lease_ms=None):
    settings = SharedStoreSettings(parse_store_url(url), password=os.environ['STORE_PASSWORD'], key='k' * 32)
    options = dict(prefix=prefix)
    if lease_ms:
        options['lease_ms'] = int(lease_ms)
    return RedisStore.open(settings, **options)


def contend(store, name, rounds, marker_dir):
    marker = os.path.join(marker_dir, 'inside')
    held = violations = 0
    for _round in range(int(rounds)):
        with store.leased(name) as lease:
            assert lease is not None
            held += 1
            try:
                fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:
                violations += 1
                continue
            os.close(fd)
            time.sleep(0.01)
            os.unlink(marker)
    say(event='done', held=held, violations=violations, stats=store.stats)


def main():
    mode, url, prefix, name = sys.argv[1:5]
    args = sys.argv[5:]
    if mode == 'contend':
        contend(open_store(url, prefix), name, *args)
    elif mode == 'hold':
        store = open_store(url, prefix, args[0])
        lease = store.try_lease(name)
        say(event='held' if lease else 'busy')
        while True:
            time.sleep(60)
    elif mode == 'stale':
        store = open_store(url, prefix, args[0])
        lease = store.try_lease(name)
        entry = store.read(name)
        say(event='read', held=lease is not None, generation=entry.generation if entry else '0')
        sys.stdin.readline()
        generation = store.write(name, b'stale holder', entry.generation if entry else '0', None)
        say(event='write', stored=generation is not None, lost=lease.lost)
    elif mode == 'client':
        from ansible_collections.tokenops.oauth2.plugins.module_utils.client import TokenClient
        from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import build_profile
        from ansible_collections.tokenops.oauth2.plugins.plugin_utils.shared_cache import SharedTokenCache, key_ring
        profile = build_profile('shared', dict(token_url=args[0], client_id=args[1],
                                               client_secret=os.environ['CLIENT_SECRET'], scope='api:read',
                                               resource='urn:tokenops:api'))
        cache = SharedTokenCache(open_store(url, prefix), key_ring('k' * 32), profile_name=profile.name)
        client = TokenClient(profile, cache=cache)
        say(event='ready')
        sys.stdin.readline()
        token = client.get_token()
        say(event='token', digest=hashlib.sha256(token.access_token.encode()).hexdigest(),
            from_cache=token.from_cache, stats=cache.backend.stats)
    elif mode == 'wait':
        store = open_store(url, prefix)
        woke = store.wait(name)
        say(event='woke', how=woke, stats=store.stats)
    else:
        raise SystemExit('unknown mode %s' % mode)


if __name__ == '__main__':
    main()
