# -*- coding: utf-8 -*-
"""tokenops.oauth2.run_lock: two ansible-playbook runs at once never both get past the lock."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys
import time

from ansible_runner_helper import PLAYBOOK_DIR, ansible_env, run_playbook


def start_holder(lock_path, seconds):
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'),
               os.path.join(PLAYBOOK_DIR, 'run_lock_hold.yml'), '-e', 'lock_path=%s' % lock_path,
               '-e', 'hold_seconds=%d' % seconds]
    holder = subprocess.Popen(command, env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True)
    deadline = time.monotonic() + 30
    while not os.path.exists(lock_path):
        assert holder.poll() is None and time.monotonic() < deadline, holder.communicate()[0]
        time.sleep(0.1)
    return holder


def test_second_run_refused_then_queued(tmp_path):
    lock_path = str(tmp_path / 'rotate.lock')
    holder = start_holder(lock_path, 6)
    refused = run_playbook('run_lock_hold.yml', '-e', 'lock_path=%s' % lock_path, check=False)
    assert refused.returncode != 0 and 'another run (pid %d) holds' % holder.pid in refused.stdout, refused.stdout
    queued = run_playbook('run_lock_hold.yml', '-e', 'lock_path=%s' % lock_path, '-e', 'lock_wait=60')
    assert holder.wait(timeout=60) == 0
    assert queued.returncode == 0 and not os.path.exists(lock_path)


def test_stale_lock_of_a_dead_run_is_taken_over(tmp_path):
    lock_path = str(tmp_path / 'rotate.lock')
    dead = subprocess.Popen(['true'])
    dead.wait()
    with open(lock_path, 'w') as handle:
        handle.write('%d\n' % dead.pid)
    run_playbook('run_lock_hold.yml', '-e', 'lock_path=%s' % lock_path)
    assert not os.path.exists(lock_path)
