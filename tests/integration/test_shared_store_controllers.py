# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared token store across controllers (issue #13's proofs): four real ansible-playbook processes, each with its
own HOME, local cache directory and inventory, share one Redis (a Redis of each test's own, so that tests never share
a database) and one authorization server, whose own counts are the proof."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from store_controllers import STORE_KEY, Controller, run_all, run_all_from_one_start_line, store_env

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
    from test_rotate import VAULT_PASSWORD, onboarded_refresh_token, read_vaulted_var, write_vaulted_vars
    from token_helper import introspect

    with start('oidc_provider', access_token_ttl=RENEW_BEFORE + 10) as server:
        web = server.clients['web']
        onboarded = onboarded_refresh_token(server)
        controllers = []
        for n in range(4):
            controller = Controller(tmp_path / ('controller-%d' % n), store_env(redis_own))
            write_vaulted_vars(controller.inventory_dir / 'group_vars' / 'all' / 'lockit_refresh_token.yml',
                               {'vault_lockit_refresh_token': onboarded})
            controller.inventory({'oauth2_profiles': {'lockit': dict(
                token_url=server.url + '/token', grant_type='refresh_token', client_id=web['client_id'],
                client_secret=web['client_secret'], refresh_token='{{ vault_lockit_refresh_token }}',
                refresh_token_vars_file='group_vars/all/lockit_refresh_token.yml', renew_before=RENEW_BEFORE)}},
                hosts=2, host_vars=lambda index: {'store_profile': 'lockit'})
            (controller.directory / 'vault-pass').write_text(VAULT_PASSWORD)
            controllers.append(controller)

        def run(*extra):
            for controller in controllers:
                controller.env['ANSIBLE_VAULT_PASSWORD_FILE'] = str(controller.directory / 'vault-pass')
            return run_all_from_one_start_line(controllers, 'shared_store_hosts.yml', '-f', '2', *extra)

        def refreshes():
            return server.stats()['by_grant'].get('refresh_token', 0)

        run('-e', 'store_force=true')
        forced_done = time.monotonic()
        assert refreshes() == 8, 'eight forced rotations, one refresh each'
        forced = taken(controllers)
        assert len(set(rounds[0]['digest'] for rounds in forced.values())) == 8
        newest = read_vaulted_var(controllers[0].inventory_dir / 'group_vars' / 'all' / 'lockit_refresh_token.yml',
                                  'vault_lockit_refresh_token')
        assert newest != onboarded

        # The last token is due RENEW_BEFORE - 10 s after it was obtained (before forced_done), a new one only then.
        time.sleep(max(0, forced_done + (10 + 1) - time.monotonic()))
        run()
        assert refreshes() == 9, 'one refresh for the window, whoever asked'
        window = taken(controllers)
        assert len(set(rounds[0]['digest'] for rounds in window.values())) == 1
        assert sorted(rounds[0]['from_cache'] for rounds in window.values()) == [False] + [True] * 7

        # Every controller's vars file now holds the newest refresh token, and the grant is alive.
        files = [read_vaulted_var(c.inventory_dir / 'group_vars' / 'all' / 'lockit_refresh_token.yml',
                                  'vault_lockit_refresh_token') for c in controllers]
        assert len(set(files)) == 1 and files[0] not in (onboarded, newest)
        assert introspect(server, files[0], web)['active'] is True
        for controller in controllers:
            for secret in (onboarded, newest, files[0], web['client_secret'], STORE_KEY, redis_own.password):
                assert secret not in controller.stdout


RENEW_BEFORE = 20
