# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared token store on Redis: sealed entries by opaque name, one renewal at a time across every controller,
and a fence that keeps a late writer from overwriting a newer token. Controller only (needs redis-py).

Entries are bytes to this layer (the caller seals them) under names the caller derives (keyed hashes: never a
secret, never a client id, URL or user). Per name, under ``prefix``:

- ``<prefix>t:<name>``  the entry, a hash ``{data, gen}``. ``gen`` is the fence: every write says which generation
  it replaces and the write script (below) refuses it when the entry has moved on since, in the same script that
  writes, so no other write can slip in between the check and the write.
- ``<prefix>l:<name>``  the renewal lock: ``SET NX PX`` with a random owner, extended while the token request runs,
  released only by its owner (a script compares the owner first). A holder that dies frees it at lease expiry.
- ``<prefix>n:<name>``  the channel a write and a release publish on. Waiters subscribe, then check the lock, then
  sleep in the kernel until a message arrives or the lease would have run out: no polling, and a store wakes them
  at once.
- ``<prefix>d:<name>``  a document (sealed discovery metadata), with a TTL.

Why a write is fenced by the generation it read, and not by still holding the lock: a holder whose lease ran out
(a stalled process, a partition) may come back with a refresh token the server has already rotated. If nobody has
stored anything since it read, its token is the newest there is, and dropping it would lose the only copy of the
rotated refresh token; if somebody has, its token is older and must not replace theirs. The generation says exactly
which case it is. Generations never repeat for a name (each is at least the server's clock in microseconds), so an
entry that expired and was written again cannot be mistaken for the one a stale holder read.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import os
import threading
import time
import traceback

from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import CacheError
from ansible_collections.tokenops.oauth2.plugins.module_utils.redaction import redact

REDIS_IMPORT_ERROR = None
try:
    import redis
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry
    from redis.sentinel import Sentinel
except ImportError:
    REDIS_IMPORT_ERROR = traceback.format_exc()

DEFAULT_PREFIX = 'tokenops-oauth2:'
ABSENT = '0'  # the generation of an entry that does not exist
LEASE_MS = 15000  # a dead holder blocks a renewal this long at most; a live one extends it every third of it
WAIT_LIMIT = 180.0  # seconds a waiter waits for one renewal (a token request's deadline is 60 s by default)
CONNECT_TIMEOUT = 5.0
# A restart or a Sentinel failover takes seconds: retry a dropped connection about 3.5 s in all before giving up.
RETRIES = 6
# An entry without a refresh token is useless once its access token has expired: gone this long after.
EXPIRED_ENTRY_GRACE = 60
# Behind Sentinels, a write holding a refresh token waits this long for a replica to have it (WAIT 1): a primary that
# dies before replicating would take the only copy of a rotated refresh token with it in the failover.
REPLICA_WAIT_MS = 2000

# The commands the store sends (inside its scripts too: a script runs with the caller's permissions). This is the
# ACL an operator gives the store's user; ``acl_rules`` writes it out.
STORE_COMMANDS = ('eval', 'hmget', 'get', 'set', 'pttl', 'subscribe', 'ping', 'wait',
                  # inside the scripts
                  'hget', 'hset', 'del', 'pexpire', 'persist', 'publish', 'time')

_WRITE = """
local current = redis.call('HGET', KEYS[1], 'gen') or '0'
if current ~= ARGV[1] then return {0, current} end
local now = redis.call('TIME')
local gen = math.max(tonumber(current) + 1, tonumber(now[1]) * 1000000 + tonumber(now[2]))
local text = string.format('%.0f', gen)
redis.call('HSET', KEYS[1], 'data', ARGV[2], 'gen', text)
if ARGV[3] == '' then redis.call('PERSIST', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
redis.call('PUBLISH', ARGV[4], 'stored')
return {1, text}
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], 'released')
  return 1
end
return 0
"""
_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_DELETE = """
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[1], 'deleted')
return 1
"""


def acl_rules(prefix=DEFAULT_PREFIX):
    """The least a store's ACL user needs: its keys and channels under ``prefix``, and STORE_COMMANDS."""
    return '~%s* resetchannels &%s* -@all %s' % (prefix, prefix, ' '.join('+' + c for c in STORE_COMMANDS))


def entry_ttl_ms(record, now):
    """How long the store keeps a token record (None: no expiry).

    Without a refresh token, a little after the access token expires: the store never holds dead tokens. With one,
    until the server said the refresh token expires (``refresh_expires_at_ts``) and never before the access token;
    when the server did not say, for ever: an entry lost early would make the next renewal send a retired refresh
    token, which a server with reuse detection answers by revoking the grant.
    """
    expires_at = float(record.get('expires_at_ts') or now)
    if record.get('refresh_token'):
        refresh_expires_at = record.get('refresh_expires_at_ts')
        if not refresh_expires_at:
            return None
        until = max(float(refresh_expires_at), expires_at + EXPIRED_ENTRY_GRACE)
    else:
        until = expires_at + EXPIRED_ENTRY_GRACE
    return max(1000, int((until - now) * 1000))


class SharedStoreError(CacheError):
    """The shared store could not be used. ``kind``: unreachable, auth, full, permission, missing_library, busy."""

    def __init__(self, message, kind, **kwargs):
        super(SharedStoreError, self).__init__(message, **kwargs)
        self.kind = kind


HINTS = dict(
    unreachable='check that Redis runs and this controller can reach it (host, port, firewall, TLS settings), or '
                'set cache_fallback: local to use the controller cache meanwhile',
    auth="check cache_password and that the ACL user is enabled (ACL SETUSER ... on)",
    full="Redis is out of memory (maxmemory with noeviction): free memory or raise maxmemory",
    permission='give the ACL user the rules the collection documents (ansible-doc tokenops.oauth2.token, cache_url)',
    busy='another controller has been renewing this token for too long: look for a hung run',
)


def _error_kind(exc):
    if isinstance(exc, (redis.AuthenticationError, redis.exceptions.AuthenticationWrongNumberOfArgsError)):
        return 'auth'
    if isinstance(exc, redis.exceptions.NoPermissionError):
        return 'permission'
    if isinstance(exc, getattr(redis.exceptions, 'OutOfMemoryError', ())):
        return 'full'
    text = str(exc)
    if isinstance(exc, redis.ResponseError):
        if text.startswith(('WRONGPASS', 'NOAUTH', 'invalid username-password')):
            return 'auth'
        if text.startswith('NOPERM'):
            return 'permission'
        if text.startswith('OOM') or "used memory > 'maxmemory'" in text:
            return 'full'
    if isinstance(exc, (redis.ConnectionError, redis.TimeoutError, redis.exceptions.ReadOnlyError,
                        redis.exceptions.BusyLoadingError)):
        return 'unreachable'
    if isinstance(exc, redis.exceptions.ResponseError) and text.startswith(('READONLY', 'LOADING', 'MASTERDOWN')):
        return 'unreachable'
    return 'unreachable' if isinstance(exc, redis.RedisError) else None


def _require_redis(profile):
    if REDIS_IMPORT_ERROR:
        raise SharedStoreError('the Python library redis (redis-py) is required on the controller for cache_url',
                               'missing_library', profile=profile,
                               hint='install it into the Python that runs ansible (pip install redis), or unset '
                                    'cache_url to use the controller cache')


def _no_client_setinfo():
    """The keyword that stops redis-py sending CLIENT SETINFO on connect (Redis 7.2+; a command the store's ACL user
    need not have, and refused it would fill the server's ACL LOG): driver_info in newer redis-py, lib_name before."""
    if REDIS_IMPORT_ERROR:
        return {}
    import inspect
    parameters = inspect.signature(redis.Redis.__init__).parameters
    if 'driver_info' in parameters:
        return dict(driver_info=None)
    if 'lib_name' in parameters:
        return dict(lib_name=None, lib_version=None)
    return {}


_NO_CLIENT_SETINFO = _no_client_setinfo()


def connect(settings, profile=None):
    """A redis-py client for SharedStoreSettings: plain, TLS, unix socket, or the primary behind Sentinels."""
    _require_redis(profile)
    location = settings.location
    # Retries ride out a restart or a failover (a Sentinel client asks the Sentinels again on each), bounded so
    # that a dead store fails fast.
    common = dict(username=location.username, password=settings.password, socket_timeout=CONNECT_TIMEOUT,
                  socket_connect_timeout=CONNECT_TIMEOUT, retry=Retry(ExponentialBackoff(cap=1.0, base=0.1), RETRIES),
                  retry_on_error=[redis.ConnectionError, redis.TimeoutError, redis.exceptions.ReadOnlyError],
                  **_NO_CLIENT_SETINFO)
    if location.scheme == 'unix':
        return redis.Redis(unix_socket_path=location.path, db=location.db, **common)
    if location.scheme == 'redis+sentinel':
        sentinel = Sentinel(location.hosts, sentinel_kwargs=dict(socket_timeout=CONNECT_TIMEOUT,
                                                                 socket_connect_timeout=CONNECT_TIMEOUT),
                            **common)
        return sentinel.master_for(location.service_name, db=location.db)
    host, port = location.hosts[0]
    if location.tls:
        common.update(ssl=True, ssl_cert_reqs='required', ssl_check_hostname=True, ssl_ca_certs=settings.ca_path,
                      ssl_certfile=settings.client_cert, ssl_keyfile=settings.client_key)
    return redis.Redis(host=host, port=port, db=location.db, **common)


class Entry(object):
    """What the store holds for a name: the caller's bytes and the generation a write must name to replace them."""

    def __init__(self, data, generation):
        self.data = data
        self.generation = generation


class Lease(object):
    """The renewal lock for one name, held by this process until ``release()``; a thread extends it meanwhile.
    ``lost`` turns true if the lease ran out and another may have taken it (the fence still guards writes)."""

    def __init__(self, store, name, owner):
        self.store = store
        self.name = name
        self.owner = owner
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._extend, name='tokenops-lease-extender')
        self._thread.daemon = True
        self._thread.start()

    def _extend(self):
        while not self._stop.wait(self.store.lease_ms / 3000.0):
            try:
                if not self.store._script(_EXTEND, [self.store.key('l', self.name)],
                                          [self.owner, self.store.lease_ms]):
                    self.lost = True
                    return
            except SharedStoreError:
                pass  # unreachable for a moment: the next beat tries again, and the lease is long enough for a few

    def release(self):
        """Give the lock back (only if still ours: the script checks). True when released; False when it was lost
        or the store could not be reached, in which case the lease runs out on its own."""
        self._stop.set()
        self._thread.join()
        if self.lost:
            return False
        try:
            return bool(self.store._script(_RELEASE, [self.store.key('l', self.name)],
                                           [self.owner, self.store.key('n', self.name)]))
        except SharedStoreError:
            return False


