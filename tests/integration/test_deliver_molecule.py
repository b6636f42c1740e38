# -*- coding: utf-8 -*-
"""The molecule scenario molecule/deliver (syntax, converge, idempotence, verify on this machine, no containers),
against a real oidc-provider started here, with a stand-in systemctl first on PATH (this machine runs no systemd)
that logs the restarts the verify step counts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ansible_runner_helper import REPO_ROOT, ansible_env  # noqa: E402  pylint: disable=wrong-import-position
from test_deliver import FAKE_SYSTEMCTL  # noqa: E402  pylint: disable=wrong-import-position

VAULT_PASSWORD = 'molecule-vault-pw-3391'


def test_molecule_converge_idempotence_verify(tmp_path, oidc_provider):
    client = oidc_provider.clients['cc_basic']
    (tmp_path / 'bin').mkdir()
    (tmp_path / 'bin' / 'systemctl').write_text(FAKE_SYSTEMCTL)
    (tmp_path / 'bin' / 'systemctl').chmod(0o755)
    (tmp_path / 'vault-pass').write_text(VAULT_PASSWORD + '\n')
    env = ansible_env(dict(
        PATH=os.pathsep.join([str(tmp_path / 'bin'), os.path.dirname(sys.executable), os.environ['PATH']]),
        FAKE_SYSTEMCTL_LOG=str(tmp_path / 'systemctl.log'),
        TOKENOPS_MOLECULE_DIR=str(tmp_path),
        TOKENOPS_MOLECULE_TOKEN_URL=oidc_provider.url + '/token',
        TOKENOPS_MOLECULE_CLIENT_ID=client['client_id'],
        TOKENOPS_MOLECULE_CLIENT_SECRET=client['client_secret'],
        TOKENOPS_OAUTH2_CACHE_DIR=str(tmp_path / 'cache'),
        ANSIBLE_VAULT_PASSWORD_FILE=str(tmp_path / 'vault-pass'),
        MOLECULE_EPHEMERAL_DIRECTORY=str(tmp_path / 'molecule'),
    ))
    env.pop('ANSIBLE_INVENTORY')  # molecule writes its own
    before = oidc_provider.stats()['token_requests']
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'molecule'), 'test', '-s', 'deliver'],
                          cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-8000:]
    # Each step of the sequence ran, in order, and molecule reported it successful (a step's name alone is in the
    # scenario matrix line whether the step ran or not).
    done = [proc.stdout.find('[deliver > %s] Executed: Successful' % step)
            for step in ('syntax', 'converge', 'idempotence', 'verify')]
    assert -1 not in done and done == sorted(done), proc.stdout[-8000:]
    assert proc.stdout.count('PLAY [Converge]') == 2 and 'PLAY [Verify]' in proc.stdout, proc.stdout[-8000:]
    assert oidc_provider.stats()['token_requests'] - before == 1, 'the idempotence run used the cached token'
    token = [line.split('=', 1)[1] for line in (tmp_path / 'service.env').read_text().splitlines()
             if line.startswith('SERVICE_TOKEN=')][0]
    for secret in (token, client['client_secret'], VAULT_PASSWORD):
        assert secret not in proc.stdout
