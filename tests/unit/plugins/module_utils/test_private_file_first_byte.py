# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 7: the files module_utils.private_file writes (every writer of the collection: cache, env files, vars files,
waiting authorizations, backups) have their requested mode from their first byte, whatever the umask: recorded at
creation, at every write and at the rename, under umask 000; and no mode or owner is ever changed by path."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.tokenops.oauth2.plugins.module_utils import private_file
from ansible_collections.tokenops.oauth2.plugins.module_utils.private_file import PrivateFile

SECRET = b'tree_token: leak-first-byte-token-4e1b\n'


def _where(path, dir_fd):
    """The full path of PATH, relative to DIR_FD when given."""
    if dir_fd is None:
        return path
    return os.path.join(os.readlink('/proc/self/fd/%d' % dir_fd), path)


@pytest.fixture
def spy(monkeypatch):
    """Record each file created (its mode and size at creation), the file's mode at each write, each fchmod, each
    change by path (chmod, chown, lchown) and the mode and size of each file renamed into place."""
    events = []
    real_open, real_write, real_rename, real_fchmod = os.open, os.write, os.rename, os.fchmod

    def spy_open(path, flags, mode=0o777, *args, **kwargs):
        fd = real_open(path, flags, mode, *args, **kwargs)
        if flags & os.O_CREAT:
            info = os.fstat(fd)
            events.append(('create', _where(path, kwargs.get('dir_fd')), stat.S_IMODE(info.st_mode), info.st_size))
        return fd

    def write(fd, data):
        events.append(('write', fd, stat.S_IMODE(os.fstat(fd).st_mode), len(data)))
        return real_write(fd, data)

    def rename(src, dst, *args, **kwargs):
        info = os.stat(src, dir_fd=kwargs.get('src_dir_fd'), follow_symlinks=False)
        events.append(('rename', _where(dst, kwargs.get('dst_dir_fd')), stat.S_IMODE(info.st_mode), info.st_size))
        return real_rename(src, dst, *args, **kwargs)

    def fchmod(fd, mode):
        events.append(('fchmod', fd, mode, None))
        return real_fchmod(fd, mode)

    def by_path(name):
        def change(path, *args, **kwargs):
            events.append((name, path, args, None))
        return change

    monkeypatch.setattr(private_file.os, 'open', spy_open)
    monkeypatch.setattr(private_file.os, 'write', write)
    monkeypatch.setattr(private_file.os, 'rename', rename)
    monkeypatch.setattr(private_file.os, 'fchmod', fchmod)
    for name in ('chmod', 'chown', 'lchown'):
        monkeypatch.setattr(private_file.os, name, by_path(name))
    return events


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def read(path):
    with open(path, 'rb') as handle:
        return handle.read()


def write(path, data, mode):
    with PrivateFile(path) as target:
        target.write(data, mode=mode)


@pytest.mark.parametrize('mode', [0o600, 0o640, 0o400, 0o644])
def test_a_write_has_the_requested_mode_before_the_first_byte(tmp_path, umask_000, spy, mode):
    path = str(tmp_path / 'tokens.yml')
    write(path, SECRET, mode)
    kinds = [event[0] for event in spy]
    assert kinds[:2] == ['create', 'fchmod'] and 'write' in kinds and kinds[-1] == 'rename', spy
    created = spy[0]
    # Created private and empty, in the target's directory, hidden; then set to the requested mode before any byte.
    assert created[2] == 0o600 and created[3] == 0, created
    assert os.path.dirname(created[1]) == str(tmp_path) and os.path.basename(created[1]).startswith('.')
    assert spy[1][2] == mode
    writes = [event for event in spy if event[0] == 'write']
    assert writes and all(event[2] == mode for event in writes), writes
    assert sum(event[3] for event in writes) == len(SECRET)
    assert spy[-1][1:] == (path, mode, len(SECRET))
    assert not [event for event in spy if event[0] in ('chmod', 'chown', 'lchown')], 'a change by path'
    assert mode_of(path) == mode and read(path) == SECRET


def test_replacing_a_wider_file_never_shows_the_new_secret_with_the_old_mode(tmp_path, umask_000, spy):
    path = str(tmp_path / 'tokens.yml')
    with open(path, 'wb') as handle:
        handle.write(b'old: value\n')
    os.chmod(path, 0o644)
    del spy[:]
    write(path, SECRET, 0o600)
    assert all(event[2] == 0o600 for event in spy if event[0] in ('write', 'rename')), spy
    assert mode_of(path) == 0o600


def test_a_backup_copy_has_the_old_files_mode_from_the_first_byte(tmp_path, umask_000, spy):
    path = str(tmp_path / 'tokens.yml')
    write(path, SECRET, 0o640)
    del spy[:]
    with PrivateFile(path) as target:
        kept = target.backup()
    created = [event for event in spy if event[0] == 'create']
    writes = [event for event in spy if event[0] == 'write']
    assert len(created) == 1 and created[0][2:] == (0o600, 0), spy
    assert writes and all(event[2] == 0o640 for event in writes), writes
    assert mode_of(kept) == 0o640 and read(kept) == SECRET
