# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run_lock action plugin in-process: bad paths and waits are refused naming the option, never raised.
Two real runs racing for the lock are tests/integration/test_run_lock.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from unittest import mock

import pytest
from ansible.playbook.task import Task

from ansible_collections.tokenops.oauth2.plugins.action.run_lock import MAX_WAIT, ActionModule

from ..bad_paths import bad_paths


def run(**args):
    task = Task()
    task.args = args
    action = ActionModule(task, mock.MagicMock(), mock.MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    return action.run(task_vars={})


@pytest.mark.parametrize('path, words', bad_paths('.lock'))
def test_refuses_what_is_not_a_file_path(path, words):
    result = run(path=path)
    assert result['failed'] is True and result['msg'] == words


def test_refuses_a_directory_instead_of_looping(tmp_path):
    result = run(path=str(tmp_path))
    assert result['failed'] is True and 'is a directory' in result['msg'] and 'path' in result['msg']
    result = run(path=str(tmp_path), state='absent')
    assert result['failed'] is True and 'is a directory' in result['msg']


def test_a_stale_lock_that_cannot_be_removed_is_an_error_not_a_loop(tmp_path):
    # A directory that appears where the lock file should be, after the checks: unlink fails with EISDIR.
    path = str(tmp_path / 'raced.lock')
    os.mkdir(path)
    with pytest.raises(OSError):
        ActionModule._try_acquire(path, os.getppid())


def test_os_errors_name_the_path_option(tmp_path):
    result = run(path=str(tmp_path / ('x' * 10000)))
    assert result['failed'] is True and result['msg'].startswith('cannot take the lock file given as path (')
    assert 'File name too long' in result['msg'] and len(result['msg']) < 300


@pytest.mark.parametrize('wait', [-1, MAX_WAIT + 1, 10 ** 30, '9' * 10000])
def test_wait_is_bounded(tmp_path, wait):
    result = run(path=str(tmp_path / 'a.lock'), wait=wait)
    assert result['failed'] is True and result['msg'] == 'wait must be a number of seconds from 0 to %d' % MAX_WAIT
    assert not (tmp_path / 'a.lock').exists()


def test_takes_and_releases_the_lock(tmp_path):
    path = tmp_path / 'sub' / 'a.lock'
    result = run(path=str(path), wait=MAX_WAIT)
    assert result['changed'] is True and result['pid'] == os.getppid()
    assert path.read_text() == '%d\n' % os.getppid()
    assert run(path=str(path), state='absent')['changed'] is True and not path.exists()


def test_a_symlink_at_the_lock_path_is_refused_and_its_target_left_alone(tmp_path):
    victim = tmp_path / 'victim.conf'
    victim.write_text('not a lock\n')
    link = tmp_path / 'rotate.lock'
    link.symlink_to(victim)
    result = run(path=str(link))
    assert result['failed'] is True and 'is a symbolic link, which is not followed' in result['msg']
    assert victim.read_text() == 'not a lock\n' and link.is_symlink()


def test_releasing_a_lock_that_is_not_there_changes_nothing(tmp_path):
    assert run(path=str(tmp_path / 'missing' / 'a.lock'), state='absent') == dict(changed=False, path=str(
        tmp_path / 'missing' / 'a.lock'))
