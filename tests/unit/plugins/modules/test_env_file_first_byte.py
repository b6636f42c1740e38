# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 7: the env_file module's files are never wider than asked, from their first byte, under umask 000 (the
widest): the temporary file, the file as its rename leaves it, and the backup copy of the previous file.
test_env_file.py covers the default mode under umask 022."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.tokenops.oauth2.plugins.module_utils import private_file
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


@pytest.fixture
def spy(monkeypatch):
    """Record each file created with os.open (mode asked, mode got, size), the mode of each write, and the mode of
    each file renamed into place, right after the rename."""
    seen = dict(opens=[], writes=[], moves=[])
    real_open, real_write, real_rename = os.open, os.write, os.rename

    def spy_open(path, flags, mode=0o777, *args, **kwargs):
        fd = real_open(path, flags, mode, *args, **kwargs)
        if flags & os.O_CREAT:
            info = os.fstat(fd)
            seen['opens'].append((path, mode, stat.S_IMODE(info.st_mode), info.st_size))
        return fd

    def spy_write(fd, data):
        seen['writes'].append(stat.S_IMODE(os.fstat(fd).st_mode))
        return real_write(fd, data)

    def spy_rename(src, dst, *args, **kwargs):
        real_rename(src, dst, *args, **kwargs)
        seen['moves'].append(stat.S_IMODE(os.stat(dst, dir_fd=kwargs.get('dst_dir_fd')).st_mode))

    monkeypatch.setattr(private_file.os, 'open', spy_open)
    monkeypatch.setattr(private_file.os, 'write', spy_write)
    monkeypatch.setattr(private_file.os, 'rename', spy_rename)
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
    assert spy['writes'] and set(spy['writes']) == {expected}, 'the requested mode before the first byte'
    assert spy['moves'] == [expected]
    assert mode_of(path) == expected and os.listdir(str(tmp_path)) == ['token.env']


def test_backup_copy_is_private_while_it_is_written(tmp_path, capsys, umask_000, spy):
    path = str(tmp_path / 'token.env')
    with open(path, 'w') as handle:
        handle.write('API_TOKEN=%s\n' % OLD_TOKEN)
    os.chmod(path, 0o600)
    result = run(capsys, path=path, values=dict(API_TOKEN=TOKEN), backup=True)
    # Two files made: the copy of the old file, then the new file; both created 0600 and empty, and written with
    # their mode (the old file's, the asked one) already set.
    assert [(asked, got, size) for _path, asked, got, size in spy['opens']] == [(0o600, 0o600, 0)] * 2
    assert set(spy['writes']) == {0o600} and spy['moves'] == [0o600, 0o600]
    assert mode_of(result['backup_file']) == 0o600
    with open(result['backup_file']) as handle:
        assert OLD_TOKEN in handle.read()
