# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What loading the collection's plugins costs each worker process, measured where a worker pays it.

ansible-playbook forks a worker for every host and task; plugins are loaded in the worker, after the fork, unless
the parent process loaded them first (the forks then inherit them). This script becomes such a parent: it runs a
one-task play in-process (so it holds what ansible-playbook's parent holds), does what the parent does before it
forks for a task of ours (the linear strategy loads the task's action plugin class, to read BYPASS_HOST_LOOP),
then forks --forks children one after another, each loading a plugin the way a worker does (the plugin loader:
import, then the configuration definitions read from its documentation). Reported per case: the median and the
lowest CPU time of the load in a child, how many modules it imported, and the modules that cost most, from the
child's own -X importtime report. CPU time, not wall time, so that a busy machine disturbs it little; the median
of many forks, because it still does.

Cases:
- lookup: a play whose tasks only call lookup('tokenops.oauth2.token'): the parent loads nothing of ours.
- preload: the same play with the callback tokenops.oauth2.preload enabled, which loads the lookup in the parent.
- module: a tokenops.oauth2.token task: the parent has loaded the action plugin class; the worker instantiates it
  and reads the controller settings (through the lookup's configuration).

    .venv/bin/python bench/worker_imports.py [--forks 15] [--top 8]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import re
import statistics
import subprocess
import sys

import benchlib

CHILD = r'''
import json, os, statistics, sys, time
from ansible.cli.playbook import PlaybookCLI

case, forks, inventory, play = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
null = os.open(os.devnull, os.O_WRONLY)
saved = os.dup(1)
os.dup2(null, 1)
try:
    PlaybookCLI(['ansible-playbook', '-i', inventory, play]).run()
except SystemExit:
    pass
os.dup2(saved, 1)

from ansible.plugins.loader import action_loader, lookup_loader
if case == 'module':
    # What the linear strategy does in the parent before it queues a task of ours.
    action_loader.get('tokenops.oauth2.token', class_only=True)


def load():
    if case in ('lookup', 'preload'):
        lookup_loader.get('tokenops.oauth2.token')
    else:
        from ansible_collections.tokenops.oauth2.plugins.plugin_utils import controller
        action_loader.get('tokenops.oauth2.token', class_only=True)
        controller.configured_cache_dir({})


results = []
for _fork in range(forks):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        sys.stderr.write('\nFORK\n')
        sys.stderr.flush()
        before = set(sys.modules)
        started = time.process_time()
        load()
        cpu = time.process_time() - started
        os.write(write, json.dumps([cpu, len(set(sys.modules) - before)]).encode())
        sys.stderr.write('\nEND\n')
        sys.stderr.flush()
        os._exit(0)
    os.waitpid(pid, 0)
    results.append(json.loads(os.read(read, 4096)))
    os.close(read)
    os.close(write)
sys.stderr.write('\nRESULT %s\n' % json.dumps(results))
'''

IMPORT_LINE = re.compile(r'^import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)')


def measure(case, forks, inventory, play):
    """Run the parent-and-forks script under -X importtime; return (CPU ms per fork, modules per fork, {module:
    median self µs over the forks}): each fork's own importtime lines are those between its FORK and END marks."""
    environment = dict(benchlib.python_env(), ANSIBLE_COLLECTIONS_PATH=benchlib.collections_path(),
                       TOKENOPS_OAUTH2_CACHE_DIR=os.path.join(benchlib.workdir(), 'cache'))
    environment.pop('ANSIBLE_CALLBACKS_ENABLED', None)
    if case == 'preload':
        environment['ANSIBLE_CALLBACKS_ENABLED'] = 'tokenops.oauth2.preload'
    proc = subprocess.run([sys.executable, '-X', 'importtime', '-c', CHILD, case, str(forks), inventory, play],
                          env=environment,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    marker = proc.stderr.rfind('\nRESULT ')
    if proc.returncode != 0 or marker < 0:
        sys.exit('worker import measurement (%s) failed:\n%s' % (case, proc.stderr[-3000:]))
    results = json.loads(proc.stderr[marker + len('\nRESULT '):].splitlines()[0])
    per_module = {}
    for segment in re.findall(r'\nFORK\n(.*?)\nEND\n', proc.stderr, re.S):
        for match in filter(None, (IMPORT_LINE.match(line) for line in segment.splitlines())):
            per_module.setdefault(match.group(4), []).append(int(match.group(1)))
    return ([cpu * 1000 for cpu, _n in results], [n for _cpu, n in results],
            dict((name, statistics.median(times)) for name, times in per_module.items()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--forks', type=int, default=15)
    parser.add_argument('--top', type=int, default=8)
    args = parser.parse_args()

    inventory = benchlib.write_file('worker-imports.ini', 'localhost ansible_connection=local '
                                                          'ansible_python_interpreter=%s\n' % sys.executable)
    play = benchlib.write_file('worker-imports.yml', '- hosts: all\n  gather_facts: false\n  tasks:\n'
                                                     '    - ansible.builtin.debug:\n        msg: parent\n')
    rows, details = [], []
    for case, label in (('lookup', 'lookup plugin (lookup-only play)'),
                        ('preload', 'lookup plugin, callback tokenops.oauth2.preload enabled'),
                        ('module', 'token module task (action loaded by the parent)')):
        cpus, modules, per_module = measure(case, args.forks, inventory, play)
        rows.append((label, '%.1f' % statistics.median(cpus), '%.1f' % min(cpus), statistics.median(modules)))
        top = sorted(per_module.items(), key=lambda item: -item[1])[:args.top]
        costliest = ', '.join('%s %.1f' % (name.replace('ansible_collections.tokenops.oauth2.', ''), us / 1000)
                              for name, us in top)
        details.append('%s: %s' % (case, costliest or 'nothing imported'))
    benchlib.print_table('Loading the plugin in a worker forked from a parent that ran a play: CPU ms, %d forks'
                         % args.forks, ('case', 'median ms', 'lowest ms', 'modules imported'), rows)
    print('costliest imports per worker (self ms, median):')
    for line in details:
        print('  ' + line)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
