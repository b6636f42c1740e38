# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A rotating refresh token written back to the profile's refresh_token_vars_file must not cost a renewal per run.

oidc-provider rotates refresh tokens on every use and revokes the grant when a retired one comes back. Each run
writes the rotated refresh token back to the vars file (the rotate playbook, the lookup and the module alike), so
the next run's profile holds a newer refresh token than the one the cache entry started from: the entry must still
be its own (a cache hit, no request), while another account put under the same profile name is not.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_runner_helper import local_inventory, run_playbook
from rotate_helper import env_values
from test_cache_identity import refresh_token_of, subject_of
from test_rotate import VAULT_PASSWORD, onboarded_refresh_token, read_vaulted_var, write_vaulted_vars

VAR = 'vault_lockit_refresh_token'


def lockit_site(tmp_path, server, refresh_token, deliveries=True):
    """An inventory directory whose profile ``lockit`` (the ``web`` client, grant refresh_token) reads its refresh
    token from a vault-encrypted vars file beside it, and writes rotated ones back there."""
    web = server.clients['web']
    inventory_dir = tmp_path / 'inventory'
    (inventory_dir / 'group_vars' / 'all').mkdir(parents=True, exist_ok=True)
    store = inventory_dir / 'group_vars' / 'all' / 'lockit_refresh_token.yml'
    write_vaulted_vars(store, {VAR: refresh_token})
    env_file = tmp_path / 'lockit.env'
    (inventory_dir / 'group_vars' / 'all' / 'main.yml').write_text(json.dumps({
        'oauth2_profiles': {'lockit': dict(
            token_url=server.url + '/token', grant_type='refresh_token', client_id=web['client_id'],
            client_secret=web['client_secret'], refresh_token='{{ %s }}' % VAR,
            refresh_token_vars_file='group_vars/all/lockit_refresh_token.yml')},
        'oauth2_deliveries': [dict(profile='lockit', to='env_file', path=str(env_file),
                                   vars=dict(LOCKIT_TOKEN='access_token'))] if deliveries else [],
        'oauth2_rotate_lock': str(tmp_path / 'rotate.lock'),
    }))
    password_file = tmp_path / 'vault-pass'
    password_file.write_text(VAULT_PASSWORD)
    hosts = local_inventory(inventory_dir / 'hosts.json')
    args = ('-i', hosts, '--vault-password-file', str(password_file))
    env = {'TOKENOPS_OAUTH2_CACHE_DIR': str(tmp_path / 'cache')}
    return store, env_file, args, env


def refresh_requests(server):
    return server.stats()['by_grant'].get('refresh_token', 0)


def test_the_rotate_playbook_hits_the_cache_after_writing_back_the_rotated_refresh_token(tmp_path, oidc_provider):
    first = onboarded_refresh_token(oidc_provider)
    store, env_file, args, env = lockit_site(tmp_path, oidc_provider, first)

    before = refresh_requests(oidc_provider)
    run = run_playbook('tokenops.oauth2.rotate', *args, extra_env=env)
    assert 'lockit: renewed (expires ' in run.stdout, run.stdout
    assert refresh_requests(oidc_provider) - before == 1
    rotated = read_vaulted_var(store, VAR)
    assert rotated != first, 'the rotated refresh token was written back'
    token = env_values(env_file)['LOCKIT_TOKEN']

    # The next run's profile holds the rotated refresh token: its entry is still its own, and still valid.
    again = run_playbook('tokenops.oauth2.rotate', *args, extra_env=env)
    assert 'lockit: still valid (expires ' in again.stdout, again.stdout
    assert refresh_requests(oidc_provider) - before == 1, 'the second run renewed although its token was valid'
    assert env_values(env_file)['LOCKIT_TOKEN'] == token and read_vaulted_var(store, VAR) == rotated

    # Forced: the held (newest) refresh token is spent, never the retired one the file started with.
    forced = run_playbook('tokenops.oauth2.rotate', *args, '-e', 'oauth2_force=true', extra_env=env)
    assert 'lockit: renewed (expires ' in forced.stdout, forced.stdout
    assert read_vaulted_var(store, VAR) not in (first, rotated)
    for secret in (first, rotated, read_vaulted_var(store, VAR), token, VAULT_PASSWORD):
        assert secret not in run.stdout + again.stdout + forced.stdout


def obtain_results(tmp_path, args, env, lookup=True, module=True, force=False):
    results_file = tmp_path / 'results.json'
    extra = tmp_path / 'extra.json'
    extra.write_text(json.dumps(dict(token_names=['lockit'], token_module=module, token_lookup=lookup,
                                     token_results_file=str(results_file), token_force=force)))
    proc = run_playbook('token_obtain.yml', *args, '-e', '@%s' % extra, extra_env=env)
    return json.loads(results_file.read_text()), proc.stdout


def test_the_lookup_and_the_module_write_the_rotated_refresh_token_back(tmp_path, oidc_provider):
    first = onboarded_refresh_token(oidc_provider)
    store, _env_file, args, env = lockit_site(tmp_path, oidc_provider, first, deliveries=False)

    # The lookup alone: it rotates, and the vars file holds the new refresh token before the play goes on.
    before = refresh_requests(oidc_provider)
    results, out = obtain_results(tmp_path, args, env, module=False)
    assert refresh_requests(oidc_provider) - before == 1
    rotated = read_vaulted_var(store, VAR)
    assert rotated == results['lookup']['lockit']['refresh_token'] != first
    assert first not in out and rotated not in out

    # The next run: a cache hit, for the lookup and the module.
    results, out = obtain_results(tmp_path, args, env)
    assert refresh_requests(oidc_provider) - before == 1, 'a run after the write-back renewed again'
    assert results['lookup']['lockit']['from_cache'] and results['module'][0]['from_cache']

    # The module alone, forced: it writes back what it rotated, and says where.
    results, out = obtain_results(tmp_path, args, env, lookup=False, force=True)
    module = results['module'][0]
    assert read_vaulted_var(store, VAR) == module['refresh_token']
    assert module['refresh_token'] not in (first, rotated)
    assert module['refresh_token_store']['path'] == str(store) and module['refresh_token_store']['changed'] is True

    # Without the controller cache (a new AWX job container, say) the file alone carries the chain on.
    env = dict(env, TOKENOPS_OAUTH2_CACHE_DIR=str(tmp_path / 'fresh-cache'))
    results, out = obtain_results(tmp_path, args, env, lookup=False)
    assert results['module'][0]['from_cache'] is False
    assert read_vaulted_var(store, VAR) == results['module'][0]['refresh_token']


def test_another_account_under_the_same_profile_name_starts_from_its_own_refresh_token(tmp_path, oidc_provider):
    """Onboarding another account under the profile name: the entry of the first account is not its own."""
    web = oidc_provider.clients['web']
    store, _env_file, args, env = lockit_site(tmp_path, oidc_provider, refresh_token_of(oidc_provider, web, 'alice'),
                                              deliveries=False)
    results, _out = obtain_results(tmp_path, args, env, lookup=False)
    assert subject_of(oidc_provider, web, results['module'][0]['access_token']) == 'alice'

    write_vaulted_vars(store, {VAR: refresh_token_of(oidc_provider, web, 'bob')})
    results, _out = obtain_results(tmp_path, args, env)
    for token in (results['module'][0]['access_token'], results['lookup']['lockit']['access_token'],
                  read_vaulted_var(store, VAR)):
        assert subject_of(oidc_provider, web, token) == 'bob'
    assert results['module'][0]['from_cache'] is False
