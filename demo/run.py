#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The demo: tokens from profiles in a vault-encrypted inventory, delivered to two services and rotated.

    python demo/run.py [--collections-path DIR] [--workdir DIR]

It starts a real authorization server on 127.0.0.1 (npm @node-oauth/oauth2-server; the orders client's tokens live
90 s, the reports client's an hour), writes an inventory (demo/inventory, plus the server's client secrets in a
vault-encrypted file), then runs demo/demo.yml twice:

1. the first delivery: the tokenops.oauth2.deliver role writes each service's env file and a vault-encrypted vars
   file, and the playbook's handlers start the two services (demo/consumer.py), which call the server's API with
   the token from their environment;
2. a scheduled rotation (-e oauth2_deliver_renew_before=300, as the schedule role passes it): the orders token
   expires within that window and is renewed, so orders-sync is restarted; the reports token is not, so its env
   file, its vault-encrypted vars file and report-mailer are left alone.

Then it prints a summary and checks it. No token is ever printed. Everything it starts is stopped at the end, and
everything it wrote is removed (unless --workdir names where to keep it).
--collections-path runs the playbook against an installed collection instead of this checkout.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(HERE)
sys.path.insert(0, REPO_ROOT)
sys.path.insert(0, HERE)

from ansible.parsing.vault import VaultLib, VaultSecret  # noqa: E402

import services  # noqa: E402  pylint: disable=wrong-import-position
from tests.servers.launch import ServerStartError, start  # noqa: E402  pylint: disable=wrong-import-position

# The orders token (90 s) expires within the rotation's window; the reports token (1 h) does not.
ORDERS_TOKEN_LIFETIME = 90
ROTATION_WINDOW = 300
SERVICES = {
    'orders-sync': dict(profile='orders', token_var='ORDERS_TOKEN'),
    'report-mailer': dict(profile='reports', token_var='REPORTS_TOKEN'),
}
VAULT_VARS_FILE = os.path.join('inventory', 'group_vars', 'all', 'reports_token.yml')
SETTLE_SECONDS = 2  # the services call the API once a second: let them make a few calls with each token


