# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 7: the files of tokenops.oauth2.vault_vars (plugin_utils.vault_file) have their requested mode from their
first byte, whatever the umask: recorded at creation, at every write and at the rename, under umask 000."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat
import tempfile

import pytest

from ansible_collections.tokenops.oauth2.plugins.plugin_utils import vault_file
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.vault_file import backup, read, write_atomic

SECRET = b'tree_token: leak-first-byte-token-4e1b\n'


@pytest.fixture
def spy(monkeypatch):
    """Record each file created through mkstemp (its mode and size at creation), the mode of the file at each write,
    each chmod, and the mode of each file renamed into place."""
    events = []
    real_mkstemp, real_write, real_rename = tempfile.mkstemp, os.write, os.rename
    real_chmod, real_fchmod = os.chmod, os.fchmod

    def mkstemp(*args, **kwargs):
        fd, path = real_mkstemp(*args, **kwargs)
        info = os.fstat(fd)
        events.append(('create', path, stat.S_IMODE(info.st_mode), info.st_size))
        return fd, path

    def write(fd, data):
        events.append(('write', fd, stat.S_IMODE(os.fstat(fd).st_mode), len(data)))
        return real_write(fd, data)

    def rename(src, dst, *args, **kwargs):
        events.append(('rename', dst, stat.S_IMODE(os.lstat(src).st_mode), os.lstat(src).st_size))
        return real_rename(src, dst, *args, **kwargs)

    def chmod(path, mode, *args, **kwargs):
        events.append(('chmod', path, mode, None))
        return real_chmod(path, mode, *args, **kwargs)

    def fchmod(fd, mode):
        events.append(('fchmod', fd, mode, None))
        return real_fchmod(fd, mode)

    monkeypatch.setattr(tempfile, 'mkstemp', mkstemp)
    monkeypatch.setattr(os, 'write', write)
    monkeypatch.setattr(os, 'rename', rename)
    monkeypatch.setattr(os, 'chmod', chmod)
    monkeypatch.setattr(os, 'fchmod', fchmod)
    return events


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize('mode', [0o600, 0o640, 0o400, 0o644])
def test_write_atomic_has_the_requested_mode_before_the_first_byte(tmp_path, umask_000, spy, mode):
    path = str(tmp_path / 'tokens.yml')
    write_atomic(path, SECRET, mode)
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
    assert not [event for event in spy if event[0] == 'chmod'], 'no mode change once the file holds the secret'
    assert mode_of(path) == mode and read(path) == SECRET


def test_replacing_a_wider_file_never_shows_the_new_secret_with_the_old_mode(tmp_path, umask_000, spy):
    path = str(tmp_path / 'tokens.yml')
    with open(path, 'wb') as handle:
        handle.write(b'old: value\n')
    os.chmod(path, 0o644)
    del spy[:]
    write_atomic(path, SECRET, 0o600)
    assert all(event[2] == 0o600 for event in spy if event[0] in ('write', 'rename')), spy
    assert mode_of(path) == 0o600


def test_backup_copy_keeps_the_old_files_mode_from_the_first_byte(tmp_path, umask_000, spy, monkeypatch):
    """Where hard links fail, the backup is a copy through the same private temporary file."""
    path = str(tmp_path / 'tokens.yml')
    write_atomic(path, SECRET, 0o640)

    def no_link(src, dst, *args, **kwargs):
        raise OSError(1, 'hard links not supported here')
    monkeypatch.setattr(vault_file.os, 'link', no_link)
    del spy[:]
    kept = backup(path)
    created = [event for event in spy if event[0] == 'create']
    writes = [event for event in spy if event[0] == 'write']
    assert len(created) == 1 and created[0][2:] == (0o600, 0), spy
    assert writes and all(event[2] == 0o640 for event in writes), writes
    assert mode_of(kept) == 0o640 and read(kept) == SECRET
