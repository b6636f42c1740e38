# -*- coding: utf-8 -*-
"""Issue 12, the review after the ten findings: another local user plants the run lock of tokenops.oauth2.run_lock
(the rotate playbook's ``oauth2_rotate_lock``) where it may write, through real ansible-playbook runs and the real
unprivileged account of ``local_users``.

A lock naming a pid that is always alive (1) makes every run give up as if another rotation were running, until the
tokens expire; a lock the other user holds an flock on made every run block forever, ``wait: 0`` or not. The lock's
directory must be one no other user may write, and the lock file ours."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys

import pytest

from ansible_runner_helper import PLAYBOOK_DIR, ansible_env, run_playbook
from local_users import as_user, consumer_account, remove_tree, shared_dir

# Run as the other user (with the system's python3: the venv's may sit under /root, which it cannot reach): plant
# the lock naming pid 1, hold an flock on it, say so, and wait to be killed.
HOLD_FLOCK = r'''
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
os.write(fd, b'1\n')
fcntl.flock(fd, fcntl.LOCK_EX)
print('held', flush=True)
time.sleep(600)
'''


@pytest.fixture
def base():
    path = shared_dir()
    yield path
    remove_tree(path)


def lock_run(lock_path, timeout):
    """run_lock_hold.yml with wait 0; the CompletedProcess, or None when it did not end within TIMEOUT seconds."""
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'),
               os.path.join(PLAYBOOK_DIR, 'run_lock_hold.yml'), '-e', 'lock_path=%s' % lock_path]
    try:
        return subprocess.run(command, env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None


@pytest.mark.parametrize('mode', [0o1777, 0o777])
def test_a_lock_planted_in_a_directory_every_user_may_write_is_refused_clearly(base, mode):
    user = consumer_account()
    directory = os.path.join(base, 'lock')
    os.mkdir(directory)
    os.chmod(directory, mode)
    lock_path = os.path.join(directory, 'rotate.lock')
    as_user(user, ['sh', '-c', 'echo 1 > "$0"', lock_path])
    proc = run_playbook('run_lock_hold.yml', '-e', 'lock_path=%s' % lock_path, check=False)
    assert proc.returncode != 0, proc.stdout
    assert 'another run (pid 1)' not in proc.stdout, 'a planted pid passed for a run'
    assert '%s is in a directory every user may write' % lock_path in proc.stdout, proc.stdout
    with open(lock_path) as handle:
        assert handle.read() == '1\n', 'the planted file is left as it was'


def test_a_planted_lock_held_by_another_user_does_not_block_the_run(base):
    user = consumer_account()
    directory = os.path.join(base, 'lock')
    os.mkdir(directory)
    os.chmod(directory, 0o1777)
    lock_path = os.path.join(directory, 'rotate.lock')
    holder = as_user(user, ['/usr/bin/python3', '-c', HOLD_FLOCK, lock_path], wait=False, stdout=subprocess.PIPE,
                     universal_newlines=True)
    try:
        assert holder.stdout.readline().strip() == 'held', 'the other user took its flock'
        proc = lock_run(lock_path, timeout=120)
        assert proc is not None, 'the run blocked on the other user\'s flock (wait: 0)'
        assert proc.returncode != 0 and 'is in a directory every user may write' in proc.stdout, proc.stdout
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_file_of_another_user_is_refused(base):
    """A directory the other user's group may write (root:GROUP 0770): the lock is theirs, not a run's."""
    user = consumer_account()
    directory = os.path.join(base, 'lock')
    os.mkdir(directory)
    os.chown(directory, 0, user.pw_gid)
    os.chmod(directory, 0o770)
    lock_path = os.path.join(directory, 'rotate.lock')
    as_user(user, ['sh', '-c', 'echo 1 > "$0"', lock_path])
    proc = run_playbook('run_lock_hold.yml', '-e', 'lock_path=%s' % lock_path, check=False)
    assert proc.returncode != 0, proc.stdout
    assert 'another run (pid 1)' not in proc.stdout, 'a planted pid passed for a run'
    assert '%s is owned by uid %d' % (lock_path, user.pw_uid) in proc.stdout, proc.stdout
