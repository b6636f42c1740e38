# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for tokenops.oauth2.run_lock: one ansible-playbook run at a time per lock file.

Tasks run in short-lived worker processes, so no task can hold an flock for the whole run. The lock file records
the pid of the ansible-playbook process itself (the workers' parent) instead: a later run sees it alive and waits
or gives up; a lock whose run died is stale and taken over.

Reading the holder and writing our pid happen under a short flock on the lock file itself, so that two runs finding
the same dead holder cannot both take over (the second reads the first's pid, alive). The file is released by
removing it under that flock; whoever was waiting for the flock then finds that the file it holds is no longer the
one at the path, and starts again."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import errno
import fcntl
import os
import time

from ansible_collections.tokenops.oauth2.plugins.module_utils.argspecs import RUN_LOCK_OPTIONS
from ansible_collections.tokenops.oauth2.plugins.module_utils.file_paths import path_problem
from ansible_collections.tokenops.oauth2.plugins.module_utils.private_file import (
    UnsafePathError, open_directory, refuse_shared_directory)
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.action_module import ActionModuleBase

# A day: queueing longer behind another run is a mistake, and an unbounded int overflows time.monotonic() + wait.
MAX_WAIT = 86400


def _alive(pid):
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


@contextlib.contextmanager
def _locked(path):
    """Yield (descriptor, holder pid or 0) of the lock file at PATH, created if missing, under an exclusive flock;
    and the descriptor of its directory, for removing it. Never through a symlink at PATH."""
    directory = open_directory(os.path.dirname(path) or '.')
    name = os.path.basename(path)
    try:
        # Anyone could plant the lock first: naming pid 1 (always alive, every run gives up), or held under an
        # flock of theirs (every run blocks on it, whatever wait says).
        refuse_shared_directory(directory, path, 'could plant the lock and stop every run')
        while True:
            try:
                fd = os.open(name, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=directory)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise UnsafePathError(path, 'is a symbolic link, which is not followed', symlink=True)
                raise
            try:
                owner = os.fstat(fd).st_uid
                if owner != os.geteuid():  # a run's lock is always its user's own: this one was planted
                    raise UnsafePathError(path, 'is owned by uid %d, not by this user: not a lock of a run, and not '
                                                'used; remove it if nobody should have made it' % owner)
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    current = os.stat(name, dir_fd=directory, follow_symlinks=False)
                except FileNotFoundError:
                    continue  # released while we waited for the flock
                held = os.fstat(fd)
                if (current.st_dev, current.st_ino) != (held.st_dev, held.st_ino):
                    continue  # released and taken again meanwhile: lock the file that is there now
                try:
                    holder = int(os.pread(fd, 64, 0).decode('ascii').strip() or 0)
                except (ValueError, UnicodeError):
                    holder = 0
                yield fd, holder, directory
                return
            finally:
                os.close(fd)  # releases the flock
    finally:
        os.close(directory)


def _shown(path):
    return path if len(path) <= 100 else path[:97] + '...'


class ActionModule(ActionModuleBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    ARGUMENT_SPEC = RUN_LOCK_OPTIONS

    def run_action(self, task, task_vars, result):
        path, run_pid = task['path'], os.getppid()
        problem = path_problem('path', self._task.args.get('path'), path)
        if not problem and os.path.isdir(path):
            problem = 'path %s is a directory; give the path of the lock file itself' % _shown(path)
        if not problem and not 0 <= task['wait'] <= MAX_WAIT:
            problem = 'wait must be a number of seconds from 0 to %d' % MAX_WAIT
        if problem:
            return dict(result, failed=True, msg=problem)
        try:
            return dict(result, **self._lock(path, task['state'], task['wait'], run_pid))
        except OSError as exc:  # a name too long, a directory that cannot be created, no permission
            return dict(result, failed=True, path=path, msg='cannot %s the lock file given as path (%s): %s' % (
                'take' if task['state'] == 'present' else 'release', _shown(path), exc.strerror or exc))

    def _lock(self, path, state, wait, run_pid):
        if state == 'absent':
            if not os.path.lexists(path):
                return dict(changed=False, path=path)
            with _locked(path) as (_fd, holder, directory):
                if holder == run_pid:
                    os.unlink(os.path.basename(path), dir_fd=directory)
                    return dict(changed=True, path=path)
                if not holder:
                    os.unlink(os.path.basename(path), dir_fd=directory)  # the empty file this check created
            return dict(changed=False, path=path)
        deadline = time.monotonic() + wait
        while True:
            holder = self._try_acquire(path, run_pid)
            if holder == run_pid:
                return dict(changed=True, path=path, pid=run_pid)
            if time.monotonic() >= deadline:
                return dict(failed=True, path=path, holder=holder, msg=(
                    'another run (pid %d) holds %s; this run did nothing. It will be free when that run ends; '
                    'set wait to queue behind it instead' % (holder, path)))
            time.sleep(0.5)

    @staticmethod
    def _try_acquire(path, run_pid):
        """Take the lock if free or stale; return the pid that holds it afterwards."""
        directory = os.path.dirname(path)
        if directory and not os.path.isdir(directory):
            os.makedirs(directory, 0o700)
        with _locked(path) as (fd, holder, _directory):
            if holder and (holder == run_pid or _alive(holder)):
                return holder
            # Free, or stale (its run died without releasing it): ours now, in place, under the flock.
            os.ftruncate(fd, 0)
            os.pwrite(fd, ('%d\n' % run_pid).encode('ascii'), 0)
            return run_pid
