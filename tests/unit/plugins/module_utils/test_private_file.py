# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils.private_file, the one writer of every file that may hold a secret: what it keeps, what it refuses,
and what someone who can write the directory can (not) do to it at the worst moments of a write.

The races are made deterministic by doing the other user's move from inside the write (at its fsync, after every
check and before the rename). Real other users and real playbooks: tests/integration/test_symlink_attack.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import os
import stat
import subprocess
import sys
import threading
import time

import pytest

from ansible_collections.tokenops.oauth2.plugins.module_utils import private_file
from ansible_collections.tokenops.oauth2.plugins.module_utils.private_file import (
    DestinationError, PrivateFile, UnsafePathError, group_id, user_id, write_private_file)

SECRET = b'APP_TOKEN=private-file-secret-6a1f\n'
OTHER_UID, OTHER_GID = 54321, 54322  # ids no account here has: "another user"


def mode_of(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


def read(path):
    with open(str(path), 'rb') as handle:
        return handle.read()


def write(path, data, **kwargs):
    follow = kwargs.pop('follow', False)
    with PrivateFile(str(path), follow=follow) as target:
        target.write(data, **kwargs)


@pytest.fixture
def at_fsync(monkeypatch):
    """at_fsync(action): run ACTION once, at the first fsync of a write (the file is complete, every check done,
    the rename not yet made): the moment another user would pick."""
    def arm(action):
        real_fsync = os.fsync
        fired = []

        def fsync(fd):
            if not fired:
                fired.append(True)
                action()
            return real_fsync(fd)
        monkeypatch.setattr(private_file.os, 'fsync', fsync)
        return fired
    return arm


def test_a_new_file_is_private_complete_and_alone(tmp_path):
    path = tmp_path / 'token.env'
    write_private_file(str(path), SECRET)
    assert read(path) == SECRET and mode_of(path) == 0o600
    assert os.listdir(str(tmp_path)) == ['token.env'], 'no temporary file left'


def test_an_existing_file_keeps_its_owner_group_and_mode_unless_told(tmp_path):
    path = tmp_path / 'token.env'
    path.write_bytes(b'old\n')
    os.chown(str(path), OTHER_UID, OTHER_GID)
    os.chmod(str(path), 0o640)
    inode = os.stat(str(path)).st_ino
    write(path, SECRET)
    info = os.stat(str(path))
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (OTHER_UID, OTHER_GID, 0o640)
    assert info.st_ino != inode and read(path) == SECRET, 'renamed into place, not rewritten'
    write(path, SECRET, mode=0o600, uid=0)
    info = os.stat(str(path))
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (0, OTHER_GID, 0o600)


def test_owner_and_mode_are_set_through_the_descriptor_never_by_path(tmp_path, monkeypatch):
    by_path = []
    for name in ('chmod', 'chown', 'lchown'):
        monkeypatch.setattr(private_file.os, name, lambda *a, **k: by_path.append(a), raising=False)
    path = tmp_path / 'token.env'
    write(path, SECRET, mode=0o640, uid=OTHER_UID, gid=OTHER_GID)
    info = os.stat(str(path))
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (OTHER_UID, OTHER_GID, 0o640)
    assert by_path == []


def test_attributes_say_what_a_write_would_change(tmp_path):
    path = tmp_path / 'token.env'
    with PrivateFile(str(path)) as target:
        assert target.existing is None and target.attributes() == (0o600, None, None)
        assert target.attributes_differ()
    path.write_bytes(b'x')
    os.chmod(str(path), 0o640)
    with PrivateFile(str(path)) as target:
        assert target.attributes() == (0o640, 0, 0) and not target.attributes_differ()
        assert target.attributes_differ(mode=0o600) and target.attributes_differ(uid=OTHER_UID)
        assert not target.attributes_differ(mode=0o640, uid=0, gid=0)


def test_a_symlink_at_the_destination_is_refused_and_left_alone(tmp_path):
    victim = tmp_path / 'victim'
    victim.write_bytes(b'root only\n')
    link = tmp_path / 'token.env'
    link.symlink_to(victim)
    with pytest.raises(UnsafePathError) as info:
        write(link, SECRET)
    assert info.value.symlink and str(info.value) == '%s is a symbolic link, which is not followed' % link
    assert read(victim) == b'root only\n' and os.readlink(str(link)) == str(victim)


def test_follow_writes_the_target_atomically_and_keeps_the_link(tmp_path):
    target = tmp_path / 'real.env'
    target.write_bytes(b'old\n')
    os.chmod(str(target), 0o640)
    inode = os.stat(str(target)).st_ino
    link = tmp_path / 'token.env'
    link.symlink_to('real.env')
    write(link, SECRET, follow=True)
    assert read(target) == SECRET and mode_of(target) == 0o640 and os.stat(str(target)).st_ino != inode
    assert os.readlink(str(link)) == 'real.env'
    dangling = tmp_path / 'new.env'
    dangling.symlink_to(tmp_path / 'created-by-follow.env')
    write(dangling, SECRET, follow=True)
    assert read(tmp_path / 'created-by-follow.env') == SECRET and mode_of(tmp_path / 'created-by-follow.env') == 0o600


def test_a_symlink_on_the_way_is_followed_only_when_root_or_we_own_it(tmp_path):
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    ours = tmp_path / 'ours'
    ours.symlink_to(elsewhere)
    write(ours / 'token.env', SECRET)  # /var/run -> /run and the like keep working
    assert read(elsewhere / 'token.env') == SECRET
    theirs = tmp_path / 'theirs'
    theirs.symlink_to(elsewhere)
    os.lchown(str(theirs), OTHER_UID, OTHER_GID)
    with pytest.raises(UnsafePathError) as info:
        write(theirs / 'other.env', SECRET)
    assert str(info.value) == ('%s is a symbolic link owned by uid %d (neither root nor this user), which is not '
                               'followed' % (theirs, OTHER_UID))
    assert not (elsewhere / 'other.env').exists()
    # Through a relative path, a chain of links and "..", the same rule.
    chain = tmp_path / 'chain'
    chain.symlink_to('ours')
    write(tmp_path / 'chain' / '..' / 'chain' / 'token2.env', SECRET)
    assert read(elsewhere / 'token2.env') == SECRET


def test_a_directory_a_fifo_and_a_missing_directory_are_refused_clearly(tmp_path):
    with pytest.raises(UnsafePathError, match='is a directory, not a file'):
        write(tmp_path, SECRET)
    fifo = tmp_path / 'fifo.env'
    os.mkfifo(str(fifo))
    with pytest.raises(UnsafePathError, match='is not a regular file'):
        write(fifo, SECRET)
    with pytest.raises(DestinationError) as info:
        write(tmp_path / 'missing' / 'token.env', SECRET)
    assert info.value.errno == errno.ENOENT
    assert str(info.value) == 'the directory of %s does not exist' % (tmp_path / 'missing' / 'token.env')


def test_a_destination_swapped_for_a_symlink_during_the_write_is_replaced_not_followed(tmp_path, at_fsync):
    victim = tmp_path / 'victim'
    victim.write_bytes(b'root only\n')
    path = tmp_path / 'token.env'
    path.write_bytes(b'old\n')

    def swap():
        os.unlink(str(path))
        path.symlink_to(victim)
    fired = at_fsync(swap)
    write(path, SECRET, uid=OTHER_UID)
    assert fired and read(victim) == b'root only\n' and os.stat(str(victim)).st_uid == 0
    assert not path.is_symlink() and read(path) == SECRET and os.stat(str(path)).st_uid == OTHER_UID


def test_a_directory_swapped_for_a_symlink_during_the_write_cannot_redirect_it(tmp_path, at_fsync):
    consumer = tmp_path / 'consumer'
    consumer.mkdir()
    root_only = tmp_path / 'root-only'
    root_only.mkdir()

    def swap():  # the consumer moves its directory away and puts a link to root's directory in its place
        os.rename(str(consumer), str(tmp_path / 'moved'))
        consumer.symlink_to(root_only)
    fired = at_fsync(swap)
    write(consumer / 'token.env', SECRET)
    assert fired and os.listdir(str(root_only)) == []
    assert read(tmp_path / 'moved' / 'token.env') == SECRET, 'the write went to the directory it opened'


def test_a_killed_writers_temporary_is_removed_and_a_live_ones_kept(tmp_path):
    path = tmp_path / 'app.env'
    stale = tmp_path / '.app.env.0123456789abcdef.tmp'
    live = tmp_path / '.app.env.fedcba9876543210.tmp'
    foreign = tmp_path / '.app.env.backup.tmp'  # not our naming scheme
    other_file = tmp_path / '.other.env.0123456789abcdef.tmp'
    for leftover in (stale, live, foreign, other_file):
        leftover.write_bytes(b'APP_TOKEN=part')
    victim = tmp_path / 'victim'
    victim.write_bytes(b'keep')
    link = tmp_path / '.app.env.aaaaaaaaaaaaaaaa.tmp'
    link.symlink_to(victim)
    holder = subprocess.Popen([sys.executable, '-c', (
        'import fcntl, os, sys, time\n'
        'fd = os.open(sys.argv[1], os.O_RDONLY)\n'
        'fcntl.flock(fd, fcntl.LOCK_EX)\n'
        'print("locked", flush=True)\n'
        'time.sleep(60)\n'), str(live)], stdout=subprocess.PIPE, universal_newlines=True)
    try:
        assert holder.stdout.readline() == 'locked\n'
        write(path, SECRET)
    finally:
        holder.kill()
        holder.wait()
    assert not stale.exists() and live.exists() and foreign.exists() and other_file.exists()
    assert read(victim) == b'keep' and link.is_symlink(), 'a link is neither followed nor its target removed'
    assert read(path) == SECRET


def test_a_temporary_removed_between_its_creation_and_its_lock_is_made_again(tmp_path, monkeypatch):
    """The window a cleaner may hit: it found the new temporary unlocked and removed it. The writer must notice
    (the file it holds has no name any more) and start over, or its rename would fail."""
    real_flock = fcntl.flock
    removed = []

    def flock(fd, operation):
        if operation == fcntl.LOCK_EX and not removed:  # the writer's lock on its new temporary
            name = os.path.basename(os.readlink('/proc/self/fd/%d' % fd))
            os.unlink(str(tmp_path / name))
            removed.append(name)
        return real_flock(fd, operation)
    monkeypatch.setattr(private_file.fcntl, 'flock', flock)
    write(tmp_path / 'app.env', SECRET)
    assert removed and read(tmp_path / 'app.env') == SECRET
    assert os.listdir(str(tmp_path)) == ['app.env']


def test_backup_copies_bytes_owner_group_and_mode_and_is_private_meanwhile(tmp_path):
    path = tmp_path / 'vars.yml'
    path.write_bytes(b'old: 1\n')
    os.chown(str(path), OTHER_UID, OTHER_GID)
    os.chmod(str(path), 0o640)
    with PrivateFile(str(path)) as target:
        kept = target.backup()
        target.write(b'new: 2\n')
    assert os.path.dirname(kept) == str(tmp_path) and kept.endswith('~')
    assert os.path.basename(kept).startswith('vars.yml.%d.' % os.getpid())
    info = os.stat(kept)
    assert read(kept) == b'old: 1\n' and (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (
        OTHER_UID, OTHER_GID, 0o640)
    assert read(path) == b'new: 2\n' and sorted(os.listdir(str(tmp_path))) == sorted(['vars.yml', os.path.basename(kept)])


def test_lock_admits_one_writer_at_a_time(tmp_path):
    order = []

    def writer(name):
        with PrivateFile(str(tmp_path / 'vars.yml')) as target:
            target.lock()
            order.append(name + ' in')
            time.sleep(0.05)
            order.append(name + ' out')
    threads = [threading.Thread(target=writer, args=(n,)) for n in ('a', 'b', 'c')]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(order[i].endswith(' in') and order[i + 1] == order[i][:-3] + ' out' for i in range(0, 6, 2))


@pytest.mark.parametrize('unsafe_writes', [False, True])
def test_a_busy_destination_is_written_in_place_only_with_unsafe_writes(tmp_path, monkeypatch, unsafe_writes):
    path = tmp_path / 'token.env'
    path.write_bytes(b'old\n')
    os.chmod(str(path), 0o644)
    real_rename = os.rename

    def busy(src, dst, *args, **kwargs):
        if dst == 'token.env':
            raise OSError(errno.EBUSY, 'Device or resource busy')  # a file bind-mounted into a container
        return real_rename(src, dst, *args, **kwargs)
    monkeypatch.setattr(private_file.os, 'rename', busy)
    if not unsafe_writes:
        with pytest.raises(OSError, match='busy'):
            write(path, SECRET, mode=0o600)
        assert read(path) == b'old\n'
    else:
        write(path, SECRET, mode=0o600, unsafe_writes=True)
        assert read(path) == SECRET
    assert mode_of(path) == (0o600 if unsafe_writes else 0o644)
    assert os.listdir(str(tmp_path)) == ['token.env']


def test_selinux_context_is_set_through_the_descriptor_keeping_what_is_not_asked(tmp_path):
    path = tmp_path / 'token.env'
    try:
        path.write_bytes(b'x')
        os.setxattr(str(path), private_file.SELINUX_XATTR, b'system_u:object_r:user_tmp_t:s0\0')
    except OSError as exc:
        pytest.skip('security.selinux cannot be set here: %s' % exc)
    with PrivateFile(str(path)) as target:
        target.read()
        assert target.existing_selinux_context() == ['system_u', 'object_r', 'user_tmp_t', 's0']
        target.write(SECRET, selinux_context=['system_u', 'object_r', 'etc_t', 's0'])
    assert os.getxattr(str(path), private_file.SELINUX_XATTR) == b'system_u:object_r:etc_t:s0\0'


def test_a_long_name_still_gets_a_temporary_name_the_file_system_takes(tmp_path):
    path = tmp_path / ('t' * 250)
    write(path, SECRET)
    assert read(path) == SECRET and os.listdir(str(tmp_path)) == ['t' * 250]


def test_owner_and_group_names_and_numbers():
    assert user_id('root') == 0 and user_id('1234') == 1234 and group_id('root') == 0 and group_id('77') == 77
    with pytest.raises(ValueError, match='owner no-such-user-x1: there is no such user on this host'):
        user_id('no-such-user-x1')
    with pytest.raises(ValueError, match='group no-such-group-x1: there is no such group on this host'):
        group_id('no-such-group-x1')
