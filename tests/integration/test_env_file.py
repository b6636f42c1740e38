# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tokenops.oauth2.env_file through real ansible-playbook runs on localhost, read back by sh and python-dotenv.

Every run is made with -vvvv and its whole output is searched for the values.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import stat
import subprocess
import sys

import pytest
from dotenv import dotenv_values

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ansible_runner_helper import run_playbook  # noqa: E402  pylint: disable=wrong-import-position

TOKEN_A = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJlbnYtZmlsZS1hIn0.ZW52LXNpZy1hLTU1NDQzMzIyMTEwMDk5ODg3Nw'
EXPIRES_A = '2031-07-01T12:34:56+00:00'
TOKEN_B = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJlbnYtZmlsZS1iIn0.ZW52LXNpZy1iLTEyMzQ1Njc4OTAxMjM0NTY3OA'
EXPIRES_B = '2032-08-02T01:02:03+00:00'
BAD_TOKEN = 'multi-line-token-6617\nINJECTED=1'
SECRETS = (TOKEN_A, EXPIRES_A, TOKEN_B, EXPIRES_B, 'multi-line-token-6617')
RECAP = re.compile(r'localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)')


class Target:
    def __init__(self, root):
        self.root = root
        self.env_file = root / 'etc' / 'token.env'
        self.env_file.parent.mkdir()
        for name, token, expires in (('a', TOKEN_A, EXPIRES_A), ('b', TOKEN_B, EXPIRES_B), ('bad', BAD_TOKEN, 'x')):
            with open(str(root / ('tokens_%s.yml' % name)), 'w') as f:
                f.write('token_a: %s\ntoken_b: "%s"\n' % (_yaml_str(token), expires))

    def run(self, playbook, *args, tokens='a', fails=False):
        proc = run_playbook(playbook, '-vvvv', '-e', '@%s' % (self.root / ('tokens_%s.yml' % tokens)),
                            '-e', 'env_path=%s' % self.env_file, *args, check=False)
        out = proc.stdout
        for secret in SECRETS:
            assert secret not in out, 'a value appears in the ansible-playbook -vvvv output'
        recap = RECAP.search(out)
        assert recap, out
        failed = int(recap.group(3))
        assert (proc.returncode != 0) == fails and bool(failed) == fails, out
        return out, int(recap.group(2))


def _yaml_str(value):
    return '"%s"' % value.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n')


@pytest.fixture
def target(tmp_path):
    return Target(tmp_path)


def mode_of(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def sourced_by_sh(path):
    out = subprocess.run(['sh', '-c', 'set -a; . "$1"; printf "%s\\n%s\\n" "$HARBOR_TOKEN" "$HARBOR_TOKEN_EXPIRES_AT"',
                          'sh', str(path)], check=True, capture_output=True, text=True, env={'PATH': '/usr/bin:/bin'})
    return out.stdout.splitlines()


def test_write_rerun_check_diff_rotate_and_read_back(target):
    out, changed = target.run('env_file_write.yml')
    assert changed == 1
    assert target.env_file.read_text() == 'HARBOR_TOKEN=%s\nHARBOR_TOKEN_EXPIRES_AT=%s\n' % (TOKEN_A, EXPIRES_A)
    assert mode_of(target.env_file) == 0o600
    first = target.env_file.read_bytes()
    inode = os.stat(str(target.env_file)).st_ino

    out, changed = target.run('env_file_write.yml', '--diff')
    assert changed == 0 and target.env_file.read_bytes() == first and os.stat(str(target.env_file)).st_ino == inode

    out, changed = target.run('env_file_write.yml', '--check', '--diff', tokens='b')
    assert changed == 1 and target.env_file.read_bytes() == first
    assert '+HARBOR_TOKEN (value changed)' in out and '-HARBOR_TOKEN (old value)' in out

    out, changed = target.run('env_file_write.yml', tokens='b')
    assert changed == 1
    assert sourced_by_sh(target.env_file) == [TOKEN_B, EXPIRES_B]
    assert dict(dotenv_values(str(target.env_file))) == {'HARBOR_TOKEN': TOKEN_B, 'HARBOR_TOKEN_EXPIRES_AT': EXPIRES_B}

    out, changed = target.run('env_file_absent.yml')
    assert changed == 1 and target.env_file.read_text() == 'HARBOR_TOKEN=%s\n' % TOKEN_B
    assert '"HARBOR_TOKEN_EXPIRES_AT"' in out, 'keys_changed names the removed key'
    out, changed = target.run('env_file_absent.yml')
    assert changed == 0


def test_keeps_the_rest_of_an_existing_file_and_its_mode(target):
    target.env_file.write_text('# locker-sync\nLOG_LEVEL=debug\nHARBOR_TOKEN=stale\n\nexport OTHER="x y"\n')
    os.chmod(str(target.env_file), 0o640)
    out, changed = target.run('env_file_write.yml', '-e', 'make_backup=true')
    assert changed == 1
    assert target.env_file.read_text() == (
        '# locker-sync\nLOG_LEVEL=debug\nHARBOR_TOKEN=%s\n\nexport OTHER="x y"\nHARBOR_TOKEN_EXPIRES_AT=%s\n'
        % (TOKEN_A, EXPIRES_A))
    assert mode_of(target.env_file) == 0o640
    backups = [p for p in target.env_file.parent.iterdir() if p.name.startswith('token.env.')]
    assert len(backups) == 1 and 'HARBOR_TOKEN=stale' in backups[0].read_text()
    out, changed = target.run('env_file_write.yml', '-e', 'env_mode=0600')
    assert changed == 1 and mode_of(target.env_file) == 0o600


def test_a_value_with_a_newline_is_refused_naming_the_key(target):
    target.env_file.write_text('HARBOR_TOKEN=%s\n' % TOKEN_A)
    out, changed = target.run('env_file_write.yml', tokens='bad', fails=True)
    assert 'the value of HARBOR_TOKEN contains a newline' in out
    assert target.env_file.read_text() == 'HARBOR_TOKEN=%s\n' % TOKEN_A
    assert os.listdir(str(target.env_file.parent)) == ['token.env']
