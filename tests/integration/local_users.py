# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Other local users for the tests whose threat is a user other than root (tests run as root).

    user = consumer_account()            # pwd entry of an unprivileged system user, created once per machine
    as_user(user, ['ln', '-s', target, link])
    proc = as_user(user, [sys.executable, '-c', code], wait=False)

The user is a system account without a home or a login shell. It stays after the tests (several test processes may
use it at once; creating and deleting it each time would race on /etc/passwd). Its directories must be reachable:
pytest's tmp_path is under 0700 root directories, so tests give it directories from ``shared_dir()``.

    with local_intruder() as intruder:   # a new user with a home, removed at the end
        as_intruder(intruder, 'shell script')
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from collections import namedtuple

CONSUMER = 'tokenops-consumer'


def consumer_account():
    """The pwd entry of the unprivileged account standing for a consumer's service account."""
    try:
        return pwd.getpwnam(CONSUMER)
    except KeyError:
        subprocess.run(['useradd', '--system', '--no-create-home', '--home-dir', '/nonexistent',
                        '--shell', '/usr/sbin/nologin', CONSUMER], check=False, capture_output=True)
        return pwd.getpwnam(CONSUMER)  # created now, or by a test process racing this one


def as_user(user, argv, wait=True, **kwargs):
    """Run ARGV as USER (uid, gid, no supplementary groups); return the CompletedProcess, or the Popen if not WAIT."""
    command = ['setpriv', '--reuid=%d' % user.pw_uid, '--regid=%d' % user.pw_gid, '--clear-groups', '--'] + list(argv)
    if not wait:
        return subprocess.Popen(command, **kwargs)
    kwargs.setdefault('capture_output', True)
    return subprocess.run(command, check=True, **kwargs)


def shared_dir():
    """A fresh directory under /tmp that every user can traverse (0711, owned by root); removed by the caller."""
    path = tempfile.mkdtemp(prefix='tokenops-users-', dir='/tmp')
    os.chmod(path, 0o711)
    return path


def remove_tree(path):
    shutil.rmtree(path, ignore_errors=True)


Intruder = namedtuple('Intruder', 'name uid gid home base')


def _user_command(argv, check=True):
    """useradd/userdel, retried while another test process holds the lock on /etc/passwd (exit 10: cannot lock)."""
    for _attempt in range(50):
        proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, universal_newlines=True,
                              check=False)
        if proc.returncode != 10 and 'lock' not in proc.stderr:
            break
        time.sleep(0.2)
    if check and proc.returncode != 0:
        raise AssertionError('%s failed: %s' % (' '.join(argv), proc.stderr))


@contextlib.contextmanager
def local_intruder():
    """A new unprivileged user, removed (with its home and its directory) at the end."""
    name = 'tkops-%s' % uuid.uuid4().hex[:8]
    _user_command(['useradd', '--create-home', '--shell', '/usr/sbin/nologin', name])
    base = tempfile.mkdtemp(prefix='tokenops-intruder-')
    os.chmod(base, 0o755)
    entry = pwd.getpwnam(name)
    try:
        yield Intruder(name, entry.pw_uid, entry.pw_gid, entry.pw_dir, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
        _user_command(['userdel', '--remove', name], check=False)


def as_intruder(intruder, script):
    """Run a shell script as the intruder (no root, no supplementary groups); its standard output."""
    return subprocess.run(['setpriv', '--reuid=%d' % intruder.uid, '--regid=%d' % intruder.gid, '--clear-groups',
                           '/bin/sh', '-c', script], cwd=intruder.base, check=True, stdout=subprocess.PIPE,
                          universal_newlines=True).stdout
