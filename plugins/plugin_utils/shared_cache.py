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

from ansible_collections.tokenops.oauth2.plugins.plugin_utils.redis_store import ABSENT, entry_ttl_ms

DOCUMENT_TTL = 24 * 3600  # what TokenClient keeps discovery documents for (METADATA_MAX_AGE)


class SharedTokenCache(object):
    """TokenCache's interface over a RedisStore; see the module docstring."""

    def __init__(self, store, sealer, warn=None, profile_name=None, clock=time.time):
        self.backend = store
        self.sealer = sealer
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
        newer entry since: theirs stays, and the caller should take it (``load``) rather than hand out its own."""
        sealed = self.sealer.seal(key, secret, record)
        generation = self.backend.write(key, sealed, self._generations.get(key, ABSENT),
                                        entry_ttl_ms(record, self._clock()))
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


# What seals entries for the shared store: set by the integration with the cache's key derivation, which derives
# names and keys from a master key (here the shared cache_key instead of the controller's local key). Until then a
# configured cache_url is refused rather than silently replaced by the file cache.
SEALER_FACTORY = None
_FELL_BACK = set()  # stores this process found down: one attempt and one warning per process, not per lookup


def open_shared_cache(profile, settings, warn):
    """A SharedTokenCache for SharedStoreSettings, or None when the store cannot be used and the profile's
    cache_fallback is local (after one warning): the caller then uses the controller's file cache."""
    from ansible_collections.tokenops.oauth2.plugins.plugin_utils.redis_store import RedisStore, SharedStoreError
    if settings.fallback == 'local' and settings.location.display in _FELL_BACK:
        return None  # this process found it down already: a template calling the lookup 1,000 times waits once
    try:
        store = RedisStore.open(settings, profile=profile.name)
    except SharedStoreError as exc:
        if settings.fallback != 'local' or exc.kind == 'missing_library':
            raise
        if settings.location.display not in _FELL_BACK:
            _FELL_BACK.add(settings.location.display)
            warn("profile '%s': %s; using the controller cache instead (cache_fallback: local)"
                 % (profile.name, exc.message))
        return None
    if SEALER_FACTORY is None:
        raise SharedStoreError('cache_url %s is set, but this version of the collection cannot seal entries for a '
                               'shared store yet' % settings.location.display, 'unsupported', profile=profile.name,
                               hint='unset cache_url (TOKENOPS_OAUTH2_CACHE_URL, [tokenops_oauth2] cache_url, or the '
                                    "profile's cache_url) to use the controller cache")
    return SharedTokenCache(store, SEALER_FACTORY(settings.key), warn=warn, profile_name=profile.name)
