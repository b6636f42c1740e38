# -*- coding: utf-8 -*-
"""The controller token cache under real concurrency (issue 3): real servers, real processes, real playbooks.

Request counts come from the servers' own ``/_stats``, so "one request" means the server saw one token POST.
The servers are session fixtures shared with other tests in this process, so every count is a difference taken
around the step it measures.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time

import pytest

from ansible_runner_helper import run_playbook, session_dir
from token_helper import authorization_code_profile, cache_env, fail, obtain, write_vars

from ansible_collections.tokenops.oauth2.plugins.module_utils.cache import TokenCache
from ansible_collections.tokenops.oauth2.plugins.module_utils.client import TokenClient
from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import build_profile

PROCESSES = 50


def cc_profile(server, client_name='cc_basic', **options):
    client = server.clients[client_name]
    profile = dict(token_url=server.url + '/token', client_id=client['client_id'],
                   client_secret=client['client_secret'], client_auth=client['client_auth'], scope='api:read',
                   resource='urn:tokenops:api')
    profile.update(options)
    return profile


def token_requests(server):
    return server.stats()['token_requests']


def python_env():
    """Environment for child Pythons: the collection importable as ansible_collections.tokenops.oauth2."""
    return dict(os.environ, PYTHONPATH=os.path.join(session_dir(), 'collections'), PYTHONWARNINGS='ignore')


def cache_dir_of(tmp_path):
    return cache_env(tmp_path)['TOKENOPS_OAUTH2_CACHE_DIR']


# -- single flight across processes -----------------------------------------------------------------------------

# Each child imports everything (requests included) before the gate, so that after the gate opens the fifty race
# for the cache within milliseconds of each other instead of being spread out by their import times. Directory
# creation, cache read, lock and request all happen after the gate.
RACER = r'''
import fcntl, json, os, sys
from ansible_collections.tokenops.oauth2.plugins.module_utils.cache import TokenCache
from ansible_collections.tokenops.oauth2.plugins.module_utils.client import TokenClient
from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import build_profile
import ansible_collections.tokenops.oauth2.plugins.module_utils.transport
import ansible_collections.tokenops.oauth2.plugins.module_utils.responses

gate, ready_dir, cache_dir, profile_file = sys.argv[1:5]
with open(profile_file) as handle:
    data = json.load(handle)
open(os.path.join(ready_dir, str(os.getpid())), 'w').close()
with open(gate) as handle:
    fcntl.flock(handle, fcntl.LOCK_SH)  # blocks while the parent holds LOCK_EX: the start line
token = TokenClient(build_profile('cold', data), cache=TokenCache(cache_dir)).get_token()
print(json.dumps(dict(access_token=token.access_token, from_cache=token.from_cache)))
'''


def race(tmp_path, profile, processes=PROCESSES):
    """Start ``processes`` children that each get a token for ``profile`` at the same moment; their results."""
    gate, ready_dir = tmp_path / 'gate', tmp_path / 'ready'
    ready_dir.mkdir()
    profile_file = tmp_path / 'profile.json'
    profile_file.write_text(json.dumps(profile))
    profile_file.chmod(0o600)
    gate.touch()
    # The start line is an exclusive flock held here; the children queue for a shared one. Unlike a file they
    # poll for, it cannot leave a late child behind, and it releases all of them in the same instant.
    with open(str(gate)) as gate_handle:
        fcntl.flock(gate_handle, fcntl.LOCK_EX)
        children = [subprocess.Popen([sys.executable, '-c', RACER, str(gate), str(ready_dir), cache_dir_of(tmp_path),
                                      str(profile_file)], env=python_env(), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, universal_newlines=True)
                    for _index in range(processes)]
        deadline = time.monotonic() + 120
        while len(os.listdir(str(ready_dir))) < processes:
            assert time.monotonic() < deadline, 'children did not start'
            assert all(child.poll() is None for child in children), [c.communicate() for c in children if c.poll()]
            time.sleep(0.05)
        fcntl.flock(gate_handle, fcntl.LOCK_UN)
    results = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        results.append(json.loads(out))
    return results


def test_fifty_processes_one_cold_profile_one_request(tmp_path, oidc_provider):
    before = token_requests(oidc_provider)
    results = race(tmp_path, cc_profile(oidc_provider))
    assert token_requests(oidc_provider) - before == 1
    assert len(set(r['access_token'] for r in results)) == 1, 'all fifty hold the one token'
    assert sum(1 for r in results if not r['from_cache']) == 1, 'exactly one process asked the server'


# -- single flight through ansible-playbook ---------------------------------------------------------------------

def write_inventory(tmp_path, hosts):
    path = tmp_path / 'inventory.ini'
    path.write_text('[fleet]\nhost[001:%03d]\n\n[fleet:vars]\nansible_connection=local\n'
                    'ansible_python_interpreter=%s\n' % (hosts, sys.executable))
    return str(path)


FLEET_PLAY = '''
- name: Many hosts, one profile, the token used by two tasks each
  hosts: fleet
  gather_facts: false
  tasks:
    - name: Use the token in a condition
      ansible.builtin.assert:
        that: lookup('tokenops.oauth2.token', 'shared', field='header').startswith('Bearer ')
        quiet: true

    - name: Keep the token as a fact
      ansible.builtin.set_fact:
        fleet_token: "{{ lookup('tokenops.oauth2.token', 'shared') }}"
      no_log: true

    - name: Record the distinct tokens the hosts hold
      ansible.builtin.copy:
        content: "{{ ansible_play_hosts | map('extract', hostvars, 'fleet_token') | unique | list | to_json }}"
        dest: "{{ fleet_results_file }}"
        mode: "0600"
      run_once: true
      delegate_to: localhost
      no_log: true
'''


def test_fifty_hosts_twenty_forks_one_request_cold_none_warm(tmp_path, oidc_provider):
    playbook = tmp_path / 'fleet.yml'
    playbook.write_text(FLEET_PLAY)
    results_file = str(tmp_path / 'fleet-tokens.json')
    variables = write_vars(tmp_path, dict(shared=cc_profile(oidc_provider)), fleet_results_file=results_file)
    env = dict(cache_env(tmp_path), ANSIBLE_INVENTORY=write_inventory(tmp_path, 50))

    counts = []
    for _run in ('cold', 'warm'):
        before = token_requests(oidc_provider)
        proc = run_playbook(str(playbook), '--forks', '20', '-e', '@' + variables, extra_env=env)
        counts.append(token_requests(oidc_provider) - before)
        recap = re.findall(r'^host\d+ +: ok=\d+ +changed=\d+ +unreachable=0 +failed=0 ', proc.stdout, re.M)
        assert len(recap) == 50, proc.stdout
        with open(results_file) as handle:
            assert len(json.load(handle)) == 1, 'every host holds the same token'
    assert counts == [1, 0]


# -- the lock dies with its holder -------------------------------------------------------------------------------

HOLDER = r'''
import sys, time
from ansible_collections.tokenops.oauth2.plugins.module_utils.cache import TokenCache
with TokenCache(sys.argv[1]).lock(sys.argv[2]):
    print('locked', flush=True)
    time.sleep(600)
'''

# Waits in get_token for the profile whose lock the holder has, then reports what it got.
WAITER = r'''
import json, sys
from ansible_collections.tokenops.oauth2.plugins.module_utils.cache import TokenCache
from ansible_collections.tokenops.oauth2.plugins.module_utils.client import TokenClient
from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import build_profile
with open(sys.argv[2]) as handle:
    client = TokenClient(build_profile('p', json.load(handle)), cache=TokenCache(sys.argv[1]))
print('asking', flush=True)
token = client.get_token()
print(json.dumps(dict(access_token=token.access_token, from_cache=token.from_cache)))
'''


def test_lock_is_released_when_its_holder_is_killed(tmp_path, oidc_provider):
    """A process dies holding the profile's lock without storing a token; a process waiting in get_token for
    that profile then gets the lock and asks the server itself."""
    cache_dir, profile = cache_dir_of(tmp_path), cc_profile(oidc_provider)
    profile_file = tmp_path / 'profile.json'
    profile_file.write_text(json.dumps(profile))
    key = TokenClient(build_profile('p', profile), cache=TokenCache(cache_dir)).cache_key()
    before = token_requests(oidc_provider)
    holder = subprocess.Popen([sys.executable, '-c', HOLDER, cache_dir, key], env=python_env(),
                              stdout=subprocess.PIPE, universal_newlines=True)
    waiter = None
    try:
        assert holder.stdout.readline().strip() == 'locked'
        # The lock is really held: a separate open file description cannot take it.
        with open(os.path.join(cache_dir, key + '.lock')) as handle:
            with pytest.raises(BlockingIOError):
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        waiter = subprocess.Popen([sys.executable, '-c', WAITER, cache_dir, str(profile_file)], env=python_env(),
                                  stdout=subprocess.PIPE, universal_newlines=True)
        assert waiter.stdout.readline().strip() == 'asking'
        time.sleep(0.5)
        assert waiter.poll() is None, 'the waiter waits while the lock is held'
        assert token_requests(oidc_provider) == before
    finally:
        holder.send_signal(signal.SIGKILL)  # no finally, no atexit: only the kernel can release the lock
        holder.wait(timeout=10)
    assert holder.returncode == -signal.SIGKILL
    killed_at = time.monotonic()
    # A lock wedged by the dead holder would hang the waiter; the timeout makes that a failure, not a stuck suite.
    out = waiter.communicate(timeout=30)[0]
    assert waiter.returncode == 0
    assert time.monotonic() - killed_at < 5, 'the waiter went on promptly'
    assert json.loads(out)['from_cache'] is False, 'nothing was stored: the waiter asked the server itself'
    assert token_requests(oidc_provider) - before == 1


# -- expiry and the renew window --------------------------------------------------------------------------------

def sleep_until(timestamp):
    time.sleep(max(0.0, timestamp - time.time()))


def test_served_from_cache_inside_the_window_renewed_after(tmp_path, oidc_provider_short_ttl):
    server = oidc_provider_short_ttl  # access tokens live 3 s
    cache = TokenCache(cache_dir_of(tmp_path))
    windowed = TokenClient(build_profile('windowed', cc_profile(server, renew_before=2)), cache=cache)
    default = TokenClient(build_profile('default', cc_profile(server, 'cc_post')), cache=cache)

    before = token_requests(server)
    first, other = windowed.get_token(), default.get_token()
    assert not first.from_cache and first.expires_at_ts - first.obtained_at == 3
    assert token_requests(server) - before == 2

    # Inside the window: the cached token, no request. renew_before=2 makes a 3 s token due after 1 s.
    again = windowed.get_token()
    assert again.from_cache and again.access_token == first.access_token
    assert token_requests(server) - before == 2

    sleep_until(first.expires_at_ts - 2 + 0.2)
    renewed = windowed.get_token()
    assert not renewed.from_cache and renewed.access_token != first.access_token
    assert token_requests(server) - before == 3
    assert windowed.get_token().access_token == renewed.access_token  # and the renewal was cached

    # Without renew_before the window is 10 % of a short lifetime (0.3 s): still cached at 1.2 s, renewed once
    # expired.
    assert default.get_token().access_token == other.access_token
    sleep_until(other.expires_at_ts + 0.1)
    assert default.get_token().access_token != other.access_token
    assert token_requests(server) - before == 4


# -- what is on disk after real runs ----------------------------------------------------------------------------


@pytest.fixture(scope='module')
def used_cache(tmp_path_factory, oidc_provider):
    """Two real runs (cold, then warm) over a client secret profile, a code profile holding a refresh token and
    a public client (whose entries are keyed by the cache's master key alone), into a cache directory that
    existed beforehand with mode 0755."""
    tmp_path = tmp_path_factory.mktemp('used-cache')
    cache_dir = cache_dir_of(tmp_path)
    os.mkdir(cache_dir)
    os.chmod(cache_dir, 0o755)
    profiles = dict(secret=cc_profile(oidc_provider), code=authorization_code_profile(oidc_provider, 'web'),
                    public=authorization_code_profile(oidc_provider, 'public'))
    cold = obtain(tmp_path, profiles)
    warm = obtain(tmp_path, profiles)
    secrets = {p[k] for p in profiles.values() for k in ('client_secret', 'code', 'code_verifier') if k in p}
    tokens = set()
    for results in (cold, warm):
        for token in list(results['module'].values()) + list(results['lookup'].values()):
            tokens |= {token[k] for k in ('access_token', 'refresh_token') if token.get(k)}
    assert all(t['from_cache'] for t in warm['module'].values())
    assert any(t['refresh_token'] for t in cold['module'].values()), 'a refresh token is in the cache'
    return cache_dir, secrets, tokens


def test_cache_dir_0700_and_every_file_0600(used_cache):
    cache_dir = used_cache[0]
    assert stat.S_IMODE(os.stat(cache_dir).st_mode) == 0o700, 'the 0755 directory was tightened'
    names = os.listdir(cache_dir)
    kinds = {'.master-key' if n == '.master-key' else os.path.splitext(n)[1] for n in names}
    assert kinds >= {'.token', '.lock', '.master-key'}, names  # every kind of file is there to be checked
    assert not [n for n in names if n.startswith('.tmp-')], 'no temporary file left behind'
    modes = dict((n, stat.S_IMODE(os.lstat(os.path.join(cache_dir, n)).st_mode)) for n in names)
    assert set(modes.values()) == {0o600}, modes


def test_no_secret_or_token_in_cache_file_names_or_contents(used_cache):
    cache_dir, secrets, tokens = used_cache
    assert len(tokens) >= 5  # three access tokens and two refresh tokens, at least
    for name in os.listdir(cache_dir):
        with open(os.path.join(cache_dir, name), 'rb') as handle:
            content = handle.read().decode('latin-1')
        found = [s for s in secrets | tokens if s in name or s in content]
        assert not found, '%s holds %d secret(s) in the clear' % (name, len(found))


def test_corrupt_cache_file_one_warning_no_secret_run_succeeds(tmp_path, oidc_provider):
    profile = cc_profile(oidc_provider)
    first = obtain(tmp_path, dict(p=profile))
    cache_dir = cache_dir_of(tmp_path)
    token_files = [n for n in os.listdir(cache_dir) if n.endswith('.token')]
    assert len(token_files) == 1
    path = os.path.join(cache_dir, token_files[0])
    with open(path, 'w') as handle:
        handle.write('{"version": 1, "key_id": "trunc')

    before = token_requests(oidc_provider)
    second = obtain(tmp_path, dict(p=profile))
    out = second['stdout']
    warnings = [line for line in out.splitlines() if 'token cache file' in line]
    assert len(warnings) == 1, out
    assert path in warnings[0] and '[WARNING]' in warnings[0]
    old, new = first['module']['p']['access_token'], second['module']['p']['access_token']
    assert not [s for s in (profile['client_secret'], old, new) if s in out]
    assert token_requests(oidc_provider) - before == 1, 'the unreadable entry was replaced by one new token'
    assert second['lookup']['p']['access_token'] == new and second['lookup']['p']['from_cache']


def test_changed_secret_misses_the_cache_and_asks_the_server(tmp_path, oidc_provider):
    profile = cc_profile(oidc_provider)
    results = obtain(tmp_path, dict(p=profile), lookup=False)
    before = token_requests(oidc_provider)

    # Same identity, another secret: the entry must not be served; the server is asked and refuses.
    out = fail(tmp_path, dict(p=dict(profile, client_secret='not-the-secret-3c2b1a')), 'p', via='lookup')
    assert 'invalid_client' in out and 'token cache file' not in out, out
    assert token_requests(oidc_provider) - before == 1

    # The refused attempt did not disturb the entry: the right secret is still served from the cache.
    again = obtain(tmp_path, dict(p=profile), lookup=False)
    assert again['module']['p']['from_cache'] and \
        again['module']['p']['access_token'] == results['module']['p']['access_token']
    assert token_requests(oidc_provider) - before == 1