class RedisStore(object):
    """Entries, leases and waits on one Redis (see the module docstring).

    ``stats`` counts how waiters woke: ``notified`` (a store or a release published), ``lease_expired`` (the lock
    was gone or its lease ran out), ``reconnected`` (the connection dropped while waiting).
    """

    def __init__(self, client, display, prefix=DEFAULT_PREFIX, lease_ms=LEASE_MS, wait_limit=WAIT_LIMIT,
                 profile=None, secrets=(), replicated=False):
        self.client = client
        self.display = display
        self.prefix = prefix
        self.lease_ms = int(lease_ms)
        self.wait_limit = wait_limit
        self.profile = profile
        self._secrets = [s for s in secrets if s]
        self.stats = dict(notified=0, lease_expired=0, reconnected=0)
        self.replicated = replicated  # behind Sentinels: there are replicas a durable write waits for
        self.last_write_replicas = None  # replicas that acknowledged the last durable write (None: not asked)

    @classmethod
    def open(cls, settings, profile=None, **options):
        """Connect for SharedStoreSettings and check the login now, so that a wrong password or a dead store is
        reported (or fallen back from) before anything else happens."""
        store = cls(connect(settings, profile), settings.location.display, profile=profile,
                    secrets=(settings.password, settings.key),
                    replicated=settings.location.scheme == 'redis+sentinel', **options)
        with store._errors('connect to'):
            store.client.ping()
        return store

    def key(self, kind, name):
        return '%s%s:%s' % (self.prefix, kind, name)

    # -- errors -----------------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _errors(self, doing):
        """Turn a redis-py error into a SharedStoreError naming the store by its display URL, no password."""
        try:
            yield
        except SharedStoreError:
            raise
        except Exception as exc:
            kind = _error_kind(exc) if not REDIS_IMPORT_ERROR else None
            if kind is None:
                raise
            reason = redact(str(exc) or type(exc).__name__, self._secrets).rstrip('.')
            user = self.client.connection_pool.connection_kwargs.get('username') if kind == 'auth' else None
            raise SharedStoreError('cannot %s the shared token store %s%s: %s' % (
                doing, self.display, " as ACL user '%s'" % user if user else '', reason[:300]), kind,
                profile=self.profile, hint=HINTS.get(kind))

    def _script(self, source, keys, args):
        with self._errors('write to' if 'HSET' in source or 'DEL' in source else 'use'):
            return self.client.eval(source, len(keys), *(list(keys) + list(args)))

    # -- entries ----------------------------------------------------------------------------------------------------
    def read(self, name):
        """The Entry for ``name``, or None."""
        with self._errors('read from'):
            data, generation = self.client.hmget(self.key('t', name), 'data', 'gen')
        if data is None:
            return None
        return Entry(data, (generation or b'0').decode('ascii'))

    def write(self, name, data, replaces, ttl_ms=None, durable=False):
        """Store ``data`` if the entry is still at generation ``replaces`` (ABSENT: there was none). Returns the new
        generation, or None when the fence refused the write (someone stored a newer entry since). Wakes waiters.
        ``durable`` (the entry holds a refresh token): behind Sentinels, wait until a replica has it too, and say in
        ``last_write_replicas`` how many did."""
        stored, generation = self._script(_WRITE, [self.key('t', name)], [
            replaces or ABSENT, data, '' if ttl_ms is None else int(ttl_ms), self.key('n', name)])
        self.last_write_replicas = None
        if stored and durable and self.replicated:
            with self._errors('write to'):
                self.last_write_replicas = self.client.wait(1, REPLICA_WAIT_MS)
        return generation.decode('ascii') if stored else None

    def delete(self, name):
        self._script(_DELETE, [self.key('t', name)], [self.key('n', name)])

    def read_document(self, name):
        with self._errors('read from'):
            return self.client.get(self.key('d', name))

    def write_document(self, name, data, ttl_ms):
        with self._errors('write to'):
            self.client.set(self.key('d', name), data, px=int(ttl_ms))

    # -- single flight ----------------------------------------------------------------------------------------------
    def try_lease(self, name):
        """The Lease for ``name`` if nobody holds it, else None."""
        owner = os.urandom(16).hex()
        with self._errors('lock in'):
            taken = self.client.set(self.key('l', name), owner, nx=True, px=self.lease_ms)
        return Lease(self, name, owner) if taken else None

    def lease(self, name):
        """The Lease for ``name``, waiting for the holder (if any) to release it or to die."""
        deadline = time.monotonic() + self.wait_limit
        while True:
            held = self.try_lease(name)
            if held is not None:
                return held
            self.wait(name, deadline - time.monotonic())

    @contextlib.contextmanager
    def leased(self, name, blocking=True):
        """``with store.leased(name) as lease``: the Lease (None when not ``blocking`` and it is held elsewhere)."""
        held = self.lease(name) if blocking else self.try_lease(name)
        try:
            yield held
        finally:
            if held is not None:
                held.release()

    def wait(self, name, timeout=None):
        """Return when the renewal of ``name`` that holds the lock now has stored, released or died; at once when
        nobody holds it. Returns how it ended: 'free', 'notified' or 'lease_expired'."""
        deadline = time.monotonic() + (self.wait_limit if timeout is None else timeout)
        lock = self.key('l', name)
        while True:
            pubsub = self.client.pubsub()
            try:
                with self._errors('wait on'):
                    # Subscribed (confirmed) before looking at the lock, so a store between the two is not missed.
                    pubsub.subscribe(self.key('n', name))
                    while (pubsub.get_message(timeout=CONNECT_TIMEOUT) or {}).get('type') != 'subscribe':
                        if time.monotonic() > deadline:
                            raise redis.TimeoutError('no answer to SUBSCRIBE')
                    woke = self._sleep(pubsub, lock, deadline)
                if woke:
                    self.stats[woke] += 1
                    return woke
                return 'free'
            except SharedStoreError as exc:
                # A restart or a failover drops the subscription: subscribe again (the client retries the connection
                # and, behind Sentinels, finds the new primary), unless time is up or the store is really gone.
                if exc.kind != 'unreachable' or time.monotonic() > deadline:
                    raise
                self.stats['reconnected'] += 1
                time.sleep(0.1)
            finally:
                pubsub.close()

    def _sleep(self, pubsub, lock, deadline):
        """Sleep (in select) until a message or the lease's end; None if the lock was free to begin with."""
        first = True
        while True:
            remaining_ms = self.client.pttl(lock)
            if remaining_ms < 0:  # -2: no lock (released, or its lease ran out); -1 cannot happen (we always set PX)
                return None if first else 'lease_expired'
            first = False
            left = deadline - time.monotonic()
            if left <= 0:
                raise SharedStoreError('waited %d s for another controller renewing this token (store %s)' % (
                    self.wait_limit, self.display), 'busy', profile=self.profile, hint=HINTS['busy'])
            message = pubsub.get_message(timeout=min(remaining_ms / 1000.0 + 0.05, left))
            if message is not None and message.get('type') == 'message':
                return 'notified'
