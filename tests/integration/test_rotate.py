# -*- coding: utf-8 -*-
"""playbooks/rotate.yml run as `ansible-playbook tokenops.oauth2.rotate`: renews only when due or forced."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sys

from ansible_runner_helper import run_playbook


def env_values(path):
    return dict(line.split('=', 1) for line in path.read_text().splitlines() if '=' in line)


def test_rotate_renews_only_when_forced_or_due(tmp_path, oidc_provider):
    client = oidc_provider.clients['cc_basic']
    env_file = tmp_path / 'app.env'
    inventory = tmp_path / 'inventory.json'
    inventory.write_text(json.dumps({'all': {
        'hosts': {'localhost': {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}},
        'vars': {
            'oauth2_profiles': {'app': dict(token_url=oidc_provider.url + '/token', client_id=client['client_id'],
                                            client_secret=client['client_secret'], scope='api:read',
                                            resource='urn:tokenops:api')},
            'oauth2_deliveries': [dict(profile='app', to='env_file', path=str(env_file),
                                       vars=dict(APP_TOKEN='access_token', APP_TOKEN_EXPIRES_AT='expires_at'))],
            'oauth2_rotate_lock': str(tmp_path / 'rotate.lock'),
        }}}))
    env = {'TOKENOPS_OAUTH2_CACHE_DIR': str(tmp_path / 'cache')}
    args = ('-i', str(inventory))
    first = run_playbook('tokenops.oauth2.rotate', *args, extra_env=env)
    token = env_values(env_file)['APP_TOKEN']
    assert 'changed=' in first.stdout and oct(os.stat(str(env_file)).st_mode & 0o777) == '0o600'

    again = run_playbook('tokenops.oauth2.rotate', *args, extra_env=env)
    assert env_values(env_file)['APP_TOKEN'] == token and 'changed=0' in again.stdout

    forced = run_playbook('tokenops.oauth2.rotate', *args, '-e', 'oauth2_force=true', extra_env=env)
    assert env_values(env_file)['APP_TOKEN'] != token and 'changed=0' not in forced.stdout
    assert token not in forced.stdout and not (tmp_path / 'rotate.lock').exists()
