# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared store's settings through real ansible-playbook runs (module and lookup): where each comes from (the
environment, a vaulted variable), what is refused before anything connects, the fallback when the store is down,
and that neither the store password nor the shared key ever shows, even at -vvvv."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ansible_runner_helper import REPO_ROOT, run_playbook  # noqa: E402  pylint: disable=wrong-import-position
from token_helper import cache_env, write_vars  # noqa: E402  pylint: disable=wrong-import-position

from tests.servers.redis_launch import free_port  # noqa: E402

PASSWORD = 'store-Passw0rd-never-shown'
KEY = 'shared-store-key-never-shown-0123456789abcdef'


def cc_profile(server, **options):
    client = server.clients['cc_basic']
    profile = dict(token_url=server.url + '/token', client_id=client['client_id'],
                   client_secret=client['client_secret'], scope='api:read', resource='urn:tokenops:api')
    profile.update(options)
    return profile


def run(tmp_path, profiles, name, via, env=None, extra_vars=None, args=(), check=False):
    """token_obtain.yml (via module or lookup) for one profile with the store settings in ``env``; the output."""
    results_file = os.path.join(str(tmp_path), 'results-%s.json' % via)
    variables = write_vars(tmp_path, profiles, token_names=[name], token_results_file=results_file,
                           token_lookup=via == 'lookup', **(extra_vars or {}))
    playbook_args = ['-e', '@' + variables, '-vvvv'] + list(args)
    environment = dict(cache_env(tmp_path), TOKENOPS_OAUTH2_CACHE_PASSWORD=PASSWORD)
    environment.update(env or {})
    proc = run_playbook('token_obtain.yml', *playbook_args, extra_env=environment, check=check)
    for secret in (PASSWORD, KEY):
        assert secret not in proc.stdout, 'a store secret shows in the -vvvv output'
    return proc


@pytest.mark.parametrize('via', ['module', 'lookup'])
def test_a_password_in_the_url_is_refused_before_anything_connects(tmp_path, oidc_provider, via):
    url = 'redis://tokenops:%s@127.0.0.1:%d/0' % (PASSWORD, free_port())
    env = dict(TOKENOPS_OAUTH2_CACHE_URL=url, TOKENOPS_OAUTH2_CACHE_KEY=KEY)
    proc = run(tmp_path, {'api': cc_profile(oidc_provider)}, 'api', via, env=env)
    assert proc.returncode != 0 and 'cache_url: must not hold a password' in proc.stdout


def _vault_encrypt(tmp_path, value, name):
    password_file = tmp_path / 'vault-pass'
    password_file.write_text('vault-password-for-the-test\n')
    out = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-vault'), 'encrypt_string',
                          '--vault-password-file', str(password_file), value, '--name', name],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=True, cwd=REPO_ROOT)
    return out.stdout, str(password_file)


@pytest.mark.parametrize('via', ['module', 'lookup'])
def test_the_shared_key_is_read_from_a_vaulted_variable(tmp_path, oidc_provider, via):
    """A vaulted tokenops_oauth2_cache_key is decrypted and checked: this one is too short, so it is refused."""
    vaulted, password_file = _vault_encrypt(tmp_path, 'short-vaulted-key', 'tokenops_oauth2_cache_key')
    vars_file = tmp_path / 'store.yml'
    vars_file.write_text(vaulted)
    proc = run(tmp_path, {'api': cc_profile(oidc_provider)}, 'api', via,
               env=dict(TOKENOPS_OAUTH2_CACHE_URL='redis://tokenops@127.0.0.1:%d/0' % free_port()),
               args=['-e', '@%s' % vars_file, '--vault-password-file', password_file])
    assert proc.returncode != 0 and 'cache_key is shorter than 32 characters' in proc.stdout, proc.stdout
    assert 'short-vaulted-key' not in proc.stdout


@pytest.mark.parametrize('via', ['module', 'lookup'])
def test_without_the_shared_key_the_error_says_where_to_put_it(tmp_path, oidc_provider, via):
    proc = run(tmp_path, {'api': cc_profile(oidc_provider, cache_url='redis://127.0.0.1:%d' % free_port())}, 'api',
               via)
    assert proc.returncode != 0
    assert 'needs the shared store key cache_key' in proc.stdout and 'TOKENOPS_OAUTH2_CACHE_KEY' in proc.stdout


