# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The demo (demo/run.py, what ./scripts/demo.sh runs) as a user runs it, checked against what it leaves behind:
the services' logs and env files, the vault-encrypted files, and whether anything it started is still running.

The demo claims a story (the orders token rotated and its service restarted once, the reports deliveries left
alone, no token printed); this test checks each claim with evidence the demo's summary does not provide itself.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import re
import subprocess
import sys

import yaml
from ansible.parsing.vault import VaultLib, VaultSecret

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def read_lines(path):
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def env_value(path, key):
    """The value of KEY in an env file the way a shell reads it (the demo's services load it with sh)."""
    output = subprocess.run(['/bin/sh', '-c', 'set -a; . "$0"; printf %s "$' + key + '"', path],
                            stdout=subprocess.PIPE, check=True, universal_newlines=True).stdout
    assert output, '%s holds no %s' % (path, key)
    return output


def vault_yaml(path, vault):
    """A vars file with inline !vault values, or a whole-file vault, decrypted into a mapping."""
    with open(path, 'rb') as handle:
        data = handle.read()
    if data.startswith(b'$ANSIBLE_VAULT'):
        data = vault.decrypt(data)

    class Loader(yaml.SafeLoader):
        pass
    Loader.add_constructor('!vault', lambda loader, node: vault.decrypt(loader.construct_scalar(node)).decode())
    return yaml.load(data, Loader=Loader)


def test_demo_rotates_one_token_restarts_its_service_once_and_prints_no_token(tmp_path):
    workdir = tmp_path / 'demo'
    proc = subprocess.run([sys.executable, os.path.join(REPO_ROOT, 'demo', 'run.py'), '--workdir', str(workdir)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=600,
                          cwd=REPO_ROOT, env=dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0'),
                          check=False)
    out = proc.stdout
    assert proc.returncode == 0, out[-8000:]

    # The summary says what happened ...
    assert re.search(r'^  orders +renewed +expires \S+Z -> services/orders-sync/token\.env$', out, re.M), out
    assert re.search(r'^  reports +still valid +expires \S+Z -> services/report-mailer/token\.env, '
                     r'inventory/group_vars/all/reports_token\.yml$', out, re.M), out
    assert re.search(r'^  orders-sync: +restarted 1 time, its token changed', out, re.M), out
    assert re.search(r'^  report-mailer: +not restarted, same token', out, re.M), out
    assert 'Token requests to the server: 2 for the first delivery, 1 for the rotation' in out

    # ... and the services' own logs agree: orders-sync started twice, with two different tokens, and the server
    # accepted every call; report-mailer started once.
    services = workdir / 'services'
    orders_log = read_lines(str(services / 'orders-sync' / 'calls.log'))
    mailer_log = read_lines(str(services / 'report-mailer' / 'calls.log'))
    orders_starts = [e['token_sha256'] for e in orders_log if e['event'] == 'start']
    mailer_starts = [e['token_sha256'] for e in mailer_log if e['event'] == 'start']
    assert len(orders_starts) == 2 and orders_starts[0] != orders_starts[1], orders_log
    assert len(mailer_starts) == 1, mailer_log
    for log in (orders_log, mailer_log):
        calls = [e for e in log if e['event'] == 'call']
        assert calls and all(e['status'] == 200 for e in calls), calls
        assert log[-1]['event'] == 'stop', 'the demo did not stop the service: %s' % log[-1]

    # The files hold the tokens the services used.
    orders_token = env_value(str(services / 'orders-sync' / 'token.env'), 'ORDERS_TOKEN')
    reports_token = env_value(str(services / 'report-mailer' / 'token.env'), 'REPORTS_TOKEN')
    assert sha256(orders_token) == orders_starts[-1]
    assert sha256(reports_token) == mailer_starts[0]
    with open(str(workdir / 'vault-password')) as handle:
        vault = VaultLib([('default', VaultSecret(handle.read().strip().encode()))])
    group_vars = workdir / 'inventory' / 'group_vars' / 'all'
    assert vault_yaml(str(group_vars / 'reports_token.yml'), vault)['reports_access_token'] == reports_token
    secrets = vault_yaml(str(group_vars / 'vault.yml'), vault)
    assert sorted(secrets) == ['vault_orders_client_secret', 'vault_reports_client_secret']

    # No token was printed: neither the tokens in the files, nor any token a service held (every string of the
    # output that could be a token is hashed and compared), nor a client secret.
    for value in [orders_token, reports_token] + list(secrets.values()):
        assert value not in out
    assert not windows_hashing_to(out, set(orders_starts + mailer_starts), {len(orders_token), len(reports_token)}), \
        'the demo printed a token'

    # Nothing left running: neither the services (their logs end with "stop", above) nor the server.
    server_pid = int(re.search(r'listening on http://127\.0\.0\.1:\d+, pid (\d+)$', out, re.M).group(1))
    pids = [server_pid] + [int((services / name / 'pid').read_text()) for name in ('orders-sync', 'report-mailer')]
    left = [pid for pid in pids if running(pid, ('oauth2_server.mjs', 'consumer.py'))]
    assert not left, 'the demo left processes running: %s' % left


def windows_hashing_to(text, digests, lengths):
    """Every substring of TEXT of one of the LENGTHS whose SHA-256 is in DIGESTS: finds a token known only by its
    hash wherever it is printed, whatever surrounds it."""
    return [text[i:i + n] for n in lengths for i in range(len(text) - n + 1) if sha256(text[i:i + n]) in digests]


def running(pid, names):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as handle:
            argv = handle.read().decode(errors='replace')
        with open('/proc/%d/stat' % pid) as handle:
            state = handle.read().rsplit(')', 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != 'Z' and any(name in argv for name in names)
