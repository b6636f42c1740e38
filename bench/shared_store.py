# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared token store (Redis) against private file caches: four controllers, then one big lookup play.

1. Four controllers at once (four ansible-playbook processes, each with its own HOME and cache directory), each over
   --controller-hosts local-connection hosts with --controller-forks, hosts split over two profiles: every host takes
   its token with the lookup, a cold run then a warm one. With private file caches each controller asks for its own
   tokens; sharing one Redis (cache_url), the four ask for two between them. Goal: shared store cold = 2, warm = 0.
2. A play over --lookup-hosts hosts with --lookup-forks, three lookups per host, served warm from the store against
   the same play served warm from the file cache (best of --rounds, alternating). Goal: at most 1.3x.

Request counts are the server's own (oidc-provider's /_stats); Redis is Debian's redis-server started on 127.0.0.1
with the store's ACL user (tests/servers/redis_launch.py), as the tests start it.

    .venv/bin/python bench/shared_store.py [--controller-hosts 50] [--lookup-hosts 200] [--lookup-forks 20]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import os
import subprocess
import sys
import time

import benchlib
from lookup_requests import LOOKUP_PLAY, TASKS  # the play lookup_requests.py times: 3 lookups per host

CONTROLLERS = 4
STORE_KEY = 'bench-shared-store-key-0123456789abcdefghij'

ONE_LOOKUP_PLAY = '''
- name: Every host takes its token with the lookup
  hosts: fleet
  gather_facts: false
  tasks:
    - name: Use the token
      ansible.builtin.assert:
        that: lookup('tokenops.oauth2.token', token_profile, field='header').startswith('Bearer ')
        quiet: true
'''


def inventory(name, hosts):
    half = max(1, hosts // 2)
    return benchlib.write_inventory(name, dict(
        alpha=('host[%03d:%03d]' % (1, half), dict(token_profile='alpha')),
        beta=('host[%03d:%03d]' % (half + 1, max(hosts, half + 1)), dict(token_profile='beta')),
    ), parent='fleet')


def controller_env(index, store):
    """The environment of controller ``index``: its own HOME, cache directory and Ansible temp dir."""
    root = os.path.join(benchlib.workdir(), 'controller-%d-%s' % (index, 'store' if store else 'files'))
    for sub in ('home', 'cache', 'tmp'):
        os.makedirs(os.path.join(root, sub), mode=0o700, exist_ok=True)
    env = dict(os.environ, HOME=os.path.join(root, 'home'), ANSIBLE_LOCAL_TEMP=os.path.join(root, 'tmp'),
               ANSIBLE_COLLECTIONS_PATH=benchlib.collections_path(), ANSIBLE_NOCOLOR='1',
               ANSIBLE_RETRY_FILES_ENABLED='False', TOKENOPS_OAUTH2_CACHE_DIR=os.path.join(root, 'cache'),
               PYTHONWARNINGS='ignore')
    for name in ('ANSIBLE_CONFIG', 'ANSIBLE_VAULT_PASSWORD_FILE', 'ANSIBLE_VAULT_IDENTITY_LIST'):
        env.pop(name, None)
    env.update(store or {})
    return env


def run_controllers(playbook, inventory_path, variables, forks, store):
    """Four ansible-playbook processes at once; the wall time until the last one ends."""
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), playbook, '-i', inventory_path,
               '--forks', str(forks), '-e', '@' + variables]
    started = time.monotonic()
    processes = [subprocess.Popen(command, env=controller_env(n, store), stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, universal_newlines=True, cwd=benchlib.workdir())
                 for n in range(CONTROLLERS)]
    outputs = [p.communicate()[0] for p in processes]
    elapsed = time.monotonic() - started
    for process, output in zip(processes, outputs):
        if process.returncode != 0:
            sys.exit('a controller failed (exit %d):\n%s' % (process.returncode, output[-5000:]))
    return elapsed


def store_settings(redis):
    return dict(TOKENOPS_OAUTH2_CACHE_URL=redis.url, TOKENOPS_OAUTH2_CACHE_PASSWORD=redis.password,
                TOKENOPS_OAUTH2_CACHE_KEY=STORE_KEY, TOKENOPS_OAUTH2_CACHE_FALLBACK='fail')


