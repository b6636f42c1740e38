# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared store's concurrency core against real Redis servers (tests/servers/redis_launch.py), every one logged
into as the ACL user with exactly the rules the collection documents (``acl_rules()``): single flight across
processes, a SIGKILLed holder, the fence against a stale holder, waiters woken by the store's notification, TTLs,
Sentinel failover, TLS and unix sockets, and the errors for a refused login, an unreachable or a full store."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
import redis

from ansible_collections.tokenops.oauth2.plugins.plugin_utils.redis_store import (
    DEFAULT_PREFIX, RedisStore, SharedStoreError, entry_ttl_ms)
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.store_settings import (
    SharedStoreSettings, parse_store_url)

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'redis_store_worker.py')


def fresh_prefix():
    """A prefix of the test's own, under the one the ACL allows, so tests never see each other's keys."""
    return '%stest-%s:' % (DEFAULT_PREFIX, uuid.uuid4().hex[:12])


def settings_for(server, password=None, **options):
    return SharedStoreSettings(parse_store_url(server.url), password=server.password if password is None else password,
                               key='k' * 32, **options)


def open_store(server, prefix=None, **options):
    return RedisStore.open(settings_for(server), prefix=prefix or fresh_prefix(), **options)


class Worker(object):
    """A redis_store_worker.py process: another controller using the store."""

    def __init__(self, server, mode, prefix, name, *args, **env):
        env = dict(os.environ, STORE_PASSWORD=server.password, **env)  # secrets never on a command line
        self.process = subprocess.Popen([sys.executable, WORKER, mode, server.url, prefix, name] + [str(a) for a in args],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        universal_newlines=True, env=env)

    def event(self, timeout=60):
        line = self.process.stdout.readline()
        if not line:
            raise AssertionError('the worker ended: %s' % self.process.stderr.read())
        return json.loads(line)

    def send(self, line):
        self.process.stdin.write(line + '\n')
        self.process.stdin.flush()

    def kill(self, sig=signal.SIGKILL):
        self.process.send_signal(sig)

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


