# -*- coding: utf-8 -*-
"""tokenops.oauth2.run_lock: two ansible-playbook runs at once never both get past the lock."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys
import time

from ansible_collections.tokenops.oauth2.plugins.action.run_lock import ActionModule
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


def _take_over(path, start, done, results):
    """One racing run: take the lock at the barrier, report (own pid, holder), stay alive until every run has."""
    start.wait()
    try:
        results.put((os.getpid(), ActionModule._try_acquire(path, os.getpid())))
    except Exception as exc:  # reported, not swallowed: the test fails with it
        results.put((os.getpid(), repr(exc)))
    done.wait()


def test_runs_racing_to_take_over_a_dead_runs_lock_have_exactly_one_winner(tmp_path):
    """Issue 12, finding 9: eight processes find the same stale lock at the same moment; in every round exactly one
    of them takes it over and the file names that one."""
    import multiprocessing
    context = multiprocessing.get_context('fork')
    dead = subprocess.Popen(['true'])
    dead.wait()
    racers = 8
    for round_number in range(40):
        lock_path = str(tmp_path / ('rotate-%d.lock' % round_number))
        with open(lock_path, 'w') as handle:
            handle.write('%d\n' % dead.pid)
        start, done, results = context.Barrier(racers), context.Event(), context.Queue()
        processes = [context.Process(target=_take_over, args=(lock_path, start, done, results))
                     for _racer in range(racers)]
        for process in processes:
            process.start()
        try:
            outcomes = [results.get(timeout=60) for _process in processes]
        finally:
            done.set()
            for process in processes:
                process.join(timeout=60)
        winners = [pid for pid, holder in outcomes if holder == pid]
        assert len(winners) == 1, 'round %d: %d runs took the lock: %r' % (round_number, len(winners), outcomes)
        assert all(holder == winners[0] for _pid, holder in outcomes), outcomes
        with open(lock_path) as handle:
            assert handle.read() == '%d\n' % winners[0]
