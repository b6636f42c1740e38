# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the benchmarks share: this checkout as the collection tokenops.oauth2, ansible-playbook runs with a private
cache directory, the test authorization servers, and a table printer.

Benchmarks compare approaches measured in the same invocation on the same machine and print ratios; they never
judge an absolute time, which depends on the machine.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import atexit
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from tests.servers.launch import start  # noqa: E402  pylint: disable=wrong-import-position

__all__ = ['start']

_WORKDIR = []


def workdir():
    """A temporary directory for this run, holding ``collections/ansible_collections/tokenops/oauth2`` (a link to
    this checkout, wherever it is cloned, or to the checkout named by BENCH_COLLECTION: another version of the
    collection to measure with these benchmarks, such as the main branch before a change); removed at exit."""
    if not _WORKDIR:
        path = tempfile.mkdtemp(prefix='tokenops-oauth2-bench-')
        atexit.register(shutil.rmtree, path, True)
        os.makedirs(os.path.join(path, 'collections', 'ansible_collections', 'tokenops'))
        collection = os.path.abspath(os.environ.get('BENCH_COLLECTION') or REPO_ROOT)
        os.symlink(collection, os.path.join(path, 'collections', 'ansible_collections', 'tokenops', 'oauth2'))
        _WORKDIR.append(path)
    return _WORKDIR[0]


def collections_path():
    return os.path.join(workdir(), 'collections')


def python_env():
    """Environment for a child Python that imports the engine as ansible_collections.tokenops.oauth2."""
    return dict(os.environ, PYTHONPATH=collections_path(), PYTHONWARNINGS='ignore')


def write_file(name, text, mode=0o600):
    path = os.path.join(workdir(), name)
    with open(path, 'w') as handle:
        handle.write(text)
    os.chmod(path, mode)
    return path


def write_vars(name, data):
    return write_file(name, json.dumps(data))


def write_inventory(name, groups, parent):
    """An inventory of local-connection hosts: ``groups`` maps a group name to (host pattern, group vars); the
    group ``parent`` holds them all."""
    lines = []
    for group, (pattern, group_vars) in groups.items():
        lines += ['[%s]' % group, pattern, '', '[%s:vars]' % group]
        lines += ['%s=%s' % item for item in sorted(group_vars.items())] + ['']
    lines += ['[%s:children]' % parent] + list(groups) + ['']
    lines += ['[all:vars]', 'ansible_connection=local', 'ansible_python_interpreter=%s' % sys.executable]
    return write_file(name, '\n'.join(lines) + '\n')


def two_profile_fleet(hosts):
    """An inventory of ``hosts`` local-connection hosts in the group fleet, the first half using the profile alpha,
    the others beta (the variable token_profile)."""
    half = hosts // 2
    return write_inventory('inventory.ini', dict(
        alpha=('host[%03d:%03d]' % (1, half), dict(token_profile='alpha')),
        beta=('host[%03d:%03d]' % (half + 1, hosts), dict(token_profile='beta')),
    ), parent='fleet')


def delivery_fleet(name, hosts):
    """An inventory of ``hosts`` local-connection hosts in the group fleet, with bench_dir (this run's directory)."""
    return write_inventory(name, dict(hosts=('host[%03d:%03d]' % (1, hosts), dict(bench_dir=workdir()))),
                           parent='fleet')


def deliver_role_play(subdir):
    """A play that delivers the profile api with the deliver role to ``bench_dir/SUBDIR/<host>.env`` on each host."""
    return ROLE_PLAY.replace('SUBDIR', subdir)


ROLE_PLAY = '''
- name: Deliver the token with the role
  hosts: fleet
  gather_facts: false
  vars:
    oauth2_deliveries:
      - profile: api
        to: env_file
        path: "{{ bench_dir }}/SUBDIR/{{ inventory_hostname }}.env"
        vars: {API_TOKEN: access_token, API_TOKEN_EXPIRES_AT: expires_at}
        mode: "0600"
  roles:
    - role: tokenops.oauth2.deliver
'''


def run_playbook(playbook, inventory, cache_dir, *args):
    """Run ansible-playbook; return (wall seconds, output). Fails loudly, since a failed run measures nothing."""
    wall, _cpu, output = run_playbook_measured(playbook, inventory, cache_dir, *args)
    return wall, output


def run_playbook_measured(playbook, inventory, cache_dir, *args, **environment):
    """Run ansible-playbook (``environment``: variables to add); return (wall seconds, CPU seconds, output). The CPU
    time is user + sys of the whole process tree (ansible-playbook and every worker it forked and waited for), which a
    busy machine disturbs much less than the wall time."""
    env = dict(os.environ)
    for name in ('ANSIBLE_CONFIG', 'ANSIBLE_VAULT_PASSWORD_FILE', 'ANSIBLE_VAULT_IDENTITY_LIST',
                 'ANSIBLE_CALLBACKS_ENABLED'):
        env.pop(name, None)
    env.update(ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_INVENTORY=inventory,
               ANSIBLE_LOCAL_TEMP=os.path.join(workdir(), 'ansible-local-tmp'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_RETRY_FILES_ENABLED='False', TOKENOPS_OAUTH2_CACHE_DIR=cache_dir, PYTHONWARNINGS='ignore',
               # A failure shows its exception (ansible-core 2.19+ shows none by default), so that a run that
               # crashed says where.
               ANSIBLE_DISPLAY_TRACEBACK='error')
    env.update(environment)
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), playbook] + list(args)
    usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, cwd=workdir(), check=False)
    elapsed = time.monotonic() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit('%s failed (exit %d):\n%s' % (' '.join(command), proc.returncode, proc.stdout[-5000:]))
    cpu = (usage.ru_utime - usage_before.ru_utime) + (usage.ru_stime - usage_before.ru_stime)
    return elapsed, cpu, proc.stdout


def fleet_arguments(doc, pairs_help=None):
    """An argument parser described by the first line of ``doc``, with a fleet's --hosts (200) and --forks (20), and
    --pairs (3) when ``pairs_help`` says what a round alternates."""
    parser = argparse.ArgumentParser(description=doc.split('\n', maxsplit=1)[0])
    parser.add_argument('--hosts', type=int, default=200)
    parser.add_argument('--forks', type=int, default=20)
    if pairs_help:
        parser.add_argument('--pairs', type=int, default=3, help='%s (default 3)' % pairs_help)
    return parser


RECAP = re.compile(r'^\S+\s+:\s+ok=\d+\s+changed=(\d+)', re.M)


def hosts_changed(output):
    """How many hosts the PLAY RECAP of ansible-playbook's ``output`` counts changes on."""
    return sum(1 for n in RECAP.findall(output) if int(n))


def cc_profile(server, client_name):
    """A client credentials profile for one of oidc-provider's clients."""
    client = server.clients[client_name]
    return dict(token_url=server.url + '/token', client_id=client['client_id'], client_secret=client['client_secret'],
                client_auth=client['client_auth'], scope='api:read', resource='urn:tokenops:api')


def token_requests(server):
    """Token endpoint POSTs the server has counted (its /_stats)."""
    return server.stats()['token_requests']


def print_table(title, headers, rows):
    cells = [list(headers)] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    print('\n' + title)
    for index, row in enumerate(cells):
        print('  '.join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if index == 0:
            print('  '.join('-' * w for w in widths))
    sys.stdout.flush()


def ratio(value, baseline):
    return '%.2fx' % (value / baseline) if baseline else 'n/a'
