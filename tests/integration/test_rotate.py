# -*- coding: utf-8 -*-
"""playbooks/rotate.yml run as `ansible-playbook tokenops.oauth2.rotate`: renews only when due or forced."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sys

import pytest

from ansible_runner_helper import local_inventory, recap, run_playbook
from rotate_helper import app_rotation, env_values


def test_rotate_renews_only_when_forced_or_due(tmp_path, oidc_provider):
    inventory, env_file, env = app_rotation(tmp_path, oidc_provider.url + '/token', oidc_provider.clients['cc_basic'],
                                            scope='api:read', resource='urn:tokenops:api')
    args = ('-i', str(inventory))
    first = run_playbook('tokenops.oauth2.rotate', *args, extra_env=env)
    token = env_values(env_file)['APP_TOKEN']
    assert recap(first.stdout)['localhost']['changed'] > 0, first.stdout
    assert oct(os.stat(str(env_file)).st_mode & 0o777) == '0o600'

    again = run_playbook('tokenops.oauth2.rotate', *args, extra_env=env)
    assert env_values(env_file)['APP_TOKEN'] == token and recap(again.stdout)['localhost']['changed'] == 0, again.stdout

    forced = run_playbook('tokenops.oauth2.rotate', *args, '-e', 'oauth2_force=true', extra_env=env)
    assert env_values(env_file)['APP_TOKEN'] != token and recap(forced.stdout)['localhost']['changed'] > 0
    assert token not in forced.stdout and not (tmp_path / 'rotate.lock').exists()


VAULT_PASSWORD = 'rotate-vault-pw-5531'


def vault():
    from ansible.parsing.vault import VaultLib, VaultSecret
    return VaultLib([('default', VaultSecret(VAULT_PASSWORD.encode()))])


def write_vaulted_vars(path, values):
    lines = ['---']
    for name, value in values.items():
        ciphertext = vault().encrypt(value).decode()
        lines.append('%s: !vault |\n%s' % (name, '\n'.join('  ' + line for line in ciphertext.splitlines())))
    path.write_text('\n'.join(lines) + '\n')


def read_vaulted_var(path, name):
    lines = path.read_text().splitlines()
    assert '%s: !vault |' % name in lines, path.read_text()
    block = []
    for line in lines[lines.index('%s: !vault |' % name) + 1:]:
        if not line.startswith('  '):
            break
        block.append(line.strip())
    return vault().decrypt('\n'.join(block)).decode()


def onboarded_refresh_token(oidc_provider):
    """What the onboard playbook would have stored: a refresh token from a real authorization code exchange."""
    import requests
    from tests.servers.launch import obtain_authorization_code
    web = oidc_provider.clients['web']
    redirect_uri = oidc_provider.info['redirect_uri']
    code = obtain_authorization_code(oidc_provider, web, redirect_uri=redirect_uri, scope='openid offline_access')
    answer = requests.post(oidc_provider.url + '/token', auth=(web['client_id'], web['client_secret']), timeout=30,
                           data=dict(grant_type='authorization_code', code=code, redirect_uri=redirect_uri))
    answer.raise_for_status()
    return answer.json()['refresh_token']


@pytest.mark.smoke
def test_failing_profile_does_not_stop_the_others_and_rotated_refresh_tokens_are_stored(tmp_path, oidc_provider):
    client, web = oidc_provider.clients['cc_basic'], oidc_provider.clients['web']
    token_url = oidc_provider.url + '/token'
    inventory_dir = tmp_path / 'inventory'
    (inventory_dir / 'group_vars' / 'all').mkdir(parents=True)
    first_refresh_token = onboarded_refresh_token(oidc_provider)
    store = inventory_dir / 'group_vars' / 'all' / 'lockit_refresh_token.yml'
    write_vaulted_vars(store, {'vault_lockit_refresh_token': first_refresh_token})
    good_env, broken_env, lockit_env = (tmp_path / name for name in ('good.env', 'broken.env', 'lockit.env'))
    broken_env.write_text('BROKEN_TOKEN=kept-as-it-was\n')
    broken_env.chmod(0o600)
    wrong_secret = 'wrong-secret-rotate-3141'
    cc = dict(token_url=token_url, client_id=client['client_id'], client_secret=client['client_secret'],
              scope='api:read', resource='urn:tokenops:api')
    (inventory_dir / 'group_vars' / 'all' / 'main.yml').write_text(json.dumps({
        'oauth2_profiles': {
            'good': cc,
            'broken': dict(cc, client_secret=wrong_secret),
            'lockit': dict(token_url=token_url, grant_type='refresh_token', client_id=web['client_id'],
                           client_secret=web['client_secret'], refresh_token='{{ vault_lockit_refresh_token }}',
                           refresh_token_vars_file='group_vars/all/lockit_refresh_token.yml'),
        },
        'oauth2_deliveries': [
            dict(profile='good', to='env_file', path=str(good_env), vars=dict(GOOD_TOKEN='access_token')),
            dict(profile='broken', to='env_file', path=str(broken_env), vars=dict(BROKEN_TOKEN='access_token')),
            dict(profile='lockit', to='env_file', path=str(lockit_env), vars=dict(LOCKIT_TOKEN='access_token')),
        ],
        'oauth2_rotate_lock': str(tmp_path / 'rotate.lock'),
    }))
    hosts = local_inventory(inventory_dir / 'hosts.json')
    password_file = tmp_path / 'vault-pass'
    password_file.write_text(VAULT_PASSWORD)
    env = {'TOKENOPS_OAUTH2_CACHE_DIR': str(tmp_path / 'cache')}
    args = ('-i', hosts, '--vault-password-file', str(password_file), '-vvvv')

    run = run_playbook('tokenops.oauth2.rotate', *args, extra_env=env, check=False)
    assert run.returncode != 0, run.stdout
    # The others were delivered, the failing profile's file kept, and the summary says who, what and why.
    good_token, lockit_token = env_values(good_env)['GOOD_TOKEN'], env_values(lockit_env)['LOCKIT_TOKEN']
    assert good_token and lockit_token
    assert broken_env.read_text() == 'BROKEN_TOKEN=kept-as-it-was\n'
    assert 'good: renewed (expires ' in run.stdout and 'lockit: renewed (expires ' in run.stdout
    assert 'broken: FAILED, left as they were: localhost:%s' % broken_env in run.stdout
    assert 'invalid_client' in run.stdout and '1 of 3 delivered profiles failed (the others were delivered)' in run.stdout
    assert not (tmp_path / 'rotate.lock').exists()
    # The server rotated the refresh token: the new one is in the vars file, and the old one is no longer there.
    second_refresh_token = read_vaulted_var(store, 'vault_lockit_refresh_token')
    assert second_refresh_token != first_refresh_token
    for secret in (good_token, lockit_token, first_refresh_token, second_refresh_token, wrong_secret,
                   client['client_secret'], web['client_secret'], VAULT_PASSWORD):
        assert secret not in run.stdout

    # Without the cache (a new AWX job container) the next forced run renews from the stored refresh token.
    (inventory_dir / 'group_vars' / 'all' / 'main.yml').write_text(
        (inventory_dir / 'group_vars' / 'all' / 'main.yml').read_text().replace(wrong_secret, client['client_secret']))
    env['TOKENOPS_OAUTH2_CACHE_DIR'] = str(tmp_path / 'fresh-cache')
    again = run_playbook('tokenops.oauth2.rotate', *args, '-e', 'oauth2_force=true', extra_env=env)
    assert again.returncode == 0, again.stdout
    assert env_values(lockit_env)['LOCKIT_TOKEN'] != lockit_token and env_values(broken_env)['BROKEN_TOKEN']
    assert read_vaulted_var(store, 'vault_lockit_refresh_token') not in (first_refresh_token, second_refresh_token)


@pytest.mark.serial  # the second run must reach the lock within the first one's 6 s request: load would blur it
def test_two_rotations_at_once_never_interleave(tmp_path, quirks_server):
    """The first run holds the lock while its token request is slow: a second run started meanwhile is refused
    with a message naming the holder, and one told to wait runs after it; the file is whole throughout."""
    import subprocess
    import time
    from ansible_runner_helper import ansible_env
    inventory, env_file, env = app_rotation(tmp_path, '%s/fault/slow?delay=6' % quirks_server.url,
                                            quirks_server.clients['fault'], timeout=30)
    lock = tmp_path / 'rotate.lock'
    args = ('-i', str(inventory), '-e', 'oauth2_force=true')
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), 'tokenops.oauth2.rotate'] + list(args)
    first = subprocess.Popen(command, env=ansible_env(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             universal_newlines=True)
    try:
        deadline = time.monotonic() + 60
        while not lock.exists():
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()[0]
            time.sleep(0.05)
        refused = run_playbook('tokenops.oauth2.rotate', *args, extra_env=env, check=False)
        queued = run_playbook('tokenops.oauth2.rotate', *args, '-e', 'oauth2_rotate_wait=120', extra_env=env)
    finally:
        first_out = first.communicate(timeout=180)[0]
    assert first.returncode == 0, first_out
    assert refused.returncode != 0 and 'another run (pid %d) holds' % first.pid in refused.stdout, refused.stdout
    assert recap(queued.stdout)['localhost']['changed'] > 0 and not lock.exists()
    values = env_values(env_file)
    assert set(values) == {'APP_TOKEN', 'APP_TOKEN_EXPIRES_AT'} and all(values.values())


def test_refresh_token_that_cannot_be_stored_fails_the_run_after_delivering(tmp_path, oidc_provider):
    web = oidc_provider.clients['web']
    refresh_token = onboarded_refresh_token(oidc_provider)
    env_file = tmp_path / 'lockit.env'
    inventory = local_inventory(tmp_path / 'inventory.json', **{
        'oauth2_profiles': {'lockit': dict(
            token_url=oidc_provider.url + '/token', grant_type='refresh_token', client_id=web['client_id'],
            client_secret=web['client_secret'], refresh_token=refresh_token,
            refresh_token_vars_file=str(tmp_path / 'no-such-dir' / 'rt.yml'))},
        'oauth2_deliveries': [dict(profile='lockit', to='env_file', path=str(env_file),
                                   vars=dict(LOCKIT_TOKEN='access_token'))],
        'oauth2_rotate_lock': str(tmp_path / 'rotate.lock'),
    })
    password_file = tmp_path / 'vault-pass'
    password_file.write_text(VAULT_PASSWORD)
    run = run_playbook('tokenops.oauth2.rotate', '-i', str(inventory), '--vault-password-file', str(password_file),
                       extra_env={'TOKENOPS_OAUTH2_CACHE_DIR': str(tmp_path / 'cache')}, check=False)
    assert run.returncode != 0 and env_values(env_file)['LOCKIT_TOKEN'], run.stdout
    assert ('lockit: renewed (expires ' in run.stdout and 'FAILED: the rotated refresh token could not be written back '
            'to %s' % (tmp_path / 'no-such-dir' / 'rt.yml') in run.stdout), run.stdout
    assert refresh_token not in run.stdout and env_values(env_file)['LOCKIT_TOKEN'] not in run.stdout
