# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The env_file module end to end in-process: file contents, permissions while writing, check/diff mode, no leaks."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.tokenops.oauth2.plugins.module_utils import private_file
from ansible_collections.tokenops.oauth2.plugins.modules import env_file

from ..bad_paths import bad_paths

TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0LXN1YmplY3QtdG9rZW4ifQ.c2VjcmV0LXNpZ25hdHVyZS0xMjM0NTY3ODk'
TOKEN2 = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzZWNvbmQtdG9rZW4tdmFsdWUifQ.YW5vdGhlci1zaWduYXR1cmUtOTg3NjU0MzIx'
SECRETS = (TOKEN, TOKEN2)


def run(capsys, check_mode=False, diff=False, **args):
    args.update(_ansible_check_mode=check_mode, _ansible_diff=diff)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            env_file.main()
    out = capsys.readouterr().out
    for secret in SECRETS:
        assert secret not in out, 'a value leaked into the module output'
    return json.loads(out)


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.fixture
def spy_writes(monkeypatch):
    """Record how the temporary file is opened and what it and the target look like at and right after its rename."""
    seen = dict(opens=[], moves=[])
    real_open, real_rename = os.open, os.rename

    def where(path, dir_fd):
        return path if dir_fd is None else os.path.join(os.readlink('/proc/self/fd/%d' % dir_fd), path)

    def spy_open(path, flags, mode=0o777, *args, **kwargs):
        if flags & os.O_CREAT:
            seen['opens'].append((where(path, kwargs.get('dir_fd')), flags, mode))
        return real_open(path, flags, mode, *args, **kwargs)

    def spy_rename(src, dst, *args, **kwargs):
        src_path, dst_path = where(src, kwargs.get('src_dir_fd')), where(dst, kwargs.get('dst_dir_fd'))
        with open(src_path) as f:
            seen['moves'].append(dict(src_mode=mode_of(src_path), src_text=f.read()))
        real_rename(src, dst, *args, **kwargs)
        seen['moves'][-1]['dest_mode_after_move'] = mode_of(dst_path)

    monkeypatch.setattr(private_file.os, 'open', spy_open)
    monkeypatch.setattr(private_file.os, 'rename', spy_rename)
    return seen


def test_creates_file_0600_from_the_first_byte(tmp_path, capsys, umask_022, spy_writes):
    path = tmp_path / 'token.env'
    result = run(capsys, path=str(path), values=dict(API_TOKEN=TOKEN, EXPIRES_IN=3600))
    assert result['changed'] is True
    assert result['keys_changed'] == ['API_TOKEN', 'EXPIRES_IN']
    assert path.read_text() == 'API_TOKEN=%s\nEXPIRES_IN=3600\n' % TOKEN
    assert mode_of(path) == 0o600
    # the temporary file: same directory, O_EXCL and O_NOFOLLOW, 0600 at creation; complete and still 0600 when
    # renamed into place.
    [(tmp, flags, create_mode)] = spy_writes['opens']
    assert os.path.dirname(tmp) == str(tmp_path) and create_mode == 0o600
    assert flags & os.O_EXCL and flags & os.O_NOFOLLOW
    [move] = spy_writes['moves']
    assert move['src_mode'] == 0o600 and move['src_text'] == path.read_text()
    assert move['dest_mode_after_move'] == 0o600
    assert os.listdir(str(tmp_path)) == ['token.env']


def test_second_run_changes_nothing_and_does_not_write(tmp_path, capsys, spy_writes):
    path = tmp_path / 'token.env'
    run(capsys, path=str(path), values=dict(API_TOKEN=TOKEN))
    inode = os.stat(str(path)).st_ino
    result = run(capsys, path=str(path), values=dict(API_TOKEN=TOKEN))
    assert result['changed'] is False and result['keys_changed'] == []
    assert os.stat(str(path)).st_ino == inode
    assert len(spy_writes['moves']) == 1


def test_keeps_other_lines_and_replaces_in_place(tmp_path, capsys):
    path = tmp_path / 'token.env'
    path.write_text('# comment\nOTHER=1\nAPI_TOKEN=old\n\nLAST=2\n')
    os.chmod(str(path), 0o640)
    result = run(capsys, path=str(path), values=dict(API_TOKEN=TOKEN, NEW=TOKEN2))
    assert result['changed'] is True and result['keys_changed'] == ['API_TOKEN', 'NEW']
    assert path.read_text() == '# comment\nOTHER=1\nAPI_TOKEN=%s\n\nLAST=2\nNEW=%s\n' % (TOKEN, TOKEN2)
    assert mode_of(path) == 0o640, 'an existing file keeps its mode when mode is not set'


