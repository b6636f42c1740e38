# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared token store behind the interface TokenClient already uses for the file cache (TokenCache), so the
client takes either without knowing which:

    load(key, secret) -> record | None          store(key, secret, record) -> bool (False: refused by the fence)
    lock(key, shared=False, blocking=True)      context manager yielding True (False: held elsewhere, non-blocking)
    load_document(key, max_age, now)            store_document(key, document, now)            remove(key)

``key`` is the entry's name as the caller derives it (a keyed hash, never an identity); what seals a record is a
``sealer`` given by the caller (``seal(key, secret, payload) -> bytes``, ``open(key, secret, data) -> payload or
None``), keyed with the shared store key, so Redis only ever sees ciphertext. The lock maps onto the store's
single flight: the exclusive lock is a lease, the shared lock (TokenClient's "wait for whoever renews") a wait
for the holder's store or release. The fence is the generation this process last read for a key: ``store``
replaces exactly that, so a renewal whose lease ran out cannot overwrite what another controller stored meanwhile.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import time

from ansible_collections.tokenops.oauth2.plugins.plugin_utils.redis_store import ABSENT, REPLICA_WAIT_MS, entry_ttl_ms

DOCUMENT_TTL = 24 * 3600  # what TokenClient keeps discovery documents for (METADATA_MAX_AGE)
REFRESH_TOKEN_PATIENCE = 30  # seconds a write holding a refresh token is retried while the store is unreachable


class SharedTokenCache(object):
    """TokenCache's interface over a RedisStore; see the module docstring."""

    def __init__(self, store, sealer, warn=None, profile_name=None, clock=time.time):
        self.backend = store
        self.sealer = self.keys = sealer  # CacheKeys: TokenClient names entries with it too
        self.profile_name = profile_name
        self._warn = warn or (lambda msg: None)
        self._clock = clock
        self._generations = {}  # key -> the generation last read: what a store() by this process replaces

    def load(self, key, secret):
        entry = self.backend.read(key)
        self._generations[key] = entry.generation if entry is not None else ABSENT
        if entry is None:
            return None
        record = self.sealer.open(key, secret, entry.data)
        if not isinstance(record, dict) or not record.get('access_token'):
            return None  # sealed with another key (the secret or the shared key changed), or damaged: renewed
        return record

    def store(self, key, secret, record):
        """Store ``record`` over what this process last read for ``key``. False when another controller stored a
        newer entry since: theirs stays, and the caller should take it (``load``) rather than hand out its own.

        A record holding a refresh token may hold the only copy of one the server has just rotated: while the store
        is unreachable (a restart, a failover), its write is tried again for up to REFRESH_TOKEN_PATIENCE seconds
        before the error goes to the policy."""
        from ansible_collections.tokenops.oauth2.plugins.plugin_utils.redis_store import SharedStoreError
        sealed = self.sealer.seal(key, secret, record)
        patient_until = time.monotonic() + (REFRESH_TOKEN_PATIENCE if record.get('refresh_token') else 0)
        while True:
            try:
                generation = self.backend.write(key, sealed, self._generations.get(key, ABSENT),
                                                entry_ttl_ms(record, self._clock()), durable=bool(record.get('refresh_token')))
                break
            except SharedStoreError as exc:
                if exc.kind != 'unreachable' or time.monotonic() > patient_until:
                    raise
                time.sleep(0.5)
        if self.backend.last_write_replicas == 0:
            self._warn("profile '%s': no replica of the shared token store %s acknowledged the new token within %d ms; "
                       "if its primary fails before replicating it, the rotated refresh token is lost with it"
                       % (self.profile_name, self.backend.display, REPLICA_WAIT_MS))
        if generation is None:
            self._warn("profile '%s': another controller stored a newer token while this one renewed (its lock had "
                       "run out); keeping the newer one" % self.profile_name)
            return False
        self._generations[key] = generation
        return True

    @contextlib.contextmanager
    def lock(self, key, shared=False, blocking=True):
        if shared:
            self.backend.wait(key)
            yield True
            return
        with self.backend.leased(key, blocking=blocking) as lease:
            yield lease is not None

    def load_document(self, key, max_age, now):
        data = self.backend.read_document(key)
        stored = self.sealer.open(key, None, data) if data is not None else None
        if isinstance(stored, dict) and isinstance(stored.get('document'), dict) and \
                isinstance(stored.get('stored_at'), (int, float)) and now - stored['stored_at'] <= max_age:
            return stored['document']
        return None

    def store_document(self, key, document, now):
        sealed = self.sealer.seal(key, None, dict(stored_at=now, document=document))
        self.backend.write_document(key, sealed, DOCUMENT_TTL * 1000)

    def remove(self, key):
        self.backend.delete(key)
        self._generations.pop(key, None)


# One key ring per shared key and process: TokenClient memoizes entry names by the key ring's identity.
_KEY_RINGS = {}
_STORES = {}  # (URL, user, password, TLS files) -> the RedisStore this process opened: one connection pool each
_FELL_BACK = set()  # stores this process found down: one attempt and one warning per process, not per lookup


def key_ring(shared_key):
    """The CacheKeys of the shared store: entry names, chain hashes and sealing keys derived from ``cache_key``, so
    that every controller configured with it derives the same ones and nobody without it can."""
    from ansible_collections.tokenops.oauth2.plugins.module_utils.cache import CacheKeys
    if shared_key not in _KEY_RINGS:
        _KEY_RINGS[shared_key] = CacheKeys(shared_key.encode('utf-8'))
    return _KEY_RINGS[shared_key]


class StoreOrLocal(object):
    """TokenCache's interface over the shared store while it works. Once the store fails (unreachable, refusing the
    login, full; at the first connection or in the middle of a run), ``cache_fallback: local`` moves this process
    to the controller's file cache (one warning), while ``fail`` lets the error through, naming the store.

    Names and refresh chains come from the shared key ring in both places (``keys``), so an entry kept locally
    during an outage is the same entry at the next fallback; the file cache seals it with its own key."""

    def __init__(self, settings, profile_name, warn, local_cache, shared=None):
        self.keys = key_ring(settings.key)
        self.settings = settings
        self.profile_name = profile_name
        self._warn = warn
        self._local_cache = local_cache  # () -> TokenCache: opened only if the store fails
        self._local = None
        self.shared = shared  # None once fallen back

    def _fall_back(self, exc):
        """The file cache, when the policy allows it after ``exc`` (a SharedStoreError); else ``exc`` again."""
        if self.settings.fallback != 'local' or exc.kind == 'missing_library':
            raise exc
        display = self.settings.location.display
        if display not in _FELL_BACK:
            _FELL_BACK.add(display)
            self._warn("profile '%s': %s; using the controller cache instead (cache_fallback: local)"
                       % (self.profile_name, exc.message))
        self.shared = None
        return self.local

    @property
    def local(self):
        if self._local is None:
            self._local = self._local_cache()
        return self._local

    def _call(self, method, *args):
        from ansible_collections.tokenops.oauth2.plugins.plugin_utils.redis_store import SharedStoreError
        if self.shared is not None:
            try:
                return getattr(self.shared, method)(*args)
            except SharedStoreError as exc:
                return getattr(self._fall_back(exc), method)(*args)
        return getattr(self.local, method)(*args)

    def load(self, key, secret):
        return self._call('load', key, secret)

    def store(self, key, secret, record):
        return self._call('store', key, secret, record)

    def load_document(self, key, max_age, now):
        return self._call('load_document', key, max_age, now)

    def store_document(self, key, document, now):
        return self._call('store_document', key, document, now)

    def remove(self, key):
        return self._call('remove', key)

    @contextlib.contextmanager
    def lock(self, key, shared=False, blocking=True):
        from ansible_collections.tokenops.oauth2.plugins.plugin_utils.redis_store import SharedStoreError
        with contextlib.ExitStack() as stack:
            cache = self.shared if self.shared is not None else self.local
            try:
                ours = stack.enter_context(cache.lock(key, shared=shared, blocking=blocking))
            except SharedStoreError as exc:
                ours = stack.enter_context(self._fall_back(exc).lock(key, shared=shared, blocking=blocking))
            yield ours


def _store_for(settings, profile_name):
    """This process's RedisStore for ``settings``, connected (and the login checked) on first use."""
    from ansible_collections.tokenops.oauth2.plugins.plugin_utils.redis_store import RedisStore
    memo_key = (settings.location.display, settings.location.username, settings.password, settings.ca_path,
                settings.client_cert, settings.client_key)
    store = _STORES.get(memo_key)
    if store is None:
        store = _STORES[memo_key] = RedisStore.open(settings, profile=profile_name)
    store.profile = profile_name  # errors name the profile at hand
    return store


def open_shared_cache(profile, settings, warn, local_cache):
    """The cache for a profile with SharedStoreSettings: a StoreOrLocal over this process's connection to the store,
    or, when the store cannot be used and the profile's cache_fallback is local, over the controller's file cache
    (``local_cache()``) after one warning. The store's error otherwise."""
    from ansible_collections.tokenops.oauth2.plugins.plugin_utils.redis_store import SharedStoreError
    cache = StoreOrLocal(settings, profile.name, warn, local_cache)
    if settings.fallback == 'local' and settings.location.display in _FELL_BACK:
        return cache  # this process found it down already: a template calling the lookup 1,000 times waits once
    try:
        store = _store_for(settings, profile.name)
    except SharedStoreError as exc:
        cache._fall_back(exc)
        return cache
    cache.shared = SharedTokenCache(store, cache.keys, warn=warn, profile_name=profile.name)
    return cache
