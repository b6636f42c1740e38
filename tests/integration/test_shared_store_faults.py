# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared store failing in the middle of a real ansible-playbook run (issue #13: Redis stopped, restarted,
refusing the login, full), each ending as cache_fallback says: ``local`` goes on with the controller's file cache
after one warning, ``fail`` fails with a message naming the store (never its password), no traceback. Nothing is
lost: a refresh token rotated while the store refuses it is in the profile's vars file, delivered files stay as they
were. Each test has a Redis of its own."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_runner_helper import run_playbook
from rotate_helper import app_rotation, env_values
from store_controllers import STORE_KEY, Controller, refresh_token_profile, store_env
from test_rotate import VAULT_PASSWORD, onboarded_refresh_token
from test_shared_store_settings import cc_profile
from token_helper import introspect

FALLBACK_WARNING = 'using the controller cache instead (cache_fallback: local)'


def controller_for(tmp_path, redis, profile, **variables):
    controller = Controller(tmp_path / 'controller', store_env(redis))
    controller.inventory(dict({'oauth2_profiles': {'api': profile}}, **variables), hosts=1,
                         host_vars=lambda index: {'store_profile': 'api'})
    return controller


def rotating_controller(tmp_path, redis, server):
    """A controller over ``redis`` whose one host takes the token of the profile ``api``, a refresh_token profile of
    ``server``'s client ``web`` (so cache_fallback defaults to fail) onboarded just now; and its onboarded token."""
    onboarded = onboarded_refresh_token(server)
    controller = Controller(tmp_path / 'controller', store_env(redis))
    controller.onboard(onboarded)
    controller.inventory({'oauth2_profiles': {'api': refresh_token_profile(server, server.clients['web'])}}, hosts=1,
                         host_vars=lambda index: {'store_profile': 'api'})
    return controller, onboarded


def during_run(controller, disturb, *args, **options):
    """Run shared_store_during_run.yml; ``disturb()`` once its first token is taken, before it goes on (or, with
    ``meanwhile=True``, just after: while it takes the token again, and ``before()`` before it goes on). Returns
    the exit code."""
    ready, go = controller.directory / 'ready', controller.directory / 'go'
    controller.start('shared_store_during_run.yml', '-e', 'store_ready_file=%s' % ready,
                     '-e', 'store_go_file=%s' % go, *args)
    deadline = time.monotonic() + 300
    while not ready.exists():
        assert controller.process.poll() is None and time.monotonic() < deadline, controller.process.communicate()[0]
        time.sleep(0.05)
    (options.get('before') or (lambda: None))()
    if not options.get('meanwhile'):
        disturb()
    go.write_text('')
    if options.get('meanwhile'):
        disturb()  # in this thread: a server started from a thread that ends would die with it (PR_SET_PDEATHSIG)
    code = controller.finish()
    for secret in (controller.env['TOKENOPS_OAUTH2_CACHE_PASSWORD'], STORE_KEY):
        assert secret not in controller.stdout
    return code


def local_tokens(controller):
    return [name for name in os.listdir(str(controller.directory / 'cache')) if name.endswith('.token')]


def test_stopped_during_a_run_the_local_fallback_goes_on_with_one_warning(tmp_path, oidc_provider, redis_own):
    controller = controller_for(tmp_path, redis_own, cc_profile(oidc_provider))
    before = oidc_provider.stats()['token_requests']
    assert during_run(controller, redis_own.stop, '-e', 'store_rounds=3') == 0, controller.stdout
    results = controller.results()
    assert [r['from_cache'] for r in results['then']] == [False, True, True], 'one request, then the file cache'
    assert oidc_provider.stats()['token_requests'] - before == 2
    warnings = [line for line in controller.stdout.splitlines() if FALLBACK_WARNING in line]
    assert len(warnings) == 1 and 'redis://127.0.0.1:%d/0' % redis_own.port in warnings[0], warnings
    assert local_tokens(controller), 'the token went to the controller cache'


def test_stopped_during_a_run_the_fail_policy_fails_naming_the_store(tmp_path, oidc_provider, redis_own):
    controller = controller_for(tmp_path, redis_own, cc_profile(oidc_provider, cache_fallback='fail'))
    assert during_run(controller, redis_own.stop) != 0
    assert "profile 'api': cannot " in controller.stdout and \
        'the shared token store redis://127.0.0.1:%d/0' % redis_own.port in controller.stdout, controller.stdout
    assert FALLBACK_WARNING not in controller.stdout and not local_tokens(controller)


def test_restarted_during_a_run_the_lookups_go_on_from_the_store(tmp_path, oidc_provider, redis_own):
    """The worker that takes the token eight times, a second apart, loses its connection to a restart (the dump
    saved at SIGTERM keeps the entry) and goes on with the same token from the store."""
    controller = controller_for(tmp_path, redis_own, cc_profile(oidc_provider, cache_fallback='fail'))
    before = oidc_provider.stats()['token_requests']

    def restart_soon():
        time.sleep(2.5)  # the loop has begun (the run waits up to a second for the start line, then forks a worker)
        redis_own.restart()
    assert during_run(controller, restart_soon, '-e', 'store_rounds=8', '-e', 'store_round_pause=1',
                      meanwhile=True) == 0, controller.stdout
    results = controller.results()
    assert set(r['digest'] for r in results['then']) == {results['first']['digest']}
    assert all(r['from_cache'] for r in results['then']) and oidc_provider.stats()['token_requests'] - before == 1
    assert redis_own.admin().info('server')['uptime_in_seconds'] < 60, 'the store was not restarted'


