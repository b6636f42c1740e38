# -*- coding: utf-8 -*-
"""SIGKILL a whole ansible-playbook run at one moment: the run, its workers and the modules they run.

Killing the process group is not enough: ansible-core's workers call setsid() (executor/process/worker.py), so they
and their modules would outlive the group and finish their writes after the check. Every process of a run carries
a marker in its environment instead (``MARKER=tag`` in the environment the run is started with); the run is frozen
(SIGSTOP, until no process of it is left running, so none can fork or write any more) and then killed (SIGKILL).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal
import time

MARKER = 'TOKENOPS_FAULTS_KILL_RUN'  # in the environment of every process of a run


def processes_of(tag):
    """{pid: state} of the processes, zombies excepted, whose environment holds MARKER=TAG."""
    needle = ('\0%s=%s\0' % (MARKER, tag)).encode()
    found = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/environ' % entry, 'rb') as handle:
                if needle not in b'\0' + handle.read():
                    continue
            with open('/proc/%s/stat' % entry) as handle:
                state = handle.read().rsplit(')', 1)[1].split()[0]
        except (IOError, OSError):
            continue  # gone meanwhile
        if state not in ('Z', 'X'):
            found[int(entry)] = state
    return found


def signal_quietly(pid, number):
    try:
        os.kill(pid, number)
    except ProcessLookupError:
        pass


def kill_run(proc, tag):
    """Freeze every process of the run (SIGSTOP until none is left running), SIGKILL them all, and wait until they
    are gone."""
    stopped = set()
    while True:
        pids = set(processes_of(tag)) - stopped
        if not pids:
            break
        for pid in pids:
            signal_quietly(pid, signal.SIGSTOP)
        stopped |= pids
    for pid in stopped:
        signal_quietly(pid, signal.SIGKILL)
    proc.wait(timeout=60)
    deadline = time.monotonic() + 60
    while processes_of(tag):
        assert time.monotonic() < deadline, 'processes of the killed run are still alive: %s' % processes_of(tag)
        time.sleep(0.05)