def test_mode_is_applied_to_the_old_file_before_the_new_secret_moves_in(tmp_path, capsys, spy_writes):
    path = tmp_path / 'token.env'
    path.write_text('API_TOKEN=old\n')
    os.chmod(str(path), 0o644)
    result = run(capsys, path=str(path), values=dict(API_TOKEN=TOKEN), mode='0600')
    assert result['changed'] is True
    [move] = spy_writes['moves']
    assert move['src_mode'] == 0o600 and move['dest_mode_after_move'] == 0o600
    assert mode_of(path) == 0o600


def test_mode_change_alone_is_a_change(tmp_path, capsys):
    path = tmp_path / 'token.env'
    run(capsys, path=str(path), values=dict(API_TOKEN=TOKEN))
    result = run(capsys, path=str(path), values=dict(API_TOKEN=TOKEN), mode='0640')
    assert result['changed'] is True and result['keys_changed'] == []
    assert mode_of(path) == 0o640


def test_check_mode_reports_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / 'token.env'
    result = run(capsys, check_mode=True, diff=True, path=str(path), values=dict(API_TOKEN=TOKEN))
    assert result['changed'] is True and result['keys_changed'] == ['API_TOKEN']
    assert not path.exists()
    path.write_text('API_TOKEN=%s\n' % TOKEN)
    result = run(capsys, check_mode=True, path=str(path), values=dict(API_TOKEN=TOKEN2))
    assert result['changed'] is True
    assert path.read_text() == 'API_TOKEN=%s\n' % TOKEN


def test_diff_names_keys_never_values(tmp_path, capsys):
    path = tmp_path / 'token.env'
    path.write_text('API_TOKEN=%s\nGONE=x\n' % TOKEN)
    result = run(capsys, diff=True, path=str(path), values=dict(API_TOKEN=TOKEN2, NEW='fresh-value-7c1d'))
    assert result['diff'] == dict(before='API_TOKEN (old value)\n', after='API_TOKEN (value changed)\nNEW (added)\n',
                                  before_header=str(path), after_header=str(path))
    result = run(capsys, diff=True, path=str(path), state='absent', values=['GONE'])
    assert result['diff']['before'] == 'GONE (removed)\n'
    assert result['keys_changed'] == ['GONE'], 'key names given as a list are not masked by no_log'


def test_absent_accepts_a_mapping_and_a_missing_file(tmp_path, capsys):
    path = tmp_path / 'token.env'
    assert run(capsys, path=str(path), state='absent', values=dict(A=TOKEN))['changed'] is False
    assert not path.exists()
    path.write_text('A=1\nB=2\n')
    result = run(capsys, path=str(path), state='absent', values=dict(A=TOKEN))
    assert result['changed'] is True and path.read_text() == 'B=2\n'


def test_refuses_bad_values_naming_the_key_and_leaves_the_file(tmp_path, capsys):
    path = tmp_path / 'token.env'
    path.write_text('A=1\n')
    result = run(capsys, path=str(path), values=dict(A='2', API_TOKEN=TOKEN + '\nX=1'))
    assert result['failed'] is True
    assert 'API_TOKEN' in result['msg'] and 'newline' in result['msg']
    assert path.read_text() == 'A=1\n'
    result = run(capsys, path=str(path), values={'BAD-KEY': '1'})
    assert result['failed'] is True and 'invalid key' in result['msg']
    result = run(capsys, path=str(path), values=dict(A=['x']))
    assert result['failed'] is True and 'must be a string' in result['msg']


def test_create_false_and_missing_directory(tmp_path, capsys):
    result = run(capsys, path=str(tmp_path / 'token.env'), values=dict(A='1'), create=False)
    assert result['failed'] is True and 'create=false' in result['msg']
    result = run(capsys, path=str(tmp_path / 'nodir' / 'token.env'), values=dict(A='1'))
    assert result['failed'] is True and 'directory' in result['msg']


def test_backup_keeps_the_previous_file(tmp_path, capsys):
    path = tmp_path / 'token.env'
    path.write_text('API_TOKEN=old\n')
    os.chmod(str(path), 0o640)
    result = run(capsys, path=str(path), values=dict(API_TOKEN=TOKEN), backup=True)
    with open(result['backup_file']) as f:
        assert f.read() == 'API_TOKEN=old\n'
    assert mode_of(result['backup_file']) == 0o640
    assert 'backup_file' not in run(capsys, path=str(path), values=dict(API_TOKEN=TOKEN), backup=True)


def test_refuses_a_symlink_unless_follow_and_then_writes_its_target(tmp_path, capsys):
    target = tmp_path / 'real.env'
    target.write_text('A=1\n')
    link = tmp_path / 'link.env'
    link.symlink_to(target)
    result = run(capsys, path=str(link), values=dict(A='second-value-5d2e'))
    assert result['failed'] is True and result['msg'].startswith('%s is a symbolic link, which is not followed; ' % link)
    assert 'follow: true' in result['msg'] and target.read_text() == 'A=1\n'
    run(capsys, path=str(link), values=dict(A='second-value-5d2e'), follow=True)
    assert link.is_symlink() and target.read_text() == 'A=second-value-5d2e\n'


