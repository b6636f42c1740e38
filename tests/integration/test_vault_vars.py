# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tokenops.oauth2.vault_vars through real ansible-playbook runs on localhost.

Every run is made with -vvvv and its whole output is searched for the values and the vault passwords.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import stat
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ansible_runner_helper import ansible_env, run_playbook  # noqa: E402  pylint: disable=wrong-import-position

TOKEN_A = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ2YXVsdC12YXJzLWEifQ.c2lnLWEtOTk4ODc3NjY1NTQ0MzMyMjExMDA'
EXPIRES_A = 'expires-2031-07-01T12:34:56Z-a7'
TOKEN_B = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ2YXVsdC12YXJzLWIifQ.c2lnLWItMTEyMjMzNDQ1NTY2Nzc4ODk5MDA'
EXPIRES_B = 'expires-2032-08-02T01:02:03Z-b8'
PASSWORD = 'correct-horse-vault-pw-5521'
OTHER_PASSWORD = 'wrong-battery-vault-pw-7733'
SECRETS = (TOKEN_A, EXPIRES_A, TOKEN_B, EXPIRES_B, PASSWORD, OTHER_PASSWORD)
RECAP = re.compile(r'localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)')


class Site:
    """An inventory directory with group_vars/all, vault password files and the extra-vars files."""

    def __init__(self, root):
        self.root = root
        self.inventory = root / 'inventory'
        (self.inventory / 'group_vars' / 'all').mkdir(parents=True)
        (self.inventory / 'hosts.ini').write_text(
            'localhost ansible_connection=local ansible_python_interpreter=%s\n' % sys.executable)
        self.vars_file = self.inventory / 'group_vars' / 'all' / 'harbor_token.yml'
        self.outside = root / 'outside.yml'  # a vars file the inventory does not load
        self.password_file = root / 'vault-pass'
        self.password_file.write_text(PASSWORD + '\n')
        self.other_password_file = root / 'other-vault-pass'
        self.other_password_file.write_text(OTHER_PASSWORD + '\n')
        for name, (token, expires) in (('a', (TOKEN_A, EXPIRES_A)), ('b', (TOKEN_B, EXPIRES_B))):
            # Values reach the playbook the way real ones do: in variables, never on the command line.
            (root / ('tokens_%s.yml' % name)).write_text(
                'token_a: "%s"\ntoken_b: "%s"\nexpected_a: "%s"\nexpected_b: "%s"\n' % (token, expires, token, expires))

    def run(self, playbook, *args, tokens='a', vault=True, path=None, fails=False):
        """Run PLAYBOOK -vvvv; assert it failed or not as FAILS says and that no secret is in its output.
        Returns (output, changed_count)."""
        command = [playbook, '-vvvv', '-i', str(self.inventory / 'hosts.ini'),
                   '-e', '@%s' % (self.root / ('tokens_%s.yml' % tokens)),
                   '-e', 'vars_path=%s' % (path or self.vars_file)]
        if vault:
            command += ['--vault-password-file', str(self.password_file)]
        proc = run_playbook(*(command + list(args)), check=False)
        out = proc.stdout
        for secret in SECRETS:
            assert secret not in out, 'a secret value appears in the ansible-playbook -vvvv output'
        recap = RECAP.search(out)
        assert recap, out
        ok, changed, failed = (int(n) for n in recap.groups())
        assert (proc.returncode != 0) == fails and bool(failed) == fails, out
        return out, changed

    def vault(self, password=PASSWORD):
        from ansible.parsing.vault import VaultLib, VaultSecret
        return VaultLib([('default', VaultSecret(password.encode()))])


@pytest.fixture
def site(tmp_path):
    return Site(tmp_path)


def mode_of(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def test_write_rerun_check_diff_rotate_and_load_back_from_group_vars(site):
    out, changed = site.run('vault_vars_write.yml')
    assert changed == 1
    text = site.vars_file.read_text()
    assert text.count('!vault |') == 2 and text.count('$ANSIBLE_VAULT;1.1;AES256') == 2
    assert mode_of(site.vars_file) == 0o600
    first = site.vars_file.read_bytes()

    # Same values again: nothing re-encrypted, not one byte different.
    out, changed = site.run('vault_vars_write.yml', '--diff')
    assert changed == 0 and site.vars_file.read_bytes() == first

    # Check mode with new values reports the change and writes nothing; the diff names keys only.
    out, changed = site.run('vault_vars_write.yml', '--check', '--diff', tokens='b')
    assert changed == 1 and site.vars_file.read_bytes() == first
    assert '+harbor_access_token (value changed)' in out and '-harbor_access_token (old value)' in out

    # A later run loads them from group_vars with the same password.
    site.run('vault_vars_load.yml', tokens='a')

    out, changed = site.run('vault_vars_write.yml', tokens='b')
    assert changed == 1
    site.run('vault_vars_load.yml', tokens='b')
    site.run('vault_vars_load.yml', tokens='a', fails=True)  # the assert does see the new values

    out, changed = site.run('vault_vars_absent.yml')
    assert changed == 1 and 'harbor_token_expires_at' not in site.vars_file.read_text()
    out, changed = site.run('vault_vars_absent.yml')
    assert changed == 0


def test_keeps_comments_and_variables_it_does_not_manage(site):
    foreign = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), 'ansible-vault'), 'encrypt_string', '--vault-id',
         'other@%s' % site.other_password_file, '--name', 'db_password', 'not-ours-9911'],
        check=True, capture_output=True, text=True, env=ansible_env()).stdout
    site.vars_file.write_text(
        '---\n# Tokens for locker-sync. Do not edit by hand.\nregion: eu-west\n\n'
        '# the access token\nharbor_access_token: placeholder  # set by ansible\n'
        + foreign + 'ports:\n  - 80\n  - 443\n')
    out, changed = site.run('vault_vars_write.yml')
    assert changed == 1
    text = site.vars_file.read_text()
    assert text.startswith('---\n# Tokens for locker-sync. Do not edit by hand.\nregion: eu-west\n\n# the access token\n'
                           'harbor_access_token: !vault |  # set by ansible\n  $ANSIBLE_VAULT;1.1;AES256\n')
    assert foreign in text, 'a !vault value under a vault id we do not hold is kept verbatim'
    assert text.index(foreign) < text.index('ports:\n  - 80\n  - 443\nharbor_token_expires_at: !vault |\n')
    assert 'placeholder' not in text
    out, changed = site.run('vault_vars_write.yml')
    assert changed == 0
    site.run('vault_vars_load.yml')


