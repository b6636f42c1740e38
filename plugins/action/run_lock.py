# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for tokenops.oauth2.run_lock: one ansible-playbook run at a time per lock file.

Tasks run in short-lived worker processes, so no task can hold an flock for the whole run. The lock file records
the pid of the ansible-playbook process itself (the workers' parent) instead: a later run sees it alive and waits
or gives up; a lock whose run died is stale and taken over."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import time

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.tokenops.oauth2.plugins.module_utils.file_paths import path_problem

ARGUMENT_SPEC = dict(
    path=dict(type='path', required=True),
    state=dict(type='str', default='present', choices=['present', 'absent']),
    wait=dict(type='int', default=0),
)
# A day: queueing longer behind another run is a mistake, and an unbounded int overflows time.monotonic() + wait.
MAX_WAIT = 86400


def _alive(pid):
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


def _holder(path):
    try:
        with open(path) as handle:
            return int(handle.read().strip() or 0)
    except (IOError, ValueError):
        return 0


def _shown(path):
    return path if len(path) <= 100 else path[:97] + '...'


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        validation = ArgumentSpecValidator(ARGUMENT_SPEC).validate(self._task.args)
        if validation.error_messages:
            return dict(result, failed=True, msg='; '.join(validation.error_messages))
        args = validation.validated_parameters
        path, run_pid = args['path'], os.getppid()
        problem = path_problem('path', self._task.args.get('path'), path)
        if not problem and os.path.isdir(path):
            problem = 'path %s is a directory; give the path of the lock file itself' % _shown(path)
        if not problem and not 0 <= args['wait'] <= MAX_WAIT:
            problem = 'wait must be a number of seconds from 0 to %d' % MAX_WAIT
        if problem:
            return dict(result, failed=True, msg=problem)
        try:
            return dict(result, **self._lock(path, args['state'], args['wait'], run_pid))
        except OSError as exc:  # a name too long, a directory that cannot be created, no permission
            return dict(result, failed=True, path=path, msg='cannot %s the lock file given as path (%s): %s' % (
                'take' if args['state'] == 'present' else 'release', _shown(path), exc.strerror or exc))

    def _lock(self, path, state, wait, run_pid):
        if state == 'absent':
            if _holder(path) == run_pid:
                os.unlink(path)
                return dict(changed=True, path=path)
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
        while True:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                holder = _holder(path)
                if holder and (holder == run_pid or _alive(holder)):
                    return holder
                # Stale: its run died without releasing it. Remove and race again (O_EXCL picks one winner). Only
                # "already gone" (another run removed it first) is ignored: any other failure would loop forever.
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
                continue
            with os.fdopen(fd, 'w') as handle:
                handle.write('%d\n' % run_pid)
            return run_pid
