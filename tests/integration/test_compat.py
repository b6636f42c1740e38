# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What differs between ansible-core versions, through one real playbook: vaulted profile values (an inline
``!vault`` value and a variable from a vars file encrypted whole, under two vault ids) read by the lookup, by the
module on the controller and by the module on the host, and the Python that runs the modules on the host.

Before 2.19 a ``!vault`` value reaches a plugin as an AnsibleVaultEncryptedUnicode, since 2.19 as an
EncryptedString (plugins/plugin_utils/compat.py). scripts/matrix.sh runs this with every supported ansible-core and
TOKENOPS_TARGET_PYTHON set to the oldest managed-host Python that core and the collection support.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat
import subprocess

import pytest
import yaml
from dotenv import dotenv_values

from ansible_runner_helper import run_playbook, target_python
from token_helper import cache_env, introspect

pytestmark = pytest.mark.smoke

VAULT_PASSWORDS = {'prod': 'compat-prod-vault-pw-4412', 'dev': 'compat-dev-vault-pw-9035'}


def vault_text(vault_id, plaintext):
    from ansible.parsing.vault import VaultLib, VaultSecret
    secret = VaultSecret(VAULT_PASSWORDS[vault_id].encode())
    return VaultLib([(vault_id, secret)]).encrypt(plaintext, secret, vault_id=vault_id).decode()


def write_inventory(root, oidc_provider):
    basic, post = oidc_provider.clients['cc_basic'], oidc_provider.clients['cc_post']
    group_vars = root / 'inventory' / 'group_vars' / 'all'
    group_vars.mkdir(parents=True)
    (root / 'inventory' / 'hosts.ini').write_text(
        'localhost ansible_connection=local ansible_python_interpreter=%s\n' % target_python())
    # An inline !vault value under the "prod" vault id ...
    inline_secret = '\n'.join('      ' + line for line in vault_text('prod', basic['client_secret']).splitlines())
    (group_vars / 'profiles.yml').write_text('''oauth2_profiles:
  inline:
    token_url: {url}/token
    client_id: {basic_id}
    client_auth: client_secret_basic
    client_secret: !vault |
{inline_secret}
    scope: api:read
    resource: urn:tokenops:api
  referenced:
    token_url: {url}/token
    client_id: {post_id}
    client_auth: client_secret_post
    client_secret: "{{{{ vault_referenced_secret }}}}"
    scope: api:read
    resource: urn:tokenops:api
'''.format(url=oidc_provider.url, basic_id=basic['client_id'], post_id=post['client_id'], inline_secret=inline_secret))
    # ... and a vars file encrypted whole under "dev".
    (group_vars / 'vault.yml').write_text(vault_text('dev', yaml.safe_dump(
        dict(vault_referenced_secret=post['client_secret']))))
    vault_ids = []
    for vault_id, password in VAULT_PASSWORDS.items():
        (root / vault_id).write_text(password)
        vault_ids += ['--vault-id', '%s@%s' % (vault_id, root / vault_id)]
    return vault_ids


def python_version(interpreter):
    return subprocess.run([interpreter, '-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'],
                          check=True, capture_output=True, text=True).stdout.strip()


def test_vaulted_profile_values_on_every_path_and_modules_on_the_target_python(tmp_path, oidc_provider):
    vault_ids = write_inventory(tmp_path, oidc_provider)
    results_file, env_path = tmp_path / 'results.json', tmp_path / 'token.env'
    inventory = str(tmp_path / 'inventory' / 'hosts.ini')  # a file: before 2.19, a directory source skips *.ini
    proc = run_playbook('compat_vaulted_profiles.yml', '-vvvv', '-i', inventory, *vault_ids,
                        '-e', 'results_file=%s env_path=%s' % (results_file, env_path),
                        '-e', '{"token_names": ["inline", "referenced"]}', extra_env=cache_env(tmp_path))
    results = json.loads(results_file.read_text())

    assert results['python']['version_info'][:3] == [int(n) for n in python_version(target_python()).split('.')]
    clients = dict(inline=oidc_provider.clients['cc_basic'], referenced=oidc_provider.clients['cc_post'])
    tokens = set()
    for index, name in enumerate(['inline', 'referenced']):
        on_controller, on_host = results['controller'][index], results['host'][index]
        assert on_controller['profile'] == on_host['profile'] == name
        assert on_host['from_cache'] is False, 'the module on the host has no cache: it asked the server'
        assert results['lookup'][index] == on_controller['access_token'], 'the lookup reads the controller cache'
        for token in (on_controller['access_token'], on_host['access_token']):
            assert introspect(oidc_provider, token, clients[name])['active']
            tokens.add(token)
    assert dotenv_values(str(env_path)) == dict((r['profile'], r['access_token']) for r in results['host'])
    assert stat.S_IMODE(os.stat(str(env_path)).st_mode) == 0o600

    secrets = set(VAULT_PASSWORDS.values()) | {c['client_secret'] for c in clients.values()} | tokens
    leaked = sorted(s[:6] + '...' for s in secrets if s in proc.stdout)
    assert not leaked, 'in the -vvvv output: %s' % ', '.join(leaked)