def test_a_write_removes_what_dead_writers_left_and_spares_live_ones(tmp_path, capsys):
    import fcntl
    target = tmp_path / 'app.env'
    stale = tmp_path / '.app.env.0123456789abcdef.tmp'
    live = tmp_path / '.app.env.fedcba9876543210.tmp'
    other = tmp_path / '.other.env.0123456789abcdef.tmp'
    for path in (stale, live, other):
        path.write_text('APP_TOKEN=par')
    held = os.open(str(live), os.O_RDONLY)  # a writer at work holds its temporary file locked
    try:
        fcntl.flock(held, fcntl.LOCK_EX)
        run(capsys, path=str(target), values={'APP_TOKEN': 'whole'})
    finally:
        os.close(held)
    assert not stale.exists() and live.exists() and other.exists()
    assert target.read_text() == 'APP_TOKEN=whole\n'


def test_owner_group_and_mode_change_the_file_through_a_new_one(tmp_path, capsys):
    path = tmp_path / 'token.env'
    run(capsys, path=str(path), values=dict(A=TOKEN))
    inode = os.stat(str(path)).st_ino
    result = run(capsys, path=str(path), values=dict(A=TOKEN), owner='54321', group='54322', mode='u=rw,g=r')
    info = os.stat(str(path))
    assert result['changed'] is True and result['keys_changed'] == []
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (54321, 54322, 0o640)
    assert info.st_ino != inode and path.read_text() == 'A=%s\n' % TOKEN
    assert run(capsys, path=str(path), values=dict(A=TOKEN), owner='54321', group='54322', mode='0640')[
        'changed'] is False
    result = run(capsys, check_mode=True, path=str(path), values=dict(A=TOKEN), owner='root')
    assert result['changed'] is True and os.stat(str(path)).st_uid == 54321


@pytest.mark.parametrize('args, msg', [
    (dict(owner='no-such-user-e1'), 'owner no-such-user-e1: there is no such user on this host'),
    (dict(group='no-such-group-e1'), 'group no-such-group-e1: there is no such group on this host'),
    (dict(mode='u=rwz'), 'mode must be in octal or symbolic form, such as "0600" or "u=rw,g=r"'),
    (dict(attributes='+i'), None),
])
def test_refuses_what_it_cannot_apply_safely_before_writing(tmp_path, capsys, args, msg):
    path = tmp_path / 'token.env'
    result = run(capsys, path=str(path), values=dict(A=TOKEN), **args)
    assert result['failed'] is True
    assert result['msg'] == msg if msg else result['msg'].startswith('attributes is not supported')
    assert not path.exists()


def test_state_absent_in_a_missing_directory_changes_nothing(tmp_path, capsys):
    result = run(capsys, path=str(tmp_path / 'missing' / 'token.env'), state='absent', values=['A'])
    assert result['changed'] is False and 'failed' not in result


@pytest.mark.parametrize('path, msg', bad_paths('.env'))
def test_refuses_what_is_not_a_file_path(tmp_path, capsys, monkeypatch, path, msg):
    monkeypatch.chdir(tmp_path)  # where a list's repr would have been written
    result = run(capsys, path=path, values=dict(A=TOKEN))
    assert result['failed'] is True and result['msg'] == msg
    assert os.listdir(str(tmp_path)) == []


def test_the_invocation_is_logged_after_the_checks_without_the_values(tmp_path, capsys, monkeypatch):
    # Logged after _check_file_args (Python 3.12's syslog refuses a NUL byte), but still logged, values masked.
    logged = []
    monkeypatch.setattr(basic.AnsibleModule, 'log', lambda self, msg, log_args=None: logged.append(msg))
    run(capsys, path=str(tmp_path / 'app.env'), values=dict(A=TOKEN))
    assert len(logged) == 1 and logged[0].startswith('Invoked with') and 'app.env' in logged[0]
    assert TOKEN not in logged[0]


@pytest.mark.parametrize('args, msg', [
    (dict(owner='nul-\0-byte'), 'owner must not contain a NUL byte'),
    (dict(group='nul-\0-byte'), 'group must not contain a NUL byte'),
    (dict(mode=-1), 'mode must be a permission from 0 to 07777, such as "0600"'),
    (dict(mode=0o10000), 'mode must be a permission from 0 to 07777, such as "0600"'),
])
def test_refuses_bad_file_options_before_writing(tmp_path, capsys, args, msg):
    path = tmp_path / 'token.env'
    result = run(capsys, path=str(path), values=dict(A=TOKEN), **args)
    assert result['failed'] is True and result['msg'] == msg
    assert not path.exists()


def test_an_int_mode_is_applied(tmp_path, capsys):
    path = tmp_path / 'token.env'
    assert run(capsys, path=str(path), values=dict(A=TOKEN), mode=0o640)['changed'] is True
    assert mode_of(str(path)) == 0o640
