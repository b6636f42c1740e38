# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Several controllers sharing one Redis, as the shared token store's proofs need them: each one a real
``ansible-playbook`` process with its own HOME, local token cache, Ansible temp dir and inventory, all started at
once and each one killable as a whole (its own process group).

    controllers = [Controller(tmp_path / ('c%d' % n), store_env) for n in range(4)]
    for c in controllers:
        c.inventory(profiles, hosts=50)
        c.start('shared_store_hosts.yml', '-f', '10')
    results = [c.finish() for c in controllers]       # the proc, with .stdout; c.results() reads what it recorded
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import signal
import subprocess
import sys

from ansible_runner_helper import PLAYBOOK_DIR, REPO_ROOT, ansible_env

# The store's settings as a controller (or an AWX job) gets them: the environment.
STORE_KEY = 'shared-store-key-for-the-proofs-0123456789abcdef'
# Where a controller's refresh_token profile (refresh_token_profile) reads its refresh token and writes it back.
REFRESH_TOKEN_VARS_FILE = 'group_vars/all/lockit_refresh_token.yml'
REFRESH_TOKEN_VAR = 'vault_lockit_refresh_token'


def refresh_token_profile(server, client, **options):
    """A refresh_token profile for ``client`` of ``server`` (oidc-provider) whose refresh token is the vaulted
    variable in REFRESH_TOKEN_VARS_FILE (Controller.onboard), where each rotated one is written back."""
    profile = dict(token_url=server.url + '/token', grant_type='refresh_token', client_id=client['client_id'],
                   client_secret=client['client_secret'], refresh_token='{{ %s }}' % REFRESH_TOKEN_VAR,
                   refresh_token_vars_file=REFRESH_TOKEN_VARS_FILE, refresh_token_var=REFRESH_TOKEN_VAR)
    profile.update(options)
    return profile


def store_env(server, **extra):
    env = dict(TOKENOPS_OAUTH2_CACHE_URL=server.url, TOKENOPS_OAUTH2_CACHE_PASSWORD=server.password,
               TOKENOPS_OAUTH2_CACHE_KEY=STORE_KEY)
    env.update(extra)
    return env


class Controller(object):
    """One controller: a directory with its HOME, cache, temp dir, inventory and results."""

    def __init__(self, directory, env):
        self.directory = directory
        for sub in ('home', 'cache', 'tmp', 'inventory/group_vars/all'):
            (directory / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(str(directory / 'cache'), 0o700)
        self.env = dict(env, HOME=str(directory / 'home'), TOKENOPS_OAUTH2_CACHE_DIR=str(directory / 'cache'),
                        ANSIBLE_LOCAL_TEMP=str(directory / 'tmp'))
        self.results_file = directory / 'results.json'
        self.process = None
        self.stdout = None

    @property
    def inventory_dir(self):
        return self.directory / 'inventory'

    def inventory(self, variables, hosts=1, host_vars=None):
        """Local-connection hosts h01..hNN (``host_vars(index)`` gives each its variables), group vars in
        group_vars/all/main.yml beside the inventory (so vaulted files there load as a real inventory's do)."""
        (self.inventory_dir / 'group_vars' / 'all' / 'main.yml').write_text(json.dumps(variables))
        all_hosts = {}
        for index in range(hosts):
            host = dict(ansible_connection='local', ansible_python_interpreter=sys.executable)
            host.update(host_vars(index) if host_vars else {})
            all_hosts['h%02d' % (index + 1)] = host
        path = self.inventory_dir / 'hosts.json'
        path.write_text(json.dumps({'all': {'hosts': all_hosts}}))
        return path

    @property
    def refresh_token_vars_file(self):
        return self.inventory_dir / REFRESH_TOKEN_VARS_FILE

    def onboard(self, refresh_token):
        """Put ``refresh_token`` vault-encrypted in this controller's REFRESH_TOKEN_VARS_FILE, as the onboard playbook
        does, and give its runs the vault password."""
        from test_rotate import VAULT_PASSWORD, write_vaulted_vars
        write_vaulted_vars(self.refresh_token_vars_file, {REFRESH_TOKEN_VAR: refresh_token})
        (self.directory / 'vault-pass').write_text(VAULT_PASSWORD)
        self.env['ANSIBLE_VAULT_PASSWORD_FILE'] = str(self.directory / 'vault-pass')

    def refresh_token(self):
        """The refresh token in this controller's REFRESH_TOKEN_VARS_FILE now."""
        from test_rotate import read_vaulted_var
        return read_vaulted_var(self.refresh_token_vars_file, REFRESH_TOKEN_VAR)

    def start(self, playbook, *args):
        if not os.path.isabs(playbook) and playbook.endswith('.yml'):  # else a collection's: tokenops.oauth2.rotate
            playbook = os.path.join(PLAYBOOK_DIR, playbook)
        command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), playbook,
                   '-i', str(self.inventory_dir / 'hosts.json'), '-e', 'store_results_file=%s' % self.results_file]
        self.process = subprocess.Popen(command + list(args), env=ansible_env(self.env), cwd=REPO_ROOT,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                                        start_new_session=True)  # its own process group: kill() takes all of it
        return self

    def finish(self, timeout=900):
        self.stdout = self.process.communicate(timeout=timeout)[0]
        return self.process.returncode

    def kill(self):
        """SIGKILL the whole run: ansible-playbook and every worker it forked (each worker is a session of its own,
        so a process group is not enough: every descendant is found by its parent)."""
        doomed = [self.process.pid] + descendants(self.process.pid)
        os.killpg(self.process.pid, signal.SIGSTOP)  # no new worker while the others die
        for pid in reversed(doomed):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.stdout = self.process.communicate(timeout=60)[0]

    def results(self):
        return json.loads(self.results_file.read_text())


def descendants(pid):
    """Every living descendant of ``pid`` (from /proc), children first."""
    parents = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open('/proc/%s/stat' % entry) as handle:
                    parents.setdefault(int(handle.read().rsplit(')', 1)[1].split()[1]), []).append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(0), [])
        found.extend(children)
        todo.extend(children)
    return found


def run_all(controllers, playbook, *args):
    """Start every controller at once, wait for all; AssertionError with the output of any that failed."""
    for controller in controllers:
        controller.start(playbook, *args)
    failed = [c for c in controllers if c.finish() != 0]
    assert not failed, '\n\n'.join('%s exited %d:\n%s' % (c.directory, c.process.returncode, c.stdout[-6000:])
                                   for c in failed)
    return controllers


def run_all_from_one_start_line(controllers, playbook, *args):
    """run_all, with every controller held at a start line until all are there (ansible-playbook start-up takes
    seconds on a busy machine): then their token lookups begin within about a second of each other."""
    import time
    go_file = controllers[0].directory.parent / ('go-%d' % time.monotonic_ns())
    ready_files = [c.directory / ('ready-%s' % go_file.name) for c in controllers]
    for controller, ready in zip(controllers, ready_files):
        controller.start(playbook, '-e', 'store_go_file=%s' % go_file, '-e', 'store_ready_file=%s' % ready, *args)
    deadline = time.monotonic() + 300
    while not all(ready.exists() for ready in ready_files):
        assert time.monotonic() < deadline and all(c.process.poll() is None for c in controllers), \
            'a controller never reached the start line: %s' % [c.process.poll() for c in controllers]
        time.sleep(0.1)
    go_file.write_text('')
    failed = [c for c in controllers if c.finish() != 0]
    assert not failed, '\n\n'.join('%s exited %d:\n%s' % (c.directory, c.process.returncode, c.stdout[-6000:])
                                   for c in failed)
    return controllers