def four_controllers(server, redis, variables, hosts, forks):
    inventory_path = inventory('controllers.ini', hosts)
    playbook = benchlib.write_file('one-lookup.yml', ONE_LOOKUP_PLAY)
    rows = []
    for label, store in (('private file caches', None), ('one shared store', store_settings(redis))):
        for run in ('cold', 'warm'):
            before = benchlib.token_requests(server)
            seconds = run_controllers(playbook, inventory_path, variables, forks, store)
            rows.append((label, run, benchlib.token_requests(server) - before, seconds))
    base = dict(((label, run), seconds) for label, run, _requests, seconds in rows if label == 'private file caches')
    benchlib.print_table(
        '%d controllers at once, each over %d local-connection hosts (forks %d), 2 profiles, the lookup once per host'
        % (CONTROLLERS, hosts, forks),
        ('cache', 'run', 'token requests', 'wall s', 'vs private caches'),
        [(label, run, requests, '%.1f' % seconds, benchlib.ratio(seconds, base[('private file caches', run)]))
         for label, run, requests, seconds in rows])
    store_rows = [requests for label, _run, requests, _seconds in rows if label == 'one shared store']
    return store_rows == [2, 0]


def lookup_play(server, redis, variables, hosts, forks, rounds):
    inventory_path = inventory('lookups.ini', hosts)
    playbook = benchlib.write_file('lookups.yml', LOOKUP_PLAY)
    caches = dict(file=None, store=store_settings(redis))
    for store in caches.values():  # fill both
        benchlib_run(playbook, inventory_path, variables, forks, store)
    before = benchlib.token_requests(server)
    times = dict((name, []) for name in caches)
    for _round in range(rounds):
        for name, store in caches.items():
            times[name].append(benchlib_run(playbook, inventory_path, variables, forks, store))
    requests = benchlib.token_requests(server) - before
    best = dict((name, min(seconds)) for name, seconds in times.items())
    benchlib.print_table(
        'The lookup, warm: %d hosts x %d tasks, forks %d, best of %d runs each (the store over TCP on 127.0.0.1)'
        % (hosts, TASKS, forks, rounds),
        ('served from', 'wall s (best)', 'all runs', 'vs file cache'),
        [('file cache', '%.1f' % best['file'], ' '.join('%.1f' % s for s in times['file']), '1.00x'),
         ('shared store', '%.1f' % best['store'], ' '.join('%.1f' % s for s in times['store']),
          benchlib.ratio(best['store'], best['file']))])
    return requests == 0 and best['store'] <= 1.3 * best['file']


def benchlib_run(playbook, inventory_path, variables, forks, store):
    saved = dict(os.environ)
    os.environ.update(store or {})
    try:
        return benchlib.run_playbook(playbook, inventory_path, os.path.join(benchlib.workdir(), 'lookup-cache'),
                                     '--forks', str(forks), '-e', '@' + variables)[0]
    finally:
        os.environ.clear()
        os.environ.update(saved)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--controller-hosts', type=int, default=50)
    parser.add_argument('--controller-forks', type=int, default=10)
    parser.add_argument('--lookup-hosts', type=int, default=200)
    parser.add_argument('--lookup-forks', type=int, default=20)
    parser.add_argument('--rounds', type=int, default=3)
    args = parser.parse_args()

    sys.path.insert(0, benchlib.collections_path())  # this checkout as ansible_collections.tokenops.oauth2
    from ansible_collections.tokenops.oauth2.plugins.plugin_utils.redis_store import acl_rules
    from tests.servers.redis_launch import start_redis
    with benchlib.start('oidc_provider') as server, start_redis(acl_rules()) as redis:
        variables = benchlib.write_vars('vars.json', dict(oauth2_profiles=dict(
            alpha=benchlib.cc_profile(server, 'cc_basic'), beta=benchlib.cc_profile(server, 'cc_post'))))
        controllers_goal = four_controllers(server, redis, variables, args.controller_hosts, args.controller_forks)
        lookup_goal = lookup_play(server, redis, variables, args.lookup_hosts, args.lookup_forks, args.rounds)
    print('goal (shared store: cold = 2, warm = 0 for %d controllers): %s' % (
        CONTROLLERS, 'met' if controllers_goal else 'NOT met'))
    print('goal (lookup from the store at most 1.3x the file cache, no request): %s' % (
        'met' if lookup_goal else 'NOT met'))
    return 0 if controllers_goal and lookup_goal else 1


if __name__ == '__main__':
    raise SystemExit(main())
