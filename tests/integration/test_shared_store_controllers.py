# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared token store across controllers (issue #13's proofs): four real ansible-playbook processes, each with its
own HOME, local cache directory and inventory, share one Redis (a Redis of each test's own, so that tests never share
a database) and one authorization server, whose own counts are the proof."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from store_controllers import (
    STORE_KEY, Controller, refresh_token_profile, run_all, run_all_from_one_start_line, store_env)

HOSTS, FORKS = 50, 10


def cc_profiles(server):
    """Two client_credentials profiles: two tokens in all, whatever the number of hosts and controllers."""
    return dict((name, dict(token_url=server.url + '/token', client_id=server.clients[client]['client_id'],
                            client_secret=server.clients[client]['client_secret'],
                            client_auth=server.clients[client]['client_auth'], scope='api:read',
                            resource='urn:tokenops:api'))
                for name, client in (('alpha', 'cc_basic'), ('beta', 'cc_post')))


def token_requests(server):
    return server.stats()['token_requests']


def taken(controllers):
    """Every (controller, host) -> the list of what it took."""
    return dict(((str(c.directory), host), rounds) for c in controllers for host, rounds in c.results().items())


def test_four_controllers_send_two_token_requests_cold_and_none_warm(tmp_path, oidc_provider, redis_own):
    profiles = cc_profiles(oidc_provider)
    controllers = [Controller(tmp_path / ('controller-%d' % n), store_env(redis_own)) for n in range(4)]
    for controller in controllers:
        controller.inventory({'oauth2_profiles': profiles}, hosts=HOSTS,
                             host_vars=lambda index: {'store_profile': ('alpha', 'beta')[index % 2]})

    before = token_requests(oidc_provider)
    run_all(controllers, 'shared_store_hosts.yml', '-f', str(FORKS))
    assert token_requests(oidc_provider) - before == 2, 'one request per profile for 4 controllers x %d hosts' % HOSTS
    cold = taken(controllers)
    assert len(cold) == 4 * HOSTS
    digests = dict((profile, set()) for profile in profiles)
    for (_controller, host), rounds in cold.items():
        digests[('alpha', 'beta')[(int(host[1:]) - 1) % 2]].add(rounds[0]['digest'])
    assert [len(d) for d in digests.values()] == [1, 1], 'every host of every controller got its profile\'s one token'
    assert sum(not rounds[0]['from_cache'] for rounds in cold.values()) == 2

    run_all(controllers, 'shared_store_hosts.yml', '-f', str(FORKS))
    assert token_requests(oidc_provider) - before == 2, 'a warm run asked the server'
    warm = taken(controllers)
    assert all(rounds[0]['from_cache'] for rounds in warm.values())
    assert set(r[0]['digest'] for r in warm.values()) == set().union(*digests.values())
    for controller in controllers:
        assert not [name for name in os.listdir(str(controller.directory / 'cache')) if name.endswith('.token')], \
            'a controller kept a token in its own cache'


def test_eight_rotations_at_once_from_four_controllers_never_break_the_refresh_chain(tmp_path, redis_own):
    """oidc-provider rotates the refresh token on every use and revokes the grant when a retired one comes back. Four
    controllers (two hosts and two forks each, each with its own copy of the inventory and its vars file) force a
    rotation at the same instant: eight refreshes, one at a time, each with the newest refresh token. Then, once the
    token is due, all eight ask again at once: one refresh for the window. The grant survives it all."""
    import time
    from tests.servers.launch import start
    from test_rotate import onboarded_refresh_token
    from token_helper import introspect

    with start('oidc_provider', access_token_ttl=RENEW_BEFORE + 10) as server:
        web = server.clients['web']
        onboarded = onboarded_refresh_token(server)
        controllers = []
        for n in range(4):
            controller = Controller(tmp_path / ('controller-%d' % n), store_env(redis_own))
            controller.onboard(onboarded)
            controller.inventory({'oauth2_profiles': {'lockit': refresh_token_profile(
                server, web, renew_before=RENEW_BEFORE)}}, hosts=2, host_vars=lambda index: {'store_profile': 'lockit'})
            controllers.append(controller)

        def run(*extra):
            return run_all_from_one_start_line(controllers, 'shared_store_hosts.yml', '-f', '2', *extra)

        def refreshes():
            return server.stats()['by_grant'].get('refresh_token', 0)

        run('-e', 'store_force=true')
        forced_done = time.monotonic()
        assert refreshes() == 8, 'eight forced rotations, one refresh each'
        forced = taken(controllers)
        assert len(set(rounds[0]['digest'] for rounds in forced.values())) == 8
        newest = controllers[0].refresh_token()
        assert newest != onboarded

        # The last token is due RENEW_BEFORE - 10 s after it was obtained (before forced_done), a new one only then.
        time.sleep(max(0, forced_done + (10 + 1) - time.monotonic()))
        run()
        assert refreshes() == 9, 'one refresh for the window, whoever asked'
        window = taken(controllers)
        assert len(set(rounds[0]['digest'] for rounds in window.values())) == 1
        assert sorted(rounds[0]['from_cache'] for rounds in window.values()) == [False] + [True] * 7

        # Every controller's vars file now holds the newest refresh token, and the grant is alive.
        files = [c.refresh_token() for c in controllers]
        assert len(set(files)) == 1 and files[0] not in (onboarded, newest)
        assert introspect(server, files[0], web)['active'] is True
        for controller in controllers:
            for secret in (onboarded, newest, files[0], web['client_secret'], STORE_KEY, redis_own.password):
                assert secret not in controller.stdout


