# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ansible-playbook forks a worker for every host and task. What its main process has loaded before forking, the
workers inherit; what it has not, each worker loads again (imports, and the lookup's configuration read from its
documentation). Ansible's debug log says which: a plugin a worker finds already loaded is logged with
found_in_cache=True.

- The token module's action plugin is loaded by the main process before its task's workers are forked (the strategy
  reads BYPASS_HOST_LOOP from it), and loads the lookup with it: the workers find the lookup loaded.
- A play that only calls the lookup loads nothing of ours in the main process, unless the callback
  tokenops.oauth2.preload is enabled.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import sys

from ansible_runner_helper import run_playbook

from token_helper import cache_env

HOSTS = ('h1', 'h2', 'h3')

LOOKUP_PLAY = '''
- name: The lookup on every host
  hosts: all
  gather_facts: false
  tasks:
    - name: Use the token
      ansible.builtin.assert:
        that: lookup('tokenops.oauth2.token', 'p', field='header').startswith('Bearer ')
        quiet: true
'''

MODULE_PLAY = '''
- name: The module on every host
  hosts: all
  gather_facts: false
  tasks:
    - name: Obtain the token
      tokenops.oauth2.token:
        profile: p
'''

LOOKUP_LOAD = re.compile(r"Loading LookupModule '[\w.]*tokenops\.oauth2\.plugins\.lookup\.token' from \S+(?: \((.*)\))?$",
                         re.M)


def run(tmp_path, server, play, **environment):
    client = server.clients['cc_basic']
    inventory = os.path.join(str(tmp_path), 'inventory.json')
    with open(inventory, 'w') as handle:
        json.dump({'all': {'hosts': dict((h, {}) for h in HOSTS), 'vars': dict(
            ansible_connection='local', ansible_python_interpreter=sys.executable,
            oauth2_profiles=dict(p=dict(token_url=server.url + '/token', client_id=client['client_id'],
                                        client_secret=client['client_secret'], client_auth=client['client_auth'],
                                        scope='api:read', resource='urn:tokenops:api')))}}, handle)
    path = os.path.join(str(tmp_path), 'play.yml')
    with open(path, 'w') as handle:
        handle.write(play)
    environment.update(cache_env(tmp_path), ANSIBLE_DEBUG='1')
    proc = run_playbook(path, '-i', inventory, '--forks', '3', extra_env=environment)
    return LOOKUP_LOAD.findall(proc.stdout)


def test_a_lookup_only_play_loads_the_lookup_in_every_worker(tmp_path, oidc_provider):
    loads = run(tmp_path, oidc_provider, LOOKUP_PLAY)
    assert len(loads) == len(HOSTS) and not any('found_in_cache=True' in how for how in loads), loads


def test_the_preload_callback_loads_it_once_before_the_forks(tmp_path, oidc_provider):
    loads = run(tmp_path, oidc_provider, LOOKUP_PLAY, ANSIBLE_CALLBACKS_ENABLED='tokenops.oauth2.preload')
    assert sorted(loads) == sorted(['found_in_cache=False, class_only=True']
                                   + ['found_in_cache=True, class_only=False'] * len(HOSTS)), loads


def test_the_module_task_preloads_without_the_callback(tmp_path, oidc_provider):
    loads = run(tmp_path, oidc_provider, MODULE_PLAY)
    in_workers = [how for how in loads if 'class_only=True' not in how]
    assert in_workers == ['found_in_cache=True, class_only=False'] * len(HOSTS), loads
