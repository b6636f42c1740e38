# -*- coding: utf-8 -*-
"""Issue 12, finding 11: a delivery killed with SIGKILL leaves no secret in a file on the managed host.

Without pipelining, Ansible writes each module with its arguments into ``REMOTE_TMP/ansible-tmp-*/AnsiballZ_*.py``
and removes it only when the task ends; a killed run never removes it. The tasks whose arguments hold secrets
(tokenops.oauth2.env_file: the token values; tokenops.oauth2.token with ``fetch_on: host``: the client secret) run
pipelined where the connection allows it, so the module and its arguments travel through the connection's stdin.

Each test runs real ansible-playbook runs (local connection, pipelining off as by default) with the remote and local
temporary directories and TMPDIR of its own, kills the whole run (kill_helper) while the secret-carrying module is
at work, then searches every file under those directories for the secret; then a complete run, and searches again.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import pytest
import requests

from ansible_runner_helper import PLAYBOOK_DIR, REPO_ROOT, ansible_env, run_playbook
from kill_helper import MARKER, kill_run

ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
TOKEN = 'host-files-token-4f0c9e27b1d8'
EXPIRES = 'host-files-expiry-2031-02-03'
CLIENT_SECRET = 'host-files-client-secret-93ad51'
PADDING = ''.join('# operator notes %06d ........................................................\n' % i
                  for i in range(40000))  # a rewrite that lasts long enough to be killed in


class Host:
    """The temporary directories a run uses on the host (remote tmp, TMPDIR) and on the controller (local tmp)."""

    def __init__(self, root):
        self.root = root
        self.dirs = dict((name, root / name) for name in ('remote-tmp', 'local-tmp'))
        for path in self.dirs.values():
            path.mkdir()
        # TMPDIR short: ansible-core 2.21 starts a local RPC server on a Unix socket under it, and a socket path is
        # at most 107 bytes (pytest's tmp_path alone is about 80).
        self.dirs['host-tmp'] = pathlib.Path(tempfile.mkdtemp(prefix='tk-host-', dir='/tmp'))
        self.env = dict(ANSIBLE_REMOTE_TMP=str(self.dirs['remote-tmp']), TMPDIR=str(self.dirs['host-tmp']),
                        ANSIBLE_LOCAL_TEMP=str(self.dirs['local-tmp']),
                        TOKENOPS_OAUTH2_CACHE_DIR=str(root / 'cache'))
        self.runs = 0

    def start(self, playbook, *args):
        self.runs += 1
        tag = '%d-%s-%d' % (os.getpid(), self.root.name, self.runs)
        log = self.root / ('run-%d.log' % self.runs)
        with open(str(log), 'w') as handle:
            proc = subprocess.Popen([ANSIBLE_PLAYBOOK, os.path.join(PLAYBOOK_DIR, playbook)] + list(args),
                                    env=ansible_env(dict(self.env, **{MARKER: tag})), stdin=subprocess.DEVNULL,
                                    stdout=handle, stderr=subprocess.STDOUT, cwd=REPO_ROOT, start_new_session=True)
        return proc, tag, log

    def files_holding(self, *secrets):
        """Every file under the temporary directories that holds one of SECRETS."""
        found = []
        for directory in self.dirs.values():
            for parent, _dirs, names in os.walk(str(directory)):
                for name in names:
                    path = os.path.join(parent, name)
                    try:
                        with open(path, 'rb') as handle:
                            data = handle.read()
                    except (IOError, OSError):
                        continue
                    found += ['%s (%s)' % (path, s) for s in secrets if s.encode() in data]
        return found


@pytest.fixture
def host(tmp_path):
    host = Host(tmp_path)
    yield host
    shutil.rmtree(str(host.dirs['host-tmp']), ignore_errors=True)


def kill_when(proc, tag, log, at_work, what):
    """SIGKILL the whole run as soon as AT_WORK() says the secret-carrying module is at work."""
    deadline = time.monotonic() + 300
    while not at_work():
        assert proc.poll() is None, 'the run ended before %s:\n%s' % (what, log.read_text()[-4000:])
        assert time.monotonic() < deadline, 'no %s within 300 s' % what
        time.sleep(0.001)
    kill_run(proc, tag)


def test_a_killed_env_file_write_leaves_no_token_on_the_host(host, tmp_path):
    env_path = tmp_path / 'dest' / 'app.env'
    env_path.parent.mkdir()
    env_path.write_text(PADDING)
    tokens = tmp_path / 'tokens.json'
    tokens.write_text(json.dumps(dict(token_a=TOKEN, token_b=EXPIRES, env_path=str(env_path))))

    def at_work():  # the module's temporary file beside the env file: it is writing
        return any(name.startswith('.app.env.') for name in os.listdir(str(env_path.parent)))
    proc, tag, log = host.start('env_file_write.yml', '-e', '@%s' % tokens)
    kill_when(proc, tag, log, at_work, 'env_file write')
    assert host.files_holding(TOKEN, EXPIRES) == [], 'the killed run left the token in a file'

    run_playbook('env_file_write.yml', '-e', '@%s' % tokens, extra_env=host.env)
    assert 'HARBOR_TOKEN=%s\n' % TOKEN in env_path.read_text()
    assert host.files_holding(TOKEN, EXPIRES) == [], 'the complete run left the token in a file'


def test_a_killed_token_request_on_the_host_leaves_no_client_secret(host, quirks_server):
    def profiles(delay):
        return dict(oauth2_profiles=dict(onhost=dict(
            token_url='%s/fault/slow?delay=%d' % (quirks_server.url, delay), client_id='host-files-client',
            client_secret=CLIENT_SECRET, client_auth='client_secret_post', cache=False)))
    slow = host.root / 'slow.json'
    slow.write_text(json.dumps(profiles(60)))

    def at_work():  # the module on the host has sent its token request and waits for the answer
        seen = requests.get(quirks_server.url + '/_requests', timeout=10).json()
        return any(r['form'].get('client_secret') == CLIENT_SECRET for r in seen)
    proc, tag, log = host.start('host_token.yml', '-e', '@%s' % slow)
    kill_when(proc, tag, log, at_work, 'token request from the host')
    assert host.files_holding(CLIENT_SECRET) == [], 'the killed run left the client secret in a file'

    quick = host.root / 'quick.json'
    quick.write_text(json.dumps(profiles(0)))
    run_playbook('host_token.yml', '-e', '@%s' % quick, extra_env=host.env)
    assert host.files_holding(CLIENT_SECRET) == [], 'the complete run left the client secret in a file'


def test_a_task_that_cannot_run_pipelined_says_so(host, tmp_path):
    """ANSIBLE_KEEP_REMOTE_FILES asks for the module files to stay: the values then sit in one, and a warning says
    so (naming neither a value nor a secret)."""
    tokens = tmp_path / 'tokens.json'
    tokens.write_text(json.dumps(dict(token_a=TOKEN, token_b=EXPIRES, env_path=str(tmp_path / 'app.env'))))
    proc = run_playbook('env_file_write.yml', '-e', '@%s' % tokens,
                        extra_env=dict(host.env, ANSIBLE_KEEP_REMOTE_FILES='1'))
    assert 'cannot run pipelined' in proc.stdout and 'ANSIBLE_KEEP_REMOTE_FILES' in proc.stdout, proc.stdout
    assert TOKEN not in proc.stdout
