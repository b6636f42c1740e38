# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Single flight: 50 processes ask for one cold profile at the same instant. Goal: exactly 1 token request.

Rows:
- 50 processes, cache on: the engine as the lookup and the action plugin use it (TokenCache + flock).
- 50 processes, cache off: the same start, each process asking the server itself, for comparison.
- 50 sequential requests, cache off: one process asking 50 times in a row; the baseline for the time ratio.

Wall time runs from the instant the processes are released (or the first sequential request) until the last
token is in hand, so Python start-up and imports, identical in every row, are left out: each child imports
everything, requests included, before it waits at the start line.

    .venv/bin/python bench/single_flight.py [--processes 50]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import fcntl
import json
import os
import subprocess
import sys
import tempfile
import time

import benchlib

PRELUDE = r'''
import fcntl, json, os, sys, time
from ansible_collections.tokenops.oauth2.plugins.module_utils.cache import TokenCache
from ansible_collections.tokenops.oauth2.plugins.module_utils.client import TokenClient
from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import build_profile
import ansible_collections.tokenops.oauth2.plugins.module_utils.grants
import ansible_collections.tokenops.oauth2.plugins.module_utils.transport
import ansible_collections.tokenops.oauth2.plugins.module_utils.responses
with open(sys.argv[1]) as handle:
    data = json.load(handle)
cache_dir = sys.argv[2] or None
'''

# Waits at the start line (a shared flock the parent holds exclusively until all are ready), then gets a token.
# time.monotonic() is CLOCK_MONOTONIC, one clock for every process on the machine, so the parent can compare.
RACER = PRELUDE + r'''
open(os.path.join(sys.argv[4], str(os.getpid())), 'w').close()
with open(sys.argv[3]) as gate:
    fcntl.flock(gate, fcntl.LOCK_SH)
cache = TokenCache(cache_dir) if cache_dir else None
token = TokenClient(build_profile('cold', data), cache=cache).get_token()
print(json.dumps(dict(done=time.monotonic(), access_token=token.access_token)))
'''

SEQUENTIAL = PRELUDE + r'''
started = time.monotonic()
for _ in range(int(sys.argv[3])):
    TokenClient(build_profile('cold', data), cache=None).get_token()
print(json.dumps(dict(seconds=time.monotonic() - started)))
'''


def race(profile_file, processes, cache_dir):
    """(seconds from release to the last token, distinct tokens)."""
    scratch = tempfile.mkdtemp(dir=benchlib.workdir())
    gate, ready = os.path.join(scratch, 'gate'), os.path.join(scratch, 'ready')
    os.mkdir(ready)
    open(gate, 'w').close()
    with open(gate) as gate_handle:
        fcntl.flock(gate_handle, fcntl.LOCK_EX)
        children = [subprocess.Popen([sys.executable, '-c', RACER, profile_file, cache_dir or '', gate, ready],
                                     env=benchlib.python_env(), stdout=subprocess.PIPE, universal_newlines=True)
                    for _index in range(processes)]
        while len(os.listdir(ready)) < processes:
            if any(child.poll() is not None for child in children):
                raise SystemExit('a child process failed before the start line')
            time.sleep(0.05)
        released = time.monotonic()
        fcntl.flock(gate_handle, fcntl.LOCK_UN)
    results = []
    for child in children:
        out = child.communicate()[0]
        if child.returncode != 0:
            raise SystemExit('a child process failed')
        results.append(json.loads(out))
    return max(r['done'] for r in results) - released, len(set(r['access_token'] for r in results))


def sequential(profile_file, count):
    proc = subprocess.run([sys.executable, '-c', SEQUENTIAL, profile_file, '', str(count)], env=benchlib.python_env(),
                          stdout=subprocess.PIPE, universal_newlines=True, check=True)
    return json.loads(proc.stdout)['seconds']


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--processes', type=int, default=50)
    args = parser.parse_args()
    count = args.processes

    with benchlib.start('oidc_provider') as server:
        profile_file = benchlib.write_vars('profile.json', benchlib.cc_profile(server, 'cc_basic'))
        rows = []
        for label, run in (
                ('%d sequential requests, cache off (baseline)' % count,
                 lambda: (sequential(profile_file, count), count)),
                ('%d processes at once, cache off' % count, lambda: race(profile_file, count, None)),
                ('%d processes at once, cache on (cold)' % count,
                 lambda: race(profile_file, count, os.path.join(benchlib.workdir(), 'cache')))):
            before = benchlib.token_requests(server)
            seconds, tokens = run()
            rows.append((label, benchlib.token_requests(server) - before, tokens, seconds))

    baseline = rows[0][3]
    benchlib.print_table(
        'Single flight: %d processes, one cold profile (oidc-provider on 127.0.0.1, %d CPUs)'
        % (count, os.cpu_count() or 0),
        ('approach', 'token requests', 'distinct tokens', 'wall s', 'time vs sequential'),
        [(label, requests, tokens, '%.2f' % seconds, benchlib.ratio(seconds, baseline))
         for label, requests, tokens, seconds in rows])
    goal = rows[2][1] == 1 and rows[2][2] == 1
    print('goal (cache on: exactly 1 token request): %s' % ('met' if goal else 'NOT met'))
    return 0 if goal else 1


if __name__ == '__main__':
    raise SystemExit(main())