def wait_until(condition, what, limit=60):
    """Poll a condition the test itself set up (not the code under test): bounded, never a timing assertion."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, 'gave up waiting for %s' % what
        time.sleep(0.05)


# ---- single flight ----------------------------------------------------------------------------------------------------
def test_many_processes_contending_get_the_lease_one_at_a_time(redis_server, tmp_path):
    prefix, rounds = fresh_prefix(), 5
    workers = [Worker(redis_server, 'contend', prefix, 'token-a', rounds, tmp_path) for _worker in range(8)]
    try:
        results = [w.event() for w in workers]
    finally:
        for worker in workers:
            worker.close()
    assert [r['held'] for r in results] == [rounds] * 8
    assert sum(r['violations'] for r in results) == 0, 'two processes held the lease at once: %s' % results


def test_a_sigkilled_holder_frees_the_lease_when_it_runs_out(redis_server):
    prefix = fresh_prefix()
    holder = Worker(redis_server, 'hold', prefix, 'token-b', 1500)
    try:
        assert holder.event()['event'] == 'held'
        store = open_store(redis_server, prefix)
        assert store.try_lease('token-b') is None, 'the lease was free while its holder lived'
        holder.kill()
        holder.close()
        # Nobody releases it: the waiter wakes when the lease runs out, and then the lease is free.
        assert store.wait('token-b') == 'lease_expired'
        lease = store.try_lease('token-b')
        assert lease is not None
        lease.release()
    finally:
        holder.close()


def test_a_live_holder_keeps_its_lease_beyond_the_lease_time(redis_server):
    store = open_store(redis_server, lease_ms=600)
    with store.leased('token-c') as lease:
        other = RedisStore.open(settings_for(redis_server), prefix=store.prefix)
        # Three lease times pass (counted by the lease's own extensions, not by the clock): still held, still ours.
        owner_key = store.key('l', 'token-c')
        admin = redis_server.admin()
        seen = set()
        wait_until(lambda: seen.add(admin.pttl(owner_key)) or len(seen) > 6, 'the lease to be extended a few times')
        assert other.try_lease('token-c') is None
        assert admin.get(owner_key).decode() == lease.owner and not lease.lost
    assert admin.exists(owner_key) == 0, 'the lease was not released'


def test_only_the_owner_releases_the_lease(redis_server):
    store = open_store(redis_server, lease_ms=400)
    lease = store.try_lease('token-d')
    lease._stop.set()  # the extender of a stalled holder does not run
    wait_until(lambda: store.try_lease('token-d') is not None, 'the lease to run out and be taken by another')
    newer_owner = redis_server.admin().get(store.key('l', 'token-d'))
    assert lease.release() is False
    assert redis_server.admin().get(store.key('l', 'token-d')) == newer_owner, 'a stale holder released the lock'


# ---- the fence ----------------------------------------------------------------------------------------------------------
def test_a_stale_holders_late_write_is_refused(redis_server):
    prefix = fresh_prefix()
    store = open_store(redis_server, prefix)
    first = store.write('token-e', b'first', '0', None)
    stale = Worker(redis_server, 'stale', prefix, 'token-e', 500)
    try:
        read = stale.event()
        assert read == dict(event='read', held=True, generation=first)
        stale.kill(signal.SIGSTOP)  # a holder stalls mid-renewal (GC pause, swapped out, partitioned)
        lock = store.key('l', 'token-e')
        wait_until(lambda: redis_server.admin().pttl(lock) < 0, 'the stalled holder\'s lease to run out')
        with store.leased('token-e') as lease:
            assert lease is not None
            newer = store.write('token-e', b'newer', store.read('token-e').generation, None)
            assert newer is not None
        stale.kill(signal.SIGCONT)
        stale.send('write')
        assert stale.event()['stored'] is False, 'the stale holder overwrote a newer token'
        entry = store.read('token-e')
        assert (entry.data, entry.generation) == (b'newer', newer)
    finally:
        stale.close()


def test_a_holder_whose_lease_ran_out_still_stores_when_nobody_stored_since(redis_server):
    """Its token is then the newest there is: refusing it would lose the only copy of a rotated refresh token."""
    store = open_store(redis_server, lease_ms=300)
    lease = store.try_lease('token-f')
    lease._stop.set()
    read = store.read('token-f')
    wait_until(lambda: redis_server.admin().pttl(store.key('l', 'token-f')) < 0, 'the lease to run out')
    assert read is None and store.write('token-f', b'only copy', '0', None) is not None
    assert store.read('token-f').data == b'only copy'


def test_generations_never_repeat_after_an_entry_is_gone(redis_server):
    store = open_store(redis_server)
    one = store.write('token-g', b'one', '0', None)
    store.delete('token-g')
    two = store.write('token-g', b'two', '0', None)
    assert one != two and int(two) > int(one)
    assert store.write('token-g', b'old', one, None) is None


# ---- waiters ------------------------------------------------------------------------------------------------------------
def test_waiters_wake_on_the_holders_store_not_by_a_timeout(redis_server):
    prefix = fresh_prefix()
    store = open_store(redis_server, prefix)
    channel = store.key('n', 'token-h')
    lease = store.try_lease('token-h')  # held, and extended, until the end: only a store can wake the waiters
    waiters = []
    try:
        waiters = [Worker(redis_server, 'wait', prefix, 'token-h') for _waiter in range(5)]
        wait_until(lambda: dict(redis_server.admin().pubsub_numsub(channel)).get(channel.encode()) == 5,
                   'the five waiters to subscribe')
        store.write('token-h', b'renewed', '0', None)
        results = [w.event() for w in waiters]
    finally:
        for waiter in waiters:
            waiter.close()
        lease.release()
    assert [r['how'] for r in results] == ['notified'] * 5
    assert [r['stats'] for r in results] == [dict(notified=1, lease_expired=0, reconnected=0)] * 5


def test_a_release_without_a_store_wakes_waiters_too(redis_server):
    """A renewal that failed releases the lock: the waiters wake and try themselves."""
    prefix = fresh_prefix()
    store = open_store(redis_server, prefix)
    lease = store.try_lease('token-i')
    waiter = Worker(redis_server, 'wait', prefix, 'token-i')
    try:
        # Subscribed is not enough: a release before the waiter looks at the lock finds it free ('free', also
        # right). The waiter's last command being PTTL means it saw the lock held and now sleeps on the channel.
        wait_until(lambda: any(c.get('cmd') == 'pttl' for c in redis_server.admin().client_list()),
                   'the waiter to find the lock held and sleep')
        assert lease.release() is True
        assert waiter.event()['how'] == 'notified'
    finally:
        waiter.close()


def test_waiting_on_a_free_lock_returns_at_once(redis_server):
    store = open_store(redis_server)
    assert store.wait('token-j') == 'free'
    assert store.stats == dict(notified=0, lease_expired=0, reconnected=0)


# ---- TTLs -----------------------------------------------------------------------------------------------------------------
def _stored_ttl(server, store, name, record):
    store.write(name, b'sealed', '0', entry_ttl_ms(record, time.time()))
    return server.admin().pttl(store.key('t', name))


def test_an_entry_without_refresh_token_expires_a_little_after_its_access_token(redis_server):
    store = open_store(redis_server)
    now = time.time()
    record = dict(access_token='a', expires_at_ts=now + 300, refresh_token=None)
    ttl = _stored_ttl(redis_server, store, 'token-k', record)
    assert 300 * 1000 < ttl <= entry_ttl_ms(record, now)


def test_an_entry_with_a_refresh_token_outlives_the_access_token(redis_server):
    store = open_store(redis_server)
    now = time.time()
    forever = dict(access_token='a', expires_at_ts=now + 300, refresh_token='r')
    assert _stored_ttl(redis_server, store, 'token-l', forever) == -1, 'a refresh token entry must not expire'
    until = dict(forever, refresh_expires_at_ts=now + 7200)
    ttl = _stored_ttl(redis_server, store, 'token-m', until)
    assert 3600 * 1000 < ttl <= 7200 * 1000
    # A later write without a refresh token expiry makes it permanent again (PERSIST), not stuck with the old TTL.
    store.write('token-m', b'sealed', store.read('token-m').generation, None)
    assert redis_server.admin().pttl(store.key('t', 'token-m')) == -1


# ---- connections: TLS, unix socket, Sentinel ------------------------------------------------------------------------------
def _round_trip(store):
    generation = store.write('token-n', b'over the wire', '0', None)
    assert store.read('token-n').generation == generation
    with store.leased('token-n') as lease:
        assert lease is not None


def test_tls_with_the_ca_and_a_client_certificate(redis_tls, redis_pki):
    settings = settings_for(redis_tls, ca_path=redis_pki.ca, client_cert=redis_pki.client_cert,
                            client_key=redis_pki.client_key)
    assert settings.location.tls
    _round_trip(RedisStore.open(settings, prefix=fresh_prefix()))


def test_tls_without_the_ca_is_refused_naming_the_store(redis_tls, redis_pki):
    settings = settings_for(redis_tls, client_cert=redis_pki.client_cert, client_key=redis_pki.client_key)
    with pytest.raises(SharedStoreError) as failure:
        RedisStore.open(settings)
    assert failure.value.kind == 'unreachable'
    assert 'rediss://127.0.0.1:%d/0' % redis_tls.port in str(failure.value)
    assert 'certificate verify failed' in str(failure.value)


def test_tls_without_a_client_certificate_is_refused(redis_tls, redis_pki):
    with pytest.raises(SharedStoreError) as failure:
        RedisStore.open(settings_for(redis_tls, ca_path=redis_pki.ca))
    assert failure.value.kind == 'unreachable'


def test_unix_socket(redis_unix):
    assert redis_unix.url.startswith('unix://tokenops@/')
    _round_trip(open_store(redis_unix))


def test_sentinel_failover_with_the_primary_killed(redis_sentinel):
    store = RedisStore.open(SharedStoreSettings(parse_store_url(redis_sentinel.url), password=redis_sentinel.password,
                                                key='k' * 32), prefix=fresh_prefix())
    generation = store.write('token-o', b'before the failover', '0', None)
    primary = redis_sentinel.primary
    # Written to the replica before the primary dies (what a WAIT would give; asynchronous replication otherwise).
    wait_until(lambda: redis_sentinel.replica.admin().hget(store.key('t', 'token-o'), 'gen') == generation.encode(),
               'the replica to have the entry')
    primary.kill()
    new_port = redis_sentinel.wait_for_failover(primary.port)
    assert new_port == redis_sentinel.replica.port
    # The same store object goes on: redis-py asks the Sentinels for the new primary.
    entry = store.read('token-o')
    assert (entry.data, entry.generation) == (b'before the failover', generation)
    assert store.write('token-o', b'after the failover', generation, None) is not None
    with store.leased('token-o') as lease:
        assert lease is not None
    assert redis_sentinel.replica.admin().hget(store.key('t', 'token-o'), 'data') == b'after the failover'


# ---- errors -----------------------------------------------------------------------------------------------------------
def test_a_refused_login_names_the_store_and_user_never_the_password(redis_server):
    wrong = 'wrong-password-' + uuid.uuid4().hex
    with pytest.raises(SharedStoreError) as failure:
        RedisStore.open(settings_for(redis_server, password=wrong))
    message = str(failure.value)
    assert failure.value.kind == 'auth'
    assert 'redis://127.0.0.1:%d/0' % redis_server.port in message and "ACL user 'tokenops'" in message
    assert wrong not in message and redis_server.password not in message
    assert 'cache_password' in message


def test_an_unreachable_store_is_a_clear_error(redis_own):
    settings = settings_for(redis_own)
    redis_own.stop()
    with pytest.raises(SharedStoreError) as failure:
        RedisStore.open(settings)
    assert failure.value.kind == 'unreachable'
    assert 'redis://127.0.0.1:%d/0' % redis_own.port in str(failure.value)
    assert redis_own.password not in str(failure.value)


def test_a_restart_in_the_middle_is_ridden_out(redis_own):
    store = open_store(redis_own)
    generation = store.write('token-p', b'kept in the dump', '0', None)
    redis_own.restart()  # SIGTERM saves the dump (persistence on); the store's next command reconnects
    assert store.read('token-p').generation == generation


def test_a_full_store_refuses_writes_with_a_clear_error(redis_own):
    store = open_store(redis_own)
    redis_own.fill()
    try:
        with pytest.raises(SharedStoreError) as failure:
            store.write('token-q', b'x' * 4096, '0', None)
        assert failure.value.kind == 'full' and 'maxmemory' in failure.value.hint
        assert store.read('token-q') is None
    finally:
        redis_own.unfill()


def test_the_documented_acl_is_all_the_store_needs(redis_own):
    """A Redis of its own, so that no other test's refused command is in its ACL LOG."""
    store = open_store(redis_own)
    _round_trip(store)
    store.write_document('doc', b'sealed', 60000)
    assert store.read_document('doc') == b'sealed'
    assert store.wait('token-n') == 'free'
    store.delete('token-n')
    assert redis_own.admin().acl_log() == [], 'the store sent a command its ACL refused'


def test_the_acl_user_can_do_nothing_else(redis_server):
    user = redis_server.as_user()
    user.set(DEFAULT_PREFIX + 'allowed', b'1')
    for attempt in (lambda: user.get('other-application:secret'), lambda: user.keys('*'), user.flushall,
                    lambda: user.config_get('requirepass'), user.acl_list,
                    lambda: user.execute_command('SUBSCRIBE', 'other-channel'), user.bgsave):
        with pytest.raises(redis.exceptions.NoPermissionError):
            attempt()
    # A script runs with its caller's permissions: no way around the key pattern either.
    with pytest.raises(redis.ResponseError, match="can't access"):
        user.eval("return redis.call('GET', 'other-application:secret')", 0)