def test_an_unreachable_store_falls_back_to_the_controller_cache_with_one_warning(tmp_path, oidc_provider):
    """client_credentials: cache_fallback defaults to local. The module and the lookup both get the token."""
    port = free_port()
    proc = run(tmp_path, {'api': cc_profile(oidc_provider)}, 'api', 'lookup', check=True, env=dict(
        TOKENOPS_OAUTH2_CACHE_URL='redis://tokenops@127.0.0.1:%d/0' % port, TOKENOPS_OAUTH2_CACHE_KEY=KEY))
    with open(os.path.join(str(tmp_path), 'results-lookup.json')) as handle:
        results = json.load(handle)
    assert results['module'][0]['access_token'] and results['lookup']['api']['from_cache'] is True
    warnings = [line for line in proc.stdout.splitlines() if 'using the controller cache instead' in line]
    assert len(warnings) == 1, 'one warning per run (the module and the lookup each fell back): %s' % warnings
    assert "profile 'api': cannot connect to the shared token store redis://127.0.0.1:%d/0" % port in warnings[0]
    assert os.listdir(os.path.join(str(tmp_path), 'cache')), 'the controller cache was not used'


@pytest.mark.parametrize('via', ['module', 'lookup'])
def test_an_unreachable_store_fails_a_refresh_token_profile(tmp_path, oidc_provider, via):
    """refresh_token: cache_fallback defaults to fail, since a local cache could send a retired refresh token."""
    profile = cc_profile(oidc_provider, grant_type='refresh_token', refresh_token='refresh-token-never-used')
    port = free_port()
    proc = run(tmp_path, {'api': profile}, 'api', via, env=dict(
        TOKENOPS_OAUTH2_CACHE_URL='redis://tokenops@127.0.0.1:%d/0' % port, TOKENOPS_OAUTH2_CACHE_KEY=KEY))
    assert proc.returncode != 0
    assert 'cannot connect to the shared token store redis://127.0.0.1:%d/0' % port in proc.stdout
    assert 'refresh-token-never-used' not in proc.stdout


def test_without_redis_py_the_error_says_what_to_install(tmp_path, oidc_provider):
    blocker = tmp_path / 'no-redis'
    (blocker / 'redis').mkdir(parents=True)
    (blocker / 'redis' / '__init__.py').write_text("raise ImportError('No module named redis')\n")
    proc = run(tmp_path, {'api': cc_profile(oidc_provider)}, 'api', 'lookup', env=dict(
        TOKENOPS_OAUTH2_CACHE_URL='redis://127.0.0.1:%d' % free_port(), TOKENOPS_OAUTH2_CACHE_KEY=KEY,
        PYTHONPATH=str(blocker)))
    assert proc.returncode != 0
    assert 'the Python library redis (redis-py) is required on the controller for cache_url' in proc.stdout


def test_the_shared_key_is_read_from_a_key_file(tmp_path, oidc_provider, redis_own):
    """cache_key_file (here from the environment): the module stores the token sealed under the file's key, the
    lookup finds it; the key never shows, and a file others can read is refused."""
    key_file = tmp_path / 'store.key'
    key_file.write_text(KEY + '\n')
    key_file.chmod(0o600)
    env = dict(TOKENOPS_OAUTH2_CACHE_URL=redis_own.url, TOKENOPS_OAUTH2_CACHE_PASSWORD=redis_own.password,
               TOKENOPS_OAUTH2_CACHE_KEY_FILE=str(key_file))
    proc = run(tmp_path, {'api': cc_profile(oidc_provider, cache_fallback='fail')}, 'api', 'lookup', env=env,
               check=True)
    with open(os.path.join(str(tmp_path), 'results-lookup.json')) as handle:
        results = json.load(handle)
    assert results['lookup']['api']['from_cache'] is True and redis_own.password not in proc.stdout
    assert list(redis_own.admin().scan_iter('tokenops-oauth2:t:*'))
    key_file.chmod(0o644)
    proc = run(tmp_path, {'api': cc_profile(oidc_provider, cache_fallback='fail')}, 'api', 'module', env=env)
    assert proc.returncode != 0 and 'cache_key_file %s can be read or changed by others' % key_file in proc.stdout