def test_refusing_the_login_during_a_run_fails_naming_the_store_and_user(tmp_path, oidc_provider, redis_own):
    controller = controller_for(tmp_path, redis_own, cc_profile(oidc_provider, cache_fallback='fail'))

    def change_password():
        admin = redis_own.admin()
        admin.acl_setuser(redis_own.user, reset_passwords=True, passwords=['+another-password-0123'])
        admin.client_kill_filter(user=redis_own.user)
    assert during_run(controller, change_password) != 0
    assert "the shared token store redis://127.0.0.1:%d/0 as ACL user 'tokenops'" % redis_own.port \
        in controller.stdout, controller.stdout
    assert 'another-password-0123' not in controller.stdout and not local_tokens(controller)


def test_full_during_a_rotation_fails_and_the_rotated_refresh_token_is_kept_in_the_vars_file(tmp_path, redis_own):
    """A refresh_token profile (cache_fallback defaults to fail) rotates, and Redis runs out of memory while the
    refresh request is on its way (the server is held with SIGSTOP until the lock is taken and Redis is full): the
    run fails naming the store, but the refresh token the server has just rotated is in the profile's vars file
    before the error; the next run, with the store writable again, renews from it and the grant lives on."""
    import signal
    from ansible_collections.tokenops.oauth2.plugins.plugin_utils.redis_store import DEFAULT_PREFIX
    from tests.servers.launch import start

    with start('oidc_provider') as server:
        web = server.clients['web']
        controller, onboarded = rotating_controller(tmp_path, redis_own, server)
        admin = redis_own.admin()

        def full_while_refreshing():
            deadline = time.monotonic() + 120
            while not list(admin.scan_iter(DEFAULT_PREFIX + 'l:*')):  # the forced renewal holds the lock, and waits
                assert time.monotonic() < deadline and controller.process.poll() is None, 'no renewal took the lock'
                time.sleep(0.05)
            # Below what is used (fill() leaves a little room, which a small entry may fit): every write is refused.
            admin.config_set('maxmemory-policy', 'noeviction')
            admin.config_set('maxmemory', str(int(admin.info('memory')['used_memory']) // 2))
            server.process.send_signal(signal.SIGCONT)

        try:
            code = during_run(controller, full_while_refreshing, '-e', 'store_force_then=true', meanwhile=True,
                              before=lambda: server.process.send_signal(signal.SIGSTOP))
        finally:
            server.process.send_signal(signal.SIGCONT)
            redis_own.unfill()
        assert code != 0
        assert "profile 'api': cannot write to the shared token store redis://127.0.0.1:%d/0" % redis_own.port \
            in controller.stdout and 'out of memory' in controller.stdout, controller.stdout
        kept = controller.refresh_token()
        assert kept != onboarded and introspect(server, kept, web)['active'] is True, \
            'the refresh token rotated during the failure is not where the next run finds it'

        rerun = Controller(tmp_path / 'controller', controller.env)
        rerun.start('shared_store_during_run.yml', '-e', 'store_ready_file=%s' % (tmp_path / 'r2'),
                    '-e', 'store_go_file=%s' % (tmp_path / 'r2'))
        assert rerun.finish() == 0, rerun.stdout
        newest = controller.refresh_token()
        assert newest != kept and introspect(server, newest, web)['active'] is True
        for secret in (onboarded, kept, newest, web['client_secret']):
            assert secret not in controller.stdout + rerun.stdout


def test_a_failed_store_leaves_delivered_files_as_they_were(tmp_path, oidc_provider, redis_own):
    client = oidc_provider.clients['cc_basic']
    inventory, env_file, env = app_rotation(tmp_path, oidc_provider.url + '/token', client, scope='api:read',
                                            resource='urn:tokenops:api', cache_fallback='fail')
    env.update(store_env(redis_own))
    run_playbook('tokenops.oauth2.rotate', '-i', str(inventory), extra_env=env)
    delivered = env_file.read_text()
    redis_own.stop()
    failed = run_playbook('tokenops.oauth2.rotate', '-i', str(inventory), '-e', 'oauth2_force=true', '-vvvv',
                          extra_env=env, check=False)
    assert failed.returncode != 0
    assert 'app: FAILED, left as they were: localhost:%s' % env_file in failed.stdout, failed.stdout
    assert 'the shared token store redis://127.0.0.1:%d/0' % redis_own.port in failed.stdout
    assert env_file.read_text() == delivered and env_values(env_file)['APP_TOKEN']
    for secret in (redis_own.password, STORE_KEY, client['client_secret'], env_values(env_file)['APP_TOKEN']):
        assert secret not in failed.stdout


def test_no_secret_in_the_output_in_redis_or_in_its_dump(tmp_path, oidc_provider, authlib_server, redis_own):
    """The rotate playbook at -vvvv with three profiles (client credentials, a rotating refresh token written back,
    the password grant) through the store: every key and value of the Redis, and its dump file, are scanned for each
    secret, token and plaintext identity the run used; the output for each secret and token."""
    web, cc = oidc_provider.clients['web'], oidc_provider.clients['cc_basic']
    basic, alice = authlib_server.clients['basic'], authlib_server.users['alice']
    onboarded = onboarded_refresh_token(oidc_provider)
    controller = Controller(tmp_path / 'controller', store_env(redis_own))
    controller.onboard(onboarded)
    env_files = dict((name, tmp_path / ('%s.env' % name)) for name in ('api', 'lockit', 'breakout'))
    controller.inventory({
        'oauth2_profiles': {
            'api': cc_profile(oidc_provider),
            'lockit': refresh_token_profile(oidc_provider, web),
            'breakout': dict(token_url=authlib_server.url + '/oauth/token', grant_type='password',
                             client_id=basic['client_id'], client_secret=basic['client_secret'],
                             client_auth=basic['client_auth'], username=alice['username'],
                             password=alice['password'], scope=['read', 'write']),
        },
        'oauth2_deliveries': [dict(profile=name, to='env_file', path=str(path),
                                   vars=dict(TOKEN='access_token', REFRESH='refresh_token'))
                              for name, path in env_files.items()],
        'oauth2_rotate_lock': str(tmp_path / 'rotate.lock'),
    })
    outputs = []
    for extra in ((), ('-e', 'oauth2_force=true')):
        controller.start('tokenops.oauth2.rotate', '-vvvv', *extra)
        assert controller.finish() == 0, controller.stdout
        outputs.append(controller.stdout)
        tokens = [value for path in env_files.values() for value in env_values(path).values() if value]
        outputs.append('\n'.join(tokens))  # the tokens of this run, checked against Redis below

    secrets = set([onboarded, controller.refresh_token(), web['client_secret'],
                   cc['client_secret'], basic['client_secret'], alice['password'], STORE_KEY, redis_own.password,
                   VAULT_PASSWORD])
    tokens = set(line for text in outputs[1::2] for line in text.splitlines())
    assert len(tokens) >= 8  # three access tokens and two refresh tokens per run, renewed by the forced one
    identities = set([web['client_id'], cc['client_id'], basic['client_id'], alice['username'], oidc_provider.url,
                      authlib_server.url, 'lockit', 'breakout'])
    for output in outputs[0::2]:
        for secret in secrets | tokens:
            assert secret not in output, 'a secret or token shows in the -vvvv output'

    admin = redis_own.admin()
    keys = list(admin.scan_iter('*'))
    assert keys and all(key.startswith(b'tokenops-oauth2:') for key in keys)
    stored = []
    for key in keys:
        kind = admin.type(key)
        stored.append(key)
        if kind == b'hash':
            stored.extend(v for pair in admin.hgetall(key).items() for v in pair)
        elif kind == b'string':
            stored.append(admin.get(key))
    admin.save()
    with open(redis_own.dump_path, 'rb') as handle:
        dump = handle.read()
    assert any(key[len(b'tokenops-oauth2:t:'):] in dump for key in keys), 'the dump holds the entries'
    for plain in secrets | tokens | identities:
        assert not [value for value in stored if plain.encode() in value], 'Redis holds %s in the clear' % (
            'a secret or token' if plain not in identities else 'a plaintext identity')
        assert plain.encode() not in dump, 'the dump holds a secret, token or identity in the clear'


def test_sentinel_failover_during_a_run_the_lookups_go_on(tmp_path, oidc_provider, redis_sentinel):
    """redis+sentinel://: a refresh_token profile (so cache_fallback is fail, and its entry is written with WAIT for a
    replica) takes its token, then the primary is SIGKILLed while one worker takes it ten times, a second apart:
    the Sentinels promote the replica and every lookup goes on with the same token from the store."""
    controller, onboarded = rotating_controller(tmp_path, redis_sentinel, oidc_provider)
    primary = redis_sentinel.primary
    before = oidc_provider.stats()['token_requests']

    def kill_the_primary():
        time.sleep(2.5)  # the loop has begun
        primary.kill()
    assert during_run(controller, kill_the_primary, '-e', 'store_rounds=10', '-e', 'store_round_pause=1',
                      meanwhile=True) == 0, controller.stdout
    assert redis_sentinel.wait_for_failover(primary.port) == redis_sentinel.replica.port
    results = controller.results()
    assert set(r['digest'] for r in results['then']) == {results['first']['digest']}
    assert all(r['from_cache'] for r in results['then']) and oidc_provider.stats()['token_requests'] - before == 1
    assert 'acknowledged' not in controller.stdout, 'the entry holding the refresh token was not on the replica'
    assert controller.refresh_token() != onboarded