def private_file(path, data):
    """Create PATH holding DATA (bytes), mode 0600 from the first byte; refuse to follow a symlink."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, 'wb') as handle:
        handle.write(data)


def make_workdir(requested):
    if requested is None:
        return tempfile.mkdtemp(prefix='tokenops-demo-')
    if os.path.lexists(requested) and (not os.path.isdir(requested) or os.path.islink(requested)
                                       or os.listdir(requested)):
        sys.exit('demo: --workdir %s must be a new or empty directory' % requested)
    os.makedirs(requested, mode=0o700, exist_ok=True)
    os.chmod(requested, 0o700)
    return os.path.abspath(requested)


def checkout_as_collection(workdir):
    tree = os.path.join(workdir, 'collections')
    os.makedirs(os.path.join(tree, 'ansible_collections', 'tokenops'))
    os.symlink(REPO_ROOT, os.path.join(tree, 'ansible_collections', 'tokenops', 'oauth2'))
    return tree


def write_inventory(workdir, server):
    """Copy demo/inventory into WORKDIR and add what depends on the server just started: its address (site.yml)
    and its secrets, in a vault-encrypted file (vault.yml). Returns the vault password file."""
    inventory = os.path.join(workdir, 'inventory')
    shutil.copytree(os.path.join(HERE, 'inventory'), inventory)
    group_vars = os.path.join(inventory, 'group_vars', 'all')
    site = dict(demo_api_url=server.url, demo_dir=workdir, demo_services=os.path.join(HERE, 'services.py'))
    private_file(os.path.join(group_vars, 'site.yml'), json.dumps(site, indent=2).encode() + b'\n')

    password = os.urandom(16).hex()
    password_file = os.path.join(workdir, 'vault-password')
    private_file(password_file, password.encode() + b'\n')
    plain = json.dumps(dict(vault_orders_client_secret=server.clients['app']['client_secret'],
                            vault_reports_client_secret=server.clients['reporter']['client_secret']))
    vault = VaultLib([('default', VaultSecret(password.encode()))])
    private_file(os.path.join(group_vars, 'vault.yml'), vault.encrypt(plain))
    return password_file


def write_services(workdir, server):
    spec = dict(demo_pid=os.getpid(), services={})
    for name, service in SERVICES.items():
        home = services.service_dir(workdir, name)
        os.makedirs(home, mode=0o700)
        spec['services'][name] = dict(env_file=os.path.join(home, 'token.env'), token_var=service['token_var'],
                                      api=server.url + '/me')
    private_file(os.path.join(workdir, 'services.json'), json.dumps(spec, indent=2).encode() + b'\n')


def file_digest(path):
    try:
        with open(path, 'rb') as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except FileNotFoundError:
        return None


def read_json_lines(path):
    try:
        with open(path) as handle:
            return [json.loads(line) for line in handle if line.strip()]
    except FileNotFoundError:
        return []


class Demo:
    def __init__(self, workdir, collections_path, server, keep):
        self.workdir, self.server, self.keep = workdir, server, keep
        self.password_file = write_inventory(workdir, server)
        write_services(workdir, server)
        self.env = dict(os.environ,
                        ANSIBLE_COLLECTIONS_PATH=collections_path or checkout_as_collection(workdir),
                        TOKENOPS_OAUTH2_CACHE_DIR=os.path.join(workdir, 'cache'),
                        ANSIBLE_FORCE_COLOR=os.environ.get('ANSIBLE_FORCE_COLOR', '0'),
                        ANSIBLE_DISPLAY_SKIPPED_HOSTS=os.environ.get('ANSIBLE_DISPLAY_SKIPPED_HOSTS', 'false'))
        self.requests = {}  # step -> token requests the server received during it
        self.digests = {}   # step -> {file: sha256 of its bytes after the step}

    def relative(self, path):
        return os.path.relpath(path, self.workdir)

    def watched_files(self):
        files = [os.path.join(self.workdir, VAULT_VARS_FILE)]
        return files + [os.path.join(services.service_dir(self.workdir, name), 'token.env') for name in SERVICES]

    def playbook(self, step, *extra):
        before = self.server.stats()['token_requests']
        command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'),
                   '-i', os.path.join(self.workdir, 'inventory'), '--vault-password-file', self.password_file,
                   '-e', 'demo_step=' + step] + list(extra) + [os.path.join(HERE, 'demo.yml')]
        print('$ ansible-playbook demo/demo.yml -i inventory --vault-password-file vault-password -e demo_step=%s%s'
              % (step, ''.join(' ' + arg for arg in extra)), flush=True)
        status = subprocess.call(command, env=self.env, cwd=self.workdir)
        self.requests[step] = self.server.stats()['token_requests'] - before
        self.digests[step] = dict((path, file_digest(path)) for path in self.watched_files())
        if status != 0:
            raise SystemExit('demo: the %s run of demo/demo.yml failed (exit %d); its output is above'
                             % (step, status))
        time.sleep(SETTLE_SECONDS)

    def show_inventory(self):
        group_vars = os.path.join(self.workdir, 'inventory', 'group_vars', 'all')
        with open(os.path.join(group_vars, 'vault.yml')) as handle:
            header = handle.readline().strip()
        print('== The inventory (%s)' % self.relative(group_vars))
        print('   profiles.yml    two profiles of the server\'s clients: orders and reports')
        print('   deliveries.yml  orders -> orders-sync env file; reports -> report-mailer env file and a vault file')
        print('   vault.yml       their client secrets, vault-encrypted: %s ...' % header)
        print('   site.yml        the server this demo started: %s' % self.server.url, flush=True)

    def show_vault_vars_file(self):
        with open(os.path.join(self.workdir, VAULT_VARS_FILE)) as handle:
            lines = handle.read().splitlines()
        shown = [line for line in lines if line.strip() and not line.startswith('  ') or '$ANSIBLE_VAULT' in line]
        print('== %s, as later playbooks will load it:' % VAULT_VARS_FILE)
        for line in shown:
            print('   ' + line.strip())
        print('   (each value is encrypted with the run\'s vault password)', flush=True)

    def service_history(self, name):
        """(the token fingerprints of its successive starts, its calls)."""
        events = read_json_lines(os.path.join(services.service_dir(self.workdir, name), 'calls.log'))
        starts = [event['token_sha256'] for event in events if event['event'] == 'start']
        calls = [event for event in events if event['event'] == 'call']
        return starts, calls

    def summary(self):
        """Print the summary; return what went other than the demo means to show (an empty list when all is well)."""
        with open(os.path.join(self.workdir, 'summary-rotation.json')) as handle:
            rotation = dict((entry['profile'], entry) for entry in json.load(handle))
        problems = []
        print('== Summary')
        print('Tokens, as the rotation found them:')
        for name, entry in sorted(rotation.items()):
            targets = ', '.join(self.relative(where.split(':', 1)[-1]) for where in entry['destinations'])
            print('  %-8s %-12s expires %s -> %s' % (name, entry['status'], entry['expires_at'], targets))
        print('Token requests to the server: %d for the first delivery, %d for the rotation'
              % (self.requests['delivery'], self.requests['rotation']))
        print('Services:')
        for name, service in sorted(SERVICES.items()):
            starts, calls = self.service_history(name)
            accepted = sum(1 for call in calls if call['status'] == 200)
            tokens = ' -> '.join(fingerprint[:12] for fingerprint in starts)
            if len(starts) > 1:
                what = 'restarted %d time%s, its token changed (sha256 %s)' % (
                    len(starts) - 1, '' if len(starts) == 2 else 's', tokens)
            else:
                what = 'not restarted, same token since the first delivery (sha256 %s)' % tokens
            print('  %-14s %s; %d API calls, %d accepted' % (name + ':', what, len(calls), accepted))
            expected_starts = 2 if rotation[service['profile']]['status'] == 'renewed' else 1
            if len(starts) != expected_starts or len(set(starts)) != len(starts):
                problems.append('%s started %d times with %d distinct tokens, expected %d'
                                % (name, len(starts), len(set(starts)), expected_starts))
            if not calls or accepted != len(calls):
                problems.append('%s: %d of %d API calls accepted' % (name, accepted, len(calls)))
        print('Left alone by the rotation (byte for byte):')
        for path in self.watched_files():
            if self.digests['rotation'][path] == self.digests['delivery'][path]:
                print('  ' + self.relative(path))
        print('No token was printed: the services log SHA-256 fingerprints only.')
        kept = '' if self.keep else ' (removed now; --workdir DIR keeps them)'
        print('The demo\'s files: %s%s' % (self.workdir, kept), flush=True)
        if rotation['orders']['status'] != 'renewed' or rotation['reports']['status'] != 'still valid':
            problems.append('the rotation should renew orders and leave reports: %s'
                            % ', '.join('%s %s' % (n, e['status']) for n, e in sorted(rotation.items())))
        if self.requests['rotation'] != 1:
            problems.append('the rotation sent %d token requests, expected 1' % self.requests['rotation'])
        return problems


def tell_the_story(demo):
    print('authorization server (npm @node-oauth/oauth2-server) listening on %s, pid %d'
          % (demo.server.url, demo.server.pid))
    demo.show_inventory()
    print('\n== 1. First delivery: env files for orders-sync and report-mailer, the reports token into a '
          'vault-encrypted vars file; the handlers start both services', flush=True)
    demo.playbook('delivery')
    demo.show_vault_vars_file()
    print('\n== 2. Scheduled rotation: renew the tokens that expire within %d s (the orders token lives '
          '%d s, the reports token an hour)' % (ROTATION_WINDOW, ORDERS_TOKEN_LIFETIME), flush=True)
    demo.playbook('rotation', '-e', 'oauth2_deliver_renew_before=%d' % ROTATION_WINDOW)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--collections-path', help='run against an installed collection instead of the checkout')
    parser.add_argument('--workdir', help='a new directory for the demo\'s files, kept afterwards '
                                          '(default: a temporary directory, removed at the end)')
    args = parser.parse_args()
    started = time.monotonic()
    workdir = make_workdir(args.workdir)
    try:
        try:
            server = start('oauth2_server', token_ttl_by_client=dict(app=ORDERS_TOKEN_LIFETIME))
        except ServerStartError as exc:
            return 'demo: cannot start the authorization server (scripts/setup.sh installs what it needs): %s' % exc
        with server:
            demo = Demo(workdir, args.collections_path, server, keep=args.workdir is not None)
            try:
                tell_the_story(demo)
            finally:
                for name in SERVICES:
                    services.stop(workdir, name)
            print()
            problems = demo.summary()
        print('Done in %.0f s.' % (time.monotonic() - started))
        if problems:
            return 'demo: UNEXPECTED: ' + '; '.join(problems)
        return 0
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
