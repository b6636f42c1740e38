#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start, stop and restart the demo's consumer services: what systemctl does for a unit with ``EnvironmentFile=``
(this machine runs no systemd; the demo playbook's handlers call this instead).

    python demo/services.py restart orders-sync --dir DEMO_DIR
    python demo/services.py stop-all --dir DEMO_DIR

DEMO_DIR/services.json (written by demo/run.py) describes each service: its env file, the variable that holds its
token and the API it calls, and the demo's pid, which every service watches so that none outlives the demo. A
service keeps its pid in DEMO_DIR/services/NAME/pid and its log (demo/consumer.py) in calls.log beside it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import signal
import subprocess
import sys
import time

CONSUMER = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'consumer.py')
# The service's environment is its env file, loaded the way the env_file module promises a shell can load it.
LOAD_ENV_FILE_AND_RUN = 'set -a; . "$0"; set +a; exec "$@"'


def load_services(demo_dir):
    with open(os.path.join(demo_dir, 'services.json')) as handle:
        return json.load(handle)


def service_dir(demo_dir, name):
    return os.path.join(demo_dir, 'services', name)


def running_pid(demo_dir, name):
    """The pid of the service, if its pid file names a live process that is this service (not a reused pid)."""
    try:
        with open(os.path.join(service_dir(demo_dir, name), 'pid')) as handle:
            pid = int(handle.read().strip())
        with open('/proc/%d/cmdline' % pid, 'rb') as handle:
            argv = handle.read().split(b'\0')
        with open('/proc/%d/stat' % pid) as handle:
            state = handle.read().rsplit(')', 1)[1].split()[0]
    except (OSError, ValueError, IndexError):
        return None
    is_this_service = CONSUMER.encode() in argv and name.encode() in argv
    return pid if is_this_service and state != 'Z' else None


def stop(demo_dir, name):
    """Stop the service; return the pid it had, or None if it was not running."""
    pid = running_pid(demo_dir, name)
    if pid is None:
        return None
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while running_pid(demo_dir, name) == pid:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            deadline += 5
        time.sleep(0.05)
    return pid


def start(demo_dir, name):
    services = load_services(demo_dir)
    spec = services['services'][name]
    here = service_dir(demo_dir, name)
    command = ['/bin/sh', '-c', LOAD_ENV_FILE_AND_RUN, spec['env_file'],
               sys.executable, CONSUMER, '--name', name, '--token-var', spec['token_var'], '--api', spec['api'],
               '--log', os.path.join(here, 'calls.log'), '--watch-pid', str(services['demo_pid'])]
    with open(os.path.join(here, 'output.log'), 'ab') as output:
        # A new session, no inherited pipe: the service outlives this command, as a daemon would.
        process = subprocess.Popen(command, cwd=here, stdin=subprocess.DEVNULL, stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True, close_fds=True,
                                   env={'PATH': os.environ.get('PATH', '/usr/bin:/bin'), 'LANG': 'C.UTF-8'})
    pid_file = os.path.join(here, 'pid')
    descriptor = os.open(pid_file + '.new', os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, 'w') as handle:
        handle.write('%d\n' % process.pid)
    os.rename(pid_file + '.new', pid_file)
    return process.pid


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('action', choices=['restart', 'stop-all'])
    parser.add_argument('name', nargs='?')
    parser.add_argument('--dir', required=True, help='the demo directory (holds services.json)')
    args = parser.parse_args(argv)
    if args.action == 'stop-all':
        for name in load_services(args.dir)['services']:
            stop(args.dir, name)
        return 0
    if args.name not in load_services(args.dir)['services']:
        parser.error('unknown service %r' % args.name)
    old = stop(args.dir, args.name)
    new = start(args.dir, args.name)
    print('%s: %s (pid %d)' % (args.name, 'restarted, was pid %d' % old if old else 'started', new))
    return 0


if __name__ == '__main__':
    sys.exit(main())
