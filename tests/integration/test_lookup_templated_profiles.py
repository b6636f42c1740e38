# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lookup templates a profile only when templating can change it (plugin_utils/controller.template_data). These
profiles must still be templated: a client secret that is an inline vaulted value, one that names a vaulted
variable, and a nested template in extra_params. Each is served by the lookup many times in one template, from the
cache, with the secret the server checks, and the wrong secret in a variable still fails."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys

import pytest
import yaml

from ansible_runner_helper import REPO_ROOT, run_playbook
from token_helper import cache_env

PLAY = '''
- name: The lookup, many times in one template
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Twenty cache hits
      ansible.builtin.assert:
        that: >-
          {% set ns = namespace(ok=true) %}{% for i in range(20) %}{% set ns.ok = ns.ok and
          lookup('tokenops.oauth2.token', 'p', field='header').startswith('Bearer ') %}{% endfor %}{{ ns.ok }}
        quiet: true
'''


def vault_encrypt(tmp_path, value, name):
    password_file = tmp_path / 'vault-pass'
    password_file.write_text('vault-password-for-the-test\n')
    out = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-vault'), 'encrypt_string',
                          '--vault-password-file', str(password_file), value, '--name', name],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=True,
                         cwd=REPO_ROOT)
    return out.stdout, str(password_file)


def run(tmp_path, server, secret_yaml, extra_vars_yaml='', check=True):
    client = server.clients['cc_basic']
    vars_file = tmp_path / 'vars.yml'
    vars_file.write_text('%s\noauth2_profiles:\n  p:\n    token_url: %s\n    client_id: %s\n    client_auth: %s\n'
                         '    scope: api:read\n    resource: urn:tokenops:api\n%s\n' % (
                             extra_vars_yaml, server.url + '/token', client['client_id'], client['client_auth'],
                             secret_yaml))
    play = tmp_path / 'play.yml'
    play.write_text(PLAY)
    password_file = tmp_path / 'vault-pass'
    args = ['-e', '@%s' % vars_file]
    if password_file.exists():
        args += ['--vault-password-file', str(password_file)]
    return run_playbook(str(play), *args, extra_env=cache_env(tmp_path), check=check)


def indented(vaulted, key):
    """``key: !vault |`` and its lines, indented as a profile key."""
    lines = vaulted.strip().splitlines()
    return '\n'.join(['    %s: %s' % (key, lines[0].split(':', 1)[1].strip())] + ['  ' + line for line in lines[1:]])


def test_an_inline_vaulted_secret(tmp_path, oidc_provider):
    vaulted, _password_file = vault_encrypt(tmp_path, oidc_provider.clients['cc_basic']['client_secret'], 's')
    run(tmp_path, oidc_provider, indented(vaulted, 'client_secret'))


@pytest.mark.parametrize('right', [True, False])
def test_a_secret_from_a_vaulted_variable(tmp_path, oidc_provider, right):
    secret = oidc_provider.clients['cc_basic']['client_secret'] if right else 'not-the-secret'
    vaulted, _password_file = vault_encrypt(tmp_path, secret, 'vault_p_secret')
    proc = run(tmp_path, oidc_provider, '    client_secret: "{{ vault_p_secret }}"', vaulted, check=right)
    if not right:
        assert proc.returncode != 0 and 'invalid_client' in proc.stdout, proc.stdout
        assert 'not-the-secret' not in proc.stdout


def test_a_template_nested_in_a_mapping(tmp_path, oidc_provider):
    secret = oidc_provider.clients['cc_basic']['client_secret']
    extra = yaml.safe_dump(dict(p_secret=secret, p_audience='urn:tokenops:api'))
    run(tmp_path, oidc_provider, '    client_secret: "{{ p_secret }}"\n    extra_params: {audience: "{{ p_audience }}"}',
        extra)