RENEW_BEFORE = 20


def test_a_sigkilled_lock_holder_is_replaced_after_its_lease_and_its_late_write_is_fenced(
        tmp_path, quirks_server, redis_own):
    """Controller A takes the lock and is SIGKILLed (with every worker) in the middle of its token request; B, started
    then, waits (no polling) until A's lease runs out and renews. A's write, had it come late, names the generation
    it read (none) and is refused by the fence: B's token stays."""
    import time
    import uuid
    import requests
    from ansible_collections.tokenops.oauth2.plugins.module_utils.client import TokenClient
    from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import build_profile
    from ansible_collections.tokenops.oauth2.plugins.plugin_utils.redis_store import DEFAULT_PREFIX, RedisStore
    from ansible_collections.tokenops.oauth2.plugins.plugin_utils.shared_cache import SharedTokenCache, key_ring
    from ansible_collections.tokenops.oauth2.plugins.plugin_utils.store_settings import (
        SharedStoreSettings, parse_store_url)

    client = quirks_server.clients['fault']
    marker = uuid.uuid4().hex
    options = dict(token_url='%s/fault/slow?delay=6&key=%s' % (quirks_server.url, marker), client_id=client['client_id'],
                   client_secret=client['client_secret'], timeout=30)
    controllers = [Controller(tmp_path / name, store_env(redis_own)) for name in ('a', 'b', 'c')]
    for controller in controllers:
        controller.inventory({'oauth2_profiles': {'slow': options}}, hosts=1,
                             host_vars=lambda index: {'store_profile': 'slow'})
    admin = redis_own.admin()

    def requests_sent():
        sent = requests.get(quirks_server.url + '/_requests', timeout=10).json()
        return len([r for r in sent if r['method'] == 'POST' and r['query'].get('key') in (marker, [marker])])

    holder = controllers[0].start('shared_store_hosts.yml')
    deadline = time.monotonic() + 120
    while not (list(admin.scan_iter(DEFAULT_PREFIX + 'l:*')) and requests_sent() == 1):
        assert time.monotonic() < deadline and holder.process.poll() is None, 'A never took the lock and asked'
        time.sleep(0.05)
    holder.kill()
    lock = list(admin.scan_iter(DEFAULT_PREFIX + 'l:*'))
    assert lock and admin.pttl(lock[0]) > 0, 'the dead holder\'s lease is still there, and runs out on its own'

    successor = controllers[1]
    successor.start('shared_store_hosts.yml')
    assert successor.finish() == 0, successor.stdout
    renewed = successor.results()['h01'][0]
    assert renewed['from_cache'] is False and requests_sent() == 2

    # A's late write, as A would have sent it: over the generation it read before its request (no entry then).
    profile = build_profile('slow', options)
    store = RedisStore.open(SharedStoreSettings(parse_store_url(redis_own.url), password=redis_own.password,
                                                key=STORE_KEY), profile='slow')
    cache = SharedTokenCache(store, key_ring(STORE_KEY), profile_name='slow')
    name = TokenClient(profile, cache=cache).cache_key()
    cache._generations[name] = '0'
    late = dict(access_token='late-token-from-the-dead-holder', token_type='Bearer', obtained_at=time.time(),
                expires_at_ts=time.time() + 3600)
    assert cache.store(name, client['client_secret'], late) is False, 'the fence let a stale holder overwrite'
    import hashlib
    kept = cache.load(name, client['client_secret'])['access_token']
    assert hashlib.sha256(kept.encode()).hexdigest() == renewed['digest']

    # And the next controller takes B's token from the store.
    controllers[2].start('shared_store_hosts.yml')
    assert controllers[2].finish() == 0, controllers[2].stdout
    assert controllers[2].results()['h01'][0] == dict(renewed, from_cache=True) and requests_sent() == 2