@pytest.mark.smoke
def test_encrypt_file_with_a_named_vault_id(site):
    vault_id = ['--vault-id', 'prod@%s' % site.password_file]
    args = ['-e', 'encrypt_mode=file', '-e', 'use_vault_id=prod'] + vault_id
    out, changed = site.run('vault_vars_write.yml', *args, vault=False, path=site.outside)
    assert changed == 1
    raw = site.outside.read_bytes()
    assert raw.startswith(b'$ANSIBLE_VAULT;1.2;AES256;prod\n')
    plain = site.vault().decrypt(raw).decode()
    assert plain == '---\nharbor_access_token: %s\nharbor_token_expires_at: %s\n' % (TOKEN_A, EXPIRES_A)

    out, changed = site.run('vault_vars_write.yml', *args, vault=False, path=site.outside)
    assert changed == 0 and site.outside.read_bytes() == raw
    site.run('vault_vars_load.yml', '-e', 'load_path=%s' % site.outside, *vault_id, vault=False)

    out, changed = site.run('vault_vars_absent.yml', '-e', 'encrypt_mode=file', *vault_id, vault=False,
                            path=site.outside)
    assert changed == 1
    assert site.vault().decrypt(site.outside.read_bytes()).decode() == '---\nharbor_access_token: %s\n' % TOKEN_A

    # encrypt=values on a wholly encrypted file would expose its other variables: refused.
    before = site.outside.read_bytes()
    out, changed = site.run('vault_vars_write.yml', *vault_id, vault=False, path=site.outside, fails=True)
    assert 'vault-encrypted as a whole; use encrypt=file' in out and site.outside.read_bytes() == before


@pytest.mark.parametrize('encrypt_mode', ['values', 'file'])
def test_a_wrong_vault_password_fails_and_leaves_the_file_untouched(site, encrypt_mode):
    site.run('vault_vars_write.yml', '-e', 'encrypt_mode=%s' % encrypt_mode, path=site.outside)
    before = site.outside.read_bytes()
    mtime = os.stat(str(site.outside)).st_mtime_ns
    out, changed = site.run('vault_vars_write.yml', '-e', 'encrypt_mode=%s' % encrypt_mode, '--vault-password-file',
                            str(site.other_password_file), tokens='b', vault=False, path=site.outside, fails=True)
    assert str(site.outside) in out and "vault id 'default'" in out and '--vault-id' in out
    assert site.outside.read_bytes() == before and os.stat(str(site.outside)).st_mtime_ns == mtime
    assert [p.name for p in site.root.iterdir() if p.name.startswith('.')] == [], 'no temporary file left behind'


def test_no_vault_secret_fails_with_a_hint(site):
    out, changed = site.run('vault_vars_write.yml', vault=False, fails=True)
    assert 'No vault secret is available' in out
    assert '--vault-id' in out and '--vault-password-file' in out and 'ANSIBLE_VAULT_PASSWORD_FILE' in out
    assert not site.vars_file.exists()


def test_unknown_vault_id_fails(site):
    out, changed = site.run('vault_vars_write.yml', '-e', 'use_vault_id=prod', fails=True)
    assert "The vault id 'prod' is not among this run's vault ids (default)" in out
    assert not site.vars_file.exists()


def test_a_file_that_is_not_a_mapping_is_refused(site):
    site.outside.write_text('- just\n- a list\n')
    out, changed = site.run('vault_vars_write.yml', path=site.outside, fails=True)
    assert 'not a mapping of variables' in out
    assert site.outside.read_text() == '- just\n- a list\n'


def test_backup_keeps_the_previous_file(site):
    site.run('vault_vars_write.yml', path=site.outside)
    before = site.outside.read_bytes()
    out, changed = site.run('vault_vars_write.yml', '-e', 'make_backup=true', tokens='b', path=site.outside)
    assert changed == 1
    backups = [p for p in site.root.iterdir() if p.name.startswith('outside.yml.') and p.name.endswith('~')]
    assert len(backups) == 1 and backups[0].read_bytes() == before and mode_of(backups[0]) == 0o600
    assert '"backup_file": "%s"' % backups[0] in out
