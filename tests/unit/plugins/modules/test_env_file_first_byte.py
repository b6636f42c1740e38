# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 7: the env_file module's files are never wider than asked, from their first byte, under umask 000 (the
widest): the temporary file, the file as atomic_move leaves it, and the backup copy of the previous file.
test_env_file.py covers the default mode under umask 022."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import stat

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.tokenops.oauth2.plugins.modules import env_file

TOKEN = 'leak-first-byte-env-token-2c8d7e'
OLD_TOKEN = 'leak-first-byte-old-env-token-b51f'


def run(capsys, **args):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            env_file.main()
    return json.loads(capsys.readouterr().out)


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def current_umask():
    old = os.umask(0)
    os.umask(old)
    return old


@pytest.fixture
def spy(monkeypatch):
    """Record each file created with os.open (mode asked, mode got, size), the target's mode right after
    atomic_move, and the umask and the copy's mode when a backup copy is made."""
    seen = dict(opens=[], moves=[], copies=[])
    real_open, real_move, real_copy2 = os.open, basic.AnsibleModule.atomic_move, shutil.copy2

    def spy_open(path, flags, mode=0o777, *args, **kwargs):
        fd = real_open(path, flags, mode, *args, **kwargs)
        if flags & os.O_CREAT:
            info = os.fstat(fd)
            seen['opens'].append((path, mode, stat.S_IMODE(info.st_mode), info.st_size))
        return fd

    def spy_move(self, src, dest, *args, **kwargs):
        real_move(self, src, dest, *args, **kwargs)
        seen['moves'].append(mode_of(dest))

    def spy_copy2(src, dst, *args, **kwargs):
        umask = current_umask()
        result = real_copy2(src, dst, *args, **kwargs)
        seen['copies'].append((umask, mode_of(dst)))
        return result

    monkeypatch.setattr(env_file.os, 'open', spy_open)
    monkeypatch.setattr(basic.AnsibleModule, 'atomic_move', spy_move)
    monkeypatch.setattr(shutil, 'copy2', spy_copy2)
    return seen


@pytest.mark.parametrize('mode, expected', [(None, 0o600), ('0640', 0o640), ('0644', 0o644)])
def test_new_file_is_private_until_it_gets_the_requested_mode(tmp_path, capsys, umask_000, spy, mode, expected):
    path = str(tmp_path / 'token.env')
    args = dict(path=path, values=dict(API_TOKEN=TOKEN))
    if mode:
        args['mode'] = mode
    assert run(capsys, **args)['changed'] is True
    [(tmp, asked, got, size)] = spy['opens']
    assert (asked, got, size) == (0o600, 0o600, 0), 'created 0600 and empty, before the secret was written'
    # atomic_move creates its target 0666 & ~umask (0666 here): the module's private umask keeps it 0600.
    assert spy['moves'] == [0o600]
    assert mode_of(path) == expected and os.listdir(str(tmp_path)) == ['token.env']


def test_backup_copy_is_private_while_it_is_written(tmp_path, capsys, umask_000, spy):
    path = str(tmp_path / 'token.env')
    with open(path, 'w') as handle:
        handle.write('API_TOKEN=%s\n' % OLD_TOKEN)
    os.chmod(path, 0o600)
    result = run(capsys, path=path, values=dict(API_TOKEN=TOKEN), backup=True)
    # The copy is created under umask 077 (0600 from its first byte), then gets the old file's own mode.
    assert spy['copies'] == [(0o077, 0o600)], spy['copies']
    assert mode_of(result['backup_file']) == 0o600
    with open(result['backup_file']) as handle:
        assert OLD_TOKEN in handle.read()
    assert current_umask() == 0, 'the process umask was restored'
